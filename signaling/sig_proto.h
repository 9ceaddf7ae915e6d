/* sig_proto: decoding and validating one client message (docs/protocol.md)
 * into a typed request, and encoding server messages. No lws, no GLib main
 * loop, no logging: it is fed hostile bytes and fuzzed. Any thread. */
#ifndef SIG_PROTO_H
#define SIG_PROTO_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  SIG_REQ_JOIN = 1,
  SIG_REQ_PUBLISH,
  SIG_REQ_ANSWER,
  SIG_REQ_CANDIDATE,
  SIG_REQ_MUTE,
  SIG_REQ_LEAVE,
  SIG_REQ_RESTART_ICE, /* pc: "sub" (for pub the page sends a publish offer with new credentials) */
  SIG_REQ_VIEWPORT,
} sig_req_type;

typedef enum { SIG_PC_PUB = 0, SIG_PC_SUB = 1 } sig_pc;

/* What a published track carries (docs/protocol.md). */
typedef enum {
  SIG_SRC_NONE = 0, /* not said: microphone for audio, camera for video */
  SIG_SRC_CAMERA,
  SIG_SRC_MICROPHONE,
  SIG_SRC_SCREEN,
  SIG_SRC_SCREEN_AUDIO,
} sig_source;
const char *sig_source_name(sig_source s);

#define SIG_MAX_TRACK_SOURCES 16
#define SIG_TRACK_ID_MAX 32 /* bytes of a track id or mid, with the terminator */

typedef struct {
  char mid[SIG_TRACK_ID_MAX];
  sig_source source;
} sig_track_source;

/* A decoded request; strings owned by it (sig_req_clear frees them). */
typedef struct {
  sig_req_type type;
  char *room, *name, *token; /* join */
  char *resume;              /* join: the resume token of a dropped session, NULL = a new session */
  bool resumable;            /* join: the client will come back after a drop (wants a resume token) */
  char *sdp;                 /* publish, answer */
  sig_pc pc;                 /* answer, candidate, restart-ice */
  char *candidate;           /* candidate; NULL = end of candidates */
  unsigned nsources;         /* publish: the sources of its sections, by mid */
  sig_track_source sources[SIG_MAX_TRACK_SOURCES];
  char track[SIG_TRACK_ID_MAX]; /* mute: the track id, "" = by kind */
  bool video;                   /* mute by kind: kind == "video" */
  bool muted;                   /* mute */
  unsigned width, height;       /* viewport: the size a remote video is shown at (device pixels) */
  bool visible;                 /* viewport */
} sig_req;

#define SIG_SDP_MAX_BYTES 65536

/* Returns 0 and fills req, or -EINVAL with *code set to a protocol error
 * code ("bad_json", "bad_message", "unknown_type") and msg to the reason.
 * req_type_out (may be NULL) gets the message's "type" when it had one. */
int sig_proto_decode(const char *text, size_t len, sig_req *req, const char **code, char *msg, size_t msglen,
                     char *req_type_out, size_t req_type_len);
void sig_req_clear(sig_req *req);

/* Room names: 1-64 of [A-Za-z0-9_.-]. Display names and identities: 1-64
 * bytes of UTF-8 without control characters. Shared with sig_token. */
bool sig_proto_room_name_ok(const char *s);
bool sig_proto_display_name_ok(const char *s);

/* {"type":"error","code":..,"message":..[,"request":..]}; malloc'ed. */
char *sig_proto_error(const char *code, const char *message, const char *request);

#endif
