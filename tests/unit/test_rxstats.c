/* Tests for sfu_rxstats (RFC 3550 A.1/A.3/A.8 receive statistics) and
 * sfu_nackgen (which sequence numbers to NACK, when). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_rxstats.h"

#define CLOCK 90000u

/* Feeds seq s with a timestamp and arrival on a perfect 10 ms grid. */
static void feed(sfu_rxstats *s, uint16_t seq, uint32_t i) {
  sfu_rxstats_update(s, seq, 1000u + i * 900u, 5000000 + (int64_t)i * 10000);
}

static void test_not_started(void **state) {
  (void)state;
  sfu_rxstats s;
  sfu_rxstats_init(&s, 0xABC, CLOCK);
  sfu_rtcp_report_block rb;
  sfu_rxstats_report(&s, 1000, &rb);
  assert_int_equal(rb.ssrc, 0xABC);
  assert_int_equal(rb.fraction_lost, 0);
  assert_int_equal(rb.cumulative_lost, 0);
  assert_int_equal(rb.ext_highest_seq, 0);
  assert_int_equal(rb.jitter, 0);
  assert_int_equal(rb.lsr, 0);
  assert_int_equal(rb.dlsr, 0);
}

static void test_in_order_wrap(void **state) {
  (void)state;
  sfu_rxstats s;
  sfu_rxstats_init(&s, 1, CLOCK);
  for (uint32_t i = 0; i < 100; i++)
    feed(&s, (uint16_t)(65500u + i), i);
  sfu_rtcp_report_block rb;
  sfu_rxstats_report(&s, 6000000, &rb);
  assert_int_equal(rb.ext_highest_seq, 65536u + 63u); /* 65500 + 99 wrapped once */
  assert_int_equal(rb.cumulative_lost, 0);
  assert_int_equal(rb.fraction_lost, 0);
  assert_int_equal(rb.jitter, 0);
  assert_int_equal(s.received, 100);
}

static void test_loss_fraction(void **state) {
  (void)state;
  sfu_rxstats s;
  sfu_rxstats_init(&s, 1, CLOCK);
  uint32_t i = 0;
  for (; i < 100; i++)
    if (i % 10 != 5) /* 10 of 100 lost */
      feed(&s, (uint16_t)(65530u + i), i);
  sfu_rtcp_report_block rb;
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.cumulative_lost, 10);
  assert_int_equal(rb.fraction_lost, 25); /* 10 * 256 / 100 */
  assert_int_equal(rb.ext_highest_seq, 65536u + 93u);

  for (; i < 150; i++) /* a clean interval */
    feed(&s, (uint16_t)(65530u + i), i);
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.cumulative_lost, 10);
  assert_int_equal(rb.fraction_lost, 0);

  for (; i < 154; i++) /* 2 of 4 lost: fraction 128 */
    if (i % 2) feed(&s, (uint16_t)(65530u + i), i);
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.cumulative_lost, 12);
  assert_int_equal(rb.fraction_lost, 128);

  /* An empty interval reports no loss. */
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.fraction_lost, 0);
  assert_int_equal(rb.cumulative_lost, 12);
}

static void test_reorder_and_duplicates(void **state) {
  (void)state;
  sfu_rxstats s;
  sfu_rxstats_init(&s, 1, 0); /* no clock: no jitter */
  static const uint16_t seqs[] = {10, 11, 13, 12, 14, 14, 15, 15};
  for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
    sfu_rxstats_update(&s, seqs[i], 0, (int64_t)i);
  sfu_rtcp_report_block rb;
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.ext_highest_seq, 15);
  assert_int_equal(rb.cumulative_lost, -2); /* duplicates count, as in RFC 3550 */
  assert_int_equal(rb.fraction_lost, 0);
  assert_int_equal(rb.jitter, 0);

  /* Reordering across the wrap does not count a cycle twice. */
  sfu_rxstats_init(&s, 1, 0);
  static const uint16_t w[] = {65534, 0, 65535, 1, 2};
  for (size_t i = 0; i < 5; i++)
    sfu_rxstats_update(&s, w[i], 0, 0);
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.ext_highest_seq, 65536u + 2u);
  assert_int_equal(rb.cumulative_lost, 0);
}

static void test_large_jump(void **state) {
  (void)state;
  sfu_rxstats s;
  sfu_rxstats_init(&s, 1, 0);
  for (uint32_t i = 0; i < 10; i++)
    sfu_rxstats_update(&s, (uint16_t)(100 + i), 0, 0);
  sfu_rxstats_update(&s, 50000, 0, 0); /* sender restarted its sequence */
  for (uint32_t i = 1; i < 10; i++)
    sfu_rxstats_update(&s, (uint16_t)(50000 + i), 0, 0);
  sfu_rtcp_report_block rb;
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.ext_highest_seq, 50009);
  assert_int_equal(rb.cumulative_lost, 0); /* the jump is not loss */
  assert_int_equal(rb.fraction_lost, 0);
  sfu_rxstats_update(&s, 50011, 0, 0); /* but later gaps are */
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.cumulative_lost, 1);
  assert_int_equal(rb.fraction_lost, 128);
}

static void test_jitter(void **state) {
  (void)state;
  sfu_rxstats s;
  sfu_rxstats_init(&s, 1, CLOCK);
  for (uint32_t i = 0; i < 10; i++)
    feed(&s, (uint16_t)i, i);
  sfu_rtcp_report_block rb;
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.jitter, 0);
  /* Packet 10 arrives 10 ms (900 ticks) late: J = 900 / 16. */
  sfu_rxstats_update(&s, 10, 1000u + 10 * 900u, 5000000 + 11 * 10000);
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.jitter, 56);
  /* Packet 11 on time again: D = -900, J += (900 - J) / 16. */
  feed(&s, 11, 11);
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.jitter, 108); /* 56.25 + 52.73 */
  /* Timestamps wrapping 2^32 are just differences. */
  sfu_rxstats_init(&s, 1, CLOCK);
  for (uint32_t i = 0; i < 10; i++)
    sfu_rxstats_update(&s, (uint16_t)i, 0xFFFFF000u + i * 900u, 1 + (int64_t)i * 10000);
  sfu_rxstats_report(&s, 0, &rb);
  assert_int_equal(rb.jitter, 0);
}

static void test_lsr_dlsr(void **state) {
  (void)state;
  sfu_rxstats s;
  sfu_rxstats_init(&s, 1, CLOCK);
  feed(&s, 1, 0);
  sfu_rxstats_on_sr(&s, 0xE89ABCDE80000000ull, 1000000);
  sfu_rtcp_report_block rb;
  sfu_rxstats_report(&s, 2500000, &rb);
  assert_int_equal(rb.lsr, 0xBCDE8000);
  assert_int_equal(rb.dlsr, 98304); /* 1.5 s in 1/65536 s */
  sfu_rxstats_report(&s, 1000000, &rb);
  assert_int_equal(rb.dlsr, 0);
  sfu_rxstats_report(&s, 1000000 + 15, &rb); /* 15 us < 1/65536 s */
  assert_int_equal(rb.dlsr, 0);
  sfu_rxstats_report(&s, 1000000 + 16, &rb);
  assert_int_equal(rb.dlsr, 1);
  sfu_rxstats_report(&s, 1000000 + 100000ll * 1000000, &rb); /* a day later: saturates */
  assert_int_equal(rb.dlsr, UINT32_MAX);
}

/* ---- nackgen ---- */

static size_t due(sfu_nackgen *g, int64_t now, uint16_t *out, size_t max) {
  return sfu_nackgen_due(g, now, 20000, out, max);
}

static void test_nack_basic(void **state) {
  (void)state;
  sfu_nackgen g;
  sfu_nackgen_init(&g);
  uint16_t out[SFU_NACKGEN_MAX];
  sfu_nackgen_on_seq(&g, 1, 0);
  sfu_nackgen_on_seq(&g, 2, 0);
  sfu_nackgen_on_seq(&g, 3, 0);
  assert_int_equal(due(&g, 0, out, 16), 0);
  sfu_nackgen_on_seq(&g, 6, 1000);
  assert_int_equal(due(&g, 1000, out, 16), 2); /* at once */
  assert_int_equal(out[0], 4);
  assert_int_equal(out[1], 5);
  assert_int_equal(due(&g, 1000, out, 16), 0);
  assert_int_equal(due(&g, 20999, out, 16), 0); /* not before retry_us */
  assert_int_equal(due(&g, 21000, out, 16), 2);
  sfu_nackgen_on_seq(&g, 4, 22000); /* retransmission arrives */
  assert_int_equal(due(&g, 41000, out, 16), 1);
  assert_int_equal(out[0], 5);
  sfu_nackgen_on_seq(&g, 6, 42000); /* duplicate of the highest: nothing */
  sfu_nackgen_on_seq(&g, 2, 42000); /* old, never missing: nothing */
  assert_int_equal(g.n, 1);
  sfu_nackgen_on_seq(&g, 5, 42000);
  assert_int_equal(g.n, 0);
  assert_int_equal(due(&g, 100000, out, 16), 0);
}

static void test_nack_wrap(void **state) {
  (void)state;
  sfu_nackgen g;
  sfu_nackgen_init(&g);
  uint16_t out[8];
  sfu_nackgen_on_seq(&g, 65533, 0);
  sfu_nackgen_on_seq(&g, 65534, 0);
  sfu_nackgen_on_seq(&g, 1, 0);
  assert_int_equal(due(&g, 0, out, 8), 2);
  assert_int_equal(out[0], 65535);
  assert_int_equal(out[1], 0);
  sfu_nackgen_on_seq(&g, 65535, 1); /* late, across the wrap */
  assert_int_equal(g.n, 1);
  assert_int_equal(g.highest, 1);
  assert_int_equal(due(&g, 20000, out, 8), 1);
  assert_int_equal(out[0], 0);
}

static void test_nack_jump_resets(void **state) {
  (void)state;
  sfu_nackgen g;
  sfu_nackgen_init(&g);
  uint16_t out[SFU_NACKGEN_MAX];
  sfu_nackgen_on_seq(&g, 65500, 0);
  sfu_nackgen_on_seq(&g, (uint16_t)(65500 + SFU_NACKGEN_MAX), 0); /* gap of 127: NACKed */
  assert_int_equal(g.n, SFU_NACKGEN_MAX - 1);
  assert_int_equal(due(&g, 0, out, SFU_NACKGEN_MAX), SFU_NACKGEN_MAX - 1);
  assert_int_equal(out[0], 65501);
  assert_int_equal(out[SFU_NACKGEN_MAX - 2], (uint16_t)(65500 + SFU_NACKGEN_MAX - 1));
  uint16_t hi = g.highest;
  sfu_nackgen_on_seq(&g, (uint16_t)(hi + SFU_NACKGEN_MAX + 1), 0); /* more than MAX: reset */
  assert_int_equal(g.n, 0);
  assert_int_equal(g.highest, (uint16_t)(hi + SFU_NACKGEN_MAX + 1));
  sfu_nackgen_on_seq(&g, (uint16_t)(g.highest + 2), 0);
  assert_int_equal(g.n, 1);
}

static void test_nack_overflow_evicts_oldest(void **state) {
  (void)state;
  sfu_nackgen g;
  sfu_nackgen_init(&g);
  uint16_t out[SFU_NACKGEN_MAX];
  sfu_nackgen_on_seq(&g, 0, 0);
  sfu_nackgen_on_seq(&g, 100, 0); /* 1..99 */
  sfu_nackgen_on_seq(&g, 200, 0); /* 101..199: 198 in all, 128 kept */
  assert_int_equal(g.n, SFU_NACKGEN_MAX);
  assert_int_equal(due(&g, 0, out, SFU_NACKGEN_MAX), SFU_NACKGEN_MAX);
  assert_int_equal(out[0], 71);
  assert_int_equal(out[28], 99);
  assert_int_equal(out[29], 101);
  assert_int_equal(out[SFU_NACKGEN_MAX - 1], 199);
}

static void test_nack_limits(void **state) {
  (void)state;
  sfu_nackgen g;
  sfu_nackgen_init(&g);
  uint16_t out[16];
  sfu_nackgen_on_seq(&g, 10, 0);
  sfu_nackgen_on_seq(&g, 16, 0); /* 11..15 */
  /* max: the rest stay due */
  assert_int_equal(due(&g, 0, out, 2), 2);
  assert_int_equal(out[0], 11);
  assert_int_equal(due(&g, 0, out, 16), 3);
  assert_int_equal(out[0], 13);
  /* 10 tries at most */
  int64_t t = 0;
  size_t total = 0;
  for (int i = 0; i < 30; i++, t += 20000)
    total += due(&g, t, out, 16);
  assert_int_equal(total, 5 * 10 - 5); /* 5 tries already made above */
  assert_int_equal(g.n, 0);

  /* dropped after 1 s even with tries left */
  sfu_nackgen_init(&g);
  sfu_nackgen_on_seq(&g, 10, 0);
  sfu_nackgen_on_seq(&g, 12, 0);
  assert_int_equal(sfu_nackgen_due(&g, 0, 400000, out, 16), 1);
  assert_int_equal(sfu_nackgen_due(&g, 400000, 400000, out, 16), 1);
  assert_int_equal(sfu_nackgen_due(&g, 800000, 400000, out, 16), 1);
  assert_int_equal(sfu_nackgen_due(&g, 1200000, 400000, out, 16), 0);
  assert_int_equal(g.n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_not_started),
      cmocka_unit_test(test_in_order_wrap),
      cmocka_unit_test(test_loss_fraction),
      cmocka_unit_test(test_reorder_and_duplicates),
      cmocka_unit_test(test_large_jump),
      cmocka_unit_test(test_jitter),
      cmocka_unit_test(test_lsr_dlsr),
      cmocka_unit_test(test_nack_basic),
      cmocka_unit_test(test_nack_wrap),
      cmocka_unit_test(test_nack_jump_resets),
      cmocka_unit_test(test_nack_overflow_evicts_oldest),
      cmocka_unit_test(test_nack_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
