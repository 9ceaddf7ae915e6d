/* Table tests for sfu_rtcp: walking real-looking compounds, report blocks,
 * NACK packing/expansion, REMB encoding, builders, malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_rtcp.h"
#include "sfu_rtp.h"

/* A Chrome-style receiver compound: RR, SDES, NACK, PLI, REMB, transport-cc. */
static const uint8_t compound[] = {
    /* RR, RC=1, length 7 */
    0x81,
    0xC9,
    0x00,
    0x07,
    0x00,
    0x00,
    0x00,
    0x01, /* sender ssrc 1 */
    0x1A,
    0x2B,
    0x3C,
    0x4D, /* source */
    0x0C,
    0xFF,
    0xFF,
    0xFB, /* fraction 12/256, cumulative -5 */
    0x00,
    0x01,
    0x12,
    0x34, /* ext highest seq: 1 cycle, 0x1234 */
    0x00,
    0x00,
    0x00,
    0x1F, /* jitter 31 */
    0x8A,
    0x7F,
    0x12,
    0x34, /* LSR */
    0x00,
    0x01,
    0x80,
    0x00, /* DLSR 1.5 s */
    /* SDES, 1 chunk, CNAME "abcdefghijklmnop", length 6 */
    0x81,
    0xCA,
    0x00,
    0x06,
    0x00,
    0x00,
    0x00,
    0x01,
    0x01,
    0x10,
    'a',
    'b',
    'c',
    'd',
    'e',
    'f',
    'g',
    'h',
    'i',
    'j',
    'k',
    'l',
    'm',
    'n',
    'o',
    'p',
    0x00,
    0x00,
    /* RTPFB NACK, length 3: PID 0x1234, BLP 0x0005 */
    0x81,
    0xCD,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x01,
    0x1A,
    0x2B,
    0x3C,
    0x4D,
    0x12,
    0x34,
    0x00,
    0x05,
    /* PSFB PLI, length 2 */
    0x81,
    0xCE,
    0x00,
    0x02,
    0x00,
    0x00,
    0x00,
    0x01,
    0x1A,
    0x2B,
    0x3C,
    0x4D,
    /* PSFB REMB, length 5: 1 ssrc, exp 4, mantissa 156250 = 2.5 Mbps */
    0x8F,
    0xCE,
    0x00,
    0x05,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    'R',
    'E',
    'M',
    'B',
    0x01,
    0x12,
    0x62,
    0x5A,
    0x1A,
    0x2B,
    0x3C,
    0x4D,
    /* RTPFB fmt 15 transport-cc, length 5 */
    0x8F,
    0xCD,
    0x00,
    0x05,
    0x00,
    0x00,
    0x00,
    0x01,
    0x1A,
    0x2B,
    0x3C,
    0x4D,
    0x00,
    0x07,
    0x00,
    0x02,
    0x00,
    0x01,
    0x2C,
    0x00,
    0x20,
    0x02,
    0x28,
    0x00,
};
static const size_t compound_ends[] = {32, 60, 76, 88, 112, 136};

/* A sender compound: SR with one report block, then BYE; and a FIR. */
static const uint8_t sr_compound[] = {
    0x81, 0xC8, 0x00, 0x0C, 0xCA, 0xFE, 0xBA, 0xBE, /* SR, RC=1, ssrc */
    0xE8, 0x9A, 0xBC, 0xDE, 0x80, 0x00, 0x00, 0x00, /* NTP */
    0x00, 0x01, 0x86, 0xA0,                         /* RTP ts 100000 */
    0x00, 0x00, 0x03, 0xE8,                         /* 1000 packets */
    0x00, 0x0F, 0x42, 0x40,                         /* 1000000 octets */
    0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* report block on ssrc 9 */
    0x81, 0xCB, 0x00, 0x01, 0xCA, 0xFE, 0xBA, 0xBE,                         /* BYE */
    0x84, 0xCE, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* FIR */
    0x1A, 0x2B, 0x3C, 0x4D, 0x07, 0x00, 0x00, 0x00,                         /* FCI: ssrc, seq 7 */
};

static void test_walk_receiver_compound(void **state) {
  (void)state;
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, compound, sizeof(compound));

  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_RR);
  assert_int_equal(item.fmt, 1);
  assert_int_equal(item.pt, 201);
  assert_int_equal(item.sender_ssrc, 1);
  assert_int_equal(item.len, 32);
  assert_ptr_equal(item.pkt, compound);
  sfu_rtcp_report_block rb[4];
  assert_int_equal(sfu_rtcp_report_blocks(&item, rb, 4), 1);
  assert_int_equal(rb[0].ssrc, 0x1A2B3C4D);
  assert_int_equal(rb[0].fraction_lost, 12);
  assert_int_equal(rb[0].cumulative_lost, -5);
  assert_int_equal(rb[0].ext_highest_seq, 0x00011234);
  assert_int_equal(rb[0].jitter, 31);
  assert_int_equal(rb[0].lsr, 0x8A7F1234);
  assert_int_equal(rb[0].dlsr, 0x00018000);
  assert_int_equal(sfu_rtcp_report_blocks(&item, rb, 0), 0);

  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_SDES);
  assert_int_equal(item.sender_ssrc, 1);
  assert_int_equal(item.len, 28);

  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_NACK);
  assert_int_equal(item.media_ssrc, 0x1A2B3C4D);
  uint16_t seqs[32];
  assert_int_equal(sfu_rtcp_nack_seqs(&item, seqs, 32), 3);
  assert_int_equal(seqs[0], 0x1234);
  assert_int_equal(seqs[1], 0x1235);
  assert_int_equal(seqs[2], 0x1237);
  assert_int_equal(sfu_rtcp_nack_seqs(&item, seqs, 2), 2);
  assert_int_equal(sfu_rtcp_report_blocks(&item, rb, 4), 0);

  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_PLI);
  assert_int_equal(item.sender_ssrc, 1);
  assert_int_equal(item.media_ssrc, 0x1A2B3C4D);
  assert_int_equal(sfu_rtcp_nack_seqs(&item, seqs, 32), 0);

  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_REMB);
  assert_int_equal(item.remb_bps, 2500000);
  assert_int_equal(item.media_ssrc, 0x1A2B3C4D);
  uint32_t ss[4];
  assert_int_equal(sfu_rtcp_remb_ssrcs(&item, ss, 4), 1);
  assert_int_equal(ss[0], 0x1A2B3C4D);

  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_OTHER);
  assert_int_equal(item.pt, 205);
  assert_int_equal(item.fmt, 15);
  assert_int_equal(item.media_ssrc, 0x1A2B3C4D);

  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 0);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 0);
}

static void test_walk_sender_compound(void **state) {
  (void)state;
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, sr_compound, sizeof(sr_compound));
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_SR);
  assert_int_equal(item.sender_ssrc, 0xCAFEBABE);
  assert_true(item.ntp == 0xE89ABCDE80000000ull);
  assert_int_equal(item.rtp_ts, 100000);
  assert_int_equal(item.sender_packets, 1000);
  assert_int_equal(item.sender_octets, 1000000);
  sfu_rtcp_report_block rb[2];
  assert_int_equal(sfu_rtcp_report_blocks(&item, rb, 2), 1);
  assert_int_equal(rb[0].ssrc, 9);
  assert_int_equal(rb[0].ext_highest_seq, 100);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_BYE);
  assert_int_equal(item.sender_ssrc, 0xCAFEBABE);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_FIR);
  assert_int_equal(item.media_ssrc, 0x1A2B3C4D);
  assert_int_equal(item.fir_seq, 7);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 0);
}

/* Walks a prefix; returns the items seen, *last = the final return value. */
static int walk(const uint8_t *buf, size_t len, int *last) {
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, buf, len);
  int n = 0, rc;
  while ((rc = sfu_rtcp_iter_next(&it, &item)) == 1)
    n++;
  *last = rc;
  if (rc < 0) /* stays stopped */
    assert_int_equal(sfu_rtcp_iter_next(&it, &item), 0);
  return n;
}

static void test_truncated(void **state) {
  (void)state;
  size_t nends = sizeof(compound_ends) / sizeof(compound_ends[0]);
  for (size_t n = 0; n <= sizeof(compound); n++) {
    int whole = 0, at_end = n == 0;
    for (size_t i = 0; i < nends; i++) {
      if (compound_ends[i] <= n) whole++;
      if (compound_ends[i] == n) at_end = 1;
    }
    int last;
    assert_int_equal(walk(compound, n, &last), whole);
    assert_int_equal(last, at_end ? 0 : -EINVAL);
  }
  static const size_t sr_ends[] = {52, 60, 80};
  for (size_t n = 0; n <= sizeof(sr_compound); n++) {
    int whole = 0, at_end = n == 0;
    for (size_t i = 0; i < 3; i++) {
      if (sr_ends[i] <= n) whole++;
      if (sr_ends[i] == n) at_end = 1;
    }
    int last;
    assert_int_equal(walk(sr_compound, n, &last), whole);
    assert_int_equal(last, at_end ? 0 : -EINVAL);
  }
}

/* One malformed packet after a good RR: the RR is returned, then -EINVAL. */
static void expect_bad(const uint8_t *pkt, size_t len) {
  uint8_t buf[128];
  assert_true(len + 32 <= sizeof(buf));
  memcpy(buf, compound, 32);
  memcpy(buf + 32, pkt, len);
  int last;
  assert_int_equal(walk(buf, 32 + len, &last), 1);
  assert_int_equal(last, -EINVAL);
}

static void test_malformed(void **state) {
  (void)state;
  /* bad versions */
  for (uint8_t v = 0; v < 4; v++) {
    uint8_t p[12] = {(uint8_t)((v << 6) | 1), 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
    int last;
    assert_int_equal(walk(p, sizeof(p), &last), v == 2 ? 1 : 0);
    assert_int_equal(last, v == 2 ? 0 : -EINVAL);
  }
  /* length field past the end */
  static const uint8_t len_past[] = {0x81, 0xCE, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2};
  expect_bad(len_past, sizeof(len_past));
  static const uint8_t len_max[] = {0x81, 0xCE, 0xFF, 0xFF, 0, 0, 0, 1, 0, 0, 0, 2};
  expect_bad(len_max, sizeof(len_max));
  /* report count past the end (RC=2, one block) */
  uint8_t rr2[32];
  memcpy(rr2, compound, 32);
  rr2[0] = 0x82;
  expect_bad(rr2, sizeof(rr2));
  /* SR too short for its sender info */
  static const uint8_t sr_short[] = {0x80, 0xC8, 0x00, 0x01, 0, 0, 0, 1};
  expect_bad(sr_short, sizeof(sr_short));
  /* RR with no room for the sender SSRC */
  static const uint8_t rr_short[] = {0x80, 0xC9, 0x00, 0x00};
  expect_bad(rr_short, sizeof(rr_short));
  /* padding bigger than the packet, and zero padding */
  static const uint8_t pad_big[] = {0xA1, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0x0D};
  expect_bad(pad_big, sizeof(pad_big));
  static const uint8_t pad_zero[] = {0xA1, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0x00};
  expect_bad(pad_zero, sizeof(pad_zero));
  /* padding eating into the PLI's media ssrc */
  static const uint8_t pad_pli[] = {0xA1, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0x04};
  expect_bad(pad_pli, sizeof(pad_pli));
  /* feedback shorter than its common part */
  static const uint8_t fb_short[] = {0x81, 0xCD, 0x00, 0x01, 0, 0, 0, 1};
  expect_bad(fb_short, sizeof(fb_short));
  /* FIR without an FCI entry */
  static const uint8_t fir_short[] = {0x84, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0};
  expect_bad(fir_short, sizeof(fir_short));
  /* REMB listing more SSRCs than it holds */
  static const uint8_t remb_n[] = {0x8F, 0xCE, 0x00, 0x05, 0,    0,    0,    1,    0, 0, 0, 0,
                                   'R',  'E',  'M',  'B',  0x02, 0x12, 0x62, 0x5A, 1, 2, 3, 4};
  expect_bad(remb_n, sizeof(remb_n));
  /* BYE with more SSRCs than it holds */
  static const uint8_t bye_n[] = {0x82, 0xCB, 0x00, 0x01, 0, 0, 0, 1};
  expect_bad(bye_n, sizeof(bye_n));
  /* not an RTCP packet type */
  static const uint8_t rtp_pt[] = {0x80, 0x60, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
  expect_bad(rtp_pt, sizeof(rtp_pt));
  /* trailing bytes shorter than a header */
  static const uint8_t stub[] = {0x80, 0xC9};
  expect_bad(stub, sizeof(stub));

  /* Valid padding on the last packet is accepted and not read as FCI. */
  static const uint8_t pad_ok[] = {0xA1, 0xCD, 0x00, 0x04, 0,    0,    0,    1,    0,    0,
                                   0,    2,    0x00, 0x0A, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04};
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, pad_ok, sizeof(pad_ok));
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_NACK);
  uint16_t seqs[20];
  assert_int_equal(sfu_rtcp_nack_seqs(&item, seqs, 20), 2);
  assert_int_equal(seqs[0], 10);
  assert_int_equal(seqs[1], 11);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 0);

  /* Empty and NULL input: simply the end. */
  sfu_rtcp_iter_init(&it, NULL, 10);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 0);
  sfu_rtcp_iter_init(&it, compound, 0);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 0);
}

static void test_build_sr(void **state) {
  (void)state;
  uint8_t out[64];
  uint64_t ntp = 0xE89ABCDE80000000ull;
  assert_int_equal(sfu_rtcp_build_sr(out, 27, 1, ntp, 2, 3, 4), 0);
  size_t n = sfu_rtcp_build_sr(out, sizeof(out), 0xCAFEBABE, ntp, 100000, 1000, 1000000);
  assert_int_equal(n, 28);
  assert_memory_equal(out, "\x80\xC8\x00\x06", 4);
  assert_memory_equal(out + 4, sr_compound + 4, 24); /* same body as the captured SR */
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, out, n);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_SR);
  assert_int_equal(item.fmt, 0);
  assert_true(item.ntp == ntp);
  assert_int_equal(item.sender_ssrc, 0xCAFEBABE);
  assert_int_equal(item.rtp_ts, 100000);
  assert_int_equal(item.sender_packets, 1000);
  assert_int_equal(item.sender_octets, 1000000);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 0);
}

static void test_build_rr(void **state) {
  (void)state;
  sfu_rtcp_report_block in[3] = {
      {0x1A2B3C4D, 12, -5, 0x00011234, 31, 0x8A7F1234, 0x00018000},
      {2, 255, 0x7FFFFF, 0xFFFFFFFF, 0, 0, 0},
      {3, 0, -0x800000, 0, 0xFFFFFFFF, 1, 2},
  };
  uint8_t out[256];
  /* Same bytes as Chrome's RR above. */
  assert_int_equal(sfu_rtcp_build_rr(out, sizeof(out), 1, in, 1), 32);
  assert_memory_equal(out, compound, 32);

  for (size_t nb = 0; nb <= 3; nb++) {
    size_t n = sfu_rtcp_build_rr(out, sizeof(out), 0x77, in, nb);
    assert_int_equal(n, 8 + 24 * nb);
    for (size_t cap = 0; cap < n; cap++)
      assert_int_equal(sfu_rtcp_build_rr(out, cap, 0x77, in, nb), 0);
    sfu_rtcp_iter it;
    sfu_rtcp_item item;
    sfu_rtcp_iter_init(&it, out, n);
    assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
    assert_int_equal(item.type, SFU_RTCP_RR);
    assert_int_equal(item.sender_ssrc, 0x77);
    sfu_rtcp_report_block rb[4];
    assert_int_equal(sfu_rtcp_report_blocks(&item, rb, 4), nb);
    for (size_t i = 0; i < nb; i++) {
      assert_int_equal(rb[i].ssrc, in[i].ssrc);
      assert_int_equal(rb[i].fraction_lost, in[i].fraction_lost);
      assert_int_equal(rb[i].cumulative_lost, in[i].cumulative_lost);
      assert_int_equal(rb[i].ext_highest_seq, in[i].ext_highest_seq);
      assert_int_equal(rb[i].jitter, in[i].jitter);
      assert_int_equal(rb[i].lsr, in[i].lsr);
      assert_int_equal(rb[i].dlsr, in[i].dlsr);
    }
  }

  /* Cumulative loss beyond 24 bits is clamped. */
  sfu_rtcp_report_block big = {5, 0, 0x1000000, 0, 0, 0, 0};
  size_t n = sfu_rtcp_build_rr(out, sizeof(out), 1, &big, 1);
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, out, n);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  sfu_rtcp_report_block rb;
  assert_int_equal(sfu_rtcp_report_blocks(&item, &rb, 1), 1);
  assert_int_equal(rb.cumulative_lost, 0x7FFFFF);
  big.cumulative_lost = -0x1000000;
  sfu_rtcp_build_rr(out, sizeof(out), 1, &big, 1);
  sfu_rtcp_iter_init(&it, out, n);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(sfu_rtcp_report_blocks(&item, &rb, 1), 1);
  assert_int_equal(rb.cumulative_lost, -0x800000);

  /* More than 31 blocks cannot be encoded. */
  static sfu_rtcp_report_block many[32];
  static uint8_t huge[8 + 32 * 24];
  assert_int_equal(sfu_rtcp_build_rr(huge, sizeof(huge), 1, many, 32), 0);
  assert_int_equal(sfu_rtcp_build_rr(huge, sizeof(huge), 1, many, 31), 8 + 31 * 24);
}

/* Builds a NACK from seqs and checks its FCI entries and its expansion. */
typedef struct {
  const char *name;
  uint16_t seqs[24];
  size_t n;
  uint16_t fci[8][2]; /* PID, BLP */
  size_t nfci;
  uint16_t expanded[24]; /* in packet order */
  size_t nexp;
} nack_case;

static const nack_case nack_cases[] = {
    {"one", {500}, 1, {{500, 0}}, 1, {500}, 1},
    {"blp bits 0 4 15 then a new pid",
     {100, 101, 105, 116, 117},
     5,
     {{100, 0x8011}, {117, 0}},
     2,
     {100, 101, 105, 116, 117},
     5},
    {"unordered with duplicates",
     {117, 105, 100, 101, 116, 100, 117},
     7,
     {{100, 0x8011}, {117, 0}},
     2,
     {100, 101, 105, 116, 117},
     5},
    {"wrap 65535 -> 0 in one entry",
     {1, 65534, 14, 0, 65535},
     5,
     {{65534, 0x8007}},
     1,
     {65534, 65535, 0, 1, 14},
     5},
    {"wrap across entries", {65530, 0, 5, 20}, 4, {{65530, 0x0420}, {20, 0}}, 2, {65530, 0, 5, 20}, 4},
    {"far apart", {0, 30000, 60000}, 3, {{30000, 0}, {60000, 0}, {0, 0}}, 3, {30000, 60000, 0}, 3},
    {"full run of 17",
     {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26},
     17,
     {{10, 0xFFFF}},
     1,
     {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26},
     17},
};

static void test_nack_pack_expand(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof(nack_cases) / sizeof(nack_cases[0]); c++) {
    const nack_case *tc = &nack_cases[c];
    uint8_t out[128];
    size_t n = sfu_rtcp_build_nack(out, sizeof(out), 0x11, 0x22, tc->seqs, tc->n);
    print_message("case %s\n", tc->name);
    assert_int_equal(n, 12 + 4 * tc->nfci);
    assert_int_equal(out[0], 0x81);
    assert_int_equal(out[1], 205);
    assert_int_equal(sfu_rd16(out + 2), n / 4 - 1);
    assert_int_equal(sfu_rd32(out + 4), 0x11);
    assert_int_equal(sfu_rd32(out + 8), 0x22);
    for (size_t i = 0; i < tc->nfci; i++) {
      assert_int_equal(sfu_rd16(out + 12 + 4 * i), tc->fci[i][0]);
      assert_int_equal(sfu_rd16(out + 14 + 4 * i), tc->fci[i][1]);
    }
    sfu_rtcp_iter it;
    sfu_rtcp_item item;
    sfu_rtcp_iter_init(&it, out, n);
    assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
    assert_int_equal(item.type, SFU_RTCP_NACK);
    assert_int_equal(item.sender_ssrc, 0x11);
    assert_int_equal(item.media_ssrc, 0x22);
    uint16_t got[64];
    assert_int_equal(sfu_rtcp_nack_seqs(&item, got, 64), tc->nexp);
    assert_memory_equal(got, tc->expanded, tc->nexp * sizeof(uint16_t));
    assert_int_equal(sfu_rtcp_iter_next(&it, &item), 0);
  }
}

static void test_nack_limits(void **state) {
  (void)state;
  uint8_t out[64];
  uint16_t seqs[] = {100, 200, 300};
  assert_int_equal(sfu_rtcp_build_nack(out, sizeof(out), 1, 2, seqs, 0), 0);
  assert_int_equal(sfu_rtcp_build_nack(out, 15, 1, 2, seqs, 3), 0);
  /* As many entries as fit, oldest first. */
  assert_int_equal(sfu_rtcp_build_nack(out, 16, 1, 2, seqs, 3), 16);
  assert_int_equal(sfu_rd16(out + 2), 3);
  assert_int_equal(sfu_rd16(out + 12), 100);
  assert_int_equal(sfu_rtcp_build_nack(out, 23, 1, 2, seqs, 3), 20);
  assert_int_equal(sfu_rd16(out + 16), 200);

  /* Every sequence number: 65536 / 17 entries, expanding back to all. */
  static uint16_t all[65536];
  static uint16_t back[65536];
  static uint8_t big[12 + 4 * 3856];
  for (uint32_t i = 0; i < 65536; i++)
    all[i] = (uint16_t)(i * 7919u); /* a permutation */
  size_t n = sfu_rtcp_build_nack(big, sizeof(big), 1, 2, all, 65536);
  assert_int_equal(n, 12 + 4 * 3856);
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, big, n);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(sfu_rtcp_nack_seqs(&item, back, 65536), 65536);
  for (uint32_t i = 0; i < 65536; i++)
    assert_int_equal(back[i], i); /* no gap anywhere: starts at 0 */
}

static void test_build_pli(void **state) {
  (void)state;
  uint8_t out[16];
  assert_int_equal(sfu_rtcp_build_pli(out, 11, 1, 0x1A2B3C4D), 0);
  assert_int_equal(sfu_rtcp_build_pli(out, sizeof(out), 1, 0x1A2B3C4D), 12);
  assert_memory_equal(out, compound + 76, 12);
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, out, 12);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_PLI);
  assert_int_equal(item.sender_ssrc, 1);
  assert_int_equal(item.media_ssrc, 0x1A2B3C4D);
}

static void test_build_remb(void **state) {
  (void)state;
  uint8_t out[64];
  uint32_t ssrc = 0x1A2B3C4D;
  assert_int_equal(sfu_rtcp_build_remb(out, sizeof(out), 1, 2500000, &ssrc, 1), 24);
  assert_memory_equal(out, compound + 88, 24);
  assert_int_equal(sfu_rtcp_build_remb(out, 23, 1, 2500000, &ssrc, 1), 0);

  static const uint64_t rates[] = {
      0,
      1,
      30000,
      262143,
      262144,
      262145,
      300000,
      1000000,
      2500000,
      5123457,
      30000000,
      1000000000,
      1ull << 40,
      (1ull << 40) + 12345,
      UINT64_MAX >> 18,
      UINT64_MAX,
  };
  uint32_t ssrcs[3] = {0xA, 0xB, 0xC};
  for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
    size_t n = sfu_rtcp_build_remb(out, sizeof(out), 7, rates[i], ssrcs, 3);
    assert_int_equal(n, 32);
    sfu_rtcp_iter it;
    sfu_rtcp_item item;
    sfu_rtcp_iter_init(&it, out, n);
    assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
    assert_int_equal(item.type, SFU_RTCP_REMB);
    assert_int_equal(item.sender_ssrc, 7);
    assert_int_equal(item.media_ssrc, 0xA);
    /* Never above the input, and within one mantissa step (2^-17) of it. */
    uint64_t got = item.remb_bps;
    assert_true(got <= rates[i]);
    assert_true(rates[i] - got <= rates[i] >> 17);
    if (rates[i] < (1u << 18) || rates[i] == 2500000 || rates[i] == (1ull << 40))
      assert_true(got == rates[i]);
    uint32_t back[4];
    assert_int_equal(sfu_rtcp_remb_ssrcs(&item, back, 4), 3);
    assert_memory_equal(back, ssrcs, sizeof(ssrcs));
    assert_int_equal(sfu_rtcp_remb_ssrcs(&item, back, 2), 2);
  }
  /* No SSRCs is legal; media_ssrc is then 0. */
  size_t n = sfu_rtcp_build_remb(out, sizeof(out), 7, 64000, NULL, 0);
  assert_int_equal(n, 20);
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, out, n);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_int_equal(item.type, SFU_RTCP_REMB);
  assert_int_equal(item.remb_bps, 64000);
  assert_int_equal(item.media_ssrc, 0);

  /* A received exponent of 63 saturates instead of overflowing. */
  memcpy(out, compound + 88, 24);
  out[17] = 0xFF;
  sfu_rtcp_iter_init(&it, out, 24);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_true(item.remb_bps == UINT64_MAX);
  out[17] = (uint8_t)(46 << 2 | 3);
  out[18] = out[19] = 0xFF;
  sfu_rtcp_iter_init(&it, out, 24);
  assert_int_equal(sfu_rtcp_iter_next(&it, &item), 1);
  assert_true(item.remb_bps == 0x3FFFFull << 46);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_walk_receiver_compound),
      cmocka_unit_test(test_walk_sender_compound),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_build_sr),
      cmocka_unit_test(test_build_rr),
      cmocka_unit_test(test_nack_pack_expand),
      cmocka_unit_test(test_nack_limits),
      cmocka_unit_test(test_build_pli),
      cmocka_unit_test(test_build_remb),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
