/* tp_srtp: libsrtp2 session pair for DTLS-SRTP. srtp_init() runs once per
 * process (g_once); sessions use ssrc_any_inbound/outbound, a 1024 packet
 * replay window and allow_repeat_tx (retransmissions reuse sequence
 * numbers). */
#define G_LOG_DOMAIN "tp"

#include "tp_srtp.h"

#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest trailer added: SRTP GCM tag 16; SRTCP GCM tag 16 + index 4. */
#define TP_SRTP_OVERHEAD_RTP 16
#define TP_SRTCP_OVERHEAD 20

static gpointer srtp_init_once(gpointer unused) {
  (void)unused;
  return GINT_TO_POINTER(srtp_init() == srtp_err_status_ok ? 1 : -1);
}

static bool ensure_init(void) {
  static GOnce once = G_ONCE_INIT;
  return GPOINTER_TO_INT(g_once(&once, srtp_init_once, NULL)) == 1;
}

bool tp_srtp_profile_sizes(const char *profile, size_t *key_len, size_t *salt_len) {
  if (strcmp(profile, "SRTP_AEAD_AES_128_GCM") == 0) {
    *key_len = 16;
    *salt_len = 12;
    return true;
  }
  if (strcmp(profile, "SRTP_AES128_CM_SHA1_80") == 0) {
    *key_len = 16;
    *salt_len = 14;
    return true;
  }
  return false;
}

static int make_session(srtp_t *out, bool gcm, bool inbound, const uint8_t *key, const uint8_t *salt,
                        size_t key_len, size_t salt_len) {
  uint8_t master[32 + 14];
  memcpy(master, key, key_len);
  memcpy(master + key_len, salt, salt_len);
  srtp_policy_t pol;
  memset(&pol, 0, sizeof pol);
  if (gcm) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
  }
  pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  pol.key = master;
  pol.window_size = 1024;
  pol.allow_repeat_tx = 1;
  srtp_err_status_t st = srtp_create(out, &pol);
  memset(master, 0, sizeof master);
  return st == srtp_err_status_ok ? 0 : -EINVAL;
}

int tp_srtp_start(tp_srtp *s, const char *profile, const uint8_t *km, size_t km_len, bool is_client,
                  char *err, size_t errlen) {
  size_t kl, sl;
  if (!ensure_init()) {
    snprintf(err, errlen, "srtp_init failed");
    return -EIO;
  }
  if (!tp_srtp_profile_sizes(profile, &kl, &sl) || km_len != 2 * (kl + sl)) {
    snprintf(err, errlen, "unsupported SRTP profile %s", profile);
    return -ENOTSUP;
  }
  bool gcm = sl == 12;
  const uint8_t *ckey = km, *skey = km + kl, *csalt = km + 2 * kl, *ssalt = km + 2 * kl + sl;
  srtp_t in = NULL, out = NULL;
  int rc = make_session(&out, gcm, false, is_client ? ckey : skey, is_client ? csalt : ssalt, kl, sl);
  if (rc == 0) rc = make_session(&in, gcm, true, is_client ? skey : ckey, is_client ? ssalt : csalt, kl, sl);
  if (rc != 0) {
    if (out) srtp_dealloc(out);
    snprintf(err, errlen, "srtp_create failed for %s", profile);
    return rc;
  }
  /* Outgoing RTP on OpenSSL when GCM; without it libsrtp2 does it all. */
  if (gcm && getenv("SFU_SRTP_LIBSRTP") == NULL &&
      tp_srtp_gcm_start(&s->gcm, is_client ? ckey : skey, is_client ? csalt : ssalt) != 0)
    g_warning("OpenSSL AES-GCM unavailable; SRTP stays on libsrtp2");
  if (gcm && getenv("SFU_SRTP_LIBSRTP") == NULL &&
      tp_srtp_gcm_rx_start(&s->gcm_in, is_client ? skey : ckey, is_client ? ssalt : csalt) != 0)
    g_warning("OpenSSL AES-GCM unavailable; incoming SRTP stays on libsrtp2");
  s->in = in;
  s->out = out;
  s->profile = gcm ? "SRTP_AEAD_AES_128_GCM" : "SRTP_AES128_CM_SHA1_80";
  return 0;
}

void tp_srtp_stop(tp_srtp *s) {
  if (s->in) srtp_dealloc(s->in);
  if (s->out) srtp_dealloc(s->out);
  tp_srtp_gcm_stop(&s->gcm);
  tp_srtp_gcm_rx_stop(&s->gcm_in);
  s->in = s->out = NULL;
  s->profile = NULL;
}

int tp_srtp_protect(tp_srtp *s, bool rtcp, uint8_t *pkt, size_t *len, size_t cap) {
  if (!rtcp && s->gcm.ctx) return tp_srtp_gcm_protect(&s->gcm, pkt, len, cap);
  size_t room = rtcp ? TP_SRTCP_OVERHEAD : TP_SRTP_OVERHEAD_RTP;
  if (cap < *len + room || *len > INT_MAX - room) return -ENOSPC;
  int n = (int)*len;
  srtp_err_status_t st = rtcp ? srtp_protect_rtcp(s->out, pkt, &n) : srtp_protect(s->out, pkt, &n);
  if (st != srtp_err_status_ok) return -EINVAL;
  *len = (size_t)n;
  return 0;
}

int tp_srtp_unprotect(tp_srtp *s, bool rtcp, uint8_t *pkt, size_t *len) {
  if (*len > INT_MAX) return -EMSGSIZE;
  if (!rtcp && s->gcm_in.ctx) return tp_srtp_gcm_rx_unprotect(&s->gcm_in, pkt, len);
  int n = (int)*len;
  srtp_err_status_t st = rtcp ? srtp_unprotect_rtcp(s->in, pkt, &n) : srtp_unprotect(s->in, pkt, &n);
  switch (st) {
  case srtp_err_status_ok:
    *len = (size_t)n;
    return 0;
  case srtp_err_status_auth_fail:
    return -EBADMSG;
  case srtp_err_status_replay_fail:
  case srtp_err_status_replay_old:
    return -EALREADY;
  default:
    return -EINVAL;
  }
}
