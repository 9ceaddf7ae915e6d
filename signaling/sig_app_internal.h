/* Private structures of sig_app (split over sig_app*.c). */
#ifndef SIG_APP_INTERNAL_H
#define SIG_APP_INTERNAL_H

#include "sig_app.h"
#include "sig_sdp.h"
#include "tp_peer.h"

#define KIND_AUDIO 0
#define KIND_VIDEO 1

/* Subscriber payload types in our offers. */
#define SUB_PT_OPUS 111
#define SUB_PT_VP8 96
#define SUB_PT_H264 102

typedef struct session session;
typedef struct room room;

/* One m-section of a subscriber's "sub" connection; owned by the session. */
typedef struct {
  char mid[16];
  int kind;
  uint32_t ssrc;
  bool active;     /* false once the track is gone (a=inactive) */
  bool negotiated; /* an answer accepted this section */
  char pub_id[16]; /* publishing participant */
  sig_sdp_codec codec, codec2;
  sfu_consumer *cons; /* owned; NULL when inactive */
} sub_sec;

typedef struct {
  session *s;
  int pc; /* SIG_PC_PUB or SIG_PC_SUB */
} pcref;

/* One participant; owned by app->sessions; borrowed by its room. */
struct session {
  sig_app *app;
  uint64_t conn;
  char id[16];
  char name[72];
  char ip[64];
  room *room; /* borrowed */
  pcref ref[2];
  tp_peer *peer[2]; /* owned */
  bool remote_set[2];
  bool connected[2];
  unsigned ncands[2];     /* remote candidates taken, capped: each one makes libnice send checks */
  GPtrArray *early_cands; /* pub candidates before the pub peer exists (char*, owned) */
  sfu_producer *prod[2];  /* owned */
  uint32_t pub_ssrc[2];
  char pub_mid[2][32];
  uint8_t pub_ext_mid;
  sfu_codec pub_codec[2][2];
  bool muted[2];
  GPtrArray *secs; /* sub_sec*, owned; secs[0] is the "probe" section */
  bool offer_in_flight, need_offer, answered_once;
  unsigned offer_nsecs;
  unsigned mid_counter;
  uint64_t sdp_id, sdp_ver[2];
  bool dead;
  bool can_publish, can_subscribe; /* from the token; both true when rooms are open */
  char identity[72];               /* the token's "sub", "" if none */
  int64_t join_us;                 /* monotonic time of the join request */
  bool first_packet_seen;          /* first forwarded packet observed in the histogram */
  /* Traffic watchdog per connection: packet counters and when they last moved. */
  uint64_t wd_rx[2], wd_tx[2];
  int64_t wd_rx_us[2], wd_tx_us[2], wd_next_us;
  int64_t remote_set_us[2]; /* when ICE checks could start; bounds connecting */
};

/* Owned by app->rooms; members borrowed. Freed when the last one leaves. */
struct room {
  char name[72];
  GPtrArray *members; /* session* */
};

struct sig_app {
  sig_app_config cfg;
  sig_ws *ws;
  GHashTable *rooms;    /* name -> room*, owned */
  GHashTable *sessions; /* &conn -> session*, owned */
  uint64_t next_pid;
  sfu_router_stats rstats;
  uint64_t joins, leaves, join_errors;
  sig_hist join_latency, first_packet;
  guint tick_id;
  GSource *tick_src;
  bool draining;
  GHashTable *join_buckets; /* ip (owned) -> join_bucket* (owned): joins per second per address */
  int64_t join_swept_us;
};

/* sig_app.c */
void app_send(sig_app *app, session *s, char *json);
void app_send_error(sig_app *app, uint64_t conn, const char *code, const char *msg, const char *req,
                    bool close);
void app_broadcast(sig_app *app, room *r, session *except, char *json);
void app_remove_session(sig_app *app, session *s, const char *reason);
session *app_find(sig_app *app, uint64_t conn);

/* sig_app_sub.c: the subscriber side */
void sub_init(session *s);
void sub_add_producer(session *sub, session *pub, int kind);
void sub_remove_producer(session *sub, const session *pub, int kind);
void sub_send_offer(session *s);
int sub_handle_answer(session *s, const char *sdp, char *err, size_t errlen);
void sub_update_running(session *s);
void sub_free(session *s);

/* sig_app_pub.c: the publisher side */
int pub_handle_offer(session *s, const char *sdp, const char **code, char *err, size_t errlen);
void pub_remove_all(session *s);

/* sig_app_media.c: peers, packets, timers */
int media_new_peer(session *s, int pc, char *err, size_t errlen);
void media_add_candidate(session *s, int pc, const char *cand);
void media_tick_start(sig_app *app);
void media_tick_stop(sig_app *app);
char **media_local_cands(session *s, int pc);
void media_fill_local(session *s, int pc, sig_sdp_local *l, const char *setup, char ***cands_out);

#endif
