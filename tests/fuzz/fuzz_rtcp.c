/* fuzz_rtcp: libFuzzer target for the RTCP compound walker and its item
 * readers (report blocks, NACK expansion, REMB SSRCs).
 * Build by hand (not wired into CMake):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isfu \
 *     tests/fuzz/fuzz_rtcp.c sfu/sfu_rtcp.c -o /tmp/fuzz_rtcp
 *   /tmp/fuzz_rtcp -max_total_time=30 /tmp/rtcp-corpus tests/fuzz/corpus/rtcp
 * Checks beyond "no crash": items tile the input in order, the walk ends
 * with 0 or -EINVAL and then stays ended, and a NACK rebuilt from its
 * expanded sequence numbers expands back to the same set. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_rtcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

static uint8_t seen_a[8192], seen_b[8192]; /* bitsets of 16-bit seqs */

static void nack_round_trip(const sfu_rtcp_item *item) {
  static uint16_t seqs[65536], back[65536];
  static uint8_t pkt[12 + 4 * 65536];
  size_t n = sfu_rtcp_nack_seqs(item, seqs, 65536);
  if (n == 0) return;
  size_t len = sfu_rtcp_build_nack(pkt, sizeof(pkt), item->sender_ssrc, item->media_ssrc, seqs, n);
  check(len >= 16);
  sfu_rtcp_iter it;
  sfu_rtcp_item again;
  sfu_rtcp_iter_init(&it, pkt, len);
  check(sfu_rtcp_iter_next(&it, &again) == 1 && again.type == SFU_RTCP_NACK);
  check(sfu_rtcp_iter_next(&it, &again) == 0);
  sfu_rtcp_iter_init(&it, pkt, len);
  sfu_rtcp_iter_next(&it, &again);
  size_t m = sfu_rtcp_nack_seqs(&again, back, 65536);
  check(m <= n);
  memset(seen_a, 0, sizeof(seen_a));
  memset(seen_b, 0, sizeof(seen_b));
  for (size_t i = 0; i < n; i++)
    seen_a[seqs[i] >> 3] |= (uint8_t)(1u << (seqs[i] & 7));
  for (size_t i = 0; i < m; i++) {
    check(!(seen_b[back[i] >> 3] & (1u << (back[i] & 7)))); /* packed without duplicates */
    seen_b[back[i] >> 3] |= (uint8_t)(1u << (back[i] & 7));
  }
  check(memcmp(seen_a, seen_b, sizeof(seen_a)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sfu_rtcp_iter it;
  sfu_rtcp_item item;
  sfu_rtcp_iter_init(&it, data, size);
  size_t off = 0;
  int rc;
  while ((rc = sfu_rtcp_iter_next(&it, &item)) == 1) {
    check(item.pkt == data + off && item.len >= 4 && item.len % 4 == 0 && item.len <= size - off);
    off += item.len;

    sfu_rtcp_report_block rb[31];
    size_t nb = sfu_rtcp_report_blocks(&item, rb, 31);
    check(nb <= item.fmt);
    for (size_t i = 0; i < nb; i++)
      check(rb[i].cumulative_lost >= -0x800000 && rb[i].cumulative_lost <= 0x7FFFFF);
    if (nb > 0 && item.type == SFU_RTCP_RR) { /* rebuild and compare bytes */
      uint8_t rr[8 + 31 * 24];
      size_t l = sfu_rtcp_build_rr(rr, sizeof(rr), item.sender_ssrc, rb, nb);
      check(l == 8 + nb * 24 && memcmp(rr + 8, item.pkt + 8, nb * 24) == 0);
    }
    uint32_t ssrcs[255];
    size_t ns = sfu_rtcp_remb_ssrcs(&item, ssrcs, 255);
    check(item.type == SFU_RTCP_REMB || ns == 0);
    if (item.type == SFU_RTCP_NACK)
      nack_round_trip(&item);
    else
      check(sfu_rtcp_nack_seqs(&item, (uint16_t *)ssrcs, 16) == 0);
  }
  check(rc == 0 || rc == -EINVAL);
  check(rc != 0 || off == size);
  check(sfu_rtcp_iter_next(&it, &item) == 0);
  return 0;
}
