/* sfu-bench: shared types of the load generator.
 * Everything runs on one thread and one GMainContext: the WebSocket clients
 * (libwebsockets on the GLib loop), every simulated participant's transport
 * peers (transport/tp_peer.h: libnice, DTLS, SRTP) and the media timers.
 * Nothing here is thread-safe; nothing needs to be. */
#ifndef BENCH_H
#define BENCH_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sfu_rxstats.h"
#include "sig_sdp.h"
#include "tp_peer.h"

/* ---- bench_stats.c: percentiles and the report ---- */

/* Delay histogram: 10 µs buckets up to 2 s, then one overflow bucket. */
#define BENCH_HIST_BUCKET_US 10
#define BENCH_HIST_N 200000
typedef struct {
  uint32_t *b;
  uint64_t n, over;
} bench_hist;

void bench_hist_init(bench_hist *h);
void bench_hist_free(bench_hist *h);
void bench_hist_reset(bench_hist *h);
void bench_hist_add(bench_hist *h, int64_t us);
/* p in [0,100]; milliseconds; -1 if empty. */
double bench_hist_pct(const bench_hist *h, double p);

/* Plain samples (join times), sorted on demand. p in [0,100]; -1 if empty. */
double bench_samples_pct(GArray *doubles, double p);

/* Monotonic counters; figures over a window are differences of snapshots. */
typedef struct {
  uint64_t pub_pkts, pub_bytes; /* media sent by publishers = into the server */
  uint64_t pub_rtx, pub_nacks_in, pub_plis_in, pub_pli_keyframes;
  uint64_t sub_pkts, sub_bytes; /* media received by subscribers = out of the server */
  uint64_t sub_expected;        /* sequence span of every received stream */
  uint64_t sub_gaps;            /* missing when a newer packet came (loss before rtx) */
  uint64_t sub_recovered;       /* gaps later filled (by retransmission) */
  uint64_t sub_dups, sub_late, sub_rtx_pkts;
  uint64_t sub_nacks_out, sub_plis_out, sub_srtp_errors;
  uint64_t gen_late; /* media ticks where a sender was > 100 ms behind */
} bench_counters;

/* ---- bench_proc.c: the server process seen through /proc ---- */

/* PID of the process listening on TCP port, or -1. */
int bench_proc_find_by_port(unsigned port);
/* utime+stime in seconds of pid (or of this process for pid 0); -1 on error. */
double bench_proc_cpu_s(int pid);
/* VmRSS / VmHWM in KiB; -1 on error. */
long bench_proc_rss_kb(int pid);
long bench_proc_hwm_kb(int pid);
/* Kernel count of UDP datagrams dropped for a full receive buffer (this
 * network namespace, every process). */
uint64_t bench_proc_udp_rcvbuf_errors(void);
/* Seconds the threads of pid (0 = this process) spent runnable but waiting
 * for a CPU (/proc/PID/task/TID/schedstat): other jobs on a shared machine. */
double bench_proc_runq_wait_s(int pid);
/* Raises SO_RCVBUF of this process's UDP sockets (libnice's) to bytes: one
 * thread receives for hundreds of subscribers, and the 208 KiB default
 * overflows in a keyframe burst while the thread is busy elsewhere. */
void bench_proc_grow_udp_buffers(int bytes);

/* ---- bench_media.c: the clip and the RTP senders ---- */

typedef struct {
  const uint8_t *data;
  size_t len;
  bool key;
} bench_frame;

typedef struct {
  bench_frame *video, *audio;
  size_t nvideo, naudio;
  uint8_t *vbuf, *abuf; /* owned file contents the frames point into */
  size_t vsize, asize;
} bench_clip;

/* Loads an IVF (VP8) file and an Ogg Opus file. */
int bench_clip_load(bench_clip *c, const char *ivf, const char *ogg, char *err, size_t errlen);
/* Makes dir/clip-<kbps>k.ivf and dir/audio.ogg with ffmpeg unless they exist. */
int bench_clip_ensure(const char *dir, unsigned kbps, char **ivf, char **ogg, char *err, size_t errlen);
/* The same at another size than 640x360 (dir/clip-<kbps>k-<w>x<h>.ivf). */
int bench_clip_ensure_sized(const char *dir, unsigned kbps, unsigned w, unsigned h, char **ivf, char **ogg,
                            char *err, size_t errlen);
void bench_clip_free(bench_clip *c);

/* Header extension ids of our publish offers (as Chrome numbers them). */
#define BENCH_EXT_AUDIO_LEVEL 1
#define BENCH_EXT_ABS_SEND_TIME 2
#define BENCH_EXT_MID 4
#define BENCH_EXT_TWCC 3 /* transport-wide sequence number (--simulcast publishers) */
#define BENCH_EXT_RID 10
#define BENCH_PT_OPUS 111
#define BENCH_PT_VP8 96
#define BENCH_VIDEO_MAX_PAYLOAD 1200
#define BENCH_HISTORY 512

typedef struct {
  bool video;
  uint8_t pt;
  char mid[8];
  uint32_t ssrc;
  uint16_t seq;
  uint32_t ts;
  uint16_t picid;
  size_t pos;      /* next frame of the clip */
  int64_t next_us; /* when that frame is due */
  bool force_kf;
  uint64_t pkts, octets; /* for sender reports */
  uint8_t (*hist)[1400]; /* last BENCH_HISTORY packets (plain RTP) for NACKs */
  uint16_t *hist_len, *hist_seq;
  bool stamp;     /* also append the send time to each payload (BENCH_STAMP_*) */
  char rid[4];    /* simulcast layer: RID extension in every packet ("" = none) */
  uint16_t *twcc; /* the transport's wide sequence counter (NULL = no extension) */
} bench_sender;

/* Payload stamp: the last 5 payload bytes are 0xB3 0x9C and the 24-bit
 * abs-send-time, for servers that do not forward that extension. */
#define BENCH_STAMP_LEN 5
#define BENCH_STAMP_0 0xB3
#define BENCH_STAMP_1 0x9C

void bench_sender_init(bench_sender *s, bool video, const char *mid, uint32_t ssrc, int64_t start_us);
void bench_sender_free(bench_sender *s);
/* Sends every frame due at now_us through peer. */
void bench_sender_run(bench_sender *s, const bench_clip *clip, tp_peer *peer, int64_t now_us,
                      bench_counters *c);
void bench_sender_on_nack(bench_sender *s, tp_peer *peer, const uint16_t *seqs, size_t n, bench_counters *c);
void bench_sender_on_pli(bench_sender *s, bench_counters *c);
/* Sender report for this stream into out; returns its length. */
size_t bench_sender_sr(const bench_sender *s, uint8_t *out, size_t cap, int64_t now_us);

/* abs-send-time: 6.18 fixed-point seconds, 24 bits, wraps every 64 s. */
static inline uint32_t bench_ast(int64_t us) {
  return (uint32_t)((((uint64_t)us) << 18) / 1000000u) & 0xFFFFFFu;
}
static inline int64_t bench_ast_delta_us(uint32_t now_ast, uint32_t then_ast) {
  return (int64_t)((((now_ast - then_ast) & 0xFFFFFFu) * 1000000ull) >> 18);
}

/* ---- bench_recv.c: one received stream of a subscriber ---- */

#define BENCH_SEEN_WIN 2048
typedef struct {
  char mid[32];
  char pub_id[64]; /* publishing participant (msid stream id) */
  bool video, active;
  uint32_t ssrc;
  uint8_t ext_ast; /* abs-send-time id in the offer, 0 = none */
  sfu_rxstats rx;
  sfu_nackgen nack;
  bool started;
  uint16_t max16;
  uint64_t ext_max, ext_first;
  uint8_t seen[BENCH_SEEN_WIN / 8];
  uint64_t pkts;
  int64_t first_us, last_pli_us;
} bench_rstream;

void bench_rstream_init(bench_rstream *s, const sig_sdp_media *m);
void bench_rstream_on_rtp(bench_rstream *s, const uint8_t *pkt, size_t len, int64_t now_us, bench_counters *c,
                          bench_hist *delay);
/* Sequence numbers to NACK now. */
size_t bench_rstream_nacks(bench_rstream *s, int64_t now_us, uint16_t *out, size_t max);
/* True when a video packet has been missing > 500 ms (PLI, at most once a second). */
bool bench_rstream_wants_pli(bench_rstream *s, int64_t now_us);
/* True when s received most of what its publisher sent (sent_pkts packets since sent_since_us) while s was
 * receiving; link_drops: behind a simulated link, whose drops do not count against the server. */
bool bench_rstream_delivered(const bench_rstream *s, uint64_t sent_pkts, int64_t sent_since_us,
                             int64_t now_us, bool link_drops);

/* ---- bench_sdp.c: the SDP a browser would send ---- */

typedef struct {
  const char *ufrag, *pwd, *fingerprint;
  char **cands; /* NULL-terminated "candidate:..." values */
  uint64_t session_id;
  const char *setup;       /* publish offer: NULL = actpass */
  const char *const *rids; /* video sends these simulcast RIDs (no ssrc lines), NULL = one stream */
} bench_sdp_local;

/* Publish offer: BUNDLE, sendonly audio (opus) and/or video (VP8) with ssrcs. */
char *bench_sdp_pub_offer(const bench_sdp_local *l, const bench_sender *audio, const bench_sender *video,
                          const char *stream_id);
/* Answer to a subscriber offer: same sections, recvonly (inactive stays
 * inactive), setup active, the offered codecs and extensions. */
char *bench_sdp_sub_answer(const bench_sdp_local *l, const sig_sdp *offer);
/* True if "candidate:..." has an address the bench may use (allow = list of
 * address prefixes, e.g. "127."). */
bool bench_sdp_cand_allowed(const char *cand, const char *const *allow);

/* ---- bench_ws.c: WebSocket client (libwebsockets on the GLib loop) ---- */

typedef struct bench_ws bench_ws;
typedef struct {
  void (*on_open)(void *ud);
  void (*on_message)(void *ud, const char *txt, size_t len);
  void (*on_close)(void *ud, const char *why); /* error or closed; not after bench_ws_close */
} bench_ws_cbs;

int bench_ws_init(GMainLoop *loop, unsigned verbose, char *err, size_t errlen);
void bench_ws_shutdown(void);
/* url: ws://host:port/path. subprotocol may be NULL. */
bench_ws *bench_ws_connect(const char *url, const char *subprotocol, const bench_ws_cbs *cbs, void *ud);
/* Queues a text message (copied). */
void bench_ws_send(bench_ws *c, const char *txt);
/* Flushes what is queued, then closes; no callback fires after this. */
void bench_ws_close(bench_ws *c);
/* Connections not yet destroyed (for a clean exit). */
unsigned bench_ws_live(void);

/* ---- the run and its participants (bench_main.c, bench_peer.c) ---- */

typedef struct bench_room {
  char name[64];
  unsigned index;
  GPtrArray *members; /* bench_peer*, borrowed */
  unsigned sending;   /* members whose media is flowing */
} bench_room;

typedef struct {
  GMainContext *ctx;
  tp_cert *cert;
  bench_clip clip;
  char *url;                      /* ws://127.0.0.1:PORT/ws */
  bool janus;                     /* url speaks the Janus API */
  bool stamp;                     /* publishers stamp payloads too (see BENCH_STAMP_LEN) */
  unsigned janus_room;            /* VideoRoom id base */
  const char *const *local_addrs; /* where our candidates are gathered */
  const char *const *allow_addrs; /* remote candidate address prefixes used */
  bench_counters c;
  bench_hist delay;
  bool measuring;  /* inside a measured window: delay samples count */
  GArray *join_ms; /* double: WebSocket open -> first media packet */
  GArray *join_tl; /* double[BENCH_TL_N] per participant: the timeline (bench_peer_timeline) */
  unsigned joins_attempted, joins_ok, joins_failed, drops;
  unsigned verbose;
  unsigned errors_logged;
  bool new_sockets; /* a transport was made: grow the UDP buffers */
  bool simulcast;   /* video publishers send three layers (bench_simulcast.c) */
  bool batch_recv;  /* subscribers' sockets read in batches (bench_rx.c) */
  bench_clip sim_clip[3];
} bench_run;

typedef enum { BP_IDLE = 0, BP_JOINING, BP_UP, BP_FAILED, BP_GONE } bench_peer_state;

enum {
  BENCH_TL_JOINED,
  BENCH_TL_OFFER,
  BENCH_TL_ICE,
  BENCH_TL_DTLS,
  BENCH_TL_MEDIA,
  BENCH_TL_VIDEO,
  BENCH_TL_N
};

typedef struct bench_peer {
  bench_run *run;
  bench_room *room;
  unsigned idx;
  bool pub_audio, pub_video;
  bench_peer_state state;
  char name[32], id[64];
  char fail_why[160];
  bench_ws *ws;
  int64_t t_start, t_open, t_up;
  int64_t t_joined, t_sub_offer, t_sub_up, t_media, t_video; /* join timeline (0 = not yet) */
  int64_t last_rx_us[2]; /* last SRTP/SRTCP packet on sub, pub (diagnostics) */
  bool media_at_join, got_media;
  tp_peer *sub, *pub;
  int rx_fd; /* sub's socket in the batched receive set (bench_rx.c), -1 = libnice reads it */
  bool sub_remote_set, pub_remote_set, sub_up, pub_up, sending;
  GPtrArray *streams;  /* bench_rstream*, owned: what this participant receives */
  bench_sender snd[2]; /* audio, video */
  bool snd_init;
  uint32_t rtcp_ssrc;
  int64_t next_rr_us, next_sr_us;
  /* Janus adapter state (bench_janus.c) */
  uint64_t jsession, jhandle_pub, jhandle_sub;
  unsigned jtx;
  int64_t jnext_keepalive_us;
  char jfeeds[64][32], jpending[64][32]; /* feeds subscribed / to subscribe */
  unsigned njfeeds, njpending;
  bool jsub_busy, jsub_attaching, jsub_joined, jsub_trickled;
  struct bench_cc *cc; /* behind a simulated link (bench_cc.c), NULL = not */
  bench_sender sim[3]; /* simulcast layers (bench_simulcast.c) */
  bool sim_init;
  uint16_t twcc_seq;
} bench_peer;

bench_peer *bench_peer_new(bench_run *run, bench_room *room, unsigned idx, bool pub_audio, bool pub_video);
void bench_peer_start(bench_peer *p, int64_t now_us);
/* Media due, RTCP (NACK, PLI, RR, SR), join timeout. Called every few ms. */
void bench_peer_tick(bench_peer *p, int64_t now_us, bool media_on);
/* Stops media, sends leave and closes the WebSocket (the transports are
 * closed by bench_peer_free, after the server has had the leave). */
void bench_peer_leave(bench_peer *p);
void bench_peer_free(bench_peer *p);
void bench_peer_fail(bench_peer *p, const char *why);

/* ---- bench_rx.c: batched receive (recvmmsg) for subscribers ---- */
int bench_rx_init(GMainContext *ctx);
void bench_rx_shutdown(void);
/* Takes p's connected sub socket from libnice (no-op if not possible). */
void bench_rx_add(bench_peer *p);
/* Before p->sub is freed. */
void bench_rx_remove(bench_peer *p);
/* Adds p's join timeline to run->join_tl if it joined a room that was
 * already sending and got media. */
void bench_peer_timeline(bench_peer *p);
/* Used by the signaling adapters: */
int bench_peer_on_sub_offer(bench_peer *p, const char *sdp, char **answer_out);
int bench_peer_make_pub_offer(bench_peer *p, char **offer_out);
int bench_peer_on_pub_answer(bench_peer *p, const char *sdp);
void bench_peer_send_json(bench_peer *p, json_t *j); /* takes the reference */

/* ---- bench_janus.c: the same participant against Janus VideoRoom ---- */
void bench_janus_on_open(bench_peer *p);
void bench_janus_on_message(bench_peer *p, json_t *msg);
void bench_janus_tick(bench_peer *p, int64_t now_us);
void bench_janus_leave(bench_peer *p);

/* ---- bench_cc.c: subscribers behind a simulated link, with transport-cc feedback ---- */
typedef struct bench_cc bench_cc;
bench_cc *bench_cc_new(double capacity_bps);
void bench_cc_free(bench_cc *cc);
double bench_cc_capacity(const bench_cc *cc);
/* Learns the transport-cc extension id and the VP8 payload type. */
void bench_cc_on_offer(bench_cc *cc, const sig_sdp *offer);
/* Every packet the server sends the subscriber; false: the link dropped it. */
bool bench_cc_on_rtp(bench_cc *cc, const uint8_t *pkt, size_t len, int64_t now_us);
/* Arrivals and, every 100 ms, transport-cc feedback on sub. */
void bench_cc_tick(bench_cc *cc, tp_peer *sub, uint32_t ssrc, int64_t now_us);
void bench_cc_window(bench_cc *cc, bool begin, int64_t now_us);
/* Gives every subscribe-only participant a link, capacities spread lo..hi. */
void bench_cc_assign(GPtrArray *peers, double lo_kbps, double hi_kbps);
void bench_cc_report(FILE *f, GPtrArray *peers);

/* ---- bench_simulcast.c: simulcast publishers ---- */
#define BENCH_SIM_LAYERS 3
extern const char *const bench_sim_rids[BENCH_SIM_LAYERS + 1];
int bench_sim_load_clips(bench_run *run, const char *dir, char *err, size_t errlen);
void bench_sim_free_clips(bench_run *run);
bool bench_sim_on(const bench_peer *p);
void bench_sim_init(bench_peer *p, int64_t now_us);
void bench_sim_schedule(bench_peer *p, int64_t now_us, bool random_phase);
void bench_sim_run(bench_peer *p, int64_t now_us);
bench_sender *bench_sim_by_ssrc(bench_peer *p, uint32_t ssrc);
size_t bench_sim_srs(const bench_peer *p, uint8_t *out, size_t cap, int64_t now_us);
void bench_sim_free(bench_peer *p);

/* ---- results (bench_stats.c prints them) ---- */

typedef struct {
  char label[16];
  char preset[16];
  unsigned rooms, per_room, publishers;
  bool video;
  double window_s;
  unsigned joins_attempted, joins_ok, joins_failed, drops;
  double join_p50, join_p95, join_p99;
  unsigned join_samples;
  /* Join timeline, medians in ms from WebSocket open over the participants
   * that joined a room already sending: joined, sub offer received, sub ICE
   * up, sub DTLS connected, first media packet, first video packet. */
  double tl_p50[BENCH_TL_N];
  unsigned tl_samples;
  unsigned streams_expected, streams_delivered;
  double in_pps, in_kbps, out_pps, out_kbps;
  double loss_before_pct, loss_after_pct;
  uint64_t nacks_out, plis_out, rtx_recovered, pub_nacks_in, pub_plis_in;
  double delay_p50, delay_p95, delay_p99;
  int server_pid;
  double server_cpu_s, server_cpu_pct;
  long server_rss_peak_kb, server_hwm_kb;
  double us_per_pkt, pps_per_core;
  double bench_cpu_pct;
  uint64_t gen_late;
  double server_runq_wait_s, bench_runq_wait_s; /* time waiting for a CPU in the window */
  uint64_t udp_rcvbuf_drops;                    /* kernel: full receive buffers, whole namespace */
  double max_tick_gap_ms;                       /* longest stall of the bench's own loop in the window */
  /* --churn: participants that joined and left during the window */
  unsigned churn;
  double churn_rate;
  unsigned churn_joins, churn_ok, churn_failed;
  /* --ramp-mode */
  bool ramp;
  unsigned ramp_held_subs, ramp_steps;
  double ramp_held_out_pps, ramp_held_us_per_pkt;
  char ramp_stop[128];
} bench_result;

void bench_report_table(FILE *f, const bench_result *r, size_t n);
void bench_report_json(FILE *f, const bench_result *r, size_t n);
/* nrep runs of nsrv servers each (r[i * nsrv + s]): medians, min, max, ratios. */
void bench_report_repeats(FILE *f, const bench_result *r, size_t nsrv, size_t nrep, bool json);

#endif
