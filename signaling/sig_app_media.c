/* Transport peers of a session: creation, callbacks, packet dispatch and
 * the router's timers. Runs on the media thread. */
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_rtcp.h"
#include "sig_app_internal.h"

#define TICK_MS 20

/* A session's removal is deferred out of the peer's own callback. */
typedef struct {
  sig_app *app;
  uint64_t conn;
  char reason[32];
} removal;

static gboolean remove_later(gpointer p) {
  removal *r = p;
  session *s = app_find(r->app, r->conn);
  if (s) {
    app_send_error(r->app, r->conn, "transport_failed", r->reason, NULL, true);
    app_remove_session(r->app, s, r->reason);
  }
  g_free(r);
  return G_SOURCE_REMOVE;
}

/* Removal outside the peer's own callback (and outside session iteration). */
static void schedule_removal(session *s, const char *reason) {
  s->dead = true;
  removal *r = g_new0(removal, 1);
  r->app = s->app;
  r->conn = s->conn;
  snprintf(r->reason, sizeof r->reason, "%s", reason);
  GSource *src = g_idle_source_new();
  g_source_set_callback(src, remove_later, r, NULL);
  g_source_attach(src, s->app->cfg.ctx);
  g_source_unref(src);
}

static void on_state(void *ud, tp_state st, const char *why) {
  pcref *ref = ud;
  session *s = ref->s;
  const char *pcn = ref->pc == SIG_PC_PUB ? "pub" : "sub";
  if (st == TP_STATE_CONNECTED) {
    g_message("room %s: %s %s connected (%s)", s->room ? s->room->name : "-", s->id, pcn,
              tp_peer_srtp_profile(s->peer[ref->pc]) ? tp_peer_srtp_profile(s->peer[ref->pc]) : "?");
    s->connected[ref->pc] = true;
    if (ref->pc == SIG_PC_SUB) {
      sig_hist_observe(&s->app->join_latency, (double)(g_get_monotonic_time() - s->join_us) / 1e6);
      sub_update_running(s);
    } else
      for (int k = 0; k < 2; k++)
        if (s->prod[k]) sfu_producer_request_keyframe(s->prod[k], g_get_monotonic_time());
  } else if ((st == TP_STATE_FAILED || st == TP_STATE_CLOSED) && !s->dead) {
    g_message("room %s: %s %s %s: %s", s->room ? s->room->name : "-", s->id, pcn, tp_state_name(st),
              why ? why : "");
    schedule_removal(s, st == TP_STATE_CLOSED ? "disconnected" : "ice-failed");
  }
}

static sfu_producer *producer_for(session *s, const uint8_t *pkt, const sfu_rtp_hdr *h) {
  for (int k = 0; k < 2; k++)
    if (s->prod[k] && s->pub_ssrc[k] == h->ssrc) return s->prod[k];
  /* Unknown ssrc (none in the SDP, or a restarted track): the mid
   * extension says which section it belongs to. */
  if (!s->pub_ext_mid) return NULL;
  size_t len;
  const uint8_t *mid = sfu_rtp_ext_find(pkt, h, s->pub_ext_mid, &len);
  if (!mid) return NULL;
  for (int k = 0; k < 2; k++) {
    if (s->prod[k] && strlen(s->pub_mid[k]) == len && !memcmp(s->pub_mid[k], mid, len)) {
      s->pub_ssrc[k] = h->ssrc;
      return s->prod[k];
    }
  }
  return NULL;
}

static void on_rtp(void *ud, uint8_t *pkt, size_t len) {
  pcref *ref = ud;
  if (ref->pc != SIG_PC_PUB) return;
  sfu_rtp_hdr h;
  if (sfu_rtp_parse(pkt, len, &h) != 0) return;
  sfu_producer *p = producer_for(ref->s, pkt, &h);
  if (p) sfu_producer_on_rtp(p, pkt, len, &h, g_get_monotonic_time());
}

static sub_sec *sec_by_ssrc(session *s, uint32_t ssrc) {
  for (guint i = 0; i < s->secs->len; i++) {
    sub_sec *sec = g_ptr_array_index(s->secs, i);
    if (sec->cons && sec->ssrc == ssrc) return sec;
  }
  return NULL;
}

static void on_rtcp(void *ud, uint8_t *pkt, size_t len) {
  pcref *ref = ud;
  session *s = ref->s;
  int64_t now = g_get_monotonic_time();
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, pkt, len);
  while (sfu_rtcp_iter_next(&it, &item) == 1) {
    if (ref->pc == SIG_PC_PUB) {
      if (item.type != SFU_RTCP_SR) continue;
      for (int k = 0; k < 2; k++)
        if (s->prod[k] && sfu_producer_ssrc(s->prod[k]) == item.sender_ssrc)
          sfu_producer_on_sr(s->prod[k], item.ntp, item.rtp_ts, now);
      continue;
    }
    if (item.type == SFU_RTCP_NACK) {
      sub_sec *sec = sec_by_ssrc(s, item.media_ssrc);
      uint16_t seqs[128];
      size_t n = sfu_rtcp_nack_seqs(&item, seqs, 128);
      if (sec) sfu_consumer_on_nack(sec->cons, seqs, n, now);
    } else if (item.type == SFU_RTCP_PLI || item.type == SFU_RTCP_FIR) {
      sub_sec *sec = sec_by_ssrc(s, item.media_ssrc);
      if (sec) sfu_consumer_on_keyframe_request(sec->cons, now);
    }
  }
}

int media_new_peer(session *s, int pc, char *err, size_t errlen) {
  sig_app *app = s->app;
  tp_peer_config cfg = {
      .ctx = app->cfg.ctx,
      .cert = app->cfg.cert,
      .ice_controlling = pc == SIG_PC_SUB, /* we offer on sub, answer on pub */
      .dtls_client = false,
      .addrs = (const char *const *)app->cfg.ice_addrs,
      .port_min = (uint16_t)app->cfg.port_min,
      .port_max = (uint16_t)app->cfg.port_max,
      /* libnice's RFC 7675 consent (STUN, about 10 s) is what detects a
       * vanished browser. A media-silence timer would also drop a quiet
       * subscriber alone in a room, which sends no RTCP at all. */
      .consent_timeout_s = 0,
      .nat_public_ip = app->cfg.nat_public_ip,
      .ice_tcp = app->cfg.ice_tcp,
  };
  tp_peer_cbs cbs = {.on_rtp = on_rtp, .on_rtcp = on_rtcp, .on_state = on_state, .on_candidate = NULL};
  int rc = tp_peer_new(&s->peer[pc], &cfg, &cbs, &s->ref[pc], err, errlen);
  if (rc != 0) return rc;
  if (pc == SIG_PC_PUB) {
    for (guint i = 0; i < s->early_cands->len; i++)
      media_add_candidate(s, pc, g_ptr_array_index(s->early_cands, i));
    g_ptr_array_set_size(s->early_cands, 0);
  }
  return 0;
}

/* A browser has a handful of candidates; more is abuse (each one makes the
 * server send connectivity checks to an address the client chose). */
#define MAX_REMOTE_CANDS 64

void media_add_candidate(session *s, int pc, const char *cand) {
  if (!cand) return; /* end of candidates: nothing to do for a full agent */
  if (++s->ncands[pc] > MAX_REMOTE_CANDS) {
    /* Not an error for the page: a machine with many interfaces is legit. */
    if (s->ncands[pc] == MAX_REMOTE_CANDS + 1)
      g_message("room %s: %s: more than %d ICE candidates; ignoring the rest", s->room->name, s->id,
                MAX_REMOTE_CANDS);
    return;
  }
  if (!s->peer[pc]) {
    if (s->early_cands->len < 32) g_ptr_array_add(s->early_cands, strdup(cand));
    return;
  }
  char err[160];
  if (tp_peer_add_remote_candidate(s->peer[pc], cand, err, sizeof err) != 0)
    app_send_error(s->app, s->conn, "bad_message", err, "candidate", false);
}

void media_fill_local(session *s, int pc, sig_sdp_local *l, const char *setup, char ***cands_out) {
  tp_peer *p = s->peer[pc];
  *cands_out = tp_peer_local_candidates(p);
  *l = (sig_sdp_local){
      .ice_ufrag = tp_peer_ufrag(p),
      .ice_pwd = tp_peer_pwd(p),
      .fingerprint = tp_cert_fingerprint(s->app->cfg.cert),
      .setup = setup,
      .cands = (const char *const *)*cands_out,
      .session_id = s->sdp_id,
      .session_version = ++s->sdp_ver[pc],
  };
}

/* A browser that vanished (crash, lost network) without closing anything:
 * a publisher's media stops, and a subscriber we are sending to stops its
 * RTCP. Checked once a second against packet counters. A subscriber we
 * send nothing to is left to the WebSocket's ping/pong. */
static void watchdog(session *s, int64_t now) {
  int64_t limit = (int64_t)s->app->cfg.consent_timeout_s * 1000000;
  if (!limit || now < s->wd_next_us) return;
  s->wd_next_us = now + 1000000;
  for (int pc = 0; pc < 2; pc++) {
    if (!s->peer[pc]) continue;
    if (!s->connected[pc]) {
      /* A connection that never comes up (no usable candidate pair): libnice
       * may keep checking for minutes; the participant must hear about it. */
      if (s->remote_set_us[pc] && now - s->remote_set_us[pc] > limit) {
        g_message("room %s: %s %s: not connected after %u s", s->room->name, s->id,
                  pc == SIG_PC_PUB ? "pub" : "sub", s->app->cfg.consent_timeout_s);
        schedule_removal(s, "ice-failed");
        return;
      }
      continue;
    }
    const tp_peer_stats *st = tp_peer_get_stats(s->peer[pc]);
    uint64_t rx = st->rtp_in + st->rtcp_in, tx = st->rtp_out;
    if (!s->wd_rx_us[pc] || rx != s->wd_rx[pc]) {
      s->wd_rx[pc] = rx;
      s->wd_rx_us[pc] = now;
    }
    if (tx != s->wd_tx[pc]) {
      s->wd_tx[pc] = tx;
      s->wd_tx_us[pc] = now;
    }
    bool expects =
        pc == SIG_PC_PUB ? (s->prod[0] || s->prod[1]) : (s->wd_tx_us[pc] && now - s->wd_tx_us[pc] < 3000000);
    if (expects && now - s->wd_rx_us[pc] > limit) {
      g_message("room %s: %s %s: nothing received for %u s: gone", s->room->name, s->id,
                pc == SIG_PC_PUB ? "pub" : "sub", s->app->cfg.consent_timeout_s);
      schedule_removal(s, "consent-expired");
      return;
    }
  }
}

static gboolean tick(gpointer ud) {
  sig_app *app = ud;
  int64_t now = g_get_monotonic_time();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, app->sessions);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    session *s = v;
    if (s->dead) continue;
    watchdog(s, now);
    if (s->dead) continue;
    /* Tick resolution (20 ms) is plenty for a histogram in seconds. */
    if (!s->first_packet_seen && s->peer[SIG_PC_SUB] && tp_peer_get_stats(s->peer[SIG_PC_SUB])->rtp_out) {
      s->first_packet_seen = true;
      sig_hist_observe(&app->first_packet, (double)(now - s->join_us) / 1e6);
    }
    for (int k = 0; k < 2; k++)
      if (s->prod[k]) sfu_producer_tick(s->prod[k], now);
    for (guint i = 0; i < s->secs->len; i++) {
      sub_sec *sec = g_ptr_array_index(s->secs, i);
      if (sec->cons) sfu_consumer_tick(sec->cons, now);
    }
  }
  return G_SOURCE_CONTINUE;
}

void media_tick_start(sig_app *app) {
  app->tick_src = g_timeout_source_new(TICK_MS);
  g_source_set_callback(app->tick_src, tick, app, NULL);
  g_source_attach(app->tick_src, app->cfg.ctx);
}

void media_tick_stop(sig_app *app) {
  if (app->tick_src) {
    g_source_destroy(app->tick_src);
    g_source_unref(app->tick_src);
    app->tick_src = NULL;
  }
}
