/* Producer side of the router: receive bookkeeping and fan-out. */
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_router_internal.h"
#include "sfu_rtcp.h"

#define PLI_MIN_GAP_US 300000
#define RR_INTERVAL_US 1000000
#define NACK_RETRY_US 40000
/* About 2 s of 2.5 Mbit/s video: enough for a few round trips of NACKs. */
#define RTX_SLOTS 512
#define RTX_SLOT_BYTES TP_MTU

static uint32_t random_ssrc(void) {
  return g_random_int_range(1, G_MAXINT32);
}

sfu_producer *sfu_producer_new(const sfu_producer_params *prm) {
  sfu_producer *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->prm = *prm;
  p->ssrc = prm->ssrc;
  p->ssrc_known = prm->ssrc != 0;
  p->own_ssrc = random_ssrc();
  sfu_rxstats_init(&p->rx, p->ssrc, prm->clock_rate);
  sfu_nackgen_init(&p->nack);
  if (prm->video) {
    p->rtx = sfu_rtxbuf_new(RTX_SLOTS, RTX_SLOT_BYTES);
    if (!p->rtx) {
      free(p);
      return NULL;
    }
  }
  return p;
}

void sfu_producer_free(sfu_producer *p) {
  if (!p) return;
  for (size_t i = 0; i < p->ncons; i++)
    p->cons[i]->src = NULL;
  free(p->cons);
  sfu_rtxbuf_free(p->rtx);
  free(p);
}

uint32_t sfu_producer_ssrc(const sfu_producer *p) {
  return p->ssrc;
}
bool sfu_producer_is_video(const sfu_producer *p) {
  return p->prm.video;
}

int sfu_producer_attach(sfu_producer *p, sfu_consumer *c) {
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

void sfu_producer_detach(sfu_producer *p, sfu_consumer *c) {
  for (size_t i = 0; i < p->ncons; i++) {
    if (p->cons[i] == c) {
      p->cons[i] = p->cons[--p->ncons];
      return;
    }
  }
}

static void send_rtcp(sfu_producer *p, size_t len) {
  if (len && p->prm.pub_peer) tp_peer_send_rtcp(p->prm.pub_peer, p->scratch, len, sizeof p->scratch);
}

static void send_pli(sfu_producer *p, int64_t now_us) {
  p->last_pli_us = now_us;
  p->pli_pending = false;
  if (!p->ssrc_known) return;
  send_rtcp(p, sfu_rtcp_build_pli(p->scratch, sizeof p->scratch, p->own_ssrc, p->ssrc));
  if (p->prm.stats) p->prm.stats->plis_out++;
}

void sfu_producer_request_keyframe(sfu_producer *p, int64_t now_us) {
  if (!p->prm.video) return;
  if (p->last_pli_us && now_us - p->last_pli_us < PLI_MIN_GAP_US) {
    p->pli_pending = true;
    return;
  }
  send_pli(p, now_us);
}

/* A new source ssrc (publisher restarted its track): history and stats
 * belong to the old stream; consumers re-base to stay continuous. */
static void reset_source(sfu_producer *p, uint32_t ssrc) {
  p->ssrc = ssrc;
  p->ssrc_known = true;
  p->gen++;
  p->have_sr = false;
  sfu_rxstats_init(&p->rx, ssrc, p->prm.clock_rate);
  sfu_nackgen_init(&p->nack);
}

void sfu_producer_on_rtp(sfu_producer *p, const uint8_t *pkt, size_t len, const sfu_rtp_hdr *h,
                         int64_t now_us) {
  int idx;
  if (h->pt == p->prm.pt[0])
    idx = 0;
  else if (p->prm.pt[1] && h->pt == p->prm.pt[1])
    idx = 1;
  else
    return;
  if (!p->ssrc_known || h->ssrc != p->ssrc) reset_source(p, h->ssrc);
  if (p->prm.stats) {
    p->prm.stats->rtp_in++;
    p->prm.stats->bytes_in += len;
  }
  sfu_rxstats_update(&p->rx, h->seq, h->ts, now_us);
  bool kf = false;
  if (p->prm.video) {
    sfu_nackgen_on_seq(&p->nack, h->seq, now_us);
    sfu_rtxbuf_put(p->rtx, h->seq, pkt, len);
    kf = sfu_codec_is_keyframe(p->prm.codec[idx], pkt + h->payload_off, h->payload_len);
    if (kf) p->pli_pending = false;
  }
  for (size_t i = 0; i < p->ncons; i++)
    sfu_consumer_forward(p->cons[i], pkt, h, idx, kf, now_us, p->scratch);
}

void sfu_producer_on_sr(sfu_producer *p, uint64_t ntp, uint32_t rtp_ts, int64_t now_us) {
  p->have_sr = true;
  p->sr_ntp = ntp;
  p->sr_rtp = rtp_ts;
  p->sr_local_us = now_us;
  sfu_rxstats_on_sr(&p->rx, ntp, now_us);
}

void sfu_producer_tick(sfu_producer *p, int64_t now_us) {
  if (!p->ssrc_known) return;
  if (p->prm.video) {
    uint16_t seqs[64];
    size_t n = sfu_nackgen_due(&p->nack, now_us, NACK_RETRY_US, seqs, 64);
    if (n) {
      send_rtcp(p, sfu_rtcp_build_nack(p->scratch, sizeof p->scratch, p->own_ssrc, p->ssrc, seqs, n));
      if (p->prm.stats) p->prm.stats->nacks_out++;
    }
    if (p->pli_pending && now_us - p->last_pli_us >= PLI_MIN_GAP_US) send_pli(p, now_us);
  }
  if (now_us >= p->next_rr_us && p->rx.started) {
    p->next_rr_us = now_us + RR_INTERVAL_US;
    sfu_rtcp_report_block rb;
    sfu_rxstats_report(&p->rx, now_us, &rb);
    send_rtcp(p, sfu_rtcp_build_rr(p->scratch, sizeof p->scratch, p->own_ssrc, &rb, 1));
    if (p->prm.video && p->prm.remb_bps)
      send_rtcp(
          p, sfu_rtcp_build_remb(p->scratch, sizeof p->scratch, p->own_ssrc, p->prm.remb_bps, &p->ssrc, 1));
  }
}

uint64_t sfu_ntp_now(void) {
  /* NTP epoch is 1900; real time, since receivers compare with their clocks. */
  int64_t us = g_get_real_time();
  uint64_t sec = (uint64_t)(us / 1000000) + 2208988800ULL;
  uint64_t frac = ((uint64_t)(us % 1000000) << 32) / 1000000;
  return (sec << 32) | frac;
}
