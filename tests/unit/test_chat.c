/* Tests for sig_chat: what is relayed (and what of the sender's message is
 * not), each error, and the per-participant rate limit with its one error
 * per flood. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sig_chat.h"

static const sig_chat_from ANN = {.id = "p1", .name = "ann", .time_ms = 1700000000123, .now_us = 1000000};

static json_t *run(sig_chat_bucket *b, const sig_chat_from *f, const char *msg, bool binary,
                   sig_chat_verdict want, const char *want_code) {
  char *out = NULL;
  const char *code = NULL;
  sig_chat_verdict v = sig_chat_handle(b, f, (const uint8_t *)msg, strlen(msg), binary, &out, &code);
  assert_int_equal(v, want);
  if (want_code) {
    assert_non_null(code);
    assert_string_equal(code, want_code);
  } else {
    assert_null(code);
  }
  if (v == SIG_CHAT_DROP) {
    assert_null(out);
    return NULL;
  }
  assert_non_null(out);
  json_t *j = json_loads(out, 0, NULL);
  free(out);
  assert_non_null(j);
  return j;
}

static void test_relay(void **state) {
  (void)state;
  sig_chat_bucket b = {0};
  /* the sender's "from" and "time" and anything else are replaced/dropped */
  json_t *j = run(
      &b, &ANN,
      "{\"type\":\"chat\",\"text\":\"hello \\u00e9\\n2nd line\",\"from\":{\"id\":\"p9\",\"name\":\"boss\"},"
      "\"time\":1,\"html\":\"<b>\"}",
      false, SIG_CHAT_RELAY, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "type")), "chat");
  assert_string_equal(json_string_value(json_object_get(j, "text")), "hello \xc3\xa9\n2nd line");
  json_t *from = json_object_get(j, "from");
  assert_string_equal(json_string_value(json_object_get(from, "id")), "p1");
  assert_string_equal(json_string_value(json_object_get(from, "name")), "ann");
  assert_int_equal(json_integer_value(json_object_get(j, "time")), 1700000000123);
  assert_null(json_object_get(j, "html"));
  json_decref(j);
  j = run(&b, &ANN, "{\"type\":\"reaction\",\"emoji\":\"\xf0\x9f\x91\x8d\"}", false, SIG_CHAT_RELAY, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "emoji")), "\xf0\x9f\x91\x8d");
  json_decref(j);
}

static void expect_error(const char *msg, bool binary, const char *code) {
  sig_chat_bucket b = {0};
  json_t *j = run(&b, &ANN, msg, binary, SIG_CHAT_ERROR, code);
  assert_string_equal(json_string_value(json_object_get(j, "type")), "error");
  assert_string_equal(json_string_value(json_object_get(j, "code")), code);
  assert_non_null(json_string_value(json_object_get(j, "message")));
  json_decref(j);
}

static void test_errors(void **state) {
  (void)state;
  expect_error("{\"type\":\"chat\",\"text\":\"hi\"}", true, "bad_message");        /* binary */
  expect_error("{\"type\":\"chat\",\"text\":\"\xff\xfe\"}", false, "bad_message"); /* not UTF-8 */
  expect_error("{\"type\":\"chat\",\"text\":\"\xc3\"}", false, "bad_message");     /* cut UTF-8 */
  expect_error("not json", false, "bad_message");
  expect_error("[1,2]", false, "bad_message");
  expect_error("{\"text\":\"no type\"}", false, "bad_message");
  expect_error("{\"type\":\"chat\",\"type\":\"reaction\"}", false, "bad_message"); /* duplicate keys */
  expect_error("{\"type\":\"shout\",\"text\":\"x\"}", false, "unknown_type");
  /* an unknown type quoted in the error is cut at 40 characters, never inside one (fuzz_chat found it) */
  expect_error("{\"type\":\"reac[[[[[[[[[[[[[[[[[[b[[[[[[[[[[[[[[\xf0\x9f\x91\x8d\"}", false, "unknown_type");
  expect_error(
      "{\"type\":\"\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d"
      "\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d"
      "\xf0\x9f\x91\x8d\"}",
      false, "unknown_type");
  expect_error("{\"type\":\"chat\"}", false, "bad_message");
  expect_error("{\"type\":\"chat\",\"text\":5}", false, "bad_message");
  expect_error("{\"type\":\"chat\",\"text\":\"   \"}", false, "bad_message");
  expect_error("{\"type\":\"chat\",\"text\":\"bell\\u0007\"}", false, "bad_message");
  expect_error("{\"type\":\"chat\",\"text\":\"nul\\u0000\"}", false, "bad_message");
  expect_error("{\"type\":\"reaction\",\"emoji\":\"\"}", false, "bad_message");
  expect_error("{\"type\":\"reaction\",\"emoji\":\"0123456789012345678901234567890123\"}", false,
               "bad_message");
  /* text of 2001 bytes in a message under the size limit: too long */
  char big[2100] = "{\"type\":\"chat\",\"text\":\"";
  memset(big + strlen(big), 'a', 2001);
  strcpy(big + 23 + 2001, "\"}");
  expect_error(big, false, "too_large");
  /* exactly 2000 is fine */
  sig_chat_bucket b = {0};
  big[23 + 2000] = 0;
  strcat(big, "\"}");
  json_decref(run(&b, &ANN, big, false, SIG_CHAT_RELAY, NULL));
  /* a message over 4096 bytes */
  char *huge = malloc(5000);
  memset(huge, ' ', 4999);
  huge[4999] = 0;
  memcpy(huge, "{\"type\":\"chat\",\"text\":\"x\"}", 26);
  expect_error(huge, false, "too_large");
  free(huge);
  char *e = sig_chat_error_json("too_large", "over the limit");
  assert_string_equal(e, "{\"type\":\"error\",\"code\":\"too_large\",\"message\":\"over the limit\"}");
  free(e);
}

static void test_rate_limit(void **state) {
  (void)state;
  sig_chat_bucket b = {0};
  sig_chat_from f = ANN;
  const char *m = "{\"type\":\"chat\",\"text\":\"flood\"}";
  /* 1000 messages in 10 s: the burst, then 5 a second get through */
  int relayed = 0, errors = 0, dropped = 0;
  for (int i = 0; i < 1000; i++) {
    f.now_us = ANN.now_us + (int64_t)i * 10000;
    char *out = NULL;
    const char *code = NULL;
    sig_chat_verdict v = sig_chat_handle(&b, &f, (const uint8_t *)m, strlen(m), false, &out, &code);
    if (v == SIG_CHAT_RELAY) relayed++;
    if (v == SIG_CHAT_ERROR) {
      assert_string_equal(code, "rate_limited");
      errors++;
    }
    if (v == SIG_CHAT_DROP) dropped++;
    free(out);
  }
  assert_true(relayed >= 20 + 45 && relayed <= 20 + 51);
  /* one error per streak of drops: a streak ends with each message let through */
  assert_true(errors >= 1 && errors <= relayed - 19);
  assert_int_equal(relayed + errors + dropped, 1000);
  assert_int_equal(b.dropped, (uint64_t)(errors + dropped));
  /* after a quiet second, messages pass again */
  f.now_us += 5000000;
  json_decref(run(&b, &f, m, false, SIG_CHAT_RELAY, NULL));
  /* another participant's bucket is untouched */
  sig_chat_bucket other = {0};
  json_decref(run(&other, &ANN, m, false, SIG_CHAT_RELAY, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_relay),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_rate_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
