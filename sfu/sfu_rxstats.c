/* sfu_rxstats: RFC 3550 receiver statistics (A.1 sequence tracking without
 * probation, A.3 loss, A.8 jitter) and sfu_nackgen. Pure; no allocation. */
#include "sfu_rxstats.h"

#include <string.h>

#define MAX_DROPOUT 3000u
#define MAX_MISORDER 100u
#define SEQ_MOD 0x10000u

void sfu_rxstats_init(sfu_rxstats *s, uint32_t ssrc, uint32_t clock_rate) {
  memset(s, 0, sizeof(*s));
  s->ssrc = ssrc;
  s->clock_rate = clock_rate;
}

/* Arrival time in RTP clock units, modulo 2^32 (only differences matter). */
static uint32_t arrival_units(int64_t now_us, uint32_t rate) {
  uint64_t u = (uint64_t)now_us;
  uint64_t sec = u / 1000000u, rem = u % 1000000u;
  return (uint32_t)(sec * rate + rem * rate / 1000000u);
}

void sfu_rxstats_update(sfu_rxstats *s, uint16_t seq, uint32_t rtp_ts, int64_t now_us) {
  uint32_t transit = arrival_units(now_us, s->clock_rate) - rtp_ts;
  if (!s->started) {
    /* First packet: accept at once (no probation). */
    s->started = true;
    s->base_seq = seq;
    s->max_seq = seq;
    s->cycles = 0;
    s->received = 1;
    s->expected_prior = 0;
    s->received_prior = 0;
    s->transit = transit;
    s->jitter = 0;
    return;
  }

  uint16_t udelta = (uint16_t)(seq - s->max_seq);
  if (udelta < MAX_DROPOUT) {
    if (seq < s->max_seq) s->cycles += SEQ_MOD;
    s->max_seq = seq;
  } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
    /* A large jump (a restarted sender, or a very old packet). Without
     * probation, resync at once: the new seq becomes the highest, and the
     * base moves with it so the jump itself counts as neither loss nor
     * receipt (expected grows by one, for this packet). Modulo 2^32. */
    s->base_seq += (uint32_t)seq - (uint32_t)s->max_seq - 1u;
    s->max_seq = seq;
  }
  /* else: duplicate or reordered packet within MAX_MISORDER */
  s->received++;

  if (s->clock_rate) {
    int32_t d = (int32_t)(transit - s->transit);
    s->transit = transit;
    double ad = d < 0 ? -(double)d : (double)d;
    s->jitter += (ad - s->jitter) / 16.0;
  }
}

void sfu_rxstats_on_sr(sfu_rxstats *s, uint64_t ntp, int64_t now_us) {
  s->last_sr = (uint32_t)(ntp >> 16);
  s->last_sr_recv_us = now_us != 0 ? now_us : 1; /* 0 means none */
}

void sfu_rxstats_report(sfu_rxstats *s, int64_t now_us, sfu_rtcp_report_block *rb) {
  memset(rb, 0, sizeof(*rb));
  rb->ssrc = s->ssrc;
  if (s->started) {
    uint32_t ext_max = s->cycles + s->max_seq;
    uint32_t expected = ext_max - s->base_seq + 1u;
    int64_t lost = (int32_t)(expected - s->received);
    if (lost > 0x7FFFFF) lost = 0x7FFFFF;
    if (lost < -0x800000) lost = -0x800000;

    uint32_t exp_int = expected - s->expected_prior;
    uint32_t rec_int = s->received - s->received_prior;
    int32_t lost_int = (int32_t)(exp_int - rec_int);
    s->expected_prior = expected;
    s->received_prior = s->received;
    uint8_t fraction = 0;
    if (exp_int != 0 && lost_int > 0) {
      uint64_t f = ((uint64_t)(uint32_t)lost_int << 8) / exp_int;
      fraction = f > 255 ? 255 : (uint8_t)f;
    }

    rb->fraction_lost = fraction;
    rb->cumulative_lost = (int32_t)lost;
    rb->ext_highest_seq = ext_max;
    rb->jitter = s->jitter >= 4294967295.0 ? UINT32_MAX : (uint32_t)s->jitter;
  }
  if (s->last_sr_recv_us != 0) {
    rb->lsr = s->last_sr;
    int64_t d = now_us - s->last_sr_recv_us;
    if (d > 0) {
      /* 1/65536 s units; saturate after ~18 h */
      uint64_t u = (uint64_t)d;
      uint64_t dlsr = (u / 1000000u) * 65536u + (u % 1000000u) * 65536u / 1000000u;
      rb->dlsr = dlsr > UINT32_MAX ? UINT32_MAX : (uint32_t)dlsr;
    }
  }
}

/* ---- sfu_nackgen ---- */

#define NACK_MAX_TRIES 10
#define NACK_MAX_AGE_US 1000000

void sfu_nackgen_init(sfu_nackgen *g) {
  memset(g, 0, sizeof(*g));
}

static void miss_remove(sfu_nackgen *g, size_t i) {
  memmove(&g->miss[i], &g->miss[i + 1], (g->n - i - 1) * sizeof(g->miss[0]));
  g->n--;
}

static void miss_add(sfu_nackgen *g, uint16_t seq, int64_t now_us) {
  if (g->n == SFU_NACKGEN_MAX) miss_remove(g, 0); /* full: forget the oldest */
  g->miss[g->n].seq = seq;
  g->miss[g->n].tries = 0;
  g->miss[g->n].next_us = now_us;
  g->miss[g->n].first_us = now_us;
  g->n++;
}

void sfu_nackgen_on_seq(sfu_nackgen *g, uint16_t seq, int64_t now_us) {
  if (!g->started) {
    g->started = true;
    g->highest = seq;
    g->n = 0;
    return;
  }
  uint16_t diff = (uint16_t)(seq - g->highest);
  if (diff == 0) return;
  if (diff < 0x8000) { /* newer */
    if (diff > SFU_NACKGEN_MAX) {
      g->n = 0;
    } else {
      for (uint16_t s = (uint16_t)(g->highest + 1); s != seq; s++)
        miss_add(g, s, now_us);
    }
    g->highest = seq;
    return;
  }
  /* older: a late or retransmitted packet fills its hole */
  for (size_t i = 0; i < g->n; i++) {
    if (g->miss[i].seq == seq) {
      miss_remove(g, i);
      return;
    }
  }
}

size_t sfu_nackgen_due(sfu_nackgen *g, int64_t now_us, int64_t retry_us, uint16_t *out, size_t max) {
  size_t k = 0;
  for (size_t i = 0; i < g->n;) {
    if (g->miss[i].tries >= NACK_MAX_TRIES || now_us - g->miss[i].first_us >= NACK_MAX_AGE_US) {
      miss_remove(g, i);
      continue;
    }
    if (k < max && out && now_us >= g->miss[i].next_us) {
      out[k++] = g->miss[i].seq;
      g->miss[i].tries++;
      g->miss[i].next_us = now_us + retry_us;
    }
    i++;
  }
  return k;
}
