/* tp_dtls: one DTLS 1.2 endpoint for DTLS-SRTP over ICE. Incoming records
 * are fed from memory; outgoing records leave through a small BIO that
 * hands each write (one flight fragment = one datagram) to a send function.
 * No timers and no callbacks upward: every call returns what happened and
 * tp_dtls_timeout_ms() tells the owner when to call tp_dtls_on_timeout().
 * Thread: the owning peer's thread. Internal to transport/. */
#ifndef TP_DTLS_H
#define TP_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp_cert.h"

typedef struct tp_dtls tp_dtls;

typedef enum {
  TP_DTLS_CONTINUE = 0, /* nothing new */
  TP_DTLS_DONE,         /* handshake just completed */
  TP_DTLS_CLOSED,       /* peer sent close_notify */
  TP_DTLS_ERROR,        /* fatal alert, handshake failure, timeout */
} tp_dtls_result;

/* Sends one datagram; returns 0 or negative. The send is best effort:
 * DTLS retransmits lost flights itself. */
typedef int (*tp_dtls_send_fn)(void *ud, const uint8_t *buf, size_t len);

/* cert: borrowed, must outlive. profiles: OpenSSL use_srtp list, NULL =
 * "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80". */
int tp_dtls_new(tp_dtls **out, const tp_cert *cert, bool is_client, const char *profiles,
                tp_dtls_send_fn send, void *ud, char *err, size_t errlen);
void tp_dtls_free(tp_dtls *d);

/* Client only: sends the ClientHello. */
tp_dtls_result tp_dtls_start(tp_dtls *d);
/* buf: borrowed, one received datagram (one or more records). */
tp_dtls_result tp_dtls_feed(tp_dtls *d, const uint8_t *buf, size_t len);
/* Milliseconds until tp_dtls_on_timeout is due, or -1 for no timer. */
int tp_dtls_timeout_ms(tp_dtls *d);
tp_dtls_result tp_dtls_on_timeout(tp_dtls *d);

/* Records dropped so far: not well formed, an impossible epoch, or (after
 * the handshake) refused by OpenSSL. */
uint64_t tp_dtls_dropped(const tp_dtls *d);

/* Why the last TP_DTLS_ERROR happened; static or owned by d. */
const char *tp_dtls_error(const tp_dtls *d);
bool tp_dtls_is_done(const tp_dtls *d);

/* After DONE: sha-256 fingerprint of the peer certificate ("AB:.."),
 * out >= 96 bytes; returns 0 or -ENOENT. */
int tp_dtls_peer_fingerprint(tp_dtls *d, char out[96]);
/* After DONE: negotiated profile name (static) and keying material of
 * 2*(key+salt) bytes into km (>= 60 bytes). Returns 0 or negative. */
int tp_dtls_export_srtp(tp_dtls *d, const char **profile, uint8_t *km, size_t km_cap, size_t *km_len);

/* Application data (data channels: SCTP packets, one per record). The
 * callback gets each record read after the handshake (buf borrowed); it may
 * call tp_dtls_write. tp_dtls_write sends one record: 0, -EAGAIN before the
 * handshake is done or after close, -EIO. */
typedef void (*tp_dtls_data_fn)(void *ud, const uint8_t *buf, size_t len);
void tp_dtls_set_data_cb(tp_dtls *d, tp_dtls_data_fn fn, void *ud);
int tp_dtls_write(tp_dtls *d, const uint8_t *buf, size_t len);

/* Best-effort close_notify. */
void tp_dtls_close(tp_dtls *d);

#endif
