/* sfu: the media core as the control plane sees it. A worker is one media
 * thread with its own GMainContext; it owns routers (one per room), and
 * each router owns its transports (one per peer connection), and each
 * transport the producers it receives and the consumers it sends.
 *
 * The control thread drives it with the calls below. They carry no SDP and
 * no JSON, only compact parameters; they are queued in order and run on the
 * media thread (only sfu_transport_create and the stats/admin reads wait for
 * the result). Objects are named by ids the caller chooses (nonzero, unique
 * per kind for the worker's life). Closing an object closes what it owns:
 * a transport its producers and consumers, a producer its consumers, a
 * router everything. Calls naming an object that is gone do nothing.
 * What happens on the media side comes back as sfu_event, through the
 * on_event callback, on the media thread: it must only queue the event.
 * Thread: every function here is for one control thread, except
 * sfu_worker_get_stats (any thread). */
#ifndef SFU_H
#define SFU_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu_codec.h"
#include "sfu_const.h"
#include "sfu_counters.h"
#include "sfu_speaker.h"
#include "tp_cert.h"

typedef struct sfu_worker sfu_worker;
typedef uint32_t sfu_id;

/* Data channels (the sub connection's data section): our a=sctp-port and
 * a=max-message-size. */
#define SFU_DC_PORT 5000
#define SFU_DC_MAX_MESSAGE 65536

/* ---- events (media thread -> control) ---- */

typedef enum {
  SFU_EV_TRANSPORT_CONNECTED = 1, /* ICE + DTLS up, SRTP keyed */
  SFU_EV_TRANSPORT_FAILED,        /* reason says why; the transport stays until closed */
  SFU_EV_TRANSPORT_CLOSED,        /* the remote sent DTLS close_notify: it closed its connection */
  SFU_EV_TRANSPORT_FIRST_MEDIA,   /* first RTP packet sent on this transport */
  SFU_EV_CANDIDATE_ERROR,         /* a remote candidate was refused (why) */
  SFU_EV_CONSUMER_PAUSED,         /* consumer: paused (or no longer) because its link cannot carry it */
  SFU_EV_PRODUCER_LAYERS,         /* producer: the encodings worth sending now (layers bit mask) */
  SFU_EV_DATA,                    /* a message on the transport's "chat" data channel (data, len, binary) */
  SFU_EV_DATA_OVERSIZE,           /* one over SFU_DC_MAX_MESSAGE was dropped */
  SFU_EV_SPEAKER,                 /* the room's speakers changed (speaker; transport: any of the room's) */
} sfu_event_type;

typedef enum {
  SFU_FAIL_NONE = 0,
  SFU_FAIL_ICE,     /* ICE failed, or never connected within the deadline */
  SFU_FAIL_DTLS,    /* DTLS handshake, fingerprint or SRTP keying failed */
  SFU_FAIL_CONSENT, /* connected, then nothing received for consent_timeout_s */
} sfu_failure;

typedef struct {
  sfu_event_type type;
  sfu_id router, transport;
  sfu_id consumer, producer;
  sfu_failure failure;
  bool paused;    /* CONSUMER_PAUSED */
  uint8_t layers; /* PRODUCER_LAYERS: bit i = encoding i wanted */
  char why[96];
  /* SFU_EV_DATA: the message, g_malloc'ed; whoever consumes the event frees it. */
  uint8_t *data;
  size_t len;
  bool binary;
  /* SFU_EV_SPEAKER: keys as given in sfu_producer_params.speaker. */
  sfu_speaker_state speaker;
} sfu_event;

/* ---- the worker ---- */

typedef struct {
  const tp_cert *cert;       /* borrowed; outlives the worker */
  char **ice_addrs;          /* borrowed (copied); NULL = automatic */
  const char *nat_public_ip; /* borrowed (copied); NULL = none */
  unsigned port_min, port_max;
  bool ice_tcp;  /* passive ICE-TCP candidates too (RFC 6544) */
  bool ice_lite; /* ICE-lite transports: the browser controls (the SDP says a=ice-lite) */
  /* A connected transport that should hear from its peer (it receives media,
   * or it sends media and so gets RTCP) and hears nothing for this long
   * fails with SFU_FAIL_CONSENT; one not connected this long after its
   * remote description fails with SFU_FAIL_ICE. 0 = off. */
  unsigned consent_timeout_s;
  void (*on_event)(void *ud, const sfu_event *ev); /* media thread; must not block */
  void *ud;
} sfu_worker_config;

/* Starts the media thread. 0 or -errno with err set. */
int sfu_worker_new(sfu_worker **out, const sfu_worker_config *cfg, char *err, size_t errlen);
/* Closes every router, stops the thread and frees the worker. */
void sfu_worker_free(sfu_worker *w);

/* Counters over the worker's life (they only grow). sfu_worker_get_stats
 * reads the copy refreshed every 500 ms (any thread); sfu_worker_read_stats
 * (control thread) waits for the media thread to read them after every
 * command sent before, so they agree with what the control plane did. */
typedef struct {
  sfu_counters c;
  uint64_t srtp_in_errors;
  int64_t heartbeat_us; /* monotonic time of the last refresh: the media thread is alive */
} sfu_worker_stats;
void sfu_worker_get_stats(sfu_worker *w, sfu_worker_stats *out);
void sfu_worker_read_stats(sfu_worker *w, sfu_worker_stats *out);

/* ---- routers (rooms) ---- */

void sfu_worker_router_create(sfu_worker *w, sfu_id router);
void sfu_worker_router_close(sfu_worker *w, sfu_id router);

/* ---- transports (peer connections) ---- */

typedef struct {
  bool ice_controlling; /* we offered (the subscriber connection) */
  char log_name[64];    /* "room/participant/pub" */
} sfu_transport_params;

/* Our side of a new transport, for the SDP. cands: NULL-terminated
 * "candidate:..." strings, owned by the caller (g_strfreev). */
typedef struct {
  char ufrag[64], pwd[128];
  char **cands;
  bool ice_lite; /* the SDP must say a=ice-lite */
} sfu_transport_local;

/* Creates the transport (ICE agent gathering, DTLS prepared) and waits for it. */
int sfu_worker_transport_create(sfu_worker *w, sfu_id router, sfu_id id, const sfu_transport_params *p,
                                sfu_transport_local *out, char *err, size_t errlen);
/* The remote's ICE credentials and certificate fingerprint (already
 * validated by the caller): connectivity checks start. */
void sfu_worker_transport_connect(sfu_worker *w, sfu_id id, const char *ufrag, const char *pwd,
                                  const char *fingerprint);
/* ICE restart (RFC 8445 9) on the same transport, keeping DTLS and SRTP.
 * Ours: new local credentials into out (ufrag, pwd; cands NULL: they stay
 * as they were), then the remote's new ones come with
 * sfu_worker_transport_remote_ice and its candidates as usual. Waits.
 * 0, or -ENOENT / -EINVAL / -EIO with err set. */
int sfu_worker_transport_restart_ice(sfu_worker *w, sfu_id id, sfu_transport_local *out, char *err,
                                     size_t errlen);
/* The remote's ICE credentials from a later description of an already
 * connected transport. Unchanged: 0. New (the remote restarted): if we had
 * not, we restart too and return 1 with our new credentials in out (they go
 * into the answer). Waits. <0 with err set on failure. */
int sfu_worker_transport_remote_ice(sfu_worker *w, sfu_id id, const char *ufrag, const char *pwd,
                                    sfu_transport_local *out, char *err, size_t errlen);
/* A trickled remote candidate ("candidate:..."), or NULL for end-of-candidates. */
void sfu_worker_transport_add_candidate(sfu_worker *w, sfu_id id, const char *cand);
void sfu_worker_transport_close(sfu_worker *w, sfu_id id);
/* The remote accepted the data section: run SCTP (once DTLS is up) to its
 * a=sctp-port; messages to it are capped at its a=max-message-size (0 =
 * none). Its "chat" channel's messages come back as SFU_EV_DATA. */
void sfu_worker_transport_datachannel(sfu_worker *w, sfu_id id, uint16_t remote_port, uint32_t remote_max);
/* Sends text (copied) on the "chat" channel of each of the n transports
 * that has one open; the others are skipped. */
void sfu_worker_datachannel_send(sfu_worker *w, const sfu_id *ids, size_t n, const char *text);

typedef struct {
  char state[16];
  uint64_t rtp_in, rtp_out, bytes_in, bytes_out, srtp_errors;
  /* Since the peer was last heard (RTP/RTCP, checked once a second) on a
   * connected transport that should hear from it; -1 when it need not. */
  int64_t silent_ms;
  /* Subscriber side: the send-side estimate of its link (0 = none yet) and
   * the loss its feedback reports (0..1). */
  int64_t estimate_bps;
  double loss;
} sfu_transport_stats;
/* Reads n transports' counters (state "" for an unknown id); waits. */
void sfu_worker_transport_stats(sfu_worker *w, const sfu_id *ids, size_t n, sfu_transport_stats *out);

/* ---- producers (incoming tracks) ---- */

typedef struct {
  uint8_t pt; /* the publisher's payload type */
  sfu_codec codec;
  uint8_t rtx_pt; /* its RTX payload type, 0 = none */
} sfu_codec_map;

typedef struct {
  char rid[SFU_MID_MAX]; /* "" without simulcast */
  uint32_t ssrc;         /* 0 = learn from the first packets (mid/rid extensions) */
  uint32_t rtx_ssrc;
} sfu_encoding;

typedef struct {
  bool video;
  char mid[SFU_MID_MAX];
  uint32_t clock_rate;
  uint8_t ncodecs; /* 1..2 */
  sfu_codec_map codecs[2];
  /* The publisher's header extension ids, 0 = not negotiated. */
  uint8_t ext_mid, ext_rid, ext_rrid, ext_abs_send_time, ext_audio_level;
  uint8_t ext_twcc; /* transport-wide sequence numbers: the server sends transport-cc feedback */
  uint8_t nenc;     /* 1..SFU_MAX_ENCODINGS */
  sfu_encoding enc[SFU_MAX_ENCODINGS];
  uint32_t remb_bps; /* video: cap announced with REMB each second; 0 = none */
  /* Audio with ext_audio_level: a microphone the room's speaker detection
   * hears, under this key (the participant's); 0 = not observed. */
  uint64_t speaker;
} sfu_producer_params;

/* A producer receiving on transport `t`. */
void sfu_worker_produce(sfu_worker *w, sfu_id t, sfu_id id, const sfu_producer_params *p);
void sfu_worker_producer_close(sfu_worker *w, sfu_id id);

/* ---- consumers (outgoing copies of a producer) ---- */

typedef struct {
  sfu_id producer;       /* in the same router */
  char mid[SFU_MID_MAX]; /* the subscriber's mid for it (written in the mid extension) */
  uint32_t ssrc;
  uint8_t pt[2]; /* the subscriber's payload type for the producer's codecs[i] */
  /* RFC 4588 retransmissions (and probe padding): the rtx ssrc and the
   * subscriber's rtx payload types for codecs[i]; 0 = none. */
  uint32_t rtx_ssrc;
  uint8_t rtx_pt[2];
  bool screen; /* a screen share: first when the link is shared out */
  bool paused; /* start paused */
} sfu_consumer_params;

/* A consumer sending on transport `t`. It forwards while not paused and
 * while t is connected; video starts (and resumes) on a keyframe, which it
 * asks the publisher for. */
void sfu_worker_consume(sfu_worker *w, sfu_id t, sfu_id id, const sfu_consumer_params *p);
void sfu_worker_consumer_pause(sfu_worker *w, sfu_id id, bool paused);
/* The size the subscriber shows this video at (CSS pixels x device pixel
 * ratio), and whether it is on screen at all: no larger layer is sent, and
 * nothing while hidden. */
void sfu_worker_consumer_viewport(sfu_worker *w, sfu_id id, unsigned width, unsigned height, bool visible);
/* The subscriber's payload types for the producer's codecs after all (its
 * answer dropped one: 0). Audio: a RED producer's packets then reach it as
 * plain Opus. */
void sfu_worker_consumer_codecs(sfu_worker *w, sfu_id id, uint8_t pt0, uint8_t pt1);
void sfu_worker_consumer_close(sfu_worker *w, sfu_id id);

#endif
