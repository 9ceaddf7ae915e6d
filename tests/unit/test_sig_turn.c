/* sig_turn: TURN REST credentials (coturn use-auth-secret), checked against
 * values computed without our code: a vector made once with
 *   printf '%s' 1700086400:p7 | openssl dgst -sha1 -hmac north-wind-secret-1234 -binary | base64
 * (and Python's hmac, which agrees), and the openssl command line run by
 * the test itself on a fresh username when openssl is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "sig_turn.h"

static void test_known_vector(void **state) {
  (void)state;
  char u[64], p[SIG_TURN_PASSWORD_LEN];
  assert_int_equal(
      sig_turn_credentials("north-wind-secret-1234", "p7", 1700000000, 86400, u, sizeof u, p, sizeof p), 0);
  assert_string_equal(u, "1700086400:p7");
  assert_string_equal(p, "y3wMU3JwLUb6Wq+sj2OXC615IcA=");
}

static void test_against_openssl_cli(void **state) {
  (void)state;
  gchar *openssl = g_find_program_in_path("openssl");
  if (!openssl) {
    print_message("no openssl command here: only the fixed vector checks the HMAC\n");
    skip();
  }
  char u[64], p[SIG_TURN_PASSWORD_LEN];
  const char *secret = "a secret with spaces & symbols: +/=";
  assert_int_equal(sig_turn_credentials(secret, "p123-xyz", 1800000000, 600, u, sizeof u, p, sizeof p), 0);
  assert_string_equal(u, "1800000600:p123-xyz");
  /* The secret goes as an argument, the username on stdin: no shell quoting. */
  gchar *cmd =
      g_strdup_printf("sh -c 'printf %%s \"$1\" | \"$2\" dgst -sha1 -hmac \"$3\" -binary | base64' sh "
                      "'%s' '%s' '%s'",
                      u, openssl, secret);
  gchar *out = NULL;
  gint status = -1;
  GError *ge = NULL;
  gboolean ok = g_spawn_command_line_sync(cmd, &out, NULL, &status, &ge);
  if (!ok) fail_msg("running openssl: %s", ge->message);
  assert_int_equal(status, 0);
  g_strstrip(out);
  assert_string_equal(p, out);
  g_free(out);
  g_free(cmd);
  g_free(openssl);
}

static void test_bad_arguments(void **state) {
  (void)state;
  char u[64], p[SIG_TURN_PASSWORD_LEN];
  assert_int_equal(sig_turn_credentials("", "p1", 1, 60, u, sizeof u, p, sizeof p), -EINVAL);
  assert_int_equal(sig_turn_credentials(NULL, "p1", 1, 60, u, sizeof u, p, sizeof p), -EINVAL);
  assert_int_equal(sig_turn_credentials("s", "", 1, 60, u, sizeof u, p, sizeof p), -EINVAL);
  assert_int_equal(sig_turn_credentials("s", "a:b", 1, 60, u, sizeof u, p, sizeof p), -EINVAL);
  assert_int_equal(sig_turn_credentials("s", "p1", -5, 60, u, sizeof u, p, sizeof p), -EINVAL);
  assert_string_equal(u, "");
  assert_string_equal(p, "");
  /* Buffers too small: refused, nothing half-written is left. */
  char tiny[8];
  assert_int_equal(sig_turn_credentials("s", "p1", 1700000000, 60, tiny, sizeof tiny, p, sizeof p), -ENOSPC);
  assert_string_equal(tiny, "");
  char short_pw[28];
  assert_int_equal(sig_turn_credentials("s", "p1", 1700000000, 60, u, sizeof u, short_pw, sizeof short_pw),
                   -ENOSPC);
  /* Different users, times and secrets give different passwords. */
  char p2[SIG_TURN_PASSWORD_LEN], p3[SIG_TURN_PASSWORD_LEN], p4[SIG_TURN_PASSWORD_LEN];
  sig_turn_credentials("secret-one", "p1", 1700000000, 60, u, sizeof u, p, sizeof p);
  sig_turn_credentials("secret-one", "p2", 1700000000, 60, u, sizeof u, p2, sizeof p2);
  sig_turn_credentials("secret-one", "p1", 1700000001, 60, u, sizeof u, p3, sizeof p3);
  sig_turn_credentials("secret-two", "p1", 1700000000, 60, u, sizeof u, p4, sizeof p4);
  assert_string_not_equal(p, p2);
  assert_string_not_equal(p, p3);
  assert_string_not_equal(p, p4);
  assert_int_equal(strlen(p), 28);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vector),
      cmocka_unit_test(test_against_openssl_cli),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
