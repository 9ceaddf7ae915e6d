/* bench_cc: a subscriber behind a simulated link that answers with
 * transport-cc feedback (--link-kbps). Every packet the server sends this
 * subscriber goes through a FIFO link of the subscriber's capacity with a
 * 100 ms queue (tail drop, like `tc tbf ... latency 100ms`): a dropped
 * packet is lost to the subscriber (it NACKs as a browser would); a passed
 * one is handed on at once, but its transport-wide sequence number is
 * recorded with the time it would have left the link, and every 100 ms
 * the subscriber sends real transport-cc feedback (sfu_twcc_recv) so the
 * server's estimator sees the link. The subscriber also notes the size of
 * each VP8 keyframe it receives: that is the simulcast layer it is on. */
#include <string.h>

#include "bench.h"
#include "sfu_rtp.h"
#include "sfu_twcc.h"
#include "sfu_vp8.h"

#define QUEUE_US 100000
#define FEEDBACK_US 100000
#define PENDING 4096

struct bench_cc {
  double capacity_bps;
  int64_t free_us; /* when the link has sent what is queued */
  uint8_t twcc_id; /* 0: the server offered no transport-cc */
  uint8_t vp8_pt;
  sfu_twcc_recv rec;
  struct {
    uint16_t seq;
    int64_t at;
  } pend[PENDING];
  size_t ph, pn;
  int64_t next_fb_us;
  uint64_t bytes, pkts, dropped, feedbacks;
  uint64_t w_bytes, w_pkts, w_dropped; /* at the window start */
  int64_t w_t0, w_t1;
  unsigned width, height; /* last keyframe's size */
  int64_t size_since_us;  /* when that size began */
  int64_t first_media_us; /* first packet through the link */
};

bench_cc *bench_cc_new(double capacity_bps) {
  bench_cc *cc = g_new0(bench_cc, 1);
  cc->capacity_bps = capacity_bps;
  sfu_twcc_recv_init(&cc->rec);
  return cc;
}

void bench_cc_free(bench_cc *cc) {
  g_free(cc);
}

double bench_cc_capacity(const bench_cc *cc) {
  return cc->capacity_bps;
}

void bench_cc_on_offer(bench_cc *cc, const sig_sdp *o) {
  for (unsigned i = 0; i < o->nmedia; i++) {
    const sig_sdp_media *m = &o->media[i];
    for (unsigned k = 0; k < m->nexts; k++)
      if (!strcmp(m->exts[k].uri, SFU_TWCC_URI)) cc->twcc_id = (uint8_t)m->exts[k].id;
    for (unsigned k = 0; k < m->ncodecs; k++)
      if (!g_ascii_strcasecmp(m->codecs[k].name, "VP8")) cc->vp8_pt = (uint8_t)m->codecs[k].pt;
  }
}

static void note_keyframe(bench_cc *cc, const uint8_t *pkt, const sfu_rtp_hdr *h, int64_t now) {
  if (!cc->vp8_pt || h->pt != cc->vp8_pt || !h->payload_len) return;
  sfu_vp8_desc d;
  if (sfu_vp8_parse(pkt + h->payload_off, h->payload_len, &d) != 0 || !d.keyframe || !d.width) return;
  if (d.width != cc->width || d.height != cc->height) {
    cc->width = d.width;
    cc->height = d.height;
    cc->size_since_us = now;
  }
}

bool bench_cc_on_rtp(bench_cc *cc, const uint8_t *pkt, size_t len, int64_t now) {
  int64_t start = cc->free_us > now ? cc->free_us : now;
  if (start - now > QUEUE_US) {
    cc->dropped++;
    return false;
  }
  cc->free_us = start + (int64_t)((double)len * 8e6 / cc->capacity_bps);
  cc->bytes += len;
  cc->pkts++;
  if (!cc->first_media_us) cc->first_media_us = now;
  sfu_rtp_hdr h;
  if (sfu_rtp_parse(pkt, len, &h) != 0) return true;
  note_keyframe(cc, pkt, &h, now);
  uint16_t seq;
  if (!cc->twcc_id || sfu_twcc_ext_read(pkt, &h, cc->twcc_id, &seq) != 0) return true;
  if (cc->pn == PENDING) { /* full: record the oldest now */
    sfu_twcc_recv_packet(&cc->rec, cc->pend[cc->ph].seq, cc->pend[cc->ph].at, h.ssrc);
    cc->ph = (cc->ph + 1) % PENDING;
    cc->pn--;
  }
  size_t slot = (cc->ph + cc->pn++) % PENDING;
  cc->pend[slot].seq = seq;
  cc->pend[slot].at = cc->free_us;
  return true;
}

void bench_cc_tick(bench_cc *cc, tp_peer *sub, uint32_t ssrc, int64_t now) {
  while (cc->pn && cc->pend[cc->ph].at <= now) { /* arrived by now */
    sfu_twcc_recv_packet(&cc->rec, cc->pend[cc->ph].seq, cc->pend[cc->ph].at, 0);
    cc->ph = (cc->ph + 1) % PENDING;
    cc->pn--;
  }
  if (!cc->twcc_id || now < cc->next_fb_us || !sub) return;
  cc->next_fb_us = now + FEEDBACK_US;
  uint8_t buf[1200 + TP_SRTP_TRAILER_MAX];
  size_t len;
  for (int i = 0; i < 16 && (len = sfu_twcc_recv_feedback(&cc->rec, ssrc, buf, 1200)) > 0; i++) {
    tp_peer_send_rtcp(sub, buf, len, sizeof buf);
    cc->feedbacks++;
  }
}

void bench_cc_window(bench_cc *cc, bool begin, int64_t now) {
  if (begin) {
    cc->w_bytes = cc->bytes;
    cc->w_pkts = cc->pkts;
    cc->w_dropped = cc->dropped;
    cc->w_t0 = now;
  } else {
    cc->w_bytes = cc->bytes - cc->w_bytes;
    cc->w_pkts = cc->pkts - cc->w_pkts;
    cc->w_dropped = cc->dropped - cc->w_dropped;
    cc->w_t1 = now;
  }
}

/* Capacities spread evenly from lo to hi over the participants that
 * subscribe only (publishers keep an unshaped link). */
void bench_cc_assign(GPtrArray *peers, double lo_kbps, double hi_kbps) {
  unsigned n = 0, k = 0;
  for (guint i = 0; i < peers->len; i++) {
    bench_peer *p = g_ptr_array_index(peers, i);
    if (!p->pub_audio && !p->pub_video) n++;
  }
  for (guint i = 0; i < peers->len; i++) {
    bench_peer *p = g_ptr_array_index(peers, i);
    if (p->pub_audio || p->pub_video || p->cc) continue;
    double kbps = n > 1 ? lo_kbps + (hi_kbps - lo_kbps) * k / (n - 1) : lo_kbps;
    p->cc = bench_cc_new(kbps * 1000);
    k++;
  }
}

void bench_cc_report(FILE *f, GPtrArray *peers) {
  bool any = false, no_twcc = false;
  for (guint i = 0; i < peers->len; i++) {
    bench_peer *p = g_ptr_array_index(peers, i);
    bench_cc *cc = p->cc;
    if (!cc || !cc->w_t1) continue;
    if (!any) {
      fprintf(f, "\nsubscribers behind a simulated link (--link-kbps):\n"
                 "  name        link kbit/s   received kbit/s  %% of link  link drops  feedbacks  "
                 "video      on it since\n");
      any = true;
    }
    double s = (double)(cc->w_t1 - cc->w_t0) / 1e6;
    double kbps = s > 0 ? (double)cc->w_bytes * 8 / s / 1000 : 0;
    uint64_t offered = cc->w_pkts + cc->w_dropped;
    char res[24] = "-", since[24] = "-";
    if (cc->width) snprintf(res, sizeof res, "%ux%u", cc->width, cc->height);
    if (cc->width && cc->first_media_us)
      snprintf(since, sizeof since, "%.1f s", (double)(cc->size_since_us - cc->first_media_us) / 1e6);
    fprintf(f, "  %-10s  %11.0f  %15.0f  %8.0f  %9.1f%%  %9" G_GUINT64_FORMAT "  %-9s  %s\n", p->name,
            cc->capacity_bps / 1000, kbps, 100 * kbps * 1000 / cc->capacity_bps,
            offered ? 100.0 * (double)cc->w_dropped / (double)offered : 0.0, cc->feedbacks, res, since);
    no_twcc |= !cc->twcc_id;
  }
  if (no_twcc) fprintf(f, "  (some subscribers were offered no transport-cc: they sent no feedback)\n");
}
