/* tp_dtls: DTLS 1.2 for DTLS-SRTP on OpenSSL 3.0.
 * - read side: a memory BIO with mem_eof_return -1 (empty = retry);
 * - write side: a tiny BIO that passes each write on as one datagram, so
 *   record boundaries survive (a memory BIO would merge a flight);
 * - SSL_OP_NO_QUERY_MTU and an MTU of 1200;
 * - retransmission timer starts at 50 ms and doubles up to 3 s (OpenSSL's
 *   default is 1 s); the owner runs it, see tp_dtls_timeout_ms();
 * - the peer's self-signed certificate is accepted during the handshake;
 *   the owner compares tp_dtls_peer_fingerprint() with the SDP afterwards. */
#define G_LOG_DOMAIN "tp"

#include "tp_dtls.h"

#include <errno.h>
#include <glib.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "tp_cert_priv.h"
#include "tp_srtp.h"

#define TP_DTLS_MTU 1200
#define TP_DTLS_DEFAULT_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

struct tp_dtls {
  SSL *ssl;
  BIO *rbio; /* owned by ssl */
  tp_dtls_send_fn send;
  void *ud;
  tp_dtls_data_fn on_data;
  void *data_ud;
  bool done, closed, failed;
  uint64_t dropped, written, app_used;
  char why[160];
};

/* ---- the datagram write BIO ---- */

static int dgram_write(BIO *b, const char *buf, int len) {
  tp_dtls *d = BIO_get_data(b);
  if (d) d->written++;
  if (d && d->send && len > 0) d->send(d->ud, (const uint8_t *)buf, (size_t)len);
  return len; /* a lost datagram is DTLS's business (retransmission) */
}

static long dgram_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b, (void)num, (void)ptr;
  switch (cmd) {
  case BIO_CTRL_FLUSH:
    return 1;
  case BIO_CTRL_DGRAM_QUERY_MTU:
    return TP_DTLS_MTU;
  default:
    return 0; /* pending, wpending, mtu overhead, peer address: none */
  }
}

static int dgram_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static int dgram_destroy(BIO *b) {
  BIO_set_data(b, NULL);
  return 1;
}

static gpointer make_method(gpointer unused) {
  (void)unused;
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tp_dgram");
  if (!m) return NULL;
  BIO_meth_set_write(m, dgram_write);
  BIO_meth_set_ctrl(m, dgram_ctrl);
  BIO_meth_set_create(m, dgram_create);
  BIO_meth_set_destroy(m, dgram_destroy);
  return m; /* lives for the whole process */
}

static BIO_METHOD *dgram_method(void) {
  static GOnce once = G_ONCE_INIT;
  return g_once(&once, make_method, NULL);
}

/* ---- SSL object ---- */

static int accept_any_cert(int preverify_ok, X509_STORE_CTX *ctx) {
  (void)preverify_ok, (void)ctx;
  return 1; /* self-signed by design; the fingerprint check comes after */
}

static unsigned int retransmit_timer(SSL *s, unsigned int prev_us) {
  (void)s;
  if (prev_us == 0) return 50000;
  return prev_us >= 1500000 ? 3000000 : prev_us * 2;
}

static void set_why_from_openssl(tp_dtls *d, const char *what) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  snprintf(d->why, sizeof d->why, "%s%s%s", what, r ? ": " : "", r ? r : "");
  ERR_clear_error();
}

int tp_dtls_new(tp_dtls **out, const tp_cert *cert, bool is_client, const char *profiles,
                tp_dtls_send_fn send, void *ud, char *err, size_t errlen) {
  *out = NULL;
  BIO_METHOD *m = dgram_method();
  if (!m) {
    snprintf(err, errlen, "BIO_meth_new failed");
    return -ENOMEM;
  }
  tp_dtls *d = g_new0(tp_dtls, 1);
  d->send = send;
  d->ud = ud;
  ERR_clear_error();
  d->ssl = SSL_new(tp_cert_ssl_ctx(cert));
  BIO *wbio = BIO_new(m);
  d->rbio = BIO_new(BIO_s_mem());
  if (!d->ssl || !wbio || !d->rbio) {
    BIO_free(wbio);
    BIO_free(d->rbio);
    SSL_free(d->ssl);
    g_free(d);
    snprintf(err, errlen, "SSL_new/BIO_new failed");
    return -ENOMEM;
  }
  BIO_set_mem_eof_return(d->rbio, -1);
  BIO_set_data(wbio, d);
  SSL_set_bio(d->ssl, d->rbio, wbio); /* ssl owns both now */
  SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(d->ssl, TP_DTLS_MTU);
  SSL_set_verify(d->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_cert);
  DTLS_set_timer_cb(d->ssl, retransmit_timer);
  /* Returns 0 on success (sic). */
  if (SSL_set_tlsext_use_srtp(d->ssl, profiles ? profiles : TP_DTLS_DEFAULT_PROFILES) != 0) {
    snprintf(err, errlen, "bad SRTP profile list \"%s\"", profiles ? profiles : "");
    ERR_clear_error();
    tp_dtls_free(d);
    return -EINVAL;
  }
  if (is_client)
    SSL_set_connect_state(d->ssl);
  else
    SSL_set_accept_state(d->ssl);
  *out = d;
  return 0;
}

void tp_dtls_free(tp_dtls *d) {
  if (!d) return;
  SSL_free(d->ssl);
  g_free(d);
}

static tp_dtls_result on_ssl_result(tp_dtls *d, int r, const char *what) {
  switch (SSL_get_error(d->ssl, r)) {
  case SSL_ERROR_WANT_READ:
  case SSL_ERROR_WANT_WRITE:
    ERR_clear_error();
    return TP_DTLS_CONTINUE;
  case SSL_ERROR_ZERO_RETURN:
    d->closed = true;
    ERR_clear_error();
    return TP_DTLS_CLOSED;
  default:
    d->failed = true;
    set_why_from_openssl(d, what);
    return TP_DTLS_ERROR;
  }
}

static tp_dtls_result drive(tp_dtls *d) {
  if (!d->done) {
    ERR_clear_error();
    int r = SSL_do_handshake(d->ssl);
    if (r != 1) return on_ssl_result(d, r, "DTLS handshake failed");
    d->done = true;
    return TP_DTLS_DONE;
  }
  /* After the handshake: alerts, retransmitted flights, application data
   * (data channels). A record is at most 2^14 bytes: read each one whole. */
  uint8_t rec[16384];
  for (;;) {
    ERR_clear_error();
    int r = SSL_read(d->ssl, rec, sizeof rec);
    if (r <= 0) return on_ssl_result(d, r, "DTLS error");
    if (d->on_data) {
      d->on_data(d->data_ud, rec, (size_t)r);
      d->app_used++;
    }
  }
}

tp_dtls_result tp_dtls_start(tp_dtls *d) {
  if (d->failed || d->closed) return TP_DTLS_CONTINUE;
  return drive(d);
}

/* DTLS record header (RFC 6347 4.1): type, version (2), epoch (2),
 * sequence number (6), length (2). */
#define REC_HDR 13
#define REC_MAX (REC_HDR + 16384 + 2048)

/* Length of the well-formed record at r (of rest bytes), or 0. */
static size_t record_len(const uint8_t *r, size_t rest) {
  if (rest < REC_HDR) return 0;
  if (r[0] < 20 || r[0] > 23) return 0; /* change_cipher_spec, alert, handshake, application_data */
  if (r[1] != 0xfe || (r[2] != 0xff && r[2] != 0xfd)) return 0; /* DTLS 1.0 or 1.2 */
  size_t n = REC_HDR + ((size_t)r[11] << 8 | r[12]);
  return n <= rest && n <= REC_MAX ? n : 0;
}

/* Smallest body a protected (epoch 1) record can have with the cipher in
 * use. OpenSSL 3.0 treats a shorter one as fatal (an internal_error alert to
 * the peer for an AEAD cipher, "length too short" with encrypt-then-MAC)
 * instead of discarding it as RFC 6347 4.1.2.7 asks: so it never gets one. */
static size_t min_protected(const tp_dtls *d) {
  const SSL_CIPHER *c = SSL_get_current_cipher(d->ssl);
  if (!c) c = SSL_get_pending_cipher(d->ssl);
  if (!c) return 16; /* no cipher agreed yet: the smallest AEAD overhead */
  int cnid = SSL_CIPHER_get_cipher_nid(c);
  if (SSL_CIPHER_is_aead(c)) {
    if (cnid == NID_chacha20_poly1305) return 16;            /* tag */
    return strstr(SSL_CIPHER_get_name(c), "CCM8") ? 16 : 24; /* explicit nonce + tag */
  }
  const EVP_MD *md = EVP_get_digestbynid(SSL_CIPHER_get_digest_nid(c));
  const EVP_CIPHER *ci = EVP_get_cipherbynid(cnid);
  size_t mac = md ? (size_t)EVP_MD_get_size(md) : 48, bs = ci ? (size_t)EVP_CIPHER_get_block_size(ci) : 16;
  if (bs < 1) bs = 1;
  return bs + (mac + 1 + bs - 1) / bs * bs; /* explicit IV + MAC and at least one byte of padding */
}

/* A datagram may hold several records (RFC 6347 4.1.1; browsers coalesce
 * them): each goes to OpenSSL alone, so one that is not well formed costs
 * only itself (and what follows it, which cannot be framed). Dropped here
 * too: epochs above 1 (DTLS-SRTP never renegotiates) and protected records
 * too short for the cipher (see min_protected). */
tp_dtls_result tp_dtls_feed(tp_dtls *d, const uint8_t *buf, size_t len) {
  tp_dtls_result res = TP_DTLS_CONTINUE;
  for (size_t off = 0; off < len && !d->failed && !d->closed;) {
    size_t n = record_len(buf + off, len - off);
    if (!n) {
      d->dropped++;
      break;
    }
    const uint8_t *r = buf + off;
    off += n;
    unsigned epoch = (unsigned)r[3] << 8 | r[4];
    if (epoch > 1 || (epoch == 1 && n - REC_HDR < min_protected(d))) {
      d->dropped++;
      continue;
    }
    if (BIO_write(d->rbio, r, (int)n) != (int)n) break;
    bool was_done = d->done;
    uint64_t written = d->written, app = d->app_used;
    tp_dtls_result x = drive(d);
    if (x != TP_DTLS_CONTINUE) res = x;
    /* After the handshake a record is used when it closes the connection,
     * makes OpenSSL answer (a retransmitted flight) or carries application
     * data someone takes (data channels). The rest OpenSSL discarded quietly
     * (bad MAC, replay, old epoch) or had no use for: counted as dropped. */
    if (was_done && x == TP_DTLS_CONTINUE && d->written == written && d->app_used == app) d->dropped++;
  }
  return res;
}

uint64_t tp_dtls_dropped(const tp_dtls *d) {
  return d->dropped;
}

int tp_dtls_timeout_ms(tp_dtls *d) {
  struct timeval tv;
  if (d->failed || d->closed || DTLSv1_get_timeout(d->ssl, &tv) != 1) return -1;
  long ms = tv.tv_sec * 1000L + (tv.tv_usec + 999) / 1000;
  return ms > 60000 ? 60000 : (int)ms;
}

tp_dtls_result tp_dtls_on_timeout(tp_dtls *d) {
  if (d->failed || d->closed) return TP_DTLS_CONTINUE;
  ERR_clear_error();
  if (DTLSv1_handle_timeout(d->ssl) < 0) {
    d->failed = true;
    set_why_from_openssl(d, "DTLS handshake timed out");
    return TP_DTLS_ERROR;
  }
  return TP_DTLS_CONTINUE;
}

const char *tp_dtls_error(const tp_dtls *d) {
  return d->why[0] ? d->why : "DTLS error";
}

bool tp_dtls_is_done(const tp_dtls *d) {
  return d->done;
}

int tp_dtls_peer_fingerprint(tp_dtls *d, char out[96]) {
  X509 *x = SSL_get1_peer_certificate(d->ssl);
  unsigned char md[32];
  unsigned int n = 0;
  int ok = x && X509_digest(x, EVP_sha256(), md, &n) == 1 && n == 32;
  X509_free(x);
  if (!ok) return -ENOENT;
  tp_cert_format_fingerprint(md, out);
  return 0;
}

int tp_dtls_export_srtp(tp_dtls *d, const char **profile, uint8_t *km, size_t km_cap, size_t *km_len) {
  const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
  size_t kl, sl;
  if (!p || !tp_srtp_profile_sizes(p->name, &kl, &sl)) return -ENOTSUP;
  size_t n = 2 * (kl + sl);
  if (n > km_cap) return -ENOSPC;
  static const char label[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(d->ssl, km, n, label, sizeof label - 1, NULL, 0, 0) != 1) {
    ERR_clear_error();
    return -EIO;
  }
  *profile = p->name;
  *km_len = n;
  return 0;
}

void tp_dtls_set_data_cb(tp_dtls *d, tp_dtls_data_fn fn, void *ud) {
  d->on_data = fn;
  d->data_ud = ud;
}

int tp_dtls_write(tp_dtls *d, const uint8_t *buf, size_t len) {
  if (!d->done || d->failed || d->closed) return -EAGAIN;
  if (len == 0 || len > 16384) return -EMSGSIZE;
  ERR_clear_error();
  int r = SSL_write(d->ssl, buf, (int)len);
  if (r == (int)len) return 0;
  ERR_clear_error();
  return -EIO;
}

void tp_dtls_close(tp_dtls *d) {
  if (!d || !d->done || d->failed || d->closed) return;
  ERR_clear_error();
  SSL_shutdown(d->ssl); /* sends close_notify through the write BIO */
  ERR_clear_error();
  d->closed = true;
}
