/* sig_chat: the room chat, as the control thread sees it (docs/protocol.md,
 * "Chat over the data channel"). One message from a participant's "chat"
 * data channel is rate-limited (a token bucket per participant), checked
 * (JSON text in UTF-8, size, a known type with its fields) and turned either
 * into the message every participant gets (with the sender's id and name and
 * the server's time, whatever the sender claimed) or into an error for the
 * sender alone.
 * Thread: any (pure policy: no I/O, no logging, no globals; jansson, GLib's
 * UTF-8 check). Each bucket belongs to one participant; one thread uses it. */
#ifndef SIG_CHAT_H
#define SIG_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIG_CHAT_MAX_BYTES 4096 /* a whole message from a page; larger: too_large */
#define SIG_CHAT_MAX_TEXT 2000  /* bytes of "text" */
#define SIG_CHAT_MAX_EMOJI 32   /* bytes of "emoji" */
#define SIG_CHAT_RATE 5.0       /* messages per second, sustained */
#define SIG_CHAT_BURST 20.0     /* and in a burst */

typedef struct {
  double tokens;
  int64_t at_us; /* last refill; 0 = new (full) */
  bool limited;  /* in a streak of dropped messages, the first one answered */
  uint64_t dropped;
} sig_chat_bucket;

typedef enum {
  SIG_CHAT_RELAY = 0, /* *out: the message for everyone in the room (the sender too) */
  SIG_CHAT_ERROR,     /* *out: an error for the sender */
  SIG_CHAT_DROP,      /* nothing to send (a flood, after its first error) */
} sig_chat_verdict;

typedef struct {
  const char *id, *name; /* the sender, as the server knows them */
  int64_t time_ms;       /* the server's clock, ms since the epoch */
  int64_t now_us;        /* a monotonic clock, for the bucket */
} sig_chat_from;

/* msg/len: one data channel message (binary: it came as PPID 53/57).
 * *out gets a JSON text (malloc'd, the caller frees) for RELAY and ERROR, NULL
 * for DROP. *code gets the error code (static) for ERROR, else NULL. */
sig_chat_verdict sig_chat_handle(sig_chat_bucket *b, const sig_chat_from *from, const uint8_t *msg,
                                 size_t len, bool binary, char **out, const char **code);

/* The error a sender gets when the transport dropped its message for being
 * larger than our a=max-message-size (it never reached sig_chat_handle). */
char *sig_chat_error_json(const char *code, const char *message);

#endif
