/* tp_srtp: one peer's pair of libsrtp2 sessions (inbound, outbound) keyed
 * from DTLS-SRTP keying material. Protect/unprotect work in place and never
 * allocate or log. Thread: the owning peer's media thread. Internal to
 * transport/; knows nothing of DTLS or ICE. */
#ifndef TP_SRTP_H
#define TP_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp_srtp_gcm.h"
#include "tp_srtp_gcm_rx.h"

typedef struct {
  void *in, *out;        /* srtp_t, NULL before keys */
  const char *profile;   /* static string, NULL before keys */
  tp_srtp_gcm gcm;       /* outgoing RTP with the GCM profile (ctx NULL otherwise) */
  tp_srtp_gcm_rx gcm_in; /* incoming RTP with the GCM profile (ctx NULL otherwise) */
} tp_srtp;

/* Key material sizes for one side, for the OpenSSL profile name; returns
 * false for a profile we do not support. */
bool tp_srtp_profile_sizes(const char *profile, size_t *key_len, size_t *salt_len);

/* km: borrowed, as exported by "EXTRACTOR-dtls_srtp" (client key | server
 * key | client salt | server salt). is_client picks our side. */
int tp_srtp_start(tp_srtp *s, const char *profile, const uint8_t *km, size_t km_len, bool is_client,
                  char *err, size_t errlen);
void tp_srtp_stop(tp_srtp *s);

/* In place. *len is updated. Return 0 or a negative errno-style code:
 * -ENOSPC (cap too small), -EBADMSG (auth failure), -EALREADY (replay). */
int tp_srtp_protect(tp_srtp *s, bool rtcp, uint8_t *pkt, size_t *len, size_t cap);
int tp_srtp_unprotect(tp_srtp *s, bool rtcp, uint8_t *pkt, size_t *len);

#endif
