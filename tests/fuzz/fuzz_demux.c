/* fuzz_demux: libFuzzer target for the receive path after decryption, the
 * real one: first-byte demux (tp_demux_classify, as tp_peer.c's on_recv
 * does), then the router's own tp_peer callbacks (sfu_router.c on_rtp /
 * on_rtcp): the listener places RTP by ssrc or the mid extension, the
 * producer counts it (receive stats, NACK gap scan, history, keyframe check)
 * and every consumer rewrites it; RTCP is walked, SRs reach the producer,
 * NACK / PLI / FIR the consumer. Timers run between datagrams.
 *
 * Input: a sequence of datagrams, each `len (2 bytes, big-endian) | ctl | len
 * bytes`; ctl bit 7 = arrives on the subscriber connection, bits 0-6 = ms
 * that pass before it. An input that does not split exactly that way is one
 * datagram, delivered on the publisher connection and then on the subscriber
 * one (so raw packets, e.g. the rtp/ and rtcp/ corpora, are seeds as they are).
 *
 * The transport is cut at tp_peer: this file defines the tp_peer functions the
 * media core calls, so tp_peer.o is never linked; the send calls check that
 * what the router sends is well-formed RTP/RTCP that leaves room for the SRTP
 * trailer. GLib's random generator is seeded per input (reproducible runs).
 * Built by tests/fuzz/CMakeLists.txt (fuzz_demux with -DSFU_FUZZ=ON and clang,
 * fuzz_replay_demux always). */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_consumer.h"
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

/* ---- the transport seam: a tp_peer that only records its callbacks ---- */

struct tp_peer {
  tp_peer_cbs cbs;
  void *ud;
  bool sub;
  tp_peer_stats stats;
};

static unsigned npeers;

int tp_peer_new(tp_peer **out, const tp_peer_config *cfg, const tp_peer_cbs *cbs, void *ud, char *err,
                size_t errlen) {
  (void)err, (void)errlen;
  tp_peer *p = calloc(1, sizeof *p);
  check(p != NULL, "calloc");
  p->cbs = *cbs;
  p->ud = ud;
  p->sub = cfg->ice_controlling; /* the subscriber connection is the one we offer */
  npeers++;
  *out = p;
  return 0;
}

void tp_peer_free(tp_peer *p) {
  if (p) npeers--;
  free(p);
}

const char *tp_peer_ufrag(const tp_peer *p) {
  (void)p;
  return "ufrag";
}
const char *tp_peer_pwd(const tp_peer *p) {
  (void)p;
  return "pwd";
}
char **tp_peer_local_candidates(tp_peer *p) {
  (void)p;
  return NULL;
}
int tp_peer_set_remote(tp_peer *p, const char *u, const char *w, const char *fp, char *err, size_t errlen) {
  (void)p, (void)u, (void)w, (void)fp, (void)err, (void)errlen;
  return 0;
}
int tp_peer_add_remote_candidate(tp_peer *p, const char *c, char *err, size_t errlen) {
  (void)p, (void)c, (void)err, (void)errlen;
  return 0;
}
void tp_peer_remote_candidates_done(tp_peer *p) {
  (void)p;
}
int tp_peer_restart_ice(tp_peer *p, char *err, size_t errlen) {
  (void)p, (void)err, (void)errlen;
  return 0;
}
int tp_peer_set_remote_ice(tp_peer *p, const char *u, const char *w, char *err, size_t errlen) {
  (void)p, (void)u, (void)w, (void)err, (void)errlen;
  return 0;
}
const tp_peer_stats *tp_peer_get_stats(const tp_peer *p) {
  return &p->stats;
}
const char *tp_peer_srtp_profile(const tp_peer *p) {
  (void)p;
  return "SRTP_AEAD_AES_128_GCM";
}
tp_failure tp_peer_failure(const tp_peer *p) {
  (void)p;
  return TP_FAIL_NONE;
}
/* Data channels never start here (no answer accepts them). */
void tp_peer_set_app_data_cb(tp_peer *p, void (*fn)(void *ud, const uint8_t *buf, size_t len), void *ud) {
  (void)p, (void)fn, (void)ud;
}
int tp_peer_send_app_data(tp_peer *p, const uint8_t *buf, size_t len) {
  (void)p, (void)buf, (void)len;
  return -EAGAIN;
}

int tp_peer_send_rtp(tp_peer *p, uint8_t *pkt, size_t len, size_t cap) {
  check(p->sub, "media goes to the subscriber");
  check(len + TP_SRTP_TRAILER_MAX <= cap, "room for the SRTP auth tag");
  check(len <= TP_MTU + 64, "rewritten packet within the scratch size");
  sfu_rtp_hdr h;
  check(sfu_rtp_parse(pkt, len, &h) == 0 && h.padding_len == 0, "sent RTP parses");
  check(tp_demux_classify(pkt, len) == TP_PKT_RTP, "sent RTP demuxes as RTP");
  p->stats.rtp_out++;
  return 0;
}

int tp_peer_send_rtcp(tp_peer *p, uint8_t *pkt, size_t len, size_t cap) {
  check(len + TP_SRTP_TRAILER_MAX <= cap, "room for the SRTCP trailer");
  check(tp_demux_classify(pkt, len) == TP_PKT_RTCP, "sent RTCP demuxes as RTCP");
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, pkt, len);
  int rc, n = 0;
  while ((rc = sfu_rtcp_iter_next(&it, &item)) == 1)
    n++;
  check(rc == 0 && n >= 1, "sent RTCP walks cleanly");
  p->stats.rtcp_out++;
  return 0;
}

/* ---- one publisher (audio + video) and one subscriber of both ---- */

enum { AUDIO, VIDEO };
enum { T_PUB = 1, T_SUB = 2 };
static const uint32_t pub_ssrc[2] = {0x11111111, 0x22222222};
#define PUB_EXT_MID 4 /* the publisher's id of urn:ietf:params:rtp-hdrext:sdes:mid */

typedef struct {
  sfu_env env;
  sfu_router *r;
  sfu_transport *t[3];
  int64_t now;
} path;

static void on_event(void *ud, const sfu_event *ev) {
  (void)ud;
  check(ev->transport == T_PUB || ev->transport == T_SUB, "events name our transports");
}

static void produce(path *s, int k) {
  sfu_producer_params p = {
      .video = k == VIDEO,
      .mid = {k == VIDEO ? '1' : '0'},
      .clock_rate = k == VIDEO ? 90000 : 48000,
      .ncodecs = k == VIDEO ? 2 : 1,
      .codecs = {{.pt = k == VIDEO ? 96 : 111, .codec = k == VIDEO ? SFU_CODEC_VP8 : SFU_CODEC_OPUS},
                 {.pt = 102, .codec = SFU_CODEC_H264}},
      .ext_mid = PUB_EXT_MID,
      .ext_abs_send_time = k == VIDEO ? 3 : 0,
      .ext_audio_level = k == VIDEO ? 0 : 1,
      .nenc = 1,
      .enc = {{.ssrc = pub_ssrc[k]}},
      .remb_bps = k == VIDEO ? 1500000 : 0};
  sfu_router_produce(s->t[T_PUB], 10 + (sfu_id)k, &p);
  sfu_consumer_params c = {.producer = 10 + (sfu_id)k,
                           .mid = {k == VIDEO ? 'v' : 'a', '1'},
                           .ssrc = 0x33333330u + (uint32_t)k,
                           .pt = {k == VIDEO ? 98 : 109, k == VIDEO ? 100 : 0}};
  sfu_router_consume(s->t[T_SUB], 20 + (sfu_id)k, &c);
}

static void path_open(path *s) {
  memset(s, 0, sizeof *s);
  s->now = 1000000;
  sfu_env *e = &s->env;
  e->scratch_rtp = malloc(SFU_SCRATCH_BYTES);
  e->scratch_rtcp = malloc(SFU_SCRATCH_BYTES);
  e->scratch_rx = malloc(SFU_SCRATCH_BYTES);
  e->fb_scratch = malloc(SFU_TWCC_BUILD_MAX * sizeof *e->fb_scratch);
  e->transports = g_hash_table_new(g_direct_hash, g_direct_equal);
  e->producers = g_hash_table_new(g_direct_hash, g_direct_equal);
  e->consumers = g_hash_table_new(g_direct_hash, g_direct_equal);
  e->emit = on_event;
  e->consent_limit_us = 30 * G_USEC_PER_SEC;
  s->r = sfu_router_new(1, e);
  for (int pc = T_PUB; pc <= T_SUB; pc++) {
    sfu_transport_params tp = {.ice_controlling = pc == T_SUB};
    sfu_transport_local local;
    char err[64];
    check(sfu_router_add_transport(s->r, (sfu_id)pc, &tp, &local, err, sizeof err) == 0, "transport");
    s->t[pc] = g_hash_table_lookup(e->transports, GUINT_TO_POINTER(pc));
    tp_peer *p = s->t[pc]->peer;
    p->cbs.on_state(p->ud, TP_STATE_CONNECTED, "fuzz");
  }
  produce(s, AUDIO);
  produce(s, VIDEO);
  check(g_hash_table_size(e->consumers) == 2, "consumers");
}

static void path_close(path *s) {
  sfu_router_free(s->r);
  check(npeers == 0, "every peer freed");
  check(g_hash_table_size(s->env.consumers) == 0 && g_hash_table_size(s->env.producers) == 0, "all closed");
  g_hash_table_destroy(s->env.transports);
  g_hash_table_destroy(s->env.producers);
  g_hash_table_destroy(s->env.consumers);
  free(s->env.scratch_rtp);
  free(s->env.scratch_rtcp);
  free(s->env.scratch_rx);
  free(s->env.fb_scratch);
}

/* on_recv() of tp_peer.c, after SRTP: the demux decides. */
static void deliver(path *s, bool sub, uint8_t *pkt, size_t len) {
  tp_peer *p = s->t[sub ? T_SUB : T_PUB]->peer;
  tp_pkt_kind kind = tp_demux_classify(pkt, len);
  uint8_t b0 = len ? pkt[0] : 0;
  switch (kind) {
  case TP_PKT_DTLS:
    check(len >= 1 && b0 >= 20 && b0 <= 63, "DTLS range");
    break;
  case TP_PKT_RTP:
    check(len >= 12 && b0 >= 128 && b0 <= 191 && !sfu_rtp_is_rtcp(pkt, len), "RTP range");
    p->stats.rtp_in++;
    p->cbs.on_rtp(p->ud, pkt, len);
    break;
  case TP_PKT_RTCP:
    check(len >= 8 && b0 >= 128 && b0 <= 191 && sfu_rtp_is_rtcp(pkt, len), "RTCP range");
    p->stats.rtcp_in++;
    p->cbs.on_rtcp(p->ud, pkt, len);
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
      sfu_router_tick(s.r, s.now);
      off += 3 + len;
    }
  } else {
    deliver_copy(&s, false, data, size);
    sfu_router_tick(s.r, s.now);
    s.now += 20000;
    deliver_copy(&s, true, data, size);
    sfu_router_tick(s.r, s.now);
  }
  s.now += 1500000; /* every report and retry timer comes due once more */
  sfu_router_tick(s.r, s.now);
  path_close(&s);
  return 0;
}
