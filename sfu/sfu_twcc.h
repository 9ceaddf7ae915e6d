/* sfu_twcc: transport-wide congestion control on the wire
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01).
 *  - the transport-wide sequence number header extension (read, write in place);
 *  - the transport-cc feedback packet (RTCP RTPFB, PT 205, FMT 15): a strict
 *    parser into (seq, received?, arrival time) and a builder that packs
 *    consecutive statuses into packets no bigger than the caller's MTU;
 *  - a receive recorder for publishers' packets: record each arrival, and
 *    every ~100 ms drain feedback packets (so Chrome's own estimator ramps the
 *    publisher up to its top simulcast layer).
 * Pure: no allocation, no logging, no globals, no GLib. Any thread, but one
 * sfu_twcc_recv belongs to one thread (the transport's media thread).
 * Times are microseconds on the caller's monotonic clock. */
#ifndef SFU_TWCC_H
#define SFU_TWCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu_rtp.h"

#define SFU_TWCC_URI "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

/* One packet's fate as a feedback reports it (or as the builder is told it). */
typedef struct {
  uint16_t seq;       /* transport-wide sequence number */
  bool received;      /* false: reported lost (may still arrive: a later feedback says so) */
  int64_t arrival_us; /* received only. Parsed: reference time x 64 ms + deltas, i.e. the
                       * receiver's clock modulo SFU_TWCC_REF_WRAP_US; compare within one
                       * feedback or unwrap (sfu_bwe does). */
} sfu_twcc_status;

/* The reference time is 24 bits of 64 ms: it wraps every 2^24 x 64 ms (~12.4 days). */
#define SFU_TWCC_REF_WRAP_US ((int64_t)(1 << 24) * 64000)

typedef struct {
  uint32_t sender_ssrc, media_ssrc;
  uint16_t base_seq;
  uint16_t status_count; /* statuses covered, lost ones included */
  uint32_t ref_time;     /* 24 bits, units of 64 ms */
  uint8_t fb_count;      /* feedback packet counter (the sender spots lost feedback with it) */
} sfu_twcc_fb;

/* The extension's value (2 bytes, big-endian) in a parsed packet. Returns 0,
 * -ENOENT if element `id` is absent, -EINVAL if it is not 2 bytes long. */
int sfu_twcc_ext_read(const uint8_t *pkt, const sfu_rtp_hdr *h, uint8_t id, uint16_t *seq);
/* Writes seq into the packet's existing element `id` (the slot must already
 * be there, e.g. put by the header rewrite); same returns. O(extensions). */
int sfu_twcc_ext_write(uint8_t *pkt, const sfu_rtp_hdr *h, uint8_t id, uint16_t seq);

/* 16-bit sequence number -> 64-bit, the value nearest to the last unwrapped one. */
static inline int64_t sfu_twcc_unwrap(int64_t last, uint16_t seq) {
  return last + (int16_t)(uint16_t)(seq - (uint16_t)last);
}

/* Parses one transport-cc feedback (one RTCP packet, header included; e.g.
 * an item of sfu_rtcp_iter). Fills *fb and st[0..fb->status_count).
 * Returns the number of statuses, or
 *   -ENOMSG  not RTPFB FMT 15;
 *   -EINVAL  malformed: short, bad version or length, bad padding, zero
 *            statuses, reserved symbol, chunks or deltas past the end, more
 *            than 3 stray bytes after the deltas;
 *   -E2BIG   more statuses than max.
 * On error nothing in *fb/st may be used (the caller counts and drops it).
 * Cost: O(length + status_count). */
int sfu_twcc_parse(const uint8_t *pkt, size_t len, sfu_twcc_fb *fb, sfu_twcc_status *st, size_t max);

/* Most statuses one built packet covers. */
#define SFU_TWCC_BUILD_MAX 4096

/* Builds one feedback for a prefix of st[0..n): st[i].seq must be st[0].seq + i
 * and a received status must appear among the first SFU_TWCC_BUILD_MAX.
 * The reference time comes from the first received packet; deltas are
 * rounded to 250 us with the rounding error carried forward, so no error
 * accumulates (parse(build(x)) == x when arrivals are multiples of 250 us
 * counted from a multiple of 64 ms). The packet ends early when the next
 * delta does not fit 16 bits, when it would exceed cap bytes, or after
 * SFU_TWCC_BUILD_MAX statuses; padding to 32 bits is zeros (P = 0), which
 * keeps the packet valid anywhere in a compound.
 * Returns the bytes written and sets *used to the statuses covered; returns 0
 * (and *used = 0) if nothing could be built (no received packet, seqs not
 * consecutive, cap too small). Cost: O(statuses covered). */
size_t sfu_twcc_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t fb_count,
                      const sfu_twcc_status *st, size_t n, size_t *used);

/* ---- receive side: feedback for a publisher transport ---- */

/* Packets remembered (a power of two). At the ~100 ms feedback interval this
 * covers 20,000 packets/s. Older sequence numbers are ignored. */
#define SFU_TWCC_RECV_RING 2048

typedef struct {
  int64_t arrival[SFU_TWCC_RECV_RING]; /* by unwrapped seq & (RING-1); -1 = not received */
  bool started;                        /* a packet has been seen */
  int64_t last;                        /* highest unwrapped seq seen (always a received one) */
  int64_t next;                        /* first unwrapped seq not yet reported */
  uint32_t media_ssrc;                 /* last media SSRC seen (goes in the feedback) */
  uint8_t fb_count;
  sfu_twcc_status scratch[SFU_TWCC_RECV_RING];
} sfu_twcc_recv;

/* Caller allocates (about 48 KB: embed it in the transport) and inits once. */
void sfu_twcc_recv_init(sfu_twcc_recv *r);
/* One incoming RTP packet carrying the extension; arrival_us = its own
 * receive time (per datagram, not per batch; >= 0). Duplicates keep the first
 * arrival; a late packet already reported lost is reported again, received.
 * O(1) (O(gap) when the sequence jumps forward, at most the ring). */
void sfu_twcc_recv_packet(sfu_twcc_recv *r, uint16_t seq, int64_t arrival_us, uint32_t media_ssrc);
/* Timer (~every 100 ms): writes the next feedback packet covering what has
 * not been reported yet into out (cap = the MTU budget, e.g. 1200) and
 * returns its length; 0 when nothing is pending. Call until it returns 0.
 * O(statuses reported). */
size_t sfu_twcc_recv_feedback(sfu_twcc_recv *r, uint32_t sender_ssrc, uint8_t *out, size_t cap);

#endif
