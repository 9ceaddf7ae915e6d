/* Tests for sfu_bwe: the pieces (inter-arrival groups, trendline detector,
 * AIMD, loss-based control, probe cluster rate, update throttle) and the
 * whole estimator against a simulated bottleneck: a sender paced at the
 * estimate, a FIFO link of capacity C with a tail-drop queue and 20 ms of
 * propagation, a receiver that records arrivals and every 100 ms sends real
 * transport-cc feedback bytes (sfu_twcc_recv), parsed back (sfu_twcc_parse)
 * into the estimator. Simulated time only: nothing sleeps. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_bwe.h"
#include "sfu_bwe_internal.h"
#include "sfu_twcc.h"

/* ---- the pieces ---- */

static void test_interarrival_groups(void **state) {
  (void)state;
  sfu_bwe_interarrival ia;
  sfu_bwe_ia_reset(&ia);
  double sd = 0, rd = 0;
  /* Group 1: three packets sent within 5 ms. */
  assert_false(sfu_bwe_ia_add(&ia, 0, 100000, 1000, &sd, &rd));
  assert_false(sfu_bwe_ia_add(&ia, 2000, 102000, 1000, &sd, &rd));
  assert_false(sfu_bwe_ia_add(&ia, 4000, 104000, 1000, &sd, &rd));
  /* Group 2 starts (sent 10 ms after group 1 began): no previous group yet. */
  assert_false(sfu_bwe_ia_add(&ia, 10000, 111000, 1000, &sd, &rd));
  /* Group 3 starts: deltas group 2 - group 1: send 10 - 4 = 6 ms, arrival 111 - 104 = 7 ms. */
  assert_true(sfu_bwe_ia_add(&ia, 20000, 121000, 1000, &sd, &rd));
  assert_true(fabs(sd - 6.0) < 1e-9 && fabs(rd - 7.0) < 1e-9);
  /* A burst: sent 8 ms later but arrived right behind (queued): same group. */
  assert_false(sfu_bwe_ia_add(&ia, 28000, 122000, 1000, &sd, &rd));
  assert_true(sfu_bwe_ia_add(&ia, 40000, 140000, 1000, &sd, &rd));
  assert_true(fabs(sd - 18.0) < 1e-9 && fabs(rd - 11.0) < 1e-9);
  /* Sent before the current group began: ignored. */
  assert_false(sfu_bwe_ia_add(&ia, 30000, 141000, 1000, &sd, &rd));
}

static sfu_bwe_usage feed_trend(sfu_bwe_trendline *t, int groups, double send_ms, double recv_ms,
                                double *arrival) {
  for (int i = 0; i < groups; i++) {
    *arrival += recv_ms;
    sfu_bwe_trend_update(t, recv_ms, send_ms, *arrival);
  }
  return t->hypothesis;
}

static void test_trendline(void **state) {
  (void)state;
  sfu_bwe_trendline t;
  sfu_bwe_trend_init(&t);
  double arrival = 1000;
  /* Steady: arrivals spaced like sends. */
  assert_int_equal(feed_trend(&t, 100, 5, 5, &arrival), SFU_BWE_NORMAL);
  /* Queue building: each group arrives 1 ms later than sent (20 % overuse). */
  sfu_bwe_usage u = SFU_BWE_NORMAL;
  int n = 0;
  while (u != SFU_BWE_OVERUSE && n < 60) {
    u = feed_trend(&t, 1, 5, 6, &arrival);
    n++;
  }
  assert_int_equal(u, SFU_BWE_OVERUSE);
  assert_true(n <= 20);
  /* Draining: arrivals closer than sends. */
  u = SFU_BWE_NORMAL;
  n = 0;
  while (u != SFU_BWE_UNDERUSE && n < 60) {
    u = feed_trend(&t, 1, 5, 3, &arrival);
    n++;
  }
  assert_int_equal(u, SFU_BWE_UNDERUSE);
  /* The threshold stays in its bounds. */
  assert_true(t.threshold >= BWE_THRESH_MIN && t.threshold <= BWE_THRESH_MAX);
}

static void test_aimd(void **state) {
  (void)state;
  sfu_bwe_aimd a;
  sfu_bwe_aimd_init(&a, 1e6, 30e3, 10e6);
  int64_t now = 1000000;
  /* Multiplicative increase (no link estimate): 8 % per second, at least 1 kbit/s a step. */
  sfu_bwe_aimd_update(&a, SFU_BWE_NORMAL, 1e6, now);
  assert_true(fabs(a.bps - 1.001e6) < 1);
  sfu_bwe_aimd_update(&a, SFU_BWE_NORMAL, 1e6, now + 1000000);
  assert_true(fabs(a.bps - 1.001e6 * 1.08) < 1);
  /* Never above 1.5 x what got through + 10 kbit/s (application-limited). */
  for (int i = 2; i < 20; i++)
    sfu_bwe_aimd_update(&a, SFU_BWE_NORMAL, 0.5e6, now + i * 1000000);
  assert_true(fabs(a.bps - 1.001e6 * 1.08) < 1); /* 760 kbit/s is the limit: no increase */
  /* Overuse: 0.85 x the throughput, then hold. */
  sfu_bwe_aimd_update(&a, SFU_BWE_OVERUSE, 800e3, now + 30000000);
  assert_true(fabs(a.bps - 0.85 * 800e3) < 1);
  assert_int_equal(a.state, SFU_AIMD_HOLD);
  assert_true(a.link_has);
  /* Near the link capacity the increase is additive: about a packet per RTT. */
  sfu_bwe_aimd_update(&a, SFU_BWE_NORMAL, 700e3, now + 31000000);
  double before = a.bps;
  sfu_bwe_aimd_update(&a, SFU_BWE_NORMAL, 700e3, now + 32000000);
  double inc = a.bps - before;
  assert_true(inc > 4000 && inc < 0.08 * before);
  /* Time to reduce further: after an RTT, or when throughput falls below half. */
  assert_false(sfu_bwe_aimd_time_to_reduce(&a, now + 32000001, 600e3));
  assert_true(sfu_bwe_aimd_time_to_reduce(&a, now + 32000001, 0.4 * a.bps));
  assert_true(sfu_bwe_aimd_time_to_reduce(&a, now + 32300000, 600e3));
  /* Never below the minimum. */
  sfu_bwe_aimd_update(&a, SFU_BWE_OVERUSE, 1000, now + 40000000);
  assert_true(a.bps >= 30e3);
}

/* A cluster sent at 2 Mbit/s through a 1 Mbit/s link: the link is full,
 * the result is 0.95 x the receive rate. */
static void test_probe_rate(void **state) {
  (void)state;
  sfu_bwe_probe p;
  sfu_bwe_probe_init(&p);
  double r = 2e6;
  sfu_bwe_probe_request(&p, &r, 1, true, 10e6, 0);
  int64_t t = 0;
  size_t due = sfu_bwe_probe_padding_due(&p, t);
  assert_true(due > 0);
  int ids[64], n = 0;
  while (n < 64) {
    due = sfu_bwe_probe_padding_due(&p, t);
    if (due == 0 && p.active < 0) break;
    while (due > 0 && n < 64) {
      int id = sfu_bwe_probe_on_sent(&p, 250, t);
      if (id < 0) break;
      ids[n++] = id;
      due = due > 250 ? due - 250 : 0;
    }
    t += 1000;
  }
  /* 15 ms at 2 Mbit/s = 3750 bytes: 15 packets of 250 bytes, 1 ms apart. */
  assert_int_equal(n, 15);
  assert_true(p.active < 0);
  for (int i = 0; i < n; i++) /* send 1 ms apart; arrive 2 ms apart */
    sfu_bwe_probe_on_ack(&p, ids[i], i * 1000, 50000 + i * 2000, 250, true);
  double res = sfu_bwe_probe_result(&p);
  double send = 14 * 250 * 8 / 0.014, recv = 14 * 250 * 8 / 0.028;
  (void)send;
  assert_true(fabs(res - 0.95 * recv) < 1);
  assert_true(sfu_bwe_probe_result(&p) == 0); /* reported once */
  /* Too few packets acknowledged: no result. */
  sfu_bwe_probe_request(&p, &r, 1, true, 10e6, t);
  sfu_bwe_probe_padding_due(&p, t);
  int id = sfu_bwe_probe_on_sent(&p, 4000, t);
  for (int i = 0; i < 4; i++)
    sfu_bwe_probe_on_sent(&p, 10, t + i);
  sfu_bwe_probe_on_ack(&p, id, t, t + 9000, 4000, true);
  assert_true(sfu_bwe_probe_result(&p) == 0);
}

/* ---- the whole estimator over a simulated link ---- */

#define SIM_STEP_US 250
#define SIM_PROP_US 20000
#define RX_CLOCK_OFFSET_US 5000000000LL /* the receiver's clock has another origin */
#define FLIGHT 16384

typedef struct {
  int64_t at;
  uint16_t seq;
} flight;

typedef struct {
  sfu_bwe bwe;
  sfu_twcc_recv rx;
  /* link */
  double capacity; /* bps */
  int64_t free_us; /* when the link has sent what is queued */
  int64_t queue_limit_us;
  int loss_pct;
  flight fl[FLIGHT];
  size_t fl_head, fl_n;
  /* feedback on its way back */
  uint8_t fb[64][1200];
  size_t fb_len[64];
  int64_t fb_at[64];
  int fb_n;
  /* sender */
  uint16_t seq;
  double media_credit; /* bytes the pacer may send */
  bool frames;         /* 30 fps frame bursts instead of an even pace */
  bool layered;        /* send the best of three simulcast layers that fits the target */
  int layer;
  int64_t now;
  /* measurements */
  uint64_t delivered_bytes;
  uint64_t rng;
  int64_t sent_bytes, padding_bytes;
  double max_queue_ms;
} sim;

static uint32_t sim_rand(sim *s) {
  s->rng ^= s->rng << 13;
  s->rng ^= s->rng >> 7;
  s->rng ^= s->rng << 17;
  return (uint32_t)s->rng;
}

static void sim_init(sim *s, double capacity, int64_t start_bps) {
  memset(s, 0, sizeof(*s));
  s->rng = 0x9E3779B97F4A7C15ULL;
  s->capacity = capacity;
  s->queue_limit_us = 300000; /* a 300 ms buffer, like a home router's */
  s->now = 1000000;
  sfu_bwe_config cfg = {30000, start_bps, 20000000};
  sfu_bwe_init(&s->bwe, &cfg, s->now);
  sfu_bwe_set_desired(&s->bwe, 8000000, s->now);
  sfu_bwe_on_rtt(&s->bwe, 2 * SIM_PROP_US);
  sfu_twcc_recv_init(&s->rx);
}

static void sim_send(sim *s, size_t bytes, bool padding) {
  uint16_t seq = s->seq++;
  sfu_bwe_on_sent(&s->bwe, seq, bytes, s->now);
  s->sent_bytes += (int64_t)bytes;
  if (padding) s->padding_bytes += (int64_t)bytes;
  if (s->loss_pct && (int)(sim_rand(s) % 100) < s->loss_pct) return;
  int64_t start = s->free_us > s->now ? s->free_us : s->now;
  if (start - s->now > s->queue_limit_us) return; /* tail drop */
  double q_ms = (double)(start - s->now) / 1000.0;
  if (q_ms > s->max_queue_ms) s->max_queue_ms = q_ms;
  s->free_us = start + (int64_t)((double)bytes * 8e6 / s->capacity);
  assert_true(s->fl_n < FLIGHT);
  s->fl[(s->fl_head + s->fl_n++) % FLIGHT] = (flight){s->free_us + SIM_PROP_US, seq};
  s->delivered_bytes += bytes;
}

static void sim_step(sim *s) {
  s->now += SIM_STEP_US;
  /* arrivals */
  while (s->fl_n > 0 && s->fl[s->fl_head].at <= s->now) {
    flight *f = &s->fl[s->fl_head];
    sfu_twcc_recv_packet(&s->rx, f->seq, f->at + RX_CLOCK_OFFSET_US, 0x1234);
    s->fl_head = (s->fl_head + 1) % FLIGHT;
    s->fl_n--;
  }
  /* feedback every 100 ms, back after the propagation delay */
  if (s->now % 100000 == 0) {
    size_t len;
    while (s->fb_n < 64 && (len = sfu_twcc_recv_feedback(&s->rx, 1, s->fb[s->fb_n], sizeof(s->fb[0]))) > 0) {
      s->fb_len[s->fb_n] = len;
      s->fb_at[s->fb_n++] = s->now + SIM_PROP_US;
    }
  }
  int keep = 0;
  for (int i = 0; i < s->fb_n; i++) {
    if (s->fb_at[i] > s->now) {
      memmove(s->fb[keep], s->fb[i], s->fb_len[i]);
      s->fb_len[keep] = s->fb_len[i];
      s->fb_at[keep++] = s->fb_at[i];
      continue;
    }
    static sfu_twcc_status st[4096];
    sfu_twcc_fb fb;
    int n = sfu_twcc_parse(s->fb[i], s->fb_len[i], &fb, st, 4096);
    assert_true(n > 0);
    sfu_bwe_on_feedback(&s->bwe, st, (size_t)n, s->now);
  }
  s->fb_n = keep;
  /* media: paced at the target, or 30 fps frames of target/30 each */
  double target = (double)sfu_bwe_target(&s->bwe);
  if (s->layered) {
    static const double rates[3] = {150000, 500000, 1500000};
    s->layer = 0;
    while (s->layer < 2 && rates[s->layer + 1] <= target)
      s->layer++;
    target = rates[s->layer];
  }
  if (s->frames) {
    if (s->now % 33333 < SIM_STEP_US) s->media_credit += target / 8 / 30;
    while (s->media_credit >= 1200) {
      sim_send(s, 1200, false);
      s->media_credit -= 1200;
    }
  } else {
    s->media_credit += target / 8 * SIM_STEP_US / 1e6;
    if (s->media_credit > 2400) s->media_credit = 2400;
    while (s->media_credit >= 1200) {
      sim_send(s, 1200, false);
      s->media_credit -= 1200;
    }
  }
  /* probe padding (RTX padding-only packets of ~300 bytes) */
  if (s->now % 1000 == 0) {
    size_t due = sfu_bwe_probe_padding(&s->bwe, s->now);
    while (due > 0) {
      sim_send(s, 300, true);
      due = due > 300 ? due - 300 : 0;
    }
  }
  /* the RR-based RTT includes the queue */
  if (s->now % 1000000 == 0) {
    int64_t q = s->free_us > s->now ? s->free_us - s->now : 0;
    sfu_bwe_on_rtt(&s->bwe, 2 * SIM_PROP_US + q);
  }
}

/* Runs until `until`, sampling the target every 100 ms into trace. */
static void sim_run(sim *s, int64_t until_rel_us, double *trace, int *ntrace) {
  int64_t end = s->now + until_rel_us;
  while (s->now < end) {
    sim_step(s);
    if (trace && s->now % 100000 == 0) trace[(*ntrace)++] = (double)sfu_bwe_target(&s->bwe);
  }
}

static double mean(const double *v, int from, int to) {
  double sum = 0;
  for (int i = from; i < to; i++)
    sum += v[i];
  return sum / (to - from);
}

static double vmin(const double *v, int from, int to) {
  double m = v[from];
  for (int i = from; i < to; i++)
    if (v[i] < m) m = v[i];
  return m;
}

static double vmax(const double *v, int from, int to) {
  double m = v[from];
  for (int i = from; i < to; i++)
    if (v[i] > m) m = v[i];
  return m;
}

/* First sample index from which the target stays >= lo for at least 2 s. */
static int settle_index(const double *v, int n, double lo) {
  for (int i = 0; i + 20 <= n; i++) {
    bool ok = true;
    for (int k = i; k < i + 20; k++)
      if (v[k] < lo) ok = false;
    if (ok) return i;
  }
  return -1;
}

static sim S;
static double trace[4000];

static void converge(double cap, bool frames) {
  int n = 0;
  sim_init(&S, cap, 300000);
  S.frames = frames;
  sim_run(&S, 40000000, trace, &n);
  int settle = settle_index(trace, n, 0.7 * cap);
  double m = mean(trace, 150, n), lo = vmin(trace, 150, n), hi = vmax(trace, 150, n);
  double goodput = (double)S.delivered_bytes * 8 / 40.0;
  print_message("   C %5.0f kbit/s%s: above 70%% of C after %.1f s; 15-40 s: mean %.0f%% of C, min %.0f%%, "
                "max %.0f%%; delivered %.0f%% of C; max queue %.0f ms; padding %.1f%%\n",
                cap / 1000, frames ? " (30 fps bursts)" : "", settle / 10.0, 100 * m / cap, 100 * lo / cap,
                100 * hi / cap, 100 * goodput / cap, S.max_queue_ms, 100.0 * S.padding_bytes / S.sent_bytes);
  assert_true(settle >= 0 && settle <= 100); /* within 10 s */
  assert_true(m >= 0.80 * cap && m <= 1.02 * cap);
  assert_true(lo >= 0.6 * cap);
}

static void test_converge_300k(void **state) {
  (void)state;
  converge(300000, false);
}
static void test_converge_1m(void **state) {
  (void)state;
  converge(1000000, false);
}
static void test_converge_3m(void **state) {
  (void)state;
  converge(3000000, false);
}
static void test_converge_frames(void **state) {
  (void)state;
  converge(1000000, true);
}

/* 3 Mbit/s, then 1 Mbit/s: down within 2 s; back to 3 Mbit/s: up again. */
static void test_capacity_changes(void **state) {
  (void)state;
  int n = 0;
  sim_init(&S, 3000000, 300000);
  sim_run(&S, 20000000, trace, &n);
  int drop_at = n;
  S.capacity = 1000000;
  sim_run(&S, 20000000, trace, &n);
  int down = -1;
  for (int i = drop_at; i < n && down < 0; i++)
    if (trace[i] <= 1.1e6) down = i - drop_at;
  double m_low = mean(trace, drop_at + 50, n);
  int rise_at = n;
  S.capacity = 3000000;
  sim_run(&S, 30000000, trace, &n);
  int up = settle_index(trace + rise_at, n - rise_at, 0.8 * 3e6);
  double m_high = mean(trace, rise_at + 200, n);
  print_message(
      "   3 -> 1 Mbit/s: below 1.1 Mbit/s after %.1f s, then mean %.0f kbit/s; 1 -> 3 Mbit/s: above "
      "2.4 Mbit/s (for 2 s) after %.1f s, then mean %.0f kbit/s\n",
      down / 10.0, m_low / 1000, up / 10.0, m_high / 1000);
  assert_true(down >= 0 && down <= 20);
  assert_true(m_low >= 0.75e6 && m_low <= 1.02e6);
  assert_true(up >= 0 && up <= 150);
  assert_true(m_high >= 0.8 * 3e6);
}

/* The scenario for one subscriber: layers of 150 kbit/s, 500 kbit/s
 * and 1.5 Mbit/s, the best that fits the target is sent (no hysteresis
 * here: that is the allocator's), probes find room above it. */
static void test_sfu_layers(void **state) {
  (void)state;
  int n = 0;
  sim_init(&S, 400000, 300000);
  S.layered = true;
  S.frames = true;
  sfu_bwe_set_desired(&S.bwe, 1500000, S.now);
  sim_run(&S, 10000000, trace, &n);
  int64_t sent0 = S.sent_bytes;
  int64_t pad0 = S.padding_bytes;
  sim_run(&S, 20000000, trace, &n);
  double sent_rate = (double)(S.sent_bytes - sent0) * 8 / 20.0;
  double pad_rate = (double)(S.padding_bytes - pad0) * 8 / 20.0;
  int low_layer = S.layer;
  double low_mean = mean(trace, 100, n);
  int lift = n;
  S.capacity = 5000000;
  int top = -1;
  for (int i = 0; i < 300 && top < 0; i++) {
    sim_run(&S, 100000, trace, &n);
    if (S.layer == 2) top = i;
  }
  sim_run(&S, 10000000, trace, &n);
  int limit = n;
  S.capacity = 400000;
  int down = -1;
  for (int i = 0; i < 300 && down < 0; i++) {
    sim_run(&S, 100000, trace, &n);
    if (S.layer == 0) down = i;
  }
  print_message(
      "   400 kbit/s link: layer %d, target mean %.0f kbit/s, sent %.0f kbit/s (%.0f%% of the link, padding "
      "%.0f kbit/s); lifted: top layer after %.1f s; limited again: low layer after %.1f s\n",
      low_layer, low_mean / 1000, sent_rate / 1000, 100 * sent_rate / 400000, pad_rate / 1000, top / 10.0,
      down / 10.0);
  (void)lift;
  (void)limit;
  assert_int_equal(low_layer, 0);
  assert_true(sent_rate <= 1.1 * 400000);
  assert_true(top >= 0 && top <= 100);
  assert_true(down >= 0 && down <= 50);
}

/* Random loss on an uncongested link: 5 % is tolerated, 15 % backs off. */
static void loss_run(int pct, double *start_v, double *end_v, double *min_v) {
  int n = 0;
  sim_init(&S, 50e6, 1000000);
  sfu_bwe_set_desired(&S.bwe, 1500000, S.now); /* max 2 Mbit/s: the link is never the limit */
  S.loss_pct = pct;
  sim_run(&S, 30000000, trace, &n);
  *start_v = trace[30];
  *end_v = mean(trace, n - 20, n);
  *min_v = vmin(trace, 30, n);
  sfu_bwe_stats st;
  sfu_bwe_get_stats(&S.bwe, &st);
  print_message(
      "   %d %% loss: target at 3 s %.0f kbit/s, min after %.0f, at 30 s %.0f; measured loss %.1f %%\n", pct,
      *start_v / 1000, *min_v / 1000, *end_v / 1000, 100 * st.loss);
}

static void test_loss(void **state) {
  (void)state;
  double s5, e5, m5, s15, e15, m15;
  loss_run(5, &s5, &e5, &m5);
  assert_true(m5 >= 0.95 * s5);
  assert_true(e5 >= s5 * 0.95);
  loss_run(15, &s15, &e15, &m15);
  assert_true(e15 < 0.5 * s15);
  loss_run(0, &s5, &e5, &m5);
  assert_true(e5 >= 1.9e6); /* no loss: up to the cap (1.35 x desired) */
}

/* A sender that uses 300 kbit/s of a fast link for 30 s. */
static void alr_run(int64_t start_bps, sfu_bwe_stats *out) {
  static sfu_bwe b;
  sfu_bwe_config cfg = {30000, start_bps, 20000000};
  int64_t now = 0;
  sfu_bwe_init(&b, &cfg, now);
  sfu_bwe_set_desired(&b, 10000000, now);
  sfu_twcc_status st[8];
  uint16_t seq = 0;
  for (int step = 0; step < 300; step++) { /* one feedback per 100 ms: 3 frames of 1250 bytes */
    size_t k = 0;
    for (int i = 0; i < 3; i++) {
      int64_t t = now + i * 33333;
      sfu_bwe_on_sent(&b, seq, 1250, t);
      st[k++] = (sfu_twcc_status){seq++, true, t + 20000};
    }
    now += 100000;
    sfu_bwe_on_feedback(&b, st, k, now); /* no padding is sent: probes never run */
  }
  sfu_bwe_get_stats(&b, out);
}

/* Application-limited: the delay-based estimate never rises past 1.5 x
 * what was delivered + 10 kbit/s, and ALR is detected. */
static void test_alr(void **state) {
  (void)state;
  sfu_bwe_stats s;
  alr_run(1000000, &s);
  print_message("   300 kbit/s sent, start 1 Mbit/s: delay-based %.0f kbit/s after 30 s, in ALR %d\n",
                s.delay_bps / 1000.0, s.in_alr);
  assert_true(s.delay_bps <= 1050000); /* only the first 500 ms (no throughput yet) moved it */
  assert_true(s.in_alr);
  alr_run(200000, &s);
  print_message("   300 kbit/s sent, start 200 kbit/s: delay-based %.0f kbit/s after 30 s\n",
                s.delay_bps / 1000.0);
  /* 150 ms windows of 33 ms frames measure 300 kbit/s within about 10 %. */
  assert_true(s.delay_bps >= 400000 && s.delay_bps <= 1.5 * 300000 * 1.1 + 10000);
}

static void test_feedback_garbage(void **state) {
  (void)state;
  sfu_bwe b;
  sfu_bwe_init(&b, NULL, 0);
  sfu_twcc_status st[3] = {{7, true, 100}, {8, false, 0}, {9, true, 300}};
  assert_int_equal(sfu_bwe_on_feedback(&b, st, 3, 1000), 0); /* never sent */
  sfu_bwe_stats s;
  sfu_bwe_get_stats(&b, &s);
  assert_int_equal(s.unknown_statuses, 3);
  assert_int_equal(sfu_bwe_target(&b), 300000);
  sfu_bwe_on_sent(&b, 8, 1000, 500);
  assert_int_equal(sfu_bwe_on_feedback(&b, st, 3, 1000), 1);
  /* Duplicate and contradictory reports change nothing twice. */
  assert_int_equal(sfu_bwe_on_feedback(&b, st, 3, 2000), 1);
  assert_true(sfu_bwe_target(&b) >= 300000 && sfu_bwe_target(&b) < 303000);
}

static void test_update_throttle(void **state) {
  (void)state;
  sfu_bwe b;
  sfu_bwe_init(&b, NULL, 0);
  int64_t bps = 0;
  assert_false(sfu_bwe_take_update(&b, 0, &bps));
  b.target_bps = 330000; /* +10 %: the first change goes out */
  assert_true(sfu_bwe_take_update(&b, 100000, &bps));
  assert_int_equal(bps, 330000);
  b.target_bps = 360000; /* small, within a second: waits */
  assert_false(sfu_bwe_take_update(&b, 200000, &bps));
  assert_true(sfu_bwe_take_update(&b, 1100000, &bps));
  b.target_bps = 200000; /* a large drop: at once */
  assert_true(sfu_bwe_take_update(&b, 1200000, &bps));
  assert_int_equal(bps, 200000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interarrival_groups),
      cmocka_unit_test(test_trendline),
      cmocka_unit_test(test_aimd),
      cmocka_unit_test(test_probe_rate),
      cmocka_unit_test(test_feedback_garbage),
      cmocka_unit_test(test_update_throttle),
      cmocka_unit_test(test_alr),
      cmocka_unit_test(test_converge_300k),
      cmocka_unit_test(test_converge_1m),
      cmocka_unit_test(test_converge_3m),
      cmocka_unit_test(test_converge_frames),
      cmocka_unit_test(test_capacity_changes),
      cmocka_unit_test(test_sfu_layers),
      cmocka_unit_test(test_loss),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
