/* sfu_bwe_probe: probe control (when to send a cluster, at what rate), the
 * pacing of a running cluster, the cluster's measured rate, and the
 * application-limited (ALR) detector (libwebrtc probe_controller.cc,
 * probe_bitrate_estimator.cc, alr_detector.cc). */
#include <string.h>

#include "sfu_bwe_internal.h"

void sfu_bwe_probe_init(sfu_bwe_probe *p) {
  memset(p, 0, sizeof(*p));
  p->state = SFU_PROBE_INIT;
  p->active = -1;
  p->last_send_us = -1;
  p->time_last_probe_us = -1;
  for (int i = 0; i < SFU_BWE_CLUSTERS; i++)
    p->clusters[i].id = -1;
}

void sfu_bwe_probe_request(sfu_bwe_probe *p, const double *rates, int n, bool further, double max_bps,
                           int64_t now_us) {
  double last = 0;
  for (int i = 0; i < n && p->n_pending < 2; i++) {
    double r = rates[i];
    if (r > max_bps) {
      r = max_bps;
      further = false; /* the ceiling is reached: nothing above it to find */
    }
    p->pending[p->n_pending++] = r;
    last = r;
  }
  p->time_last_probe_us = now_us;
  p->state = further ? SFU_PROBE_WAITING : SFU_PROBE_COMPLETE;
  p->min_to_probe_further = further ? last * BWE_PROBE_FURTHER_MIN : 0;
}

static bool busy(const sfu_bwe_probe *p) {
  return p->active >= 0 || p->n_pending > 0;
}

void sfu_bwe_probe_on_estimate(sfu_bwe_probe *p, double target, double max_bps, int64_t desired_bps,
                               int64_t now_us) {
  if (p->state == SFU_PROBE_WAITING && !busy(p)) {
    if (p->min_to_probe_further > 0 && target > p->min_to_probe_further && target < 0.95 * max_bps) {
      double r = BWE_PROBE_FURTHER_SCALE * target; /* it kept up: look higher */
      sfu_bwe_probe_request(p, &r, 1, true, max_bps, now_us);
      return;
    }
    if (now_us - p->time_last_probe_us > BWE_PROBE_WAIT_US) {
      p->state = SFU_PROBE_COMPLETE;
      p->min_to_probe_further = 0;
    }
  }
  if (p->state != SFU_PROBE_COMPLETE || busy(p) || target >= 0.95 * max_bps) return;
  bool wants_more = desired_bps > 0 && (double)desired_bps > 1.1 * target;
  int64_t since = p->time_last_probe_us;
  if (p->alr && p->alr_start_us > since) since = p->alr_start_us;
  if (!(p->alr || wants_more) || now_us < since + BWE_PROBE_INTERVAL_US) return;
  /* Application-limited: twice the estimate; a deficit: enough to cover it. */
  double r = BWE_PROBE_FURTHER_SCALE * target;
  if (wants_more) {
    double cover = target + BWE_DEFICIT_FACTOR * ((double)desired_bps - target);
    if (cover < r) r = cover;
  }
  sfu_bwe_probe_request(p, &r, 1, true, max_bps, now_us);
}

void sfu_bwe_alr_set_rate(sfu_bwe_probe *p, double target_bps) {
  p->budget_rate_bps = target_bps * BWE_ALR_USAGE;
  double max = p->budget_rate_bps / 8.0 * BWE_ALR_WINDOW_US / 1e6;
  if (p->budget_bytes > max) p->budget_bytes = max;
  if (p->budget_bytes < -max) p->budget_bytes = -max;
}

/* The budget fills at 65 % of the target and drains by what is sent: when it
 * stays near full, the sender is not using what the link offers. */
static void alr_on_sent(sfu_bwe_probe *p, size_t bytes, int64_t send_us) {
  double max = p->budget_rate_bps / 8.0 * BWE_ALR_WINDOW_US / 1e6;
  if (p->last_send_us >= 0 && send_us > p->last_send_us) {
    p->budget_bytes += p->budget_rate_bps / 8.0 * (double)(send_us - p->last_send_us) / 1e6;
    if (p->budget_bytes > max) p->budget_bytes = max;
  }
  p->last_send_us = send_us;
  p->budget_bytes -= (double)bytes;
  if (p->budget_bytes < -max) p->budget_bytes = -max;
  double ratio = max > 0 ? p->budget_bytes / max : 0;
  if (!p->alr && ratio > BWE_ALR_START) {
    p->alr = true;
    p->alr_start_us = send_us;
  } else if (p->alr && ratio < BWE_ALR_STOP) {
    p->alr = false;
  }
}

/* Filled once it has its minimum and everything owed at its rate so far:
 * called only every few milliseconds (with media, or the 20 ms tick), a
 * cluster cut at its minimum would go out slower than its rate and prove
 * less than it should. */
static bool cluster_filled(const sfu_bwe_cluster *c, int64_t now_us) {
  double owed = c->rate_bps / 8.0 * (double)(now_us - c->start_us) / 1e6;
  return c->sent_bytes >= c->min_bytes && c->sent_bytes >= (int64_t)owed && c->sent_packets >= c->min_packets;
}

int sfu_bwe_probe_on_sent(sfu_bwe_probe *p, size_t bytes, int64_t send_us) {
  alr_on_sent(p, bytes, send_us);
  if (p->active < 0) return -1;
  sfu_bwe_cluster *c = &p->clusters[p->active];
  c->sent_bytes += (int64_t)bytes;
  c->sent_packets++;
  int id = c->id;
  if (cluster_filled(c, send_us)) {
    c->sending = false;
    p->active = -1;
  }
  return id;
}

static void start_cluster(sfu_bwe_probe *p, int64_t now_us) {
  int slot = p->next_id % SFU_BWE_CLUSTERS;
  sfu_bwe_cluster *c = &p->clusters[slot];
  memset(c, 0, sizeof(*c));
  c->id = p->next_id++;
  c->rate_bps = p->pending[0];
  p->pending[0] = p->pending[1];
  p->n_pending--;
  c->start_us = now_us;
  c->min_bytes = (int64_t)(c->rate_bps / 8.0 * BWE_PROBE_MIN_US / 1e6);
  c->min_packets = BWE_PROBE_MIN_PACKETS;
  c->sending = true;
  p->active = slot;
}

size_t sfu_bwe_probe_padding_due(sfu_bwe_probe *p, int64_t now_us) {
  if (p->active < 0 && p->n_pending > 0) start_cluster(p, now_us);
  if (p->active < 0) return 0;
  sfu_bwe_cluster *c = &p->clusters[p->active];
  int64_t elapsed = now_us - c->start_us;
  if (elapsed > BWE_PROBE_TIMEOUT_US) { /* the caller could not fill it: give up */
    c->sending = false;
    p->active = -1;
    return 0;
  }
  /* Paced at the cluster's rate, one millisecond ahead so it starts at once;
   * whatever is owed since the last call goes now. */
  int64_t want = (int64_t)(c->rate_bps / 8.0 * (double)(elapsed + 1000) / 1e6);
  int64_t due = want - c->sent_bytes;
  if (due <= 0 && c->sent_bytes >= c->min_bytes && c->sent_packets < c->min_packets) due = 1;
  return due > 0 ? (size_t)due : 0;
}

void sfu_bwe_probe_on_ack(sfu_bwe_probe *p, int id, int64_t send_us, int64_t arrival_us, size_t size,
                          bool received) {
  if (id < 0 || !received) return;
  sfu_bwe_cluster *c = &p->clusters[id % SFU_BWE_CLUSTERS];
  if (c->id != id) return;
  int64_t sz = (int64_t)size;
  if (c->received == 0) {
    c->first_send_us = c->last_send_us = send_us;
    c->first_arrival_us = c->last_arrival_us = arrival_us;
    c->last_send_size = c->first_arrival_size = sz;
  } else {
    if (send_us < c->first_send_us) c->first_send_us = send_us;
    if (send_us >= c->last_send_us) {
      c->last_send_us = send_us;
      c->last_send_size = sz;
    }
    if (arrival_us < c->first_arrival_us) {
      c->first_arrival_us = arrival_us;
      c->first_arrival_size = sz;
    }
    if (arrival_us > c->last_arrival_us) c->last_arrival_us = arrival_us;
  }
  c->received++;
  c->bytes += sz;
  c->done_result = false;
}

/* The rate one cluster proved, or 0 when it says nothing yet. */
static double cluster_rate(const sfu_bwe_cluster *c) {
  if (c->received < BWE_PROBE_MIN_RECEIVED * c->min_packets ||
      c->bytes < BWE_PROBE_MIN_RECEIVED * c->min_bytes)
    return 0;
  int64_t send_iv = c->last_send_us - c->first_send_us;
  int64_t recv_iv = c->last_arrival_us - c->first_arrival_us;
  if (send_iv <= 0 || send_iv > BWE_PROBE_MAX_INTERVAL_US || recv_iv <= 0 ||
      recv_iv > BWE_PROBE_MAX_INTERVAL_US)
    return 0;
  /* The last packet sent took no send time; the first received no receive time. */
  double send_rate = (double)(c->bytes - c->last_send_size) * 8e6 / (double)send_iv;
  double recv_rate = (double)(c->bytes - c->first_arrival_size) * 8e6 / (double)recv_iv;
  if (recv_rate > BWE_PROBE_MAX_RATIO * send_rate) return 0;
  double r = send_rate < recv_rate ? send_rate : recv_rate;
  if (recv_rate < BWE_PROBE_SATURATED * send_rate)
    r = BWE_PROBE_TARGET_UTIL * recv_rate; /* the link is full */
  return r;
}

double sfu_bwe_probe_result(sfu_bwe_probe *p) {
  double best = 0;
  for (int i = 0; i < SFU_BWE_CLUSTERS; i++) {
    sfu_bwe_cluster *c = &p->clusters[i];
    if (c->id < 0 || c->sending || c->done_result || c->received == 0) continue;
    c->done_result = true;
    double r = cluster_rate(c);
    if (r > best) best = r;
  }
  return best;
}
