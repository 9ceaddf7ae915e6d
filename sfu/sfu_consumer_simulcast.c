/* The simulcast consumer: one subscriber's copy of a producer that sends
 * several encodings. sfu_simulcast picks the layer (switching only at a
 * keyframe of the wanted one) and gives a continuous virtual sequence
 * number and timestamp; VP8 temporal layers above the wanted one are
 * dropped; the sequence-number manager closes the holes those drops leave,
 * and the VP8 munger keeps picture id, TL0PICIDX and KEYIDX continuous. */
#include <glib.h>

#include "sfu_consumer.h"

#define SR_NTP_MS(ntp) sfu_simulcast_ntp_ms(ntp)

/* A fresh selector, told the producer's last sender reports. */
static void init_selector(sfu_consumer *c) {
  sfu_simulcast_config cfg = {.clock_hz = c->src->prm.clock_rate};
  sfu_simulcast_init(&c->sel, &cfg, c->src->nst);
  for (uint8_t l = 0; l < c->src->nst && l < SFU_SIMULCAST_MAX_LAYERS; l++) {
    const sfu_recvstream *s = &c->src->st[l];
    if (s->have_sr) sfu_simulcast_on_sr(&c->sel, l, SR_NTP_MS(s->sr_ntp), s->sr_rtp);
    c->sel_gen[l] = s->gen;
  }
}

void sfu_consumer_simulcast_init(sfu_consumer *c) {
  init_selector(c);
  sfu_vp8_munger_init(&c->vp8);
  /* Until an allocator says otherwise: the best layer, every temporal layer. */
  c->want_spatial = (int8_t)(c->sel.n_layers - 1);
  c->tid_target = c->tid_cur = 2;
  sfu_simulcast_set_target(&c->sel, c->want_spatial, g_get_monotonic_time());
}

static void ask(sfu_consumer *c, int layer, int64_t now_us) {
  if (layer >= 0) sfu_producer_request_keyframe(c->src, (uint8_t)layer, now_us);
}

/* The publisher restarted an encoding (new ssrc): start over on a keyframe,
 * the output numbering continuing where it was. */
static void restart(sfu_consumer *c, int64_t now_us) {
  init_selector(c);
  sfu_vp8_munger_switch(&c->vp8);
  c->resync = true;
  ask(c, sfu_simulcast_set_target(&c->sel, c->want_spatial, now_us), now_us);
}

/* Dropped on purpose: later packets close the hole (and picture ids). */
static void drop(sfu_consumer *c, uint16_t vseq, const sfu_vp8_desc *d) {
  sfu_seqmgr_drop(&c->seq, vseq);
  if (d) sfu_vp8_munger_drop(&c->vp8, d);
}

static void send_one(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, const sfu_rx_info *in,
                     const sfu_simulcast_out *o, int64_t now_us) {
  sfu_vp8_desc d;
  bool vp8 = c->src->prm.codecs[in->codec].codec == SFU_CODEC_VP8 &&
             sfu_vp8_parse(pkt + h->payload_off, h->payload_len, &d) == 0;
  if (c->resync || !sfu_seqmgr_synced(&c->seq)) {
    sfu_seqmgr_sync(&c->seq, o->seq, 1, (uint16_t)g_random_int_range(1000, 32768));
    c->resync = false;
  }
  if (o->switched) {
    sfu_vp8_munger_switch(&c->vp8);
    c->tid_cur = c->tid_target; /* a keyframe: every temporal layer decodes from it */
    c->down_pending = false;
  } else if (c->down_pending && c->sel.current > c->sel.target) {
    drop(c, o->seq, vp8 ? &d : NULL);
    return;
  }
  if (vp8 && !sfu_vp8_temporal_filter(&c->tid_cur, c->tid_target, &d)) {
    drop(c, o->seq, &d);
    return;
  }
  uint16_t seq_out;
  if (sfu_seqmgr_out(&c->seq, o->seq, &seq_out)) sfu_consumer_send(c, pkt, h, in, seq_out, o->ts, now_us);
}

static void forward(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, const sfu_rx_info *in,
                    int64_t now_us) {
  if (!sfu_consumer_active(c) || in->layer >= SFU_SIMULCAST_MAX_LAYERS) return;
  if (in->gen != c->sel_gen[in->layer]) {
    c->sel_gen[in->layer] = in->gen;
    if ((int)in->layer == c->sel.current) restart(c, now_us);
  }
  sfu_simulcast_pkt sp = {.layer = in->layer,
                          .keyframe = in->keyframe,
                          .padding_only = in->padding_only,
                          .marker = h->marker,
                          .seq = h->seq,
                          .ts = h->ts,
                          .now_us = now_us};
  sfu_simulcast_out o;
  sfu_simulcast_packet(&c->sel, &sp, &o);
  ask(c, o.pli_layer, now_us);
  if (o.action == SFU_SIMULCAST_DROP_RECORD) {
    if (sfu_seqmgr_synced(&c->seq)) drop(c, o.seq, NULL);
  } else if (o.action == SFU_SIMULCAST_FORWARD) {
    send_one(c, pkt, h, in, &o, now_us);
  } else if (in->layer == c->sel.target && !in->keyframe) {
    c->ctr->dropped_waiting_keyframe++;
  }
}

static void rewrite_payload(sfu_consumer *c, uint8_t codec, uint8_t *payload, size_t len) {
  sfu_vp8_desc d;
  if (c->src->prm.codecs[codec].codec == SFU_CODEC_VP8 && sfu_vp8_parse(payload, len, &d) == 0)
    sfu_vp8_munger_rewrite(&c->vp8, payload, len, &d);
}

/* Resuming starts from a keyframe of the wanted layer. */
static void on_resume(sfu_consumer *c, int64_t now_us) {
  restart(c, now_us);
}

static void on_keyframe_request(sfu_consumer *c, int64_t now_us) {
  c->ctr->plis_in++;
  ask(c, c->sel.current >= 0 ? c->sel.current : c->sel.target, now_us);
}

static void on_sr(sfu_consumer *c, uint8_t layer, uint64_t ntp, uint32_t rtp_ts) {
  if (layer < SFU_SIMULCAST_MAX_LAYERS) sfu_simulcast_on_sr(&c->sel, layer, SR_NTP_MS(ntp), rtp_ts);
}

static void tick(sfu_consumer *c, int64_t now_us) {
  if (sfu_consumer_active(c)) ask(c, sfu_simulcast_poll(&c->sel, now_us), now_us);
}

const sfu_consumer_ops sfu_consumer_simulcast_ops = {
    .forward = forward,
    .on_resume = on_resume,
    .on_keyframe_request = on_keyframe_request,
    .rewrite_payload = rewrite_payload,
    .on_sr = on_sr,
    .tick = tick,
};
