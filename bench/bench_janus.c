/* bench_janus: the same simulated participant against Janus VideoRoom, over
 * Janus's WebSocket API (subprotocol janus-protocol). Facts of the API used:
 * "create" makes a session, "attach" a plugin handle; VideoRoom requests go
 * in "message" bodies ("create" a room, "join" as publisher or subscriber,
 * "publish" with an offer, "subscribe" for more feeds, "start" with the
 * subscriber's answer); events arrive with the handle as "sender";
 * "keepalive" keeps the session; "destroy" ends it.
 * Each participant joins its room as a publisher (that is how it hears of
 * feeds, even if it never publishes) on one handle and subscribes to every
 * other feed on a second handle (multistream: one peer connection). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define KEEPALIVE_US 20000000

static void jsend(bench_peer *p, json_t *msg, const char *tx) {
  json_object_set_new(msg, "transaction", json_string(tx));
  if (p->jsession) json_object_set_new(msg, "session_id", json_integer((json_int_t)p->jsession));
  bench_peer_send_json(p, msg);
}

static void jmessage(bench_peer *p, uint64_t handle, json_t *body, json_t *jsep, const char *tx) {
  json_t *m = json_pack("{s:s, s:I, s:o}", "janus", "message", "handle_id", (json_int_t)handle, "body", body);
  if (jsep) json_object_set_new(m, "jsep", jsep);
  jsend(p, m, tx);
}

static unsigned room_id(bench_peer *p) {
  return p->run->janus_room + p->room->index;
}

void bench_janus_on_open(bench_peer *p) {
  p->jnext_keepalive_us = g_get_monotonic_time() + KEEPALIVE_US;
  jsend(p, json_pack("{s:s}", "janus", "create"), "create");
}

static void trickle_done(bench_peer *p, uint64_t handle) {
  json_t *m = json_pack("{s:s, s:I, s:{s:b}}", "janus", "trickle", "handle_id", (json_int_t)handle,
                        "candidate", "completed", 1);
  jsend(p, m, "trickle");
}

/* Feeds to subscribe to: one batch in flight at a time. */
static void want_feeds(bench_peer *p, json_t *pubs) {
  size_t i;
  json_t *e;
  json_array_foreach(pubs, i, e) {
    json_t *id = json_object_get(e, "id");
    if (!json_is_integer(id)) continue;
    char s[32];
    snprintf(s, sizeof s, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    if (!strcmp(s, p->id)) continue;
    bool known = false;
    for (unsigned k = 0; k < p->njfeeds && !known; k++)
      known = !strcmp(p->jfeeds[k], s);
    for (unsigned k = 0; k < p->njpending && !known; k++)
      known = !strcmp(p->jpending[k], s);
    if (!known && p->njpending < G_N_ELEMENTS(p->jpending)) g_strlcpy(p->jpending[p->njpending++], s, 32);
  }
}

static void flush_feeds(bench_peer *p) {
  if (!p->njpending || p->jsub_busy) return;
  if (!p->jhandle_sub) {
    if (!p->jsub_attaching) {
      p->jsub_attaching = true;
      jsend(p, json_pack("{s:s, s:s}", "janus", "attach", "plugin", "janus.plugin.videoroom"), "attach-sub");
    }
    return;
  }
  json_t *streams = json_array();
  for (unsigned k = 0; k < p->njpending; k++) {
    json_array_append_new(streams,
                          json_pack("{s:I}", "feed", (json_int_t)g_ascii_strtoll(p->jpending[k], NULL, 10)));
    if (p->njfeeds < G_N_ELEMENTS(p->jfeeds)) g_strlcpy(p->jfeeds[p->njfeeds++], p->jpending[k], 32);
  }
  p->njpending = 0;
  p->jsub_busy = true;
  if (!p->jsub_joined) {
    p->jsub_joined = true;
    jmessage(p, p->jhandle_sub,
             json_pack("{s:s, s:s, s:i, s:o}", "request", "join", "ptype", "subscriber", "room", room_id(p),
                       "streams", streams),
             NULL, "sub-join");
  } else {
    jmessage(p, p->jhandle_sub, json_pack("{s:s, s:o}", "request", "subscribe", "streams", streams), NULL,
             "sub-update");
  }
}

static void on_sub_offer(bench_peer *p, json_t *data, const char *sdp) {
  char *answer = NULL;
  if (bench_peer_on_sub_offer(p, sdp, &answer) != 0) {
    bench_peer_fail(p, "cannot answer the Janus subscriber offer");
    return;
  }
  /* mid -> publisher feed, from the event's stream list. */
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(data, "streams"), i, e) {
    const char *mid = json_string_value(json_object_get(e, "mid"));
    json_t *feed = json_object_get(e, "feed_id");
    if (!mid || !json_is_integer(feed)) continue;
    for (guint k = 0; k < p->streams->len; k++) {
      bench_rstream *s = g_ptr_array_index(p->streams, k);
      if (!strcmp(s->mid, mid))
        snprintf(s->pub_id, sizeof s->pub_id, "%" JSON_INTEGER_FORMAT, json_integer_value(feed));
    }
  }
  jmessage(p, p->jhandle_sub, json_pack("{s:s}", "request", "start"),
           json_pack("{s:s, s:s}", "type", "answer", "sdp", answer), "start");
  g_free(answer);
  if (!p->jsub_trickled) {
    p->jsub_trickled = true;
    trickle_done(p, p->jhandle_sub);
  }
}

static void publish(bench_peer *p) {
  char *offer = NULL;
  if (bench_peer_make_pub_offer(p, &offer) != 0) {
    bench_peer_fail(p, "cannot make the publish offer");
    return;
  }
  jmessage(p, p->jhandle_pub,
           json_pack("{s:s, s:b, s:b}", "request", "publish", "audio", p->pub_audio, "video", p->pub_video),
           json_pack("{s:s, s:s}", "type", "offer", "sdp", offer), "publish");
  g_free(offer);
  trickle_done(p, p->jhandle_pub);
}

static void on_plugin_event(bench_peer *p, uint64_t sender, json_t *data, json_t *jsep, const char *tx) {
  const char *vr = json_string_value(json_object_get(data, "videoroom"));
  const char *jsdp = jsep ? json_string_value(json_object_get(jsep, "sdp")) : NULL;
  const char *jtype = jsep ? json_string_value(json_object_get(jsep, "type")) : NULL;
  if (tx && !strcmp(tx, "room-create")) { /* created, or 427 "already exists": join either way */
    jmessage(p, p->jhandle_pub,
             json_pack("{s:s, s:s, s:i, s:s}", "request", "join", "ptype", "publisher", "room", room_id(p),
                       "display", p->name),
             NULL, "join");
    return;
  }
  json_t *err = json_object_get(data, "error");
  if (err) {
    char w[200];
    snprintf(w, sizeof w, "Janus error %" JSON_INTEGER_FORMAT ": %s",
             json_integer_value(json_object_get(data, "error_code")), json_string_value(err));
    bench_peer_fail(p, w);
    return;
  }
  if (sender == p->jhandle_pub) {
    if (vr && !strcmp(vr, "joined")) {
      snprintf(p->id, sizeof p->id, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(data, "id")));
      if (p->pub_audio || p->pub_video) publish(p);
    }
    json_t *pubs = json_object_get(data, "publishers");
    if (json_is_array(pubs)) want_feeds(p, pubs);
    if (jsdp && jtype && !strcmp(jtype, "answer") && bench_peer_on_pub_answer(p, jsdp) != 0)
      bench_peer_fail(p, "bad Janus publish answer");
  } else if (sender == p->jhandle_sub) {
    if (jsdp && jtype && !strcmp(jtype, "offer")) on_sub_offer(p, data, jsdp);
    if (vr && (!strcmp(vr, "event") && json_object_get(data, "started"))) p->jsub_busy = false;
  }
  flush_feeds(p);
}

void bench_janus_on_message(bench_peer *p, json_t *m) {
  const char *j = json_string_value(json_object_get(m, "janus"));
  const char *tx = json_string_value(json_object_get(m, "transaction"));
  if (!j) return;
  uint64_t sender = (uint64_t)json_integer_value(json_object_get(m, "sender"));
  if (!strcmp(j, "success") && tx) {
    json_t *data = json_object_get(m, "data");
    uint64_t id = (uint64_t)json_integer_value(json_object_get(data, "id"));
    if (!strcmp(tx, "create")) {
      p->jsession = id;
      jsend(p, json_pack("{s:s, s:s}", "janus", "attach", "plugin", "janus.plugin.videoroom"), "attach-pub");
    } else if (!strcmp(tx, "attach-pub")) {
      p->jhandle_pub = id;
      jmessage(p, id,
               json_pack("{s:s, s:i, s:i, s:s, s:s, s:b, s:i}", "request", "create", "room", room_id(p),
                         "publishers", 1000, "audiocodec", "opus", "videocodec", "vp8", "notify_joining", 0,
                         "bitrate", 0),
               NULL, "room-create");
    } else if (!strcmp(tx, "attach-sub")) {
      p->jhandle_sub = id;
      p->jsub_attaching = false;
      flush_feeds(p);
    } else {
      json_t *pd = json_object_get(m, "plugindata");
      if (pd) on_plugin_event(p, sender ? sender : p->jhandle_pub, json_object_get(pd, "data"), NULL, tx);
    }
  } else if (!strcmp(j, "event")) {
    json_t *pd = json_object_get(m, "plugindata");
    if (pd) on_plugin_event(p, sender, json_object_get(pd, "data"), json_object_get(m, "jsep"), tx);
  } else if (!strcmp(j, "trickle")) {
    json_t *c = json_object_get(m, "candidate");
    const char *cand = json_string_value(json_object_get(c, "candidate"));
    tp_peer *tp = sender == p->jhandle_sub ? p->sub : p->pub;
    char err[160];
    if (cand && tp && bench_sdp_cand_allowed(cand, p->run->allow_addrs))
      tp_peer_add_remote_candidate(tp, cand, err, sizeof err);
  } else if (!strcmp(j, "hangup")) {
    const char *why = json_string_value(json_object_get(m, "reason"));
    char w[160];
    snprintf(w, sizeof w, "Janus hangup: %s", why ? why : "?");
    bench_peer_fail(p, w);
  } else if (!strcmp(j, "error")) {
    const char *why = json_string_value(json_object_get(json_object_get(m, "error"), "reason"));
    char w[200];
    snprintf(w, sizeof w, "Janus error: %s", why ? why : "?");
    bench_peer_fail(p, w);
  }
}

void bench_janus_tick(bench_peer *p, int64_t now_us) {
  if (!p->jsession || now_us < p->jnext_keepalive_us) return;
  p->jnext_keepalive_us = now_us + KEEPALIVE_US;
  jsend(p, json_pack("{s:s}", "janus", "keepalive"), "keepalive");
}

void bench_janus_leave(bench_peer *p) {
  if (p->jsession) jsend(p, json_pack("{s:s}", "janus", "destroy"), "destroy");
}
