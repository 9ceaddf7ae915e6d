/* fuzz_demux: libFuzzer target for the receive path after decryption, as
 * tp_peer.c (on_recv) and signaling/sig_app_media.c (on_rtp, on_rtcp) chain
 * it: first-byte demux (tp_demux_classify), then RTP -> sfu_rtp_parse ->
 * which producer (ssrc, else the mid header extension) -> sfu_producer_on_rtp
 * (receive stats, NACK gap scan, retransmission history, keyframe check,
 * rewrite per consumer), or RTCP -> sfu_rtcp_iter walk -> SR to the producer
 * (publisher connection), NACK / PLI / FIR to the consumer (subscriber
 * connection); timers run between datagrams.
 *
 * Input: a sequence of datagrams, each `len (2 bytes, big-endian) | ctl | len
 * bytes`; ctl bit 7 = arrives on the subscriber connection, bits 0-6 = ms
 * that pass before it. An input that does not split exactly that way is one
 * datagram, delivered on the publisher connection and then on the subscriber
 * one (so raw packets, e.g. the rtp/ and rtcp/ corpora, are seeds as they are).
 *
 * The transport is cut at its send calls: this file defines tp_peer_send_rtp
 * and tp_peer_send_rtcp, so tp_peer.o is never linked; they check that what
 * the router sends is well-formed RTP/RTCP that leaves room for the SRTP
 * trailer. GLib's random generator is seeded per input (reproducible runs).
 * Built by tests/fuzz/CMakeLists.txt (fuzz_demux with -DSFU_FUZZ=ON and clang,
 * fuzz_replay_demux always). */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_router.h"
#include "sfu_rtcp.h"
#include "sfu_rtp.h"
#include "tp_demux.h"
#include "tp_peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_demux: check failed: %s\n", what);
    abort();
  }
}

/* ---- the transport seam: what the router sends ---- */

static uint8_t pub_peer_tag, sub_peer_tag; /* never dereferenced */
#define PUB_PEER ((tp_peer *)(void *)&pub_peer_tag)
#define SUB_PEER ((tp_peer *)(void *)&sub_peer_tag)
static unsigned sent_rtp, sent_rtcp;

int tp_peer_send_rtp(tp_peer *p, uint8_t *pkt, size_t len, size_t cap) {
  check(p == SUB_PEER, "media goes to the subscriber");
  check(len + TP_SRTP_TRAILER_MAX <= cap, "room for the SRTP auth tag");
  check(len <= TP_MTU + 64, "rewritten packet within the scratch size");
  sfu_rtp_hdr h;
  check(sfu_rtp_parse(pkt, len, &h) == 0 && h.padding_len == 0, "sent RTP parses");
  check(tp_demux_classify(pkt, len) == TP_PKT_RTP, "sent RTP demuxes as RTP");
  sent_rtp++;
  return 0;
}

int tp_peer_send_rtcp(tp_peer *p, uint8_t *pkt, size_t len, size_t cap) {
  check(p == PUB_PEER || p == SUB_PEER, "RTCP goes to a known peer");
  check(len + TP_SRTP_TRAILER_MAX <= cap, "room for the SRTCP trailer");
  check(tp_demux_classify(pkt, len) == TP_PKT_RTCP, "sent RTCP demuxes as RTCP");
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, pkt, len);
  int rc, n = 0;
  while ((rc = sfu_rtcp_iter_next(&it, &item)) == 1)
    n++;
  check(rc == 0 && n >= 1, "sent RTCP walks cleanly");
  sent_rtcp++;
  return 0;
}

/* ---- one publisher (audio + video) and one subscriber of both ---- */

enum { AUDIO, VIDEO };
static const uint32_t pub_ssrc[2] = {0x11111111, 0x22222222};
static const char *const pub_mid[2] = {"0", "1"};
#define PUB_EXT_MID 4 /* the publisher's id of urn:ietf:params:rtp-hdrext:sdes:mid */

typedef struct {
  sfu_router_stats stats;
  sfu_producer *prod[2];
  sfu_consumer *cons[2];
  uint32_t learnt_ssrc[2]; /* as sig_app_media.c: the mid extension can re-bind an ssrc */
  int64_t now;
} path;

static void path_open(path *s) {
  memset(s, 0, sizeof *s);
  s->now = 1000000;
  sfu_producer_params a = {.video = false,
                           .ssrc = pub_ssrc[AUDIO],
                           .clock_rate = 48000,
                           .pt = {111, 0},
                           .codec = {SFU_CODEC_OPUS, SFU_CODEC_NONE},
                           .ext_mid = PUB_EXT_MID,
                           .ext_audio_level = 1,
                           .pub_peer = PUB_PEER,
                           .stats = &s->stats};
  sfu_producer_params v = {.video = true,
                           .ssrc = pub_ssrc[VIDEO],
                           .clock_rate = 90000,
                           .pt = {96, 102},
                           .codec = {SFU_CODEC_VP8, SFU_CODEC_H264},
                           .ext_mid = PUB_EXT_MID,
                           .ext_abs_send_time = 3,
                           .pub_peer = PUB_PEER,
                           .remb_bps = 1500000,
                           .stats = &s->stats};
  s->prod[AUDIO] = sfu_producer_new(&a);
  s->prod[VIDEO] = sfu_producer_new(&v);
  check(s->prod[AUDIO] && s->prod[VIDEO], "producers");
  for (int k = 0; k < 2; k++) {
    s->learnt_ssrc[k] = pub_ssrc[k];
    sfu_consumer_params c = {.ssrc = 0x33333330u + (uint32_t)k,
                             .pt = {k == VIDEO ? 98 : 109, k == VIDEO ? 100 : 0},
                             .mid = k == VIDEO ? "v-1" : "a-1",
                             .sub_peer = SUB_PEER,
                             .stats = &s->stats};
    s->cons[k] = sfu_consumer_new(s->prod[k], &c, s->now);
    check(s->cons[k] != NULL, "consumer");
  }
}

static void path_close(path *s) {
  for (int k = 0; k < 2; k++)
    sfu_consumer_free(s->cons[k]);
  for (int k = 0; k < 2; k++)
    sfu_producer_free(s->prod[k]);
}

static void path_tick(path *s) {
  for (int k = 0; k < 2; k++) {
    sfu_producer_tick(s->prod[k], s->now);
    sfu_consumer_tick(s->cons[k], s->now);
  }
}

/* producer_for() of sig_app_media.c */
static sfu_producer *producer_for(path *s, const uint8_t *pkt, const sfu_rtp_hdr *h) {
  for (int k = 0; k < 2; k++)
    if (s->learnt_ssrc[k] == h->ssrc) return s->prod[k];
  size_t len;
  const uint8_t *mid = sfu_rtp_ext_find(pkt, h, PUB_EXT_MID, &len);
  if (!mid) return NULL;
  for (int k = 0; k < 2; k++) {
    if (strlen(pub_mid[k]) == len && !memcmp(pub_mid[k], mid, len)) {
      s->learnt_ssrc[k] = h->ssrc;
      return s->prod[k];
    }
  }
  return NULL;
}

static void on_rtp(path *s, bool sub, const uint8_t *pkt, size_t len) {
  sfu_rtp_hdr h;
  if (sfu_rtp_parse(pkt, len, &h) != 0) return;
  check(h.payload_off + h.payload_len + h.padding_len == len, "parse tiles the packet");
  if (sub) return; /* sig_app_media.c drops RTP arriving on the subscriber connection */
  sfu_producer *p = producer_for(s, pkt, &h);
  if (p) sfu_producer_on_rtp(p, pkt, len, &h, s->now);
}

static void on_rtcp(path *s, bool sub, const uint8_t *pkt, size_t len) {
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, pkt, len);
  while (sfu_rtcp_iter_next(&it, &item) == 1) {
    if (!sub) {
      if (item.type != SFU_RTCP_SR) continue;
      for (int k = 0; k < 2; k++)
        if (sfu_producer_ssrc(s->prod[k]) == item.sender_ssrc)
          sfu_producer_on_sr(s->prod[k], item.ntp, item.rtp_ts, s->now);
      continue;
    }
    sfu_consumer *c = NULL;
    for (int k = 0; k < 2; k++)
      if (sfu_consumer_ssrc(s->cons[k]) == item.media_ssrc) c = s->cons[k];
    if (item.type == SFU_RTCP_NACK) {
      uint16_t seqs[128];
      size_t n = sfu_rtcp_nack_seqs(&item, seqs, 128);
      check(n <= 128, "nack bounded");
      if (c) sfu_consumer_on_nack(c, seqs, n, s->now);
    } else if (item.type == SFU_RTCP_PLI || item.type == SFU_RTCP_FIR) {
      if (c) sfu_consumer_on_keyframe_request(c, s->now);
    }
  }
}

/* on_recv() of tp_peer.c, after SRTP: the demux decides. */
static void deliver(path *s, bool sub, const uint8_t *pkt, size_t len) {
  tp_pkt_kind kind = tp_demux_classify(pkt, len);
  uint8_t b0 = len ? pkt[0] : 0;
  switch (kind) {
  case TP_PKT_DTLS:
    check(len >= 1 && b0 >= 20 && b0 <= 63, "DTLS range");
    break;
  case TP_PKT_RTP:
    check(len >= 12 && b0 >= 128 && b0 <= 191 && !sfu_rtp_is_rtcp(pkt, len), "RTP range");
    on_rtp(s, sub, pkt, len);
    break;
  case TP_PKT_RTCP:
    check(len >= 8 && b0 >= 128 && b0 <= 191 && sfu_rtp_is_rtcp(pkt, len), "RTCP range");
    on_rtcp(s, sub, pkt, len);
    break;
  case TP_PKT_OTHER:
    check(len == 0 || (b0 < 20 || (b0 > 63 && b0 < 128) || b0 > 191) || len < 12, "OTHER range");
    break;
  default:
    check(0, "kind in range");
  }
}

static bool splits_into_records(const uint8_t *data, size_t size) {
  size_t off = 0;
  while (off < size) {
    if (size - off < 3) return false;
    size_t len = (size_t)sfu_rd16(data + off);
    if (size - off - 3 < len) return false;
    off += 3 + len;
  }
  return size > 0;
}

/* Each datagram in its own exact-size buffer (as libnice hands them over),
 * so ASan sees reads past its end. */
static void deliver_copy(path *s, bool sub, const uint8_t *pkt, size_t len) {
  uint8_t *copy = malloc(len ? len : 1);
  check(copy != NULL, "malloc");
  if (len) memcpy(copy, pkt, len);
  deliver(s, sub, copy, len);
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  g_random_set_seed(0x5eed);
  path s;
  path_open(&s);
  if (splits_into_records(data, size)) {
    for (size_t off = 0; off < size;) {
      size_t len = sfu_rd16(data + off);
      uint8_t ctl = data[off + 2];
      s.now += (int64_t)(ctl & 0x7f) * 1000;
      deliver_copy(&s, ctl & 0x80, data + off + 3, len);
      path_tick(&s);
      off += 3 + len;
    }
  } else {
    deliver_copy(&s, false, data, size);
    path_tick(&s);
    s.now += 20000;
    deliver_copy(&s, true, data, size);
    path_tick(&s);
  }
  s.now += 1500000; /* every report and retry timer comes due once more */
  path_tick(&s);
  path_close(&s);
  return 0;
}
