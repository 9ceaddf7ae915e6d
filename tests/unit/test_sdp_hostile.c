/* What a hostile answer (or offer) may not carry: ICE credentials outside
 * RFC 8839 (ufrag 4-256, pwd 22-256 ice-chars), a candidate port above
 * 65535 (in the SDP, and trickled to a real transport, which libnice would
 * truncate: 70000 -> 4464), and mids that are not the offer's (the pure
 * helper the subscriber path calls for bad_sdp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "sig_sdp.h"
#include "tp_peer.h"

#define FP "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

/* An answer of two sections with the given credentials, mids and candidate port. */
static char *answer(const char *ufrag, const char *pwd, const char *mid0, const char *mid1,
                    const char *port) {
  return g_strdup_printf("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE %s %s\r\n"
                         "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 " FP
                         "\r\na=setup:active\r\n"
                         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=recvonly\r\n"
                         "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
                         "a=candidate:1 1 udp 2122260223 127.0.0.1 %s typ host\r\n"
                         "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=recvonly\r\n"
                         "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n",
                         mid0, mid1, ufrag, pwd, mid0, port, mid1);
}

static int parse(const char *text, sig_sdp *s, char *err, size_t errlen) {
  return sig_sdp_parse(text, strlen(text), s, err, errlen);
}

static void expect(const char *ufrag, const char *pwd, const char *port, int want, const char *err_part) {
  sig_sdp *s = sig_sdp_new();
  char err[256] = "";
  char *t = answer(ufrag, pwd, "0", "1", port);
  int rc = parse(t, s, err, sizeof err);
  if (rc != want)
    fail_msg("ufrag '%s' pwd '%s' port %s: rc %d (%s), want %d", ufrag, pwd, port, rc, err, want);
  if (err_part && !strstr(err, err_part)) fail_msg("error '%s' does not say '%s'", err, err_part);
  g_free(t);
  free(s);
}

static void test_ice_credentials(void **state) {
  (void)state;
  const char *pwd22 = "0123456789abcdefghij+/";
  expect("abcd", pwd22, "5000", 0, NULL);
  expect("abc", pwd22, "5000", -EINVAL, "ice-ufrag too short");
  expect("a", pwd22, "5000", -EINVAL, "ice-ufrag too short");
  expect("abcd", "0123456789abcdefghij+", "5000", -EINVAL, "ice-pwd too short");
  expect("ab-cd", pwd22, "5000", -EINVAL, "ice-chars");
  expect("abcd", "0123456789abcdefghij_!", "5000", -EINVAL, "ice-chars");
  /* RFC 8839 allows 256; the parser keeps at most 63 and says so. */
  char long_ufrag[300];
  memset(long_ufrag, 'u', 257);
  long_ufrag[257] = '\0';
  expect(long_ufrag, pwd22, "5000", -EINVAL, "ice-ufrag too long");
  long_ufrag[63] = '\0';
  expect(long_ufrag, pwd22, "5000", 0, NULL);
}

static void test_candidate_port(void **state) {
  (void)state;
  const char *pwd = "0123456789abcdefghijklmn";
  expect("abcd", pwd, "65535", 0, NULL);
  expect("abcd", pwd, "9", 0, NULL);
  expect("abcd", pwd, "65536", -EINVAL, "port out of range");
  expect("abcd", pwd, "70000", -EINVAL, "port out of range");
  expect("abcd", pwd, "99999999999999999999", -EINVAL, "port out of range");
  expect("abcd", pwd, "-1", -EINVAL, "port out of range");
  expect("abcd", pwd, "12ab", -EINVAL, "port out of range");
}

static void test_answer_mids(void **state) {
  (void)state;
  const char *offer[] = {"0", "1"};
  struct {
    const char *m0, *m1;
    int rc;
    const char *err;
  } t[] = {
      {"0", "1", 0, NULL},
      {"0", "7", -EINVAL, "mid '7' is not in the offer"},
      {"x", "1", -EINVAL, "mid 'x' is not in the offer"},
      {"1", "0", -EINVAL, "is not this section's"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    sig_sdp *s = sig_sdp_new();
    char err[256] = "";
    char *text = answer("abcd", "0123456789abcdefghijklmn", t[i].m0, t[i].m1, "5000");
    assert_int_equal(parse(text, s, err, sizeof err), 0);
    int rc = sig_sdp_check_answer_mids(s, offer, 2, err, sizeof err);
    if (rc != t[i].rc) fail_msg("mids %s %s: rc %d (%s)", t[i].m0, t[i].m1, rc, err);
    if (t[i].err && !strstr(err, t[i].err)) fail_msg("mids %s %s: '%s'", t[i].m0, t[i].m1, err);
    assert_int_equal(sig_sdp_check_answer_mids(s, offer, 1, err, sizeof err), -EINVAL); /* count differs */
    g_free(text);
    free(s);
  }
}

/* A trickled candidate reaches a real libnice agent through tp_peer. */
static void test_trickled_port(void **state) {
  (void)state;
  GMainContext *ctx = g_main_context_new();
  tp_cert *cert = NULL;
  char err[160] = "";
  assert_int_equal(tp_cert_new(&cert, err, sizeof err), 0);
  static const char *const lo[] = {"127.0.0.1", NULL};
  tp_peer_config c = {.ctx = ctx, .cert = cert, .addrs = lo, .log_name = "ports"};
  tp_peer *p = NULL;
  assert_int_equal(tp_peer_new(&p, &c, NULL, NULL, err, sizeof err), 0);
  assert_int_equal(tp_peer_add_remote_candidate(p, "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host",
                                                err, sizeof err),
                   0);
  static const char *const bad[] = {
      "candidate:1 1 udp 2122260223 127.0.0.1 70000 typ host",
      "candidate:1 1 udp 2122260223 127.0.0.1 65536 typ host",
      "candidate:1 1 udp 2122260223 127.0.0.1 -5 typ host",
      "candidate:1 1 udp 2122260223 127.0.0.1 5x typ host",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    if (tp_peer_add_remote_candidate(p, bad[i], err, sizeof err) != -EINVAL) fail_msg("accepted: %s", bad[i]);
    if (!strstr(err, "out of range")) fail_msg("%s: '%s'", bad[i], err);
  }
  tp_peer_free(p);
  for (int i = 0; i < 50; i++)
    g_main_context_iteration(ctx, FALSE);
  tp_cert_free(cert);
  g_main_context_unref(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ice_credentials),
      cmocka_unit_test(test_candidate_port),
      cmocka_unit_test(test_answer_mids),
      cmocka_unit_test(test_trickled_port),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
