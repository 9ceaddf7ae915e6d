/* sig_token: room access tokens, JWT HS256 (RFC 7519) signed with the
 * server's jwt_secret. Claims: "room" (string), "sub" (participant
 * identity), "pub" and "subscribe" permissions (booleans, default true),
 * "exp" (seconds since the epoch, required). Pure: OpenSSL HMAC + jansson,
 * no logging, no globals; any thread. Fed hostile input, and fuzzed. */
#ifndef SIG_TOKEN_H
#define SIG_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  char room[72];
  char identity[72];
  bool can_publish;
  bool can_subscribe;
  int64_t exp; /* seconds since the epoch */
} sig_token_claims;

/* 0 and claims filled, or -EINVAL (malformed, bad signature, wrong alg,
 * missing claims) / -ETIMEDOUT (expired at now_s) with a reason in err. The
 * signature is checked in constant time before any claim is trusted. */
int sig_token_verify(const char *secret, const char *token, int64_t now_s, sig_token_claims *out, char *err,
                     size_t errlen);

/* A signed token for these claims; malloc'ed, NULL on failure. */
char *sig_token_mint(const char *secret, const sig_token_claims *claims);

#endif
