/* sfu_red: RFC 2198 redundant audio data ("RED") as Chromium sends it for
 * Opus (`red/48000/2`, fmtp `111/111`): each packet carries the current Opus
 * frame (the primary, last) and copies of the previous one or two (the
 * redundant blocks, oldest first), each with its timestamp offset.
 *
 *   header of a redundant block (4 bytes): F=1 | PT(7) | ts offset(14) | length(10)
 *   header of the primary (1 byte):        F=0 | PT(7)
 *   then the blocks' data, in header order.
 *
 * A subscriber that negotiated RED gets the packets as they are (with the
 * inner payload types rewritten to its own Opus PT if they differ); one that
 * did not gets plain Opus: the primary, and for sequence numbers lost just
 * before it, the redundant copies, which is what makes RED worth having.
 *
 * Pure: no allocation, no logging, no globals, no GLib; any thread. */
#ifndef SFU_RED_H
#define SFU_RED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu_rtp.h"

/* More than this many blocks is refused: Chromium sends 2 or 3 (a
 * distance-2 redundancy at most), and each block costs a header. */
#define SFU_RED_MAX_BLOCKS 8

typedef struct {
  uint8_t pt;
  uint16_t ts_offset; /* how far before the packet's timestamp; 0 for the primary */
  uint16_t off;       /* from the first byte of the RED payload */
  uint16_t len;
} sfu_red_block;

typedef struct {
  uint8_t n; /* 1..SFU_RED_MAX_BLOCKS; b[n - 1] is the primary */
  sfu_red_block b[SFU_RED_MAX_BLOCKS];
} sfu_red;

/* Parses a RED payload (the RTP payload, padding excluded). Returns 0, or
 * -EINVAL when the headers run past the end, the redundant blocks are longer
 * than what follows the headers, the RED payload is over 64 KiB, or there are
 * more than SFU_RED_MAX_BLOCKS blocks. The primary may be empty. */
int sfu_red_parse(const uint8_t *payload, size_t len, sfu_red *r);

/* A header view of block i of a parsed RED packet, as if that block had been
 * sent alone: its PT, sequence number (one less per block it lies before the
 * primary), timestamp (minus its offset), and payload; no padding. Feed it to
 * sfu_rtp_rewrite_into with the RED packet's bytes to build a plain packet. */
void sfu_red_block_view(const sfu_rtp_hdr *red, const sfu_red *r, unsigned i, sfu_rtp_hdr *out);

/* Rewrites the block headers' PTs equal to from_pt into to_pt, in a copy of
 * the RED payload already parsed into r (e.g. the subscriber's buffer). */
void sfu_red_set_block_pt(uint8_t *payload, const sfu_red *r, uint8_t from_pt, uint8_t to_pt);

/* Per stream (one RED publisher track, shared by its plain subscribers). */
typedef struct {
  bool started;
  uint16_t last_seq; /* newest RED sequence number seen */
} sfu_red_unwrap;

/* Which blocks of the RED packet `seq` a plain-Opus subscriber gets, oldest
 * first, into idx: the redundant copies of sequence numbers lost right
 * before it (only blocks with the primary's PT, a non-zero offset and some
 * data), then the primary if it has data. A late (reordered) or repeated
 * packet gives the primary only. Returns how many. */
unsigned sfu_red_unwrap_plan(sfu_red_unwrap *u, uint16_t seq, const sfu_red *r,
                             uint8_t idx[SFU_RED_MAX_BLOCKS]);

#endif
