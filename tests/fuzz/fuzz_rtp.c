/* fuzz_rtp: libFuzzer target for sfu_rtp_parse, sfu_rtp_ext_find and
 * sfu_rtp_rewrite_into (and the codec keyframe check on the payload).
 * Build by hand (not wired into CMake):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isfu \
 *     tests/fuzz/fuzz_rtp.c sfu/sfu_rtp.c sfu/sfu_codec.c -o /tmp/fuzz_rtp
 *   /tmp/fuzz_rtp -max_total_time=30 /tmp/rtp-corpus tests/fuzz/corpus/rtp
 * Checks beyond "no crash": parse results stay inside the input, found
 * extensions lie inside the extension block, a rewrite fits exactly the
 * length it reports (one byte less fails), and the copy parses back with
 * the asked-for header fields and mid. */
#include <stdlib.h>
#include <string.h>

#include "sfu_codec.h"
#include "sfu_rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)sfu_rtp_is_rtcp(data, size);
  sfu_rtp_hdr h;
  if (sfu_rtp_parse(data, size, &h) != 0) return 0;
  check(h.payload_off + h.payload_len + h.padding_len == size);
  check(h.ext_off + h.ext_len <= h.payload_off);
  check(12u + 4u * h.csrc_count <= h.payload_off);

  for (unsigned id = 0; id < 256; id++) {
    size_t l = 0;
    const uint8_t *v = sfu_rtp_ext_find(data, &h, (uint8_t)id, &l);
    if (v) {
      check(v >= data + h.ext_off && v + l <= data + h.ext_off + h.ext_len);
      check(id != 0);
    }
  }
  (void)sfu_codec_is_keyframe(SFU_CODEC_VP8, data + h.payload_off, h.payload_len);
  (void)sfu_codec_is_keyframe(SFU_CODEC_H264, data + h.payload_off, h.payload_len);

  /* A rewrite whose mapping comes from the packet's own bytes. */
  sfu_rtp_rewrite rw;
  memset(&rw, 0, sizeof(rw));
  rw.ssrc = h.ssrc ^ 0x5A5A5A5Au;
  rw.seq = (uint16_t)(h.seq + 1000);
  rw.ts = h.ts + 90000;
  rw.pt = (uint8_t)(h.pt ^ 1);
  for (size_t i = 0; i < 16; i++)
    rw.ext_map[i] = (uint8_t)((data[i % size] + i) & 0x0F);
  rw.mid_id = data[size - 1] & 0x0F;
  static const char mid[] = "fuzz-mid-abcdefg"; /* 16 bytes */
  rw.mid = mid;
  rw.mid_len = (uint8_t)(1 + data[1] % 16);

  size_t cap = size + 32;
  uint8_t *out = malloc(cap);
  size_t n = sfu_rtp_rewrite_into(data, &h, &rw, out, cap);
  check(n > 0); /* at most 17 bytes of mid plus 3 of padding are added */
  free(out);
  out = malloc(n);
  check(sfu_rtp_rewrite_into(data, &h, &rw, out, n) == n);
  uint8_t *small = malloc(n - 1 ? n - 1 : 1);
  check(sfu_rtp_rewrite_into(data, &h, &rw, small, n - 1) == 0);
  free(small);

  sfu_rtp_hdr o;
  check(sfu_rtp_parse(out, n, &o) == 0);
  check(o.ssrc == rw.ssrc && o.seq == rw.seq && o.ts == rw.ts && o.pt == (rw.pt & 0x7F));
  check(o.marker == h.marker && o.csrc_count == h.csrc_count && o.padding_len == 0);
  check(o.payload_len == h.payload_len &&
        memcmp(out + o.payload_off, data + h.payload_off, h.payload_len) == 0);
  check(o.ext_len == 0 || o.ext_profile == 0xBEDE);
  if (rw.mid_id >= 1 && rw.mid_id <= 14) {
    size_t l = 0;
    const uint8_t *v = sfu_rtp_ext_find(out, &o, rw.mid_id, &l);
    check(v && l == rw.mid_len && memcmp(v, mid, l) == 0);
  }
  free(out);
  return 0;
}
