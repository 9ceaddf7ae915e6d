/* tp_srtp_gcm: outgoing SRTP for AEAD_AES_128_GCM (RFC 7714) straight on
 * OpenSSL's EVP AES-GCM. Debian's libsrtp2 does its AES through NSS, which
 * the profile showed at a quarter of the server's CPU; this path is the
 * per-packet hot spot (every forwarded copy), so it is ours. Session keys
 * come from the RFC 3711 key derivation, the IV and AAD from RFC 7714, and
 * the rollover counter is kept per SSRC. Incoming packets and RTCP stay on
 * libsrtp2 (replay windows, fewer packets). SFU_SRTP_LIBSRTP=1 in the
 * environment keeps outgoing RTP on libsrtp2 too (for A/B benchmarks).
 * Thread: the owning peer's media thread. Allocates only for a new SSRC. */
#ifndef TP_SRTP_GCM_H
#define TP_SRTP_GCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t ssrc;
  uint32_t roc;
  uint16_t s_l; /* highest sequence number sent */
} tp_srtp_gcm_tx;

/* Owns its cipher context and the SSRC table. */
typedef struct {
  void *ctx;          /* EVP_CIPHER_CTX *, NULL = not in use */
  uint8_t salt[12];   /* session salt */
  tp_srtp_gcm_tx *tx; /* per-SSRC rollover state */
  size_t ntx, captx, last;
} tp_srtp_gcm;

/* master key (16) and master salt (12) as exported by DTLS-SRTP for our
 * sending side. 0 or -EIO. */
int tp_srtp_gcm_start(tp_srtp_gcm *g, const uint8_t *master_key, const uint8_t *master_salt);
void tp_srtp_gcm_stop(tp_srtp_gcm *g);
/* RFC 3711 4.3 session key (label 0x00) or salt (0x02) from a 16-byte
 * master key and 12-byte master salt (the receive side uses it too). */
int tp_srtp_gcm_derive(const uint8_t *key, const uint8_t *salt, uint8_t label, uint8_t out[16]);
/* Encrypts the RTP packet in place and appends the 16-byte tag.
 * 0, -ENOSPC (cap), -EINVAL (not RTP), -ENOMEM (new SSRC), -EIO. */
int tp_srtp_gcm_protect(tp_srtp_gcm *g, uint8_t *pkt, size_t *len, size_t cap);

#endif
