/* sig_policy: who may join: the join rate per source address (a token
 * bucket per address) and room access tokens. Control thread. */
#ifndef SIG_POLICY_H
#define SIG_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "sig_proto.h"
#include "sig_token.h"

typedef struct sig_policy sig_policy;

sig_policy *sig_policy_new(void);
void sig_policy_free(sig_policy *p);
/* New settings (SIGHUP); secret copied, NULL = rooms open. */
void sig_policy_set(sig_policy *p, const char *jwt_secret, unsigned joins_per_sec_per_ip);
bool sig_policy_needs_token(const sig_policy *p);
unsigned sig_policy_join_rate(const sig_policy *p);
/* One join attempt from ip: false when over the rate. */
bool sig_policy_join_rate_ok(sig_policy *p, const char *ip);
/* With a secret, a join needs a valid token for this room: 0 with claims
 * filled, or -1 with the reason in err. Without one, 0 (all allowed). */
int sig_policy_check_token(const sig_policy *p, const sig_req *req, sig_token_claims *c, char *err,
                           size_t errlen);

#endif
