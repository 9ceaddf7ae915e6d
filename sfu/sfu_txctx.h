/* sfu_txctx: what the consumers of one transport share when they send: the
 * transport-wide sequence number every outgoing RTP packet carries, and the
 * send-side bandwidth estimator it feeds (draft-holmer-rmcat-transport-wide-cc).
 * Owned by the transport (sfu_transport.c); its consumers borrow it.
 * Thread: the owning media thread. */
#ifndef SFU_TXCTX_H
#define SFU_TXCTX_H

#include <stdint.h>

#include "sfu_bwe.h"

typedef struct {
  uint16_t twcc_seq; /* the next transport-wide sequence number */
  sfu_bwe *bwe;      /* owned by the transport; NULL until the remote's first feedback */
} sfu_txctx;

/* Stamps the next transport-wide number into rw; after a successful send
 * of `bytes`, sfu_txctx_sent records it for the estimator. */
static inline uint16_t sfu_txctx_next(sfu_txctx *tx) {
  return tx->twcc_seq++;
}
static inline void sfu_txctx_sent(sfu_txctx *tx, uint16_t seq, size_t bytes, int64_t now_us) {
  if (tx->bwe) sfu_bwe_on_sent(tx->bwe, seq, bytes, now_us);
}

#endif
