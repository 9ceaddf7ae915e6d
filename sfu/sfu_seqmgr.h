/* sfu_seqmgr: the sequence numbers of one outgoing stream (one consumer).
 * The output numbering stays gap-free when the consumer drops input packets
 * on purpose (a filtered layer, padding), continues where it stopped when the
 * input changes (a publisher's new ssrc, a simulcast switch), and maps a
 * subscriber's NACK back to the packet it asks for (layer, input sequence
 * number and the output timestamp it was sent with).
 * Pure: no allocation, no logging, no globals; the owning media thread. */
#ifndef SFU_SEQMGR_H
#define SFU_SEQMGR_H

#include <stdbool.h>
#include <stdint.h>

/* Purposeful drops remembered for packets that arrive late; older drops are
 * folded into the base, and input older than them can no longer be placed. */
#define SFU_SEQMGR_DROPS 64
/* Sent packets mapped back for NACK: a few hundred ms of video. */
#define SFU_SEQMGR_HIST 512

typedef struct {
  uint16_t out, in;
  uint8_t layer;
  bool valid;
  uint32_t ts;
} sfu_seqmgr_sent;

typedef struct {
  bool started, synced;
  uint16_t base;   /* out = in + base - (drops before in) */
  uint16_t floor;  /* input at or before this cannot be placed */
  uint16_t max_in; /* newest input of the current input stream */
  uint16_t max_out;
  uint16_t drops[SFU_SEQMGR_DROPS]; /* ring, oldest first, increasing (serial order) */
  uint8_t drop_head, ndrops;
  sfu_seqmgr_sent sent[SFU_SEQMGR_HIST];
} sfu_seqmgr;

void sfu_seqmgr_init(sfu_seqmgr *m);

/* The next packet, input number in0, starts a new input stream. Its output
 * number follows the last one sent by `gap` (1; 2 tells the receiver that
 * the previous frame is incomplete). The very first sync starts at first_out. */
void sfu_seqmgr_sync(sfu_seqmgr *m, uint16_t in0, uint16_t gap, uint16_t first_out);
bool sfu_seqmgr_synced(const sfu_seqmgr *m);

/* An input packet is not forwarded on purpose: later ones close the gap. */
void sfu_seqmgr_drop(sfu_seqmgr *m, uint16_t in);

/* The output number for input `in`; false: do not send it (from before the
 * current input stream started, dropped, or too old to place). */
bool sfu_seqmgr_out(sfu_seqmgr *m, uint16_t in, uint16_t *out);

/* Records what output `out` carried, for NACK mapping. */
void sfu_seqmgr_sent_put(sfu_seqmgr *m, uint16_t out, uint16_t in, uint8_t layer, uint32_t ts);
/* What output `out` carried; NULL if it is no longer (or never was) known. */
const sfu_seqmgr_sent *sfu_seqmgr_sent_get(const sfu_seqmgr *m, uint16_t out);

/* Highest output number sent so far (valid once started). */
static inline uint16_t sfu_seqmgr_max_out(const sfu_seqmgr *m) {
  return m->max_out;
}

#endif
