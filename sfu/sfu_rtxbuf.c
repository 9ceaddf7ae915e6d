/* sfu_rtxbuf: ring of the last N RTP packets of one producer, indexed by
 * seq & (slots - 1). Each slot remembers the seq it holds, so a lookup for a
 * seq whose slot has since been reused returns NULL. One allocation in _new. */
#include "sfu_rtxbuf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint32_t len;
  uint16_t seq;
  bool used;
} rtx_slot;

struct sfu_rtxbuf {
  size_t slots, mask, slot_bytes, total;
  uint8_t *data;   /* slots * slot_bytes, inside this allocation */
  rtx_slot meta[]; /* slots entries, then data */
};

#define RTXBUF_MAX_SLOTS 65536u /* more could never be addressed by a 16-bit seq */
#define RTXBUF_MAX_SLOT_BYTES 65536u

sfu_rtxbuf *sfu_rtxbuf_new(size_t slots, size_t slot_bytes) {
  if (slots == 0 || slots > RTXBUF_MAX_SLOTS || slot_bytes == 0 || slot_bytes > RTXBUF_MAX_SLOT_BYTES)
    return NULL;
  size_t n = 1;
  while (n < slots)
    n <<= 1;
  /* n <= 2^16 and slot_bytes <= 2^16: no overflow below on 32- or 64-bit. */
  size_t meta = sizeof(sfu_rtxbuf) + n * sizeof(rtx_slot);
  size_t data = n * slot_bytes;
  if (data / n != slot_bytes || meta + data < meta) return NULL;
  sfu_rtxbuf *b = calloc(1, meta + data);
  if (!b) return NULL;
  b->slots = n;
  b->mask = n - 1;
  b->slot_bytes = slot_bytes;
  b->total = meta + data;
  b->data = (uint8_t *)b + meta;
  return b;
}

void sfu_rtxbuf_free(sfu_rtxbuf *b) {
  free(b);
}

void sfu_rtxbuf_put(sfu_rtxbuf *b, uint16_t seq, const uint8_t *pkt, size_t len) {
  if (!b) return;
  rtx_slot *s = &b->meta[seq & b->mask];
  if (!pkt || len > b->slot_bytes) {
    /* Not stored; never hand out an older copy under this seq instead. */
    if (s->used && s->seq == seq) s->used = false;
    return;
  }
  memcpy(b->data + (seq & b->mask) * b->slot_bytes, pkt, len);
  s->len = (uint32_t)len;
  s->seq = seq;
  s->used = true;
}

const uint8_t *sfu_rtxbuf_get(const sfu_rtxbuf *b, uint16_t seq, size_t *len) {
  if (!b) return NULL;
  const rtx_slot *s = &b->meta[seq & b->mask];
  if (!s->used || s->seq != seq) return NULL;
  if (len) *len = s->len;
  return b->data + (seq & b->mask) * b->slot_bytes;
}

size_t sfu_rtxbuf_bytes(const sfu_rtxbuf *b) {
  return b ? b->total : 0;
}
