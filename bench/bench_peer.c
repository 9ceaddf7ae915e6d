/* bench_peer: one simulated participant. Signaling over a WebSocket (our
 * protocol here, Janus's in bench_janus.c), a "sub" transport where the
 * server offers and we answer (ICE controlled, DTLS client, a=setup:active),
 * and, for publishers, a "pub" transport where we offer (ICE controlling,
 * DTLS client) and send the clip. Both are the project's own tp_peer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "sfu_rtcp.h"
#include "sfu_rtp.h"

#define JOIN_TIMEOUT_US 15000000
#define RTCP_INTERVAL_US 1000000
#define PC_SUB 0
#define PC_PUB 1

typedef struct {
  bench_peer *p;
  int pc;
} pcref;

static void log_problem(bench_peer *p, const char *fmt, const char *a, const char *b) {
  bench_run *r = p->run;
  if (r->verbose || r->errors_logged < 10) {
    fprintf(stderr, "sfu-bench: %s (%s): ", p->name, p->room->name);
    fprintf(stderr, fmt, a, b ? b : "");
    fputc('\n', stderr);
  }
  r->errors_logged++;
}

void bench_peer_send_json(bench_peer *p, json_t *j) {
  char *txt = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (txt && p->ws) bench_ws_send(p->ws, txt);
  free(txt);
}

static void stop_sending(bench_peer *p) {
  if (p->sending) {
    p->sending = false;
    p->room->sending--;
  }
}

void bench_peer_fail(bench_peer *p, const char *why) {
  if (p->state == BP_FAILED || p->state == BP_GONE) return;
  g_strlcpy(p->fail_why, why, sizeof p->fail_why);
  if (p->state == BP_UP)
    p->run->drops++;
  else
    p->run->joins_failed++;
  p->state = BP_FAILED;
  stop_sending(p);
  log_problem(p, "failed: %s%s", why, NULL);
}

/* ---- transports ---- */

static void maybe_up(bench_peer *p, int64_t now) {
  if (p->state != BP_JOINING) return;
  bool publishes = p->pub_audio || p->pub_video;
  /* Our server gives everyone a sub connection at join; Janus only when
   * there is a feed to subscribe to, so a lone Janus publisher is up once
   * its pub connection is. */
  bool need_sub = !p->run->janus || !publishes || p->jhandle_sub || p->njpending || p->jsub_attaching;
  if ((need_sub && !p->sub_up) || (publishes && !p->pub_up)) return;
  p->state = BP_UP;
  p->t_up = now;
  p->run->joins_ok++;
}

static void on_state(void *ud, tp_state st, const char *why) {
  pcref *ref = ud;
  bench_peer *p = ref->p;
  int64_t now = g_get_monotonic_time();
  if (st == TP_STATE_CONNECTED) {
    if (ref->pc == PC_SUB) {
      p->sub_up = true;
      p->t_sub_up = now;
      if (p->run->batch_recv) bench_rx_add(p);
    } else {
      p->pub_up = true;
      if (!p->sending && p->state == BP_JOINING) {
        p->sending = true;
        p->room->sending++;
        /* Start each publisher at a random phase so frames don't all collide. */
        for (int k = 0; k < 2; k++)
          p->snd[k].next_us = now + g_random_int_range(0, 33000);
        bench_sim_schedule(p, now, true);
      }
    }
    maybe_up(p, now);
  } else if (st == TP_STATE_FAILED || st == TP_STATE_CLOSED) {
    char w[160];
    int64_t last = p->last_rx_us[ref->pc];
    snprintf(w, sizeof w, "%s transport %s: %s (last media/RTCP in %.1f s ago, %.1f s after joining)",
             ref->pc == PC_SUB ? "sub" : "pub", tp_state_name(st), why ? why : "",
             last ? (double)(now - last) / 1e6 : -1.0, (double)(now - p->t_start) / 1e6);
    bench_peer_fail(p, w);
  }
}

static bench_rstream *stream_by_ssrc(bench_peer *p, uint32_t ssrc) {
  for (guint i = 0; i < p->streams->len; i++) {
    bench_rstream *s = g_ptr_array_index(p->streams, i);
    if (s->ssrc == ssrc) return s;
  }
  return NULL;
}

static void on_sub_rtp(bench_peer *p, uint8_t *pkt, size_t len) {
  if (len < 12) return;
  int64_t now = g_get_monotonic_time();
  if (p->cc && !bench_cc_on_rtp(p->cc, pkt, len, now)) return; /* the simulated link dropped it */
  bench_rstream *s = stream_by_ssrc(p, sfu_rd32(pkt + 8));
  if (!s) return;
  if (!p->t_video && s->video) p->t_video = now;
  if (!p->got_media) {
    p->got_media = true;
    p->t_media = now;
    if (p->media_at_join && p->t_open) {
      double ms = (double)(now - p->t_open) / 1000.0;
      g_array_append_val(p->run->join_ms, ms);
    }
  }
  bench_rstream_on_rtp(s, pkt, len, now, &p->run->c, p->run->measuring ? &p->run->delay : NULL);
}

static void on_rtp(void *ud, uint8_t *pkt, size_t len) {
  pcref *ref = ud;
  ref->p->last_rx_us[ref->pc] = g_get_monotonic_time();
  if (ref->pc == PC_SUB) on_sub_rtp(ref->p, pkt, len);
}

static bench_sender *sender_by_ssrc(bench_peer *p, uint32_t ssrc) {
  for (int k = 0; k < 2; k++)
    if (p->snd_init && p->snd[k].ssrc == ssrc) return &p->snd[k];
  return bench_sim_by_ssrc(p, ssrc);
}

static void on_rtcp(void *ud, uint8_t *pkt, size_t len) {
  pcref *ref = ud;
  bench_peer *p = ref->p;
  int64_t now = g_get_monotonic_time();
  p->last_rx_us[ref->pc] = now;
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, pkt, len);
  while (sfu_rtcp_iter_next(&it, &item) == 1) {
    if (ref->pc == PC_SUB) {
      if (item.type == SFU_RTCP_SR) {
        bench_rstream *s = stream_by_ssrc(p, item.sender_ssrc);
        if (s) sfu_rxstats_on_sr(&s->rx, item.ntp, now);
      }
      continue;
    }
    bench_sender *snd = sender_by_ssrc(p, item.media_ssrc);
    if (!snd) continue;
    if (item.type == SFU_RTCP_NACK) {
      uint16_t seqs[256];
      size_t n = sfu_rtcp_nack_seqs(&item, seqs, 256);
      if (p->pub) bench_sender_on_nack(snd, p->pub, seqs, n, &p->run->c);
    } else if (item.type == SFU_RTCP_PLI || item.type == SFU_RTCP_FIR) {
      bench_sender_on_pli(snd, &p->run->c);
    }
  }
}

/* An ICE-lite server (a=ice-lite at session level) leaves the controlling
 * role to us on both connections, as a browser takes it. */
static bool sdp_ice_lite(const char *sdp) {
  return strncmp(sdp, "a=ice-lite", 10) == 0 || strstr(sdp, "\na=ice-lite") != NULL;
}

static int ensure_peer(bench_peer *p, int pc, pcref *ref, bool controlling, char *err, size_t errlen) {
  tp_peer **slot = pc == PC_SUB ? &p->sub : &p->pub;
  if (*slot) return 0;
  char name[48];
  snprintf(name, sizeof name, "%s/%s", p->name, pc == PC_SUB ? "sub" : "pub");
  tp_peer_config cfg = {
      .ctx = p->run->ctx,
      .cert = p->run->cert,
      .ice_controlling = controlling, /* we offer on pub; on sub, when the server is lite */
      .dtls_client = true,
      .addrs = p->run->local_addrs,
      .log_name = name,
  };
  tp_peer_cbs cbs = {.on_rtp = on_rtp, .on_rtcp = on_rtcp, .on_state = on_state};
  p->run->new_sockets = true;
  return tp_peer_new(slot, &cfg, &cbs, ref, err, errlen);
}

static void add_candidates(bench_peer *p, tp_peer *tp, const sig_sdp *d) {
  char err[160];
  for (unsigned i = 0; i < d->nmedia; i++)
    for (unsigned c = 0; c < d->media[i].ncand; c++)
      if (bench_sdp_cand_allowed(d->media[i].cand[c], p->run->allow_addrs) &&
          tp_peer_add_remote_candidate(tp, d->media[i].cand[c], err, sizeof err) != 0)
        log_problem(p, "candidate refused: %s%s", err, NULL);
  tp_peer_remote_candidates_done(tp);
}

static int set_remote(bench_peer *p, tp_peer *tp, const sig_sdp *d, char *err, size_t errlen) {
  const sig_sdp_media *t = NULL;
  for (unsigned i = 0; i < d->nmedia && !t; i++)
    if (d->media[i].port && d->media[i].ice_ufrag[0] && d->media[i].fingerprint[0]) t = &d->media[i];
  if (!t) {
    snprintf(err, errlen, "SDP without ICE credentials or fingerprint");
    return -EINVAL;
  }
  int rc = tp_peer_set_remote(tp, t->ice_ufrag, t->ice_pwd, t->fingerprint, err, errlen);
  if (rc == 0) add_candidates(p, tp, d);
  return rc;
}

static void local_of(bench_peer *p, tp_peer *tp, bench_sdp_local *l) {
  *l = (bench_sdp_local){
      .ufrag = tp_peer_ufrag(tp),
      .pwd = tp_peer_pwd(tp),
      .fingerprint = tp_cert_fingerprint(p->run->cert),
      .cands = tp_peer_local_candidates(tp),
      .session_id = ((uint64_t)g_random_int() << 20) ^ p->idx,
  };
}

/* pcrefs live in the participant itself (two of them after the struct). */
typedef struct {
  bench_peer p;
  pcref ref[2];
} peer_box;

int bench_peer_on_sub_offer(bench_peer *p, const char *sdp, char **answer_out) {
  char err[256];
  *answer_out = NULL;
  sig_sdp *o = sig_sdp_new();
  if (!o) return -ENOMEM;
  int rc = sig_sdp_parse(sdp, strlen(sdp), o, err, sizeof err);
  if (rc == 0) rc = ensure_peer(p, PC_SUB, &((peer_box *)p)->ref[PC_SUB], sdp_ice_lite(sdp), err, sizeof err);
  if (rc != 0) {
    log_problem(p, "sub offer: %s%s", err, NULL);
    free(o);
    return rc;
  }
  if (p->cc) bench_cc_on_offer(p->cc, o);
  for (unsigned i = 0; i < o->nmedia; i++) {
    const sig_sdp_media *m = &o->media[i];
    bench_rstream *s = NULL;
    for (guint k = 0; k < p->streams->len && !s; k++) {
      bench_rstream *x = g_ptr_array_index(p->streams, k);
      if (!strcmp(x->mid, m->mid)) s = x;
    }
    if (!s) {
      s = g_new0(bench_rstream, 1);
      bench_rstream_init(s, m);
      g_ptr_array_add(p->streams, s);
    } else {
      s->active = m->port != 0 && m->dir != SIG_DIR_INACTIVE && m->dir != SIG_DIR_RECVONLY;
    }
  }
  bench_sdp_local l;
  local_of(p, p->sub, &l);
  *answer_out = bench_sdp_sub_answer(&l, o);
  g_strfreev(l.cands);
  if (!p->sub_remote_set) {
    if (set_remote(p, p->sub, o, err, sizeof err) != 0) {
      log_problem(p, "sub remote: %s%s", err, NULL);
      free(o);
      g_free(*answer_out);
      *answer_out = NULL;
      return -EINVAL;
    }
    p->sub_remote_set = true;
  }
  free(o);
  return 0;
}

int bench_peer_make_pub_offer(bench_peer *p, char **offer_out) {
  char err[256];
  *offer_out = NULL;
  if (ensure_peer(p, PC_PUB, &((peer_box *)p)->ref[PC_PUB], true, err, sizeof err) != 0) {
    log_problem(p, "pub transport: %s%s", err, NULL);
    return -EIO;
  }
  if (!p->snd_init) {
    int64_t now = g_get_monotonic_time();
    bench_sender_init(&p->snd[0], false, "0", g_random_int_range(1, G_MAXINT32), now);
    bench_sender_init(&p->snd[1], true, "1", g_random_int_range(1, G_MAXINT32), now);
    p->snd[0].stamp = p->snd[1].stamp = p->run->stamp;
    p->snd_init = true;
    bench_sim_init(p, now);
  }
  bench_sdp_local l;
  local_of(p, p->pub, &l);
  if (bench_sim_on(p)) l.rids = bench_sim_rids;
  /* Janus answers an actpass offer with setup:active (it takes the DTLS
   * client role); our transport is DTLS client on both connections, so
   * towards Janus the offer says active. Our server answers passive. */
  if (p->run->janus) l.setup = "active";
  char stream[80];
  snprintf(stream, sizeof stream, "bench-%s", p->name);
  *offer_out =
      bench_sdp_pub_offer(&l, p->pub_audio ? &p->snd[0] : NULL, p->pub_video ? &p->snd[1] : NULL, stream);
  g_strfreev(l.cands);
  return 0;
}

int bench_peer_on_pub_answer(bench_peer *p, const char *sdp) {
  char err[256];
  if (!p->pub || p->pub_remote_set) return 0;
  sig_sdp *a = sig_sdp_new();
  if (!a) return -ENOMEM;
  int rc = sig_sdp_parse(sdp, strlen(sdp), a, err, sizeof err);
  if (rc == 0) rc = set_remote(p, p->pub, a, err, sizeof err);
  if (rc != 0)
    log_problem(p, "pub answer: %s%s", err, NULL);
  else
    p->pub_remote_set = true;
  free(a);
  return rc;
}

/* ---- our signaling protocol (docs/protocol.md) ---- */

static void sfu_on_open(bench_peer *p) {
  char room[80];
  snprintf(room, sizeof room, "%s", p->room->name);
  bench_peer_send_json(p, json_pack("{s:s, s:s, s:s}", "type", "join", "room", room, "name", p->name));
}

static void sfu_on_message(bench_peer *p, json_t *m) {
  const char *type = json_string_value(json_object_get(m, "type"));
  const char *pc = json_string_value(json_object_get(m, "pc"));
  const char *sdp = json_string_value(json_object_get(m, "sdp"));
  if (!type) return;
  if (!strcmp(type, "joined")) {
    p->t_joined = g_get_monotonic_time();
    const char *id = json_string_value(json_object_get(m, "id"));
    g_strlcpy(p->id, id ? id : "", sizeof p->id);
    if (p->pub_audio || p->pub_video) {
      char *offer = NULL;
      if (bench_peer_make_pub_offer(p, &offer) != 0) {
        bench_peer_fail(p, "cannot make the publish offer");
        return;
      }
      bench_peer_send_json(p, json_pack("{s:s, s:s}", "type", "publish", "sdp", offer));
      g_free(offer);
    }
  } else if (!strcmp(type, "offer") && pc && !strcmp(pc, "sub") && sdp) {
    if (!p->t_sub_offer) p->t_sub_offer = g_get_monotonic_time();
    char *answer = NULL;
    if (bench_peer_on_sub_offer(p, sdp, &answer) != 0) {
      bench_peer_fail(p, "cannot answer the sub offer");
      return;
    }
    bench_peer_send_json(p, json_pack("{s:s, s:s, s:s}", "type", "answer", "pc", "sub", "sdp", answer));
    g_free(answer);
  } else if (!strcmp(type, "answer") && pc && !strcmp(pc, "pub") && sdp) {
    if (bench_peer_on_pub_answer(p, sdp) != 0) bench_peer_fail(p, "bad publish answer");
  } else if (!strcmp(type, "error")) {
    const char *code = json_string_value(json_object_get(m, "code"));
    const char *msg = json_string_value(json_object_get(m, "message"));
    char w[200];
    snprintf(w, sizeof w, "server error %s: %s", code ? code : "?", msg ? msg : "");
    if (p->state == BP_JOINING)
      bench_peer_fail(p, w);
    else
      log_problem(p, "%s%s", w, NULL);
  }
}

void bench_peer_timeline(bench_peer *p) {
  if (!p->media_at_join || !p->t_open || !p->t_media) return;
  int64_t ice = p->sub ? tp_peer_get_times(p->sub)->ice_up : 0;
  int64_t at[BENCH_TL_N] = {p->t_joined, p->t_sub_offer, ice, p->t_sub_up, p->t_media, p->t_video};
  double ms[BENCH_TL_N];
  for (int i = 0; i < BENCH_TL_N; i++)
    ms[i] = at[i] ? (double)(at[i] - p->t_open) / 1000.0 : -1.0;
  g_array_append_vals(p->run->join_tl, ms, 1);
}

/* ---- WebSocket callbacks ---- */

static void ws_open(void *ud) {
  bench_peer *p = ud;
  p->t_open = g_get_monotonic_time();
  p->media_at_join = p->room->sending > 0;
  if (p->run->janus)
    bench_janus_on_open(p);
  else
    sfu_on_open(p);
}

static void ws_message(void *ud, const char *txt, size_t len) {
  bench_peer *p = ud;
  if (p->state == BP_GONE) return;
  json_error_t je;
  json_t *m = json_loadb(txt, len, 0, &je);
  if (!m) return;
  if (p->run->janus)
    bench_janus_on_message(p, m);
  else
    sfu_on_message(p, m);
  json_decref(m);
}

static void ws_close(void *ud, const char *why) {
  bench_peer *p = ud;
  p->ws = NULL;
  char w[160];
  snprintf(w, sizeof w, "WebSocket: %s", why ? why : "closed");
  bench_peer_fail(p, w);
}

/* ---- lifetime ---- */

bench_peer *bench_peer_new(bench_run *run, bench_room *room, unsigned idx, bool pub_audio, bool pub_video) {
  peer_box *box = g_new0(peer_box, 1);
  bench_peer *p = &box->p;
  box->ref[PC_SUB] = (pcref){p, PC_SUB};
  box->ref[PC_PUB] = (pcref){p, PC_PUB};
  p->run = run;
  p->room = room;
  p->idx = idx;
  p->pub_audio = pub_audio;
  p->pub_video = pub_video;
  snprintf(p->name, sizeof p->name, "%s%u", pub_audio || pub_video ? "pub" : "sub", idx);
  p->streams = g_ptr_array_new_with_free_func(g_free);
  p->rx_fd = -1;
  p->rtcp_ssrc = g_random_int_range(1, G_MAXINT32);
  g_ptr_array_add(room->members, p);
  return p;
}

void bench_peer_start(bench_peer *p, int64_t now_us) {
  static const bench_ws_cbs cbs = {ws_open, ws_message, ws_close};
  p->t_start = now_us;
  p->state = BP_JOINING;
  p->run->joins_attempted++;
  p->ws = bench_ws_connect(p->run->url, p->run->janus ? "janus-protocol" : NULL, &cbs, p);
  if (!p->ws) bench_peer_fail(p, "WebSocket connect failed");
}

static void send_rtcp(tp_peer *tp, uint8_t *buf, size_t len, size_t cap) {
  if (len) tp_peer_send_rtcp(tp, buf, len, cap);
}

static void sub_rtcp(bench_peer *p, int64_t now) {
  uint8_t buf[1200 + TP_SRTP_TRAILER_MAX];
  const size_t cap = 1200;
  for (guint i = 0; i < p->streams->len; i++) {
    bench_rstream *s = g_ptr_array_index(p->streams, i);
    if (!s->started) continue;
    uint16_t seqs[64];
    size_t n = bench_rstream_nacks(s, now, seqs, 64);
    if (n) {
      p->run->c.sub_nacks_out++;
      send_rtcp(p->sub, buf, sfu_rtcp_build_nack(buf, cap, p->rtcp_ssrc, s->ssrc, seqs, n), sizeof buf);
    }
    if (bench_rstream_wants_pli(s, now)) {
      p->run->c.sub_plis_out++;
      send_rtcp(p->sub, buf, sfu_rtcp_build_pli(buf, cap, p->rtcp_ssrc, s->ssrc), sizeof buf);
    }
  }
  if (now < p->next_rr_us) return;
  p->next_rr_us = now + RTCP_INTERVAL_US;
  /* Receiver reports, 31 blocks each, as one compound. */
  sfu_rtcp_report_block rb[31];
  size_t nb = 0, len = 0;
  for (guint i = 0; i <= p->streams->len; i++) {
    bench_rstream *s = i < p->streams->len ? g_ptr_array_index(p->streams, i) : NULL;
    if (s && s->started) sfu_rxstats_report(&s->rx, now, &rb[nb++]);
    if ((nb == 31 || !s) && (nb || len == 0)) {
      size_t w = sfu_rtcp_build_rr(buf + len, cap - len, p->rtcp_ssrc, rb, nb);
      if (!w) break;
      len += w;
      nb = 0;
    }
    if (!s) break;
  }
  send_rtcp(p->sub, buf, len, sizeof buf);
}

static void pub_rtcp(bench_peer *p, int64_t now) {
  if (now < p->next_sr_us) return;
  p->next_sr_us = now + RTCP_INTERVAL_US;
  uint8_t buf[256 + TP_SRTP_TRAILER_MAX];
  size_t len = 0;
  for (int k = 0; k < 2; k++)
    if (k == 0 ? p->pub_audio : p->pub_video && !p->sim_init)
      len += bench_sender_sr(&p->snd[k], buf + len, 256 - len, now);
  len += bench_sim_srs(p, buf + len, 256 - len, now);
  send_rtcp(p->pub, buf, len, sizeof buf);
}

void bench_peer_tick(bench_peer *p, int64_t now, bool media_on) {
  if (p->state == BP_JOINING && now - p->t_start > JOIN_TIMEOUT_US) {
    char w[160];
    snprintf(w, sizeof w, "join timed out (15 s): WebSocket %s, id %s, sub %s, pub %s",
             p->t_open ? "open" : "not open", p->id[0] ? p->id : "-",
             p->sub ? tp_state_name(tp_peer_state(p->sub)) : "-",
             p->pub ? tp_state_name(tp_peer_state(p->pub)) : "-");
    bench_peer_fail(p, w);
    return;
  }
  if (p->state != BP_UP && p->state != BP_JOINING) return;
  if (p->sending && media_on) {
    if (p->pub_audio) bench_sender_run(&p->snd[0], &p->run->clip, p->pub, now, &p->run->c);
    if (p->pub_video && !p->sim_init) bench_sender_run(&p->snd[1], &p->run->clip, p->pub, now, &p->run->c);
    bench_sim_run(p, now);
    pub_rtcp(p, now);
  } else if (p->sending) {
    /* Paused media: keep the schedule current so a resume doesn't burst. */
    for (int k = 0; k < 2; k++)
      p->snd[k].next_us = now;
    bench_sim_schedule(p, now, false);
  }
  if (p->sub_up) sub_rtcp(p, now);
  if (p->cc) bench_cc_tick(p->cc, p->sub_up ? p->sub : NULL, p->rtcp_ssrc, now);
  if (p->run->janus) bench_janus_tick(p, now);
}

void bench_peer_leave(bench_peer *p) {
  if (p->state == BP_GONE) return;
  stop_sending(p);
  if (p->ws) {
    if (p->run->janus)
      bench_janus_leave(p);
    else
      bench_peer_send_json(p, json_pack("{s:s}", "type", "leave"));
    bench_ws_close(p->ws);
    p->ws = NULL;
  }
  /* The transports stay until bench_peer_free: closing them now would
   * send DTLS close_notify ahead of the leave message. */
  p->state = BP_GONE;
}

void bench_peer_free(bench_peer *p) {
  if (!p) return;
  bench_peer_leave(p);
  bench_rx_remove(p);
  tp_peer_free(p->sub);
  tp_peer_free(p->pub);
  p->sub = p->pub = NULL;
  if (p->snd_init)
    for (int k = 0; k < 2; k++)
      bench_sender_free(&p->snd[k]);
  bench_sim_free(p);
  bench_cc_free(p->cc);
  g_ptr_array_free(p->streams, TRUE);
  g_free((peer_box *)p);
}
