/* Router: a room's transports, the fan-out, and the per-packet dispatch. */
#define G_LOG_DOMAIN "router"
#include "sfu_router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_allocator.h"
#include "sfu_datachan.h"
#include "sfu_rtcp.h"

static void emit(sfu_router *r, sfu_event_type type, sfu_id t, sfu_failure f, const char *why) {
  sfu_event ev = {.type = type, .router = r->id, .transport = t, .failure = f};
  if (why) g_strlcpy(ev.why, why, sizeof ev.why);
  r->env->emit(r->env->emit_ud, &ev);
}

/* ---- fan-out ---- */

static int link_consumer(sfu_producer *p, sfu_consumer *c) {
  if (p->ncons == p->capcons) {
    size_t cap = p->capcons ? p->capcons * 2 : 8;
    sfu_consumer **n = realloc(p->cons, cap * sizeof *n);
    if (!n) return -ENOMEM;
    p->cons = n;
    p->capcons = cap;
  }
  p->cons[p->ncons++] = c;
  return 0;
}

static void unlink_consumer(sfu_producer *p, sfu_consumer *c) {
  for (size_t i = 0; i < p->ncons; i++)
    if (p->cons[i] == c) {
      p->cons[i] = p->cons[--p->ncons];
      return;
    }
}

/* ---- packets ---- */

static void on_rtp(void *ud, uint8_t *pkt, size_t len) {
  sfu_transport *t = ud;
  sfu_env *e = t->router->env;
  sfu_rtp_hdr h;
  uint8_t layer;
  bool rtx;
  sfu_producer *p;
  int64_t now = g_get_monotonic_time();
  if (sfu_rtp_parse(pkt, len, &h) != 0 || !(p = sfu_listener_find(&t->lis, pkt, &h, &layer, &rtx))) {
    e->ctr.dropped_unknown++;
    return;
  }
  sfu_transport_note_arrival(t, pkt, &h, now);
  if (rtx) { /* padding (probes) ends here; repairs go on as the packet they repair */
    len = sfu_producer_unwrap_rtx(p, layer, pkt, &h, e->scratch_rx, SFU_SCRATCH_BYTES);
    if (!len || sfu_rtp_parse(e->scratch_rx, len, &h) != 0) return;
    pkt = e->scratch_rx;
  }
  sfu_rx_info in;
  if (!sfu_producer_receive(p, layer, pkt, len, &h, now, &in)) {
    e->ctr.dropped_unknown++;
    return;
  }
  if (p->spk_slot >= 0) {
    size_t el = 0;
    const uint8_t *e = sfu_rtp_ext_find(pkt, &h, p->prm.ext_audio_level, &el);
    if (e)
      sfu_speaker_level(t->router->spk, p->spk_slot, sfu_speaker_ext_level(e, el), (uint64_t)(now / 1000));
  }
  for (size_t i = 0; i < p->ncons; i++)
    p->cons[i]->ops->forward(p->cons[i], pkt, &h, &in, now);
}

static void on_sr(sfu_transport *t, const sfu_rtcp_item *it, int64_t now) {
  for (guint i = 0; i < t->producers->len; i++)
    if (sfu_producer_on_sr(g_ptr_array_index(t->producers, i), it->sender_ssrc, it->ntp, it->rtp_ts, now))
      return;
}

static void on_feedback(sfu_transport *t, const sfu_rtcp_item *it, int64_t now) {
  sfu_consumer *c = sfu_transport_consumer_by_ssrc(t, it->media_ssrc);
  if (!c) return;
  if (it->type == SFU_RTCP_NACK) {
    uint16_t seqs[128];
    sfu_consumer_on_nack(c, seqs, sfu_rtcp_nack_seqs(it, seqs, 128), now);
  } else {
    c->ops->on_keyframe_request(c, now);
  }
}

static void on_rtcp(void *ud, uint8_t *pkt, size_t len) {
  sfu_transport *t = ud;
  int64_t now = g_get_monotonic_time();
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, pkt, len);
  sfu_env *e = t->router->env;
  while (sfu_rtcp_iter_next(&it, &item) == 1) {
    if (item.type == SFU_RTCP_SR)
      on_sr(t, &item, now);
    else if (item.type == SFU_RTCP_NACK || item.type == SFU_RTCP_PLI || item.type == SFU_RTCP_FIR)
      on_feedback(t, &item, now);
    else if (item.pt == 205 && item.fmt == 15 && t->consumers->len)
      sfu_allocator_on_feedback(t, &item, e->fb_scratch, SFU_TWCC_BUILD_MAX, now, &e->bad_feedback);
    else if (item.type == SFU_RTCP_REMB && t->consumers->len)
      sfu_allocator_on_remb(t, item.remb_bps);
  }
}

static void set_link(sfu_transport *t, bool up) {
  int64_t now = g_get_monotonic_time();
  t->connected = up;
  for (guint i = 0; i < t->consumers->len; i++)
    sfu_consumer_set_link(g_ptr_array_index(t->consumers, i), up, now);
}

static sfu_failure failure_of(tp_failure f) {
  return f == TP_FAIL_ICE ? SFU_FAIL_ICE : f == TP_FAIL_CONSENT ? SFU_FAIL_CONSENT : SFU_FAIL_DTLS;
}

static void on_state(void *ud, tp_state st, const char *why) {
  sfu_transport *t = ud;
  if (st == TP_STATE_CONNECTED) {
    set_link(t, true);
    /* A publisher's first frames went out before we could decrypt them. */
    int64_t now = g_get_monotonic_time();
    for (guint i = 0; i < t->producers->len; i++)
      sfu_producer_request_keyframe(g_ptr_array_index(t->producers, i), 0, now);
    emit(t->router, SFU_EV_TRANSPORT_CONNECTED, t->id, SFU_FAIL_NONE, tp_peer_srtp_profile(t->peer));
    sfu_datachan_on_connected(t->dc);
  } else if (st == TP_STATE_FAILED || st == TP_STATE_CLOSED) {
    set_link(t, false);
    t->failed = true;
    if (st == TP_STATE_CLOSED)
      emit(t->router, SFU_EV_TRANSPORT_CLOSED, t->id, SFU_FAIL_NONE, why);
    else
      emit(t->router, SFU_EV_TRANSPORT_FAILED, t->id, failure_of(tp_peer_failure(t->peer)), why);
  }
}

/* ---- objects ---- */

sfu_router *sfu_router_new(sfu_id id, sfu_env *env) {
  sfu_router *r = g_new0(sfu_router, 1);
  r->id = id;
  r->env = env;
  r->transports = g_ptr_array_new();
  return r;
}

void sfu_router_free(sfu_router *r) {
  if (!r) return;
  while (r->transports->len)
    sfu_router_close_transport(g_ptr_array_index(r->transports, r->transports->len - 1));
  g_ptr_array_free(r->transports, TRUE);
  sfu_speaker_free(r->spk);
  g_free(r);
}

int sfu_router_add_transport(sfu_router *r, sfu_id id, const sfu_transport_params *prm,
                             sfu_transport_local *out, char *err, size_t errlen) {
  sfu_env *e = r->env;
  if (g_hash_table_contains(e->transports, GUINT_TO_POINTER(id))) {
    snprintf(err, errlen, "transport %u exists", id);
    return -EEXIST;
  }
  tp_peer_config pc = {
      .ctx = e->ctx,
      .cert = e->cert,
      .ice_controlling = prm->ice_controlling,
      .dtls_client = false,
      .addrs = (const char *const *)e->ice_addrs,
      .port_min = (uint16_t)e->port_min,
      .port_max = (uint16_t)e->port_max,
      .consent_timeout_s = 0, /* the router's watchdog: it knows who should be heard */
      .nat_public_ip = e->nat_public_ip,
      .ice_tcp = e->ice_tcp,
      .sender = e->sender,
      .ice_lite = e->ice_lite,
      .log_name = prm->log_name[0] ? prm->log_name : NULL,
  };
  tp_peer_cbs cbs = {.on_rtp = on_rtp, .on_rtcp = on_rtcp, .on_state = on_state};
  sfu_transport *t;
  int rc = sfu_transport_new(&t, id, r, &pc, &cbs, err, errlen);
  if (rc != 0) return rc;
  g_ptr_array_add(r->transports, t);
  g_hash_table_insert(e->transports, GUINT_TO_POINTER(id), t);
  g_strlcpy(out->ufrag, tp_peer_ufrag(t->peer), sizeof out->ufrag);
  g_strlcpy(out->pwd, tp_peer_pwd(t->peer), sizeof out->pwd);
  out->cands = tp_peer_local_candidates(t->peer);
  out->ice_lite = e->ice_lite;
  return 0;
}

void sfu_router_connect_transport(sfu_transport *t, const char *ufrag, const char *pwd, const char *fp) {
  char err[160];
  if (tp_peer_set_remote(t->peer, ufrag, pwd, fp, err, sizeof err) != 0) {
    t->failed = true;
    emit(t->router, SFU_EV_TRANSPORT_FAILED, t->id, SFU_FAIL_ICE, err);
    return;
  }
  t->remote_set_us = g_get_monotonic_time();
}

int sfu_router_transport_ice(sfu_transport *t, const char *ufrag, const char *pwd, sfu_transport_local *out,
                             char *err, size_t errlen) {
  int rc = ufrag ? tp_peer_set_remote_ice(t->peer, ufrag, pwd, err, errlen)
                 : tp_peer_restart_ice(t->peer, err, errlen);
  if (rc < 0 || (ufrag && rc == 0)) return rc;
  g_strlcpy(out->ufrag, tp_peer_ufrag(t->peer), sizeof out->ufrag);
  g_strlcpy(out->pwd, tp_peer_pwd(t->peer), sizeof out->pwd);
  return rc;
}

void sfu_router_start_datachannel(sfu_transport *t, uint16_t remote_port, uint32_t remote_max) {
  if (!t->dc) t->dc = sfu_datachan_new(t, remote_port, remote_max);
}

void sfu_router_add_candidate(sfu_transport *t, const char *cand) {
  char err[160];
  if (!cand)
    tp_peer_remote_candidates_done(t->peer);
  else if (tp_peer_add_remote_candidate(t->peer, cand, err, sizeof err) != 0)
    emit(t->router, SFU_EV_CANDIDATE_ERROR, t->id, SFU_FAIL_NONE, err);
}

void sfu_router_close_consumer(sfu_consumer *c) {
  sfu_env *e = c->owner->router->env;
  unlink_consumer(c->src, c);
  g_hash_table_remove(e->consumers, GUINT_TO_POINTER(c->id));
  sfu_transport_remove_consumer(c->owner, c);
}

void sfu_router_close_producer(sfu_producer *p) {
  sfu_env *e = p->owner->router->env;
  while (p->ncons)
    sfu_router_close_consumer(p->cons[p->ncons - 1]);
  g_hash_table_remove(e->producers, GUINT_TO_POINTER(p->id));
  if (p->spk_slot >= 0) sfu_speaker_remove(p->owner->router->spk, p->spk_slot);
  sfu_transport_remove_producer(p->owner, p);
}

void sfu_router_close_transport(sfu_transport *t) {
  sfu_router *r = t->router;
  while (t->producers->len)
    sfu_router_close_producer(g_ptr_array_index(t->producers, t->producers->len - 1));
  while (t->consumers->len)
    sfu_router_close_consumer(g_ptr_array_index(t->consumers, t->consumers->len - 1));
  r->env->srtp_errors_closed += tp_peer_get_stats(t->peer)->srtp_in_errors;
  g_hash_table_remove(r->env->transports, GUINT_TO_POINTER(t->id));
  g_ptr_array_remove_fast(r->transports, t);
  sfu_transport_free(t);
}

/* ---- speakers ---- */

#define SPEAKERS_MAX 256 /* microphones one room's detection follows */

static void observe_speaker(sfu_router *r, sfu_producer *p) {
  if (!p->prm.speaker || p->prm.video || !p->prm.ext_audio_level) return;
  if (!r->spk && !(r->spk = sfu_speaker_new(SPEAKERS_MAX))) return;
  int slot = sfu_speaker_add(r->spk, p->prm.speaker, (uint64_t)(g_get_monotonic_time() / 1000));
  if (slot >= 0) p->spk_slot = slot;
}

static void tick_speakers(sfu_router *r, int64_t now) {
  if (!r->spk || now < r->spk_next_us) return;
  r->spk_next_us = now + SFU_SPEAKER_INTERVAL_MS * 1000;
  /* Any transport of the room: the control plane finds the room from it. */
  sfu_id any = r->transports->len ? ((sfu_transport *)g_ptr_array_index(r->transports, 0))->id : 0;
  sfu_event ev = {.type = SFU_EV_SPEAKER, .router = r->id, .transport = any};
  if (sfu_speaker_tick(r->spk, (uint64_t)(now / 1000), &ev.speaker)) r->env->emit(r->env->emit_ud, &ev);
}

void sfu_router_produce(sfu_transport *t, sfu_id id, const sfu_producer_params *prm) {
  sfu_env *e = t->router->env;
  if (g_hash_table_contains(e->producers, GUINT_TO_POINTER(id))) return;
  sfu_producer *p = sfu_producer_new(id, prm, t->peer, &e->ctr, e->scratch_rtcp);
  if (!p) {
    g_warning("router %u: producer %u refused (bad parameters or out of memory)", t->router->id, id);
    return;
  }
  p->owner = t;
  p->spk_slot = -1;
  if (sfu_transport_add_producer(t, p) != 0) {
    g_warning("router %u: producer %u: too many producers on transport %u", t->router->id, id, t->id);
    sfu_producer_free(p);
    return;
  }
  g_hash_table_insert(e->producers, GUINT_TO_POINTER(id), p);
  p->layers_on = (uint8_t)((1u << p->nst) - 1); /* the publisher starts with every encoding on */
  if (t->connected) sfu_producer_request_keyframe(p, 0, g_get_monotonic_time());
  observe_speaker(t->router, p);
}

void sfu_router_consume(sfu_transport *t, sfu_id id, const sfu_consumer_params *prm) {
  sfu_env *e = t->router->env;
  sfu_producer *p = g_hash_table_lookup(e->producers, GUINT_TO_POINTER(prm->producer));
  if (!p || p->owner->router != t->router || g_hash_table_contains(e->consumers, GUINT_TO_POINTER(id)))
    return;
  sfu_consumer *c = sfu_consumer_new(id, prm, p, t->peer, &t->tx, &e->ctr, e->scratch_rtp);
  if (!c) return;
  c->owner = t;
  if (link_consumer(p, c) != 0) {
    sfu_consumer_free(c);
    return;
  }
  if (sfu_transport_add_consumer(t, c) != 0) {
    g_warning("router %u: consumer %u: ssrc %u already used on transport %u", t->router->id, id, prm->ssrc,
              t->id);
    unlink_consumer(p, c);
    sfu_consumer_free(c);
    return;
  }
  g_hash_table_insert(e->consumers, GUINT_TO_POINTER(id), c);
  t->alloc_dirty = true;
}

void sfu_router_set_consumer_paused(sfu_consumer *c, bool paused) {
  sfu_consumer_set_paused(c, paused, g_get_monotonic_time());
  c->owner->alloc_dirty = true;
}

void sfu_router_set_viewport(sfu_consumer *c, unsigned width, unsigned height, bool visible) {
  c->vp_w = (uint16_t)MIN(width, 16384u);
  c->vp_h = (uint16_t)MIN(height, 16384u);
  c->vp_hidden = !visible;
  c->owner->alloc_dirty = true;
}

static void on_paused(void *ud, sfu_consumer *c, bool paused) {
  sfu_router *r = ud;
  sfu_event ev = {.type = SFU_EV_CONSUMER_PAUSED,
                  .router = r->id,
                  .transport = c->owner->id,
                  .consumer = c->id,
                  .paused = paused};
  r->env->emit(r->env->emit_ud, &ev);
}

/* Layers above the best any visible viewport needs are switched off at the
 * publisher after UNWANTED_US, and on again at once; the lowest stays on
 * (a joiner or a starved link needs it at once). */
#define UNWANTED_US 5000000
#define DEMAND_PERIOD_US 500000

static void producer_demand(sfu_router *r, sfu_producer *p, int64_t now_us) {
  if (p->nst < 2 || now_us < p->next_demand_us) return;
  p->next_demand_us = now_us + DEMAND_PERIOD_US;
  int top = MAX(sfu_allocator_wanted_layer(p), 0);
  uint8_t on = p->layers_on;
  for (uint8_t s = 0; s < p->nst; s++) {
    if (s <= top) {
      p->unwanted_since_us[s] = 0;
      on |= (uint8_t)(1u << s);
    } else if (!p->unwanted_since_us[s]) {
      p->unwanted_since_us[s] = now_us;
    } else if (now_us - p->unwanted_since_us[s] >= UNWANTED_US) {
      on &= (uint8_t) ~(1u << s);
    }
  }
  if (on == p->layers_on) return;
  p->layers_on = on;
  sfu_event ev = {.type = SFU_EV_PRODUCER_LAYERS,
                  .router = r->id,
                  .transport = p->owner->id,
                  .producer = p->id,
                  .layers = on};
  r->env->emit(r->env->emit_ud, &ev);
}

static void tick_transport(sfu_router *r, sfu_transport *t, int64_t now) {
  if (t->failed) return; /* the control plane is closing it */
  sfu_failure f = sfu_transport_watchdog(t, now, r->env->consent_limit_us);
  if (f != SFU_FAIL_NONE) {
    t->failed = true;
    set_link(t, false);
    emit(r, SFU_EV_TRANSPORT_FAILED, t->id, f,
         f == SFU_FAIL_ICE ? "not connected in time" : "nothing received");
    return;
  }
  if (!t->first_media && tp_peer_get_stats(t->peer)->rtp_out) {
    t->first_media = true;
    emit(r, SFU_EV_TRANSPORT_FIRST_MEDIA, t->id, SFU_FAIL_NONE, NULL);
  }
  for (guint i = 0; i < t->producers->len; i++) {
    sfu_producer_tick(g_ptr_array_index(t->producers, i), now);
    producer_demand(r, g_ptr_array_index(t->producers, i), now);
  }
  sfu_transport_send_feedback(t, r->env->scratch_rtcp, now);
  if (t->consumers->len) sfu_allocator_tick(t, now, on_paused, r);
  for (guint i = 0; i < t->consumers->len; i++)
    sfu_consumer_tick(g_ptr_array_index(t->consumers, i), now);
}

void sfu_router_tick(sfu_router *r, int64_t now_us) {
  for (guint i = 0; i < r->transports->len; i++)
    tick_transport(r, g_ptr_array_index(r->transports, i), now_us);
  tick_speakers(r, now_us);
}
