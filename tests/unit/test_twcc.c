/* Tests for sfu_twcc: the transport-wide sequence number extension, the
 * transport-cc feedback parser over annotated bytes (Chrome's and
 * mediasoup's shapes), malformed feedback, the builder (exact bytes, MTU,
 * 16-bit delta overflow, parse(build(x)) == x) and the receive recorder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_rtp.h"
#include "sfu_twcc.h"

static sfu_twcc_status st[8192], back[8192];

/* ---- the header extension ---- */

static void test_ext_read_write(void **state) {
  (void)state;
  // clang-format off
  uint8_t pkt[] = {
    0x90, 0x60, 0x00, 0x07,  0, 0, 0, 1,  0xAA, 0xBB, 0xCC, 0xDD, /* V=2 X=1, PT 96, seq 7 */
    0xBE, 0xDE, 0x00, 0x02,                /* one-byte extensions, 2 words */
    0x10, '0',                             /* id 1 (mid) len 1: "0" */
    0x31, 0xAB, 0xCD,                      /* id 3 len 2: wide seq 0xABCD */
    0x00, 0x00, 0x00,                      /* padding */
    0x11, 0x22,                            /* payload */
  };
  // clang-format on
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(pkt, sizeof(pkt), &h), 0);
  uint16_t seq = 0;
  assert_int_equal(sfu_twcc_ext_read(pkt, &h, 3, &seq), 0);
  assert_int_equal(seq, 0xABCD);
  assert_int_equal(sfu_twcc_ext_read(pkt, &h, 5, &seq), -ENOENT);
  assert_int_equal(sfu_twcc_ext_read(pkt, &h, 1, &seq), -EINVAL); /* 1 byte long */
  assert_int_equal(sfu_twcc_ext_write(pkt, &h, 3, 0x0102), 0);
  assert_int_equal(pkt[19], 0x01);
  assert_int_equal(pkt[20], 0x02);
  assert_int_equal(pkt[17], '0'); /* the neighbours are untouched */
  assert_int_equal(pkt[24], 0x11);
  assert_int_equal(sfu_twcc_ext_write(pkt, &h, 4, 1), -ENOENT);
}

static void test_unwrap(void **state) {
  (void)state;
  assert_int_equal(sfu_twcc_unwrap(65535, 0), 65536);
  assert_int_equal(sfu_twcc_unwrap(65536, 65535), 65535);
  assert_int_equal(sfu_twcc_unwrap(100, 90), 90);
  assert_int_equal(sfu_twcc_unwrap(70000, 4464 + 10), 70010);
  assert_int_equal(sfu_twcc_unwrap(5, 65530), -6);
}

/* ---- parsing ---- */

/* The brief's worked example: base 100, 100 and 102 received (101 lost),
 * 100 at exactly 64.000 s, 102 5 ms later; one two-bit vector chunk. */
// clang-format off
static const uint8_t fb_example[] = {
  0x8F, 0xCD, 0x00, 0x05,       /* V=2 P=0 FMT=15, PT 205, length 5 (24 bytes) */
  0x00, 0x00, 0x00, 0x00,       /* sender SSRC 0 (mediasoup's choice) */
  0x12, 0x34, 0x56, 0x78,       /* media SSRC */
  0x00, 0x64, 0x00, 0x03,       /* base 100, 3 statuses */
  0x00, 0x03, 0xE8, 0x07,       /* reference 1000 x 64 ms = 64 s, fb count 7 */
  0xD1, 0x00,                   /* 1 1 | 01 00 01 00 00 00 00: small, lost, small */
  0x00, 0x14,                   /* deltas: 0, 20 x 250 us = 5 ms */
};

/* Chrome's shape (libwebrtc): P=1 with the pad count in the last byte, one
 * run-length chunk "9 x small delta". Values are ours. */
static const uint8_t fb_chrome_run[] = {
  0xAF, 0xCD, 0x00, 0x07,       /* V=2 P=1 FMT=15, PT 205, length 7 (32 bytes) */
  0x00, 0x00, 0x00, 0x01,       /* sender SSRC 1 */
  0x9C, 0x41, 0x07, 0xE2,       /* media SSRC */
  0x04, 0xD2, 0x00, 0x09,       /* base 1234, 9 statuses */
  0x00, 0x10, 0x00, 0x2A,       /* reference 4096 x 64 ms = 262.144 s, fb count 42 */
  0x20, 0x09,                   /* run-length: 0 | 01 | 9 -> 9 small deltas */
  0x08, 0x04, 0x28, 0x3C, 0x00, /* 2, 1, 10, 15, 0 ms */
  0x04, 0x00, 0x0C, 0x14,       /* 1, 0, 3, 5 ms */
  0x01,                         /* padding: 1 byte, the count itself */
};

/* A one-bit vector, a two-bit vector with a large negative delta (the
 * packet arrived before its predecessor) and a run of losses. */
static const uint8_t fb_mixed[] = {
  0x8F, 0xCD, 0x00, 0x07,       /* length 7 (32 bytes) */
  0x00, 0x00, 0x00, 0x02,
  0x00, 0x00, 0x00, 0x03,
  0xFF, 0xFA, 0x00, 0x1A,       /* base 65530 (wraps to 0 inside), 26 statuses */
  0x00, 0x00, 0x01, 0x00,       /* reference 1 x 64 ms, fb count 0 */
  0xB0, 0x00,                   /* 1 0 | 1 1 0 0 0...: received, received, then 12 lost */
  0xE4, 0x00,                   /* 1 1 | 10 01 00 00 ...: large, small, 5 lost */
  0x00, 0x05,                   /* run: 5 x lost (only 5 statuses are left) */
  0x10, 0x04, 0xFF, 0xFC, 0x08, /* 4 ms, 1 ms, -1 ms (large), 2 ms */
  0x00,                         /* zero padding, P = 0 (mediasoup's shape) */
};
// clang-format on

static void test_parse_example(void **state) {
  (void)state;
  sfu_twcc_fb fb;
  assert_int_equal(sfu_twcc_parse(fb_example, sizeof(fb_example), &fb, st, 16), 3);
  assert_int_equal(fb.sender_ssrc, 0);
  assert_int_equal(fb.media_ssrc, 0x12345678);
  assert_int_equal(fb.base_seq, 100);
  assert_int_equal(fb.status_count, 3);
  assert_int_equal(fb.ref_time, 1000);
  assert_int_equal(fb.fb_count, 7);
  assert_true(st[0].received);
  assert_int_equal(st[0].seq, 100);
  assert_int_equal(st[0].arrival_us, 64000000);
  assert_false(st[1].received);
  assert_int_equal(st[1].seq, 101);
  assert_true(st[2].received);
  assert_int_equal(st[2].arrival_us, 64005000);
}

static void test_parse_chrome_run(void **state) {
  (void)state;
  sfu_twcc_fb fb;
  static const int ms[9] = {2, 1, 10, 15, 0, 1, 0, 3, 5};
  assert_int_equal(sfu_twcc_parse(fb_chrome_run, sizeof(fb_chrome_run), &fb, st, 16), 9);
  assert_int_equal(fb.base_seq, 1234);
  assert_int_equal(fb.fb_count, 42);
  assert_int_equal(fb.ref_time, 4096);
  int64_t t = 4096LL * 64000;
  for (int i = 0; i < 9; i++) {
    t += ms[i] * 1000;
    assert_int_equal(st[i].seq, 1234 + i);
    assert_true(st[i].received);
    assert_int_equal(st[i].arrival_us, t);
  }
}

static void test_parse_mixed(void **state) {
  (void)state;
  sfu_twcc_fb fb;
  assert_int_equal(sfu_twcc_parse(fb_mixed, sizeof(fb_mixed), &fb, st, 26), 26);
  /* received: 0 (+4 ms), 1 (+1 ms), 14 (-1 ms, large), 15 (+2 ms) */
  const int64_t base = 64000;
  for (int i = 0; i < 26; i++) {
    assert_int_equal(st[i].seq, (uint16_t)(65530 + i));
    bool rx = i == 0 || i == 1 || i == 14 || i == 15;
    assert_int_equal(st[i].received, rx);
  }
  assert_int_equal(st[0].arrival_us, base + 4000);
  assert_int_equal(st[1].arrival_us, base + 5000);
  assert_int_equal(st[14].arrival_us, base + 4000);
  assert_int_equal(st[15].arrival_us, base + 6000);
  assert_int_equal(st[6].seq, 0); /* the wrap */
  /* One status fewer room than needed. */
  assert_int_equal(sfu_twcc_parse(fb_mixed, sizeof(fb_mixed), &fb, st, 25), -E2BIG);
}

typedef struct {
  const char *what;
  int rc;
  size_t len;
  uint8_t b[40];
} bad_case;

// clang-format off
#define HDR(p, len4, count) 0x80 | (p) | 15, 205, 0, len4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 10, 0, count, 0, 0, 1, 0
static const bad_case bad[] = {
  {"short", -EINVAL, 3, {0x8F, 205, 0}},
  {"version 1", -EINVAL, 24, {0x4F, 205, 0, 5, 0,0,0,1, 0,0,0,2, 0,10,0,1, 0,0,1,0, 0x20,1, 4,0}},
  {"not TWCC (NACK)", -ENOMSG, 24, {0x81, 205, 0, 5, 0,0,0,1, 0,0,0,2, 0,10,0,1, 0,0,1,0, 0x20,1, 4,0}},
  {"not RTPFB", -ENOMSG, 24, {0x8F, 206, 0, 5, 0,0,0,1, 0,0,0,2, 0,10,0,1, 0,0,1,0, 0x20,1, 4,0}},
  {"length past the end", -EINVAL, 24, {HDR(0, 6, 1), 0x20, 1, 4, 0}},
  {"length below the header", -EINVAL, 24, {HDR(0, 3, 1), 0x20, 1, 4, 0}},
  {"zero statuses", -EINVAL, 24, {HDR(0, 5, 0), 0x20, 1, 4, 0}},
  {"no chunk", -EINVAL, 20, {HDR(0, 4, 1)}},
  {"delta missing", -EINVAL, 24, {HDR(0, 5, 3), 0x20, 3, 4, 4}},
  {"large delta cut", -EINVAL, 24, {HDR(0, 5, 2), 0x40, 2, 0, 0}}, /* 2 large deltas need 4 bytes */
  {"reserved symbol in a run", -EINVAL, 24, {HDR(0, 5, 1), 0x60, 1, 4, 0}},
  {"reserved symbol in a vector", -EINVAL, 24, {HDR(0, 5, 2), 0xF0, 0, 4, 0}},
  {"padding count zero", -EINVAL, 24, {HDR(0x20, 5, 1), 0x20, 1, 4, 0}},
  {"padding past the body", -EINVAL, 24, {HDR(0x20, 5, 1), 0x20, 1, 4, 9}},
  {"padding eats the delta", -EINVAL, 24, {HDR(0x20, 5, 1), 0x20, 1, 0, 3}},
  {"chunks eat the deltas", -EINVAL, 24, {HDR(0, 5, 20), 0x20, 14, 0x20, 6}},
  {"stray bytes", -EINVAL, 28, {HDR(0, 6, 1), 0x20, 1, 4, 0, 0, 0, 0, 0}},
};
// clang-format on

static void test_parse_malformed(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    sfu_twcc_fb fb;
    int rc = sfu_twcc_parse(bad[i].b, bad[i].len, &fb, st, 64);
    if (rc != bad[i].rc) fail_msg("%s: got %d, want %d", bad[i].what, rc, bad[i].rc);
  }
  /* Every truncation of the good packets is rejected, never over-read. */
  for (size_t n = 0; n < sizeof(fb_mixed); n++) {
    sfu_twcc_fb fb;
    uint8_t *cut = malloc(n ? n : 1);
    memcpy(cut, fb_mixed, n);
    assert_true(sfu_twcc_parse(cut, n, &fb, st, 64) < 0);
    free(cut);
  }
  /* Zero-length runs are legal (they cover nothing). */
  // clang-format off
  const uint8_t zero_run[] = {HDR(0, 6, 1), 0x20, 0, 0x20, 1, 4, 0, 0, 0};
  // clang-format on
  sfu_twcc_fb fb;
  assert_int_equal(sfu_twcc_parse(zero_run, sizeof(zero_run), &fb, st, 64), 1);
  assert_int_equal(st[0].arrival_us, 64000 + 1000);
}

/* ---- building ---- */

static void test_build_example(void **state) {
  (void)state;
  sfu_twcc_status in[3] = {{100, true, 64000000}, {101, false, 0}, {102, true, 64005000}};
  uint8_t out[64];
  size_t used = 0;
  size_t len = sfu_twcc_build(out, sizeof(out), 0, 0x12345678, 7, in, 3, &used);
  assert_int_equal(len, 24);
  assert_int_equal(used, 3);
  /* Same as the brief's example, with the equally valid one-bit vector 0xA800. */
  uint8_t want[24];
  memcpy(want, fb_example, 24);
  want[20] = 0xA8;
  assert_memory_equal(out, want, 24);
  /* Not consecutive: nothing. No received packet: nothing. */
  in[1].seq = 7;
  assert_int_equal(sfu_twcc_build(out, sizeof(out), 0, 0, 0, in, 3, &used), 0);
  assert_int_equal(used, 0);
  sfu_twcc_status lost[2] = {{1, false, 0}, {2, false, 0}};
  assert_int_equal(sfu_twcc_build(out, sizeof(out), 0, 0, 0, lost, 2, &used), 0);
  assert_int_equal(sfu_twcc_build(out, 23, 0, 0, 0, in, 1, &used), 0); /* cap below a minimal packet */
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)rng;
}

/* Statuses from base: a loss pattern and inter-arrival gaps of several kinds. */
static void make_statuses(sfu_twcc_status *s, size_t n, uint16_t base, int64_t t0, bool quantized) {
  int64_t t = t0;
  for (size_t i = 0; i < n; i++) {
    s[i].seq = (uint16_t)(base + i);
    uint32_t r = rnd() % 100;
    s[i].received = r >= 10;
    int64_t step;
    switch (rnd() % 8) {
    case 0:
      step = -(int64_t)(rnd() % 20000);
      break; /* reordered */
    case 1:
      step = 64000 + rnd() % 200000;
      break; /* needs a large delta */
    default:
      step = rnd() % 8000;
      break;
    }
    t += step;
    if (t < 0) t = 0;
    s[i].arrival_us = s[i].received ? (quantized ? t - t % 250 : t) : 0;
  }
  if (quantized) {
    s[0].received = true;
    s[0].arrival_us = t0;
  }
}

/* Builds st[0..n) into packets of at most cap bytes, parses each back. */
static void round_trip(size_t n, size_t cap, bool quantized) {
  size_t done = 0, packets = 0;
  uint8_t out[1500];
  while (done < n) {
    size_t used = 0;
    size_t len = sfu_twcc_build(out, cap, 9, 10, (uint8_t)packets, st + done, n - done, &used);
    if (len == 0) { /* only when nothing is received in what is left */
      for (size_t i = done; i < n; i++)
        assert_false(st[i].received);
      break;
    }
    assert_true(len <= cap && len % 4 == 0 && used > 0);
    sfu_twcc_fb fb;
    int rc = sfu_twcc_parse(out, len, &fb, back, 8192);
    assert_int_equal(rc, (int)used);
    assert_int_equal(fb.base_seq, st[done].seq);
    assert_int_equal(fb.fb_count, (uint8_t)packets);
    for (size_t i = 0; i < used; i++) {
      const sfu_twcc_status *a = &st[done + i], *b = &back[i];
      assert_int_equal(a->seq, b->seq);
      assert_int_equal(a->received, b->received);
      if (!a->received) continue;
      if (quantized)
        assert_int_equal(a->arrival_us, b->arrival_us);
      else
        assert_true(llabs(a->arrival_us - b->arrival_us) <= 125);
    }
    done += used;
    packets++;
  }
}

static void test_round_trip(void **state) {
  (void)state;
  for (int iter = 0; iter < 200; iter++) {
    size_t n = 1 + rnd() % 3000;
    bool q = iter % 2 == 0;
    int64_t t0 = (int64_t)(rnd() % 100000) * 64000;
    make_statuses(st, n, (uint16_t)rnd(), t0, q);
    /* Quantized arrivals (multiples of 250 us) come back exactly: every
     * packet's reference is a multiple of 64 ms, itself a multiple of 250 us. */
    round_trip(n, iter % 3 == 0 ? 200 : 1200, q);
  }
}

static void test_build_splits(void **state) {
  (void)state;
  uint8_t out[1500];
  size_t used;
  /* A gap too long for a 16-bit delta (8191.75 ms) ends the packet. */
  for (int i = 0; i < 10; i++)
    st[i] = (sfu_twcc_status){(uint16_t)(500 + i), true, 1000000 + i * 1000};
  st[10] = (sfu_twcc_status){510, true, 1000000 + 9000 + 8192000};
  st[11] = (sfu_twcc_status){511, true, 1000000 + 9000 + 8193000};
  size_t len = sfu_twcc_build(out, sizeof(out), 0, 0, 0, st, 12, &used);
  assert_true(len > 0);
  assert_int_equal(used, 10);
  len = sfu_twcc_build(out, sizeof(out), 0, 0, 1, st + 10, 2, &used);
  assert_int_equal(used, 2);
  /* A large negative delta still fits: -8192 ms exactly. */
  st[0] = (sfu_twcc_status){1, true, 9000000};
  st[1] = (sfu_twcc_status){2, true, 9000000 - 8192000};
  len = sfu_twcc_build(out, sizeof(out), 0, 0, 0, st, 2, &used);
  assert_int_equal(used, 2);
  sfu_twcc_fb fb;
  assert_int_equal(sfu_twcc_parse(out, len, &fb, back, 8), 2);
  assert_int_equal(back[1].arrival_us - back[0].arrival_us, -8192000);
  /* The MTU: 3000 received packets with large deltas need several packets. */
  int64_t t = 0;
  for (int i = 0; i < 3000; i++) {
    t += 70000;
    st[i] = (sfu_twcc_status){(uint16_t)i, true, t};
  }
  size_t done = 0, packets = 0;
  while (done < 3000) {
    len = sfu_twcc_build(out, 1200, 0, 0, 0, st + done, 3000 - done, &used);
    assert_true(len > 0 && len <= 1200);
    assert_true(len > 1100 || done + used == 3000); /* packets are filled */
    done += used;
    packets++;
  }
  assert_true(packets >= 6 && packets <= 8);
  /* A long run of losses is cheap: one run chunk per 8191. */
  st[0] = (sfu_twcc_status){0, true, 64000};
  for (int i = 1; i < 4000; i++)
    st[i] = (sfu_twcc_status){(uint16_t)i, false, 0};
  st[4000] = (sfu_twcc_status){4000, true, 65000};
  len = sfu_twcc_build(out, 1200, 0, 0, 0, st, 4001, &used);
  assert_int_equal(used, 4001 < SFU_TWCC_BUILD_MAX ? 4001 : SFU_TWCC_BUILD_MAX);
  assert_true(len <= 40);
}

/* ---- the receive recorder ---- */

static size_t drain(sfu_twcc_recv *r, sfu_twcc_status *all, size_t max) {
  uint8_t out[1200];
  size_t len, n = 0;
  while ((len = sfu_twcc_recv_feedback(r, 77, out, sizeof(out))) > 0) {
    sfu_twcc_fb fb;
    int rc = sfu_twcc_parse(out, len, &fb, all + n, max - n);
    assert_true(rc > 0);
    assert_int_equal(fb.sender_ssrc, 77);
    assert_int_equal(fb.media_ssrc, 0xFEED);
    n += (size_t)rc;
  }
  return n;
}

static void test_recorder(void **state) {
  (void)state;
  static sfu_twcc_recv r;
  sfu_twcc_recv_init(&r);
  uint8_t out[1200];
  assert_int_equal(sfu_twcc_recv_feedback(&r, 1, out, sizeof(out)), 0);
  /* 65530..65535, 0..3 with 65533 lost and 1 arriving late (after 3). */
  int64_t t = 5000000;
  for (uint32_t s = 65530; s < 65540; s++) {
    uint16_t q = (uint16_t)s;
    if (q == 65533 || q == 1) continue;
    sfu_twcc_recv_packet(&r, q, t += 1000, 0xFEED);
  }
  sfu_twcc_recv_packet(&r, 3, t + 5000, 0xFEED); /* duplicate: ignored */
  size_t n = drain(&r, st, 8192);
  assert_int_equal(n, 10);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(st[i].seq, (uint16_t)(65530 + i));
    assert_int_equal(st[i].received, st[i].seq != 65533 && st[i].seq != 1);
  }
  assert_int_equal(st[9].arrival_us - st[0].arrival_us, 7000);
  assert_int_equal(sfu_twcc_recv_feedback(&r, 77, out, sizeof(out)), 0);
  /* The late one arrives: it is reported again, received. */
  sfu_twcc_recv_packet(&r, 1, t + 2000, 0xFEED);
  n = drain(&r, st, 8192);
  assert_int_equal(n, 3); /* 1 (received), 2, 3 again */
  assert_int_equal(st[0].seq, 1);
  assert_true(st[0].received && st[1].received && st[2].received);
  /* Far too old: ignored. A jump past the window: starts over there. */
  sfu_twcc_recv_packet(&r, (uint16_t)(3 - SFU_TWCC_RECV_RING - 5), t, 0xFEED);
  assert_int_equal(sfu_twcc_recv_feedback(&r, 77, out, sizeof(out)), 0);
  sfu_twcc_recv_packet(&r, 3 + 3 * SFU_TWCC_RECV_RING, t + 10000, 0xFEED);
  n = drain(&r, st, 8192);
  assert_int_equal(n, 1);
  assert_int_equal(st[0].seq, 3 + 3 * SFU_TWCC_RECV_RING);
  /* Feedback counts go up by one per packet. */
  uint8_t a[1200], b[1200];
  sfu_twcc_recv_packet(&r, 4 + 3 * SFU_TWCC_RECV_RING, t + 11000, 0xFEED);
  assert_true(sfu_twcc_recv_feedback(&r, 77, a, sizeof(a)) > 0);
  sfu_twcc_recv_packet(&r, 5 + 3 * SFU_TWCC_RECV_RING, t + 12000, 0xFEED);
  assert_true(sfu_twcc_recv_feedback(&r, 77, b, sizeof(b)) > 0);
  assert_int_equal((uint8_t)(b[19] - a[19]), 1);
}

static void test_recorder_window(void **state) {
  (void)state;
  static sfu_twcc_recv r;
  sfu_twcc_recv_init(&r);
  /* More packets than the ring between two feedbacks: the oldest are
   * given up, the rest reported in MTU-sized packets. */
  int64_t t = 0;
  for (int i = 0; i < 3 * SFU_TWCC_RECV_RING; i++)
    sfu_twcc_recv_packet(&r, (uint16_t)i, t += 250, 1);
  uint8_t out[1200];
  size_t len, total = 0, packets = 0;
  uint16_t expect = (uint16_t)(3 * SFU_TWCC_RECV_RING - SFU_TWCC_RECV_RING);
  while ((len = sfu_twcc_recv_feedback(&r, 1, out, sizeof(out))) > 0) {
    sfu_twcc_fb fb;
    int rc = sfu_twcc_parse(out, len, &fb, st, 8192);
    assert_true(rc > 0);
    assert_int_equal(fb.base_seq, expect);
    expect = (uint16_t)(expect + rc);
    total += (size_t)rc;
    packets++;
  }
  assert_int_equal(total, SFU_TWCC_RECV_RING);
  assert_true(packets >= 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ext_read_write),  cmocka_unit_test(test_unwrap),
      cmocka_unit_test(test_parse_example),   cmocka_unit_test(test_parse_chrome_run),
      cmocka_unit_test(test_parse_mixed),     cmocka_unit_test(test_parse_malformed),
      cmocka_unit_test(test_build_example),   cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_build_splits),    cmocka_unit_test(test_recorder),
      cmocka_unit_test(test_recorder_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
