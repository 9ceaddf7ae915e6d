/* fuzz_bwe: libFuzzer target for the bandwidth estimator fed by a hostile
 * subscriber's feedback (any seqs, fates and arrival times).
 * The input is a list of operations (first byte mod 5):
 *   0 n      : send n+1 packets (sizes 100..1300 from the next byte)
 *   1 k ...  : a feedback of k statuses, 3 bytes each: seq back from the
 *              last sent (8 bits), received (1 bit) + arrival step (15 bits,
 *              signed, x 250 us)
 *   2 ms(2)  : an RTT
 *   3 v(2)   : desired rate v x 10 kbit/s
 *   4 ms(2)  : time passes; the probe padding asked for is sent
 * Checks: the target stays finite within [min, max]; padding asked for in
 * one call stays below what the ceiling could send in 100 ms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_bwe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

static sfu_bwe b;
static sfu_twcc_status st[256];

static void invariants(void) {
  sfu_bwe_stats s;
  sfu_bwe_get_stats(&b, &s);
  check(s.target_bps >= 30000 && s.target_bps <= 5000000);
  check(isfinite(b.target_bps) && isfinite(b.aimd.bps) && isfinite(b.loss.bps));
  check(isfinite(s.trend) && isfinite(s.threshold) && s.loss >= 0 && s.loss <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  sfu_bwe_config cfg = {30000, 300000, 5000000};
  int64_t now = 1000000, arrival = 0;
  uint16_t seq = 0;
  sfu_bwe_init(&b, &cfg, now);
  size_t i = 0;
  while (i < n) {
    uint8_t op = d[i++] % 5;
    if (op == 0 && i + 2 <= n) {
      int cnt = d[i] % 64 + 1;
      size_t sz = 100 + (size_t)d[i + 1] * 5;
      i += 2;
      for (int k = 0; k < cnt; k++)
        sfu_bwe_on_sent(&b, seq++, sz, now);
    } else if (op == 1 && i + 1 <= n) {
      size_t k = d[i++], m = 0;
      for (; m < k && i + 3 <= n; m++, i += 3) {
        st[m].seq = (uint16_t)(seq - 1 - d[i]);
        st[m].received = d[i + 1] & 0x80;
        int16_t step = (int16_t)(((d[i + 1] & 0x7F) << 9) | (d[i + 2] << 1));
        arrival += step / 2 * 250;
        st[m].arrival_us = arrival;
      }
      sfu_bwe_on_feedback(&b, st, m, now);
    } else if (op == 2 && i + 2 <= n) {
      sfu_bwe_on_rtt(&b, ((d[i] << 8) | d[i + 1]) * 1000);
      i += 2;
    } else if (op == 3 && i + 2 <= n) {
      sfu_bwe_set_desired(&b, ((d[i] << 8) | d[i + 1]) * 10000, now);
      i += 2;
    } else if (op == 4 && i + 2 <= n) {
      now += (d[i] << 8) | d[i + 1];
      i += 2;
      size_t due = sfu_bwe_probe_padding(&b, now);
      check(due <= 5000000 / 8 / 10);
      for (int k = 0; due > 0 && k < 100; k++) {
        sfu_bwe_on_sent(&b, seq++, 300, now);
        due = due > 300 ? due - 300 : 0;
      }
    } else {
      break;
    }
    invariants();
  }
  int64_t bps;
  sfu_bwe_take_update(&b, now + 2000000, &bps);
  return 0;
}
