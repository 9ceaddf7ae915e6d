/* Table tests for sfu_rtp: parse, extension lookup, the subscriber rewrite,
 * and rejection of malformed packets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_rtp.h"

/* Chrome VP8 keyframe start: extmap 2 abs-send-time, 3 transport-cc, 4 mid. */
static const uint8_t vp8_pkt[] = {
    0x90, 0xE0,             /* V=2 X=1 CC=0; M=1 PT=96 */
    0x12, 0x34,             /* seq 0x1234 */
    0x5F, 0x3A, 0x2B, 0x10, /* ts */
    0x1A, 0x2B, 0x3C, 0x4D, /* ssrc */
    0xBE, 0xDE, 0x00, 0x03, /* one-byte extensions, 3 words */
    0x22, 0x4D, 0x12, 0x80, /* id 2 len 3: abs-send-time */
    0x31, 0x01, 0x2C,       /* id 3 len 2: transport-cc seq 300 */
    0x40, 0x30,             /* id 4 len 1: mid "0" */
    0x00, 0x00, 0x00,       /* padding to a word */
    0x90, 0x80, 0x9F, 0xA1, /* VP8 descriptor: X S, I, PictureID 0x1FA1 (M=1) */
    0x50, 0x1E, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01, /* keyframe header 640x480 */
};
#define VP8_PAYLOAD_OFF 28

/* Chrome Opus: extmap 1 ssrc-audio-level, 3 transport-cc, 4 mid. */
static const uint8_t opus_pkt[] = {
    0x90, 0x6F,                                     /* X=1; M=0 PT=111 */
    0xFF, 0xFE,                                     /* seq 65534 */
    0x00, 0x00, 0xBB, 0x80,                         /* ts 48000 */
    0xCA, 0xFE, 0xBA, 0xBE,                         /* ssrc */
    0xBE, 0xDE, 0x00, 0x02,                         /* 2 words */
    0x10, 0xBA,                                     /* id 1 len 1: V=1 level 58 */
    0x31, 0x00, 0x2C,                               /* id 3 len 2 */
    0x40, 0x31,                                     /* id 4 len 1: mid "1" */
    0x00,                                           /* padding */
    0x78, 0x0B, 0xE4, 0xC1, 0x36, 0xEC, 0xC5, 0x8D, /* Opus TOC + frame */
};

/* Two-byte extension profile 0x1000, with CSRCs and RTP padding. */
static const uint8_t twobyte_pkt[] = {
    0xB2, 0x08, /* V=2 P=1 X=1 CC=2; PT=8 */
    0x00, 0x07, 0x00, 0x00, 0x00, 0xA0, 0x11, 0x22, 0x33, 0x44, 0xAA, 0xAA, 0xAA, 0x01, /* csrc 1 */
    0xBB, 0xBB, 0xBB, 0x02,                                                             /* csrc 2 */
    0x10, 0x00, 0x00, 0x02, /* two-byte, 2 words */
    0x05, 0x02, 0xAB, 0xCD, /* id 5 len 2 */
    0x00, 0x07, 0x00, 0x00, /* padding, id 7 len 0, padding */
    0xD5, 0xD5, 0xD5,       /* payload */
    0x00, 0x00, 0x03,       /* RTP padding, 3 bytes */
};

static void test_parse_vp8(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(vp8_pkt, sizeof(vp8_pkt), &h), 0);
  assert_int_equal(h.pt, 96);
  assert_true(h.marker);
  assert_int_equal(h.seq, 0x1234);
  assert_int_equal(h.ts, 0x5F3A2B10);
  assert_int_equal(h.ssrc, 0x1A2B3C4D);
  assert_int_equal(h.csrc_count, 0);
  assert_int_equal(h.ext_profile, 0xBEDE);
  assert_int_equal(h.ext_off, 16);
  assert_int_equal(h.ext_len, 12);
  assert_int_equal(h.payload_off, VP8_PAYLOAD_OFF);
  assert_int_equal(h.payload_len, sizeof(vp8_pkt) - VP8_PAYLOAD_OFF);
  assert_int_equal(h.padding_len, 0);

  size_t l = 0;
  const uint8_t *v = sfu_rtp_ext_find(vp8_pkt, &h, 2, &l);
  assert_non_null(v);
  assert_int_equal(l, 3);
  assert_memory_equal(v, "\x4D\x12\x80", 3);
  v = sfu_rtp_ext_find(vp8_pkt, &h, 3, &l);
  assert_non_null(v);
  assert_int_equal(l, 2);
  assert_int_equal(sfu_rd16(v), 300);
  v = sfu_rtp_ext_find(vp8_pkt, &h, 4, &l);
  assert_non_null(v);
  assert_int_equal(l, 1);
  assert_int_equal(v[0], '0');
  assert_null(sfu_rtp_ext_find(vp8_pkt, &h, 5, &l));
  assert_null(sfu_rtp_ext_find(vp8_pkt, &h, 0, &l));
  assert_null(sfu_rtp_ext_find(vp8_pkt, &h, 15, &l));
  assert_false(sfu_rtp_is_rtcp(vp8_pkt, sizeof(vp8_pkt)));
}

static void test_parse_opus(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(opus_pkt, sizeof(opus_pkt), &h), 0);
  assert_int_equal(h.pt, 111);
  assert_false(h.marker);
  assert_int_equal(h.seq, 65534);
  assert_int_equal(h.ts, 48000);
  assert_int_equal(h.ssrc, 0xCAFEBABE);
  assert_int_equal(h.payload_off, 24);
  assert_int_equal(h.payload_len, 8);
  size_t l;
  const uint8_t *v = sfu_rtp_ext_find(opus_pkt, &h, 1, &l);
  assert_non_null(v);
  assert_int_equal(l, 1);
  assert_int_equal(v[0] & 0x80, 0x80); /* voice activity */
  assert_int_equal(v[0] & 0x7F, 58);   /* -58 dBov */
  v = sfu_rtp_ext_find(opus_pkt, &h, 4, &l);
  assert_non_null(v);
  assert_int_equal(v[0], '1');
}

static void test_parse_twobyte_csrc_padding(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(twobyte_pkt, sizeof(twobyte_pkt), &h), 0);
  assert_int_equal(h.csrc_count, 2);
  assert_int_equal(h.ext_profile, 0x1000);
  assert_int_equal(h.ext_off, 24);
  assert_int_equal(h.ext_len, 8);
  assert_int_equal(h.payload_off, 32);
  assert_int_equal(h.payload_len, 3);
  assert_int_equal(h.padding_len, 3);
  size_t l;
  const uint8_t *v = sfu_rtp_ext_find(twobyte_pkt, &h, 5, &l);
  assert_non_null(v);
  assert_int_equal(l, 2);
  assert_memory_equal(v, "\xAB\xCD", 2);
  v = sfu_rtp_ext_find(twobyte_pkt, &h, 7, &l);
  assert_non_null(v);
  assert_int_equal(l, 0);
  assert_null(sfu_rtp_ext_find(twobyte_pkt, &h, 6, &l));
}

static void test_parse_minimal(void **state) {
  (void)state;
  const uint8_t p[12] = {0x80, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(p, sizeof(p), &h), 0);
  assert_int_equal(h.payload_off, 12);
  assert_int_equal(h.payload_len, 0);
  assert_int_equal(h.ext_profile, 0);
  assert_int_equal(h.ext_len, 0);
  assert_null(sfu_rtp_ext_find(p, &h, 1, NULL));
}

/* Every prefix shorter than the header is rejected; longer prefixes of a
 * packet without padding are valid packets with a shorter payload. */
static void check_truncations(const uint8_t *pkt, size_t len) {
  sfu_rtp_hdr full;
  assert_int_equal(sfu_rtp_parse(pkt, len, &full), 0);
  for (size_t n = 0; n < len; n++) {
    sfu_rtp_hdr h;
    int rc = sfu_rtp_parse(pkt, n, &h);
    if (n < full.payload_off) {
      assert_int_equal(rc, -EINVAL);
    } else if (full.padding_len == 0) {
      assert_int_equal(rc, 0);
      assert_int_equal(h.payload_len, n - full.payload_off);
    } else if (rc == 0) {
      assert_true(h.payload_off + h.payload_len + h.padding_len == n);
    }
  }
}

static void test_truncated(void **state) {
  (void)state;
  check_truncations(vp8_pkt, sizeof(vp8_pkt));
  check_truncations(opus_pkt, sizeof(opus_pkt));
  check_truncations(twobyte_pkt, sizeof(twobyte_pkt));
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(NULL, 0, &h), -EINVAL);
}

static void test_malformed(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  uint8_t p[64];

  for (int v = 0; v < 4; v++) { /* only version 2 */
    memcpy(p, vp8_pkt, sizeof(vp8_pkt));
    p[0] = (uint8_t)((p[0] & 0x3F) | (v << 6));
    assert_int_equal(sfu_rtp_parse(p, sizeof(vp8_pkt), &h), v == 2 ? 0 : -EINVAL);
  }

  /* CSRC count past the end: 15 CSRCs need 72 bytes. */
  memset(p, 0, sizeof(p));
  p[0] = 0x8F;
  assert_int_equal(sfu_rtp_parse(p, 64, &h), -EINVAL);
  assert_int_equal(sfu_rtp_parse(p, 72 - 1, &h), -EINVAL);
  p[0] = 0x81; /* 1 CSRC, exactly 16 bytes */
  assert_int_equal(sfu_rtp_parse(p, 16, &h), 0);
  assert_int_equal(sfu_rtp_parse(p, 15, &h), -EINVAL);

  /* Extension length past the end. */
  memcpy(p, vp8_pkt, sizeof(vp8_pkt));
  p[15] = 0x07; /* 7 words = 28 bytes, only 26 follow */
  assert_int_equal(sfu_rtp_parse(p, sizeof(vp8_pkt), &h), -EINVAL);
  p[14] = 0xFF;
  p[15] = 0xFF;
  assert_int_equal(sfu_rtp_parse(p, sizeof(vp8_pkt), &h), -EINVAL);
  p[14] = 0x00;
  p[15] = 0x06; /* 24 bytes: fits, empty payload */
  assert_int_equal(sfu_rtp_parse(p, 16 + 24, &h), 0);
  assert_int_equal(h.payload_len, 0);

  /* X set but no room for the extension header. */
  memset(p, 0, sizeof(p));
  p[0] = 0x90;
  assert_int_equal(sfu_rtp_parse(p, 15, &h), -EINVAL);
  assert_int_equal(sfu_rtp_parse(p, 16, &h), 0);

  /* Padding: bigger than the payload, zero, exactly the payload. */
  memset(p, 0, sizeof(p));
  p[0] = 0xA0;
  p[19] = 9; /* 8 bytes after header */
  assert_int_equal(sfu_rtp_parse(p, 20, &h), -EINVAL);
  p[19] = 0;
  assert_int_equal(sfu_rtp_parse(p, 20, &h), -EINVAL);
  p[19] = 8;
  assert_int_equal(sfu_rtp_parse(p, 20, &h), 0);
  assert_int_equal(h.payload_len, 0);
  assert_int_equal(h.padding_len, 8);
  p[19] = 3;
  assert_int_equal(sfu_rtp_parse(p, 20, &h), 0);
  assert_int_equal(h.payload_len, 5);
  assert_int_equal(sfu_rtp_parse(p, 12, &h), -EINVAL); /* P set, no byte to hold the count */

  /* One-byte extension with an element running past its block: the
   * elements before it are still found, it is not. */
  static const uint8_t bad_elem[] = {0x90, 0x60, 0,    1,    0,    0,    0,    1,    0,    0,   0,
                                     1,    0xBE, 0xDE, 0x00, 0x01, 0x10, 0xAA, 0x23, 0x01, 0xEE};
  assert_int_equal(sfu_rtp_parse(bad_elem, sizeof(bad_elem), &h), 0);
  assert_non_null(sfu_rtp_ext_find(bad_elem, &h, 1, NULL));
  assert_null(sfu_rtp_ext_find(bad_elem, &h, 2, NULL));
  /* Id 15 ends processing (RFC 8285). */
  static const uint8_t id15[] = {0x90, 0x60, 0,    1,    0,    0,    0,    1,    0,    0,
                                 0,    1,    0xBE, 0xDE, 0x00, 0x01, 0xF0, 0x00, 0x20, 0x55};
  assert_int_equal(sfu_rtp_parse(id15, sizeof(id15), &h), 0);
  assert_null(sfu_rtp_ext_find(id15, &h, 2, NULL));
  /* Unknown profile: no elements. */
  static const uint8_t other[] = {0x90, 0x60, 0,    1,    0,    0,    0,    1,    0,    0,
                                  0,    1,    0x12, 0x34, 0x00, 0x01, 0x10, 0xAA, 0x00, 0x00};
  assert_int_equal(sfu_rtp_parse(other, sizeof(other), &h), 0);
  assert_int_equal(h.ext_profile, 0x1234);
  assert_null(sfu_rtp_ext_find(other, &h, 1, NULL));
}

static void test_is_rtcp(void **state) {
  (void)state;
  static const struct {
    uint8_t b0, b1;
    bool rtcp;
  } t[] = {
      {0x81, 200, true},                      /* SR */
      {0x81, 201, true},                      /* RR */
      {0x8F, 206, true},                      /* PSFB */
      {0x80, 192, true},                      /* first of the range */
      {0x80, 223, true},                      /* last of the range */
      {0x80, 96, false},                      /* VP8 */
      {0x80, 224, false},                     /* VP8 with marker */
      {0x80, 111, false},                     /* Opus */
      {0x80, 191, false}, {0x40, 200, false}, /* version 1 */
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    uint8_t p[8] = {t[i].b0, t[i].b1, 0, 1};
    assert_int_equal(sfu_rtp_is_rtcp(p, sizeof(p)), t[i].rtcp);
  }
  uint8_t p[1] = {0x81};
  assert_false(sfu_rtp_is_rtcp(p, 1));
  assert_false(sfu_rtp_is_rtcp(NULL, 0));
}

static sfu_rtp_rewrite base_rw(void) {
  sfu_rtp_rewrite rw;
  memset(&rw, 0, sizeof(rw));
  rw.ssrc = 0x01020304;
  rw.seq = 0xFFFF;
  rw.ts = 0xDEADBEEF;
  rw.pt = 100;
  return rw;
}

/* Drops mid (4 -> 0), renumbers transport-cc 3 -> 5, adds mid "v1" as id 9. */
static void test_rewrite_vp8(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(vp8_pkt, sizeof(vp8_pkt), &h), 0);
  sfu_rtp_rewrite rw = base_rw();
  rw.ext_map[2] = 2;
  rw.ext_map[3] = 5;
  rw.mid_id = 9;
  rw.mid = "v1";
  rw.mid_len = 2;
  uint8_t out[256];
  size_t n = sfu_rtp_rewrite_into(vp8_pkt, &h, &rw, out, sizeof(out));
  static const uint8_t want_hdr[] = {
      0x90, 0xE4, 0xFF, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, /* M kept, PT 100 */
      0xBE, 0xDE, 0x00, 0x03,                                                 /* 3 words */
      0x91, 'v',  '1',                                                        /* mid first */
      0x22, 0x4D, 0x12, 0x80,                                                 /* abs-send-time */
      0x51, 0x01, 0x2C,                                                       /* transport-cc as 5 */
      0x00, 0x00,                                                             /* pad to a word */
  };
  assert_int_equal(n, sizeof(want_hdr) + h.payload_len);
  assert_memory_equal(out, want_hdr, sizeof(want_hdr));
  assert_memory_equal(out + sizeof(want_hdr), vp8_pkt + VP8_PAYLOAD_OFF, h.payload_len);

  /* The copy parses back to what was asked for. */
  sfu_rtp_hdr o;
  assert_int_equal(sfu_rtp_parse(out, n, &o), 0);
  assert_int_equal(o.ssrc, rw.ssrc);
  assert_int_equal(o.seq, rw.seq);
  assert_int_equal(o.ts, rw.ts);
  assert_int_equal(o.pt, 100);
  assert_true(o.marker);
  size_t l;
  const uint8_t *v = sfu_rtp_ext_find(out, &o, 9, &l);
  assert_non_null(v);
  assert_int_equal(l, 2);
  assert_memory_equal(v, "v1", 2);
  assert_null(sfu_rtp_ext_find(out, &o, 4, &l));
  assert_null(sfu_rtp_ext_find(out, &o, 3, &l));
  v = sfu_rtp_ext_find(out, &o, 5, &l);
  assert_non_null(v);
  assert_int_equal(sfu_rd16(v), 300);

  /* Every smaller capacity fails cleanly; the exact one works. */
  for (size_t cap = 0; cap < n; cap++)
    assert_int_equal(sfu_rtp_rewrite_into(vp8_pkt, &h, &rw, out, cap), 0);
  assert_int_equal(sfu_rtp_rewrite_into(vp8_pkt, &h, &rw, out, n), n);
}

/* The publisher's mid element maps onto the subscriber's mid id: it is
 * replaced by the subscriber's value, never duplicated. */
static void test_rewrite_mid_replaced(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(opus_pkt, sizeof(opus_pkt), &h), 0);
  sfu_rtp_rewrite rw = base_rw();
  rw.pt = 111;
  rw.ext_map[1] = 1;
  rw.ext_map[3] = 3;
  rw.ext_map[4] = 4;
  rw.mid_id = 4;
  rw.mid = "audio-sub-7";
  rw.mid_len = 11;
  uint8_t out[128];
  size_t n = sfu_rtp_rewrite_into(opus_pkt, &h, &rw, out, sizeof(out));
  static const uint8_t want_ext[] = {
      0xBE, 0xDE, 0x00, 0x05, 0x4A, 'a',  'u',  'd',  'i',  'o',  '-',  's',
      'u',  'b',  '-',  '7',  0x10, 0xBA, 0x31, 0x00, 0x2C, 0x00, 0x00, 0x00,
  };
  assert_int_equal(n, 12 + sizeof(want_ext) + 8);
  assert_int_equal(out[0], 0x90);
  assert_int_equal(out[1], 111);
  assert_memory_equal(out + 12, want_ext, sizeof(want_ext));
  assert_memory_equal(out + 12 + sizeof(want_ext), opus_pkt + 24, 8);

  /* mid_id set but the publisher's mid maps elsewhere: still one mid. */
  rw.ext_map[4] = 0;
  rw.mid = "a";
  rw.mid_len = 1;
  n = sfu_rtp_rewrite_into(opus_pkt, &h, &rw, out, sizeof(out));
  sfu_rtp_hdr o;
  assert_int_equal(sfu_rtp_parse(out, n, &o), 0);
  size_t l;
  const uint8_t *v = sfu_rtp_ext_find(out, &o, 4, &l);
  assert_non_null(v);
  assert_int_equal(l, 1);
  assert_int_equal(v[0], 'a');
  assert_int_equal(o.ext_len, 8); /* 2 + 2 + 3 = 7, padded */
}

static void test_rewrite_no_ext(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(vp8_pkt, sizeof(vp8_pkt), &h), 0);
  sfu_rtp_rewrite rw = base_rw(); /* every element dropped, no mid */
  uint8_t out[128];
  size_t n = sfu_rtp_rewrite_into(vp8_pkt, &h, &rw, out, sizeof(out));
  assert_int_equal(n, 12 + h.payload_len);
  assert_int_equal(out[0], 0x80); /* X cleared */
  assert_memory_equal(out + 12, vp8_pkt + VP8_PAYLOAD_OFF, h.payload_len);

  /* mid_len out of range (0 or > 16) or NULL mid: no mid written. */
  rw.mid_id = 4;
  rw.mid = "x";
  rw.mid_len = 0;
  assert_int_equal(sfu_rtp_rewrite_into(vp8_pkt, &h, &rw, out, sizeof(out)), 12 + h.payload_len);
  rw.mid_len = 17;
  assert_int_equal(sfu_rtp_rewrite_into(vp8_pkt, &h, &rw, out, sizeof(out)), 12 + h.payload_len);
  rw.mid = NULL;
  rw.mid_len = 1;
  assert_int_equal(sfu_rtp_rewrite_into(vp8_pkt, &h, &rw, out, sizeof(out)), 12 + h.payload_len);
  /* Found by fuzzing: with every element dropped and a payload shorter than
   * an extension header, the exact capacity must still be enough. */
  static const uint8_t tiny[] = {0x90, 0x3A, 0x66, 0x01, 0,    0x8B, 0,    0,    1,    1,    0,
                                 0,    0xBE, 0xDE, 0x00, 0x01, 0x10, 0x84, 0x00, 0x00, 0xAB, 0xCD};
  assert_int_equal(sfu_rtp_parse(tiny, sizeof(tiny), &h), 0);
  rw = base_rw();
  assert_int_equal(sfu_rtp_rewrite_into(tiny, &h, &rw, out, 14), 14);
  assert_int_equal(out[0], 0x80);
  assert_memory_equal(out + 12, "\xAB\xCD", 2);
  assert_int_equal(sfu_rtp_rewrite_into(tiny, &h, &rw, out, 13), 0);
  assert_int_equal(sfu_rtp_parse(vp8_pkt, sizeof(vp8_pkt), &h), 0);

  /* Subscriber ids above 14 cannot be written as one-byte elements. */
  rw = base_rw();
  rw.ext_map[2] = 15;
  assert_int_equal(sfu_rtp_rewrite_into(vp8_pkt, &h, &rw, out, sizeof(out)), 12 + h.payload_len);
}

/* Two-byte extensions and RTP padding are dropped; CSRCs stay. */
static void test_rewrite_twobyte_csrc_padding(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(twobyte_pkt, sizeof(twobyte_pkt), &h), 0);
  sfu_rtp_rewrite rw = base_rw();
  rw.pt = 8;
  for (int i = 1; i < 16; i++)
    rw.ext_map[i] = (uint8_t)i;
  rw.mid_id = 1;
  rw.mid = "m";
  rw.mid_len = 1;
  uint8_t out[128];
  size_t n = sfu_rtp_rewrite_into(twobyte_pkt, &h, &rw, out, sizeof(out));
  static const uint8_t want[] = {
      0x92, 0x08, 0xFF, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, /* P cleared, CC=2 */
      0xAA, 0xAA, 0xAA, 0x01, 0xBB, 0xBB, 0xBB, 0x02,                         /* CSRCs */
      0xBE, 0xDE, 0x00, 0x01, 0x10, 'm',  0x00, 0x00,                         /* only the mid */
      0xD5, 0xD5, 0xD5,                                                       /* payload, no padding */
  };
  assert_int_equal(n, sizeof(want));
  assert_memory_equal(out, want, sizeof(want));

  rw.mid_id = 0;
  n = sfu_rtp_rewrite_into(twobyte_pkt, &h, &rw, out, sizeof(out));
  assert_int_equal(n, 12 + 8 + 3);
  assert_int_equal(out[0], 0x82);
  sfu_rtp_hdr o;
  assert_int_equal(sfu_rtp_parse(out, n, &o), 0);
  assert_int_equal(o.csrc_count, 2);
  assert_int_equal(o.payload_len, 3);
  assert_int_equal(o.padding_len, 0);
}

/* Padding bytes between source elements are skipped; id 15 stops the walk. */
static void test_rewrite_source_quirks(void **state) {
  (void)state;
  static const uint8_t p[] = {
      0x80 | 0x10, 0x60, 0,    1,    0,    0,    0,    1,    0,    0,
      0,           1,    0xBE, 0xDE, 0x00, 0x02, 0x03, 0x10, 0xAA, /* id 0: one padding byte; id 1 len 1 */
      0xF0,                                                        /* id 15: stop */
      0x20,        0xBB, 0x00, 0x00, 0x77,
  };
  sfu_rtp_hdr h;
  assert_int_equal(sfu_rtp_parse(p, sizeof(p), &h), 0);
  sfu_rtp_rewrite rw = base_rw();
  rw.ext_map[1] = 3;
  rw.ext_map[2] = 2;
  uint8_t out[64];
  size_t n = sfu_rtp_rewrite_into(p, &h, &rw, out, sizeof(out));
  static const uint8_t want_ext[] = {0xBE, 0xDE, 0x00, 0x01, 0x30, 0xAA, 0x00, 0x00, 0x77};
  assert_int_equal(n, 12 + sizeof(want_ext));
  assert_memory_equal(out + 12, want_ext, sizeof(want_ext));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_vp8),
      cmocka_unit_test(test_parse_opus),
      cmocka_unit_test(test_parse_twobyte_csrc_padding),
      cmocka_unit_test(test_parse_minimal),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_is_rtcp),
      cmocka_unit_test(test_rewrite_vp8),
      cmocka_unit_test(test_rewrite_mid_replaced),
      cmocka_unit_test(test_rewrite_no_ext),
      cmocka_unit_test(test_rewrite_twobyte_csrc_padding),
      cmocka_unit_test(test_rewrite_source_quirks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
