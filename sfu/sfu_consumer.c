/* Consumer: what every variant shares (gate, rewrite and send, NACK, SR). */
#include "sfu_consumer.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_const.h"
#include "sfu_rtcp.h"

#define SR_INTERVAL_US 1000000

extern const sfu_consumer_ops sfu_consumer_simple_ops;
extern const sfu_consumer_ops sfu_consumer_simulcast_ops;
void sfu_consumer_simulcast_init(sfu_consumer *c);

/* The publisher's extension ids map onto the fixed ids of our subscriber
 * offers (sfu_const.h); the mid element is rewritten, the rest dropped. */
static void init_rewrite(sfu_consumer *c) {
  const sfu_producer_params *pp = &c->src->prm;
  sfu_rtp_rewrite *rw = &c->rw;
  memset(rw, 0, sizeof *rw);
  rw->ssrc = c->prm.ssrc;
  if (pp->ext_audio_level < 16) rw->ext_map[pp->ext_audio_level] = SFU_EXT_AUDIO_LEVEL;
  if (pp->ext_abs_send_time < 16) rw->ext_map[pp->ext_abs_send_time] = SFU_EXT_ABS_SEND_TIME;
  rw->ext_map[0] = 0;
  rw->mid = c->prm.mid;
  rw->mid_len = (uint8_t)strnlen(c->prm.mid, sizeof c->prm.mid - 1);
  rw->mid_id = rw->mid_len ? SFU_EXT_MID : 0;
  rw->twcc_id = SFU_EXT_TRANSPORT_CC;
  rw->rtx_ssrc = c->prm.rtx_ssrc;
}

sfu_consumer *sfu_consumer_new(sfu_id id, const sfu_consumer_params *prm, sfu_producer *src, tp_peer *peer,
                               sfu_txctx *tx, sfu_counters *ctr, uint8_t *scratch) {
  sfu_consumer *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->ops = src->nst > 1 ? &sfu_consumer_simulcast_ops : &sfu_consumer_simple_ops;
  c->id = id;
  c->prm = *prm;
  c->prm.mid[sizeof c->prm.mid - 1] = 0;
  c->src = src;
  c->peer = peer;
  c->tx = tx;
  c->rtx_seq = (uint16_t)g_random_int();
  c->ctr = ctr;
  c->scratch = scratch;
  c->paused = prm->paused;
  c->waiting_kf = src->prm.video;
  c->resync = true;
  sfu_seqmgr_init(&c->seq);
  init_rewrite(c);
  if (src->nst > 1) sfu_consumer_simulcast_init(c);
  return c;
}

void sfu_consumer_free(sfu_consumer *c) {
  free(c);
}

static void gate_changed(sfu_consumer *c, bool was_active, int64_t now_us) {
  if (!was_active && sfu_consumer_active(c)) c->ops->on_resume(c, now_us);
}

void sfu_consumer_set_paused(sfu_consumer *c, bool paused, int64_t now_us) {
  bool was = sfu_consumer_active(c);
  c->paused = paused;
  gate_changed(c, was, now_us);
}

void sfu_consumer_set_bw_paused(sfu_consumer *c, bool paused, int64_t now_us) {
  bool was = sfu_consumer_active(c);
  c->bw_paused = paused;
  gate_changed(c, was, now_us);
}

void sfu_consumer_set_link(sfu_consumer *c, bool up, int64_t now_us) {
  bool was = sfu_consumer_active(c);
  c->link_up = up;
  gate_changed(c, was, now_us);
}

int sfu_consumer_codec_index(const sfu_consumer *c, sfu_codec codec) {
  for (int i = 0; i < c->src->prm.ncodecs; i++)
    if (c->src->prm.codecs[i].codec == codec) return i;
  return -1;
}

/* RED forwarded as RED: its blocks name the publisher's Opus payload type,
 * which must become the subscriber's (Firefox and Chromium differ). */
static void red_block_pts(sfu_consumer *c, uint8_t *pkt, size_t n) {
  int opus = sfu_consumer_codec_index(c, SFU_CODEC_OPUS);
  if (opus < 0 || c->src->prm.codecs[opus].pt == c->prm.pt[opus]) return;
  sfu_rtp_hdr o;
  sfu_red r;
  if (sfu_rtp_parse(pkt, n, &o) == 0 && sfu_red_parse(pkt + o.payload_off, o.payload_len, &r) == 0)
    sfu_red_set_block_pt(pkt + o.payload_off, &r, c->src->prm.codecs[opus].pt, c->prm.pt[opus]);
}

void sfu_consumer_send_unwrapped(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h,
                                 const sfu_rx_info *in, int64_t now_us) {
  int opus = sfu_consumer_codec_index(c, SFU_CODEC_OPUS);
  sfu_red r;
  if (opus < 0 || !c->prm.pt[opus] || sfu_red_parse(pkt + h->payload_off, h->payload_len, &r) != 0 ||
      r.b[r.n - 1].pt != c->src->prm.codecs[opus].pt) {
    c->ctr->dropped_unknown++;
    return;
  }
  uint8_t idx[SFU_RED_MAX_BLOCKS];
  unsigned k = sfu_red_unwrap_plan(&c->red, h->seq, &r, idx);
  sfu_rx_info op = *in;
  op.codec = (uint8_t)opus;
  for (unsigned i = 0; i < k; i++) {
    sfu_rtp_hdr v;
    uint16_t seq_out;
    sfu_red_block_view(h, &r, idx[i], &v);
    if (sfu_seqmgr_out(&c->seq, v.seq, &seq_out))
      sfu_consumer_send(c, pkt, &v, &op, seq_out, v.ts + c->ts_off, now_us);
  }
}

/* Rewrites (rw set by the caller), stamps the transport-wide number,
 * fixes the payload, encrypts and sends. */
static size_t transmit(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, uint8_t codec,
                       int64_t now_us) {
  c->rw.twcc_seq = sfu_txctx_next(c->tx);
  size_t n = sfu_rtp_rewrite_into(pkt, h, &c->rw, c->scratch, SFU_SCRATCH_BYTES - TP_SRTP_TRAILER_MAX);
  if (!n) return 0;
  if (c->ops->rewrite_payload)
    c->ops->rewrite_payload(c, codec, c->scratch + n - h->payload_len, h->payload_len);
  if (c->src->prm.codecs[codec].codec == SFU_CODEC_RED) red_block_pts(c, c->scratch, n);
  if (tp_peer_send_rtp(c->peer, c->scratch, n, SFU_SCRATCH_BYTES) != 0) return 0;
  sfu_txctx_sent(c->tx, c->rw.twcc_seq, n + TP_SRTP_TRAILER_MAX, now_us);
  /* Probes are paced with the media: padding goes out between media packets. */
  if (c->tx->bwe && c->prm.rtx_ssrc && sfu_bwe_probing(c->tx->bwe)) sfu_consumer_probe(c, now_us);
  return n;
}

void sfu_consumer_send(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, const sfu_rx_info *in,
                       uint16_t seq_out, uint32_t ts_out, int64_t now_us) {
  if (!c->ts_started || (int32_t)(ts_out - c->last_ts_out) >= 0) {
    c->last_ts_out = ts_out;
    c->last_out_us = now_us;
    c->ts_started = true;
  }
  c->packets++;
  c->octets += (uint32_t)h->payload_len;
  if (c->src->prm.video) sfu_seqmgr_sent_put(&c->seq, seq_out, h->seq, in->layer, ts_out);
  c->rw.seq = seq_out;
  c->rw.ts = ts_out;
  c->rw.pt = c->prm.pt[in->codec];
  size_t n = transmit(c, pkt, h, in->codec, now_us);
  if (n) {
    c->ctr->rtp_out++;
    c->ctr->bytes_out += n;
  }
}

static int codec_of(const sfu_producer *p, uint8_t pt) {
  for (int i = 0; i < p->prm.ncodecs; i++)
    if (p->prm.codecs[i].pt == pt) return i;
  return -1;
}

void sfu_consumer_on_nack(sfu_consumer *c, const uint16_t *seqs, size_t n, int64_t now_us) {
  if (!sfu_consumer_active(c)) return;
  for (size_t i = 0; i < n; i++) {
    c->ctr->nacks_in++;
    const sfu_seqmgr_sent *e = sfu_seqmgr_sent_get(&c->seq, seqs[i]);
    size_t len = 0;
    const uint8_t *pkt = e ? sfu_producer_history(c->src, e->layer, e->in, &len) : NULL;
    sfu_rtp_hdr h;
    int ci;
    if (!pkt || sfu_rtp_parse(pkt, len, &h) != 0 || (ci = codec_of(c->src, h.pt)) < 0) {
      c->ctr->rtx_misses++;
      continue;
    }
    /* A layer switched away from is waiting for nothing: the decoder starts
     * over at the new layer's keyframe. */
    if (c->ops == &sfu_consumer_simulcast_ops && e->layer != c->sel.current) continue;
    if (!sfu_txctx_rtx_allow(c->tx, len, now_us)) {
      c->ctr->rtx_throttled++;
      continue;
    }
    c->rw.seq = seqs[i];
    c->rw.ts = e->ts;
    c->rw.pt = c->prm.pt[ci];
    /* As RFC 4588 retransmission when negotiated: the receiver tells
     * repairs from the original stream, and its loss statistics stay right. */
    c->rw.rtx = c->prm.rtx_ssrc && c->prm.rtx_pt[ci];
    c->rw.rtx_pt = c->prm.rtx_pt[ci];
    c->rw.rtx_seq = c->rtx_seq;
    if (transmit(c, pkt, &h, (uint8_t)ci, now_us)) {
      c->ctr->retransmits++;
      if (c->rw.rtx) c->rtx_seq++;
    }
    c->rw.rtx = false;
  }
}

bool sfu_consumer_can_pad(const sfu_consumer *c) {
  /* Not the gate: a video paused for bandwidth is when probing matters most. */
  return c->prm.rtx_ssrc && c->prm.rtx_pt[0] && c->ts_started && !c->paused && c->link_up;
}

bool sfu_consumer_send_padding(sfu_consumer *c, size_t pad, int64_t now_us) {
  if (!sfu_consumer_can_pad(c)) return false;
  c->rw.rtx_pt = c->prm.rtx_pt[0];
  c->rw.rtx_seq = c->rtx_seq;
  c->rw.ts = c->last_ts_out;
  c->rw.twcc_seq = sfu_txctx_next(c->tx);
  size_t n = sfu_rtp_build_padding(&c->rw, pad, c->scratch, SFU_SCRATCH_BYTES - TP_SRTP_TRAILER_MAX);
  if (!n || tp_peer_send_rtp(c->peer, c->scratch, n, SFU_SCRATCH_BYTES) != 0) return false;
  c->rtx_seq++;
  sfu_txctx_sent_padding(c->tx, c->rw.twcc_seq, n + TP_SRTP_TRAILER_MAX, now_us);
  return true;
}

size_t sfu_consumer_probe(sfu_consumer *c, int64_t now_us) {
  size_t bytes = sfu_bwe_probe_padding(c->tx->bwe, now_us);
  while (bytes && sfu_consumer_send_padding(c, bytes > 255 ? 255 : bytes, now_us))
    bytes = bytes > 255 ? bytes - 255 : 0;
  return bytes;
}

void sfu_consumer_set_layers(sfu_consumer *c, int spatial, int temporal, int64_t now_us) {
  if (c->ops != &sfu_consumer_simulcast_ops) return;
  /* Going down: the layer being sent stops at once (the link cannot take
   * it), rather than until the lower layer's keyframe arrives. */
  if (spatial < c->sel.current) c->down_pending = true;
  c->want_spatial = (int8_t)spatial;
  c->tid_target = (uint8_t)(temporal < 0 ? 2 : temporal);
  int pli = sfu_simulcast_set_target(&c->sel, spatial, now_us);
  if (pli >= 0) sfu_producer_request_keyframe(c->src, (uint8_t)pli, now_us);
}

void sfu_consumer_tick(sfu_consumer *c, int64_t now_us) {
  if (c->ops->tick) c->ops->tick(c, now_us);
  if (!c->ts_started || now_us < c->next_sr_us || !c->link_up) return;
  c->next_sr_us = now_us + SR_INTERVAL_US;
  const sfu_recvstream *s = &c->src->st[0];
  uint32_t clock = c->src->prm.clock_rate;
  uint32_t rtp;
  uint64_t ntp;
  /* Anchored on the publisher's own SR, so audio and video of one publisher
   * keep their lip-sync relation at the subscriber. */
  if (s->have_sr && s->gen == c->gen && c->src->nst == 1) {
    int64_t el = now_us - s->sr_local_us;
    rtp = s->sr_rtp + (uint32_t)(el * (int64_t)clock / 1000000) + c->ts_off;
    ntp = s->sr_ntp + (((uint64_t)el << 32) / 1000000);
  } else {
    rtp = c->last_ts_out + (uint32_t)((now_us - c->last_out_us) * (int64_t)clock / 1000000);
    ntp = sfu_ntp_now();
  }
  uint8_t buf[64 + TP_SRTP_TRAILER_MAX];
  size_t n =
      sfu_rtcp_build_sr(buf, sizeof buf - TP_SRTP_TRAILER_MAX, c->prm.ssrc, ntp, rtp, c->packets, c->octets);
  if (n) tp_peer_send_rtcp(c->peer, buf, n, sizeof buf);
}
