/* Data channels end to end between two real transport peers in one process
 * (ICE over loopback, DTLS 1.2), each with an SCTP association on top of its
 * DTLS application data: the association comes up, a channel opened by the
 * DTLS client gets an even stream and one opened by the server an odd one,
 * messages go both ways (text, binary, empty, one large enough to be cut in
 * pieces), a message over the advertised size is dropped and reported while
 * the channel goes on, a send over the peer's size is refused, a closed
 * channel closes on both sides, and a callback may free its association.
 * Every wait has a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "tp_peer.h"
#include "tp_sctp.h"

#define WAIT_MS 8000
#define MAX_MSG 65536

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
  tp_sctp *s;
  tp_state pstate;
  tp_sctp_state sstate;
  int channels, closed, oversize, messages;
  uint16_t last_channel;
  char label[64];
  bool last_binary;
  GByteArray *last; /* the last message */
  bool free_on_message;
} side;

typedef struct {
  GMainContext *ctx;
  tp_cert *cert;
  side a, b; /* a: DTLS client, b: DTLS server */
} fixture;

static void on_pstate(void *ud, tp_state st, const char *why) {
  (void)why;
  ((side *)ud)->pstate = st;
}

static const tp_peer_cbs peer_cbs = {.on_state = on_pstate};
static const char *const loopback[] = {"127.0.0.1", NULL};

static void on_app_data(void *ud, const uint8_t *buf, size_t len) {
  tp_sctp_input(((side *)ud)->s, buf, len);
}

static int sctp_send(void *ud, const uint8_t *pkt, size_t len) {
  return tp_peer_send_app_data(((side *)ud)->p, pkt, len);
}

static void on_sstate(void *ud, tp_sctp_state st) {
  ((side *)ud)->sstate = st;
}

static void on_channel(void *ud, uint16_t stream, const char *label, size_t ll, const char *proto,
                       size_t pl) {
  (void)proto, (void)pl;
  side *s = ud;
  s->channels++;
  s->last_channel = stream;
  g_snprintf(s->label, sizeof s->label, "%.*s", (int)ll, label ? label : "");
}

static void on_message(void *ud, uint16_t stream, bool binary, const uint8_t *data, size_t len) {
  side *s = ud;
  s->messages++;
  s->last_channel = stream;
  s->last_binary = binary;
  g_byte_array_set_size(s->last, 0);
  if (len) g_byte_array_append(s->last, data, (guint)len);
  if (s->free_on_message) {
    tp_sctp_free(s->s);
    s->s = NULL;
  }
}

static void on_oversize(void *ud, uint16_t stream) {
  (void)stream;
  ((side *)ud)->oversize++;
}

static void on_closed(void *ud, uint16_t stream) {
  side *s = ud;
  s->closed++;
  s->last_channel = stream;
}

static const tp_sctp_cbs sctp_cbs = {sctp_send, on_sstate, on_channel, on_message, on_oversize, on_closed};

static void new_side(fixture *f, side *s, bool client) {
  char err[160] = "";
  tp_peer_config pc = {0};
  pc.ctx = f->ctx;
  pc.cert = f->cert;
  pc.ice_controlling = client;
  pc.dtls_client = client;
  pc.addrs = loopback;
  pc.log_name = client ? "sctp-test/A" : "sctp-test/B";
  if (tp_peer_new(&s->p, &pc, &peer_cbs, s, err, sizeof err) != 0) fail_msg("tp_peer_new: %s", err);
  tp_peer_set_app_data_cb(s->p, on_app_data, s);
  tp_sctp_config sc = {.ctx = f->ctx,
                       .dtls_client = client,
                       .max_message_size = MAX_MSG,
                       .remote_max_message_size = MAX_MSG,
                       .log_name = pc.log_name};
  if (tp_sctp_new(&s->s, &sc, &sctp_cbs, s, err, sizeof err) != 0) fail_msg("tp_sctp_new: %s", err);
  s->last = g_byte_array_new();
}

static void link_peers(tp_peer *p, tp_peer *from, const char *fp) {
  char err[128] = "";
  if (tp_peer_set_remote(p, tp_peer_ufrag(from), tp_peer_pwd(from), fp, err, sizeof err) != 0)
    fail_msg("set_remote: %s", err);
  char **c = tp_peer_local_candidates(from);
  for (int i = 0; c && c[i]; i++)
    assert_int_equal(tp_peer_add_remote_candidate(p, c[i], err, sizeof err), 0);
  g_strfreev(c);
  tp_peer_remote_candidates_done(p);
}

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  char err[128];
  f->ctx = g_main_context_new();
  if (tp_cert_new(&f->cert, err, sizeof err) != 0) return -1;
  new_side(f, &f->a, true);
  new_side(f, &f->b, false);
  const char *fp = tp_cert_fingerprint(f->cert);
  link_peers(f->a.p, f->b.p, fp);
  link_peers(f->b.p, f->a.p, fp);
  WAIT_FOR(f->ctx, f->a.pstate == TP_STATE_CONNECTED && f->b.pstate == TP_STATE_CONNECTED, WAIT_MS);
  assert_int_equal(tp_sctp_connect(f->a.s), 0);
  assert_int_equal(tp_sctp_connect(f->b.s), 0);
  assert_int_equal(tp_sctp_connect(f->b.s), -EALREADY);
  WAIT_FOR(f->ctx, f->a.sstate == TP_SCTP_OPEN && f->b.sstate == TP_SCTP_OPEN, WAIT_MS);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  side *sides[] = {&f->a, &f->b};
  for (int i = 0; i < 2; i++) {
    tp_sctp_free(sides[i]->s);
    tp_peer_free(sides[i]->p);
    g_byte_array_unref(sides[i]->last);
  }
  gint64 dl = g_get_monotonic_time() + 50000; /* deferred agent unrefs */
  while (g_get_monotonic_time() < dl)
    if (!g_main_context_iteration(f->ctx, FALSE)) g_usleep(500);
  tp_cert_free(f->cert);
  g_main_context_unref(f->ctx);
  g_free(f);
  return 0;
}

static uint16_t open_chat(fixture *f) {
  uint16_t id = 999;
  assert_int_equal(tp_sctp_open_channel(f->a.s, "chat", "", &id), 0);
  assert_int_equal(id % 2, 0);                                         /* the DTLS client's ids are even */
  WAIT_FOR(f->ctx, f->b.channels == 1 && f->a.channels == 1, WAIT_MS); /* OPEN seen, ACK back */
  assert_int_equal(f->b.last_channel, id);
  assert_string_equal(f->b.label, "chat");
  return id;
}

static void send_and_wait(fixture *f, side *from, side *to, uint16_t id, bool binary, const uint8_t *d,
                          size_t n) {
  int before = to->messages;
  assert_int_equal(tp_sctp_send(from->s, id, binary, d, n), 0);
  WAIT_FOR(f->ctx, to->messages == before + 1, WAIT_MS);
  assert_int_equal(to->last_channel, id);
  assert_int_equal(to->last_binary, binary);
  assert_int_equal(to->last->len, n);
  if (n) assert_memory_equal(to->last->data, d, n);
}

static void test_messages_both_ways(void **state) {
  fixture *f = *state;
  uint16_t id = open_chat(f);
  const char *hi = "{\"type\":\"chat\",\"text\":\"hello\"}";
  send_and_wait(f, &f->a, &f->b, id, false, (const uint8_t *)hi, strlen(hi));
  send_and_wait(f, &f->b, &f->a, id, false, (const uint8_t *)"and back", 8);
  const uint8_t bin[] = {0, 1, 2, 255};
  send_and_wait(f, &f->b, &f->a, id, true, bin, sizeof bin);
  send_and_wait(f, &f->a, &f->b, id, false, NULL, 0); /* empty: PPID 56 */
  send_and_wait(f, &f->a, &f->b, id, true, NULL, 0);  /* empty: PPID 57 */
  /* 60 KB: many DATA chunks, reassembled (partial delivery or not) */
  uint8_t *big = g_malloc(60000);
  for (size_t i = 0; i < 60000; i++)
    big[i] = (uint8_t)(i * 13 + 7);
  send_and_wait(f, &f->a, &f->b, id, true, big, 60000);
  send_and_wait(f, &f->b, &f->a, id, true, big, 60000);
  g_free(big);
  /* the server opens one too: odd ids */
  uint16_t sid = 0;
  assert_int_equal(tp_sctp_open_channel(f->b.s, "server", NULL, &sid), 0);
  assert_int_equal(sid % 2, 1);
  WAIT_FOR(f->ctx, f->a.channels == 2 && f->b.channels == 2, WAIT_MS);
  send_and_wait(f, &f->b, &f->a, sid, false, (const uint8_t *)"odd", 3);
  const tp_sctp_stats *st = tp_sctp_get_stats(f->b.s);
  assert_int_equal(st->messages_in, 4);
  assert_int_equal(st->dropped_bad, 0);
}

static void test_size_limits(void **state) {
  fixture *f = *state;
  uint16_t id = open_chat(f);
  uint8_t *big = g_malloc0(MAX_MSG + 1);
  /* over what the peer advertised: refused before sending */
  assert_int_equal(tp_sctp_send(f->a.s, id, true, big, MAX_MSG + 1), -EMSGSIZE);
  assert_int_equal(tp_sctp_send(f->a.s, 4242, true, big, 1), -ENOENT);
  g_free(big);
  /* a peer that sends more than we advertised anyway: B believes A takes 200 KB */
  char err[128];
  tp_sctp_free(f->b.s);
  f->b.s = NULL;
  tp_sctp_free(f->a.s);
  f->a.s = NULL;
  f->a.sstate = f->b.sstate = TP_SCTP_NEW;
  f->a.channels = f->b.channels = 0;
  tp_sctp_config ca = {.ctx = f->ctx, .dtls_client = true, .max_message_size = MAX_MSG};
  tp_sctp_config cb = {
      .ctx = f->ctx, .dtls_client = false, .max_message_size = MAX_MSG, .remote_max_message_size = 200000};
  assert_int_equal(tp_sctp_new(&f->a.s, &ca, &sctp_cbs, &f->a, err, sizeof err), 0);
  assert_int_equal(tp_sctp_new(&f->b.s, &cb, &sctp_cbs, &f->b, err, sizeof err), 0);
  assert_int_equal(tp_sctp_connect(f->a.s), 0);
  assert_int_equal(tp_sctp_connect(f->b.s), 0);
  WAIT_FOR(f->ctx, f->a.sstate == TP_SCTP_OPEN && f->b.sstate == TP_SCTP_OPEN, WAIT_MS);
  id = open_chat(f);
  uint8_t *huge = g_malloc0(150000);
  assert_int_equal(tp_sctp_send(f->b.s, id, true, huge, 150000), 0);
  WAIT_FOR(f->ctx, f->a.oversize == 1, WAIT_MS);
  g_free(huge);
  assert_int_equal(f->a.messages, 0);
  assert_int_equal(tp_sctp_get_stats(f->a.s)->dropped_oversize, 1);
  /* the channel goes on */
  send_and_wait(f, &f->b, &f->a, id, false, (const uint8_t *)"still here", 10);
}

static void test_close_channel(void **state) {
  fixture *f = *state;
  uint16_t id = open_chat(f);
  tp_sctp_close_channel(f->a.s, id);
  WAIT_FOR(f->ctx, f->a.closed == 1 && f->b.closed == 1, WAIT_MS);
  assert_int_equal(tp_sctp_send(f->a.s, id, false, (const uint8_t *)"x", 1), -ENOENT);
  assert_int_equal(tp_sctp_send(f->b.s, id, false, (const uint8_t *)"x", 1), -ENOENT);
  /* the id is free again */
  uint16_t again = 999;
  assert_int_equal(tp_sctp_open_channel(f->a.s, "chat", "", &again), 0);
  assert_int_equal(again, id);
}

static void test_free_from_callback(void **state) {
  fixture *f = *state;
  uint16_t id = open_chat(f);
  f->b.free_on_message = true;
  assert_int_equal(tp_sctp_send(f->a.s, id, false, (const uint8_t *)"bye", 3), 0);
  assert_int_equal(tp_sctp_send(f->a.s, id, false, (const uint8_t *)"more", 4), 0);
  WAIT_FOR(f->ctx, f->b.s == NULL, WAIT_MS);
  gint64 dl = g_get_monotonic_time() + 200000; /* nothing fires for the freed one */
  while (g_get_monotonic_time() < dl)
    if (!g_main_context_iteration(f->ctx, FALSE)) g_usleep(500);
  assert_int_equal(f->b.messages, 1);
}

static void test_one_thread(void **state) {
  fixture *f = *state;
  GMainContext *other = g_main_context_new();
  tp_sctp *s = NULL;
  char err[128] = "";
  tp_sctp_config c = {.ctx = other};
  assert_int_equal(tp_sctp_new(&s, &c, &sctp_cbs, NULL, err, sizeof err), -EXDEV);
  assert_null(s);
  tp_sctp_config bad = {.ctx = f->ctx};
  tp_sctp_cbs nosend = {0};
  assert_int_equal(tp_sctp_new(&s, &bad, &nosend, NULL, err, sizeof err), -EINVAL);
  g_main_context_unref(other);
  assert_string_equal(tp_sctp_state_name(TP_SCTP_OPEN), "open");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_messages_both_ways, setup, teardown),
      cmocka_unit_test_setup_teardown(test_size_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_channel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_thread, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
