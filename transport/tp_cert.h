/* tp_cert: the server's self-signed ECDSA P-256 DTLS certificate and key,
 * made once at start-up, and its sha-256 fingerprint for SDP.
 * Thread: create/free on any one thread; read-only use from any thread.
 * Ownership: the creator owns it; every tp_peer borrows it. */
#ifndef TP_CERT_H
#define TP_CERT_H

#include <stddef.h>

typedef struct tp_cert tp_cert;

int tp_cert_new(tp_cert **out, char *err, size_t errlen);
/* "AB:CD:...:EF", 95 characters, upper case. Borrowed from the cert. */
const char *tp_cert_fingerprint(const tp_cert *c);
void tp_cert_free(tp_cert *c);

/* Checks that PEM texts hold a certificate and a private key that belong
 * together (for the HTTPS certificate reload: refuse a broken renewal
 * before the running server takes it). 0, or -EINVAL with err set. */
int tp_cert_check_pem_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                           char *err, size_t errlen);

#endif
