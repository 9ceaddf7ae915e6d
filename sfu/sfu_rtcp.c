/* sfu_rtcp: RTCP compound walking and builders. Pure: no allocation, no
 * logging, no globals. Every read is checked against the packet length. */
#include "sfu_rtcp.h"

#include <errno.h>
#include <string.h>

#include "sfu_rtp.h"

#define PT_SR 200
#define PT_RR 201
#define PT_SDES 202
#define PT_BYE 203
#define PT_RTPFB 205
#define PT_PSFB 206

#define RB_LEN 24u
#define SR_HDR_LEN 28u /* header + ssrc + sender info */
#define RR_HDR_LEN 8u
#define FB_HDR_LEN 12u /* header + sender ssrc + media ssrc */

/* Bytes of an item before its padding; 0 if the padding is invalid. */
static size_t body_len(const uint8_t *pkt, size_t len) {
  if (len < 4) return 0;
  if (!(pkt[0] & 0x20)) return len;
  uint8_t pad = pkt[len - 1];
  if (pad == 0 || pad > len - 4) return 0;
  return len - pad;
}

void sfu_rtcp_iter_init(sfu_rtcp_iter *it, const uint8_t *buf, size_t len) {
  it->buf = buf;
  it->len = buf ? len : 0;
  it->off = 0;
}

/* REMB: "REMB", num ssrc, 6-bit exp + 18-bit mantissa, ssrcs. */
static int parse_remb(const uint8_t *p, size_t blen, sfu_rtcp_item *item) {
  if (blen < 20 || (size_t)p[16] * 4 > blen - 20) return -EINVAL;
  uint8_t nssrc = p[16];
  uint8_t exp = p[17] >> 2;
  uint64_t mant = ((uint64_t)(p[17] & 0x03) << 16) | ((uint64_t)p[18] << 8) | p[19];
  if (mant == 0)
    item->remb_bps = 0;
  else if (exp > 46 && (mant >> (64 - exp)) != 0)
    item->remb_bps = UINT64_MAX; /* does not fit: saturate */
  else
    item->remb_bps = mant << exp;
  if (nssrc > 0) item->media_ssrc = sfu_rd32(p + 20);
  item->type = SFU_RTCP_REMB;
  return 0;
}

static int parse_item(const uint8_t *p, size_t len, sfu_rtcp_item *item) {
  size_t blen = body_len(p, len);
  if (blen == 0) return -EINVAL;
  uint8_t fmt = p[0] & 0x1F;
  item->type = SFU_RTCP_OTHER;
  if (blen >= 8) item->sender_ssrc = sfu_rd32(p + 4);

  switch (item->pt) {
  case PT_SR:
    if (blen < SR_HDR_LEN || (size_t)fmt * RB_LEN > blen - SR_HDR_LEN) return -EINVAL;
    item->type = SFU_RTCP_SR;
    item->ntp = ((uint64_t)sfu_rd32(p + 8) << 32) | sfu_rd32(p + 12);
    item->rtp_ts = sfu_rd32(p + 16);
    item->sender_packets = sfu_rd32(p + 20);
    item->sender_octets = sfu_rd32(p + 24);
    return 0;
  case PT_RR:
    if (blen < RR_HDR_LEN || (size_t)fmt * RB_LEN > blen - RR_HDR_LEN) return -EINVAL;
    item->type = SFU_RTCP_RR;
    return 0;
  case PT_SDES:
    /* Chunks are not parsed; sender_ssrc is the first chunk's SSRC. */
    if (fmt > 0 && blen < 8) return -EINVAL;
    if (fmt == 0) item->sender_ssrc = 0;
    item->type = SFU_RTCP_SDES;
    return 0;
  case PT_BYE:
    if ((size_t)fmt * 4 > blen - 4) return -EINVAL;
    if (fmt == 0) item->sender_ssrc = 0;
    item->type = SFU_RTCP_BYE;
    return 0;
  case PT_RTPFB:
    if (blen < FB_HDR_LEN) return -EINVAL;
    item->media_ssrc = sfu_rd32(p + 8);
    if (fmt == 1) item->type = SFU_RTCP_NACK;
    return 0;
  case PT_PSFB:
    if (blen < FB_HDR_LEN) return -EINVAL;
    item->media_ssrc = sfu_rd32(p + 8);
    if (fmt == 1) {
      item->type = SFU_RTCP_PLI;
    } else if (fmt == 4) {
      if (blen < FB_HDR_LEN + 8) return -EINVAL;
      item->type = SFU_RTCP_FIR;
      item->media_ssrc = sfu_rd32(p + 12);
      item->fir_seq = p[16];
    } else if (fmt == 15 && blen >= 16 && memcmp(p + 12, "REMB", 4) == 0) {
      item->media_ssrc = 0;
      return parse_remb(p, blen, item);
    }
    return 0;
  default:
    return 0;
  }
}

int sfu_rtcp_iter_next(sfu_rtcp_iter *it, sfu_rtcp_item *item) {
  if (!it->buf || it->off >= it->len) return 0;
  const uint8_t *p = it->buf + it->off;
  size_t left = it->len - it->off;
  memset(item, 0, sizeof(*item));
  int rc = -EINVAL;
  if (left >= 4 && (p[0] >> 6) == 2 && p[1] >= 192 && p[1] <= 223) {
    size_t plen = ((size_t)sfu_rd16(p + 2) + 1) * 4;
    if (plen <= left) {
      item->pt = p[1];
      item->fmt = p[0] & 0x1F;
      item->pkt = p;
      item->len = plen;
      rc = parse_item(p, plen, item);
      if (rc == 0) {
        it->off += plen;
        return 1;
      }
    }
  }
  /* Malformed: stop here; later calls return 0. */
  memset(item, 0, sizeof(*item));
  it->off = it->len;
  return rc;
}

size_t sfu_rtcp_report_blocks(const sfu_rtcp_item *item, sfu_rtcp_report_block *out, size_t max) {
  if (!item || !item->pkt || (!out && max > 0)) return 0;
  size_t base;
  if (item->type == SFU_RTCP_SR)
    base = SR_HDR_LEN;
  else if (item->type == SFU_RTCP_RR)
    base = RR_HDR_LEN;
  else
    return 0;
  size_t blen = body_len(item->pkt, item->len);
  if (blen < base) return 0;
  size_t n = item->pkt[0] & 0x1F;
  if (n > (blen - base) / RB_LEN) n = (blen - base) / RB_LEN;
  if (n > max) n = max;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *b = item->pkt + base + i * RB_LEN;
    sfu_rtcp_report_block *rb = &out[i];
    rb->ssrc = sfu_rd32(b);
    rb->fraction_lost = b[4];
    uint32_t cl = ((uint32_t)b[5] << 16) | ((uint32_t)b[6] << 8) | b[7];
    rb->cumulative_lost = (cl & 0x800000) ? (int32_t)cl - 0x1000000 : (int32_t)cl;
    rb->ext_highest_seq = sfu_rd32(b + 8);
    rb->jitter = sfu_rd32(b + 12);
    rb->lsr = sfu_rd32(b + 16);
    rb->dlsr = sfu_rd32(b + 20);
  }
  return n;
}

size_t sfu_rtcp_nack_seqs(const sfu_rtcp_item *item, uint16_t *seqs, size_t max) {
  if (!item || !item->pkt || item->type != SFU_RTCP_NACK || !seqs) return 0;
  size_t blen = body_len(item->pkt, item->len);
  size_t n = 0;
  for (size_t off = FB_HDR_LEN; blen >= 4 && off <= blen - 4 && n < max; off += 4) {
    uint16_t pid = sfu_rd16(item->pkt + off);
    uint16_t blp = sfu_rd16(item->pkt + off + 2);
    seqs[n++] = pid;
    for (unsigned i = 0; i < 16 && n < max; i++)
      if (blp & (1u << i)) seqs[n++] = (uint16_t)(pid + i + 1);
  }
  return n;
}

size_t sfu_rtcp_remb_ssrcs(const sfu_rtcp_item *item, uint32_t *ssrcs, size_t max) {
  if (!item || !item->pkt || item->type != SFU_RTCP_REMB || !ssrcs) return 0;
  size_t blen = body_len(item->pkt, item->len);
  if (blen < 20) return 0;
  size_t n = item->pkt[16];
  if (n > (blen - 20) / 4) n = (blen - 20) / 4;
  if (n > max) n = max;
  for (size_t i = 0; i < n; i++)
    ssrcs[i] = sfu_rd32(item->pkt + 20 + 4 * i);
  return n;
}

/* Common header: V=2, P=0, count/fmt, pt, length in words minus one. */
static void put_hdr(uint8_t *out, uint8_t fmt, uint8_t pt, size_t len) {
  out[0] = (uint8_t)(0x80 | (fmt & 0x1F));
  out[1] = pt;
  sfu_wr16(out + 2, (uint16_t)(len / 4 - 1));
}

size_t sfu_rtcp_build_sr(uint8_t *out, size_t cap, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts,
                         uint32_t packets, uint32_t octets) {
  if (!out || cap < SR_HDR_LEN) return 0;
  put_hdr(out, 0, PT_SR, SR_HDR_LEN);
  sfu_wr32(out + 4, ssrc);
  sfu_wr32(out + 8, (uint32_t)(ntp >> 32));
  sfu_wr32(out + 12, (uint32_t)ntp);
  sfu_wr32(out + 16, rtp_ts);
  sfu_wr32(out + 20, packets);
  sfu_wr32(out + 24, octets);
  return SR_HDR_LEN;
}

size_t sfu_rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc, const sfu_rtcp_report_block *blocks,
                         size_t n) {
  if (!out || n > 31 || (n > 0 && !blocks)) return 0;
  size_t len = RR_HDR_LEN + n * RB_LEN;
  if (cap < len) return 0;
  put_hdr(out, (uint8_t)n, PT_RR, len);
  sfu_wr32(out + 4, sender_ssrc);
  for (size_t i = 0; i < n; i++) {
    const sfu_rtcp_report_block *rb = &blocks[i];
    uint8_t *b = out + RR_HDR_LEN + i * RB_LEN;
    int32_t cl = rb->cumulative_lost;
    if (cl > 0x7FFFFF) cl = 0x7FFFFF;
    if (cl < -0x800000) cl = -0x800000;
    uint32_t c24 = (uint32_t)cl & 0xFFFFFF;
    sfu_wr32(b, rb->ssrc);
    b[4] = rb->fraction_lost;
    b[5] = (uint8_t)(c24 >> 16);
    b[6] = (uint8_t)(c24 >> 8);
    b[7] = (uint8_t)c24;
    sfu_wr32(b + 8, rb->ext_highest_seq);
    sfu_wr32(b + 12, rb->jitter);
    sfu_wr32(b + 16, rb->lsr);
    sfu_wr32(b + 20, rb->dlsr);
  }
  return len;
}

/* A set of 16-bit sequence numbers, 8 KiB on the caller's stack. */
typedef struct {
  uint64_t w[1024];
} seqset;

static bool seqset_has(const seqset *s, uint32_t i) {
  i &= 0xFFFF;
  return (s->w[i >> 6] >> (i & 63)) & 1;
}

/* Next member at or after i (no wrap), or 0x10000. */
static uint32_t seqset_next(const seqset *s, uint32_t i) {
  while (i < 0x10000) {
    uint64_t word = s->w[i >> 6] >> (i & 63);
    if (word) return i + (uint32_t)__builtin_ctzll(word);
    i = (i | 63) + 1;
  }
  return 0x10000;
}

size_t sfu_rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                           const uint16_t *seqs, size_t n) {
  if (!out || !seqs || n == 0 || cap < FB_HDR_LEN + 4) return 0;
  seqset set;
  memset(&set, 0, sizeof(set));
  uint32_t left = 0; /* distinct members not yet packed */
  for (size_t i = 0; i < n; i++) {
    if (!seqset_has(&set, seqs[i])) left++;
    set.w[seqs[i] >> 6] |= 1ull << (seqs[i] & 63);
  }

  /* Start after the largest circular gap, so a run across 65535 -> 0 is
   * packed in order (and the oldest entries come first). */
  uint32_t first = seqset_next(&set, 0), prev = first, start = first, best_gap = 0;
  for (uint32_t i = seqset_next(&set, first + 1); i < 0x10000; i = seqset_next(&set, i + 1)) {
    if (i - prev > best_gap) {
      best_gap = i - prev;
      start = i;
    }
    prev = i;
  }
  if (first + 0x10000 - prev >= best_gap) /* ties: start at the lowest */
    start = first;

  size_t pos = FB_HDR_LEN, max_len = cap < 4u * 0x10000 ? cap : 4u * 0x10000;
  uint32_t k = 0;
  while (left > 0 && max_len - pos >= 4) {
    while (!seqset_has(&set, start + k)) /* a member lies ahead: left > 0 */
      k++;
    uint16_t pid = (uint16_t)(start + k);
    uint16_t blp = 0;
    left--;
    for (uint32_t b = 0; b < 16 && k + 1 + b < 0x10000; b++)
      if (seqset_has(&set, start + k + 1 + b)) {
        blp |= (uint16_t)(1u << b);
        left--;
      }
    sfu_wr16(out + pos, pid);
    sfu_wr16(out + pos + 2, blp);
    pos += 4;
    k += 17;
  }
  put_hdr(out, 1, PT_RTPFB, pos);
  sfu_wr32(out + 4, sender_ssrc);
  sfu_wr32(out + 8, media_ssrc);
  return pos;
}

size_t sfu_rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc) {
  if (!out || cap < FB_HDR_LEN) return 0;
  put_hdr(out, 1, PT_PSFB, FB_HDR_LEN);
  sfu_wr32(out + 4, sender_ssrc);
  sfu_wr32(out + 8, media_ssrc);
  return FB_HDR_LEN;
}

size_t sfu_rtcp_build_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bps,
                           const uint32_t *ssrcs, size_t n) {
  if (!out || n > 255 || (n > 0 && !ssrcs)) return 0;
  size_t len = 20 + 4 * n;
  if (cap < len) return 0;
  /* Smallest exponent whose mantissa fits 18 bits; the mantissa is rounded
   * down so the estimate never exceeds the caller's. */
  uint8_t exp = 0;
  while ((bps >> exp) >= (1u << 18))
    exp++;
  uint32_t mant = (uint32_t)(bps >> exp);
  put_hdr(out, 15, PT_PSFB, len);
  sfu_wr32(out + 4, sender_ssrc);
  sfu_wr32(out + 8, 0);
  memcpy(out + 12, "REMB", 4);
  out[16] = (uint8_t)n;
  out[17] = (uint8_t)((exp << 2) | (mant >> 16));
  out[18] = (uint8_t)(mant >> 8);
  out[19] = (uint8_t)mant;
  for (size_t i = 0; i < n; i++)
    sfu_wr32(out + 20 + 4 * i, ssrcs[i]);
  return len;
}
