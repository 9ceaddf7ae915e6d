/* Room access tokens: JWT HS256 (RFC 7519 / RFC 7515 compact form) with
 * OpenSSL's HMAC and jansson. Everything here is fed hostile input: every
 * length is bounded, nothing is trusted before the signature matches, and
 * the signature is compared in constant time. */
#include "sig_token.h"

#include "sig_proto.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_MAX 4096   /* whole token, characters */
#define HEADER_MAX 512   /* decoded header, bytes */
#define PAYLOAD_MAX 2048 /* decoded payload, bytes */
#define SIG_LEN 32       /* HMAC-SHA256 */

/* ---- base64url without padding (RFC 4648 section 5) ---- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* out needs 4 * ceil(n / 3) + 1 bytes. */
static void b64url_encode(const unsigned char *in, size_t n, char *out) {
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = B64[v >> 18 & 63];
    out[o++] = B64[v >> 12 & 63];
    out[o++] = B64[v >> 6 & 63];
    out[o++] = B64[v & 63];
  }
  if (n - i == 1) {
    unsigned v = (unsigned)in[i] << 16;
    out[o++] = B64[v >> 18 & 63];
    out[o++] = B64[v >> 12 & 63];
  } else if (n - i == 2) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
    out[o++] = B64[v >> 18 & 63];
    out[o++] = B64[v >> 12 & 63];
    out[o++] = B64[v >> 6 & 63];
  }
  out[o] = 0;
}

static int b64_val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/* Strict decoding: only the url alphabet, no padding, no stray bits. Returns
 * the decoded length or -1 (bad character, impossible length, or more than
 * cap bytes). */
static long b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap) {
  if (n % 4 == 1) return -1;
  size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
  if (need > cap) return -1;
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_val(in[i]);
    if (v < 0) return -1;
    acc = (acc << 6 | (unsigned)v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits & 0xff);
    }
  }
  if (bits && (acc & ((1u << bits) - 1))) return -1; /* non-canonical trailing bits */
  return (long)o;
}

/* ---- claim checks ---- */

static bool hmac256(const char *secret, const char *data, size_t n, unsigned char out[SIG_LEN]) {
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, n, out, &len))
    return false;
  return len == SIG_LEN;
}

#define FAIL(rc_, ...)                                                                                       \
  do {                                                                                                       \
    rc = (rc_);                                                                                              \
    if (err && errlen) snprintf(err, errlen, __VA_ARGS__);                                                   \
    goto done;                                                                                               \
  } while (0)

int sig_token_verify(const char *secret, const char *token, int64_t now_s, sig_token_claims *out, char *err,
                     size_t errlen) {
  int rc = -EINVAL;
  json_t *hdr = NULL, *pl = NULL;
  unsigned char hbuf[HEADER_MAX + 1], pbuf[PAYLOAD_MAX + 1], sig[SIG_LEN + 3], mac[SIG_LEN];
  if (out) memset(out, 0, sizeof *out);
  if (err && errlen) err[0] = 0;
  if (!secret || !*secret) FAIL(-EINVAL, "no token secret configured");
  if (!token || !*token) FAIL(-EINVAL, "missing token");
  size_t n = strnlen(token, TOKEN_MAX + 1);
  if (n > TOKEN_MAX) FAIL(-EINVAL, "token longer than %d characters", TOKEN_MAX);
  const char *d1 = memchr(token, '.', n);
  const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - token)) : NULL;
  if (!d1 || !d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - token)))
    FAIL(-EINVAL, "malformed token: not three dot-separated parts");
  size_t hlen = (size_t)(d1 - token), plen = (size_t)(d2 - d1 - 1), slen = n - (size_t)(d2 + 1 - token);
  if (!hlen || !plen || !slen) FAIL(-EINVAL, "malformed token: empty part");

  long hn = b64url_decode(token, hlen, hbuf, HEADER_MAX);
  if (hn < 0) FAIL(-EINVAL, "malformed token: bad header encoding");
  json_error_t jerr;
  hdr = json_loadb((const char *)hbuf, (size_t)hn, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(hdr)) FAIL(-EINVAL, "malformed token: header is not a JSON object");
  json_t *alg = json_object_get(hdr, "alg");
  if (!json_is_string(alg)) FAIL(-EINVAL, "token header has no \"alg\"");
  if (strcmp(json_string_value(alg), "HS256") != 0)
    FAIL(-EINVAL, "token algorithm \"%.16s\" not accepted (only HS256)", json_string_value(alg));
  json_t *typ = json_object_get(hdr, "typ");
  if (typ && !(json_is_string(typ) && !strcasecmp(json_string_value(typ), "JWT")))
    FAIL(-EINVAL, "token header \"typ\" must be \"JWT\"");
  if (json_object_get(hdr, "crit")) FAIL(-EINVAL, "token header \"crit\" not supported");

  long sn = b64url_decode(d2 + 1, slen, sig, sizeof sig);
  if (sn != SIG_LEN) FAIL(-EINVAL, "malformed token: bad signature encoding");
  if (!hmac256(secret, token, (size_t)(d2 - token), mac)) FAIL(-EINVAL, "cannot compute HMAC");
  if (CRYPTO_memcmp(mac, sig, SIG_LEN) != 0) FAIL(-EINVAL, "bad token signature");

  /* Signed by us: now the claims may be read. */
  long pn = b64url_decode(d1 + 1, plen, pbuf, PAYLOAD_MAX);
  if (pn < 0) FAIL(-EINVAL, "malformed token: bad payload encoding");
  pl = json_loadb((const char *)pbuf, (size_t)pn, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(pl)) FAIL(-EINVAL, "malformed token: payload is not a JSON object");
  json_t *exp = json_object_get(pl, "exp");
  if (!exp) FAIL(-EINVAL, "token has no expiry (\"exp\")");
  if (!json_is_number(exp)) FAIL(-EINVAL, "token \"exp\" must be a number");
  double expd = json_number_value(exp);
  if (!(expd > -9.2e18 && expd < 9.2e18)) FAIL(-EINVAL, "token \"exp\" out of range");
  json_t *room = json_object_get(pl, "room");
  if (!room) FAIL(-EINVAL, "token has no \"room\"");
  if (!json_is_string(room) || !sig_proto_room_name_ok(json_string_value(room)))
    FAIL(-EINVAL, "token \"room\" must be 1-64 characters of A-Z a-z 0-9 _ . -");
  json_t *sub = json_object_get(pl, "sub");
  if (sub && !json_is_null(sub) &&
      !(json_is_string(sub) && sig_proto_display_name_ok(json_string_value(sub))))
    FAIL(-EINVAL, "token \"sub\" must be 1-64 bytes without control characters");
  json_t *pub = json_object_get(pl, "pub"), *subscribe = json_object_get(pl, "subscribe");
  if ((pub && !json_is_boolean(pub)) || (subscribe && !json_is_boolean(subscribe)))
    FAIL(-EINVAL, "token \"pub\" and \"subscribe\" must be true or false");
  json_t *nbf = json_object_get(pl, "nbf");
  if (nbf && !json_is_number(nbf)) FAIL(-EINVAL, "token \"nbf\" must be a number");
  if (nbf && (double)now_s < json_number_value(nbf)) FAIL(-EINVAL, "token not valid yet (\"nbf\")");
  if ((double)now_s >= expd) FAIL(-ETIMEDOUT, "token expired");

  if (out) {
    snprintf(out->room, sizeof out->room, "%s", json_string_value(room));
    snprintf(out->identity, sizeof out->identity, "%s", json_is_string(sub) ? json_string_value(sub) : "");
    out->can_publish = pub ? json_is_true(pub) : true;
    out->can_subscribe = subscribe ? json_is_true(subscribe) : true;
    /* Rounded up: with whole-second clocks, now_s >= exp exactly when
     * now_s >= ceil(exp), so the claims say what was checked and a token
     * minted from them again is valid for the same seconds. */
    out->exp = (int64_t)expd;
    if ((double)out->exp < expd) out->exp++;
  }
  rc = 0;
done:
  json_decref(hdr);
  json_decref(pl);
  OPENSSL_cleanse(mac, sizeof mac);
  return rc;
}

/* base64url of a JSON object's compact text, appended at *p. */
static bool append_json_b64(json_t *o, char *buf, size_t cap, size_t *used) {
  char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  if (!s) return false;
  size_t n = strlen(s);
  bool ok = (n + 2) / 3 * 4 + 1 <= cap - *used;
  if (ok) {
    b64url_encode((const unsigned char *)s, n, buf + *used);
    *used += strlen(buf + *used);
  }
  free(s);
  return ok;
}

char *sig_token_mint(const char *secret, const sig_token_claims *c) {
  if (!secret || !*secret || !c) return NULL;
  if (!memchr(c->room, 0, sizeof c->room) || !memchr(c->identity, 0, sizeof c->identity)) return NULL;
  if (!sig_proto_room_name_ok(c->room)) return NULL;
  if (c->identity[0] && !sig_proto_display_name_ok(c->identity)) return NULL;
  char *buf = malloc(TOKEN_MAX + 1);
  if (!buf) return NULL;
  json_t *hdr = json_pack("{s:s, s:s}", "alg", "HS256", "typ", "JWT");
  json_t *pl = json_pack("{s:s, s:b, s:b, s:I}", "room", c->room, "pub", c->can_publish, "subscribe",
                         c->can_subscribe, "exp", (json_int_t)c->exp);
  if (pl && c->identity[0]) json_object_set_new(pl, "sub", json_string(c->identity));
  size_t used = 0;
  bool ok = hdr && pl && append_json_b64(hdr, buf, TOKEN_MAX + 1, &used);
  if (ok) {
    buf[used++] = '.';
    ok = append_json_b64(pl, buf, TOKEN_MAX + 1, &used);
  }
  unsigned char mac[SIG_LEN];
  ok = ok && used + 1 + 44 <= TOKEN_MAX && hmac256(secret, buf, used, mac);
  if (ok) {
    buf[used++] = '.';
    b64url_encode(mac, SIG_LEN, buf + used);
  }
  json_decref(hdr);
  json_decref(pl);
  OPENSSL_cleanse(mac, sizeof mac);
  if (!ok) {
    free(buf);
    return NULL;
  }
  return buf;
}
