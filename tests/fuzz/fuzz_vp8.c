/* fuzz_vp8: libFuzzer target for the VP8 payload descriptor parser, the
 * munger and the temporal filter.
 * The input is a list of records: ctl(1) len(1) bytes(len). Each record's
 * bytes are parsed; if they parse, ctl picks what one outgoing stream does
 * with them: bit 0 = a simulcast switch first, bits 1-2 = target TID; the
 * temporal filter then forwards (rewrite in place) or drops the packet.
 * Checks: offsets lie inside the descriptor, a rewrite changes only the
 * picture id / TL0PICIDX / KEYIDX bits and the rewritten bytes parse to the
 * same shape. Checks abort on failure. */
#include <stdlib.h>
#include <string.h>

#include "sfu_vp8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

static void one(sfu_vp8_munger *m, uint8_t *cur, uint8_t ctl, const uint8_t *p, size_t n) {
  sfu_vp8_desc d;
  if (sfu_vp8_parse(p, n, &d) != 0) return;
  check(d.hdr_len >= 1 && d.hdr_len < n);
  check(!d.has_picid || (d.off_picid >= 2 && d.off_picid + (d.picid_15 ? 2u : 1u) <= d.hdr_len));
  check(!d.has_tl0 || (d.off_tl0 >= 2 && d.off_tl0 < d.hdr_len));
  check(!(d.has_tid || d.has_keyidx) || (d.off_tk >= 2 && d.off_tk < d.hdr_len));
  check(d.tid <= 3 && d.keyidx <= 31 && d.width <= 0x3FFF && d.height <= 0x3FFF);
  check(!d.keyframe || (d.s && d.pid == 0));
  if (ctl & 1) sfu_vp8_munger_switch(m);
  if (!sfu_vp8_temporal_filter(cur, (ctl >> 1) & 3, &d)) {
    check(d.has_tid);
    sfu_vp8_munger_drop(m, &d);
    return;
  }
  uint8_t *copy = malloc(n);
  memcpy(copy, p, n);
  sfu_vp8_munger_rewrite(m, copy, n, &d);
  check(memcmp(copy + d.hdr_len, p + d.hdr_len, n - d.hdr_len) == 0);
  check(copy[0] == p[0] && (n < 2 || !(p[0] & 0x80) || copy[1] == p[1]));
  sfu_vp8_desc o;
  check(sfu_vp8_parse(copy, n, &o) == 0);
  check(o.hdr_len == d.hdr_len && o.picid_15 == d.picid_15 && o.tid == d.tid && o.y == d.y);
  check(o.keyframe == d.keyframe && o.width == d.width && o.height == d.height);
  if (d.has_tid && d.has_keyidx) check((copy[d.off_tk] & 0xE0) == (p[d.off_tk] & 0xE0));
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sfu_vp8_munger m;
  sfu_vp8_munger_init(&m);
  uint8_t cur = 0;
  size_t off = 0;
  while (off + 2 <= size) {
    uint8_t ctl = data[off], n = data[off + 1];
    off += 2;
    if (n > size - off) n = (uint8_t)(size - off);
    /* An exact-size copy so ASan sees any over-read. */
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, data + off, n);
    one(&m, &cur, ctl, p, n);
    free(p);
    off += n;
  }
  return 0;
}
