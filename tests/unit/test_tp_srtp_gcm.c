/* The OpenSSL AES-GCM SRTP sender (tp_srtp_gcm) must produce exactly what
 * libsrtp2 produces for the same keys: across a sequence-number wrap (the
 * rollover counter), for retransmissions from before the wrap, for several
 * SSRCs, with CSRCs and header extensions (authenticated, not encrypted). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <srtp2/srtp.h>

#include "tp_srtp_gcm.h"

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

/* An RTP packet: 2 CSRCs and a one-byte extension block when fancy. */
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

static void same_as_libsrtp(void **state) {
  (void)state;
  assert_int_equal(srtp_init(), srtp_err_status_ok);
  srtp_t ref = libsrtp_sender();
  tp_srtp_gcm g;
  assert_int_equal(tp_srtp_gcm_start(&g, KEY, SALT), 0);
  /* seq wraps for ssrc A; B interleaves; then retransmissions of A from before the wrap. */
  struct {
    uint16_t seq;
    uint32_t ssrc;
  } plan[64];
  size_t np = 0;
  for (uint16_t s = 65530, i = 0; i < 14; i++, s++) {
    plan[np++] = (typeof(plan[0])){s, 0xaaaa0001};
    plan[np++] = (typeof(plan[0])){(uint16_t)(1000 + i), 0xbbbb0002};
  }
  plan[np++] = (typeof(plan[0])){65533, 0xaaaa0001}; /* NACKed, from before the wrap */
  plan[np++] = (typeof(plan[0])){2, 0xaaaa0001};     /* NACKed, after it */
  plan[np++] = (typeof(plan[0])){8, 0xaaaa0001};
  for (size_t i = 0; i < np; i++) {
    uint8_t a[1600], b[1600];
    bool fancy = i % 3 == 0;
    size_t la = make_pkt(a, plan[i].seq, plan[i].ssrc, fancy, 100 + i * 13);
    size_t lb = la;
    memcpy(b, a, la);
    int n = (int)la;
    assert_int_equal(srtp_protect(ref, a, &n), srtp_err_status_ok);
    assert_int_equal(tp_srtp_gcm_protect(&g, b, &lb, sizeof b), 0);
    assert_int_equal((size_t)n, lb);
    if (memcmp(a, b, lb) != 0)
      fail_msg("packet %zu (seq %u ssrc %08x) differs from libsrtp2", i, plan[i].seq, plan[i].ssrc);
  }
  srtp_dealloc(ref);
  tp_srtp_gcm_stop(&g);
}

static void refuses_bad_input(void **state) {
  (void)state;
  tp_srtp_gcm g;
  assert_int_equal(tp_srtp_gcm_start(&g, KEY, SALT), 0);
  uint8_t p[64];
  size_t n = make_pkt(p, 1, 1, false, 10);
  size_t len = n;
  assert_int_equal(tp_srtp_gcm_protect(&g, p, &len, n + 15), -ENOSPC); /* no room for the tag */
  len = 8;
  assert_int_equal(tp_srtp_gcm_protect(&g, p, &len, sizeof p), -EINVAL); /* shorter than a header */
  p[0] = 0x9f;                                                           /* 15 CSRCs: past the end */
  len = n;
  assert_int_equal(tp_srtp_gcm_protect(&g, p, &len, sizeof p), -EINVAL);
  tp_srtp_gcm_stop(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_as_libsrtp),
      cmocka_unit_test(refuses_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
