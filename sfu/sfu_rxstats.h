/* sfu_rxstats: receive statistics for one incoming RTP stream (RFC 3550
 * A.1, A.3, A.8) to fill receiver report blocks, and sfu_nackgen: which
 * sequence numbers to NACK now. Pure; no allocation; owning thread only. */
#ifndef SFU_RXSTATS_H
#define SFU_RXSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "sfu_rtcp.h"

typedef struct {
  uint32_t ssrc;
  bool started;
  uint16_t max_seq;
  uint32_t cycles; /* shifted count of seq wraps */
  uint32_t base_seq;
  uint32_t received;
  uint32_t expected_prior, received_prior;
  uint32_t transit; /* last transit, clock units */
  double jitter;
  uint32_t clock_rate;
  uint32_t last_sr;        /* middle 32 bits of last SR NTP */
  int64_t last_sr_recv_us; /* local monotonic time it arrived, 0 = none */
} sfu_rxstats;

void sfu_rxstats_init(sfu_rxstats *s, uint32_t ssrc, uint32_t clock_rate);
/* now_us: local monotonic microseconds of arrival. */
void sfu_rxstats_update(sfu_rxstats *s, uint16_t seq, uint32_t rtp_ts, int64_t now_us);
void sfu_rxstats_on_sr(sfu_rxstats *s, uint64_t ntp, int64_t now_us);
/* Fills a report block for an RR and advances the interval counters. */
void sfu_rxstats_report(sfu_rxstats *s, int64_t now_us, sfu_rtcp_report_block *rb);

/* Missing packets of one stream, to NACK from the server to the publisher. */
#define SFU_NACKGEN_MAX 128
typedef struct {
  bool started;
  uint16_t highest;
  uint16_t n;
  struct {
    uint16_t seq;
    uint8_t tries;
    int64_t next_us;
    int64_t first_us;
  } miss[SFU_NACKGEN_MAX];
} sfu_nackgen;

void sfu_nackgen_init(sfu_nackgen *g);
/* Records an arrival (new, late or retransmitted). A jump of more than
 * SFU_NACKGEN_MAX resets the list instead of NACKing the whole gap. */
void sfu_nackgen_on_seq(sfu_nackgen *g, uint16_t seq, int64_t now_us);
/* Sequence numbers whose NACK is due at now_us (first at once, then every
 * retry_us, up to 10 tries, dropped after 1 s); returns count (<= max). */
size_t sfu_nackgen_due(sfu_nackgen *g, int64_t now_us, int64_t retry_us, uint16_t *out, size_t max);

#endif
