/* tp_sctp: one SCTP association over a DTLS transport (RFC 8261) carrying
 * WebRTC data channels (RFC 8831) opened with DCEP (RFC 8832), on usrsctp.
 *
 * The association knows nothing of DTLS: the owner feeds it each DTLS
 * application record (tp_sctp_input) and sends each SCTP packet it hands out
 * (cbs.send) as one record. Channels: the peer opens them (we answer its
 * DATA_CHANNEL_OPEN with an ACK) or we do (tp_sctp_open_channel, on a stream
 * id of our DTLS role's parity: even for the DTLS client, odd for the server).
 * Messages are whole when they reach on_message (pieces are reassembled, up
 * to max_message_size, what we advertise in a=max-message-size; a larger
 * message is dropped and reported through on_oversize).
 *
 * Thread: usrsctp runs without threads of its own (usrsctp_init_nothreads);
 * its timers run from a 10 ms source on the GMainContext of the associations.
 * usrsctp is process-global, so every association lives on one context at a
 * time (tp_sctp_new with another while one exists: -EXDEV), and every call
 * and callback happens on that context's thread. Callbacks never run inside
 * usrsctp: a callback may send, open or close channels, and free the
 * association (then no further callback fires).
 * Only transport/ includes usrsctp.h; this header does not. */
#ifndef TP_SCTP_H
#define TP_SCTP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_SCTP_PORT 5000                 /* a=sctp-port, ours and the usual remote one */
#define TP_SCTP_MAX_MESSAGE_DEFAULT 65536 /* RFC 8841: what an absent a=max-message-size means */
#define TP_SCTP_MAX_CHANNELS 64           /* per association; more OPENs are refused */
#define TP_SCTP_LABEL_MAX 256             /* longer labels (and protocols) are refused */

typedef struct tp_sctp tp_sctp;

typedef enum {
  TP_SCTP_NEW = 0,
  TP_SCTP_CONNECTING,
  TP_SCTP_OPEN,
  TP_SCTP_CLOSED, /* shut down or aborted by the peer */
  TP_SCTP_FAILED, /* could not be set up */
} tp_sctp_state;

/* All optional except send. Buffers are borrowed for the call. */
typedef struct {
  /* One SCTP packet to send as one DTLS application record. */
  int (*send)(void *ud, const uint8_t *pkt, size_t len);
  void (*on_state)(void *ud, tp_sctp_state st);
  /* A channel is open: the peer's OPEN arrived (label, protocol: not
   * NUL-terminated), or the peer acknowledged one of ours. */
  void (*on_channel)(void *ud, uint16_t stream, const char *label, size_t label_len, const char *protocol,
                     size_t protocol_len);
  /* One whole message; binary: PPID 53/57, else text (51/56; not checked to
   * be UTF-8 here). An empty message has len 0. */
  void (*on_message)(void *ud, uint16_t stream, bool binary, const uint8_t *data, size_t len);
  /* A message over max_message_size arrived on stream and was dropped. */
  void (*on_oversize)(void *ud, uint16_t stream);
  /* The channel is gone (the peer reset its stream, or ours completed). */
  void (*on_channel_closed)(void *ud, uint16_t stream);
} tp_sctp_cbs;

typedef struct {
  GMainContext *ctx;              /* borrowed; the thread that owns usrsctp */
  bool dtls_client;               /* our DTLS role: picks the parity of our stream ids */
  uint16_t local_port;            /* 0 = TP_SCTP_PORT */
  uint16_t remote_port;           /* the peer's a=sctp-port, 0 = TP_SCTP_PORT */
  size_t max_message_size;        /* what we advertise; 0 = TP_SCTP_MAX_MESSAGE_DEFAULT */
  size_t remote_max_message_size; /* the peer's a=max-message-size; 0 = unlimited (RFC 8841) */
  const char *log_name;           /* copied; NULL = "sctpN" */
} tp_sctp_config;

typedef struct {
  uint64_t messages_in, messages_out, bytes_in, bytes_out;
  uint64_t dropped_oversize;   /* over max_message_size */
  uint64_t dropped_no_channel; /* data on a stream without an open channel */
  uint64_t dropped_bad;        /* malformed DCEP, unknown PPID */
  uint64_t send_full;          /* send buffer full: the message was refused */
  uint64_t channels_refused;   /* OPEN over the limit, bad label, stream in use */
} tp_sctp_stats;

int tp_sctp_new(tp_sctp **out, const tp_sctp_config *cfg, const tp_sctp_cbs *cbs, void *ud, char *err,
                size_t errlen);
/* Starts the association (both sides send INIT; that is how WebRTC does
 * it). Call once the DTLS handshake is done. */
int tp_sctp_connect(tp_sctp *s);
/* One received DTLS application record (buf borrowed). */
void tp_sctp_input(tp_sctp *s, const uint8_t *buf, size_t len);

/* Opens a reliable ordered channel: DCEP OPEN on the lowest free stream of
 * our parity; *stream gets its id. Messages may be sent before the ACK.
 * Returns 0, -ENOTCONN (association not open), -ENOSPC, -EINVAL. */
int tp_sctp_open_channel(tp_sctp *s, const char *label, const char *protocol, uint16_t *stream);
/* Sends one message on an open channel. Returns 0, -ENOTCONN, -ENOENT (no
 * such channel), -EMSGSIZE (over the peer's maximum), -EAGAIN (send buffer
 * full: dropped, counted), -EIO. */
int tp_sctp_send(tp_sctp *s, uint16_t stream, bool binary, const uint8_t *data, size_t len);
/* Closes a channel: resets our outgoing stream; on_channel_closed follows
 * once the peer resets its side. Unknown streams are ignored. */
void tp_sctp_close_channel(tp_sctp *s, uint16_t stream);

tp_sctp_state tp_sctp_get_state(const tp_sctp *s);
const tp_sctp_stats *tp_sctp_get_stats(const tp_sctp *s);
const char *tp_sctp_state_name(tp_sctp_state st);

/* Aborts the association (best effort) and frees everything. NULL is fine. */
void tp_sctp_free(tp_sctp *s);

#endif
