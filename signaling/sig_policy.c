/* Join policy: rate per address and access tokens. */
#include "sig_policy.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

struct sig_policy {
  char *jwt_secret;
  unsigned rate;
  GHashTable *buckets; /* ip (owned) -> join_bucket* (owned) */
  int64_t swept_us;
};

/* Capacity and refill are both `rate` joins. Idle buckets are full again
 * after a second, so entries idle for 2 s are dropped, at most every 5 s. */
typedef struct {
  double tokens;
  int64_t at_us;
} join_bucket;

sig_policy *sig_policy_new(void) {
  sig_policy *p = g_new0(sig_policy, 1);
  p->buckets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return p;
}

void sig_policy_free(sig_policy *p) {
  if (!p) return;
  g_hash_table_destroy(p->buckets);
  if (p->jwt_secret) memset(p->jwt_secret, 0, strlen(p->jwt_secret));
  g_free(p->jwt_secret);
  g_free(p);
}

void sig_policy_set(sig_policy *p, const char *jwt_secret, unsigned joins_per_sec_per_ip) {
  if (p->jwt_secret) memset(p->jwt_secret, 0, strlen(p->jwt_secret));
  g_free(p->jwt_secret);
  p->jwt_secret = jwt_secret && *jwt_secret ? g_strdup(jwt_secret) : NULL;
  p->rate = joins_per_sec_per_ip;
}

bool sig_policy_needs_token(const sig_policy *p) {
  return p->jwt_secret != NULL;
}

unsigned sig_policy_join_rate(const sig_policy *p) {
  return p->rate;
}

static gboolean bucket_idle(gpointer key, gpointer value, gpointer now) {
  (void)key;
  return *(int64_t *)now - ((join_bucket *)value)->at_us > 2 * G_USEC_PER_SEC;
}

bool sig_policy_join_rate_ok(sig_policy *p, const char *ip) {
  if (!p->rate) return true;
  int64_t now = g_get_monotonic_time();
  if (now - p->swept_us > 5 * G_USEC_PER_SEC) {
    g_hash_table_foreach_remove(p->buckets, bucket_idle, &now);
    p->swept_us = now;
  }
  join_bucket *b = g_hash_table_lookup(p->buckets, ip);
  if (!b) {
    b = g_new(join_bucket, 1);
    b->tokens = p->rate;
    g_hash_table_insert(p->buckets, g_strdup(ip), b);
  } else {
    b->tokens = MIN((double)p->rate, b->tokens + (double)(now - b->at_us) * p->rate / G_USEC_PER_SEC);
  }
  b->at_us = now;
  if (b->tokens < 1.0) return false;
  b->tokens -= 1.0;
  return true;
}

int sig_policy_check_token(const sig_policy *p, const sig_req *req, sig_token_claims *c, char *err,
                           size_t errlen) {
  if (!p->jwt_secret) return 0;
  if (!req->token || !*req->token) {
    snprintf(err, errlen, "missing token: this server needs an access token to join a room");
    return -1;
  }
  char why[160];
  int rc = sig_token_verify(p->jwt_secret, req->token, (int64_t)g_get_real_time() / G_USEC_PER_SEC, c, why,
                            sizeof why);
  if (rc == -ETIMEDOUT) {
    snprintf(err, errlen, "token expired");
    return -1;
  }
  if (rc != 0) {
    snprintf(err, errlen, "invalid token: %s", why);
    return -1;
  }
  if (strcmp(c->room, req->room) != 0) {
    snprintf(err, errlen, "token is for another room");
    return -1;
  }
  return 0;
}
