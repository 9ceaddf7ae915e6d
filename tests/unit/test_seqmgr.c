/* Tests for sfu_seqmgr: gap-free output across purposeful drops, late
 * packets, input stream changes, wraparound, and NACK mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_seqmgr.h"

static uint16_t out_of(sfu_seqmgr *m, uint16_t in) {
  uint16_t o = 0;
  assert_true(sfu_seqmgr_out(m, in, &o));
  return o;
}

static void test_first_sync_starts_at_first_out(void **state) {
  (void)state;
  sfu_seqmgr m;
  sfu_seqmgr_init(&m);
  uint16_t o;
  assert_false(sfu_seqmgr_out(&m, 5, &o)); /* nothing before the first sync */
  sfu_seqmgr_sync(&m, 100, 1, 5000);
  assert_int_equal(out_of(&m, 100), 5000);
  assert_int_equal(out_of(&m, 101), 5001);
  assert_false(sfu_seqmgr_out(&m, 99, &o)); /* from before the start */
}

static void test_drops_leave_no_gap(void **state) {
  (void)state;
  sfu_seqmgr m;
  sfu_seqmgr_init(&m);
  sfu_seqmgr_sync(&m, 10, 1, 1000);
  assert_int_equal(out_of(&m, 10), 1000);
  sfu_seqmgr_drop(&m, 11);
  sfu_seqmgr_drop(&m, 12);
  assert_int_equal(out_of(&m, 13), 1001);
  sfu_seqmgr_drop(&m, 14);
  assert_int_equal(out_of(&m, 15), 1002);
  uint16_t o;
  assert_false(sfu_seqmgr_out(&m, 12, &o)); /* a dropped one never goes out */
}

static void test_late_packet_between_drops(void **state) {
  (void)state;
  sfu_seqmgr m;
  sfu_seqmgr_init(&m);
  sfu_seqmgr_sync(&m, 100, 1, 2000);
  assert_int_equal(out_of(&m, 100), 2000);
  /* 101 is late; 102 dropped; 103 forwarded; then 101 arrives. */
  sfu_seqmgr_drop(&m, 102);
  assert_int_equal(out_of(&m, 103), 2002);
  assert_int_equal(out_of(&m, 101), 2001);
  assert_int_equal(out_of(&m, 104), 2003);
}

static void test_sync_continues_after_last(void **state) {
  (void)state;
  sfu_seqmgr m;
  sfu_seqmgr_init(&m);
  sfu_seqmgr_sync(&m, 60000, 1, 65530);
  for (uint16_t i = 0; i < 10; i++) /* wraps the output */
    assert_int_equal(out_of(&m, (uint16_t)(60000 + i)), (uint16_t)(65530 + i));
  assert_int_equal(sfu_seqmgr_max_out(&m), 3);
  /* A new input stream (another layer) with unrelated numbers. */
  sfu_seqmgr_sync(&m, 7, 1, 0);
  assert_int_equal(out_of(&m, 7), 4);
  uint16_t o;
  assert_false(sfu_seqmgr_out(&m, 60005, &o));
  assert_false(sfu_seqmgr_out(&m, 6, &o));
  /* The previous frame was unfinished: one number is left as a hole. */
  sfu_seqmgr_sync(&m, 30000, 2, 0);
  assert_int_equal(out_of(&m, 30000), 6);
}

static void test_many_drops_fold_into_base(void **state) {
  (void)state;
  sfu_seqmgr m;
  sfu_seqmgr_init(&m);
  sfu_seqmgr_sync(&m, 0, 1, 100);
  uint16_t in = 0, want = 100;
  /* Two of every three dropped (a temporal layer filter), far past the ring size. */
  for (int i = 0; i < 3000; i++, in++) {
    if (i % 3) {
      sfu_seqmgr_drop(&m, in);
    } else {
      assert_int_equal(out_of(&m, in), want);
      want++;
    }
  }
  /* A very late packet from before the remembered drops cannot be placed. */
  uint16_t o;
  assert_false(sfu_seqmgr_out(&m, 3, &o));
  /* Input wraps around 65535 without a glitch. */
  for (int i = 0; i < 70000; i++, in++) {
    assert_int_equal(out_of(&m, in), want);
    want++;
  }
}

static void test_sent_map(void **state) {
  (void)state;
  sfu_seqmgr m;
  sfu_seqmgr_init(&m);
  sfu_seqmgr_sent_put(&m, 700, 7, 2, 123456);
  const sfu_seqmgr_sent *e = sfu_seqmgr_sent_get(&m, 700);
  assert_non_null(e);
  assert_int_equal(e->in, 7);
  assert_int_equal(e->layer, 2);
  assert_int_equal(e->ts, 123456);
  assert_null(sfu_seqmgr_sent_get(&m, 701));
  assert_null(sfu_seqmgr_sent_get(&m, (uint16_t)(700 + SFU_SEQMGR_HIST))); /* same slot, other number */
  sfu_seqmgr_sent_put(&m, (uint16_t)(700 + SFU_SEQMGR_HIST), 8, 0, 1);
  assert_null(sfu_seqmgr_sent_get(&m, 700)); /* overwritten */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_sync_starts_at_first_out), cmocka_unit_test(test_drops_leave_no_gap),
      cmocka_unit_test(test_late_packet_between_drops),      cmocka_unit_test(test_sync_continues_after_last),
      cmocka_unit_test(test_many_drops_fold_into_base),      cmocka_unit_test(test_sent_map),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
