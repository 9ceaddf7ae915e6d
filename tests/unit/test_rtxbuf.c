/* Tests for sfu_rtxbuf: sizing, store/lookup, stale slots, wraparound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_rtxbuf.h"

static void fill(uint8_t *p, size_t len, uint16_t seq) {
  for (size_t i = 0; i < len; i++)
    p[i] = (uint8_t)(seq * 31u + i);
}

static void expect_pkt(const sfu_rtxbuf *b, uint16_t seq, size_t want_len) {
  uint8_t want[1500];
  fill(want, want_len, seq);
  size_t len = 0;
  const uint8_t *p = sfu_rtxbuf_get(b, seq, &len);
  assert_non_null(p);
  assert_int_equal(len, want_len);
  assert_memory_equal(p, want, want_len);
}

static void test_new_sizes(void **state) {
  (void)state;
  assert_null(sfu_rtxbuf_new(0, 1200));
  assert_null(sfu_rtxbuf_new(16, 0));
  assert_null(sfu_rtxbuf_new(65537, 100));
  sfu_rtxbuf *a = sfu_rtxbuf_new(500, 1200); /* rounded to 512 */
  sfu_rtxbuf *b = sfu_rtxbuf_new(512, 1200);
  sfu_rtxbuf *c = sfu_rtxbuf_new(513, 1200); /* rounded to 1024 */
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(c);
  assert_int_equal(sfu_rtxbuf_bytes(a), sfu_rtxbuf_bytes(b));
  assert_true(sfu_rtxbuf_bytes(a) >= 512 * 1200);
  assert_true(sfu_rtxbuf_bytes(c) >= 1024 * 1200);
  assert_true(sfu_rtxbuf_bytes(c) > sfu_rtxbuf_bytes(b));
  assert_int_equal(sfu_rtxbuf_bytes(NULL), 0);
  sfu_rtxbuf_free(a);
  sfu_rtxbuf_free(b);
  sfu_rtxbuf_free(c);
  sfu_rtxbuf_free(NULL);
}

static void test_put_get(void **state) {
  (void)state;
  sfu_rtxbuf *b = sfu_rtxbuf_new(8, 1500);
  size_t len;
  assert_null(sfu_rtxbuf_get(b, 0, &len)); /* empty */
  uint8_t pkt[1500];
  for (uint16_t s = 1000; s < 1008; s++) {
    fill(pkt, 100u + s % 7, s);
    sfu_rtxbuf_put(b, s, pkt, 100u + s % 7);
  }
  for (uint16_t s = 1000; s < 1008; s++)
    expect_pkt(b, s, 100u + s % 7);
  assert_null(sfu_rtxbuf_get(b, 999, &len));
  assert_null(sfu_rtxbuf_get(b, 1008, &len));

  /* 1008 reuses 1000's slot: 1000 is gone, the others remain. */
  fill(pkt, 60, 1008);
  sfu_rtxbuf_put(b, 1008, pkt, 60);
  assert_null(sfu_rtxbuf_get(b, 1000, &len));
  expect_pkt(b, 1008, 60);
  expect_pkt(b, 1001, 100u + 1001 % 7);
  /* Same slot, seq 65536 / 8 laps later. */
  assert_null(sfu_rtxbuf_get(b, (uint16_t)(1008 + 8 * 100), &len));
  sfu_rtxbuf_free(b);
}

static void test_too_long_and_empty(void **state) {
  (void)state;
  sfu_rtxbuf *b = sfu_rtxbuf_new(4, 100);
  uint8_t pkt[200];
  fill(pkt, 100, 7);
  sfu_rtxbuf_put(b, 7, pkt, 100); /* exactly slot_bytes: stored */
  expect_pkt(b, 7, 100);
  fill(pkt, 101, 7);
  sfu_rtxbuf_put(b, 7, pkt, 101); /* too long: not stored, old copy of 7 not served */
  size_t len;
  assert_null(sfu_rtxbuf_get(b, 7, &len));
  fill(pkt, 50, 3);
  sfu_rtxbuf_put(b, 3, pkt, 50);
  fill(pkt, 150, 11);
  sfu_rtxbuf_put(b, 11, pkt, 150); /* too long, other seq in that slot: 3 stays */
  expect_pkt(b, 3, 50);
  assert_null(sfu_rtxbuf_get(b, 11, &len));
  sfu_rtxbuf_put(b, 5, pkt, 0); /* empty payload is a valid entry */
  assert_non_null(sfu_rtxbuf_get(b, 5, &len));
  assert_int_equal(len, 0);
  sfu_rtxbuf_put(NULL, 1, pkt, 10);
  assert_null(sfu_rtxbuf_get(NULL, 1, &len));
  sfu_rtxbuf_free(b);
}

static void test_wraparound(void **state) {
  (void)state;
  sfu_rtxbuf *b = sfu_rtxbuf_new(16, 64);
  uint8_t pkt[64];
  for (uint32_t i = 0; i < 40; i++) {
    uint16_t s = (uint16_t)(65520u + i); /* 65520 .. 65535, 0 .. 23 */
    fill(pkt, 1 + i % 64, s);
    sfu_rtxbuf_put(b, s, pkt, 1 + i % 64);
  }
  size_t len;
  for (uint32_t i = 0; i < 40; i++) {
    uint16_t s = (uint16_t)(65520u + i);
    if (i < 24)
      assert_null(sfu_rtxbuf_get(b, s, &len));
    else
      expect_pkt(b, s, 1 + i % 64);
  }
  sfu_rtxbuf_free(b);
}

static void test_full_range(void **state) {
  (void)state;
  sfu_rtxbuf *b = sfu_rtxbuf_new(65536, 4);
  uint8_t pkt[4];
  for (uint32_t s = 0; s < 65536; s++) {
    fill(pkt, 4, (uint16_t)s);
    sfu_rtxbuf_put(b, (uint16_t)s, pkt, 4);
  }
  for (uint32_t s = 0; s < 65536; s += 997)
    expect_pkt(b, (uint16_t)s, 4);
  sfu_rtxbuf_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_sizes),          cmocka_unit_test(test_put_get),
      cmocka_unit_test(test_too_long_and_empty), cmocka_unit_test(test_wraparound),
      cmocka_unit_test(test_full_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
