/* sfu_twcc: transport-wide sequence numbers and transport-cc feedback. */
#include "sfu_twcc.h"

#include <errno.h>
#include <string.h>

#define TWCC_PT 205
#define TWCC_FMT 15
#define TWCC_HDR 20 /* RTCP header, two SSRCs, base/count, reference/fb count */
#define REF_UNIT_US 64000
#define DELTA_UNIT_US 250
#define RUN_MAX 0x1FFF

enum { SYM_LOST = 0, SYM_SMALL = 1, SYM_LARGE = 2, SYM_RESERVED = 3 };

int sfu_twcc_ext_read(const uint8_t *pkt, const sfu_rtp_hdr *h, uint8_t id, uint16_t *seq) {
  size_t len = 0;
  const uint8_t *v = sfu_rtp_ext_find(pkt, h, id, &len);
  if (!v) return -ENOENT;
  if (len != 2) return -EINVAL;
  if (seq) *seq = sfu_rd16(v);
  return 0;
}

int sfu_twcc_ext_write(uint8_t *pkt, const sfu_rtp_hdr *h, uint8_t id, uint16_t seq) {
  size_t len = 0;
  const uint8_t *v = sfu_rtp_ext_find(pkt, h, id, &len);
  if (!v) return -ENOENT;
  if (len != 2) return -EINVAL;
  /* v points into pkt, which the caller passed writable. */
  sfu_wr16(pkt + (v - pkt), seq);
  return 0;
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- parsing ---- */

/* Decodes one status chunk into the statuses from *i on (never past count).
 * The symbol is parked in arrival_us until the deltas are read. */
static int decode_chunk(uint16_t c, sfu_twcc_status *st, size_t *i, size_t count) {
  if (!(c & 0x8000)) { /* run length: 0 | S(2) | run(13) */
    uint8_t s = (uint8_t)((c >> 13) & 3);
    if (s == SYM_RESERVED) return -EINVAL;
    for (size_t k = 0; k < (size_t)(c & RUN_MAX) && *i < count; k++)
      st[(*i)++].arrival_us = s;
  } else if (!(c & 0x4000)) { /* 1 | 0 | 14 one-bit symbols */
    for (int k = 13; k >= 0 && *i < count; k--)
      st[(*i)++].arrival_us = (c >> k) & 1;
  } else { /* 1 | 1 | 7 two-bit symbols */
    for (int k = 12; k >= 0 && *i < count; k -= 2) {
      uint8_t s = (uint8_t)((c >> k) & 3);
      if (s == SYM_RESERVED) return -EINVAL;
      st[(*i)++].arrival_us = s;
    }
  }
  return 0;
}

/* Reads the receive deltas; turns the parked symbols into statuses. */
static int read_deltas(const uint8_t *pkt, size_t *off, size_t end, const sfu_twcc_fb *fb,
                       sfu_twcc_status *st) {
  int64_t t = (int64_t)fb->ref_time * REF_UNIT_US;
  for (size_t i = 0; i < fb->status_count; i++) {
    int64_t s = st[i].arrival_us;
    st[i].seq = (uint16_t)(fb->base_seq + i);
    st[i].received = s != SYM_LOST;
    st[i].arrival_us = 0;
    if (s == SYM_SMALL) {
      if (*off + 1 > end) return -EINVAL;
      t += (int64_t)pkt[*off] * DELTA_UNIT_US;
      *off += 1;
    } else if (s == SYM_LARGE) {
      if (*off + 2 > end) return -EINVAL;
      t += (int64_t)(int16_t)sfu_rd16(pkt + *off) * DELTA_UNIT_US;
      *off += 2;
    } else {
      continue;
    }
    st[i].arrival_us = t;
  }
  return 0;
}

int sfu_twcc_parse(const uint8_t *pkt, size_t len, sfu_twcc_fb *fb, sfu_twcc_status *st, size_t max) {
  if (!pkt || !fb || len < 4) return -EINVAL;
  if ((pkt[0] >> 6) != 2) return -EINVAL;
  if (pkt[1] != TWCC_PT || (pkt[0] & 0x1F) != TWCC_FMT) return -ENOMSG;
  size_t plen = ((size_t)sfu_rd16(pkt + 2) + 1) * 4;
  if (plen > len || plen < TWCC_HDR) return -EINVAL;
  size_t end = plen;
  if (pkt[0] & 0x20) {
    uint8_t pad = pkt[plen - 1];
    if (pad == 0 || pad > plen - TWCC_HDR) return -EINVAL;
    end -= pad;
  }
  fb->sender_ssrc = sfu_rd32(pkt + 4);
  fb->media_ssrc = sfu_rd32(pkt + 8);
  fb->base_seq = sfu_rd16(pkt + 12);
  fb->status_count = sfu_rd16(pkt + 14);
  fb->ref_time = sfu_rd32(pkt + 16) >> 8;
  fb->fb_count = pkt[19];
  size_t count = fb->status_count;
  if (count == 0) return -EINVAL;
  if (count > max || !st) return -E2BIG;

  size_t off = TWCC_HDR, i = 0;
  while (i < count) {
    if (off + 2 > end) return -EINVAL;
    if (decode_chunk(sfu_rd16(pkt + off), st, &i, count) != 0) return -EINVAL;
    off += 2;
  }
  if (read_deltas(pkt, &off, end, fb, st) != 0) return -EINVAL;
  if (end - off > 3) return -EINVAL;
  return (int)count;
}

/* ---- building ---- */

/* Symbols and deltas of the statuses one packet may cover. */
typedef struct {
  uint8_t sym[SFU_TWCC_BUILD_MAX];
  int16_t delta[SFU_TWCC_BUILD_MAX];
  size_t n;     /* statuses with a symbol (the packet covers a prefix of them) */
  size_t first; /* index of the first received */
  int64_t ref;  /* reference time, full width, 64 ms units */
} build_plan;

/* Symbols for st[0..): stops at a delta that does not fit 16 bits. Returns
 * -1 if the seqs are not consecutive or nothing is received. */
static int plan_symbols(const sfu_twcc_status *st, size_t n, build_plan *p) {
  size_t lim = n < SFU_TWCC_BUILD_MAX ? n : SFU_TWCC_BUILD_MAX;
  p->first = lim;
  for (size_t i = 0; i < lim; i++) {
    if (st[i].seq != (uint16_t)(st[0].seq + i)) return -1;
    if (st[i].received && p->first == lim) p->first = i;
  }
  if (p->first == lim) return -1;
  p->ref = floor_div(st[p->first].arrival_us, REF_UNIT_US);
  int64_t t = p->ref * REF_UNIT_US;
  size_t i;
  for (i = 0; i < lim; i++) {
    if (!st[i].received) {
      p->sym[i] = SYM_LOST;
      continue;
    }
    int64_t d = floor_div(st[i].arrival_us - t + DELTA_UNIT_US / 2, DELTA_UNIT_US);
    if (d >= 0 && d <= 255)
      p->sym[i] = SYM_SMALL;
    else if (d >= INT16_MIN && d <= INT16_MAX)
      p->sym[i] = SYM_LARGE;
    else
      break;
    p->delta[i] = (int16_t)d;
    t += d * DELTA_UNIT_US; /* carry the rounding error into the next delta */
  }
  p->n = i;
  return 0;
}

/* The chunk that starts at pos: RLE whenever it covers at least as many
 * statuses as a vector would, else a one-bit vector (no large delta among the
 * next 14) or a two-bit vector. Sets *k to the statuses covered and *db to
 * their delta bytes. */
static uint16_t next_chunk(const build_plan *p, size_t pos, size_t *k, size_t *db) {
  size_t rem = p->n - pos, run = 1;
  while (run < rem && run < RUN_MAX && p->sym[pos + run] == p->sym[pos])
    run++;
  size_t one = rem < 14 ? rem : 14;
  bool one_bit = true;
  for (size_t j = 0; j < one; j++)
    if (p->sym[pos + j] == SYM_LARGE) one_bit = false;
  size_t vec = one_bit ? one : (rem < 7 ? rem : 7);
  uint16_t c;
  if (run >= vec) {
    *k = run;
    c = (uint16_t)((p->sym[pos] << 13) | run);
  } else if (one_bit) {
    *k = vec;
    c = 0x8000;
    for (size_t j = 0; j < vec; j++)
      c |= (uint16_t)(p->sym[pos + j] << (13 - j));
  } else {
    *k = vec;
    c = 0xC000;
    for (size_t j = 0; j < vec; j++)
      c |= (uint16_t)(p->sym[pos + j] << (12 - 2 * j));
  }
  *db = 0;
  for (size_t j = 0; j < *k; j++)
    *db += p->sym[pos + j]; /* 0, 1 or 2 bytes: the symbol value */
  return c;
}

static size_t padded(size_t n) {
  return (n + 3) & ~(size_t)3;
}

size_t sfu_twcc_build(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t fb_count,
                      const sfu_twcc_status *st, size_t n, size_t *used) {
  size_t dummy;
  if (!used) used = &dummy;
  *used = 0;
  if (!out || !st || n == 0 || cap < TWCC_HDR + 4) return 0;
  build_plan p;
  if (plan_symbols(st, n, &p) != 0) return 0;

  size_t pos = 0, chunks = 0, dbytes = 0;
  while (pos < p.n) {
    size_t k, db;
    uint16_t c = next_chunk(&p, pos, &k, &db);
    size_t fixed = TWCC_HDR + 2 * (chunks + 1) + dbytes;
    if (padded(fixed + db) > cap && !(c & 0x8000) && p.sym[pos] != SYM_LOST) {
      /* A run is cut to what fits; vectors (<= 28 bytes) are not worth it. */
      size_t room = (cap & ~(size_t)3) > fixed ? (cap & ~(size_t)3) - fixed : 0;
      k = room / p.sym[pos];
      db = k * p.sym[pos];
      c = (uint16_t)((c & 0xE000) | k);
      if (k == 0) break;
    }
    if (padded(fixed + db) > cap) break;
    sfu_wr16(out + TWCC_HDR + 2 * chunks, c);
    chunks++;
    dbytes += db;
    pos += k;
  }
  if (pos <= p.first) return 0; /* the first received packet must be in it */

  size_t off = TWCC_HDR + 2 * chunks;
  for (size_t i = 0; i < pos; i++) {
    if (p.sym[i] == SYM_SMALL) {
      out[off++] = (uint8_t)p.delta[i];
    } else if (p.sym[i] == SYM_LARGE) {
      sfu_wr16(out + off, (uint16_t)p.delta[i]);
      off += 2;
    }
  }
  size_t total = padded(off);
  memset(out + off, 0, total - off);
  out[0] = 0x80 | TWCC_FMT;
  out[1] = TWCC_PT;
  sfu_wr16(out + 2, (uint16_t)(total / 4 - 1));
  sfu_wr32(out + 4, sender_ssrc);
  sfu_wr32(out + 8, media_ssrc);
  sfu_wr16(out + 12, st[0].seq);
  sfu_wr16(out + 14, (uint16_t)pos);
  sfu_wr32(out + 16, ((uint32_t)p.ref << 8) | fb_count);
  *used = pos;
  return total;
}

/* ---- receive recorder ---- */

#define RING_MASK (SFU_TWCC_RECV_RING - 1)

static void clear_ring(sfu_twcc_recv *r) {
  for (size_t i = 0; i < SFU_TWCC_RECV_RING; i++)
    r->arrival[i] = -1;
}

void sfu_twcc_recv_init(sfu_twcc_recv *r) {
  clear_ring(r);
  r->started = false;
  r->last = r->next = 0;
  r->media_ssrc = 0;
  r->fb_count = 0;
}

void sfu_twcc_recv_packet(sfu_twcc_recv *r, uint16_t seq, int64_t arrival_us, uint32_t media_ssrc) {
  if (arrival_us < 0) arrival_us = 0; /* -1 marks "not received" */
  r->media_ssrc = media_ssrc;
  if (!r->started) {
    r->started = true;
    r->last = r->next = seq;
    r->arrival[seq & RING_MASK] = arrival_us;
    return;
  }
  int64_t ext = sfu_twcc_unwrap(r->last, seq);
  if (ext > r->last) {
    if (ext - r->last >= SFU_TWCC_RECV_RING) { /* a jump past the window: start over */
      clear_ring(r);
      r->next = ext;
    } else {
      for (int64_t s = r->last + 1; s < ext; s++)
        r->arrival[s & RING_MASK] = -1;
      if (r->next < ext - SFU_TWCC_RECV_RING + 1) r->next = ext - SFU_TWCC_RECV_RING + 1;
    }
    r->arrival[ext & RING_MASK] = arrival_us;
    r->last = ext;
    return;
  }
  if (ext <= r->last - SFU_TWCC_RECV_RING) return; /* older than the window */
  if (r->arrival[ext & RING_MASK] >= 0) return;    /* duplicate: the first arrival stands */
  r->arrival[ext & RING_MASK] = arrival_us;
  if (ext < r->next) r->next = ext; /* reported lost before: report it again, received */
}

size_t sfu_twcc_recv_feedback(sfu_twcc_recv *r, uint32_t sender_ssrc, uint8_t *out, size_t cap) {
  if (!r->started || r->next > r->last) return 0;
  size_t n = (size_t)(r->last - r->next + 1);
  for (size_t i = 0; i < n; i++) {
    int64_t s = r->next + (int64_t)i;
    int64_t a = r->arrival[s & RING_MASK];
    r->scratch[i].seq = (uint16_t)s;
    r->scratch[i].received = a >= 0;
    r->scratch[i].arrival_us = a >= 0 ? a : 0;
  }
  size_t used = 0;
  size_t len = sfu_twcc_build(out, cap, sender_ssrc, r->media_ssrc, r->fb_count, r->scratch, n, &used);
  if (len == 0) return 0;
  r->next += (int64_t)used;
  r->fb_count++;
  return len;
}
