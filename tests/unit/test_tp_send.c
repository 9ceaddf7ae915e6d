/* Batched sends (tp_send) and ICE-lite between two real transport peers in
 * one process over loopback: every packet arrives once and in order through
 * sendmmsg and through io_uring, more packets than the queue holds, the
 * flush once per main-loop wake-up, a packet written straight into the
 * sender's buffer, a peer freed with packets queued, and a full agent
 * connecting to an ICE-lite one. Every wait has a deadline. */
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
#include "tp_send.h"

#define WAIT_MS 5000
#define MAXPKT 1000

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
  uint16_t seqs[MAXPKT];
  size_t lens[MAXPKT];
  int n_rtp;
} side;

typedef struct {
  GMainContext *ctx;
  tp_cert *cert;
  tp_sender *sender;
  side a, b;
} fixture;

static void on_rtp(void *ud, uint8_t *pkt, size_t len) {
  side *s = ud;
  if (s->n_rtp < MAXPKT) {
    s->seqs[s->n_rtp] = (uint16_t)(pkt[2] << 8 | pkt[3]);
    s->lens[s->n_rtp] = len;
  }
  s->n_rtp++;
}

static void on_state(void *ud, tp_state st, const char *why) {
  (void)why;
  ((side *)ud)->last = st;
}

static const tp_peer_cbs cbs = {.on_rtp = on_rtp, .on_state = on_state};
static const char *const loopback[] = {"127.0.0.1", NULL};

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  char err[128];
  f->ctx = g_main_context_new();
  if (tp_cert_new(&f->cert, err, sizeof err) != 0) return -1;
  *state = f;
  return 0;
}

static void pump(GMainContext *ctx, int ms) {
  gint64 dl = g_get_monotonic_time() + (gint64)ms * 1000;
  while (g_get_monotonic_time() < dl)
    if (!g_main_context_iteration(ctx, FALSE)) g_usleep(500);
}

static int teardown(void **state) {
  fixture *f = *state;
  tp_peer_free(f->a.p);
  tp_peer_free(f->b.p);
  pump(f->ctx, 50); /* deferred agent unrefs */
  tp_sender_free(f->sender);
  tp_cert_free(f->cert);
  g_main_context_unref(f->ctx);
  g_free(f);
  return 0;
}

static tp_peer_config cfg_for(fixture *f, bool a_side) {
  return (tp_peer_config){.ctx = f->ctx,
                          .cert = f->cert,
                          .ice_controlling = a_side,
                          .dtls_client = a_side,
                          .addrs = loopback,
                          .log_name = a_side ? "send/A" : "send/B"};
}

static void give(tp_peer *from, tp_peer *to, const char *fp) {
  char err[128] = "";
  if (tp_peer_set_remote(to, tp_peer_ufrag(from), tp_peer_pwd(from), fp, err, sizeof err) != 0)
    fail_msg("set_remote: %s", err);
  char **c = tp_peer_local_candidates(from);
  for (int i = 0; c && c[i]; i++)
    if (tp_peer_add_remote_candidate(to, c[i], err, sizeof err) != 0) fail_msg("candidate: %s", err);
  g_strfreev(c);
  tp_peer_remote_candidates_done(to);
}

static void connect_pair(fixture *f, const tp_peer_config *ca, const tp_peer_config *cb) {
  char err[128] = "";
  if (tp_peer_new(&f->a.p, ca, &cbs, &f->a, err, sizeof err) != 0) fail_msg("peer A: %s", err);
  if (tp_peer_new(&f->b.p, cb, &cbs, &f->b, err, sizeof err) != 0) fail_msg("peer B: %s", err);
  const char *fp = tp_cert_fingerprint(f->cert);
  give(f->a.p, f->b.p, fp);
  give(f->b.p, f->a.p, fp);
  WAIT_FOR(f->ctx, f->a.last == TP_STATE_CONNECTED && f->b.last == TP_STATE_CONNECTED, WAIT_MS);
}

/* A sends through the sender, B receives directly. */
static void connect_with_sender(fixture *f, tp_send_mode mode) {
  char err[128] = "";
  if (tp_sender_new(&f->sender, f->ctx, mode, err, sizeof err) != 0) fail_msg("sender: %s", err);
  tp_peer_config ca = cfg_for(f, true), cb = cfg_for(f, false);
  ca.sender = f->sender;
  connect_pair(f, &ca, &cb);
}

static size_t make_rtp(uint8_t *b, uint16_t seq, size_t payload) {
  memset(b, 0, 12);
  b[0] = 0x80;
  b[1] = 96;
  b[2] = (uint8_t)(seq >> 8);
  b[3] = (uint8_t)seq;
  b[8] = 0x12;
  b[11] = 0x34;
  memset(b + 12, (int)(seq & 0xff), payload);
  return 12 + payload;
}

/* n packets without letting the loop run in between, then every one
 * arrives, once, in order, with its size. */
static void burst(fixture *f, int n) {
  int before = f->b.n_rtp;
  for (int i = 0; i < n; i++) {
    uint8_t buf[1200 + TP_SRTP_TRAILER_MAX];
    size_t len = make_rtp(buf, (uint16_t)i, 100 + (size_t)(i % 1000));
    assert_int_equal(tp_peer_send_rtp(f->a.p, buf, len, sizeof buf), 0);
  }
  WAIT_FOR(f->ctx, f->b.n_rtp >= before + n, WAIT_MS);
  assert_int_equal(f->b.n_rtp, before + n);
  for (int i = 0; i < n; i++) {
    assert_int_equal(f->b.seqs[before + i], (uint16_t)i);
    assert_int_equal(f->b.lens[before + i], 12 + 100 + (size_t)(i % 1000));
  }
  assert_int_equal(tp_peer_get_stats(f->a.p)->send_errors, 0);
}

static void check_batched(fixture *f, int n) {
  const tp_sender_stats *st = tp_sender_get_stats(f->sender);
  assert_true(st->packets >= (uint64_t)n);
  /* One peer: sendmmsg takes the whole queue (256) per call; io_uring one
   * call per flush. Either way far fewer calls than packets. */
  assert_true(st->syscalls * 8 < st->packets);
  assert_int_equal(st->errors, 0);
}

static void test_mmsg_in_order(void **state) {
  fixture *f = *state;
  connect_with_sender(f, TP_SEND_MMSG);
  assert_int_equal(tp_sender_mode(f->sender), TP_SEND_MMSG);
  burst(f, 600); /* more than the queue holds: flushed when full too */
  check_batched(f, 600);
}

static void test_uring_in_order(void **state) {
  fixture *f = *state;
  connect_with_sender(f, TP_SEND_URING);
  if (tp_sender_mode(f->sender) != TP_SEND_URING)
    print_message("io_uring unavailable here: sendmmsg checked\n");
  burst(f, 600);
  check_batched(f, 600);
}

/* What is queued leaves at the next wake-up, without an explicit flush. */
static void test_flush_per_wakeup(void **state) {
  fixture *f = *state;
  connect_with_sender(f, TP_SEND_MMSG);
  uint64_t flushes = tp_sender_get_stats(f->sender)->flushes;
  uint8_t buf[200];
  size_t len = make_rtp(buf, 7, 50);
  assert_int_equal(tp_peer_send_rtp(f->a.p, buf, len, sizeof buf), 0);
  g_main_context_iteration(f->ctx, FALSE);
  assert_int_equal(tp_sender_get_stats(f->sender)->flushes, flushes + 1);
  WAIT_FOR(f->ctx, f->b.n_rtp >= 1, WAIT_MS);
  assert_int_equal(f->b.seqs[f->b.n_rtp - 1], 7);
}

/* Written straight into the sender's buffer: no copy, same result. */
static void test_zero_copy(void **state) {
  fixture *f = *state;
  connect_with_sender(f, TP_SEND_MMSG);
  for (int i = 0; i < 300; i++) {
    size_t cap;
    uint8_t *b = tp_sender_buf(f->sender, &cap);
    assert_true(cap >= TP_MTU + TP_SRTP_TRAILER_MAX);
    size_t len = make_rtp(b, (uint16_t)i, 100 + (size_t)(i % 1000));
    assert_int_equal(tp_peer_send_rtp(f->a.p, b, len, cap), 0);
  }
  WAIT_FOR(f->ctx, f->b.n_rtp >= 300, WAIT_MS);
  for (int i = 0; i < 300; i++)
    assert_int_equal(f->b.seqs[i], (uint16_t)i);
}

/* The caller's capacity still bounds the packet (the SRTP tag must fit). */
static void test_small_cap(void **state) {
  fixture *f = *state;
  connect_with_sender(f, TP_SEND_MMSG);
  uint8_t small[40];
  size_t len = make_rtp(small, 1, 20); /* 32 bytes: no room for the 16-byte tag */
  assert_int_equal(tp_peer_send_rtp(f->a.p, small, len, sizeof small), -ENOSPC);
}

/* A peer freed with packets queued: they leave first, nothing dangles
 * (the ASan build runs this too). */
static void test_free_with_queue(void **state) {
  fixture *f = *state;
  connect_with_sender(f, TP_SEND_URING);
  for (int i = 0; i < 20; i++) {
    uint8_t buf[300];
    size_t len = make_rtp(buf, (uint16_t)i, 100);
    assert_int_equal(tp_peer_send_rtp(f->a.p, buf, len, sizeof buf), 0);
  }
  tp_peer_free(f->a.p);
  f->a.p = NULL;
  tp_sender_flush(f->sender); /* nothing of A left to send */
  WAIT_FOR(f->ctx, f->b.n_rtp >= 20, WAIT_MS);
  assert_int_equal(f->b.seqs[19], 19);
}

/* B is ICE-lite: it never checks, A (full, controlling) nominates. */
static void test_ice_lite(void **state) {
  fixture *f = *state;
  tp_peer_config ca = cfg_for(f, true), cb = cfg_for(f, false);
  cb.ice_lite = true;
  cb.ice_controlling = true; /* ignored: a lite agent never controls */
  connect_pair(f, &ca, &cb);
  const tp_peer_times *t = tp_peer_get_times(f->b.p);
  assert_true(t->created > 0 && t->remote >= t->created && t->ice_up >= t->created);
  assert_true(t->dtls_first > 0 && t->connected >= t->dtls_first);
  uint8_t buf[200];
  size_t len = make_rtp(buf, 5, 50);
  assert_int_equal(tp_peer_send_rtp(f->b.p, buf, len, sizeof buf), 0);
  WAIT_FOR(f->ctx, f->a.n_rtp >= 1, WAIT_MS);
}

static void test_mode_names(void **state) {
  (void)state;
  tp_send_mode m;
  assert_int_equal(tp_send_mode_parse("uring", &m), 0);
  assert_int_equal(m, TP_SEND_URING);
  assert_int_equal(tp_send_mode_parse("mmsg", &m), 0);
  assert_int_equal(m, TP_SEND_MMSG);
  assert_int_equal(tp_send_mode_parse("direct", &m), 0);
  assert_int_equal(m, TP_SEND_DIRECT);
  assert_int_equal(tp_send_mode_parse("fast", &m), -EINVAL);
  assert_int_equal(tp_send_mode_parse(NULL, &m), -EINVAL);
  assert_string_equal(tp_send_mode_name(TP_SEND_URING), "uring");
  tp_sender *s = NULL;
  char err[128];
  GMainContext *ctx = g_main_context_new();
  assert_int_equal(tp_sender_new(&s, ctx, TP_SEND_DIRECT, err, sizeof err), -EINVAL);
  assert_null(s);
  g_main_context_unref(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_mmsg_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_uring_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flush_per_wakeup, setup, teardown),
      cmocka_unit_test_setup_teardown(test_zero_copy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_small_cap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_free_with_queue, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ice_lite, setup, teardown),
      cmocka_unit_test(test_mode_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
