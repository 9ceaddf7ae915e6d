/* Requests, rooms and membership on the media thread. */
#define G_LOG_DOMAIN "room"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sig_app_internal.h"
#include "sig_token.h"

static char *dump(json_t *o) {
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

void app_send(sig_app *app, session *s, char *json) {
  if (!json) return;
  if (app->ws)
    sig_ws_send(app->ws, s->conn, json, false);
  else
    free(json);
}

void app_send_error(sig_app *app, uint64_t conn, const char *code, const char *msg, const char *req,
                    bool close) {
  char *j = sig_proto_error(code, msg, req);
  if (app->ws)
    sig_ws_send(app->ws, conn, j, close);
  else
    free(j);
}

void app_broadcast(sig_app *app, room *r, session *except, char *json) {
  for (guint i = 0; i < r->members->len; i++) {
    session *m = g_ptr_array_index(r->members, i);
    if (m != except && !m->dead) app_send(app, m, strdup(json));
  }
  free(json);
}

const double SIG_HIST_BOUNDS[SIG_HIST_N - 1] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

void sig_hist_observe(sig_hist *h, double seconds) {
  int i = 0;
  while (i < SIG_HIST_N - 1 && seconds > SIG_HIST_BOUNDS[i])
    i++;
  h->bucket[i]++;
  h->count++;
  h->sum += seconds;
}

session *app_find(sig_app *app, uint64_t conn) {
  return g_hash_table_lookup(app->sessions, &conn);
}

static json_t *participant_json(session *m) {
  return json_pack("{s:s, s:s, s:b, s:b, s:b, s:b}", "id", m->id, "name", m->name, "audio",
                   m->prod[KIND_AUDIO] != NULL, "video", m->prod[KIND_VIDEO] != NULL, "audioMuted",
                   m->muted[KIND_AUDIO], "videoMuted", m->muted[KIND_VIDEO]);
}

static json_t *ice_servers_json(sig_app *app) {
  json_t *arr = json_array();
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

/* Join attempts per source address: a token bucket per address (capacity
 * and refill both joins_per_sec_per_ip). Idle buckets are full again after
 * a second, so entries idle for 2 s are dropped, at most every 5 s. */
typedef struct {
  double tokens;
  int64_t at_us;
} join_bucket;

static gboolean bucket_idle(gpointer key, gpointer value, gpointer now) {
  (void)key;
  return *(int64_t *)now - ((join_bucket *)value)->at_us > 2 * G_USEC_PER_SEC;
}

static bool join_rate_ok(sig_app *app, const char *ip) {
  unsigned rate = app->cfg.joins_per_sec_per_ip;
  if (!rate) return true;
  int64_t now = g_get_monotonic_time();
  if (now - app->join_swept_us > 5 * G_USEC_PER_SEC) {
    g_hash_table_foreach_remove(app->join_buckets, bucket_idle, &now);
    app->join_swept_us = now;
  }
  join_bucket *b = g_hash_table_lookup(app->join_buckets, ip);
  if (!b) {
    b = g_new(join_bucket, 1);
    b->tokens = rate;
    g_hash_table_insert(app->join_buckets, g_strdup(ip), b);
  } else {
    b->tokens = MIN((double)rate, b->tokens + (double)(now - b->at_us) * rate / G_USEC_PER_SEC);
  }
  b->at_us = now;
  if (b->tokens < 1.0) return false;
  b->tokens -= 1.0;
  return true;
}

/* With a jwt_secret, a join needs a valid token for this room. 0, or -1
 * with the reason in err. */
static int join_token_ok(sig_app *app, const sig_req *req, sig_token_claims *c, char *err, size_t errlen) {
  if (!app->cfg.jwt_secret) return 0;
  if (!req->token || !*req->token) {
    snprintf(err, errlen, "missing token: this server needs an access token to join a room");
    return -1;
  }
  char why[160];
  int rc = sig_token_verify(app->cfg.jwt_secret, req->token, (int64_t)g_get_real_time() / G_USEC_PER_SEC, c,
                            why, sizeof why);
  if (rc == -ETIMEDOUT) {
    snprintf(err, errlen, "token expired");
    return -1;
  }
  if (rc != 0) {
    snprintf(err, errlen, "invalid token: %s", why);
    return -1;
  }
  if (strcmp(c->room, req->room) != 0) {
    snprintf(err, errlen, "token is for another room");
    return -1;
  }
  return 0;
}

static void handle_join(sig_app *app, uint64_t conn, const char *ip, sig_req *req) {
  if (app_find(app, conn)) {
    app_send_error(app, conn, "wrong_state", "already joined", "join", false);
    return;
  }
  if (app->draining) {
    app_send_error(app, conn, "shutting_down", "the server is shutting down", "join", true);
    return;
  }
  if (!join_rate_ok(app, ip ? ip : "")) {
    app->join_errors++;
    g_message("join %s from %s refused: more than %u joins per second", req->room, ip ? ip : "?",
              app->cfg.joins_per_sec_per_ip);
    app_send_error(app, conn, "rate_limited", "too many joins from your address; try again in a moment",
                   "join", true);
    return;
  }
  sig_token_claims claims = {.can_publish = true, .can_subscribe = true};
  char why[256];
  if (join_token_ok(app, req, &claims, why, sizeof why) != 0) {
    app->join_errors++;
    g_message("join %s from %s refused: %s", req->room, ip ? ip : "?", why);
    app_send_error(app, conn, "unauthorized", why, "join", true);
    return;
  }
  room *r = g_hash_table_lookup(app->rooms, req->room);
  if (!r && g_hash_table_size(app->rooms) >= app->cfg.max_rooms) {
    app->join_errors++;
    app_send_error(app, conn, "too_many_rooms", "the server has reached its room limit", "join", true);
    return;
  }
  if (r && r->members->len >= app->cfg.max_participants_per_room) {
    app->join_errors++;
    app_send_error(app, conn, "room_full", "this room is full", "join", true);
    return;
  }
  session *s = g_new0(session, 1);
  s->app = app;
  s->conn = conn;
  snprintf(s->id, sizeof s->id, "p%llx", (unsigned long long)++app->next_pid);
  g_strlcpy(s->name, req->name, sizeof s->name);
  g_strlcpy(s->identity, claims.identity, sizeof s->identity);
  s->can_publish = claims.can_publish;
  s->can_subscribe = claims.can_subscribe;
  g_strlcpy(s->ip, ip ? ip : "", sizeof s->ip);
  s->sdp_id = g_random_int();
  s->join_us = g_get_monotonic_time();
  for (int i = 0; i < 2; i++)
    s->ref[i] = (pcref){s, i};
  s->early_cands = g_ptr_array_new_with_free_func(free);
  sub_init(s);
  char err[256];
  if (media_new_peer(s, SIG_PC_SUB, err, sizeof err) != 0) {
    g_warning("join %s: cannot create transport: %s", req->room, err);
    app->join_errors++;
    app_send_error(app, conn, "internal", "cannot create a transport", "join", true);
    sub_free(s);
    g_ptr_array_free(s->early_cands, TRUE);
    g_free(s);
    return;
  }
  if (!r) {
    r = g_new0(room, 1);
    g_strlcpy(r->name, req->room, sizeof r->name);
    r->members = g_ptr_array_new();
    g_hash_table_insert(app->rooms, r->name, r);
    g_message("room %s: created", r->name);
  }
  s->room = r;
  g_hash_table_insert(app->sessions, &s->conn, s);
  app->joins++;

  json_t *list = json_array();
  for (guint i = 0; i < r->members->len; i++)
    json_array_append_new(list, participant_json(g_ptr_array_index(r->members, i)));
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "type", "joined", "id", s->id, "room", r->name,
                        "name", s->name, "participants", list, "iceServers", ice_servers_json(app));
  app_send(app, s, dump(j));
  app_broadcast(
      app, r, NULL,
      dump(json_pack("{s:s, s:s, s:s}", "type", "participant-joined", "id", s->id, "name", s->name)));
  g_ptr_array_add(r->members, s);
  if (app->cfg.jwt_secret)
    g_message("room %s: %s (%s) joined from %s as identity \"%s\" (publish %s, subscribe %s); %u here",
              r->name, s->id, s->name, s->ip, s->identity, s->can_publish ? "yes" : "no",
              s->can_subscribe ? "yes" : "no", r->members->len);
  else
    g_message("room %s: %s (%s) joined from %s; %u here", r->name, s->id, s->name, s->ip, r->members->len);

  for (guint i = 0; i < r->members->len && s->can_subscribe; i++) {
    session *m = g_ptr_array_index(r->members, i);
    if (m == s) continue;
    for (int k = 0; k < 2; k++)
      if (m->prod[k]) sub_add_producer(s, m, k);
  }
  sub_send_offer(s);
}

static void handle_mute(sig_app *app, session *s, sig_req *req) {
  int k = req->video ? KIND_VIDEO : KIND_AUDIO;
  s->muted[k] = req->muted;
  app_broadcast(app, s->room, s,
                dump(json_pack("{s:s, s:s, s:s, s:b}", "type", "muted", "id", s->id, "kind",
                               k == KIND_VIDEO ? "video" : "audio", "muted", req->muted)));
}

static const char *req_name(sig_req_type t) {
  switch (t) {
  case SIG_REQ_JOIN:
    return "join";
  case SIG_REQ_PUBLISH:
    return "publish";
  case SIG_REQ_ANSWER:
    return "answer";
  case SIG_REQ_CANDIDATE:
    return "candidate";
  case SIG_REQ_MUTE:
    return "mute";
  case SIG_REQ_LEAVE:
    return "leave";
  }
  return "";
}

void sig_app_on_request(void *ud, uint64_t conn, const char *ip, sig_req *req) {
  sig_app *app = ud;
  session *s = app_find(app, conn);
  char err[256];
  const char *code = NULL;
  if (req->type == SIG_REQ_JOIN) {
    handle_join(app, conn, ip, req);
  } else if (!s || s->dead) {
    app_send_error(app, conn, "wrong_state", "join a room first", req_name(req->type), false);
  } else {
    switch (req->type) {
    case SIG_REQ_PUBLISH:
      if (!s->can_publish)
        app_send_error(app, conn, "forbidden", "your token does not allow publishing", "publish", false);
      else if (pub_handle_offer(s, req->sdp, &code, err, sizeof err) != 0)
        app_send_error(app, conn, code ? code : "bad_sdp", err, "publish", false);
      break;
    case SIG_REQ_ANSWER:
      if (!s->offer_in_flight)
        app_send_error(app, conn, "wrong_state", "no offer is waiting for an answer", "answer", false);
      else if (sub_handle_answer(s, req->sdp, err, sizeof err) != 0)
        app_send_error(app, conn, "bad_sdp", err, "answer", false);
      break;
    case SIG_REQ_CANDIDATE:
      media_add_candidate(s, req->pc, req->candidate);
      break;
    case SIG_REQ_MUTE:
      handle_mute(app, s, req);
      break;
    case SIG_REQ_LEAVE:
      app_remove_session(app, s, "left");
      if (app->ws) sig_ws_send(app->ws, conn, NULL, true);
      break;
    case SIG_REQ_JOIN:
      break;
    }
  }
  sig_req_clear(req);
  g_free(req);
}

void sig_app_on_close(void *ud, uint64_t conn) {
  sig_app *app = ud;
  session *s = app_find(app, conn);
  if (s) app_remove_session(app, s, "disconnected");
}

void app_remove_session(sig_app *app, session *s, const char *reason) {
  room *r = s->room;
  s->dead = true;
  app->leaves++;
  g_message("room %s: %s (%s) left: %s", r->name, s->id, s->name, reason);
  g_ptr_array_remove(r->members, s);
  app_broadcast(
      app, r, s,
      dump(json_pack("{s:s, s:s, s:s}", "type", "participant-left", "id", s->id, "reason", reason)));
  pub_remove_all(s); /* others drop their consumers and renegotiate */
  sub_free(s);
  for (int i = 0; i < 2; i++) {
    tp_peer_free(s->peer[i]);
    s->peer[i] = NULL;
  }
  g_ptr_array_free(s->early_cands, TRUE);
  g_hash_table_remove(app->sessions, &s->conn);
  g_free(s);
  if (r->members->len == 0) {
    g_message("room %s: closed (empty)", r->name);
    g_hash_table_remove(app->rooms, r->name);
  }
}

static void room_free(gpointer p) {
  room *r = p;
  g_ptr_array_free(r->members, TRUE);
  g_free(r);
}

sig_app *sig_app_new(const sig_app_config *cfg) {
  sig_app *app = g_new0(sig_app, 1);
  app->cfg = *cfg;
  if (!app->cfg.max_rooms) app->cfg.max_rooms = 1000;
  if (!app->cfg.max_participants_per_room) app->cfg.max_participants_per_room = 50;
  if (!app->cfg.max_publishers_per_room) app->cfg.max_publishers_per_room = 50;
  app->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, room_free);
  app->sessions = g_hash_table_new(g_int64_hash, g_int64_equal);
  app->join_buckets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  media_tick_start(app);
  return app;
}

void sig_app_set_ws(sig_app *app, sig_ws *ws) {
  app->ws = ws;
}

void sig_app_set_limits(sig_app *app, unsigned max_rooms, unsigned per_room, unsigned publishers_per_room) {
  if (max_rooms) app->cfg.max_rooms = max_rooms;
  if (per_room) app->cfg.max_participants_per_room = per_room;
  if (publishers_per_room) app->cfg.max_publishers_per_room = publishers_per_room;
}

void sig_app_drain(sig_app *app) {
  app->draining = true;
  GList *all = g_hash_table_get_values(app->sessions);
  for (GList *l = all; l; l = l->next) {
    session *s = l->data;
    uint64_t conn = s->conn;
    app_send_error(app, conn, "shutting_down", "the server is shutting down", NULL, true);
    app_remove_session(app, s, "removed");
  }
  g_list_free(all);
}

void sig_app_get_stats(sig_app *app, sig_app_stats *out) {
  memset(out, 0, sizeof *out);
  out->rooms = g_hash_table_size(app->rooms);
  out->participants = g_hash_table_size(app->sessions);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, app->sessions);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    session *s = v;
    if (s->prod[0] || s->prod[1]) out->publishers++;
    for (guint i = 0; i < s->secs->len; i++)
      if (((sub_sec *)g_ptr_array_index(s->secs, i))->cons) out->subscriptions++;
    for (int p = 0; p < 2; p++)
      if (s->peer[p]) out->srtp_in_errors += tp_peer_get_stats(s->peer[p])->srtp_in_errors;
  }
  out->joins = app->joins;
  out->leaves = app->leaves;
  out->join_errors = app->join_errors;
  out->router = app->rstats;
  out->join_latency = app->join_latency;
  out->first_packet = app->first_packet;
}

static json_t *peer_json(tp_peer *p) {
  if (!p) return json_null();
  const tp_peer_stats *st = tp_peer_get_stats(p);
  return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "state", tp_state_name(tp_peer_state(p)), "rtpIn",
                   (json_int_t)st->rtp_in, "rtpOut", (json_int_t)st->rtp_out, "bytesIn",
                   (json_int_t)st->bytes_in, "bytesOut", (json_int_t)st->bytes_out, "srtpErrors",
                   (json_int_t)st->srtp_in_errors);
}

char *sig_app_admin_rooms(sig_app *app) {
  json_t *rooms = json_array();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, app->rooms);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    room *r = v;
    json_t *ps = json_array();
    for (guint i = 0; i < r->members->len; i++) {
      session *m = g_ptr_array_index(r->members, i);
      unsigned subs = 0;
      for (guint k = 0; k < m->secs->len; k++)
        if (((sub_sec *)g_ptr_array_index(m->secs, k))->cons) subs++;
      json_t *pj = participant_json(m);
      json_object_set_new(pj, "ip", json_string(m->ip));
      json_object_set_new(pj, "subscriptions", json_integer(subs));
      json_object_set_new(pj, "pub", peer_json(m->peer[SIG_PC_PUB]));
      json_object_set_new(pj, "sub", peer_json(m->peer[SIG_PC_SUB]));
      json_array_append_new(ps, pj);
    }
    json_array_append_new(rooms, json_pack("{s:s, s:o}", "name", r->name, "participants", ps));
  }
  return dump(json_pack("{s:o}", "rooms", rooms));
}

static void kick(sig_app *app, session *s, const char *why) {
  uint64_t conn = s->conn;
  app_send_error(app, conn, "removed", why, NULL, true);
  app_remove_session(app, s, "removed");
}

int sig_app_admin_close_room(sig_app *app, const char *name) {
  room *r = g_hash_table_lookup(app->rooms, name);
  if (!r) return -ENOENT;
  g_message("room %s: closed by the admin API", r->name);
  /* The room is freed with its last member: copy the list first. */
  GPtrArray *ms = g_ptr_array_copy(r->members, NULL, NULL);
  for (guint i = 0; i < ms->len; i++)
    kick(app, g_ptr_array_index(ms, i), "the room was closed by an operator");
  g_ptr_array_free(ms, TRUE);
  return 0;
}

int sig_app_admin_remove(sig_app *app, const char *pid) {
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, app->sessions);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    session *s = v;
    if (!strcmp(s->id, pid) && !s->dead) {
      kick(app, s, "you were removed by an operator");
      return 0;
    }
  }
  return -ENOENT;
}

void sig_app_free(sig_app *app) {
  if (!app) return;
  media_tick_stop(app);
  GList *all = g_hash_table_get_values(app->sessions);
  for (GList *l = all; l; l = l->next)
    app_remove_session(app, l->data, "removed");
  g_list_free(all);
  g_hash_table_destroy(app->sessions);
  g_hash_table_destroy(app->rooms);
  g_hash_table_destroy(app->join_buckets);
  g_free(app);
}
