/* tp_cert: self-signed ECDSA P-256 certificate (CN "sfu", valid 30 days,
 * random 63-bit serial), its sha-256 fingerprint and the shared DTLS
 * SSL_CTX every peer's SSL object is made from. */
#define G_LOG_DOMAIN "tp"

#include <errno.h>
#include <glib.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "tp_cert_priv.h"

struct tp_cert {
  EVP_PKEY *key;
  X509 *x509;
  SSL_CTX *ssl_ctx;
  char fingerprint[96];
};

void tp_cert_format_fingerprint(const unsigned char md[32], char out[96]) {
  static const char hex[] = "0123456789ABCDEF";
  for (int i = 0; i < 32; i++) {
    out[i * 3] = hex[md[i] >> 4];
    out[i * 3 + 1] = hex[md[i] & 15];
    out[i * 3 + 2] = i == 31 ? '\0' : ':';
  }
}

static int set_random_serial(X509 *x) {
  BIGNUM *bn = BN_new();
  int ok = bn && BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
           BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
  BN_free(bn);
  return ok;
}

static X509 *make_x509(EVP_PKEY *key) {
  X509 *x = X509_new();
  if (!x) return NULL;
  X509_NAME *name = X509_get_subject_name(x);
  int ok = X509_set_version(x, 2) && set_random_serial(x) &&
           X509_gmtime_adj(X509_getm_notBefore(x), -24 * 3600) &&
           X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) && X509_set_pubkey(x, key) &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sfu", -1, -1, 0) &&
           X509_set_issuer_name(x, name) && X509_sign(x, key, EVP_sha256()) > 0;
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

static SSL_CTX *make_ssl_ctx(X509 *x, EVP_PKEY *key) {
  SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
  if (!ctx) return NULL;
  int ok = SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) &&
           SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) && SSL_CTX_use_certificate(ctx, x) == 1 &&
           SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  if (!ok) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  /* Peers are separate SSL objects on one context; no session resumption. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

int tp_cert_new(tp_cert **out, char *err, size_t errlen) {
  *out = NULL;
  tp_cert *c = g_new0(tp_cert, 1);
  ERR_clear_error();
  c->key = EVP_EC_gen("P-256");
  if (c->key) c->x509 = make_x509(c->key);
  if (c->x509) c->ssl_ctx = make_ssl_ctx(c->x509, c->key);
  unsigned char md[32];
  unsigned int mdlen = 0;
  if (!c->ssl_ctx || X509_digest(c->x509, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
    char why[160];
    ERR_error_string_n(ERR_get_error(), why, sizeof why);
    snprintf(err, errlen, "certificate creation failed: %s", why);
    ERR_clear_error();
    tp_cert_free(c);
    return -ENOMEM;
  }
  tp_cert_format_fingerprint(md, c->fingerprint);
  *out = c;
  return 0;
}

const char *tp_cert_fingerprint(const tp_cert *c) {
  return c->fingerprint;
}

SSL_CTX *tp_cert_ssl_ctx(const tp_cert *c) {
  return c->ssl_ctx;
}

void tp_cert_free(tp_cert *c) {
  if (!c) return;
  SSL_CTX_free(c->ssl_ctx);
  X509_free(c->x509);
  EVP_PKEY_free(c->key);
  g_free(c);
}

int tp_cert_check_pem_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                           char *err, size_t errlen) {
  int rc = -EINVAL;
  BIO *cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
  BIO *kb = BIO_new_mem_buf(key_pem, (int)key_len);
  X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
  EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
  if (!x)
    snprintf(err, errlen, "the certificate file holds no PEM certificate");
  else if (!k)
    snprintf(err, errlen, "the key file holds no PEM private key");
  else if (X509_check_private_key(x, k) != 1)
    snprintf(err, errlen, "the private key does not match the certificate");
  else
    rc = 0;
  ERR_clear_error();
  X509_free(x);
  EVP_PKEY_free(k);
  BIO_free(cb);
  BIO_free(kb);
  return rc;
}
