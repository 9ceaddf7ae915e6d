/* bench_recv: one stream a simulated subscriber receives. Checks sequence
 * continuity (gaps, recoveries by retransmission, duplicates), feeds the
 * receiver-report statistics and the NACK generator of sfu/, and measures
 * one-way delay from the publisher's abs-send-time. */
#include <string.h>

#include "bench.h"
#include "sfu_rtp.h"

#define NACK_RETRY_US 30000
#define PLI_AFTER_US 500000
#define PLI_GAP_US 1000000

void bench_rstream_init(bench_rstream *s, const sig_sdp_media *m) {
  memset(s, 0, sizeof *s);
  g_strlcpy(s->mid, m->mid, sizeof s->mid);
  g_strlcpy(s->pub_id, m->msid_stream, sizeof s->pub_id);
  s->video = !strcmp(m->kind, "video");
  s->active = m->port != 0 && m->dir != SIG_DIR_INACTIVE && m->dir != SIG_DIR_RECVONLY;
  s->ssrc = m->nssrc ? m->ssrcs[0] : 0;
  for (unsigned i = 0; i < m->nexts; i++)
    if (strstr(m->exts[i].uri, "abs-send-time")) s->ext_ast = m->exts[i].id;
  sfu_rxstats_init(&s->rx, s->ssrc, s->video ? 90000 : 48000);
  sfu_nackgen_init(&s->nack);
}

static inline bool seen_get(const bench_rstream *s, uint64_t e) {
  return s->seen[(e % BENCH_SEEN_WIN) / 8] & (1u << (e % 8));
}
static inline void seen_set(bench_rstream *s, uint64_t e, bool v) {
  uint8_t *b = &s->seen[(e % BENCH_SEEN_WIN) / 8];
  if (v)
    *b |= (uint8_t)(1u << (e % 8));
  else
    *b &= (uint8_t) ~(1u << (e % 8));
}

static void sample_delay(const bench_rstream *s, const uint8_t *pkt, const sfu_rtp_hdr *h, int64_t now_us,
                         bench_hist *delay) {
  if (!delay) return;
  size_t l = 0;
  const uint8_t *e = s->ext_ast ? sfu_rtp_ext_find(pkt, h, s->ext_ast, &l) : NULL;
  if (!e || l != 3) {
    /* No abs-send-time: the payload stamp, if there is one. */
    const uint8_t *t = pkt + h->payload_off + h->payload_len - BENCH_STAMP_LEN;
    if (h->payload_len < BENCH_STAMP_LEN || t[0] != BENCH_STAMP_0 || t[1] != BENCH_STAMP_1) return;
    e = t + 2;
  }
  uint32_t then = ((uint32_t)e[0] << 16) | ((uint32_t)e[1] << 8) | e[2];
  bench_hist_add(delay, bench_ast_delta_us(bench_ast(now_us), then));
}

void bench_rstream_on_rtp(bench_rstream *s, const uint8_t *pkt, size_t len, int64_t now_us, bench_counters *c,
                          bench_hist *delay) {
  sfu_rtp_hdr h;
  if (sfu_rtp_parse(pkt, len, &h) != 0) return;
  c->sub_pkts++;
  c->sub_bytes += len;
  s->pkts++;
  if (!s->started) {
    s->started = true;
    s->first_us = now_us;
    s->max16 = h.seq;
    s->ext_first = s->ext_max = 0x10000u + h.seq;
    memset(s->seen, 0, sizeof s->seen);
    seen_set(s, s->ext_max, true);
    c->sub_expected++;
    sample_delay(s, pkt, &h, now_us, delay);
  } else {
    int16_t d = (int16_t)(h.seq - s->max16);
    uint64_t e = (uint64_t)((int64_t)s->ext_max + d);
    if (d > 0) {
      if (d >= BENCH_SEEN_WIN)
        memset(s->seen, 0, sizeof s->seen);
      else
        for (uint64_t x = s->ext_max + 1; x < e; x++)
          seen_set(s, x, false);
      seen_set(s, e, true);
      c->sub_gaps += (uint64_t)(d - 1);
      c->sub_expected += (uint64_t)d;
      s->ext_max = e;
      s->max16 = h.seq;
      sample_delay(s, pkt, &h, now_us, delay);
    } else if (d == 0) {
      c->sub_dups++;
    } else if (e < s->ext_first || s->ext_max - e >= BENCH_SEEN_WIN) {
      c->sub_late++;
    } else if (seen_get(s, e)) {
      c->sub_dups++;
    } else {
      seen_set(s, e, true);
      c->sub_recovered++;
      c->sub_rtx_pkts++;
    }
  }
  sfu_rxstats_update(&s->rx, h.seq, h.ts, now_us);
  sfu_nackgen_on_seq(&s->nack, h.seq, now_us);
}

size_t bench_rstream_nacks(bench_rstream *s, int64_t now_us, uint16_t *out, size_t max) {
  if (!s->started) return 0;
  return sfu_nackgen_due(&s->nack, now_us, NACK_RETRY_US, out, max);
}

bool bench_rstream_wants_pli(bench_rstream *s, int64_t now_us) {
  if (!s->video || !s->started || now_us - s->last_pli_us < PLI_GAP_US) return false;
  for (unsigned i = 0; i < s->nack.n; i++) {
    if (now_us - s->nack.miss[i].first_us > PLI_AFTER_US) {
      s->last_pli_us = now_us;
      return true;
    }
  }
  return false;
}

/* Delivered means what a viewer would call working, not one packet: the
 * subscriber received 90 % of the sequence numbers the server forwarded to
 * it, and that forwarded span is over half of what the publisher sent while
 * this subscriber was receiving (the publisher's count, sent_pkts since
 * sent_since_us, prorated from the stream's first packet to now_us: a
 * subscription starts a little after its publisher). Measured: 0.87-1.0 of
 * it in 1 s churn passes against the ASan server; video starts at a
 * keyframe, so a little less than prorated. Behind a simulated link
 * (link_drops) the link's own drops are the subscriber's network, not the
 * server: only the forwarded span counts. */
bool bench_rstream_delivered(const bench_rstream *s, uint64_t sent_pkts, int64_t sent_since_us,
                             int64_t now_us, bool link_drops) {
  if (!s->started || !sent_pkts || now_us <= sent_since_us) return false;
  uint64_t span = s->ext_max - s->ext_first + 1;
  uint64_t got = s->pkts < span ? s->pkts : span;
  int64_t rx_us = now_us - (s->first_us > sent_since_us ? s->first_us : sent_since_us);
  double expected = (double)sent_pkts * (double)rx_us / (double)(now_us - sent_since_us);
  return (link_drops || got * 10 >= span * 9) && (double)span > 0.5 * expected;
}
