/* sfu_vp8: VP8 payload descriptor parsing, rewriting and temporal filtering. */
#include "sfu_vp8.h"

#include <errno.h>
#include <string.h>

#define PID_MASK 0x7FFF

static void keyframe_size(const uint8_t *vp8, size_t len, sfu_vp8_desc *d) {
  /* Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height
   * little-endian, each with 2 scale bits on top. */
  if (len < 10 || vp8[3] != 0x9D || vp8[4] != 0x01 || vp8[5] != 0x2A) return;
  d->width = (uint16_t)((vp8[6] | (vp8[7] << 8)) & 0x3FFF);
  d->height = (uint16_t)((vp8[8] | (vp8[9] << 8)) & 0x3FFF);
}

int sfu_vp8_parse(const uint8_t *p, size_t len, sfu_vp8_desc *d) {
  if (!p || !d) return -EINVAL;
  memset(d, 0, sizeof(*d));
  if (len < 1) return -EINVAL;
  d->n = p[0] & 0x20;
  d->s = p[0] & 0x10;
  d->pid = p[0] & 0x07;
  size_t off = 1;
  if (p[0] & 0x80) {
    if (off >= len) return -EINVAL;
    uint8_t x = p[off++];
    if (x & 0x80) {
      if (off >= len) return -EINVAL;
      d->has_picid = true;
      d->off_picid = (uint8_t)off;
      if (p[off] & 0x80) {
        if (off + 1 >= len) return -EINVAL;
        d->picid_15 = true;
        d->picid = (uint16_t)(((p[off] & 0x7F) << 8) | p[off + 1]);
        off += 2;
      } else {
        d->picid = p[off++] & 0x7F;
      }
    }
    if (x & 0x40) {
      if (off >= len) return -EINVAL;
      d->has_tl0 = true;
      d->off_tl0 = (uint8_t)off;
      d->tl0picidx = p[off++];
    }
    if (x & 0x30) {
      if (off >= len) return -EINVAL;
      d->off_tk = (uint8_t)off;
      d->has_tid = x & 0x20;
      d->has_keyidx = x & 0x10;
      if (d->has_tid) {
        d->tid = p[off] >> 6;
        d->y = p[off] & 0x20;
      }
      if (d->has_keyidx) d->keyidx = p[off] & 0x1F;
      off++;
    }
  }
  if (off >= len) return -EINVAL; /* a descriptor with no VP8 byte after it */
  d->hdr_len = off;
  if (d->s && d->pid == 0 && !(p[off] & 0x01)) {
    d->keyframe = true;
    keyframe_size(p + off, len - off, d);
  }
  return 0;
}

void sfu_vp8_munger_init(sfu_vp8_munger *m) {
  memset(m, 0, sizeof(*m));
}

void sfu_vp8_munger_switch(sfu_vp8_munger *m) {
  m->resync = true;
}

/* Serial comparison in the field's own width (mask 0x7F or 0x7FFF). */
static bool pid_newer(uint16_t a, uint16_t b, uint16_t mask) {
  uint16_t d = (a - b) & mask;
  return d != 0 && d <= mask / 2;
}

static uint16_t pid_mask(const sfu_vp8_desc *d) {
  return d->picid_15 ? PID_MASK : 0x7F;
}

static int map_find(const sfu_vp8_munger *m, uint16_t in) {
  const int i = in % SFU_VP8_PICMAP;
  return m->map[i].used && m->map[i].in == in ? i : -1;
}

static uint16_t map_picid(sfu_vp8_munger *m, uint16_t in) {
  int i = map_find(m, in);
  if (i >= 0) return m->map[i].out;
  uint16_t out = (in - m->pid_off) & PID_MASK;
  i = in % SFU_VP8_PICMAP;
  m->map[i].in = in;
  m->map[i].out = out;
  m->map[i].used = true;
  return out;
}

static void rewrite_picid(sfu_vp8_munger *m, uint8_t *p, const sfu_vp8_desc *d) {
  uint16_t in = d->picid;
  if (m->resync || !m->started) {
    /* A new source: its first picture follows the last one sent. */
    uint16_t want = m->have_pid ? (m->last_pid + 1) & PID_MASK : in;
    m->pid_off = (in - want) & PID_MASK;
    memset(m->map, 0, sizeof(m->map));
    m->have_in = false;
  }
  uint16_t mask = pid_mask(d);
  uint16_t out = map_picid(m, in) & mask;
  if (!m->have_pid || pid_newer(out, m->last_pid & mask, mask)) m->last_pid = out;
  if (!m->have_in || pid_newer(in, m->last_in & mask, mask)) m->last_in = in;
  m->have_pid = m->have_in = true;
  if (d->picid_15) {
    p[d->off_picid] = (uint8_t)(0x80 | (out >> 8));
    p[d->off_picid + 1] = (uint8_t)out;
  } else {
    p[d->off_picid] = (uint8_t)(out & 0x7F);
  }
}

void sfu_vp8_munger_rewrite(sfu_vp8_munger *m, uint8_t *p, size_t len, const sfu_vp8_desc *d) {
  if (!p || !d || len < d->hdr_len) return;
  bool resync = m->resync || !m->started;
  if (d->has_picid) rewrite_picid(m, p, d);
  if (d->has_tl0) {
    if (resync) m->tl0_off = (uint8_t)(d->tl0picidx - (m->have_tl0 ? m->last_tl0 + 1 : d->tl0picidx));
    uint8_t out = (uint8_t)(d->tl0picidx - m->tl0_off);
    if (!m->have_tl0 || (int8_t)(out - m->last_tl0) > 0) m->last_tl0 = out;
    m->have_tl0 = true;
    p[d->off_tl0] = out;
  }
  if (d->has_keyidx) {
    if (resync)
      m->keyidx_off = (uint8_t)((d->keyidx - (m->have_keyidx ? m->last_keyidx + 1 : d->keyidx)) & 0x1F);
    uint8_t out = (uint8_t)((d->keyidx - m->keyidx_off) & 0x1F);
    uint8_t ahead = (uint8_t)((out - m->last_keyidx) & 0x1F);
    if (!m->have_keyidx || (ahead != 0 && ahead < 16)) m->last_keyidx = out;
    m->have_keyidx = true;
    p[d->off_tk] = (uint8_t)((p[d->off_tk] & 0xE0) | out);
  }
  m->started = true;
  m->resync = false;
}

void sfu_vp8_munger_drop(sfu_vp8_munger *m, const sfu_vp8_desc *d) {
  if (!d->has_picid || m->resync || !m->started) return;
  uint16_t in = d->picid;
  if (map_find(m, in) >= 0) return; /* part of a picture already (partly) sent */
  if (m->have_in && !pid_newer(in, m->last_in & pid_mask(d), pid_mask(d)))
    return; /* a late packet of a dropped picture */
  m->pid_off = (m->pid_off + 1) & PID_MASK;
  m->last_in = in;
  m->have_in = true;
}

bool sfu_vp8_temporal_filter(uint8_t *cur, uint8_t target, const sfu_vp8_desc *d) {
  if (!d->has_tid) return true;
  bool picture_start = d->s && d->pid == 0;
  if (target < *cur && picture_start) *cur = target;
  if (d->tid <= *cur) return true;
  if (d->tid <= target && d->y && picture_start) {
    *cur = d->tid;
    return true;
  }
  return false;
}
