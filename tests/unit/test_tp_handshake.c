/* Two real transport peers in one process on one GMainContext, over
 * loopback: ICE, DTLS 1.2, DTLS-SRTP keys, SRTP/SRTCP both ways, tampering,
 * a wrong fingerprint, close_notify, early trickle, candidate parsing, the
 * AES-CM fallback and the consent watchdog. Every wait has a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "tp_peer.h"
#include "tp_peer_debug.h"

#define WAIT_MS 5000

/* Iterates ctx until cond holds; fails the test after ms milliseconds. */
#define WAIT_FOR(ctx, cond, ms)                                                                              \
  do {                                                                                                       \
    gint64 dl_ = g_get_monotonic_time() + (gint64)(ms)*1000;                                                 \
    while (!(cond)) {                                                                                        \
      if (g_get_monotonic_time() > dl_) fail_msg("timed out after %d ms waiting for %s", (int)(ms), #cond);  \
      if (!g_main_context_iteration((ctx), FALSE)) g_usleep(500);                                            \
    }                                                                                                        \
  } while (0)

typedef struct {
  tp_peer *p;
  tp_state last;
  char why[128];
  int n_states;
  uint8_t rtp[1500], rtcp[1500];
  size_t rtp_len, rtcp_len;
  int n_rtp, n_rtcp;
  bool cand_done;
  bool free_on_close; /* frees its own peer from on_state(CLOSED) */
} side;

typedef struct {
  GMainContext *ctx;
  tp_cert *cert;
  side a, b;
} fixture;

static void on_rtp(void *ud, uint8_t *pkt, size_t len) {
  side *s = ud;
  memcpy(s->rtp, pkt, len);
  s->rtp_len = len;
  s->n_rtp++;
}

static void on_rtcp(void *ud, uint8_t *pkt, size_t len) {
  side *s = ud;
  memcpy(s->rtcp, pkt, len);
  s->rtcp_len = len;
  s->n_rtcp++;
}

static void on_state(void *ud, tp_state st, const char *why) {
  side *s = ud;
  s->last = st;
  s->n_states++;
  g_strlcpy(s->why, why ? why : "", sizeof s->why);
  if (st == TP_STATE_CLOSED && s->free_on_close) {
    tp_peer_free(s->p);
    s->p = NULL;
  }
}

static void on_candidate(void *ud, const char *cand) {
  side *s = ud;
  if (!cand) s->cand_done = true;
}

static const tp_peer_cbs cbs = {on_rtp, on_rtcp, on_state, on_candidate};
static const char *const loopback[] = {"127.0.0.1", NULL};

static void pump(GMainContext *ctx, int ms) {
  gint64 dl = g_get_monotonic_time() + (gint64)ms * 1000;
  while (g_get_monotonic_time() < dl)
    if (!g_main_context_iteration(ctx, FALSE)) g_usleep(500);
}

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  char err[128];
  f->ctx = g_main_context_new();
  if (tp_cert_new(&f->cert, err, sizeof err) != 0) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  tp_peer_free(f->a.p);
  tp_peer_free(f->b.p);
  pump(f->ctx, 50); /* deferred agent unrefs */
  tp_cert_free(f->cert);
  g_main_context_unref(f->ctx);
  g_free(f);
  return 0;
}

static tp_peer_config base_cfg(fixture *f, bool a_side) {
  tp_peer_config c = {0};
  c.ctx = f->ctx;
  c.cert = f->cert;
  c.ice_controlling = a_side;
  c.dtls_client = a_side;
  c.addrs = loopback;
  c.log_name = a_side ? "test/A" : "test/B";
  return c;
}

static void new_peer(fixture *f, side *s, const tp_peer_config *cfg) {
  char err[128] = "";
  int rc = tp_peer_new(&s->p, cfg, &cbs, s, err, sizeof err);
  if (rc != 0) fail_msg("tp_peer_new: %d %s", rc, err);
  assert_int_equal(tp_peer_state(s->p), TP_STATE_NEW);
  (void)f;
}

static void give_candidates(tp_peer *from, tp_peer *to) {
  char **c = tp_peer_local_candidates(from);
  assert_non_null(c);
  assert_non_null(c[0]); /* available right after tp_peer_new */
  for (int i = 0; c[i]; i++) {
    char err[128] = "";
    assert_true(g_str_has_prefix(c[i], "candidate:"));
    int rc = tp_peer_add_remote_candidate(to, c[i], err, sizeof err);
    if (rc != 0) fail_msg("add_remote_candidate(%s): %d %s", c[i], rc, err);
  }
  g_strfreev(c);
}

static void set_remote(tp_peer *p, tp_peer *from, const char *fp) {
  char err[128] = "";
  int rc = tp_peer_set_remote(p, tp_peer_ufrag(from), tp_peer_pwd(from), fp, err, sizeof err);
  if (rc != 0) fail_msg("set_remote: %d %s", rc, err);
}

/* Exchanges everything in process. early: candidates before set_remote. */
static void exchange(fixture *f, bool early, const char *fp_for_a) {
  const char *fp = tp_cert_fingerprint(f->cert); /* both peers share one cert */
  if (early) {
    give_candidates(f->a.p, f->b.p);
    give_candidates(f->b.p, f->a.p);
  }
  set_remote(f->a.p, f->b.p, fp_for_a ? fp_for_a : fp);
  set_remote(f->b.p, f->a.p, fp);
  if (!early) {
    give_candidates(f->a.p, f->b.p);
    give_candidates(f->b.p, f->a.p);
  }
  tp_peer_remote_candidates_done(f->a.p);
  tp_peer_remote_candidates_done(f->b.p);
}

static void connect_pair(fixture *f, const tp_peer_config *ca, const tp_peer_config *cb, bool early) {
  new_peer(f, &f->a, ca);
  new_peer(f, &f->b, cb);
  exchange(f, early, NULL);
  WAIT_FOR(f->ctx, f->a.last == TP_STATE_CONNECTED && f->b.last == TP_STATE_CONNECTED, WAIT_MS);
}

static size_t make_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc, const char *payload) {
  b[0] = 0x80;
  b[1] = 96;
  b[2] = (uint8_t)(seq >> 8);
  b[3] = (uint8_t)seq;
  memset(b + 4, 0x11, 4); /* timestamp */
  b[8] = (uint8_t)(ssrc >> 24);
  b[9] = (uint8_t)(ssrc >> 16);
  b[10] = (uint8_t)(ssrc >> 8);
  b[11] = (uint8_t)ssrc;
  size_t n = strlen(payload);
  memcpy(b + 12, payload, n);
  return 12 + n;
}

/* Receiver report with one report block: 32 bytes. */
static size_t make_rtcp_rr(uint8_t *b, uint32_t ssrc) {
  memset(b, 0, 32);
  b[0] = 0x81;
  b[1] = 201;
  b[3] = 7;
  b[4] = (uint8_t)(ssrc >> 24);
  b[7] = (uint8_t)ssrc;
  for (int i = 8; i < 32; i++)
    b[i] = (uint8_t)(i * 7);
  return 32;
}

static void rtp_roundtrip(fixture *f, side *from, side *to, uint16_t seq, const char *payload) {
  uint8_t buf[256 + TP_SRTP_TRAILER_MAX], want[256];
  size_t len = make_rtp(buf, seq, 0x1234 + seq, payload);
  memcpy(want, buf, len);
  int before = to->n_rtp;
  assert_int_equal(tp_peer_send_rtp(from->p, buf, len, sizeof buf), 0);
  WAIT_FOR(f->ctx, to->n_rtp > before, WAIT_MS);
  assert_int_equal(to->rtp_len, len);
  assert_memory_equal(to->rtp, want, len);
}

static void rtcp_roundtrip(fixture *f, side *from, side *to, uint32_t ssrc) {
  uint8_t buf[64 + TP_SRTP_TRAILER_MAX], want[64];
  size_t len = make_rtcp_rr(buf, ssrc);
  memcpy(want, buf, len);
  int before = to->n_rtcp;
  assert_int_equal(tp_peer_send_rtcp(from->p, buf, len, sizeof buf), 0);
  WAIT_FOR(f->ctx, to->n_rtcp > before, WAIT_MS);
  assert_int_equal(to->rtcp_len, len);
  assert_memory_equal(to->rtcp, want, len);
}

/* ---- tests ---- */

static void test_cert_fingerprint(void **state) {
  fixture *f = *state;
  const char *fp = tp_cert_fingerprint(f->cert);
  assert_int_equal(strlen(fp), 95);
  for (int i = 0; i < 95; i++) {
    if (i % 3 == 2)
      assert_int_equal(fp[i], ':');
    else
      assert_true(g_ascii_isdigit(fp[i]) || (fp[i] >= 'A' && fp[i] <= 'F'));
  }
  tp_cert *other;
  char err[64];
  assert_int_equal(tp_cert_new(&other, err, sizeof err), 0);
  assert_string_not_equal(tp_cert_fingerprint(other), fp);
  tp_cert_free(other);
}

static void test_handshake_media_close(void **state) {
  fixture *f = *state;
  tp_peer_config ca = base_cfg(f, true), cb = base_cfg(f, false);
  connect_pair(f, &ca, &cb, true);
  assert_string_equal(tp_peer_srtp_profile(f->a.p), "SRTP_AEAD_AES_128_GCM");
  assert_string_equal(tp_peer_srtp_profile(f->b.p), "SRTP_AEAD_AES_128_GCM");
  assert_true(f->a.cand_done && f->b.cand_done);

  rtp_roundtrip(f, &f->a, &f->b, 1, "hello from A");
  rtp_roundtrip(f, &f->b, &f->a, 1, "hello from B");
  rtp_roundtrip(f, &f->a, &f->b, 2, "second");
  rtcp_roundtrip(f, &f->a, &f->b, 0xA);
  rtcp_roundtrip(f, &f->b, &f->a, 0xB);
  const tp_peer_stats *sa = tp_peer_get_stats(f->a.p), *sb = tp_peer_get_stats(f->b.p);
  assert_int_equal(sa->rtp_out, 2);
  assert_int_equal(sb->rtp_in, 2);
  assert_int_equal(sb->rtcp_in, 1);
  assert_int_equal(sa->rtcp_in, 1);
  assert_int_equal(sb->srtp_in_errors, 0);

  /* Too small a buffer is refused, not overrun. */
  uint8_t small[12 + 4];
  size_t sl = make_rtp(small, 9, 1, "abcd");
  assert_int_equal(tp_peer_send_rtp(f->a.p, small, sl, sizeof small), -ENOSPC);

  /* Tampered after protection: dropped, counted. Then the good copy passes
   * once and its replay is dropped, counted. */
  uint8_t good[256], bad[256];
  size_t len = make_rtp(good, 100, 0x77, "tamper me");
  assert_int_equal(tp_peer_debug_protect(f->a.p, false, good, &len, sizeof good), 0);
  memcpy(bad, good, len);
  bad[14] ^= 0x01;
  int rtp_before = f->b.n_rtp;
  assert_int_equal(tp_peer_debug_send_raw(f->a.p, bad, len), 0);
  WAIT_FOR(f->ctx, sb->srtp_in_errors == 1, WAIT_MS);
  assert_int_equal(f->b.n_rtp, rtp_before);
  assert_int_equal(tp_peer_debug_send_raw(f->a.p, good, len), 0);
  WAIT_FOR(f->ctx, f->b.n_rtp == rtp_before + 1, WAIT_MS);
  assert_memory_equal(f->b.rtp + 12, "tamper me", 9);
  assert_int_equal(tp_peer_debug_send_raw(f->a.p, good, len), 0);
  WAIT_FOR(f->ctx, sb->srtp_in_errors == 2, WAIT_MS);
  assert_int_equal(f->b.n_rtp, rtp_before + 1);

  /* A goes away: B sees close_notify and frees itself from on_state. */
  f->b.free_on_close = true;
  tp_peer_free(f->a.p);
  f->a.p = NULL;
  WAIT_FOR(f->ctx, f->b.last == TP_STATE_CLOSED, WAIT_MS);
  assert_null(f->b.p);
  assert_string_equal(f->b.why, "close_notify");
}

static void test_wrong_fingerprint(void **state) {
  fixture *f = *state;
  tp_peer_config ca = base_cfg(f, true), cb = base_cfg(f, false);
  new_peer(f, &f->a, &ca);
  new_peer(f, &f->b, &cb);
  char wrong[96];
  g_strlcpy(wrong, tp_cert_fingerprint(f->cert), sizeof wrong);
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  exchange(f, true, wrong);
  WAIT_FOR(f->ctx, f->a.last == TP_STATE_FAILED, WAIT_MS);
  assert_string_equal(f->a.why, "fingerprint mismatch");
  assert_null(tp_peer_srtp_profile(f->a.p));
  uint8_t buf[64];
  size_t len = make_rtp(buf, 1, 1, "x");
  assert_int_equal(tp_peer_send_rtp(f->a.p, buf, len, sizeof buf), -EAGAIN);
  /* B finished its side and then got A's close_notify. */
  WAIT_FOR(f->ctx, f->b.last == TP_STATE_CLOSED, WAIT_MS);
}

static void test_trickle_after_remote(void **state) {
  fixture *f = *state;
  tp_peer_config ca = base_cfg(f, true), cb = base_cfg(f, false);
  connect_pair(f, &ca, &cb, false);
  rtp_roundtrip(f, &f->a, &f->b, 7, "late trickle");
}

static void test_candidate_parsing(void **state) {
  fixture *f = *state;
  tp_peer_config ca = base_cfg(f, true);
  new_peer(f, &f->a, &ca);
  char err[128];
  err[0] = 0;
  assert_int_equal(
      tp_peer_add_remote_candidate(
          f->a.p, "candidate:1 1 udp 2122260223 4f1c2d3e-aaaa-bbbb.local 54321 typ host", err, sizeof err),
      0);
  assert_int_equal(
      tp_peer_add_remote_candidate(
          f->a.p, "a=candidate:2 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active", err, sizeof err),
      0);
  assert_int_equal(tp_peer_add_remote_candidate(f->a.p, "garbage", err, sizeof err), -EINVAL);
  assert_true(err[0] != 0);
  err[0] = 0;
  assert_int_equal(tp_peer_add_remote_candidate(f->a.p, "candidate:1 1 udp x y", err, sizeof err), -EINVAL);
  assert_true(err[0] != 0);
  err[0] = 0;
  assert_int_equal(
      tp_peer_add_remote_candidate(f->a.p, "candidate:1 1 udp 1 not-an-ip 5 typ host", err, sizeof err),
      -EINVAL);
  assert_true(err[0] != 0);
  assert_int_equal(tp_peer_add_remote_candidate(
                       f->a.p, "candidate:1 1 UDP 2122260223 127.0.0.1 5000 typ host", err, sizeof err),
                   0);
  assert_int_equal(tp_peer_add_remote_candidate(
                       f->a.p, "candidate:3 1 udp 2122260223 127.0.0.1 5001 typ host\r\n", err, sizeof err),
                   0);
  assert_int_equal(tp_peer_add_remote_candidate(
                       f->a.p, "candidate:4 2 udp 2122260222 127.0.0.1 5002 typ host", err, sizeof err),
                   0); /* component 2: skipped (rtcp-mux) */
  assert_int_equal(tp_peer_set_remote(f->a.p, "u", "p", "nope", err, sizeof err), -EINVAL);
  uint8_t buf[64];
  size_t len = make_rtp(buf, 1, 1, "x");
  assert_int_equal(tp_peer_send_rtp(f->a.p, buf, len, sizeof buf), -EAGAIN);
  assert_int_equal(tp_peer_send_rtcp(f->a.p, buf, len, sizeof buf), -EAGAIN);

  /* nat_public_ip rewrites non-loopback host candidates only; bad ones are refused. */
  tp_peer_config cb = base_cfg(f, false);
  cb.nat_public_ip = "not an ip";
  tp_peer *bad = NULL;
  assert_int_equal(tp_peer_new(&bad, &cb, &cbs, &f->b, err, sizeof err), -EINVAL);
  assert_null(bad);
}

static void test_aes_cm_fallback(void **state) {
  fixture *f = *state;
  tp_peer_config ca = base_cfg(f, true), cb = base_cfg(f, false);
  cb.srtp_profiles = "SRTP_AES128_CM_SHA1_80"; /* the DTLS server decides */
  connect_pair(f, &ca, &cb, true);
  assert_string_equal(tp_peer_srtp_profile(f->a.p), "SRTP_AES128_CM_SHA1_80");
  assert_string_equal(tp_peer_srtp_profile(f->b.p), "SRTP_AES128_CM_SHA1_80");
  rtp_roundtrip(f, &f->a, &f->b, 1, "cm80 A->B");
  rtp_roundtrip(f, &f->b, &f->a, 1, "cm80 B->A");
  rtcp_roundtrip(f, &f->a, &f->b, 0xC);
}

static void test_consent_watchdog(void **state) {
  fixture *f = *state;
  tp_peer_config ca = base_cfg(f, true), cb = base_cfg(f, false);
  cb.consent_timeout_s = 1;
  connect_pair(f, &ca, &cb, true);
  /* A stays silent (no media): B gives up after about 1-2 s. */
  WAIT_FOR(f->ctx, f->b.last == TP_STATE_FAILED, WAIT_MS);
  assert_string_equal(f->b.why, "consent expired");
  assert_int_equal(f->a.last, TP_STATE_CONNECTED);
}

/* No SRTP profile in common: the handshake completes without use_srtp. */
static void test_no_common_profile(void **state) {
  fixture *f = *state;
  tp_peer_config ca = base_cfg(f, true), cb = base_cfg(f, false);
  ca.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
  cb.srtp_profiles = "SRTP_AES128_CM_SHA1_80";
  new_peer(f, &f->a, &ca);
  new_peer(f, &f->b, &cb);
  exchange(f, true, NULL);
  WAIT_FOR(f->ctx, f->a.last == TP_STATE_FAILED && f->b.last == TP_STATE_FAILED, WAIT_MS);
  assert_string_equal(f->a.why, "no common SRTP profile");
  assert_string_equal(f->b.why, "no common SRTP profile");
}

/* Both sides think they are the DTLS client: a fatal handshake error. */
static void test_role_conflict(void **state) {
  fixture *f = *state;
  tp_peer_config ca = base_cfg(f, true), cb = base_cfg(f, false);
  cb.dtls_client = true;
  new_peer(f, &f->a, &ca);
  new_peer(f, &f->b, &cb);
  exchange(f, true, NULL);
  WAIT_FOR(f->ctx, f->a.last == TP_STATE_FAILED || f->b.last == TP_STATE_FAILED, WAIT_MS);
  side *s = f->a.last == TP_STATE_FAILED ? &f->a : &f->b;
  assert_true(g_str_has_prefix(s->why, "DTLS"));
}

/* Defaults: every non-loopback address plus 127.0.0.1 (and ::1); port
 * range; nat_public_ip (IPv4) rewrites non-loopback IPv4 host candidates
 * only (IPv6: test_tp_restart.c). */
static void test_local_candidates(void **state) {
  fixture *f = *state;
  tp_peer_config c = base_cfg(f, true);
  c.addrs = NULL;
  c.port_min = 41000;
  c.port_max = 41100;
  c.nat_public_ip = "203.0.113.7";
  new_peer(f, &f->a, &c);
  char **cands = tp_peer_local_candidates(f->a.p);
  bool lo = false;
  for (int i = 0; cands[i]; i++) {
    gchar **t = g_strsplit(cands[i], " ", 0);
    assert_true(g_strv_length(t) >= 8);
    int port = atoi(t[5]);
    assert_true(port >= 41000 && port <= 41100);
    if (strcmp(t[4], "127.0.0.1") == 0)
      lo = true;
    else if (!strchr(t[4], ':'))
      assert_string_equal(t[4], "203.0.113.7");
    g_strfreev(t);
  }
  g_strfreev(cands);
  assert_true(lo);
  WAIT_FOR(f->ctx, f->a.cand_done, WAIT_MS);
}

/* Nobody answers: ICE fails once the remote said end-of-candidates. */
static void test_ice_failure(void **state) {
  fixture *f = *state;
  tp_peer_config c = base_cfg(f, true);
  new_peer(f, &f->a, &c);
  char err[128];
  assert_int_equal(tp_peer_set_remote(f->a.p, "abcd", "abcdefghijklmnopqrstuv", tp_cert_fingerprint(f->cert),
                                      err, sizeof err),
                   0);
  assert_int_equal(tp_peer_add_remote_candidate(f->a.p, "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host",
                                                err, sizeof err),
                   0);
  tp_peer_remote_candidates_done(f->a.p);
  gint64 t0 = g_get_monotonic_time();
  WAIT_FOR(f->ctx, f->a.last == TP_STATE_FAILED, 15000);
  assert_string_equal(f->a.why, "ICE failed");
  print_message("ICE failure took %d ms\n", (int)((g_get_monotonic_time() - t0) / 1000));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cert_fingerprint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_handshake_media_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_fingerprint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trickle_after_remote, setup, teardown),
      cmocka_unit_test_setup_teardown(test_candidate_parsing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_aes_cm_fallback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_consent_watchdog, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_common_profile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_role_conflict, setup, teardown),
      cmocka_unit_test_setup_teardown(test_local_candidates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ice_failure, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
