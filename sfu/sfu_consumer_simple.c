/* The simple consumer: forwards every packet of a one-encoding producer.
 * Video starts on a keyframe; a new input stream (the publisher's new
 * ssrc) continues the subscriber's numbering and timestamps. */
#include <glib.h>

#include "sfu_consumer.h"

/* The subscriber's stream starts at a random point (sequence numbers in
 * 1000..32767: some SRTP stacks mishandle a rollover right at the start). */
static void resync(sfu_consumer *c, const sfu_rtp_hdr *h, int64_t now_us) {
  sfu_seqmgr_sync(&c->seq, h->seq, 1, (uint16_t)g_random_int_range(1000, 32768));
  if (c->ts_started) {
    /* Timestamps advance by the time that passed (at least one frame), so
     * the receiver's jitter buffer and lip sync see real time. */
    uint32_t clock = c->src->prm.clock_rate, frame = c->src->prm.video ? clock / 30 : clock / 50;
    uint32_t el = (uint32_t)((now_us - c->last_out_us) * (int64_t)clock / 1000000);
    c->ts_off = c->last_ts_out + (el > frame ? el : frame) - h->ts;
  } else {
    c->ts_off = g_random_int() - h->ts;
  }
  c->red.started = false;
  c->resync = false;
}

static void forward(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, const sfu_rx_info *in,
                    int64_t now_us) {
  if (!sfu_consumer_active(c)) return;
  if (in->gen != c->gen) {
    c->gen = in->gen;
    c->resync = true;
    c->waiting_kf = c->src->prm.video;
  }
  if (c->waiting_kf) {
    if (!in->keyframe) {
      c->ctr->dropped_waiting_keyframe++;
      sfu_producer_request_keyframe(c->src, in->layer, now_us);
      return;
    }
    c->waiting_kf = false;
  }
  if (c->resync) resync(c, h, now_us);
  if (in->padding_only) { /* a probe: its number is not ours to keep */
    sfu_seqmgr_drop(&c->seq, h->seq);
    return;
  }
  if (c->src->prm.codecs[in->codec].codec == SFU_CODEC_RED && !c->prm.pt[in->codec]) {
    sfu_consumer_send_unwrapped(c, pkt, h, in, now_us); /* a subscriber without RED */
    return;
  }
  uint16_t seq_out;
  if (!sfu_seqmgr_out(&c->seq, h->seq, &seq_out)) return; /* from before our starting point */
  sfu_consumer_send(c, pkt, h, in, seq_out, h->ts + c->ts_off, now_us);
}

/* Resuming continues the numbering without a hole for what was skipped;
 * video mid-stream needs a fresh keyframe to decode from. */
static void on_resume(sfu_consumer *c, int64_t now_us) {
  c->resync = true;
  if (!c->src->prm.video) return;
  c->waiting_kf = true;
  sfu_producer_request_keyframe(c->src, 0, now_us);
}

static void on_keyframe_request(sfu_consumer *c, int64_t now_us) {
  c->ctr->plis_in++;
  sfu_producer_request_keyframe(c->src, 0, now_us);
}

const sfu_consumer_ops sfu_consumer_simple_ops = {
    .forward = forward,
    .on_resume = on_resume,
    .on_keyframe_request = on_keyframe_request,
};
