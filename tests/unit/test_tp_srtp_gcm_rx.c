/* The OpenSSL AES-GCM SRTP receiver (tp_srtp_gcm_rx) against libsrtp2 as
 * the sender: every packet decrypts to what was sent, across a
 * sequence-number wrap, with CSRCs and header extensions, several SSRCs,
 * reordering inside the window; replays, packets older than the window,
 * tampered packets (header or payload) and a new SSRC with a bad tag are
 * refused; malformed input never reads past the packet. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <srtp2/srtp.h>

#include "tp_srtp_gcm_rx.h"

static const uint8_t KEY[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SALT[12] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};

static srtp_t libsrtp_sender(void) {
  uint8_t master[28];
  memcpy(master, KEY, 16);
  memcpy(master + 16, SALT, 12);
  srtp_policy_t pol;
  memset(&pol, 0, sizeof pol);
  srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
  srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
  pol.ssrc.type = ssrc_any_outbound;
  pol.key = master;
  pol.window_size = 1024;
  pol.allow_repeat_tx = 1;
  srtp_t s = NULL;
  assert_int_equal(srtp_create(&s, &pol), srtp_err_status_ok);
  return s;
}

static size_t make_pkt(uint8_t *p, uint16_t seq, uint32_t ssrc, bool fancy, size_t payload) {
  size_t n = 0;
  p[n++] = fancy ? 0x92 : 0x80;
  p[n++] = 96;
  p[n++] = (uint8_t)(seq >> 8);
  p[n++] = (uint8_t)seq;
  for (int i = 0; i < 4; i++)
    p[n++] = (uint8_t)(0x11 * (i + 1) + seq);
  for (int i = 3; i >= 0; i--)
    p[n++] = (uint8_t)(ssrc >> (8 * i));
  if (fancy) {
    for (int i = 0; i < 8; i++)
      p[n++] = (uint8_t)(0xc0 + i);
    const uint8_t ext[] = {0xbe, 0xde, 0x00, 0x02, 0x10, 0x61, 0x22, 0x01, 0x02, 0x03, 0x00, 0x00};
    memcpy(p + n, ext, sizeof ext);
    n += sizeof ext;
  }
  for (size_t i = 0; i < payload; i++)
    p[n++] = (uint8_t)(i * 7 + seq);
  return n;
}

typedef struct {
  uint8_t plain[1600], wire[1600];
  size_t plain_len, wire_len;
} pkt;

static void protect(srtp_t ref, pkt *k, uint16_t seq, uint32_t ssrc, bool fancy, size_t payload) {
  k->plain_len = make_pkt(k->plain, seq, ssrc, fancy, payload);
  memcpy(k->wire, k->plain, k->plain_len);
  int n = (int)k->plain_len;
  assert_int_equal(srtp_protect(ref, k->wire, &n), srtp_err_status_ok);
  k->wire_len = (size_t)n;
}

/* Decrypts a copy of k's wire form: the result code, and on success the
 * plaintext must be what was sent. */
static int recv_copy(tp_srtp_gcm_rx *g, const pkt *k) {
  uint8_t b[1600];
  memcpy(b, k->wire, k->wire_len);
  size_t len = k->wire_len;
  int rc = tp_srtp_gcm_rx_unprotect(g, b, &len);
  if (rc == 0) {
    assert_int_equal(len, k->plain_len);
    assert_memory_equal(b, k->plain, len);
  }
  return rc;
}

static void interop_and_replay(void **state) {
  (void)state;
  assert_int_equal(srtp_init(), srtp_err_status_ok);
  srtp_t ref = libsrtp_sender();
  tp_srtp_gcm_rx g;
  assert_int_equal(tp_srtp_gcm_rx_start(&g, KEY, SALT), 0);
  static pkt a[40], b[40];
  /* A wraps 65535 -> 0 (rollover counter 1), B interleaves. */
  for (int i = 0; i < 40; i++) {
    protect(ref, &a[i], (uint16_t)(65520 + i), 0xaaaa0001, i % 3 == 0, 50 + (size_t)i * 17);
    protect(ref, &b[i], (uint16_t)(1000 + i), 0xbbbb0002, i % 4 == 0, 80);
  }
  for (int i = 0; i < 40; i += 2) { /* even ones first, then odd ones late: reordering */
    assert_int_equal(recv_copy(&g, &a[i]), 0);
    assert_int_equal(recv_copy(&g, &b[i]), 0);
  }
  for (int i = 1; i < 40; i += 2) {
    assert_int_equal(recv_copy(&g, &a[i]), 0);
    assert_int_equal(recv_copy(&g, &b[i]), 0);
  }
  for (int i = 0; i < 40; i += 7) { /* everything again: replays */
    assert_int_equal(recv_copy(&g, &a[i]), -EALREADY);
    assert_int_equal(recv_copy(&g, &b[i]), -EALREADY);
  }
  /* 1100 packets later, a packet from the start is older than the window. */
  pkt late, now;
  protect(ref, &late, 2000, 0xbbbb0002, false, 10);
  for (uint16_t s = 2001; s < 3100; s++)
    protect(ref, &now, s, 0xbbbb0002, false, 10);
  assert_int_equal(recv_copy(&g, &now), 0);
  assert_int_equal(recv_copy(&g, &late), -EALREADY);
  srtp_dealloc(ref);
  tp_srtp_gcm_rx_stop(&g);
}

static void refuses_forgeries(void **state) {
  (void)state;
  srtp_t ref = libsrtp_sender();
  tp_srtp_gcm_rx g;
  assert_int_equal(tp_srtp_gcm_rx_start(&g, KEY, SALT), 0);
  pkt k;
  protect(ref, &k, 10, 0x1234, true, 100);
  pkt t = k;
  t.wire[5] ^= 1; /* timestamp: authenticated header */
  assert_int_equal(recv_copy(&g, &t), -EBADMSG);
  t = k;
  t.wire[t.wire_len - 20] ^= 0x80; /* payload */
  assert_int_equal(recv_copy(&g, &t), -EBADMSG);
  t = k;
  t.wire[t.wire_len - 1] ^= 1; /* tag */
  assert_int_equal(recv_copy(&g, &t), -EBADMSG);
  assert_int_equal(g.n, 0); /* a forged packet admits no SSRC */
  assert_int_equal(recv_copy(&g, &k), 0);
  assert_int_equal(g.n, 1);
  /* malformed */
  uint8_t b[64] = {0x80};
  size_t len = 20;
  assert_int_equal(tp_srtp_gcm_rx_unprotect(&g, b, &len), -EINVAL); /* shorter than header + tag */
  b[0] = 0x9f;                                                      /* 15 CSRCs past the end */
  len = sizeof b;
  assert_int_equal(tp_srtp_gcm_rx_unprotect(&g, b, &len), -EINVAL);
  b[0] = 0x90; /* extension whose length runs past the end */
  b[12] = 0xbe, b[13] = 0xde, b[14] = 0xff, b[15] = 0xff;
  len = sizeof b;
  assert_int_equal(tp_srtp_gcm_rx_unprotect(&g, b, &len), -EINVAL);
  b[0] = 0x40; /* version 1 */
  assert_int_equal(tp_srtp_gcm_rx_unprotect(&g, b, &len), -EINVAL);
  srtp_dealloc(ref);
  tp_srtp_gcm_rx_stop(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(interop_and_replay),
      cmocka_unit_test(refuses_forgeries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
