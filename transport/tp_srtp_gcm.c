/* RFC 7714 AEAD_AES_128_GCM protection of outgoing RTP on OpenSSL EVP. */
#include "tp_srtp_gcm.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LEN 16

/* RFC 3711 4.3 key derivation with the AES-CM PRF, as libsrtp2 does it for
 * a 12-byte master salt (zero-padded to the 14 bytes of the AES-CM IV):
 * block = salt || 00 00 || counter 00 00, byte 7 XOR label; out = AES_k(block). */
int tp_srtp_gcm_derive(const uint8_t *key, const uint8_t *salt, uint8_t label, uint8_t out[16]) {
  uint8_t block[16] = {0};
  memcpy(block, salt, 12);
  block[7] ^= label;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL) &&
                  EVP_CIPHER_CTX_set_padding(c, 0) && EVP_EncryptUpdate(c, out, &n, block, 16) && n == 16;
  EVP_CIPHER_CTX_free(c);
  return ok ? 0 : -EIO;
}

int tp_srtp_gcm_start(tp_srtp_gcm *g, const uint8_t *master_key, const uint8_t *master_salt) {
  memset(g, 0, sizeof *g);
  uint8_t k_e[16], k_s[16];
  int rc = tp_srtp_gcm_derive(master_key, master_salt, 0x00, k_e);
  if (rc == 0) rc = tp_srtp_gcm_derive(master_key, master_salt, 0x02, k_s);
  EVP_CIPHER_CTX *c = rc == 0 ? EVP_CIPHER_CTX_new() : NULL;
  if (!c || !EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) ||
      !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) ||
      !EVP_EncryptInit_ex(c, NULL, NULL, k_e, NULL)) {
    EVP_CIPHER_CTX_free(c);
    rc = -EIO;
  } else {
    memcpy(g->salt, k_s, 12);
    g->ctx = c;
  }
  memset(k_e, 0, sizeof k_e);
  memset(k_s, 0, sizeof k_s);
  return rc;
}

void tp_srtp_gcm_stop(tp_srtp_gcm *g) {
  EVP_CIPHER_CTX_free(g->ctx);
  free(g->tx);
  memset(g, 0, sizeof *g);
}

/* The rollover counter for this packet, and the sender's state moved on. */
static int roc_for(tp_srtp_gcm *g, uint32_t ssrc, uint16_t seq, uint32_t *roc) {
  tp_srtp_gcm_tx *t = NULL;
  if (g->last < g->ntx && g->tx[g->last].ssrc == ssrc) t = &g->tx[g->last];
  for (size_t i = 0; !t && i < g->ntx; i++)
    if (g->tx[i].ssrc == ssrc) {
      t = &g->tx[i];
      g->last = i;
    }
  if (!t) {
    if (g->ntx == g->captx) {
      size_t cap = g->captx ? g->captx * 2 : 8;
      tp_srtp_gcm_tx *n = realloc(g->tx, cap * sizeof *n);
      if (!n) return -ENOMEM;
      g->tx = n;
      g->captx = cap;
    }
    g->last = g->ntx;
    t = &g->tx[g->ntx++];
    *t = (tp_srtp_gcm_tx){.ssrc = ssrc, .roc = 0, .s_l = seq};
    *roc = 0;
    return 0;
  }
  int16_t d = (int16_t)(uint16_t)(seq - t->s_l);
  if (d > 0) { /* newer: a wrap past 65535 starts the next roll-over */
    if (seq < t->s_l) t->roc++;
    t->s_l = seq;
    *roc = t->roc;
  } else { /* a retransmission: it may come from before the last wrap */
    *roc = (seq > t->s_l && t->roc) ? t->roc - 1 : t->roc;
  }
  return 0;
}

int tp_srtp_gcm_protect(tp_srtp_gcm *g, uint8_t *pkt, size_t *len, size_t cap) {
  size_t n = *len;
  if (n < 12 || (pkt[0] >> 6) != 2) return -EINVAL;
  size_t hdr = 12 + 4u * (pkt[0] & 0x0f);
  if ((pkt[0] & 0x10) && hdr + 4 <= n) hdr += 4 + 4u * (((size_t)pkt[hdr + 2] << 8) | pkt[hdr + 3]);
  if (hdr > n || n > (size_t)INT32_MAX) return -EINVAL;
  if (cap < n + TAG_LEN) return -ENOSPC;
  uint16_t seq = (uint16_t)((pkt[2] << 8) | pkt[3]);
  uint32_t ssrc = ((uint32_t)pkt[8] << 24) | ((uint32_t)pkt[9] << 16) | ((uint32_t)pkt[10] << 8) | pkt[11];
  uint32_t roc;
  int rc = roc_for(g, ssrc, seq, &roc);
  if (rc) return rc;
  /* RFC 7714 8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt. */
  uint8_t iv[12] = {0,
                    0,
                    pkt[8],
                    pkt[9],
                    pkt[10],
                    pkt[11],
                    (uint8_t)(roc >> 24),
                    (uint8_t)(roc >> 16),
                    (uint8_t)(roc >> 8),
                    (uint8_t)roc,
                    pkt[2],
                    pkt[3]};
  for (int i = 0; i < 12; i++)
    iv[i] ^= g->salt[i];
  EVP_CIPHER_CTX *c = g->ctx;
  int out = 0, fin = 0;
  if (!EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) || !EVP_EncryptUpdate(c, NULL, &out, pkt, (int)hdr) ||
      !EVP_EncryptUpdate(c, pkt + hdr, &out, pkt + hdr, (int)(n - hdr)) ||
      !EVP_EncryptFinal_ex(c, pkt + hdr + out, &fin) ||
      !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, pkt + n))
    return -EIO;
  *len = n + TAG_LEN;
  return 0;
}
