/* RFC 7714 AEAD_AES_128_GCM check and decryption of incoming RTP on OpenSSL
 * EVP, with RFC 3711 index estimation and a replay window per SSRC. */
#include "tp_srtp_gcm_rx.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tp_srtp_gcm.h"

#define TAG_LEN 16
#define WIN TP_SRTP_GCM_RX_WINDOW

int tp_srtp_gcm_rx_start(tp_srtp_gcm_rx *g, const uint8_t *master_key, const uint8_t *master_salt) {
  memset(g, 0, sizeof *g);
  uint8_t k_e[16], k_s[16];
  int rc = tp_srtp_gcm_derive(master_key, master_salt, 0x00, k_e);
  if (rc == 0) rc = tp_srtp_gcm_derive(master_key, master_salt, 0x02, k_s);
  EVP_CIPHER_CTX *c = rc == 0 ? EVP_CIPHER_CTX_new() : NULL;
  if (!c || !EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) ||
      !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) ||
      !EVP_DecryptInit_ex(c, NULL, NULL, k_e, NULL)) {
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

void tp_srtp_gcm_rx_stop(tp_srtp_gcm_rx *g) {
  EVP_CIPHER_CTX_free(g->ctx);
  free(g->st);
  memset(g, 0, sizeof *g);
}

static tp_srtp_gcm_rx_stream *find(tp_srtp_gcm_rx *g, uint32_t ssrc) {
  if (g->last < g->n && g->st[g->last].ssrc == ssrc) return &g->st[g->last];
  for (size_t i = 0; i < g->n; i++)
    if (g->st[i].ssrc == ssrc) {
      g->last = i;
      return &g->st[i];
    }
  return NULL;
}

/* RFC 3711 3.3.1: the ROC that puts seq nearest to the highest seen. */
static uint32_t guess_roc(const tp_srtp_gcm_rx_stream *s, uint16_t seq) {
  if (s->s_l < 32768) return (seq > s->s_l && seq - s->s_l > 32768 && s->roc) ? s->roc - 1 : s->roc;
  return (s->s_l - 32768 > seq) ? s->roc + 1 : s->roc;
}

static bool bit(const tp_srtp_gcm_rx_stream *s, uint64_t idx) {
  return (s->seen[(idx % WIN) / 64] >> (idx % 64)) & 1;
}

static void set_bit(tp_srtp_gcm_rx_stream *s, uint64_t idx) {
  s->seen[(idx % WIN) / 64] |= 1ull << (idx % 64);
}

static void clear_bit(tp_srtp_gcm_rx_stream *s, uint64_t idx) {
  s->seen[(idx % WIN) / 64] &= ~(1ull << (idx % 64));
}

static uint64_t index_of(uint32_t roc, uint16_t seq) {
  return ((uint64_t)roc << 16) | seq;
}

/* Before decrypting: 0, or -EALREADY for a replay or a packet too old. */
static int replay_check(const tp_srtp_gcm_rx_stream *s, uint64_t idx) {
  uint64_t top = index_of(s->roc, s->s_l);
  if (idx > top) return 0;
  if (top - idx >= WIN) return -EALREADY;
  return bit(s, idx) ? -EALREADY : 0;
}

/* After the tag checked: the window moves on. */
static void replay_update(tp_srtp_gcm_rx_stream *s, uint64_t idx) {
  uint64_t top = index_of(s->roc, s->s_l);
  if (idx > top) {
    if (idx - top >= WIN)
      memset(s->seen, 0, sizeof s->seen);
    else
      for (uint64_t i = top + 1; i < idx; i++)
        clear_bit(s, i);
    s->roc = (uint32_t)(idx >> 16);
    s->s_l = (uint16_t)idx;
  }
  set_bit(s, idx);
}

static tp_srtp_gcm_rx_stream *add(tp_srtp_gcm_rx *g, uint32_t ssrc, uint16_t seq, int *rc) {
  if (g->n == TP_SRTP_GCM_RX_MAX_SSRC) {
    *rc = -ENOSPC;
    return NULL;
  }
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 4;
    tp_srtp_gcm_rx_stream *n = realloc(g->st, cap * sizeof *n);
    if (!n) {
      *rc = -ENOMEM;
      return NULL;
    }
    g->st = n;
    g->cap = cap;
  }
  tp_srtp_gcm_rx_stream *s = &g->st[g->n++];
  memset(s, 0, sizeof *s);
  s->ssrc = ssrc;
  s->s_l = seq;
  g->last = g->n - 1;
  return s;
}

static int decrypt(tp_srtp_gcm_rx *g, uint8_t *pkt, size_t hdr, size_t n, uint32_t roc) {
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
  size_t body = n - TAG_LEN - hdr;
  if (!EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) || !EVP_DecryptUpdate(c, NULL, &out, pkt, (int)hdr) ||
      !EVP_DecryptUpdate(c, pkt + hdr, &out, pkt + hdr, (int)body) ||
      !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, pkt + n - TAG_LEN))
    return -EIO;
  return EVP_DecryptFinal_ex(c, pkt + hdr + out, &fin) == 1 ? 0 : -EBADMSG;
}

int tp_srtp_gcm_rx_unprotect(tp_srtp_gcm_rx *g, uint8_t *pkt, size_t *len) {
  size_t n = *len;
  if (n < 12 + TAG_LEN || (pkt[0] >> 6) != 2 || n > (size_t)INT32_MAX) return -EINVAL;
  size_t hdr = 12 + 4u * (pkt[0] & 0x0f);
  if ((pkt[0] & 0x10) && hdr + 4 <= n) hdr += 4 + 4u * (((size_t)pkt[hdr + 2] << 8) | pkt[hdr + 3]);
  if (hdr + TAG_LEN > n) return -EINVAL;
  uint16_t seq = (uint16_t)((pkt[2] << 8) | pkt[3]);
  uint32_t ssrc = ((uint32_t)pkt[8] << 24) | ((uint32_t)pkt[9] << 16) | ((uint32_t)pkt[10] << 8) | pkt[11];
  tp_srtp_gcm_rx_stream *s = find(g, ssrc);
  uint32_t roc = s ? guess_roc(s, seq) : 0;
  int rc = s ? replay_check(s, index_of(roc, seq)) : 0;
  if (rc == 0) rc = decrypt(g, pkt, hdr, n, roc);
  if (rc != 0) return rc;
  if (!s && !(s = add(g, ssrc, seq, &rc))) return rc;
  replay_update(s, index_of(roc, seq));
  *len = n - TAG_LEN;
  return 0;
}
