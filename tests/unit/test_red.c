/* Tests for sfu_red: RED payloads as Chromium builds them, malformed ones,
 * the plain-Opus packets rebuilt from blocks, and which blocks fill a gap. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_red.h"
#include "sfu_rtp.h"

/* RTP header (pt 63, seq 1000, ts 96000, ssrc 0x11223344, one-byte
 * extension: id 1 = audio level 0x9E), then a RED payload: a redundant
 * block (pt 111, offset 960, 3 bytes "abc"), the primary (pt 111, "WXYZ"). */
static const uint8_t chrome_red[] = {
    0x90,       63,   0x03, 0xE8, 0x00, 0x01, 0x77, 0x00, 0x11, 0x22, 0x33, 0x44, /* fixed header, X=1 */
    0xBE,       0xDE, 0x00, 0x01, 0x10, 0x9E, 0x00, 0x00,                         /* extension */
    0x80 | 111, 0x0F, 0x00, 0x03, /* F=1 pt 111 off 960 len 3 */
    111,                          /* F=0 pt 111 */
    'a',        'b',  'c',  'W',  'X',  'Y',  'Z',
};

static void parse_pkt(const uint8_t *pkt, size_t len, sfu_rtp_hdr *h, sfu_red *r) {
  assert_int_equal(sfu_rtp_parse(pkt, len, h), 0);
  assert_int_equal(sfu_red_parse(pkt + h->payload_off, h->payload_len, r), 0);
}

static void test_parse_chrome(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  sfu_red r;
  parse_pkt(chrome_red, sizeof chrome_red, &h, &r);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.b[0].pt, 111);
  assert_int_equal(r.b[0].ts_offset, 960);
  assert_int_equal(r.b[0].off, 5);
  assert_int_equal(r.b[0].len, 3);
  assert_int_equal(r.b[1].pt, 111);
  assert_int_equal(r.b[1].ts_offset, 0);
  assert_int_equal(r.b[1].off, 8);
  assert_int_equal(r.b[1].len, 4);
  assert_memory_equal(chrome_red + h.payload_off + r.b[1].off, "WXYZ", 4);
}

static void test_parse_edges(void **state) {
  (void)state;
  sfu_red r;
  const uint8_t primary_only[] = {111, 1, 2, 3};
  assert_int_equal(sfu_red_parse(primary_only, sizeof primary_only, &r), 0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.b[0].off, 1);
  assert_int_equal(r.b[0].len, 3);
  const uint8_t empty_primary[] = {111};
  assert_int_equal(sfu_red_parse(empty_primary, 1, &r), 0);
  assert_int_equal(r.b[0].len, 0);
  /* max offset and length: 14 and 10 bits */
  uint8_t big[4 + 1 + 1023];
  memset(big, 0, sizeof big);
  big[0] = 0x80 | 111, big[1] = 0xFF, big[2] = 0xFF, big[3] = 0xFF, big[4] = 111;
  assert_int_equal(sfu_red_parse(big, sizeof big, &r), 0);
  assert_int_equal(r.b[0].ts_offset, 0x3FFF);
  assert_int_equal(r.b[0].len, 1023);
  assert_int_equal(r.b[1].len, 0);
}

static void test_parse_malformed(void **state) {
  (void)state;
  sfu_red r;
  assert_int_equal(sfu_red_parse(NULL, 3, &r), -EINVAL);
  const uint8_t one[] = {0x80 | 111};
  assert_int_equal(sfu_red_parse(one, 0, &r), -EINVAL);
  assert_int_equal(sfu_red_parse(one, 1, &r), -EINVAL);        /* F=1 but no room for the header */
  const uint8_t no_primary[] = {0x80 | 111, 0x0F, 0x00, 0x00}; /* the list never ends */
  assert_int_equal(sfu_red_parse(no_primary, sizeof no_primary, &r), -EINVAL);
  const uint8_t too_long[] = {0x80 | 111, 0x0F, 0x00, 0x05, 111, 'a', 'b'}; /* 5 bytes announced */
  assert_int_equal(sfu_red_parse(too_long, sizeof too_long, &r), -EINVAL);
  uint8_t many[4 * SFU_RED_MAX_BLOCKS + 1];
  for (size_t i = 0; i < SFU_RED_MAX_BLOCKS; i++) {
    many[4 * i] = 0x80 | 111, many[4 * i + 1] = 0x0F, many[4 * i + 2] = 0, many[4 * i + 3] = 0;
  }
  many[4 * SFU_RED_MAX_BLOCKS] = 111;
  assert_int_equal(sfu_red_parse(many, sizeof many, &r), -EINVAL);   /* 9 blocks */
  assert_int_equal(sfu_red_parse(many + 4, sizeof many - 4, &r), 0); /* 8 are fine */
  assert_int_equal(r.n, SFU_RED_MAX_BLOCKS);
}

/* The blocks rebuilt as plain Opus packets through the ordinary rewrite. */
static void test_block_view_rewrite(void **state) {
  (void)state;
  sfu_rtp_hdr h, v;
  sfu_red r;
  parse_pkt(chrome_red, sizeof chrome_red, &h, &r);
  sfu_rtp_rewrite rw;
  memset(&rw, 0, sizeof rw);
  rw.ext_map[1] = 1;
  uint8_t out[128];
  for (unsigned i = 0; i < 2; i++) {
    sfu_red_block_view(&h, &r, i, &v);
    rw.ssrc = 0xABCD;
    rw.seq = (uint16_t)(v.seq + 5000); /* the subscriber's own numbering */
    rw.ts = v.ts + 7;
    rw.pt = 109; /* the subscriber's Opus PT */
    size_t n = sfu_rtp_rewrite_into(chrome_red, &v, &rw, out, sizeof out);
    assert_true(n > 0);
    sfu_rtp_hdr o;
    assert_int_equal(sfu_rtp_parse(out, n, &o), 0);
    assert_int_equal(o.pt, 109);
    assert_int_equal(o.seq, (uint16_t)((i == 0 ? 999 : 1000) + 5000));
    assert_int_equal(o.ts, (i == 0 ? 96000u - 960u : 96000u) + 7u);
    assert_int_equal(o.payload_len, i == 0 ? 3 : 4);
    assert_memory_equal(out + o.payload_off, i == 0 ? "abc" : "WXYZ", o.payload_len);
    size_t l = 0;
    const uint8_t *lv = sfu_rtp_ext_find(out, &o, 1, &l);
    assert_non_null(lv);
    assert_int_equal(lv[0], 0x9E);
  }
}

static void test_set_block_pt(void **state) {
  (void)state;
  sfu_rtp_hdr h;
  sfu_red r;
  uint8_t pkt[sizeof chrome_red];
  memcpy(pkt, chrome_red, sizeof pkt);
  parse_pkt(pkt, sizeof pkt, &h, &r);
  sfu_red_set_block_pt(pkt + h.payload_off, &r, 111, 109);
  sfu_red r2;
  parse_pkt(pkt, sizeof pkt, &h, &r2);
  assert_int_equal(r2.n, 2);
  assert_int_equal(r2.b[0].pt, 109);
  assert_int_equal(r2.b[1].pt, 109);
  assert_int_equal(r2.b[0].ts_offset, 960);
  assert_int_equal(r2.b[0].len, 3);
  sfu_red_set_block_pt(pkt + h.payload_off, &r2, 8, 9); /* nothing to change */
  assert_int_equal(pkt[h.payload_off] & 0x7F, 109);
}

/* A RED payload with `redundant` copies before a 2-byte primary. */
static sfu_red make(unsigned redundant) {
  uint8_t buf[64];
  size_t pos = 0;
  for (unsigned i = 0; i < redundant; i++) {
    uint16_t off = (uint16_t)(960 * (redundant - i));
    buf[pos++] = 0x80 | 111;
    buf[pos++] = (uint8_t)(off >> 6);
    buf[pos++] = (uint8_t)(((off & 0x3F) << 2) | 0);
    buf[pos++] = 2;
  }
  buf[pos++] = 111;
  memset(buf + pos, 'x', 2 * (redundant + 1));
  pos += 2 * (redundant + 1);
  sfu_red r;
  assert_int_equal(sfu_red_parse(buf, pos, &r), 0);
  return r;
}

static void test_unwrap_plan(void **state) {
  (void)state;
  sfu_red_unwrap u = {0};
  uint8_t idx[SFU_RED_MAX_BLOCKS];
  sfu_red r2 = make(2); /* blocks: seq-2, seq-1, primary */
  assert_int_equal(r2.b[0].ts_offset, 1920);
  assert_int_equal(sfu_red_unwrap_plan(&u, 100, &r2, idx), 1); /* the first: primary only */
  assert_int_equal(idx[0], 2);
  assert_int_equal(sfu_red_unwrap_plan(&u, 101, &r2, idx), 1); /* no loss */
  assert_int_equal(sfu_red_unwrap_plan(&u, 103, &r2, idx), 2); /* 102 lost: from block 1 */
  assert_int_equal(idx[0], 1);
  assert_int_equal(idx[1], 2);
  assert_int_equal(sfu_red_unwrap_plan(&u, 106, &r2, idx), 3); /* 104, 105 lost */
  assert_int_equal(idx[0], 0);
  assert_int_equal(idx[1], 1);
  assert_int_equal(sfu_red_unwrap_plan(&u, 110, &r2, idx), 3); /* 107..109 lost: 107 is gone */
  assert_int_equal(sfu_red_unwrap_plan(&u, 108, &r2, idx), 1); /* late: primary only */
  assert_int_equal(idx[0], 2);
  assert_int_equal(sfu_red_unwrap_plan(&u, 110, &r2, idx), 1); /* repeated */

  sfu_red_unwrap w = {0};
  sfu_red r1 = make(1);
  assert_int_equal(sfu_red_unwrap_plan(&w, 65534, &r1, idx), 1);
  assert_int_equal(sfu_red_unwrap_plan(&w, 0, &r1, idx), 2); /* 65535 lost across the wrap */
  assert_int_equal(idx[0], 0);

  /* copies of another codec, a zero offset or no data are not recovered */
  sfu_red odd = make(1);
  odd.b[0].pt = 0;
  assert_int_equal(sfu_red_unwrap_plan(&w, 2, &odd, idx), 1);
  odd = make(1);
  odd.b[0].ts_offset = 0;
  assert_int_equal(sfu_red_unwrap_plan(&w, 4, &odd, idx), 1);
  odd = make(1);
  odd.b[1].len = 0; /* an empty primary is not sent either */
  assert_int_equal(sfu_red_unwrap_plan(&w, 6, &odd, idx), 1);
  assert_int_equal(idx[0], 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_chrome),    cmocka_unit_test(test_parse_edges),
      cmocka_unit_test(test_parse_malformed), cmocka_unit_test(test_block_view_rewrite),
      cmocka_unit_test(test_set_block_pt),    cmocka_unit_test(test_unwrap_plan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
