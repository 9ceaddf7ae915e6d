/* sfu_red: RFC 2198 parsing and unwrapping (see sfu_red.h). */
#include "sfu_red.h"

#include <errno.h>
#include <string.h>

int sfu_red_parse(const uint8_t *payload, size_t len, sfu_red *r) {
  if (!payload || !r || len == 0 || len > 0xFFFF) return -EINVAL;
  size_t pos = 0, data = 0;
  r->n = 0;
  for (;;) {
    if (pos >= len || r->n == SFU_RED_MAX_BLOCKS) return -EINVAL;
    sfu_red_block *b = &r->b[r->n++];
    b->pt = payload[pos] & 0x7F;
    if (!(payload[pos] & 0x80)) { /* the primary's header ends the list */
      pos += 1;
      break;
    }
    if (len - pos < 4) return -EINVAL;
    uint32_t h = sfu_rd32(payload + pos);
    b->ts_offset = (uint16_t)((h >> 10) & 0x3FFF);
    b->len = (uint16_t)(h & 0x3FF);
    data += b->len;
    pos += 4;
  }
  if (len - pos < data) return -EINVAL;
  size_t off = pos;
  for (unsigned i = 0; i + 1 < r->n; i++) {
    r->b[i].off = (uint16_t)off;
    off += r->b[i].len;
  }
  sfu_red_block *p = &r->b[r->n - 1];
  p->ts_offset = 0;
  p->off = (uint16_t)off;
  p->len = (uint16_t)(len - off);
  return 0;
}

void sfu_red_block_view(const sfu_rtp_hdr *red, const sfu_red *r, unsigned i, sfu_rtp_hdr *out) {
  *out = *red;
  if (r->n == 0) return;
  if (i >= r->n) i = r->n - 1u;
  const sfu_red_block *b = &r->b[i];
  out->pt = b->pt;
  out->seq = (uint16_t)(red->seq - (r->n - 1u - i));
  out->ts = red->ts - b->ts_offset;
  out->payload_off = red->payload_off + b->off;
  out->payload_len = b->len;
  out->padding_len = 0;
  /* A recovered frame is not the end of anything the marker speaks of. */
  if (i + 1u < r->n) out->marker = false;
}

void sfu_red_set_block_pt(uint8_t *payload, const sfu_red *r, uint8_t from_pt, uint8_t to_pt) {
  size_t pos = 0;
  for (unsigned i = 0; i < r->n; i++) {
    if ((payload[pos] & 0x7F) == from_pt) payload[pos] = (uint8_t)((payload[pos] & 0x80) | (to_pt & 0x7F));
    pos += i + 1u < r->n ? 4 : 1;
  }
}

static bool recoverable(const sfu_red *r, unsigned i) {
  const sfu_red_block *b = &r->b[i], *p = &r->b[r->n - 1];
  return b->pt == p->pt && b->ts_offset > 0 && b->len > 0;
}

unsigned sfu_red_unwrap_plan(sfu_red_unwrap *u, uint16_t seq, const sfu_red *r,
                             uint8_t idx[SFU_RED_MAX_BLOCKS]) {
  unsigned k = 0;
  if (r->n == 0) return 0;
  uint16_t gap = 0; /* sequence numbers missing just before seq */
  if (u->started && !sfu_seq_newer(seq, u->last_seq)) {
    /* late or repeated: the primary only (a duplicate is harmless) */
  } else {
    if (u->started) gap = (uint16_t)(seq - u->last_seq - 1u);
    u->started = true;
    u->last_seq = seq;
  }
  unsigned redundant = r->n - 1u;
  for (unsigned i = 0; i < redundant; i++) {
    unsigned distance = redundant - i; /* block i stands for seq - distance */
    if (distance <= gap && recoverable(r, i)) idx[k++] = (uint8_t)i;
  }
  if (r->b[r->n - 1].len > 0) idx[k++] = (uint8_t)(r->n - 1);
  return k;
}
