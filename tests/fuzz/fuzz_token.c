/* fuzz_token: libFuzzer target for sig_token_verify (signaling/sig_token.h),
 * which reads the token of a join message before anything else is trusted.
 * The first input byte picks the mode, the rest is the body:
 *   'S' (any odd byte): body = header JSON '\n' payload JSON. The target
 *        base64url-encodes both and signs them with the test secret, so the
 *        fuzzer reaches the claim checks behind the signature with any JSON;
 *   else: body = the token text as it came in the join message.
 * Verification runs with the right secret, and for a token that passes,
 * again with a wrong secret, with one signature character changed, and after
 * a mint -> verify round trip of the claims it returned.
 * Built by tests/fuzz/CMakeLists.txt (fuzz_token with -DSFU_FUZZ=ON and clang,
 * fuzz_replay_token always); seeds: tests/fuzz/gen_token_seeds.py.
 * Checks beyond "no crash, no leak": the result is 0, -EINVAL or -ETIMEDOUT;
 * a failure says why and leaves the claims zeroed; a success gives a valid
 * room, an identity without control characters and an unexpired exp; only the
 * right secret and the untouched signature verify; minted claims verify back
 * to the same claims. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sig_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzz-secret-0123456789"
#define NOW 1700000000LL /* 2023-11-14 */

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_token: check failed: %s\n", what);
    abort();
  }
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64url(const uint8_t *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v =
        (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
    out[o++] = B64[v >> 18 & 63];
    out[o++] = B64[v >> 12 & 63];
    if (i + 1 < n) out[o++] = B64[v >> 6 & 63];
    if (i + 2 < n) out[o++] = B64[v & 63];
  }
  out[o] = 0;
  return o;
}

/* header '\n' payload -> "b64(header).b64(payload).b64(HMAC)"; malloc'ed. */
static char *sign(const uint8_t *body, size_t n) {
  const uint8_t *nl = memchr(body, '\n', n);
  size_t hn = nl ? (size_t)(nl - body) : n;
  const uint8_t *pl = nl ? nl + 1 : body + n;
  size_t pn = nl ? n - hn - 1 : 0;
  char *tok = malloc(4 * (hn + pn + 32) / 3 + 16);
  check(tok != NULL, "malloc");
  size_t used = b64url(body, hn, tok);
  tok[used++] = '.';
  used += b64url(pl, pn, tok + used);
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned maclen = 0;
  check(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const uint8_t *)tok, used, mac, &maclen) != NULL,
        "HMAC");
  tok[used++] = '.';
  b64url(mac, maclen, tok + used);
  return tok;
}

static int claims_zero(const sig_token_claims *c) {
  static const sig_token_claims zero;
  return !memcmp(c, &zero, sizeof zero);
}

static int verify(const char *secret, const char *tok, sig_token_claims *c) {
  char err[160];
  memset(err, 0x55, sizeof err);
  int rc = sig_token_verify(secret, tok, NOW, c, err, sizeof err);
  check(rc == 0 || rc == -EINVAL || rc == -ETIMEDOUT, "rc is 0, -EINVAL or -ETIMEDOUT");
  check(memchr(err, 0, sizeof err) != NULL, "err NUL-terminated");
  if (rc != 0) {
    check(err[0] != 0, "a failure says why");
    check(claims_zero(c), "a failure leaves the claims zeroed");
    return rc;
  }
  check(memchr(c->room, 0, sizeof c->room) && memchr(c->identity, 0, sizeof c->identity),
        "claims terminated");
  size_t rn = strlen(c->room);
  check(rn >= 1 && rn <= 64 &&
            strspn(c->room, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == rn,
        "room as in a join message");
  for (const char *p = c->identity; *p; p++)
    check((unsigned char)*p >= 0x20 && *p != 0x7f, "identity without control characters");
  /* A fractional exp comes back rounded up (corpus/token/sign_exp_float.json
   * once came back truncated, already expired). */
  check(c->exp > NOW, "not expired");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  char *tok;
  if (data[0] & 1) {
    tok = sign(data + 1, size - 1);
  } else {
    tok = malloc(size); /* body + NUL; a NUL inside just ends the token early */
    check(tok != NULL, "malloc");
    memcpy(tok, data + 1, size - 1);
    tok[size - 1] = 0;
  }
  sig_token_claims c;
  memset(&c, 0x55, sizeof c);
  if (verify(SECRET, tok, &c) == 0) {
    sig_token_claims other;
    check(verify("fuzz-secret-0123456788", tok, &other) != 0, "a wrong secret fails");
    check(verify(SECRET "x", tok, &other) != 0, "a longer secret fails");
    size_t n = strlen(tok);
    char *bad = strdup(tok);
    check(bad != NULL, "strdup");
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A'; /* changes the signature's bytes, keeps it canonical */
    check(verify(SECRET, bad, &other) != 0, "a changed signature fails");
    free(bad);

    char *again = sig_token_mint(SECRET, &c);
    check(again != NULL, "verified claims can be minted");
    check(verify(SECRET, again, &other) == 0, "a minted token verifies");
    check(!strcmp(other.room, c.room) && !strcmp(other.identity, c.identity) &&
              other.can_publish == c.can_publish && other.can_subscribe == c.can_subscribe &&
              other.exp == c.exp,
          "mint -> verify keeps the claims");
    free(again);
  }
  free(tok);
  return 0;
}
