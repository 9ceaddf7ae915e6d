/* sfu_rtcp: RTCP compound packet walking and the few packets the server
 * builds (SR, RR, generic NACK, PLI, REMB). Pure: no allocation, no logging,
 * no globals; any thread. RFC 3550, RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb. */
#ifndef SFU_RTCP_H
#define SFU_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  SFU_RTCP_SR = 1,
  SFU_RTCP_RR,
  SFU_RTCP_SDES,
  SFU_RTCP_BYE,
  SFU_RTCP_NACK, /* RTPFB fmt 1 */
  SFU_RTCP_PLI,  /* PSFB fmt 1 */
  SFU_RTCP_FIR,  /* PSFB fmt 4 */
  SFU_RTCP_REMB, /* PSFB fmt 15 "REMB" */
  SFU_RTCP_OTHER,
} sfu_rtcp_type;

typedef struct {
  uint32_t ssrc; /* source this block reports on */
  uint8_t fraction_lost;
  int32_t cumulative_lost; /* 24-bit signed */
  uint32_t ext_highest_seq;
  uint32_t jitter;
  uint32_t lsr;
  uint32_t dlsr;
} sfu_rtcp_report_block;

/* One packet of a compound; pointers borrow the walked buffer. */
typedef struct {
  sfu_rtcp_type type;
  uint8_t fmt; /* RC or FMT field */
  uint8_t pt;
  uint32_t sender_ssrc;
  uint32_t media_ssrc; /* NACK/PLI/REMB media source; FIR: ssrc of first FCI entry; else 0 */
  const uint8_t *pkt;  /* whole packet, header included */
  size_t len;
  /* SR only */
  uint64_t ntp; /* 32.32 fixed point */
  uint32_t rtp_ts, sender_packets, sender_octets;
  /* REMB only */
  uint64_t remb_bps;
  uint8_t fir_seq; /* FIR only */
} sfu_rtcp_item;

typedef struct {
  const uint8_t *buf;
  size_t len, off;
} sfu_rtcp_iter;

void sfu_rtcp_iter_init(sfu_rtcp_iter *it, const uint8_t *buf, size_t len);
/* 1: *item filled; 0: end; -EINVAL: malformed (stop walking, keep what came before). */
int sfu_rtcp_iter_next(sfu_rtcp_iter *it, sfu_rtcp_item *item);

/* Report blocks of an SR/RR item; returns how many were written (<= max). */
size_t sfu_rtcp_report_blocks(const sfu_rtcp_item *item, sfu_rtcp_report_block *out, size_t max);
/* Lost sequence numbers of a NACK item, expanded from PID+BLP; <= max. */
size_t sfu_rtcp_nack_seqs(const sfu_rtcp_item *item, uint16_t *seqs, size_t max);
/* SSRCs listed in a REMB item (item->media_ssrc is the first); <= max. */
size_t sfu_rtcp_remb_ssrcs(const sfu_rtcp_item *item, uint32_t *ssrcs, size_t max);

/* Builders: return the bytes written, or 0 if cap is too small. */
size_t sfu_rtcp_build_sr(uint8_t *out, size_t cap, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts,
                         uint32_t packets, uint32_t octets);
size_t sfu_rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc, const sfu_rtcp_report_block *blocks,
                         size_t n);
/* Packs seqs (any order, duplicates ok) into as few PID/BLP entries as fit. */
size_t sfu_rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                           const uint16_t *seqs, size_t n);
size_t sfu_rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
size_t sfu_rtcp_build_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bps,
                           const uint32_t *ssrcs, size_t n);

#endif
