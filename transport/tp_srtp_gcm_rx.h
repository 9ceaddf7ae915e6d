/* tp_srtp_gcm_rx: incoming SRTP for AEAD_AES_128_GCM (RFC 7714) on
 * OpenSSL's EVP, the receive twin of tp_srtp_gcm. Debian's libsrtp2 does its
 * AES through NSS, which creates a context per packet: the load generator's
 * profile showed NSS at 29 % of its CPU, and the server decrypts every
 * publisher packet. Per SSRC: the rollover counter guessed as RFC 3711
 * 3.3.1 says, and a 1024-packet replay window (as our libsrtp2 sessions).
 * A new SSRC is admitted only by a packet that authenticates. Incoming RTCP
 * stays on libsrtp2. SFU_SRTP_LIBSRTP=1 keeps everything on libsrtp2.
 * Thread: the owning peer's thread. Allocates only for a new SSRC. */
#ifndef TP_SRTP_GCM_RX_H
#define TP_SRTP_GCM_RX_H

#include <stddef.h>
#include <stdint.h>

#define TP_SRTP_GCM_RX_WINDOW 1024
#define TP_SRTP_GCM_RX_MAX_SSRC 64

typedef struct {
  uint32_t ssrc;
  uint32_t roc;
  uint16_t s_l;                              /* highest sequence number authenticated */
  uint64_t seen[TP_SRTP_GCM_RX_WINDOW / 64]; /* bit (index % WINDOW): received */
} tp_srtp_gcm_rx_stream;

/* Owns its cipher context and the SSRC table. */
typedef struct {
  void *ctx; /* EVP_CIPHER_CTX * (decrypt), NULL = not in use */
  uint8_t salt[12];
  tp_srtp_gcm_rx_stream *st;
  size_t n, cap, last;
} tp_srtp_gcm_rx;

/* The remote's master key (16) and salt (12). 0 or -EIO. */
int tp_srtp_gcm_rx_start(tp_srtp_gcm_rx *g, const uint8_t *master_key, const uint8_t *master_salt);
void tp_srtp_gcm_rx_stop(tp_srtp_gcm_rx *g);
/* Checks and decrypts in place; *len loses the tag. 0, -EINVAL (not RTP or
 * too short), -EBADMSG (authentication failed), -EALREADY (replayed or
 * older than the window), -ENOMEM / -ENOSPC (no room for a new SSRC). */
int tp_srtp_gcm_rx_unprotect(tp_srtp_gcm_rx *g, uint8_t *pkt, size_t *len);

#endif
