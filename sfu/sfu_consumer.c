/* Consumer side of the router: one subscriber's copy of a producer. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_router_internal.h"
#include "sfu_rtcp.h"

#define SR_INTERVAL_US 1000000

sfu_consumer *sfu_consumer_new(sfu_producer *src, const sfu_consumer_params *prm, int64_t now_us) {
  sfu_consumer *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->src = src;
  c->prm = *prm;
  g_strlcpy(c->mid, prm->mid ? prm->mid : "", sizeof c->mid);
  c->prm.mid = c->mid;
  c->waiting_kf = src->prm.video;
  c->need_rebase = true;
  c->gen = src->gen;
  c->rw.ssrc = prm->ssrc;
  /* Publisher extension ids map onto the fixed ids of our subscriber offers
   * (sig_sdp.h); the mid element is rewritten, everything else dropped. */
  if (src->prm.ext_audio_level) c->rw.ext_map[src->prm.ext_audio_level] = 1;
  if (src->prm.ext_abs_send_time) c->rw.ext_map[src->prm.ext_abs_send_time] = 2;
  if (src->prm.ext_mid) c->rw.ext_map[src->prm.ext_mid] = 0;
  c->rw.mid_id = 4;
  c->rw.mid = c->mid;
  c->rw.mid_len = (uint8_t)strlen(c->mid);
  if (c->rw.mid_len == 0) c->rw.mid_id = 0;
  if (sfu_producer_attach(src, c) != 0) {
    free(c);
    return NULL;
  }
  if (src->prm.video) sfu_producer_request_keyframe(src, now_us);
  return c;
}

void sfu_consumer_free(sfu_consumer *c) {
  if (!c) return;
  if (c->src) sfu_producer_detach(c->src, c);
  free(c);
}

uint32_t sfu_consumer_ssrc(const sfu_consumer *c) {
  return c->prm.ssrc;
}

void sfu_consumer_set_paused(sfu_consumer *c, bool paused) {
  if (c->paused == paused) return;
  c->paused = paused;
  /* Resuming video mid-stream needs a fresh keyframe to decode from. */
  if (!paused && c->src && c->src->prm.video) {
    c->waiting_kf = true;
    sfu_producer_request_keyframe(c->src, g_get_monotonic_time());
  }
}

/* New starting point: continue the subscriber's numbering where it stopped
 * (or at random for a fresh stream) so its decoder sees one stream. */
static void rebase(sfu_consumer *c, const sfu_rtp_hdr *h) {
  if (c->started) {
    c->seq_off = (uint16_t)(c->last_seq_out + 1 - h->seq);
    c->ts_off = c->last_ts_out + (c->src->prm.video ? 3000 : 960) - h->ts;
  } else {
    c->seq_off = (uint16_t)(g_random_int() - h->seq);
    c->ts_off = g_random_int() - h->ts;
  }
  c->first_seq_in = h->seq;
  c->need_rebase = false;
}

static void send_copy(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, int idx, uint16_t seq_out,
                      uint32_t ts_out, uint8_t *scratch) {
  c->rw.seq = seq_out;
  c->rw.ts = ts_out;
  c->rw.pt = c->prm.pt[idx];
  size_t n = sfu_rtp_rewrite_into(pkt, h, &c->rw, scratch, SFU_SCRATCH_BYTES - TP_SRTP_TRAILER_MAX);
  if (!n) return;
  if (tp_peer_send_rtp(c->prm.sub_peer, scratch, n, SFU_SCRATCH_BYTES) == 0 && c->prm.stats) {
    c->prm.stats->rtp_out++;
    c->prm.stats->bytes_out += n;
  }
}

void sfu_consumer_forward(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, int idx, bool keyframe,
                          int64_t now_us, uint8_t *scratch) {
  if (c->paused) return;
  if (c->gen != c->src->gen) {
    c->gen = c->src->gen;
    c->need_rebase = true;
    c->waiting_kf = c->src->prm.video;
  }
  if (c->waiting_kf) {
    if (!keyframe) {
      if (c->prm.stats) c->prm.stats->dropped_waiting_keyframe++;
      sfu_producer_request_keyframe(c->src, now_us);
      return;
    }
    c->waiting_kf = false;
  }
  if (c->need_rebase) rebase(c, h);
  /* Late packets from before our starting point have no place in our numbering. */
  if ((int16_t)(h->seq - c->first_seq_in) < 0) return;
  uint16_t seq_out = (uint16_t)(h->seq + c->seq_off);
  uint32_t ts_out = h->ts + c->ts_off;
  if (!c->started || sfu_seq_newer(seq_out, c->last_seq_out)) {
    c->last_seq_out = seq_out;
    c->last_ts_out = ts_out;
    c->last_out_us = now_us;
  }
  c->started = true;
  c->packets++;
  c->octets += (uint32_t)h->payload_len;
  send_copy(c, pkt, h, idx, seq_out, ts_out, scratch);
}

void sfu_consumer_on_nack(sfu_consumer *c, const uint16_t *seqs, size_t n, int64_t now_us) {
  (void)now_us;
  sfu_producer *p = c->src;
  if (!p || !p->rtx || !c->started) return;
  for (size_t i = 0; i < n; i++) {
    if (c->prm.stats) c->prm.stats->nacks_in++;
    uint16_t orig = (uint16_t)(seqs[i] - c->seq_off);
    size_t len;
    const uint8_t *pkt = sfu_rtxbuf_get(p->rtx, orig, &len);
    sfu_rtp_hdr h;
    if (!pkt || sfu_rtp_parse(pkt, len, &h) != 0 || h.ssrc != p->ssrc) {
      if (c->prm.stats) c->prm.stats->rtx_misses++;
      continue;
    }
    int idx = (h.pt == p->prm.pt[0]) ? 0 : 1;
    send_copy(c, pkt, &h, idx, seqs[i], h.ts + c->ts_off, p->scratch);
    if (c->prm.stats) c->prm.stats->retransmits++;
  }
}

void sfu_consumer_on_keyframe_request(sfu_consumer *c, int64_t now_us) {
  if (c->prm.stats) c->prm.stats->plis_in++;
  if (c->src) sfu_producer_request_keyframe(c->src, now_us);
}

void sfu_consumer_tick(sfu_consumer *c, int64_t now_us) {
  if (!c->started || now_us < c->next_sr_us) return;
  c->next_sr_us = now_us + SR_INTERVAL_US;
  sfu_producer *p = c->src;
  uint32_t clock = p ? p->prm.clock_rate : 90000;
  uint32_t rtp;
  /* Anchor on the publisher's own SR so audio and video of one publisher
   * keep their lip-sync relation at the subscriber. */
  if (p && p->have_sr && p->gen == c->gen)
    rtp = p->sr_rtp + (uint32_t)((now_us - p->sr_local_us) * (int64_t)clock / 1000000) + c->ts_off;
  else
    rtp = c->last_ts_out + (uint32_t)((now_us - c->last_out_us) * (int64_t)clock / 1000000);
  uint64_t ntp = sfu_ntp_now();
  if (p && p->have_sr && p->gen == c->gen) {
    /* Publisher's NTP timeline advanced by the local time elapsed. */
    int64_t el = now_us - p->sr_local_us;
    ntp = p->sr_ntp + (((uint64_t)el << 32) / 1000000);
  }
  uint8_t buf[64 + TP_SRTP_TRAILER_MAX];
  size_t n =
      sfu_rtcp_build_sr(buf, sizeof buf - TP_SRTP_TRAILER_MAX, c->prm.ssrc, ntp, rtp, c->packets, c->octets);
  if (n) tp_peer_send_rtcp(c->prm.sub_peer, buf, n, sizeof buf);
}
