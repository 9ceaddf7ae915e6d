/* a=ice-lite in what the server writes (issue 11, ICE-lite): present at
 * session level, before the first m= line, in the answer to a browser's
 * publish offer and in the offer to a subscriber when the local description
 * asks for it, absent otherwise; both still parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sig_sdp.h"

#define OUR_FP                                                                                               \
  "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"

static const char *const cands[] = {"candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host", NULL};

static sig_sdp_local local(const char *setup, bool lite) {
  return (sig_sdp_local){.ice_ufrag = "srvU",
                         .ice_pwd = "srvpassword0123456789abc",
                         .fingerprint = OUR_FP,
                         .setup = setup,
                         .cands = cands,
                         .session_id = 7,
                         .session_version = 1,
                         .ice_lite = lite};
}

static void check(const char *sdp, bool lite) {
  const char *a = strstr(sdp, "a=ice-lite\r\n"), *m = strstr(sdp, "\r\nm=");
  assert_non_null(m);
  if (!lite) {
    assert_null(a);
  } else {
    assert_non_null(a);
    assert_true(a < m); /* session level */
    assert_null(strstr(a + 1, "a=ice-lite"));
  }
  sig_sdp *s = sig_sdp_new();
  char err[256] = "";
  if (sig_sdp_parse(sdp, strlen(sdp), s, err, sizeof err) != 0) fail_msg("reparse: %s", err);
  free(s);
}

static void test_offer(void **state) {
  (void)state;
  for (int lite = 0; lite < 2; lite++) {
    sig_sdp_local l = local("actpass", lite);
    char err[256] = "";
    char *o = sig_sdp_write_offer(&l, NULL, 0, err, sizeof err);
    if (!o) fail_msg("offer: %s", err);
    check(o, lite);
    free(o);
  }
}

static void test_answer(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fuzz/corpus/sdp/chrome_publish_offer.sdp", SFU_SOURCE_DIR);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  for (int lite = 0; lite < 2; lite++) {
    sig_sdp *offer = sig_sdp_new();
    char err[256] = "";
    if (sig_sdp_parse(buf, n, offer, err, sizeof err) != 0) fail_msg("offer: %s", err);
    sig_sdp_local l = local("passive", lite);
    char *ans = sig_sdp_write_answer(offer, &l, NULL, err, sizeof err);
    if (!ans) fail_msg("answer: %s", err);
    check(ans, lite);
    free(ans);
    free(offer);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_offer), cmocka_unit_test(test_answer)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
