/* sfu_bwe_delay: the delay-based half of sfu_bwe: inter-arrival groups,
 * trendline filter with overuse detection and adaptive threshold, AIMD rate
 * control with a link capacity estimate (libwebrtc goog_cc's structure). */
#include <math.h>
#include <string.h>

#include "sfu_bwe_internal.h"

/* ---- inter-arrival groups ---- */

void sfu_bwe_ia_reset(sfu_bwe_interarrival *ia) {
  memset(ia, 0, sizeof(*ia));
}

/* A packet sent within 5 ms of the group's first, or one of a burst that
 * queued behind it (arrived sooner after the last than it was sent), joins. */
static bool new_group(const sfu_bwe_group *g, int64_t send_us, int64_t arrival_us) {
  int64_t arrival_delta = arrival_us - g->complete_us;
  int64_t send_delta = send_us - g->send_us;
  if (send_delta == 0) return false;
  if (arrival_delta - send_delta < 0 && arrival_delta <= BWE_BURST_DELTA_US &&
      arrival_us - g->first_arrival_us < BWE_MAX_BURST_US)
    return false;
  return send_us - g->first_send_us > BWE_GROUP_US;
}

static void start_group(sfu_bwe_group *g, int64_t send_us, int64_t arrival_us) {
  g->valid = true;
  g->first_send_us = g->send_us = send_us;
  g->first_arrival_us = arrival_us;
  g->size = 0;
}

bool sfu_bwe_ia_add(sfu_bwe_interarrival *ia, int64_t send_us, int64_t arrival_us, size_t size,
                    double *send_delta_ms, double *recv_delta_ms) {
  bool deltas = false;
  sfu_bwe_group *cur = &ia->cur;
  if (!cur->valid) {
    start_group(cur, send_us, arrival_us);
  } else if (cur->first_send_us > send_us) {
    return false; /* sent before the current group began: reordered */
  } else if (new_group(cur, send_us, arrival_us)) {
    if (ia->prev.valid) {
      int64_t sd = cur->send_us - ia->prev.send_us;
      int64_t rd = cur->complete_us - ia->prev.complete_us;
      if (rd - sd >= BWE_ARRIVAL_JUMP_US) { /* the receiver's clock jumped */
        sfu_bwe_ia_reset(ia);
        return false;
      }
      if (rd < 0) {
        if (++ia->reordered >= BWE_REORDER_RESET) sfu_bwe_ia_reset(ia);
        return false;
      }
      ia->reordered = 0;
      *send_delta_ms = (double)sd / 1000.0;
      *recv_delta_ms = (double)rd / 1000.0;
      deltas = true;
    }
    ia->prev = *cur;
    start_group(cur, send_us, arrival_us);
  } else if (send_us > cur->send_us) {
    cur->send_us = send_us;
  }
  cur->size += (int64_t)size;
  cur->complete_us = arrival_us;
  return deltas;
}

/* ---- trendline ---- */

void sfu_bwe_trend_init(sfu_bwe_trendline *t) {
  memset(t, 0, sizeof(*t));
  t->first_arrival_ms = -1;
  t->threshold = BWE_THRESH_START;
  t->last_update_ms = -1;
  t->time_over_using = -1;
  t->hypothesis = SFU_BWE_NORMAL;
}

/* Least-squares slope of the window; false if it is degenerate. */
static bool fit_slope(const sfu_bwe_trendline *t, double *slope) {
  double sx = 0, sy = 0;
  for (int i = 0; i < t->hist_n; i++) {
    sx += t->hist_x[i];
    sy += t->hist_y[i];
  }
  double mx = sx / t->hist_n, my = sy / t->hist_n, num = 0, den = 0;
  for (int i = 0; i < t->hist_n; i++) {
    num += (t->hist_x[i] - mx) * (t->hist_y[i] - my);
    den += (t->hist_x[i] - mx) * (t->hist_x[i] - mx);
  }
  if (den == 0) return false;
  *slope = num / den;
  return true;
}

/* The threshold follows |m| slowly upwards and faster downwards, ignoring
 * spikes far above it (a sudden capacity drop must still count as overuse). */
static void update_threshold(sfu_bwe_trendline *t, double m, double now_ms) {
  if (t->last_update_ms < 0) t->last_update_ms = now_ms;
  double am = fabs(m);
  if (am > t->threshold + BWE_MAX_ADAPT_OFFSET_MS) {
    t->last_update_ms = now_ms;
    return;
  }
  double k = am < t->threshold ? BWE_K_DOWN : BWE_K_UP;
  double dt = now_ms - t->last_update_ms;
  if (dt > 100) dt = 100;
  t->threshold += k * (am - t->threshold) * dt;
  if (t->threshold < BWE_THRESH_MIN) t->threshold = BWE_THRESH_MIN;
  if (t->threshold > BWE_THRESH_MAX) t->threshold = BWE_THRESH_MAX;
  t->last_update_ms = now_ms;
}

static void detect(sfu_bwe_trendline *t, double trend, double send_delta_ms, double now_ms) {
  if (t->num_deltas < 2) {
    t->hypothesis = SFU_BWE_NORMAL;
    return;
  }
  int n = t->num_deltas < BWE_TREND_MIN_DELTAS ? t->num_deltas : BWE_TREND_MIN_DELTAS;
  double m = n * trend * BWE_TREND_GAIN;
  t->modified_trend = m;
  if (m > t->threshold) {
    /* Assume overuse began half-way since the previous sample. */
    t->time_over_using = t->time_over_using < 0 ? send_delta_ms / 2 : t->time_over_using + send_delta_ms;
    t->overuse_counter++;
    if (t->time_over_using > BWE_OVERUSE_TIME_MS && t->overuse_counter > 1 && trend >= t->prev_trend) {
      t->time_over_using = 0;
      t->overuse_counter = 0;
      t->hypothesis = SFU_BWE_OVERUSE;
    }
  } else if (m < -t->threshold) {
    t->time_over_using = -1;
    t->overuse_counter = 0;
    t->hypothesis = SFU_BWE_UNDERUSE;
  } else {
    t->time_over_using = -1;
    t->overuse_counter = 0;
    t->hypothesis = SFU_BWE_NORMAL;
  }
  t->prev_trend = trend;
  update_threshold(t, m, now_ms);
}

void sfu_bwe_trend_update(sfu_bwe_trendline *t, double recv_delta_ms, double send_delta_ms,
                          double arrival_ms) {
  double delta = recv_delta_ms - send_delta_ms;
  if (t->num_deltas < BWE_TREND_MAX_DELTAS) t->num_deltas++;
  if (t->first_arrival_ms < 0) t->first_arrival_ms = arrival_ms;
  t->acc_delay += delta;
  t->smoothed_delay = BWE_TREND_SMOOTHING * t->smoothed_delay + (1 - BWE_TREND_SMOOTHING) * t->acc_delay;
  int slot = (t->hist_head + t->hist_n) % SFU_BWE_TREND_WINDOW;
  if (t->hist_n == SFU_BWE_TREND_WINDOW) {
    slot = t->hist_head;
    t->hist_head = (t->hist_head + 1) % SFU_BWE_TREND_WINDOW;
  } else {
    t->hist_n++;
  }
  t->hist_x[slot] = arrival_ms - t->first_arrival_ms;
  t->hist_y[slot] = t->smoothed_delay;
  double trend = t->prev_trend, s;
  if (t->hist_n == SFU_BWE_TREND_WINDOW && fit_slope(t, &s)) trend = s;
  detect(t, trend, send_delta_ms, arrival_ms);
}

/* ---- AIMD ---- */

void sfu_bwe_aimd_init(sfu_bwe_aimd *a, double start_bps, double min_bps, double max_bps) {
  memset(a, 0, sizeof(*a));
  a->state = SFU_AIMD_HOLD;
  a->bps = start_bps;
  a->min_bps = min_bps;
  a->max_bps = max_bps;
  a->time_last_change_us = -1;
  a->time_last_decrease_us = -1;
  a->rtt_ms = BWE_DEFAULT_RTT_MS;
  a->latest_throughput = start_bps; /* until measured (libwebrtc does the same) */
}

static double link_dev_kbps(const sfu_bwe_aimd *a) {
  return sqrt(a->link_dev * a->link_kbps);
}

/* The link capacity: an EWMA of the throughput at overuse, with a variance. */
static void link_update(sfu_bwe_aimd *a, double sample_bps, double alpha) {
  double s = sample_bps / 1000.0;
  a->link_kbps = a->link_has ? (1 - alpha) * a->link_kbps + alpha * s : s;
  if (!a->link_has) a->link_dev = 0.4;
  a->link_has = true;
  double norm = a->link_kbps > 1.0 ? a->link_kbps : 1.0;
  double err = a->link_kbps - s;
  a->link_dev = (1 - alpha) * a->link_dev + alpha * err * err / norm;
  if (a->link_dev < 0.4) a->link_dev = 0.4;
  if (a->link_dev > 2.5) a->link_dev = 2.5;
}

/* Near the link capacity: about one packet more per response time. */
static double additive_increase(const sfu_bwe_aimd *a, double dt_s) {
  double frame_bytes = a->bps / 8.0 / 30.0;
  double packets = ceil(frame_bytes / 1200.0);
  if (packets < 1) packets = 1;
  double avg_packet_bits = frame_bytes / packets * 8.0;
  double response_s = (a->rtt_ms + 100.0) / 1000.0;
  double rate = avg_packet_bits / response_s;
  if (rate < BWE_MIN_INCREASE_BPS_PER_S) rate = BWE_MIN_INCREASE_BPS_PER_S;
  return rate * dt_s;
}

static double multiplicative_increase(const sfu_bwe_aimd *a, double dt_s) {
  if (dt_s > 1.0) dt_s = 1.0;
  double inc = a->bps * (pow(1.08, dt_s) - 1.0);
  return inc > 1000.0 ? inc : 1000.0;
}

static void increase(sfu_bwe_aimd *a, double throughput, int64_t now_us) {
  if (a->link_has && throughput / 1000.0 > a->link_kbps + 3 * link_dev_kbps(a)) a->link_has = false;
  /* Never above what was actually delivered plus a margin: an
   * application-limited sender learns nothing about the link above it. */
  double limit = 1.5 * throughput + 10000.0;
  if (a->bps < limit) {
    double dt_s = a->time_last_change_us < 0 ? 0 : (double)(now_us - a->time_last_change_us) / 1e6;
    double inc = a->link_has ? additive_increase(a, dt_s) : multiplicative_increase(a, dt_s);
    a->bps = a->bps + inc < limit ? a->bps + inc : limit;
  }
  a->time_last_change_us = now_us;
}

static void decrease(sfu_bwe_aimd *a, double throughput, int64_t now_us) {
  /* Somewhat under what got through, to drain the queue this built. */
  double d = BWE_BETA * throughput;
  if (d > a->bps && a->link_has) d = BWE_BETA * a->link_kbps * 1000.0;
  if (d < a->bps) a->bps = d;
  if (a->link_has && throughput / 1000.0 < a->link_kbps - 3 * link_dev_kbps(a)) a->link_has = false;
  link_update(a, throughput, 0.05);
  a->state = SFU_AIMD_HOLD; /* until the queues have drained */
  a->time_last_change_us = now_us;
  a->time_last_decrease_us = now_us;
}

void sfu_bwe_aimd_update(sfu_bwe_aimd *a, sfu_bwe_usage u, double throughput, int64_t now_us) {
  if (throughput > 0)
    a->latest_throughput = throughput;
  else
    throughput = a->latest_throughput;
  switch (u) {
  case SFU_BWE_NORMAL:
    if (a->state == SFU_AIMD_HOLD) {
      a->time_last_change_us = now_us;
      a->state = SFU_AIMD_INCREASE;
    }
    break;
  case SFU_BWE_OVERUSE:
    a->state = SFU_AIMD_DECREASE;
    break;
  case SFU_BWE_UNDERUSE:
    a->state = SFU_AIMD_HOLD;
    break;
  }
  if (a->state == SFU_AIMD_INCREASE)
    increase(a, throughput, now_us);
  else if (a->state == SFU_AIMD_DECREASE)
    decrease(a, throughput, now_us);
  if (a->bps < a->min_bps) a->bps = a->min_bps;
  if (a->bps > a->max_bps) a->bps = a->max_bps;
}

bool sfu_bwe_aimd_time_to_reduce(const sfu_bwe_aimd *a, int64_t now_us, double throughput) {
  double rtt = a->rtt_ms < 10 ? 10 : a->rtt_ms > 200 ? 200 : a->rtt_ms;
  if (a->time_last_change_us < 0 || now_us - a->time_last_change_us >= (int64_t)(rtt * 1000)) return true;
  return throughput > 0 && throughput < 0.5 * a->bps;
}

void sfu_bwe_aimd_set(sfu_bwe_aimd *a, double bps, int64_t now_us) {
  double prev = a->bps;
  a->bps = bps < a->min_bps ? a->min_bps : bps > a->max_bps ? a->max_bps : bps;
  a->time_last_change_us = now_us;
  if (a->bps < prev) a->time_last_decrease_us = now_us;
}
