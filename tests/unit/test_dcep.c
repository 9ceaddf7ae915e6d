/* Tests for tp_dcep: DATA_CHANNEL_OPEN bytes as browsers send them,
 * malformed ones, the builder, and capped reassembly of pieces. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tp_dcep.h"

/* Chromium's OPEN for createDataChannel("chat"): reliable, ordered,
 * priority 256, no protocol. */
static const uint8_t chrome_open[] = {0x03, 0x00, 0x01, 0x00, 0,   0,   0,   0,
                                      0x00, 0x04, 0x00, 0x00, 'c', 'h', 'a', 't'};

static void test_parse_open(void **state) {
  (void)state;
  tp_dcep_open o;
  assert_int_equal(tp_dcep_parse_open(chrome_open, sizeof chrome_open, &o), 0);
  assert_int_equal(o.channel_type, TP_DC_RELIABLE);
  assert_int_equal(o.priority, 256);
  assert_int_equal(o.reliability, 0);
  assert_int_equal(o.label_len, 4);
  assert_memory_equal(o.label, "chat", 4);
  assert_int_equal(o.protocol_len, 0);
  /* unordered, 3 retransmissions, label "x", protocol "json", and trailing bytes */
  const uint8_t lossy[] = {0x03, 0x81, 0, 0, 0, 0, 0, 3, 0, 1, 0, 4, 'x', 'j', 's', 'o', 'n', 0xEE};
  assert_int_equal(tp_dcep_parse_open(lossy, sizeof lossy, &o), 0);
  assert_int_equal(o.channel_type, TP_DC_PARTIAL_REXMIT | TP_DC_UNORDERED);
  assert_int_equal(o.reliability, 3);
  assert_memory_equal(o.protocol, "json", 4);
}

static void test_parse_open_malformed(void **state) {
  (void)state;
  tp_dcep_open o;
  assert_int_equal(tp_dcep_parse_open(NULL, 0, &o), -EINVAL);
  assert_int_equal(tp_dcep_parse_open(chrome_open, 11, &o), -EINVAL); /* short header */
  assert_int_equal(tp_dcep_parse_open(chrome_open, 15, &o), -EINVAL); /* label cut */
  uint8_t b[sizeof chrome_open];
  memcpy(b, chrome_open, sizeof b);
  b[0] = TP_DCEP_ACK;
  assert_int_equal(tp_dcep_parse_open(b, sizeof b, &o), -EINVAL); /* not an OPEN */
  memcpy(b, chrome_open, sizeof b);
  b[1] = 0x05;
  assert_int_equal(tp_dcep_parse_open(b, sizeof b, &o), -EINVAL); /* unknown type */
  memcpy(b, chrome_open, sizeof b);
  b[8] = 0xFF, b[9] = 0xFF;
  assert_int_equal(tp_dcep_parse_open(b, sizeof b, &o), -EINVAL); /* label of 65535 */
  memcpy(b, chrome_open, sizeof b);
  b[10] = 0xFF;
  assert_int_equal(tp_dcep_parse_open(b, sizeof b, &o), -EINVAL); /* protocol past the end */
}

static void test_build_open(void **state) {
  (void)state;
  uint8_t out[64];
  size_t n = tp_dcep_build_open(out, sizeof out, TP_DC_RELIABLE, 0, "chat", "");
  assert_int_equal(n, 16);
  tp_dcep_open o;
  assert_int_equal(tp_dcep_parse_open(out, n, &o), 0);
  assert_memory_equal(o.label, "chat", 4);
  assert_int_equal(o.protocol_len, 0);
  assert_int_equal(tp_dcep_build_open(out, 15, TP_DC_RELIABLE, 0, "chat", NULL), 0); /* no room */
  n = tp_dcep_build_open(out, sizeof out, TP_DC_PARTIAL_TIMED, 1500, NULL, "p");
  assert_int_equal(n, 13);
  assert_int_equal(tp_dcep_parse_open(out, n, &o), 0);
  assert_int_equal(o.reliability, 1500);
  assert_int_equal(o.label_len, 0);
}

static void test_reasm(void **state) {
  (void)state;
  tp_dcep_reasm r = {.max = 10};
  const uint8_t *m;
  size_t ml;
  /* whole: handed through without a copy */
  const uint8_t whole[] = "abc";
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 51, whole, 3, true, &m, &ml), TP_REASM_DONE);
  assert_ptr_equal(m, whole);
  assert_null(r.buf);
  /* pieces */
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 51, (const uint8_t *)"hel", 3, false, &m, &ml), TP_REASM_MORE);
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 51, (const uint8_t *)"lo", 2, false, &m, &ml), TP_REASM_MORE);
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 51, (const uint8_t *)"!", 1, true, &m, &ml), TP_REASM_DONE);
  assert_int_equal(ml, 6);
  assert_memory_equal(m, "hello!", 6);
  /* exactly max is fine, one more is not */
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 53, (const uint8_t *)"0123456789", 10, true, &m, &ml),
                   TP_REASM_DONE);
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 53, (const uint8_t *)"0123456789x", 11, true, &m, &ml),
                   -EMSGSIZE);
  /* over max in pieces: refused once, the rest swallowed, the next message fine */
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 53, (const uint8_t *)"012345", 6, false, &m, &ml),
                   TP_REASM_MORE);
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 53, (const uint8_t *)"6789x", 5, false, &m, &ml), -EMSGSIZE);
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 53, (const uint8_t *)"more", 4, false, &m, &ml), TP_REASM_MORE);
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 53, (const uint8_t *)"end", 3, true, &m, &ml), TP_REASM_MORE);
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 51, (const uint8_t *)"ok", 2, true, &m, &ml), TP_REASM_DONE);
  assert_memory_equal(m, "ok", 2);
  /* a piece of another stream drops a partial message */
  assert_int_equal(tp_dcep_reasm_push(&r, 1, 51, (const uint8_t *)"lost", 4, false, &m, &ml), TP_REASM_MORE);
  assert_int_equal(tp_dcep_reasm_push(&r, 2, 51, (const uint8_t *)"new", 3, true, &m, &ml), TP_REASM_DONE);
  assert_int_equal(ml, 3);
  assert_memory_equal(m, "new", 3);
  tp_dcep_reasm_free(&r);
  assert_null(r.buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_open),
      cmocka_unit_test(test_parse_open_malformed),
      cmocka_unit_test(test_build_open),
      cmocka_unit_test(test_reasm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
