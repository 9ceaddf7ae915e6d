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
    if (b == 0) { /* padding between elements */
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

/* Appends one one-byte element; false if it does not fit. */
static bool put_elem(uint8_t *out, size_t cap, size_t *pos, uint8_t id, const uint8_t *val, size_t vlen) {
  if (vlen < 1 || vlen > 16 || cap - *pos < 1 + vlen) return false;
  out[*pos] = (uint8_t)((id << 4) | (vlen - 1));
  memcpy(out + *pos + 1, val, vlen);
  *pos += 1 + vlen;
  return true;
}

size_t sfu_rtp_rewrite_into(const uint8_t *in, const sfu_rtp_hdr *h, const sfu_rtp_rewrite *rw, uint8_t *out,
                            size_t cap) {
  if (!in || !h || !rw || !out) return 0;
  uint8_t cc = h->csrc_count & 0x0F;
  size_t pos = RTP_FIXED_LEN + 4u * cc;
  if (cap < pos) return 0;

  sfu_wr16(out + 2, rw->seq);
  sfu_wr32(out + 4, rw->ts);
  sfu_wr32(out + 8, rw->ssrc);
  memcpy(out + RTP_FIXED_LEN, in + RTP_FIXED_LEN, 4u * cc);

  /* Extension block: reserve its 4-byte header, then fill elements. */
  bool want_mid = rw->mid_id >= 1 && rw->mid_id <= 14 && rw->mid && rw->mid_len >= 1 && rw->mid_len <= 16;
  uint8_t drop_id = (rw->mid_id >= 1 && rw->mid_id <= 14) ? rw->mid_id : 0;
  size_t ext_hdr = pos;
  if (cap - pos < 4) return 0;
  pos += 4;
  size_t ext_start = pos;

  if (want_mid && !put_elem(out, cap, &pos, rw->mid_id, (const uint8_t *)rw->mid, rw->mid_len)) return 0;
  if (h->ext_profile == EXT_ONE_BYTE && h->ext_len > 0) {
    ext_walk w = {in + h->ext_off, h->ext_len, 0};
    uint8_t id;
    const uint8_t *val;
    size_t vlen;
    while (ext_next(&w, false, &id, &val, &vlen) == 1) {
      uint8_t to = rw->ext_map[id & 0x0F];
      if (to == 0 || to > 14 || to == drop_id) continue;
      if (!put_elem(out, cap, &pos, to, val, vlen)) return 0;
    }
  }

  size_t ext_bytes = pos - ext_start;
  bool has_ext = ext_bytes > 0;
  if (has_ext) {
    while (ext_bytes % 4) {
      if (pos == cap) return 0;
      out[pos++] = 0;
      ext_bytes++;
    }
    if (ext_bytes / 4 > 0xFFFF) return 0;
    sfu_wr16(out + ext_hdr, EXT_ONE_BYTE);
    sfu_wr16(out + ext_hdr + 2, (uint16_t)(ext_bytes / 4));
  } else {
    pos = ext_hdr; /* no elements: no extension block at all */
  }

  if (cap - pos < h->payload_len) return 0;
  memcpy(out + pos, in + h->payload_off, h->payload_len);
  pos += h->payload_len;

  out[0] = (uint8_t)(0x80 | (has_ext ? 0x10 : 0) | cc);
  out[1] = (uint8_t)((h->marker ? 0x80 : 0) | (rw->pt & 0x7F));
  return pos;
}
