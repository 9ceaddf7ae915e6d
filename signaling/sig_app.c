/* The control plane: requests, joins and departures, media events. */
#define G_LOG_DOMAIN "room"
#include "sig_app.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sig_policy.h"
#include "sig_resume.h"
#include "sig_room.h"
#include "sig_turn.h"

/* After the remote closes a connection (DTLS close_notify), a `leave` may
 * still be on its way: the page sends it before closing. */
#define CLOSED_GRACE_MS 1500

const double SIG_HIST_BOUNDS[SIG_HIST_N - 1] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

void sig_hist_observe(sig_hist *h, double seconds) {
  int i = 0;
  while (i < SIG_HIST_N - 1 && seconds > SIG_HIST_BOUNDS[i])
    i++;
  h->bucket[i]++;
  h->count++;
  h->sum += seconds;
}

static sig_part *find(sig_app *app, uint64_t conn) {
  return g_hash_table_lookup(app->parts, &conn);
}

/* TURN credentials of this participant (user = its id), valid turn_ttl_s. */
static json_t *turn_rest_json(sig_app *app, const sig_part *s) {
  char user[96], pw[SIG_TURN_PASSWORD_LEN];
  int64_t now = g_get_real_time() / G_USEC_PER_SEC;
  if (sig_turn_credentials(app->cfg.turn_secret, s->id, now, app->cfg.turn_ttl_s, user, sizeof user, pw,
                           sizeof pw) != 0) {
    g_warning("room %s: %s: no TURN credentials", s->room->name, s->id);
    return NULL;
  }
  json_t *urls = json_array();
  for (char **u = app->cfg.turn_rest_urls; *u; u++)
    json_array_append_new(urls, json_string(*u));
  return json_pack("{s:o, s:s, s:s}", "urls", urls, "username", user, "credential", pw);
}

/* Only ever sent in joined: nobody outside a room gets TURN credentials. */
static json_t *ice_servers_json(sig_app *app, const sig_part *s) {
  json_t *arr = json_array();
  if (app->cfg.turn_rest_urls && app->cfg.turn_secret) {
    json_t *t = turn_rest_json(app, s);
    if (t) json_array_append_new(arr, t);
  }
  for (char **u = app->cfg.ice_servers_json_urls; u && *u; u++) {
    json_t *e = json_pack("{s:s}", "urls", *u);
    if (g_str_has_prefix(*u, "turn") && app->cfg.turn_username) {
      json_object_set_new(e, "username", json_string(app->cfg.turn_username));
      json_object_set_new(e, "credential", json_string(app->cfg.turn_password ? app->cfg.turn_password : ""));
    }
    json_array_append_new(arr, e);
  }
  return arr;
}

/* ---- leaving ---- */

static void room_close_if_empty(sig_app *app, sig_room *r) {
  if (r->members->len) return;
  g_message("room %s: closed (empty)", r->name);
  sfu_worker_router_close(app->cfg.worker, r->router);
  g_hash_table_remove(app->rooms, r->name);
}

static void drop_grace(sig_part *s) {
  if (!s->closed_grace) return;
  g_source_destroy(s->closed_grace);
  g_source_unref(s->closed_grace);
  s->closed_grace = NULL;
}

static void drop_source(GSource **src) {
  if (!*src) return;
  g_source_destroy(*src);
  g_source_unref(*src);
  *src = NULL;
}

static void remove_part(sig_app *app, sig_part *s, const char *reason) {
  sig_room *r = s->room;
  drop_grace(s);
  drop_source(&s->resume_grace);
  sig_resume_retire(app->resume, s->resume_token, g_get_monotonic_time());
  s->dead = true;
  app->leaves++;
  g_message("room %s: %s (%s) left: %s", r->name, s->id, s->name, reason);
  g_ptr_array_remove(r->members, s);
  sig_broadcast(
      r, s,
      sig_dump(json_pack("{s:s, s:s, s:s}", "type", "participant-left", "id", s->id, "reason", reason)));
  sig_pub_remove_all(s); /* others drop their sections and renegotiate */
  for (int pc = 0; pc < 2; pc++) {
    if (!s->tid[pc]) continue;
    sfu_worker_transport_close(app->cfg.worker, s->tid[pc]); /* its consumers go with it */
    g_hash_table_remove(app->transports, GUINT_TO_POINTER(s->tid[pc]));
    g_strfreev(s->local[pc].cands);
  }
  sig_sub_free(s);
  g_ptr_array_free(s->tracks, TRUE);
  g_ptr_array_free(s->early_cands, TRUE);
  g_hash_table_remove(app->parts, &s->conn);
  g_free(s);
  room_close_if_empty(app, r);
}

/* Removed by the server: the participant is told why and its socket closes. */
static void evict(sig_app *app, sig_part *s, const char *code, const char *msg, const char *reason) {
  sig_send_error(app, s->conn, code, msg, NULL, true);
  remove_part(app, s, reason);
}

/* ---- joining ---- */

static sig_room *room_for(sig_app *app, const char *name) {
  sig_room *r = g_hash_table_lookup(app->rooms, name);
  if (r) return r;
  r = g_new0(sig_room, 1);
  g_strlcpy(r->name, name, sizeof r->name);
  r->members = g_ptr_array_new();
  r->router = sig_new_id(app);
  sfu_worker_router_create(app->cfg.worker, r->router);
  g_hash_table_insert(app->rooms, r->name, r);
  g_message("room %s: created", r->name);
  return r;
}

/* 0, or the error to answer with (the connection then closes). */
static const char *join_refused(sig_app *app, const char *ip, const sig_req *req, sig_token_claims *c,
                                char *why, size_t whylen) {
  if (app->draining) return snprintf(why, whylen, "the server is shutting down"), "shutting_down";
  if (!sig_policy_join_rate_ok(app->policy, ip)) {
    snprintf(why, whylen, "too many joins from your address; try again in a moment");
    g_message("join %s from %s refused: more than %u joins per second", req->room, ip,
              sig_policy_join_rate(app->policy));
    return "rate_limited";
  }
  if (sig_policy_check_token(app->policy, req, c, why, whylen) != 0) {
    g_message("join %s from %s refused: %s", req->room, ip, why);
    return "unauthorized";
  }
  sig_room *r = g_hash_table_lookup(app->rooms, req->room);
  if (!r && g_hash_table_size(app->rooms) >= app->cfg.limits.max_rooms)
    return snprintf(why, whylen, "the server has reached its room limit"), "too_many_rooms";
  if (r && r->members->len >= app->cfg.limits.max_participants_per_room)
    return snprintf(why, whylen, "this room is full"), "room_full";
  return NULL;
}

static sig_part *part_new(sig_app *app, uint64_t conn, const char *ip, const sig_req *req,
                          const sig_token_claims *c) {
  sig_part *s = g_new0(sig_part, 1);
  s->app = app;
  s->conn = conn;
  snprintf(s->id, sizeof s->id, "p%llx", (unsigned long long)++app->next_pid);
  g_strlcpy(s->name, req->name, sizeof s->name);
  g_strlcpy(s->identity, c->identity, sizeof s->identity);
  g_strlcpy(s->ip, ip, sizeof s->ip);
  s->can_publish = c->can_publish;
  s->resumable = req->resumable;
  s->can_subscribe = c->can_subscribe;
  s->sdp_id = g_random_int();
  s->join_us = g_get_monotonic_time();
  s->early_cands = g_ptr_array_new_with_free_func(free);
  s->tracks = g_ptr_array_new_with_free_func(g_free);
  sig_sub_init(s);
  return s;
}

static void part_discard(sig_part *s) {
  sig_sub_free(s);
  g_ptr_array_free(s->tracks, TRUE);
  g_ptr_array_free(s->early_cands, TRUE);
  g_free(s);
}

/* A fresh resume token (the old one, if any, retired) for joined. */
static void new_resume_token(sig_app *app, sig_part *s) {
  int64_t now = g_get_monotonic_time();
  sig_resume_retire(app->resume, s->resume_token, now);
  s->resume_token[0] = '\0';
  if (app->cfg.resume_grace_s && s->resumable &&
      sig_resume_issue(app->resume, s->room->name, s->id, now, s->resume_token) != 0)
    g_warning("room %s: %s: no resume token (no randomness)", s->room->name, s->id);
}

/* joined: the others in the room (not s), TURN credentials, the resume token. */
static void send_joined(sig_app *app, sig_part *s, bool resumed) {
  sig_room *r = s->room;
  json_t *list = json_array();
  for (guint i = 0; i < r->members->len; i++) {
    sig_part *m = g_ptr_array_index(r->members, i);
    if (m != s) json_array_append_new(list, sig_part_json(m));
  }
  new_resume_token(app, s);
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "type", "joined", "id", s->id, "room", r->name,
                        "name", s->name, "participants", list, "iceServers", ice_servers_json(app, s));
  if (s->resume_token[0]) {
    json_object_set_new(j, "resume", json_string(s->resume_token));
    json_object_set_new(j, "resumeGraceS", json_integer(app->cfg.resume_grace_s));
  }
  if (resumed) json_object_set_new(j, "resumed", json_true());
  sig_send(s, sig_dump(j));
}

static void announce(sig_app *app, sig_part *s) {
  sig_room *r = s->room;
  send_joined(app, s, false);
  sig_broadcast(
      r, NULL,
      sig_dump(json_pack("{s:s, s:s, s:s}", "type", "participant-joined", "id", s->id, "name", s->name)));
  g_ptr_array_add(r->members, s);
  if (sig_policy_needs_token(app->policy))
    g_message("room %s: %s (%s) joined from %s as identity \"%s\" (publish %s, subscribe %s); %u here",
              r->name, s->id, s->name, s->ip, s->identity, s->can_publish ? "yes" : "no",
              s->can_subscribe ? "yes" : "no", r->members->len);
  else
    g_message("room %s: %s (%s) joined from %s; %u here", r->name, s->id, s->name, s->ip, r->members->len);
}

/* ---- session resume ---- */

static gboolean resume_grace_over(gpointer ud) {
  sig_part *s = ud;
  g_source_unref(s->resume_grace);
  s->resume_grace = NULL;
  g_message("room %s: %s (%s) did not come back within %u s", s->room->name, s->id, s->name,
            s->app->cfg.resume_grace_s);
  remove_part(s->app, s, "disconnected");
  return G_SOURCE_REMOVE;
}

/* The participant's socket is gone: it stays (media objects and all, the
 * others see nothing) under a connection id no socket has, for a join with
 * its resume token. */
static void detach(sig_app *app, sig_part *s) {
  g_hash_table_remove(app->parts, &s->conn);
  s->conn = (UINT64_C(1) << 63) | ++app->next_detached;
  s->detached = true;
  g_hash_table_insert(app->parts, &s->conn, s);
  s->resume_grace = g_timeout_source_new(app->cfg.resume_grace_s * 1000);
  g_source_set_callback(s->resume_grace, resume_grace_over, s, NULL);
  g_source_attach(s->resume_grace, app->cfg.ctx);
  g_message("room %s: %s (%s) lost its connection; resumable for %u s", s->room->name, s->id, s->name,
            app->cfg.resume_grace_s);
}

/* Takes s over onto conn: from a detached state, or from a socket that has
 * not noticed yet that the page moved on (closed, told why). */
static void attach(sig_app *app, sig_part *s, uint64_t conn) {
  if (!s->detached)
    sig_send_error(app, s->conn, "replaced", "this session was resumed on another connection", NULL, true);
  drop_source(&s->resume_grace);
  g_hash_table_remove(app->parts, &s->conn);
  s->conn = conn;
  s->detached = false;
  g_hash_table_insert(app->parts, &s->conn, s);
  send_joined(app, s, true);
  /* An offer sent while the socket was gone may never have arrived. */
  if (s->offer_in_flight || s->need_offer) {
    s->offer_in_flight = false;
    s->need_offer = false;
    sig_sub_send_offer(s);
  }
  g_message("room %s: %s (%s) resumed its session", s->room->name, s->id, s->name);
}

static sig_part *member(sig_app *app, const char *room, const char *id) {
  sig_room *r = g_hash_table_lookup(app->rooms, room);
  for (guint i = 0; r && i < r->members->len; i++) {
    sig_part *m = g_ptr_array_index(r->members, i);
    if (!strcmp(m->id, id) && !m->dead) return m;
  }
  return NULL;
}

/* join with "resume": the same participant again, or an error that leaves
 * the socket open for a normal join. */
static void handle_resume(sig_app *app, uint64_t conn, const char *ip, const sig_req *req) {
  if (app->draining) {
    sig_send_error(app, conn, "shutting_down", "the server is shutting down", "join", true);
    return;
  }
  if (!sig_policy_join_rate_ok(app->policy, ip)) {
    sig_send_error(app, conn, "rate_limited", "too many joins from your address; try again in a moment",
                   "join", true);
    return;
  }
  const char *id = NULL;
  sig_resume_status st = app->cfg.resume_grace_s ? sig_resume_lookup(app->resume, req->resume, req->room, &id)
                                                 : SIG_RESUME_UNKNOWN;
  sig_part *s = st == SIG_RESUME_OK ? member(app, req->room, id) : NULL;
  if (!s) {
    const char *why = app->cfg.resume_grace_s
                          ? sig_resume_status_text(st == SIG_RESUME_OK ? SIG_RESUME_EXPIRED : st)
                          : "session resume is off on this server";
    g_message("join %s from %s: resume refused: %s", req->room, ip, why);
    sig_send_error(app, conn, "resume_failed", why, "join", false);
    return;
  }
  attach(app, s, conn);
}

static void handle_join(sig_app *app, uint64_t conn, const char *ip, const sig_req *req) {
  if (find(app, conn)) {
    sig_send_error(app, conn, "wrong_state", "already joined", "join", false);
    return;
  }
  if (req->resume) {
    handle_resume(app, conn, ip, req);
    return;
  }
  sig_token_claims claims = {.can_publish = true, .can_subscribe = true};
  char why[256];
  const char *code = join_refused(app, ip, req, &claims, why, sizeof why);
  if (code) {
    if (strcmp(code, "shutting_down")) app->join_errors++;
    sig_send_error(app, conn, code, why, "join", true);
    return;
  }
  sig_room *r = room_for(app, req->room);
  sig_part *s = part_new(app, conn, ip, req, &claims);
  s->room = r;
  if (sig_part_new_transport(s, SIG_PC_SUB, why, sizeof why) != 0) {
    g_warning("join %s: cannot create transport: %s", req->room, why);
    app->join_errors++;
    sig_send_error(app, conn, "internal", "cannot create a transport", "join", true);
    part_discard(s);
    room_close_if_empty(app, r);
    return;
  }
  g_hash_table_insert(app->parts, &s->conn, s);
  app->joins++;
  announce(app, s);
  sig_sub_add_room(s);
  sig_sub_send_offer(s);
}

/* ---- requests ---- */

static void handle_mute(sig_part *s, const sig_req *req) {
  for (guint i = 0; i < s->tracks->len; i++) {
    sig_track *t = g_ptr_array_index(s->tracks, i);
    bool hit = req->track[0] ? !strcmp(req->track, t->id)
                             : t->kind == (req->video ? KIND_VIDEO : KIND_AUDIO) &&
                                   (t->source == SIG_SRC_CAMERA || t->source == SIG_SRC_MICROPHONE);
    if (!hit || t->muted == req->muted) continue;
    t->muted = req->muted;
    sig_broadcast(s->room, s,
                  sig_dump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "type", "muted", "id", s->id, "track",
                                     t->id, "kind", t->kind == KIND_VIDEO ? "video" : "audio", "source",
                                     sig_source_name(t->source), "muted", t->muted)));
  }
}

static const char *req_name(sig_req_type t) {
  static const char *const names[] = {"",     "join",  "publish",     "answer",  "candidate",
                                      "mute", "leave", "restart-ice", "viewport"};
  return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "";
}

static void handle(sig_app *app, sig_part *s, const sig_req *req) {
  char err[256];
  const char *code = NULL;
  switch (req->type) {
  case SIG_REQ_PUBLISH:
    if (!s->can_publish)
      sig_send_error(app, s->conn, "forbidden", "your token does not allow publishing", "publish", false);
    else if (sig_pub_handle_offer(s, req, &code, err, sizeof err) != 0)
      sig_send_error(app, s->conn, code ? code : "bad_sdp", err, "publish", false);
    break;
  case SIG_REQ_ANSWER:
    if (!s->offer_in_flight)
      sig_send_error(app, s->conn, "wrong_state", "no offer is waiting for an answer", "answer", false);
    else if (sig_sub_handle_answer(s, req->sdp, err, sizeof err) != 0)
      sig_send_error(app, s->conn, "bad_sdp", err, "answer", false);
    break;
  case SIG_REQ_CANDIDATE:
    sig_part_add_candidate(s, req->pc, req->candidate);
    break;
  case SIG_REQ_MUTE:
    if (req->track[0] && !sig_part_track(s, req->track))
      sig_send_error(app, s->conn, "bad_message", "mute: no such track of yours", "mute", false);
    else
      handle_mute(s, req);
    break;
  case SIG_REQ_LEAVE: {
    uint64_t conn = s->conn;
    remove_part(app, s, "left");
    if (app->ws) sig_ws_send(app->ws, conn, NULL, true);
    break;
  }
  case SIG_REQ_RESTART_ICE:
    if (sig_part_restart_ice(s, req->pc, err, sizeof err) != 0)
      sig_send_error(app, s->conn, "wrong_state", err, "restart-ice", false);
    else
      sig_sub_send_offer(s); /* or right after the answer to the one in flight */
    break;
  case SIG_REQ_VIEWPORT: {
    /* A track that has just gone may still be reported: nothing to do. */
    sig_sec *sec = sig_sub_section_by_track(s, req->track);
    if (sec && sec->consumer)
      sfu_worker_consumer_viewport(app->cfg.worker, sec->consumer, req->width, req->height, req->visible);
    break;
  }
  case SIG_REQ_JOIN:
    break;
  }
}

void sig_app_on_request(void *ud, uint64_t conn, const char *ip, sig_req *req) {
  sig_app *app = ud;
  sig_part *s = find(app, conn);
  if (req->type == SIG_REQ_JOIN)
    handle_join(app, conn, ip ? ip : "", req);
  else if (!s || s->dead)
    sig_send_error(app, conn, "wrong_state", "join a room first", req_name(req->type), false);
  else
    handle(app, s, req);
  sig_req_clear(req);
  g_free(req);
}

/* The browser's media has been silent (on every connection that should be
 * heard) for longer than the grace period: it vanished well before its
 * socket was hung up (missed pings); waiting more is pointless. */
static bool long_gone(sig_app *app, sig_part *s) {
  sfu_transport_stats st[2];
  sfu_worker_transport_stats(app->cfg.worker, s->tid, 2, st);
  int64_t heard = -1; /* the shortest silence among connections that should be heard */
  for (int pc = 0; pc < 2; pc++)
    if (s->tid[pc] && st[pc].silent_ms >= 0 && (heard < 0 || st[pc].silent_ms < heard))
      heard = st[pc].silent_ms;
  return heard >= (int64_t)app->cfg.resume_grace_s * 1000;
}

/* A socket the client closed or that broke may come back (session resume);
 * one we closed (bad input) may not, nor one of a browser long gone. */
void sig_app_on_close(void *ud, uint64_t conn, const sig_ws_closed *how) {
  sig_app *app = ud;
  sig_part *s = find(app, conn);
  if (!s || s->detached) return;
  if (app->cfg.resume_grace_s && !app->draining && !how->by_server && s->resume_token[0] &&
      !long_gone(app, s))
    detach(app, s);
  else
    remove_part(app, s, "disconnected");
}

/* ---- media events ---- */

static const char *failure_reason(sfu_failure f) {
  return f == SFU_FAIL_DTLS ? "dtls-failed" : f == SFU_FAIL_CONSENT ? "consent-expired" : "ice-failed";
}

static gboolean closed_grace_over(gpointer ud) {
  sig_part *s = ud;
  g_source_unref(s->closed_grace);
  s->closed_grace = NULL;
  remove_part(s->app, s, "disconnected");
  return G_SOURCE_REMOVE;
}

static void on_connected(sig_app *app, sig_part *s, int pc) {
  s->connected[pc] = true;
  g_message("room %s: %s %s connected", s->room->name, s->id, pc == SIG_PC_PUB ? "pub" : "sub");
  if (pc == SIG_PC_SUB)
    sig_hist_observe(&app->join_latency, (double)(g_get_monotonic_time() - s->join_us) / 1e6);
}

/* The subscriber is told a video of theirs is paused for bandwidth (or back). */
static void on_consumer_paused(sig_app *app, const sfu_event *ev) {
  sig_part *s = g_hash_table_lookup(app->consumers, GUINT_TO_POINTER(ev->consumer));
  sig_sec *sec = s && !s->dead ? sig_sub_section_by_consumer(s, ev->consumer) : NULL;
  if (!sec) return;
  sig_send(s, sig_dump(json_pack("{s:s, s:s, s:b, s:s}", "type", "video-paused", "track", sec->track_id,
                                 "paused", ev->paused, "reason", "bandwidth")));
}

/* The publisher is asked to switch encodings on or off (nobody needs them). */
static void on_producer_layers(sig_app *app, const sfu_event *ev) {
  sig_part *s = g_hash_table_lookup(app->producers, GUINT_TO_POINTER(ev->producer));
  sig_track *t = s && !s->dead ? sig_part_track_by_producer(s, ev->producer) : NULL;
  if (!t || !t->nrids || t->layers_on == ev->layers) return;
  t->layers_on = ev->layers;
  json_t *active = json_object();
  for (unsigned i = 0; i < t->nrids; i++)
    json_object_set_new(active, t->rids[i], json_boolean(ev->layers & (1u << i)));
  g_message("room %s: %s: encodings of %s on: 0x%x", s->room->name, s->id, t->id, ev->layers);
  sig_send(s, sig_dump(json_pack("{s:s, s:s, s:s, s:o}", "type", "encodings", "mid", t->mid, "track", t->id,
                                 "active", active)));
}

static void on_event(sig_app *app, const sfu_event *ev) {
  if (ev->type == SFU_EV_CONSUMER_PAUSED) return on_consumer_paused(app, ev);
  if (ev->type == SFU_EV_PRODUCER_LAYERS) return on_producer_layers(app, ev);
  if (ev->type == SFU_EV_SPEAKER) {
    sig_speakers_on_event(app, ev);
    return;
  }
  sig_part *s = g_hash_table_lookup(app->transports, GUINT_TO_POINTER(ev->transport));
  if (!s || s->dead) return;
  int pc = s->tid[SIG_PC_PUB] == ev->transport ? SIG_PC_PUB : SIG_PC_SUB;
  const char *pcn = pc == SIG_PC_PUB ? "pub" : "sub";
  switch (ev->type) {
  case SFU_EV_TRANSPORT_CONNECTED:
    on_connected(app, s, pc);
    break;
  case SFU_EV_TRANSPORT_FIRST_MEDIA:
    if (pc == SIG_PC_SUB && !s->first_packet_seen) {
      s->first_packet_seen = true;
      sig_hist_observe(&app->first_packet, (double)(g_get_monotonic_time() - s->join_us) / 1e6);
    }
    break;
  case SFU_EV_TRANSPORT_FAILED:
    g_message("room %s: %s %s failed: %s", s->room->name, s->id, pcn, ev->why);
    evict(app, s, "transport_failed", ev->why, failure_reason(ev->failure));
    break;
  case SFU_EV_TRANSPORT_CLOSED:
    /* The browser closed that connection: it is leaving, or gone. */
    if (!s->closed_grace) {
      g_message("room %s: %s %s closed by the remote", s->room->name, s->id, pcn);
      s->closed_grace = g_timeout_source_new(CLOSED_GRACE_MS);
      g_source_set_callback(s->closed_grace, closed_grace_over, s, NULL);
      g_source_attach(s->closed_grace, app->cfg.ctx);
    }
    break;
  case SFU_EV_CANDIDATE_ERROR:
    sig_send_error(app, s->conn, "bad_message", ev->why, "candidate", false);
    break;
  case SFU_EV_CONSUMER_PAUSED:
  case SFU_EV_PRODUCER_LAYERS:
  case SFU_EV_SPEAKER: /* handled above */
    break;
  case SFU_EV_DATA:
  case SFU_EV_DATA_OVERSIZE:
    if (pc == SIG_PC_SUB)
      sig_chatroom_on_data(s, ev->data, ev->len, ev->binary, ev->type == SFU_EV_DATA_OVERSIZE);
    break;
  }
}

static gboolean drain_events(gpointer ud) {
  sig_app *app = ud;
  g_mutex_lock(&app->ev_mu);
  GQueue local = app->ev_q;
  g_queue_init(&app->ev_q);
  app->ev_scheduled = false;
  g_mutex_unlock(&app->ev_mu);
  sfu_event *ev;
  while ((ev = g_queue_pop_head(&local))) {
    on_event(app, ev);
    g_free(ev->data);
    g_free(ev);
  }
  return G_SOURCE_REMOVE;
}

void sig_app_on_media_event(void *ud, const sfu_event *ev) {
  sig_app *app = ud;
  g_mutex_lock(&app->ev_mu);
  g_queue_push_tail(&app->ev_q, g_memdup2(ev, sizeof *ev));
  if (!app->ev_scheduled) {
    app->ev_scheduled = true;
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, drain_events, app, NULL);
    g_source_attach(src, app->cfg.ctx);
    g_source_unref(src);
  }
  g_mutex_unlock(&app->ev_mu);
}

/* ---- lifetime, policy, stats ---- */

static void room_free(gpointer p) {
  sig_room *r = p;
  g_ptr_array_free(r->members, TRUE);
  g_free(r);
}

sig_app *sig_app_new(const sig_app_config *cfg) {
  sig_app *app = g_new0(sig_app, 1);
  app->cfg = *cfg;
  app->cfg.jwt_secret = NULL; /* owned by the policy */
  app->policy = sig_policy_new();
  app->resume = sig_resume_new();
  sig_app_set_policy(app, &cfg->limits, cfg->jwt_secret);
  app->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, room_free);
  app->parts = g_hash_table_new(g_int64_hash, g_int64_equal);
  app->transports = g_hash_table_new(g_direct_hash, g_direct_equal);
  app->consumers = g_hash_table_new(g_direct_hash, g_direct_equal);
  app->producers = g_hash_table_new(g_direct_hash, g_direct_equal);
  g_mutex_init(&app->ev_mu);
  g_queue_init(&app->ev_q);
  return app;
}

void sig_app_set_ws(sig_app *app, sig_ws *ws) {
  app->ws = ws;
}

void sig_app_set_policy(sig_app *app, const sig_app_limits *l, const char *jwt_secret) {
  sig_app_limits *c = &app->cfg.limits;
  *c = *l;
  if (!c->max_rooms) c->max_rooms = 1000;
  if (!c->max_participants_per_room) c->max_participants_per_room = 50;
  if (!c->max_publishers_per_room) c->max_publishers_per_room = 50;
  if (!c->max_tracks_per_participant) c->max_tracks_per_participant = 8;
  sig_policy_set(app->policy, jwt_secret, c->joins_per_sec_per_ip);
}

static void remove_everyone(sig_app *app, const char *code, const char *msg, const char *reason) {
  GList *all = g_hash_table_get_values(app->parts);
  for (GList *l = all; l; l = l->next)
    evict(app, l->data, code, msg, reason);
  g_list_free(all);
}

void sig_app_drain(sig_app *app) {
  app->draining = true;
  remove_everyone(app, "shutting_down", "the server is shutting down", "removed");
}

void sig_app_get_stats(sig_app *app, sig_app_stats *out) {
  memset(out, 0, sizeof *out);
  out->rooms = g_hash_table_size(app->rooms);
  out->participants = g_hash_table_size(app->parts);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, app->parts);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    sig_part *s = v;
    out->publishers += s->tracks->len > 0;
    for (guint i = 0; i < s->secs->len; i++)
      out->subscriptions += ((sig_sec *)g_ptr_array_index(s->secs, i))->consumer != 0;
  }
  sfu_worker_stats ws;
  sfu_worker_read_stats(app->cfg.worker, &ws);
  out->router = ws.c;
  out->srtp_in_errors = ws.srtp_in_errors;
  out->joins = app->joins;
  out->leaves = app->leaves;
  out->join_errors = app->join_errors;
  out->join_latency = app->join_latency;
  out->first_packet = app->first_packet;
}

void sig_app_free(sig_app *app) {
  if (!app) return;
  GList *all = g_hash_table_get_values(app->parts);
  for (GList *l = all; l; l = l->next)
    remove_part(app, l->data, "removed");
  g_list_free(all);
  drain_events(app); /* what the media side reported meanwhile goes nowhere now */
  g_hash_table_destroy(app->parts);
  g_hash_table_destroy(app->rooms);
  g_hash_table_destroy(app->transports);
  g_hash_table_destroy(app->consumers);
  g_hash_table_destroy(app->producers);
  sig_policy_free(app->policy);
  sig_resume_free(app->resume);
  g_mutex_clear(&app->ev_mu);
  g_free(app);
}

/* ---- admin ---- */

static json_t *transport_json(const sfu_transport_stats *st) {
  if (!st->state[0]) return json_null();
  return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "state", st->state, "rtpIn",
                   (json_int_t)st->rtp_in, "rtpOut", (json_int_t)st->rtp_out, "bytesIn",
                   (json_int_t)st->bytes_in, "bytesOut", (json_int_t)st->bytes_out, "srtpErrors",
                   (json_int_t)st->srtp_errors, "estimateBps", (json_int_t)st->estimate_bps, "loss",
                   st->loss);
}

static json_t *admin_part(sig_app *app, sig_part *m) {
  unsigned subs = 0;
  for (guint k = 0; k < m->secs->len; k++)
    subs += ((sig_sec *)g_ptr_array_index(m->secs, k))->consumer != 0;
  sfu_transport_stats st[2];
  sfu_worker_transport_stats(app->cfg.worker, m->tid, 2, st);
  json_t *pj = sig_part_json(m);
  json_object_set_new(pj, "ip", json_string(m->ip));
  json_object_set_new(pj, "subscriptions", json_integer(subs));
  json_object_set_new(pj, "pub", transport_json(&st[SIG_PC_PUB]));
  json_object_set_new(pj, "sub", transport_json(&st[SIG_PC_SUB]));
  return pj;
}

char *sig_app_admin_rooms(sig_app *app) {
  json_t *rooms = json_array();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, app->rooms);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    sig_room *r = v;
    json_t *ps = json_array();
    for (guint i = 0; i < r->members->len; i++)
      json_array_append_new(ps, admin_part(app, g_ptr_array_index(r->members, i)));
    json_array_append_new(rooms, json_pack("{s:s, s:o}", "name", r->name, "participants", ps));
  }
  return sig_dump(json_pack("{s:o}", "rooms", rooms));
}

int sig_app_admin_close_room(sig_app *app, const char *name) {
  sig_room *r = g_hash_table_lookup(app->rooms, name);
  if (!r) return -ENOENT;
  g_message("room %s: closed by the admin API", r->name);
  /* The room is freed with its last member: copy the list first. */
  GPtrArray *ms = g_ptr_array_copy(r->members, NULL, NULL);
  for (guint i = 0; i < ms->len; i++)
    evict(app, g_ptr_array_index(ms, i), "removed", "the room was closed by an operator", "removed");
  g_ptr_array_free(ms, TRUE);
  return 0;
}

int sig_app_admin_remove(sig_app *app, const char *pid) {
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, app->parts);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    sig_part *s = v;
    if (!strcmp(s->id, pid) && !s->dead) {
      evict(app, s, "removed", "you were removed by an operator", "removed");
      return 0;
    }
  }
  return -ENOENT;
}
