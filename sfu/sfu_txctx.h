/* sfu_txctx: what the consumers of one transport share when they send: the
 * transport-wide sequence number every outgoing RTP packet carries, and the
 * send-side bandwidth estimator it feeds (draft-holmer-rmcat-transport-wide-cc).
 * Owned by the transport (sfu_transport.c); its consumers borrow it.
 * Thread: the owning media thread. */
#ifndef SFU_TXCTX_H
#define SFU_TXCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu_bwe.h"

typedef struct {
  uint16_t twcc_seq; /* the next transport-wide sequence number */
  sfu_bwe *bwe;      /* owned by the transport; NULL until the remote's first feedback */
  double rtx_tokens; /* bytes of retransmission allowed now */
  int64_t rtx_t_us;  /* when rtx_tokens was last refilled */
} sfu_txctx;

/* Retransmissions may take this share of the estimate, in bursts of at most
 * RTX_BURST_US of it: a link that lost packets because it was full would
 * lose the repairs too, and every repair it did not need (its layer was just
 * switched away from) crowds out the media it does. */
#define SFU_TXCTX_RTX_SHARE 0.3
#define SFU_TXCTX_RTX_BURST_US 100000

/* Stamps the next transport-wide number into rw; after a successful send
 * of `bytes`, sfu_txctx_sent records it for the estimator. */
static inline uint16_t sfu_txctx_next(sfu_txctx *tx) {
  return tx->twcc_seq++;
}
static inline void sfu_txctx_sent(sfu_txctx *tx, uint16_t seq, size_t bytes, int64_t now_us) {
  if (tx->bwe) sfu_bwe_on_sent(tx->bwe, seq, bytes, now_us);
}
static inline void sfu_txctx_sent_padding(sfu_txctx *tx, uint16_t seq, size_t bytes, int64_t now_us) {
  if (tx->bwe) sfu_bwe_on_sent_padding(tx->bwe, seq, bytes, now_us);
}

/* Whether a retransmission of `bytes` fits the budget now (takes it if so).
 * No estimate yet: always. */
static inline bool sfu_txctx_rtx_allow(sfu_txctx *tx, size_t bytes, int64_t now_us) {
  if (!tx->bwe) return true;
  double rate = (double)sfu_bwe_target(tx->bwe) * SFU_TXCTX_RTX_SHARE / 8e6; /* bytes per us */
  double depth = rate * SFU_TXCTX_RTX_BURST_US;
  if (depth < 2400) depth = 2400;
  tx->rtx_tokens += rate * (double)(now_us - tx->rtx_t_us);
  if (tx->rtx_tokens > depth) tx->rtx_tokens = depth;
  tx->rtx_t_us = now_us;
  if (tx->rtx_tokens < (double)bytes) return false;
  tx->rtx_tokens -= (double)bytes;
  return true;
}

#endif
