/* fuzz_twcc: libFuzzer target for the transport-cc feedback parser, the
 * builder and the receive recorder.
 * Input byte 0 picks the mode:
 *  - even: the rest is one feedback packet. If it parses, the statuses are
 *    built back (in MTU-sized packets) and parsed again: same seqs, same
 *    fates, same arrival times (modulo the reference time's wrap).
 *  - odd: the rest is a list of 3-byte records (seq 16 bits, arrival step
 *    8 bits: 0xFF = drain feedback now) fed to the recorder; every feedback it
 *    writes must parse, fit the MTU and continue where the last one ended
 *    (or step back to re-report a late packet).
 * Checks abort on failure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_twcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

static sfu_twcc_status st[65536], back[SFU_TWCC_BUILD_MAX];

static void rebuild(size_t n) {
  uint8_t out[1200];
  size_t done = 0;
  while (done < n) {
    size_t used = 0;
    size_t len = sfu_twcc_build(out, sizeof(out), 1, 2, 3, st + done, n - done, &used);
    if (len == 0) {
      /* Only a tail with no received packet in the first BUILD_MAX is unbuildable. */
      for (size_t i = done; i < n && i < done + SFU_TWCC_BUILD_MAX; i++)
        check(!st[i].received);
      return;
    }
    check(len <= sizeof(out) && len % 4 == 0 && used > 0 && used <= n - done);
    sfu_twcc_fb fb;
    int rc = sfu_twcc_parse(out, len, &fb, back, SFU_TWCC_BUILD_MAX);
    check(rc == (int)used);
    for (size_t i = 0; i < used; i++) {
      const sfu_twcc_status *a = &st[done + i], *b = &back[i];
      check(a->seq == b->seq && a->received == b->received);
      if (a->received) check((a->arrival_us - b->arrival_us) % SFU_TWCC_REF_WRAP_US == 0);
    }
    done += used;
  }
}

static sfu_twcc_recv rec;

static void recorder(const uint8_t *d, size_t n) {
  sfu_twcc_recv_init(&rec);
  int64_t t = 1000000;
  uint8_t out[1200];
  for (size_t i = 0; i + 3 <= n; i += 3) {
    uint16_t seq = (uint16_t)((d[i] << 8) | d[i + 1]);
    if (d[i + 2] == 0xFF) {
      size_t len;
      int rounds = 0;
      while ((len = sfu_twcc_recv_feedback(&rec, 9, out, sizeof(out))) > 0) {
        check(len <= sizeof(out) && ++rounds <= 64);
        sfu_twcc_fb fb;
        int rc = sfu_twcc_parse(out, len, &fb, back, SFU_TWCC_BUILD_MAX);
        check(rc > 0);
        check(back[0].received || rc > 1);
      }
      continue;
    }
    t += d[i + 2] * 100;
    sfu_twcc_recv_packet(&rec, seq, t, 5);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] & 1) {
    recorder(data + 1, size - 1);
    return 0;
  }
  sfu_twcc_fb fb;
  int rc = sfu_twcc_parse(data + 1, size - 1, &fb, st, 65536);
  check(rc == -EINVAL || rc == -ENOMSG || rc > 0);
  if (rc <= 0) return 0;
  check(rc == fb.status_count);
  for (int i = 0; i < rc; i++)
    check(st[i].seq == (uint16_t)(fb.base_seq + i));
  rebuild((size_t)rc);
  return 0;
}
