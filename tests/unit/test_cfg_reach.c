/* Config keys of issue 13 (reaching everyone): [ice] tcp, the [turn]
 * group (urls, secret, ttl_s) and [signaling] resume_grace_s: defaults, the
 * sample file, good values and each bad one with its exact message
 * (secrets never echoed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "cfg_config.h"

#define SAMPLE SFU_SOURCE_DIR "/conf/sfu.conf"

static int load_str(const char *text, cfg_config *c, char *err, size_t errlen) {
  return cfg_load_data(text, strlen(text), "t.conf", c, err, errlen);
}

static void test_defaults_and_sample(void **state) {
  (void)state;
  cfg_config c;
  cfg_defaults(&c);
  assert_true(c.ice_tcp);
  assert_null(c.turn_rest_urls);
  assert_null(c.turn_secret);
  assert_int_equal(c.turn_ttl_s, 86400);
  assert_int_equal(c.resume_grace_s, 15);
  cfg_clear(&c);
  char err[256] = "";
  int rc = cfg_load_file(SAMPLE, &c, err, sizeof err);
  if (rc) fail_msg("sample: %s", err);
  assert_true(c.ice_tcp);
  assert_null(c.turn_rest_urls);
  assert_int_equal(c.turn_ttl_s, 86400);
  cfg_clear(&c);
}

static void test_good(void **state) {
  (void)state;
  cfg_config c;
  char err[256] = "";
  int rc = load_str("[ice]\ntcp = false\n"
                    "[turn]\n"
                    "urls = turn:10.0.0.1:3478?transport=udp, turn:10.0.0.1:3478?transport=tcp, "
                    "turns:turn.example.com:5349, turn:[2001:db8::1]\n"
                    "secret = 0123456789abcdef-xyz\n"
                    "ttl_s = 600\n"
                    "[signaling]\nresume_grace_s = 0\n",
                    &c, err, sizeof err);
  if (rc) fail_msg("%s", err);
  assert_false(c.ice_tcp);
  assert_int_equal(g_strv_length(c.turn_rest_urls), 4);
  assert_string_equal(c.turn_rest_urls[1], "turn:10.0.0.1:3478?transport=tcp");
  assert_string_equal(c.turn_rest_urls[3], "turn:[2001:db8::1]");
  assert_string_equal(c.turn_secret, "0123456789abcdef-xyz");
  assert_int_equal(c.turn_ttl_s, 600);
  assert_int_equal(c.resume_grace_s, 0); /* resume off */
  cfg_clear(&c);
}

static void test_bad(void **state) {
  (void)state;
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"[ice]\ntcp = maybe\n",
       "t.conf:2: [ice] tcp: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)"},
      {"[turn]\nurls = turn:h\n", "t.conf:2: [turn] urls: urls needs secret"},
      {"[turn]\nsecret = 0123456789abcdef\n", "t.conf:2: [turn] secret: set without urls"},
      {"[turn]\nurls = stun:h\nsecret = 0123456789abcdef\n",
       "t.conf:2: [turn] urls: 'stun:h': must start with turn: or turns:"},
      {"[turn]\nurls = turn:h?transport=sctp\nsecret = 0123456789abcdef\n",
       "t.conf:2: [turn] urls: 'turn:h?transport=sctp': unexpected text after host[:port] (only "
       "?transport=udp|tcp)"},
      {"[turn]\nurls = turn:h\nsecret = hunter2\n",
       "t.conf:3: [turn] secret: value: too short (at least 16 characters)"},
      {"[turn]\nurls = turn:h\nsecret = 0123456789 abcdef\n",
       "t.conf:3: [turn] secret: value: must not contain spaces or control characters"},
      {"[turn]\nurls = turn:h\nsecret = 0123456789abcdef\nttl_s = 10\n",
       "t.conf:4: [turn] ttl_s: '10' is not a whole number from 60 to 604800"},
      {"[turn]\nurls = turn:h\nsecret = 0123456789abcdef\nttl_s = 1w\n",
       "t.conf:4: [turn] ttl_s: '1w' is not a whole number from 60 to 604800"},
      {"[turn]\nurl = turn:h\n", "t.conf:2: [turn] url: unknown key (did you mean 'urls'?)"},
      {"[signaling]\nresume_grace_s = 601\n",
       "t.conf:2: [signaling] resume_grace_s: '601' is not a whole number from 0 to 600"},
      {"[signaling]\nresume_grace_s = -1\n",
       "t.conf:2: [signaling] resume_grace_s: '-1' is not a whole number from 0 to 600"},
      {"[ice]\nturn_urls = turn:a\nturn_username = u\nturn_password = p\n"
       "[turn]\nurls = turn:b\nsecret = 0123456789abcdef\n",
       "t.conf:6: [turn] urls: [turn] urls and [ice] turn_urls are both set; use one (a shared secret or "
       "fixed "
       "credentials)"},
      {"[turns]\n",
       "t.conf:1: [turns]: unknown group (known: server, ice, turn, signaling, limits, log, metrics, auth)"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    cfg_config c;
    char err[256] = "";
    assert_int_equal(load_str(cases[i].text, &c, err, sizeof err), -EINVAL);
    if (strcmp(err, cases[i].want) != 0) fail_msg("case %zu:\n got  %s\n want %s", i, err, cases[i].want);
    assert_null(strstr(err, "hunter2"));
    assert_true(c.ice_tcp); /* a failed load leaves the defaults */
    cfg_clear(&c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_and_sample),
      cmocka_unit_test(test_good),
      cmocka_unit_test(test_bad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
