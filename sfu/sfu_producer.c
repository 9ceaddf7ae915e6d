/* Producer: receive bookkeeping per encoding and RTCP toward the publisher. */
#include "sfu_producer.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_rtcp.h"
#include "sfu_vp8.h"

#define PLI_MIN_GAP_US 300000
#define RR_INTERVAL_US 1000000
#define NACK_RETRY_US 40000
/* About 2 s of 2.5 Mbit/s video: enough for a few round trips of NACKs. */
#define RTX_SLOTS 512
#define RTX_SLOT_BYTES TP_MTU
/* Room for the RTCP packets built here, plus the SRTCP trailer. */
#define RTCP_CAP 1200

static uint32_t random_ssrc(void) {
  return (uint32_t)g_random_int_range(1, G_MAXINT32);
}

static void stream_reset(sfu_producer *p, sfu_recvstream *s, uint32_t ssrc) {
  s->ssrc = ssrc;
  s->ssrc_known = ssrc != 0;
  s->gen++;
  s->have_sr = false;
  sfu_rxstats_init(&s->rx, ssrc, p->prm.clock_rate);
  sfu_nackgen_init(&s->nack);
}

sfu_producer *sfu_producer_new(sfu_id id, const sfu_producer_params *prm, tp_peer *peer, sfu_counters *ctr,
                               uint8_t *scratch) {
  if (prm->ncodecs < 1 || prm->ncodecs > 2 || prm->nenc < 1 || prm->nenc > SFU_MAX_ENCODINGS) return NULL;
  sfu_producer *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->id = id;
  p->prm = *prm;
  if (!p->prm.clock_rate) p->prm.clock_rate = prm->video ? 90000 : 48000;
  p->peer = peer;
  p->ctr = ctr;
  p->scratch = scratch;
  p->own_ssrc = random_ssrc();
  p->nst = prm->nenc;
  for (uint8_t i = 0; i < p->nst; i++) {
    sfu_recvstream *s = &p->st[i];
    g_strlcpy(s->rid, prm->enc[i].rid, sizeof s->rid);
    stream_reset(p, s, prm->enc[i].ssrc);
    if (prm->video && !(s->rtx = sfu_rtxbuf_new(RTX_SLOTS, RTX_SLOT_BYTES))) {
      sfu_producer_free(p);
      return NULL;
    }
  }
  return p;
}

void sfu_producer_free(sfu_producer *p) {
  if (!p) return;
  for (uint8_t i = 0; i < SFU_MAX_ENCODINGS; i++)
    sfu_rtxbuf_free(p->st[i].rtx);
  free(p->cons);
  free(p);
}

static void send_rtcp(sfu_producer *p, size_t len) {
  if (len) tp_peer_send_rtcp(p->peer, p->scratch, len, RTCP_CAP + TP_SRTP_TRAILER_MAX);
}

static void send_pli(sfu_producer *p, sfu_recvstream *s, int64_t now_us) {
  s->last_pli_us = now_us;
  s->pli_pending = false;
  if (!s->ssrc_known) return;
  send_rtcp(p, sfu_rtcp_build_pli(p->scratch, RTCP_CAP, p->own_ssrc, s->ssrc));
  p->ctr->plis_out++;
}

void sfu_producer_request_keyframe(sfu_producer *p, uint8_t layer, int64_t now_us) {
  if (!p->prm.video || layer >= p->nst) return;
  sfu_recvstream *s = &p->st[layer];
  if (s->last_pli_us && now_us - s->last_pli_us < PLI_MIN_GAP_US) {
    s->pli_pending = true;
    return;
  }
  send_pli(p, s, now_us);
}

static int codec_index(const sfu_producer *p, uint8_t pt) {
  for (int i = 0; i < p->prm.ncodecs; i++)
    if (p->prm.codecs[i].pt == pt) return i;
  return -1;
}

/* Keyframe, size and temporal layer of a video payload. */
static void inspect_video(sfu_producer *p, sfu_recvstream *s, int ci, const uint8_t *pl, size_t n,
                          sfu_rx_info *in) {
  sfu_vp8_desc d;
  if (p->prm.codecs[ci].codec == SFU_CODEC_VP8 && sfu_vp8_parse(pl, n, &d) == 0) {
    in->keyframe = d.keyframe;
    in->tid = d.has_tid ? (int8_t)(d.tid > 2 ? 2 : d.tid) : -1;
    in->layer_sync = d.y;
    if (d.keyframe && d.width) s->width = d.width, s->height = d.height;
  } else {
    in->keyframe = sfu_codec_is_keyframe(p->prm.codecs[ci].codec, pl, n);
  }
  if (in->keyframe) s->pli_pending = false;
}

bool sfu_producer_receive(sfu_producer *p, uint8_t layer, const uint8_t *pkt, size_t len,
                          const sfu_rtp_hdr *h, int64_t now_us, sfu_rx_info *out) {
  int ci = codec_index(p, h->pt);
  if (ci < 0 || layer >= p->nst) return false;
  sfu_recvstream *s = &p->st[layer];
  /* A new ssrc (the publisher restarted its track): history and statistics
   * belong to the old stream; consumers re-sync to stay continuous. */
  if (!s->ssrc_known || h->ssrc != s->ssrc) stream_reset(p, s, h->ssrc);
  p->ctr->rtp_in++;
  p->ctr->bytes_in += len;
  s->last_rtp_us = now_us;
  sfu_rxstats_update(&s->rx, h->seq, h->ts, now_us);
  *out = (sfu_rx_info){
      .layer = layer, .codec = (uint8_t)ci, .tid = -1, .gen = s->gen, .padding_only = h->payload_len == 0};
  if (p->prm.video) {
    sfu_nackgen_on_seq(&s->nack, h->seq, now_us);
    if (!out->padding_only) {
      sfu_rtxbuf_put(s->rtx, h->seq, pkt, len);
      inspect_video(p, s, ci, pkt + h->payload_off, h->payload_len, out);
    }
  }
  s->bytes[out->tid > 0 ? out->tid : 0] += h->payload_len;
  return true;
}

size_t sfu_producer_unwrap_rtx(const sfu_producer *p, uint8_t layer, const uint8_t *pkt, const sfu_rtp_hdr *h,
                               uint8_t *out, size_t cap) {
  int ci = -1;
  for (int i = 0; i < p->prm.ncodecs && ci < 0; i++)
    if (p->prm.codecs[i].rtx_pt && p->prm.codecs[i].rtx_pt == h->pt) ci = i;
  if (ci < 0 || layer >= p->nst || !p->st[layer].ssrc_known || h->payload_len < 2) return 0;
  size_t hdr = h->payload_off, n = h->payload_len - 2;
  if (hdr + n > cap) return 0;
  memcpy(out, pkt, hdr);
  out[0] &= (uint8_t)~0x20; /* padding dropped */
  out[1] = (uint8_t)((pkt[1] & 0x80) | p->prm.codecs[ci].pt);
  sfu_wr16(out + 2, sfu_rd16(pkt + hdr)); /* the original sequence number */
  sfu_wr32(out + 8, p->st[layer].ssrc);
  memcpy(out + hdr, pkt + hdr + 2, n);
  return hdr + n;
}

int sfu_producer_on_sr(sfu_producer *p, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts, int64_t now_us) {
  for (uint8_t i = 0; i < p->nst; i++) {
    sfu_recvstream *s = &p->st[i];
    if (!s->ssrc_known || s->ssrc != ssrc) continue;
    s->have_sr = true;
    s->sr_ntp = ntp;
    s->sr_rtp = rtp_ts;
    s->sr_local_us = now_us;
    sfu_rxstats_on_sr(&s->rx, ntp, now_us);
    return i;
  }
  return -1;
}

const uint8_t *sfu_producer_history(const sfu_producer *p, uint8_t layer, uint16_t seq, size_t *len) {
  if (layer >= p->nst || !p->st[layer].rtx) return NULL;
  return sfu_rtxbuf_get(p->st[layer].rtx, seq, len);
}

static void tick_stream(sfu_producer *p, sfu_recvstream *s, int64_t now_us) {
  if (!s->ssrc_known) return;
  if (p->prm.video) {
    uint16_t seqs[64];
    size_t n = sfu_nackgen_due(&s->nack, now_us, NACK_RETRY_US, seqs, 64);
    if (n) {
      send_rtcp(p, sfu_rtcp_build_nack(p->scratch, RTCP_CAP, p->own_ssrc, s->ssrc, seqs, n));
      p->ctr->nacks_out++;
    }
    if (s->pli_pending && now_us - s->last_pli_us >= PLI_MIN_GAP_US) send_pli(p, s, now_us);
  }
  if (now_us < s->next_rr_us || !s->rx.started) return;
  s->next_rr_us = now_us + RR_INTERVAL_US;
  sfu_rtcp_report_block rb;
  sfu_rxstats_report(&s->rx, now_us, &rb);
  send_rtcp(p, sfu_rtcp_build_rr(p->scratch, RTCP_CAP, p->own_ssrc, &rb, 1));
  if (p->prm.video && p->prm.remb_bps)
    send_rtcp(p, sfu_rtcp_build_remb(p->scratch, RTCP_CAP, p->own_ssrc, p->prm.remb_bps, &s->ssrc, 1));
}

/* Rates over windows of at least half a second, averaged with the window
 * before (a frame is bursty at low rates). A stream silent for a window
 * keeps its rate until STOPPED_US without packets: a publisher whose CPU
 * stalls its encoder for a moment has not stopped the layer, and a rate of
 * 0 would make every subscriber's allocator drop it. */
#define STOPPED_US 1500000
static void measure(sfu_recvstream *s, int64_t now_us) {
  int64_t el = now_us - s->win_start_us;
  if (el < 500000) return;
  bool stopped = !s->last_rtp_us || now_us - s->last_rtp_us > STOPPED_US;
  uint64_t cum = 0;
  for (int t = 0; t < 3; t++) {
    cum += s->bytes[t] - s->win_bytes[t];
    s->win_bytes[t] = s->bytes[t];
    uint32_t r = s->win_start_us ? (uint32_t)(cum * 8 * 1000000 / (uint64_t)el) : 0;
    if (stopped)
      s->bps[t] = 0;
    else if (r)
      s->bps[t] = s->bps[t] ? (uint32_t)(((uint64_t)s->bps[t] + r) / 2) : r;
  }
  s->win_start_us = now_us;
}

void sfu_producer_tick(sfu_producer *p, int64_t now_us) {
  for (uint8_t i = 0; i < p->nst; i++) {
    tick_stream(p, &p->st[i], now_us);
    measure(&p->st[i], now_us);
  }
}

uint64_t sfu_ntp_now(void) {
  /* NTP epoch is 1900; real time, since receivers compare with their clocks. */
  int64_t us = g_get_real_time();
  uint64_t sec = (uint64_t)(us / 1000000) + 2208988800ULL;
  uint64_t frac = ((uint64_t)(us % 1000000) << 32) / 1000000;
  return (sec << 32) | frac;
}
