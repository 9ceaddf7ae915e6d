/* sig_app: the control plane. It turns decoded requests into rooms and
 * participants, runs SDP negotiation for both peer connections of each
 * participant, applies room policy (tokens, limits, join rate), drives the
 * media core through its narrow API (sfu.h: routers, transports,
 * producers, consumers by id) and sends events back through sig_ws.
 * Thread: one control thread with its own GMainContext (cfg.ctx). The way
 * in is sig_app_on_request / sig_app_on_close (delivered there by sig_ws),
 * and sig_app_on_media_event, which the media thread calls and which only
 * queues. Nothing here runs on a media thread. */
#ifndef SIG_APP_H
#define SIG_APP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfu.h"
#include "sig_proto.h"
#include "sig_ws.h"
#include "tp_cert.h"

typedef struct sig_app sig_app;

/* Room policy; changes live with sig_app_set_policy (SIGHUP). */
typedef struct {
  unsigned max_rooms, max_participants_per_room, max_publishers_per_room;
  unsigned max_tracks_per_participant; /* published tracks of one participant */
  unsigned joins_per_sec_per_ip;       /* join attempts per second from one address; 0 = unlimited */
} sig_app_limits;

typedef struct {
  GMainContext *ctx;   /* borrowed: the control thread's context */
  sfu_worker *worker;  /* borrowed: the media core */
  const tp_cert *cert; /* borrowed: its fingerprint goes into our SDP */
  sig_app_limits limits;
  const char *jwt_secret;       /* borrowed; NULL = rooms open, else joins need a token (sig_token.h) */
  unsigned max_bitrate_kbps;    /* per publisher's video, announced with REMB; 0 = no cap */
  char **ice_servers_json_urls; /* borrowed STUN/TURN urls handed to browsers, may be NULL */
  const char *turn_username, *turn_password;
  /* TURN with credentials made per participant from a shared secret
   * (sig_turn.h), handed out in joined; all borrowed, NULL = none. */
  char **turn_rest_urls;
  const char *turn_secret;
  unsigned turn_ttl_s;
  /* Session resume: a participant whose WebSocket drops stays this long
   * for a join with its resume token; 0 = removed at once. */
  unsigned resume_grace_s;
} sig_app_config;

/* Latency histogram (seconds), Prometheus style: bucket i counts
 * observations <= SIG_HIST_BOUNDS[i]; the last bucket is +Inf. */
#define SIG_HIST_N 10
extern const double SIG_HIST_BOUNDS[SIG_HIST_N - 1];
typedef struct {
  uint64_t bucket[SIG_HIST_N]; /* not cumulative */
  uint64_t count;
  double sum;
} sig_hist;
void sig_hist_observe(sig_hist *h, double seconds);

/* Live figures for metrics (control thread; the media part from the worker). */
typedef struct {
  unsigned rooms, participants, publishers, subscriptions;
  uint64_t joins, leaves, join_errors;
  sfu_counters router;
  uint64_t srtp_in_errors;
  sig_hist join_latency; /* join request -> subscriber transport connected */
  sig_hist first_packet; /* join request -> first media packet forwarded to it */
} sig_app_stats;

sig_app *sig_app_new(const sig_app_config *cfg);
void sig_app_set_ws(sig_app *app, sig_ws *ws);
void sig_app_on_request(void *app, uint64_t conn, const char *peer_ip, sig_req *req);
void sig_app_on_close(void *app, uint64_t conn, const sig_ws_closed *how);
/* sfu_worker_config.on_event: called on the media thread; queues the event
 * for the control thread. */
void sig_app_on_media_event(void *app, const sfu_event *ev);
/* New policy (SIGHUP). Rooms already over a limit keep their members. */
void sig_app_set_policy(sig_app *app, const sig_app_limits *limits, const char *jwt_secret);
/* Stop taking joins and tell everyone (SIGTERM drain). */
void sig_app_drain(sig_app *app);
void sig_app_get_stats(sig_app *app, sig_app_stats *out);
/* Admin API. rooms: malloc'ed JSON {"rooms":[{name, participants:[{id,
 * name, ip, tracks, subscriptions, pub:{..}, sub:{..}}]}]}. close_room /
 * remove tell the participants (error "removed") and return 0, or -ENOENT. */
char *sig_app_admin_rooms(sig_app *app);
int sig_app_admin_close_room(sig_app *app, const char *room);
int sig_app_admin_remove(sig_app *app, const char *participant_id);
/* Removes every participant (their media objects close on the worker). */
void sig_app_free(sig_app *app);

#endif
