/* sfu_rtp: RTP header parsing (RFC 3550 5.1), header extensions (RFC 8285)
 * and the per-subscriber rewrite. Pure: no allocation, no logging, no globals.
 * Every read is checked against the caller's length. */
#include "sfu_rtp.h"

#include <errno.h>
#include <string.h>

#define RTP_FIXED_LEN 12u
#define EXT_ONE_BYTE 0xBEDEu

static bool ext_is_two_byte(uint16_t profile) {
  return (profile & 0xFFF0u) == 0x1000u;
}

int sfu_rtp_parse(const uint8_t *buf, size_t len, sfu_rtp_hdr *h) {
  if (!buf || !h || len < RTP_FIXED_LEN) return -EINVAL;
  if ((buf[0] >> 6) != 2) return -EINVAL;
  bool has_pad = (buf[0] & 0x20) != 0;
  bool has_ext = (buf[0] & 0x10) != 0;
  uint8_t cc = buf[0] & 0x0F;

  size_t off = RTP_FIXED_LEN + 4u * cc;
  if (off > len) return -EINVAL;

  uint16_t profile = 0;
  size_t ext_off = 0, ext_len = 0;
  if (has_ext) {
    if (len - off < 4) return -EINVAL;
    profile = sfu_rd16(buf + off);
    ext_len = (size_t)sfu_rd16(buf + off + 2) * 4u;
    off += 4;
    if (ext_len > len - off) return -EINVAL;
    ext_off = off;
    off += ext_len;
  }

  size_t pad = 0;
  if (has_pad) {
    /* The last byte counts the padding, itself included: 0 is invalid. */
    if (off == len) return -EINVAL;
    pad = buf[len - 1];
    if (pad == 0 || pad > len - off) return -EINVAL;
  }

  h->pt = buf[1] & 0x7F;
  h->marker = (buf[1] & 0x80) != 0;
  h->seq = sfu_rd16(buf + 2);
  h->ts = sfu_rd32(buf + 4);
  h->ssrc = sfu_rd32(buf + 8);
  h->csrc_count = cc;
  h->ext_profile = profile;
  h->ext_off = ext_off;
  h->ext_len = ext_len;
  h->payload_off = off;
  h->payload_len = len - off - pad;
  h->padding_len = (uint8_t)pad;
  return 0;
}

bool sfu_rtp_is_rtcp(const uint8_t *buf, size_t len) {
  if (!buf || len < 2 || (buf[0] >> 6) != 2) return false;
  return buf[1] >= 192 && buf[1] <= 223;
}

/* Walks a one-byte or two-byte extension block element by element; stops
 * at the reserved one-byte id 15 or at an element running past the block
 * (RFC 8285 4.2), keeping the elements before it. */
typedef struct {
  const uint8_t *data;
  size_t len, pos;
} ext_walk;

/* 1: element returned; 0: end of block (or malformed tail). */
static int ext_next(ext_walk *w, bool two_byte, uint8_t *id, const uint8_t **val, size_t *vlen) {
  while (w->pos < w->len) {
    uint8_t b = w->data[w->pos];
    /* Padding between elements. A one-byte header with id 0 and a nonzero
     * length is also skipped as a single byte, as browsers do. */
    if (b == 0 || (!two_byte && (b >> 4) == 0)) {
      w->pos++;
      continue;
    }
    size_t hdr, l;
    if (two_byte) {
      if (w->len - w->pos < 2) return 0;
      *id = b;
      l = w->data[w->pos + 1];
      hdr = 2;
    } else {
      if ((b >> 4) == 15) return 0;
      *id = b >> 4;
      l = (size_t)(b & 0x0F) + 1;
      hdr = 1;
    }
    if (l > w->len - w->pos - hdr) return 0;
    *val = w->data + w->pos + hdr;
    *vlen = l;
    w->pos += hdr + l;
    return 1;
  }
  return 0;
}

const uint8_t *sfu_rtp_ext_find(const uint8_t *buf, const sfu_rtp_hdr *h, uint8_t id, size_t *len) {
  if (!buf || !h || id == 0 || h->ext_len == 0) return NULL;
  bool two_byte;
  if (h->ext_profile == EXT_ONE_BYTE)
    two_byte = false;
  else if (ext_is_two_byte(h->ext_profile))
    two_byte = true;
  else
    return NULL;
  if (!two_byte && id > 14) return NULL;

  ext_walk w = {buf + h->ext_off, h->ext_len, 0};
  uint8_t eid;
  const uint8_t *val;
  size_t vlen;
  while (ext_next(&w, two_byte, &eid, &val, &vlen) == 1) {
    if (eid == id) {
      if (len) *len = vlen;
      return val;
    }
  }
  return NULL;
}

/* Appends one one-byte element at out + *pos (out NULL: only counts). */
static void put_elem(uint8_t *out, size_t *pos, uint8_t id, const uint8_t *val, size_t vlen) {
  if (out) {
    out[*pos] = (uint8_t)((id << 4) | (vlen - 1));
    memcpy(out + *pos + 1, val, vlen);
  }
  *pos += 1 + vlen;
}

/* The subscriber's extension elements (unpadded): its mid first, then the
 * mapped publisher elements. Writes them at out (if not NULL); returns
 * their length. The caller has checked that they fit. */
static size_t build_ext(const uint8_t *in, const sfu_rtp_hdr *h, const sfu_rtp_rewrite *rw, uint8_t *out) {
  size_t pos = 0;
  uint8_t mid_id = (rw->mid_id >= 1 && rw->mid_id <= 14) ? rw->mid_id : 0;
  uint8_t twcc_id = (rw->twcc_id >= 1 && rw->twcc_id <= 14 && rw->twcc_id != mid_id) ? rw->twcc_id : 0;
  if (mid_id && rw->mid && rw->mid_len >= 1 && rw->mid_len <= 16)
    put_elem(out, &pos, mid_id, (const uint8_t *)rw->mid, rw->mid_len);
  if (twcc_id) {
    uint8_t v[2] = {(uint8_t)(rw->twcc_seq >> 8), (uint8_t)rw->twcc_seq};
    put_elem(out, &pos, twcc_id, v, 2);
  }
  if (in && h->ext_profile == EXT_ONE_BYTE && h->ext_len > 0) {
    ext_walk w = {in + h->ext_off, h->ext_len, 0};
    uint8_t id;
    const uint8_t *val;
    size_t vlen;
    while (ext_next(&w, false, &id, &val, &vlen) == 1) {
      uint8_t to = rw->ext_map[id & 0x0F];
      if (to == 0 || to > 14 || to == mid_id || to == twcc_id) /* dropped, or ours */
        continue;
      put_elem(out, &pos, to, val, vlen);
    }
  }
  return pos;
}

size_t sfu_rtp_rewrite_into(const uint8_t *in, const sfu_rtp_hdr *h, const sfu_rtp_rewrite *rw, uint8_t *out,
                            size_t cap) {
  if (!in || !h || !rw || !out) return 0;
  uint8_t cc = h->csrc_count & 0x0F;
  size_t hdr = RTP_FIXED_LEN + 4u * cc;
  size_t elems = build_ext(in, h, rw, NULL);
  size_t ext_words = (elems + 3) / 4;
  if (ext_words > 0xFFFF) return 0;
  size_t ext_total = elems ? 4 + 4 * ext_words : 0;
  size_t osn = rw->rtx ? 2 : 0;
  if (cap < hdr || cap - hdr < ext_total || cap - hdr - ext_total < h->payload_len + osn) return 0;

  out[0] = (uint8_t)(0x80 | (elems ? 0x10 : 0) | cc);
  out[1] = (uint8_t)((h->marker ? 0x80 : 0) | ((rw->rtx ? rw->rtx_pt : rw->pt) & 0x7F));
  sfu_wr16(out + 2, rw->rtx ? rw->rtx_seq : rw->seq);
  sfu_wr32(out + 4, rw->ts);
  sfu_wr32(out + 8, rw->rtx ? rw->rtx_ssrc : rw->ssrc);
  memcpy(out + RTP_FIXED_LEN, in + RTP_FIXED_LEN, 4u * cc);
  size_t pos = hdr;
  if (elems) {
    sfu_wr16(out + pos, EXT_ONE_BYTE);
    sfu_wr16(out + pos + 2, (uint16_t)ext_words);
    build_ext(in, h, rw, out + pos + 4);
    memset(out + pos + 4 + elems, 0, 4 * ext_words - elems); /* pad to a word */
    pos += ext_total;
  }
  if (osn) sfu_wr16(out + pos, rw->seq);
  memcpy(out + pos + osn, in + h->payload_off, h->payload_len);
  return pos + osn + h->payload_len;
}

size_t sfu_rtp_build_padding(const sfu_rtp_rewrite *rw, size_t pad, uint8_t *out, size_t cap) {
  if (!rw || !out || pad < 1 || pad > 255) return 0;
  sfu_rtp_hdr none;
  memset(&none, 0, sizeof none);
  size_t elems = build_ext(NULL, &none, rw, NULL);
  size_t ext_total = elems ? 4 + 4 * ((elems + 3) / 4) : 0;
  if (cap < RTP_FIXED_LEN + ext_total + pad) return 0;
  out[0] = (uint8_t)(0x80 | 0x20 | (elems ? 0x10 : 0));
  out[1] = (uint8_t)(rw->rtx_pt & 0x7F);
  sfu_wr16(out + 2, rw->rtx_seq);
  sfu_wr32(out + 4, rw->ts);
  sfu_wr32(out + 8, rw->rtx_ssrc);
  size_t pos = RTP_FIXED_LEN;
  if (elems) {
    sfu_wr16(out + pos, EXT_ONE_BYTE);
    sfu_wr16(out + pos + 2, (uint16_t)((ext_total - 4) / 4));
    memset(out + pos + 4, 0, ext_total - 4);
    build_ext(NULL, &none, rw, out + pos + 4);
    pos += ext_total;
  }
  memset(out + pos, 0, pad - 1);
  out[pos + pad - 1] = (uint8_t)pad;
  return pos + pad;
}
