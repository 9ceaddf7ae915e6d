/* sfu_counters: the media core's event counters, one set per worker,
 * bumped on the media thread by every object of that worker (plain
 * increments: one thread owns them). Copied out for metrics by sfu_worker. */
#ifndef SFU_COUNTERS_H
#define SFU_COUNTERS_H

#include <stdint.h>

typedef struct {
  uint64_t rtp_in, bytes_in, rtp_out, bytes_out;
  uint64_t nacks_in, nacks_out, retransmits, rtx_misses, rtx_throttled;
  uint64_t plis_in, plis_out;
  uint64_t dropped_waiting_keyframe; /* video held back until a keyframe */
  uint64_t dropped_unknown;          /* RTP no producer of the transport claims */
} sfu_counters;

#endif
