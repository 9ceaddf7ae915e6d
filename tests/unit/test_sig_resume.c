/* sig_resume: tokens are well-formed and distinct, name their participant
 * in their room only, go EXPIRED when retired and UNKNOWN once the keep
 * time is over; malformed input of any shape is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "sig_resume.h"

static void test_issue_lookup_retire(void **state) {
  (void)state;
  sig_resume *t = sig_resume_new();
  char a[SIG_RESUME_TOKEN_LEN + 1], b[SIG_RESUME_TOKEN_LEN + 1];
  assert_int_equal(sig_resume_issue(t, "room1", "p1", 1000, a), 0);
  assert_int_equal(sig_resume_issue(t, "room1", "p2", 1000, b), 0);
  assert_int_equal(strlen(a), SIG_RESUME_TOKEN_LEN);
  assert_string_not_equal(a, b);
  assert_int_equal(sig_resume_live(t), 2);
  const char *id = NULL;
  assert_int_equal(sig_resume_lookup(t, a, "room1", &id), SIG_RESUME_OK);
  assert_string_equal(id, "p1");
  assert_int_equal(sig_resume_lookup(t, b, "room1", &id), SIG_RESUME_OK);
  assert_string_equal(id, "p2");
  assert_int_equal(sig_resume_lookup(t, a, "room2", &id), SIG_RESUME_OTHER_ROOM);
  assert_null(id);
  assert_int_equal(sig_resume_lookup(t, a, NULL, NULL), SIG_RESUME_OTHER_ROOM);

  sig_resume_retire(t, a, 5000);
  sig_resume_retire(t, a, 6000); /* twice: no change */
  assert_int_equal(sig_resume_live(t), 1);
  assert_int_equal(sig_resume_lookup(t, a, "room1", &id), SIG_RESUME_EXPIRED);
  assert_int_equal(sig_resume_lookup(t, a, "room2", &id), SIG_RESUME_EXPIRED);
  /* Retired tokens are kept for a while, then forgotten (at the next issue). */
  char c[SIG_RESUME_TOKEN_LEN + 1];
  assert_int_equal(sig_resume_issue(t, "room1", "p3", 5000 + SIG_RESUME_RETIRED_KEEP_US, c), 0);
  assert_int_equal(sig_resume_lookup(t, a, "room1", &id), SIG_RESUME_EXPIRED);
  assert_int_equal(sig_resume_issue(t, "room1", "p4", 5001 + SIG_RESUME_RETIRED_KEEP_US + 1, c), 0);
  assert_int_equal(sig_resume_lookup(t, a, "room1", &id), SIG_RESUME_UNKNOWN);
  assert_int_equal(sig_resume_lookup(t, b, "room1", &id), SIG_RESUME_OK); /* live ones stay */
  sig_resume_retire(t, "nonexistent", 1);
  sig_resume_retire(t, NULL, 1);
  sig_resume_free(t);
  sig_resume_free(NULL);
}

static void test_malformed(void **state) {
  (void)state;
  sig_resume *t = sig_resume_new();
  char a[SIG_RESUME_TOKEN_LEN + 1];
  assert_int_equal(sig_resume_issue(t, "r", "p1", 1, a), 0);
  char upper[SIG_RESUME_TOKEN_LEN + 1];
  g_strlcpy(upper, a, sizeof upper);
  for (char *p = upper; *p; p++)
    *p = g_ascii_toupper(*p);
  const char *bad[] = {NULL,
                       "",
                       "abc",
                       "0123456789abcdef0123456789abcdeg",
                       "0123456789abcdef0123456789abcdef0",
                       "0123456789abcdef 123456789abcdef",
                       "../../../../etc/passwd0123456789ab"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_int_equal(sig_resume_lookup(t, bad[i], "r", NULL), SIG_RESUME_MALFORMED);
  if (strcmp(upper, a) != 0) assert_int_equal(sig_resume_lookup(t, upper, "r", NULL), SIG_RESUME_MALFORMED);
  assert_int_equal(sig_resume_lookup(t, "0123456789abcdef0123456789abcdef", "r", NULL), SIG_RESUME_UNKNOWN);
  for (int s = SIG_RESUME_OK; s <= SIG_RESUME_OTHER_ROOM; s++)
    assert_non_null(sig_resume_status_text((sig_resume_status)s));
  sig_resume_free(t);
}

static void test_many_distinct(void **state) {
  (void)state;
  sig_resume *t = sig_resume_new();
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < 1000; i++) {
    char tok[SIG_RESUME_TOKEN_LEN + 1], id[16];
    g_snprintf(id, sizeof id, "p%d", i);
    assert_int_equal(sig_resume_issue(t, "r", id, i, tok), 0);
    assert_false(g_hash_table_contains(seen, tok));
    g_hash_table_add(seen, g_strdup(tok));
  }
  assert_int_equal(sig_resume_live(t), 1000);
  g_hash_table_destroy(seen);
  sig_resume_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_issue_lookup_retire),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_many_distinct),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
