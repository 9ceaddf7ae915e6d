/* fuzz_red: libFuzzer target for sfu_red (RFC 2198 RED payloads).
 * The input is an RTP packet carrying RED when it parses as RTP, else a bare
 * RED payload. Checks beyond "no crash": every block lies inside the
 * payload, in order, and the primary ends it; a rebuilt plain packet of any
 * block parses back with that block's bytes, sequence number and timestamp;
 * the unwrap plan names existing blocks, oldest first, primary last;
 * rewriting the inner PTs keeps the structure. */
#include <stdlib.h>
#include <string.h>

#include "sfu_red.h"
#include "sfu_rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

static void check_blocks(const sfu_red *r, size_t len) {
  check(r->n >= 1 && r->n <= SFU_RED_MAX_BLOCKS);
  size_t end = 0;
  for (unsigned i = 0; i < r->n; i++) {
    check(r->b[i].off >= end && (size_t)r->b[i].off + r->b[i].len <= len);
    end = (size_t)r->b[i].off + r->b[i].len;
    check(r->b[i].pt < 128);
  }
  check(end == len);
  check(r->b[r->n - 1].ts_offset == 0);
  check(r->b[0].off == 4u * (r->n - 1u) + 1u);
}

static void rebuild(const uint8_t *pkt, const sfu_rtp_hdr *h, const sfu_red *r) {
  uint8_t out[70000];
  for (unsigned i = 0; i < r->n; i++) {
    sfu_rtp_hdr v;
    sfu_red_block_view(h, r, i, &v);
    check(v.seq == (uint16_t)(h->seq - (r->n - 1u - i)) && v.ts == h->ts - r->b[i].ts_offset);
    sfu_rtp_rewrite rw;
    memset(&rw, 0, sizeof rw);
    rw.seq = v.seq, rw.ts = v.ts, rw.ssrc = 1, rw.pt = 111;
    size_t n = sfu_rtp_rewrite_into(pkt, &v, &rw, out, sizeof out);
    check(n > 0);
    sfu_rtp_hdr o;
    check(sfu_rtp_parse(out, n, &o) == 0);
    check(o.seq == v.seq && o.ts == v.ts && o.payload_len == r->b[i].len);
    check(memcmp(out + o.payload_off, pkt + h->payload_off + r->b[i].off, o.payload_len) == 0);
  }
}

static void plan(const sfu_red *r, uint16_t seq0) {
  sfu_red_unwrap u = {0};
  uint8_t idx[SFU_RED_MAX_BLOCKS];
  static const uint16_t steps[] = {0, 1, 3, 2, 0, 9, 65535, 5};
  uint16_t seq = seq0;
  for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
    seq = (uint16_t)(seq + steps[s]);
    unsigned k = sfu_red_unwrap_plan(&u, seq, r, idx);
    check(k <= r->n);
    for (unsigned i = 0; i < k; i++) {
      check(idx[i] < r->n);
      if (i) check(idx[i] > idx[i - 1]);
    }
    if (k && idx[k - 1] != r->n - 1) check(r->b[r->n - 1].len == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sfu_rtp_hdr h;
  sfu_red r;
  if (sfu_rtp_parse(data, size, &h) == 0) {
    if (sfu_red_parse(data + h.payload_off, h.payload_len, &r) != 0) return 0;
    check_blocks(&r, h.payload_len);
    rebuild(data, &h, &r);
    plan(&r, h.seq);
    uint8_t *copy = malloc(h.payload_len);
    memcpy(copy, data + h.payload_off, h.payload_len);
    sfu_red_set_block_pt(copy, &r, r.b[0].pt, (uint8_t)(h.pt + 1));
    sfu_red r2;
    check(sfu_red_parse(copy, h.payload_len, &r2) == 0 && r2.n == r.n);
    for (unsigned i = 0; i < r.n; i++)
      check(r2.b[i].off == r.b[i].off && r2.b[i].len == r.b[i].len && r2.b[i].ts_offset == r.b[i].ts_offset);
    free(copy);
    return 0;
  }
  if (sfu_red_parse(data, size, &r) != 0) return 0;
  check_blocks(&r, size);
  plan(&r, size > 1 ? sfu_rd16(data) : 0);
  return 0;
}
