/* sig_app: the signaling controller on the media thread. It turns decoded
 * requests into rooms, participants (sessions), transport peers, producers
 * and consumers, runs SDP negotiation for both peer connections of each
 * participant, and sends events back through sig_ws.
 * Thread: everything here runs on the media thread's GMainContext; the only
 * way in is sig_app_on_request / sig_app_on_close (delivered by sig_ws) and
 * the peers' callbacks. */
#ifndef SIG_APP_H
#define SIG_APP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfu_router.h"
#include "sig_proto.h"
#include "sig_ws.h"
#include "tp_cert.h"

typedef struct sig_app sig_app;

typedef struct {
  GMainContext *ctx;         /* borrowed: the media thread's context */
  const tp_cert *cert;       /* borrowed */
  char **ice_addrs;          /* borrowed, NULL = automatic */
  const char *nat_public_ip; /* borrowed, may be NULL */
  unsigned port_min, port_max;
  unsigned consent_timeout_s;
  bool ice_tcp; /* passive ICE-TCP candidates too */
  unsigned max_rooms, max_participants_per_room, max_publishers_per_room;
  const char *jwt_secret;        /* borrowed; NULL = rooms open, else joins need a token (sig_token.h) */
  unsigned joins_per_sec_per_ip; /* join attempts per second from one address; 0 = unlimited */
  unsigned max_bitrate_kbps;     /* per publisher's video, announced with REMB; 0 = no cap */
  char **ice_servers_json_urls;  /* borrowed STUN/TURN urls handed to browsers, may be NULL */
  const char *turn_username, *turn_password;
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

/* Live figures for metrics and the admin API (copied on the media thread). */
typedef struct {
  unsigned rooms, participants, publishers, subscriptions;
  uint64_t joins, leaves, join_errors;
  sfu_router_stats router;
  uint64_t srtp_in_errors;
  sig_hist join_latency; /* join request -> subscriber transport connected */
  sig_hist first_packet; /* join request -> first media packet forwarded to it */
} sig_app_stats;

sig_app *sig_app_new(const sig_app_config *cfg);
void sig_app_set_ws(sig_app *app, sig_ws *ws);
void sig_app_on_request(void *app, uint64_t conn, const char *peer_ip, sig_req *req);
void sig_app_on_close(void *app, uint64_t conn);
/* New limits (SIGHUP); media thread. Rooms already over a limit keep their members. */
void sig_app_set_limits(sig_app *app, unsigned max_rooms, unsigned per_room, unsigned publishers_per_room);
/* Stop taking joins and tell everyone (SIGTERM drain). */
void sig_app_drain(sig_app *app);
void sig_app_get_stats(sig_app *app, sig_app_stats *out);
/* Admin API; media thread. rooms: malloc'ed JSON {"rooms":[{name,
 * participants:[{id,name,ip,audio,video,subscriptions,pub:{..},sub:{..}}]}]}.
 * close_room/remove tell the participants (error "removed") and return 0,
 * or -ENOENT if there is no such room or participant. */
char *sig_app_admin_rooms(sig_app *app);
int sig_app_admin_close_room(sig_app *app, const char *room);
int sig_app_admin_remove(sig_app *app, const char *participant_id);
/* Frees every room and participant. */
void sig_app_free(sig_app *app);

#endif
