/* fuzz_sctp: libFuzzer target for data channels: the DCEP parser and the
 * capped reassembly (pure), and a real pair of SCTP associations (usrsctp,
 * in process, no DTLS) whose server side gets hostile input two ways:
 *   input[0] % 2 == 0: the rest is an SCTP packet fed to the server side as
 *     if it came out of DTLS, with ports, verification tag and CRC32c fixed
 *     up so that usrsctp parses its chunks instead of dropping it;
 *   input[0] % 2 == 1: the rest is a script of messages the client side
 *     sends on any stream with any PPID (DCEP OPEN/ACK, malformed DCEP,
 *     text, binary, empty, deprecated and unknown PPIDs), through SCTP.
 * The server echoes every message it gets (a send from inside a callback).
 * Checks beyond "no crash, no leak": messages and labels handed up are within
 * the limits, a finished reassembly equals its pieces, an OPEN that parses
 * builds back to the same bytes. */
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "tp_dcep.h"
#include "tp_sctp.h"
#include "tp_sctp_debug.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG 4096

static void check(int ok) {
  if (!ok) abort();
}

/* ---- pure parts ---- */

static void fuzz_dcep(const uint8_t *d, size_t n) {
  tp_dcep_open o;
  if (tp_dcep_parse_open(d, n, &o) == 0) {
    check(o.label + o.label_len <= d + n && o.protocol + o.protocol_len <= d + n);
    char *label = g_strndup((const char *)o.label, o.label_len);
    char *proto = g_strndup((const char *)o.protocol, o.protocol_len);
    if (!memchr(o.label, 0, o.label_len) && !memchr(o.protocol, 0, o.protocol_len)) {
      uint8_t out[12 + 2 * 65536];
      size_t m = tp_dcep_build_open(out, sizeof out, o.channel_type, o.reliability, label, proto);
      check(m == 12u + o.label_len + o.protocol_len);
      check(memcmp(out + 4, d + 4, m - 4) == 0 && out[1] == d[1]);
    }
    g_free(label);
    g_free(proto);
  }
}

/* Pieces cut by the input's own bytes, checked against a model of what
 * reassembly promises: a finished message is exactly its pieces, nothing
 * over max comes out, a refused message's remaining pieces are swallowed. */
static void fuzz_reasm(const uint8_t *d, size_t n) {
  tp_dcep_reasm r = {.max = 64};
  uint8_t model[64];
  size_t mlen = 0;
  bool partial = false, discarding = false;
  uint16_t mstream = 0;
  size_t pos = 0;
  while (pos < n) {
    size_t len = d[pos] % 40;
    bool eor = d[pos] & 0x80;
    uint16_t stream = (d[pos] >> 6) & 1;
    pos++;
    if (len > n - pos) len = n - pos;
    const uint8_t *msg = NULL, *p = d + pos;
    size_t ml = 0;
    int rc = tp_dcep_reasm_push(&r, stream, 51, p, len, eor, &msg, &ml);
    pos += len;
    if (discarding) {
      check(rc == TP_REASM_MORE);
      discarding = !eor;
      continue;
    }
    if (partial && stream != mstream) partial = false, mlen = 0;
    if (mlen + len > r.max) {
      check(rc == -EMSGSIZE);
      partial = false, mlen = 0, discarding = !eor;
      continue;
    }
    memcpy(model + mlen, p, len);
    mlen += len;
    if (!eor) {
      check(rc == TP_REASM_MORE);
      partial = true, mstream = stream;
      continue;
    }
    check(rc == TP_REASM_DONE && ml == mlen && (ml == 0 || memcmp(msg, model, ml) == 0));
    partial = false, mlen = 0;
  }
  tp_dcep_reasm_free(&r);
}

/* ---- a pair of associations ---- */

typedef struct {
  tp_sctp *s;
  GQueue in; /* GBytes for this side */
  tp_sctp_state st;
} end;

static GMainContext *ctx;
static end A, B; /* A: DTLS client role, B: server role (the SFU) */
static uint8_t b_vtag[4];

static int send_a(void *ud, const uint8_t *pkt, size_t len) {
  (void)ud;
  if (len >= 12) memcpy(b_vtag, pkt + 4, 4); /* what B expects in packets to it */
  g_queue_push_tail(&B.in, g_bytes_new(pkt, len));
  return 0;
}

static int send_b(void *ud, const uint8_t *pkt, size_t len) {
  (void)ud;
  g_queue_push_tail(&A.in, g_bytes_new(pkt, len));
  return 0;
}

static void on_state(void *ud, tp_sctp_state st) {
  ((end *)ud)->st = st;
}

static void on_channel(void *ud, uint16_t stream, const char *label, size_t ll, const char *p, size_t pl) {
  (void)ud, (void)stream, (void)label, (void)p;
  check(ll <= TP_SCTP_LABEL_MAX && pl <= TP_SCTP_LABEL_MAX);
}

static void on_message_b(void *ud, uint16_t stream, bool binary, const uint8_t *d, size_t len) {
  (void)ud;
  check(len <= MAX_MSG && (len == 0 || d != NULL));
  (void)tp_sctp_send(B.s, stream, binary, d, len); /* may fail: full, closed */
}

static void on_message_a(void *ud, uint16_t stream, bool binary, const uint8_t *d, size_t len) {
  (void)ud, (void)stream, (void)binary, (void)d;
  check(len <= MAX_MSG);
}

static void drain(GQueue *q) {
  GBytes *b;
  while ((b = g_queue_pop_head(q)))
    g_bytes_unref(b);
}

static void pump(void) {
  for (int i = 0; i < 2000 && (A.in.length || B.in.length); i++) {
    GBytes *b = g_queue_pop_head(&B.in);
    if (b) {
      gsize n;
      const uint8_t *p = g_bytes_get_data(b, &n);
      if (B.s) tp_sctp_input(B.s, p, n);
      g_bytes_unref(b);
    }
    b = g_queue_pop_head(&A.in);
    if (b) {
      gsize n;
      const uint8_t *p = g_bytes_get_data(b, &n);
      if (A.s) tp_sctp_input(A.s, p, n);
      g_bytes_unref(b);
    }
    g_main_context_iteration(ctx, FALSE);
  }
  drain(&A.in);
  drain(&B.in);
}

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud) {
  (void)domain, (void)level, (void)msg, (void)ud;
}

static void ensure_pair(void) {
  if (A.s && B.s && A.st == TP_SCTP_OPEN && B.st == TP_SCTP_OPEN) return;
  if (!ctx) {
    ctx = g_main_context_new();
    g_log_set_handler("tp", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION, quiet, NULL);
  }
  tp_sctp_free(A.s);
  tp_sctp_free(B.s);
  A.s = B.s = NULL;
  A.st = B.st = TP_SCTP_NEW;
  drain(&A.in);
  drain(&B.in);
  char err[128];
  tp_sctp_cbs ca = {
      .send = send_a, .on_state = on_state, .on_channel = on_channel, .on_message = on_message_a};
  tp_sctp_cbs cb = {
      .send = send_b, .on_state = on_state, .on_channel = on_channel, .on_message = on_message_b};
  tp_sctp_config c = {.ctx = ctx, .max_message_size = MAX_MSG, .log_name = "fuzz"};
  c.dtls_client = true;
  if (tp_sctp_new(&A.s, &c, &ca, &A, err, sizeof err) != 0) abort();
  c.dtls_client = false;
  if (tp_sctp_new(&B.s, &c, &cb, &B, err, sizeof err) != 0) abort();
  tp_sctp_connect(A.s);
  tp_sctp_connect(B.s);
  pump();
  uint16_t id;
  if (A.st == TP_SCTP_OPEN) tp_sctp_open_channel(A.s, "chat", "", &id);
  pump();
}

static uint32_t crc32c(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}

static void raw_packet(const uint8_t *d, size_t n) {
  uint8_t pkt[1500];
  if (n < 12 || n > sizeof pkt) return;
  memcpy(pkt, d, n);
  pkt[0] = 0x13, pkt[1] = 0x88, pkt[2] = 0x13, pkt[3] = 0x88; /* ports 5000 -> 5000 */
  memcpy(pkt + 4, b_vtag, 4);
  memset(pkt + 8, 0, 4);
  uint32_t c = crc32c(pkt, n); /* stored least significant byte first */
  pkt[8] = (uint8_t)c, pkt[9] = (uint8_t)(c >> 8), pkt[10] = (uint8_t)(c >> 16), pkt[11] = (uint8_t)(c >> 24);
  tp_sctp_input(B.s, pkt, n);
  pump();
}

static void script(const uint8_t *d, size_t n) {
  static const uint32_t ppids[] = {50, 51, 52, 53, 54, 56, 57, 0, 1234567};
  size_t pos = 0;
  while (n - pos >= 5) {
    uint16_t stream = (uint16_t)(((d[pos] << 8) | d[pos + 1]) % 1100);
    uint32_t ppid = ppids[d[pos + 2] % (sizeof ppids / sizeof ppids[0])];
    size_t len = (size_t)((d[pos + 3] << 8) | d[pos + 4]);
    pos += 5;
    if (len > n - pos) len = n - pos;
    (void)tp_sctp_debug_send_raw(A.s, stream, ppid, d + pos, len);
    pos += len;
    pump();
    if (!A.s || !B.s || A.st != TP_SCTP_OPEN) break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_dcep(data, size);
  fuzz_reasm(data, size);
  if (size < 1) return 0;
  ensure_pair();
  if (!A.s || !B.s || A.st != TP_SCTP_OPEN || B.st != TP_SCTP_OPEN) return 0;
  if (data[0] % 2 == 0)
    raw_packet(data + 1, size - 1);
  else
    script(data + 1, size - 1);
  return 0;
}
