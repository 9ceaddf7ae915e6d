/* sfu_bwe: send history, feedback processing, loss-based control and the
 * combined target (the delay-based and probing parts are in
 * sfu_bwe_delay.c and sfu_bwe_probe.c). */
#include "sfu_bwe.h"

#include <string.h>

#include "sfu_bwe_internal.h"

#define HIST_MASK (SFU_BWE_HISTORY - 1)

static double clampd(double v, double lo, double hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* ---- acknowledged throughput ---- */

static void acked_init(sfu_bwe_acked *a) {
  a->prev_arrival_us = -1;
  a->window_us = a->sum_bytes = 0;
  a->kbps = -1;
  a->var = BWE_ACK_VAR_START;
}

/* One window's rate in kbit/s, or -1 while the window is open. */
static double acked_window(sfu_bwe_acked *a, int64_t arrival_us, size_t bytes, int64_t window_us) {
  if (a->prev_arrival_us >= 0 && arrival_us < a->prev_arrival_us) { /* time went back: start over */
    a->prev_arrival_us = -1;
    a->sum_bytes = a->window_us = 0;
  }
  if (a->prev_arrival_us >= 0) {
    a->window_us += arrival_us - a->prev_arrival_us;
    if (arrival_us - a->prev_arrival_us > window_us) { /* nothing for a whole window */
      a->sum_bytes = 0;
      a->window_us %= window_us;
    }
  }
  a->prev_arrival_us = arrival_us;
  double sample = -1;
  if (a->window_us >= window_us) {
    sample = (double)a->sum_bytes * 8.0 * 1000.0 / (double)window_us;
    a->window_us -= window_us;
    a->sum_bytes = 0;
  }
  a->sum_bytes += (int64_t)bytes;
  return sample;
}

static void acked_add(sfu_bwe_acked *a, int64_t arrival_us, size_t bytes) {
  double s = acked_window(a, arrival_us, bytes, a->kbps < 0 ? BWE_ACK_FIRST_WINDOW_US : BWE_ACK_WINDOW_US);
  if (s < 0) return;
  if (a->kbps < 0) {
    a->kbps = s;
    return;
  }
  double unc = BWE_ACK_UNCERTAINTY * (a->kbps > s ? a->kbps - s : s - a->kbps) / (a->kbps > 0 ? a->kbps : 1);
  double svar = unc * unc, pvar = a->var + BWE_ACK_VAR_GROWTH;
  a->kbps = (svar * a->kbps + pvar * s) / (svar + pvar);
  a->var = svar * pvar / (svar + pvar);
}

/* Bits per second, 0 while unknown. */
static double acked_rate(const sfu_bwe_acked *a) {
  return a->kbps > 0 ? a->kbps * 1000.0 : 0;
}

/* ---- loss-based control (its rate is the combined target) ---- */

/* The delay-based rate always bounds the target; the allocator's ceiling
 * (max_bps, from what its subscriber wants) only stops it from growing: a
 * publisher that drops a layer for a while lowers the desire, and a ceiling
 * that pulled the estimate down with it would leave a good link looking
 * poor for the tens of seconds the 8 %/s increase takes to climb back. */
static double upper_limit(const sfu_bwe *b) {
  double cap = b->max_bps > b->loss.bps ? b->max_bps : b->loss.bps;
  return b->loss.delay_limit < cap ? b->loss.delay_limit : cap;
}

static void loss_set(sfu_bwe *b, double bps) {
  double up = upper_limit(b);
  if (bps > up) bps = up;
  if (bps < (double)b->cfg.min_bps) bps = (double)b->cfg.min_bps;
  b->loss.bps = bps;
}

/* A sliding minimum of the target over the last second: the +8 % steps
 * start from it, so the increase is at most 8 % per second. */
static void min_hist_update(sfu_bwe_loss *l, int64_t now_us) {
  while (l->min_n > 0 && now_us - l->min_hist[l->min_head].t + 1000 > BWE_INCREASE_INTERVAL_US) {
    l->min_head = (l->min_head + 1) % SFU_BWE_MIN_HISTORY;
    l->min_n--;
  }
  while (l->min_n > 0 && l->bps <= l->min_hist[(l->min_head + l->min_n - 1) % SFU_BWE_MIN_HISTORY].bps)
    l->min_n--;
  if (l->min_n == SFU_BWE_MIN_HISTORY) { /* full of rising values: drop the oldest */
    l->min_head = (l->min_head + 1) % SFU_BWE_MIN_HISTORY;
    l->min_n--;
  }
  int slot = (l->min_head + l->min_n) % SFU_BWE_MIN_HISTORY;
  l->min_hist[slot].t = now_us;
  l->min_hist[slot].bps = l->bps;
  l->min_n++;
}

/* The loss fraction over at least 20 packets and 1 s. libwebrtc decides on
 * every 20 packets, but with 5 % random loss one 20-packet window in 13
 * shows more than 10 %: the thresholds only mean something over more. */
static void loss_report(sfu_bwe_loss *l, int64_t lost, int64_t expected, int64_t now_us) {
  if (l->first_report_us < 0) l->first_report_us = l->window_start_us = now_us;
  if (expected <= 0) return;
  l->lost_acc += lost;
  l->expected_acc += expected;
  if (l->expected_acc < BWE_LOSS_MIN_PACKETS || now_us - l->window_start_us < BWE_LOSS_WINDOW_US) return;
  l->window_start_us = now_us;
  int64_t f = (l->lost_acc << 8) / l->expected_acc;
  l->fraction = f > 255 ? 255 : (int)f;
  l->lost_acc = l->expected_acc = 0;
  l->decreased_since_fraction = false;
  l->last_report_us = now_us;
}

static void loss_update(sfu_bwe *b, int64_t now_us, int64_t rtt_us) {
  sfu_bwe_loss *l = &b->loss;
  if (l->fraction <= 0 && l->first_report_us >= 0 && now_us - l->first_report_us < BWE_START_PHASE_US) {
    /* Start phase without loss: trust the delay-based estimate. */
    double nb = l->bps > l->delay_limit ? l->bps : l->delay_limit;
    if (nb != l->bps) {
      l->min_n = 0;
      loss_set(b, nb);
      min_hist_update(l, now_us);
      return;
    }
  }
  min_hist_update(l, now_us);
  if (l->last_report_us < 0 || now_us - l->last_report_us >= BWE_LOSS_REPORT_TIMEOUT_US) {
    loss_set(b, l->bps);
    return;
  }
  if (l->fraction <= BWE_LOSS_LOW) {
    loss_set(b, l->min_hist[l->min_head].bps * 1.08 + 0.5 + 1000.0);
    return;
  }
  if (l->fraction > BWE_LOSS_HIGH && !l->decreased_since_fraction &&
      (l->time_last_decrease_us < 0 ||
       now_us - l->time_last_decrease_us >= BWE_DECREASE_INTERVAL_US + rtt_us)) {
    l->time_last_decrease_us = now_us;
    l->decreased_since_fraction = true;
    loss_set(b, l->bps * (512 - l->fraction) / 512.0);
    return;
  }
  loss_set(b, l->bps); /* 2-10 %: hold */
}

/* ---- the estimator ---- */

void sfu_bwe_init(sfu_bwe *b, const sfu_bwe_config *cfg, int64_t now_us) {
  memset(b, 0, sizeof(*b));
  b->cfg.min_bps = cfg && cfg->min_bps > 0 ? cfg->min_bps : 30000;
  b->cfg.max_bps = cfg && cfg->max_bps > 0 ? cfg->max_bps : 10000000;
  b->cfg.start_bps = cfg && cfg->start_bps > 0 ? cfg->start_bps : 300000;
  if (b->cfg.max_bps < b->cfg.min_bps) b->cfg.max_bps = b->cfg.min_bps;
  b->cfg.start_bps =
      (int64_t)clampd((double)b->cfg.start_bps, (double)b->cfg.min_bps, (double)b->cfg.max_bps);
  b->max_bps = (double)b->cfg.max_bps;
  sfu_bwe_ia_reset(&b->ia);
  sfu_bwe_trend_init(&b->trend);
  sfu_bwe_aimd_init(&b->aimd, (double)b->cfg.start_bps, (double)b->cfg.min_bps, (double)b->cfg.max_bps);
  acked_init(&b->acked);
  b->loss.fraction = -1;
  b->loss.first_report_us = b->loss.last_report_us = b->loss.time_last_decrease_us = -1;
  b->loss.bps = (double)b->cfg.start_bps;
  b->loss.delay_limit = (double)b->cfg.max_bps;
  sfu_bwe_probe_init(&b->probe);
  sfu_bwe_alr_set_rate(&b->probe, (double)b->cfg.start_bps);
  double first[2] = {BWE_PROBE_FIRST_SCALE * b->cfg.start_bps, BWE_PROBE_SECOND_SCALE * b->cfg.start_bps};
  sfu_bwe_probe_request(&b->probe, first, 2, true, b->max_bps, now_us);
  b->target_bps = (double)b->cfg.start_bps;
  b->notified_bps = b->cfg.start_bps;
  b->notified_us = now_us;
}

void sfu_bwe_on_sent(sfu_bwe *b, uint16_t seq, size_t bytes, int64_t send_us) {
  int id = sfu_bwe_probe_on_sent(&b->probe, bytes, send_us);
  sfu_bwe_sent *e = &b->hist[seq & HIST_MASK];
  e->send_us = send_us;
  e->seq = seq;
  e->size = bytes > UINT16_MAX ? UINT16_MAX : (uint16_t)bytes;
  e->cluster = id;
  e->used = true;
  e->acked = e->reported = e->padding = false;
}

void sfu_bwe_on_sent_padding(sfu_bwe *b, uint16_t seq, size_t bytes, int64_t send_us) {
  sfu_bwe_on_sent(b, seq, bytes, send_us);
  b->hist[seq & HIST_MASK].padding = true;
}

/* Feedback arrival times carry the receiver's 24-bit reference: unwrap. */
static int64_t unwrap_arrival(sfu_bwe *b, int64_t raw) {
  if (b->arrival_started) {
    int64_t d = raw - b->last_raw_arrival;
    if (d < -SFU_TWCC_REF_WRAP_US / 2) b->arrival_offset += SFU_TWCC_REF_WRAP_US;
    if (d > SFU_TWCC_REF_WRAP_US / 2) b->arrival_offset -= SFU_TWCC_REF_WRAP_US;
  }
  b->arrival_started = true;
  b->last_raw_arrival = raw;
  return raw + b->arrival_offset;
}

static void recent_add(sfu_bwe *b, int64_t arrival_us, uint32_t size) {
  int slot = (b->recent_head + b->recent_n) % SFU_BWE_RECENT;
  if (b->recent_n == SFU_BWE_RECENT)
    b->recent_head = (uint8_t)((b->recent_head + 1) % SFU_BWE_RECENT);
  else
    b->recent_n++;
  b->recent[slot].at = arrival_us;
  b->recent[slot].size = size;
}

/* The receive rate over the last RECENT_US of arrivals (0: too few to say).
 * The acknowledged-rate estimator is smoothed over longer and still shows
 * the rate before a link narrowed; this is what the bottleneck passes now. */
#define RECENT_US 250000
static double recent_rate(const sfu_bwe *b) {
  if (b->recent_n < 8) return 0;
  int64_t last = b->recent[(b->recent_head + b->recent_n - 1) % SFU_BWE_RECENT].at, first = last;
  uint64_t bytes = 0;
  int n = 0;
  for (int i = b->recent_n - 1; i >= 0; i--) {
    const int64_t at = b->recent[(b->recent_head + i) % SFU_BWE_RECENT].at;
    if (at < last - RECENT_US) break;
    if (at < first) first = at;
    if (n++) bytes += b->recent[(b->recent_head + i + 1) % SFU_BWE_RECENT].size;
  }
  return n >= 8 && last - first >= RECENT_US / 2 ? (double)bytes * 8e6 / (double)(last - first) : 0;
}

static void on_received(sfu_bwe *b, const sfu_bwe_sent *e, int64_t arrival_us) {
  acked_add(&b->acked, arrival_us, e->size);
  recent_add(b, arrival_us, e->size);
  double sd, rd;
  if (sfu_bwe_ia_add(&b->ia, e->send_us, arrival_us, e->size, &sd, &rd))
    sfu_bwe_trend_update(&b->trend, rd, sd, (double)arrival_us / 1000.0);
  sfu_bwe_probe_on_ack(&b->probe, e->cluster, e->send_us, arrival_us, e->size, true);
}

/* The delay-based verdict moves the AIMD rate; a probe result may lift it. */
static void delay_update(sfu_bwe *b, double acked, double probe, int64_t now_us) {
  sfu_bwe_aimd *a = &b->aimd;
  if (b->trend.hypothesis == SFU_BWE_OVERUSE) {
    if (acked > 0 && sfu_bwe_aimd_time_to_reduce(a, now_us, acked)) {
      double before = a->bps, r = recent_rate(b);
      sfu_bwe_aimd_update(a, SFU_BWE_OVERUSE, r > 0 && r < acked ? r : acked, now_us);
      /* Sending well under the estimate (a paused or low layer) and no sign
       * of a narrower bottleneck (packets arrive about as fast as they were
       * acknowledged before): what got through says little about the link,
       * and a busy receiver's scheduling can look like a queue. At most
       * halve; a link that is really full keeps signalling. */
      bool narrower = r > 0 && r < 0.7 * acked;
      if (!narrower && acked < 0.5 * before && a->bps < 0.5 * before) a->bps = 0.5 * before;
    } else if (acked <= 0 && b->probe_bps > 0 && now_us - b->probe_us < BWE_PROBE_WAIT_US)
      sfu_bwe_aimd_update(a, SFU_BWE_OVERUSE, b->probe_bps, now_us); /* a probe measured the link */
    else if (acked <= 0 &&
             (a->time_last_decrease_us < 0 || now_us - a->time_last_decrease_us >= BWE_INITIAL_BACKOFF_US))
      sfu_bwe_aimd_set(a, a->bps / 2, now_us); /* nothing measured yet: halve */
  } else if (probe > a->bps) {
    sfu_bwe_aimd_set(a, probe, now_us);
  } else {
    sfu_bwe_aimd_update(a, b->trend.hypothesis, acked, now_us);
  }
}

int sfu_bwe_on_feedback(sfu_bwe *b, const sfu_twcc_status *st, size_t n, int64_t now_us) {
  int matched = 0;
  int64_t lost = 0, expected = 0;
  b->stats.feedbacks++;
  for (size_t i = 0; i < n; i++) {
    sfu_bwe_sent *e = &b->hist[st[i].seq & HIST_MASK];
    if (!e->used || e->seq != st[i].seq) {
      b->stats.unknown_statuses++;
      continue;
    }
    matched++;
    if (!e->reported && !e->padding) {
      expected++;
      if (!st[i].received) lost++;
    }
    e->reported = true;
    if (!st[i].received || e->acked) continue;
    e->acked = true;
    on_received(b, e, unwrap_arrival(b, st[i].arrival_us));
  }
  if (matched == 0) return 0;

  double acked = acked_rate(&b->acked);
  double probe = sfu_bwe_probe_result(&b->probe);
  if (probe > 0) {
    b->probe_bps = probe;
    b->probe_us = now_us;
    b->stats.probe_results++;
    b->stats.last_probe_bps = (int64_t)probe;
  }
  delay_update(b, acked, probe, now_us);
  loss_report(&b->loss, lost, expected, now_us);
  b->loss.delay_limit = b->aimd.bps;
  /* A probe result is used at once, uncapped by the history, unless loss is
   * high: a probe proves capacity, not that the loss went away. */
  if (probe > b->loss.bps && b->loss.fraction <= BWE_LOSS_HIGH) {
    b->loss.min_n = 0;
    b->loss.bps = probe;
  }
  loss_update(b, now_us, (int64_t)(b->aimd.rtt_ms * 1000));
  b->target_bps = b->loss.bps;
  sfu_bwe_alr_set_rate(&b->probe, b->target_bps);
  sfu_bwe_probe_on_estimate(&b->probe, b->target_bps, b->max_bps, b->desired_bps, now_us);
  return matched;
}

void sfu_bwe_on_rtt(sfu_bwe *b, int64_t rtt_us) {
  if (rtt_us <= 0) return;
  b->aimd.rtt_ms = (double)rtt_us / 1000.0;
}

void sfu_bwe_set_desired(sfu_bwe *b, int64_t desired_bps, int64_t now_us) {
  int64_t old = b->desired_bps;
  b->desired_bps = desired_bps > 0 ? desired_bps : 0;
  b->max_bps = (double)b->cfg.max_bps;
  if (b->desired_bps > 0)
    b->max_bps = clampd(BWE_MAX_OVER_DESIRED * (double)b->desired_bps, (double)b->cfg.min_bps, b->max_bps);
  /* More wanted than the estimate allows: look for it now, not in 5 s. */
  sfu_bwe_probe *p = &b->probe;
  if (b->desired_bps > old && (double)b->desired_bps > 1.1 * b->target_bps &&
      p->state == SFU_PROBE_COMPLETE && p->active < 0 && p->n_pending == 0 &&
      now_us - p->time_last_probe_us >= BWE_PROBE_WAIT_US) {
    double r = b->target_bps + BWE_DEFICIT_FACTOR * ((double)b->desired_bps - b->target_bps);
    if (r > BWE_PROBE_FURTHER_SCALE * b->target_bps) r = BWE_PROBE_FURTHER_SCALE * b->target_bps;
    sfu_bwe_probe_request(p, &r, 1, true, b->max_bps, now_us);
  }
}

size_t sfu_bwe_probe_padding(sfu_bwe *b, int64_t now_us) {
  sfu_bwe_probe *p = &b->probe;
  sfu_bwe_probe_on_estimate(p, b->target_bps, b->max_bps, b->desired_bps, now_us);
  int before = p->next_id;
  size_t due = sfu_bwe_probe_padding_due(p, now_us);
  b->stats.probes_started += (uint64_t)(p->next_id - before);
  return due;
}

int64_t sfu_bwe_last_decrease_us(const sfu_bwe *b) {
  int64_t a = b->aimd.time_last_decrease_us, l = b->loss.time_last_decrease_us;
  return a > l ? a : l;
}

int64_t sfu_bwe_target(const sfu_bwe *b) {
  return (int64_t)b->target_bps;
}

bool sfu_bwe_take_update(sfu_bwe *b, int64_t now_us, int64_t *bps) {
  int64_t t = (int64_t)b->target_bps;
  if (t == b->notified_bps) return false;
  if (b->notified_once && now_us - b->notified_us < 1000000 && t >= 0.75 * b->notified_bps &&
      t <= 1.5 * b->notified_bps)
    return false;
  b->notified_once = true;
  b->notified_bps = t;
  b->notified_us = now_us;
  if (bps) *bps = t;
  return true;
}

void sfu_bwe_get_stats(const sfu_bwe *b, sfu_bwe_stats *out) {
  *out = b->stats;
  out->target_bps = (int64_t)b->target_bps;
  out->delay_bps = (int64_t)b->aimd.bps;
  out->loss_bps = (int64_t)b->loss.bps;
  double acked = acked_rate(&b->acked);
  out->acked_bps = acked > 0 ? (int64_t)acked : -1;
  out->loss = b->loss.fraction < 0 ? 0 : b->loss.fraction / 256.0;
  out->trend = b->trend.modified_trend;
  out->threshold = b->trend.threshold;
  out->usage = b->trend.hypothesis;
  out->in_alr = b->probe.alr;
  out->probes_started = b->stats.probes_started;
}
