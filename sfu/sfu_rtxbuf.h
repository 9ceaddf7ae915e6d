/* sfu_rtxbuf: a producer's retransmission history, a ring of the last N
 * plain RTP packets indexed by sequence number. One per video producer;
 * consumers map their sequence numbers back and read from it.
 * Thread: the owning media thread only. Allocates only in _new. */
#ifndef SFU_RTXBUF_H
#define SFU_RTXBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sfu_rtxbuf sfu_rtxbuf;

/* slots is rounded up to a power of two; each slot holds up to slot_bytes. */
sfu_rtxbuf *sfu_rtxbuf_new(size_t slots, size_t slot_bytes);
void sfu_rtxbuf_free(sfu_rtxbuf *b);
/* Stores a copy; a packet longer than slot_bytes is not stored. */
void sfu_rtxbuf_put(sfu_rtxbuf *b, uint16_t seq, const uint8_t *pkt, size_t len);
/* The stored packet with exactly this seq, borrowed until the next put; NULL if gone. */
const uint8_t *sfu_rtxbuf_get(const sfu_rtxbuf *b, uint16_t seq, size_t *len);
size_t sfu_rtxbuf_bytes(const sfu_rtxbuf *b); /* memory held, for metrics */

#endif
