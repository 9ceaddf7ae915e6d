/* tp_cert_priv: what the rest of transport/ needs from a tp_cert: the
 * shared OpenSSL DTLS context (certificate and key loaded, DTLS 1.2 only).
 * Internal to transport/. Thread: read-only after tp_cert_new. */
#ifndef TP_CERT_PRIV_H
#define TP_CERT_PRIV_H

#include <openssl/ssl.h>

#include "tp_cert.h"

/* Borrowed from the cert; SSL_new() takes its own reference. */
SSL_CTX *tp_cert_ssl_ctx(const tp_cert *c);

/* Formats a sha-256 digest as "AB:CD:..:EF" into out (>= 96 bytes). */
void tp_cert_format_fingerprint(const unsigned char md[32], char out[96]);

#endif
