/* sfu_bwe: send-side bandwidth estimation for one subscriber transport, in
 * the manner of Google Congestion Control (libwebrtc goog_cc; constants in
 * sfu_bwe_internal.h with their origin):
 *  - a send history: transport-wide seq -> (send time, size, probe cluster);
 *  - delay-based: packets grouped by 5 ms of send time, the inter-group delay
 *    variation through a trendline filter, an overuse detector with an
 *    adaptive threshold, and an AIMD rate controller;
 *  - loss-based: +8 % per second under 2 % loss, hold up to 10 %, above that
 *    x(1 - loss/2) at most once per 300 ms + RTT (loss measured over >= 1 s);
 *  - application-limited periods: the estimate never rises above 1.5 x the
 *    acknowledged throughput + 10 kbit/s, and an ALR detector (sending < 65 %
 *    of the estimate) schedules probes;
 *  - probing: initial clusters at 3x and 6x the start rate, further ones at
 *    2x while results keep up, periodic ones in ALR or while the allocator
 *    wants more than the estimate. The caller sends the padding (RTX
 *    padding-only packets) that sfu_bwe_probe_padding asks for; every packet
 *    sent while a cluster runs belongs to it; the cluster's acknowledged
 *    receive rate is the result.
 * Target = clamp(min(delay-based, loss-based), min, max), with max lowered to
 * 1.35 x what the allocator desires, so probing stops once everything fits.
 *
 * Pure: no allocation, no logging, no globals, no GLib, no sockets. One
 * sfu_bwe belongs to one transport and one thread (its media thread). The
 * caller embeds the struct (about 100 KB, most of it the send history) and
 * calls sfu_bwe_init once; nothing allocates afterwards. Times are
 * microseconds on the caller's monotonic clock; rates are bits per second.
 *
 * Calls, in the order the transport makes them:
 *   sfu_bwe_on_sent      each RTP packet stamped with a transport-wide seq
 *                        (media, RTX, padding) as it is handed to the socket. O(1).
 *   sfu_bwe_on_feedback  each parsed transport-cc feedback (sfu_twcc_parse).
 *                        O(statuses). Then read sfu_bwe_target.
 *   sfu_bwe_on_rtt       each RTT measured from an RR (now - LSR - DLSR). O(1).
 *   sfu_bwe_set_desired  whenever the allocator's desired total changes. O(1).
 *   sfu_bwe_probe_padding from a timer (every 5 ms or so, more often while a
 *                        cluster runs): bytes of padding to send now. O(1).
 *   sfu_bwe_take_update  after feedback: whether to rerun the allocator
 *                        (throttled: at most 1/s unless the target moved > 25 %). */
#ifndef SFU_BWE_H
#define SFU_BWE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu_twcc.h"

typedef struct {
  int64_t min_bps;   /* floor of the target (e.g. 30 kbit/s) */
  int64_t start_bps; /* first target before any feedback (e.g. 300 kbit/s) */
  int64_t max_bps;   /* ceiling (e.g. 10 Mbit/s); probes never go above it */
} sfu_bwe_config;

typedef enum { SFU_BWE_NORMAL = 0, SFU_BWE_UNDERUSE, SFU_BWE_OVERUSE } sfu_bwe_usage;

typedef struct {
  int64_t target_bps, delay_bps, loss_bps;
  int64_t acked_bps;         /* acknowledged receive rate, -1 = not known yet */
  double loss;               /* last loss fraction, 0..1 */
  double trend, threshold;   /* trendline's modified trend and adaptive threshold (ms) */
  sfu_bwe_usage usage;       /* the overuse detector's hypothesis */
  bool in_alr;               /* application-limited now */
  uint64_t feedbacks;        /* feedback messages processed */
  uint64_t unknown_statuses; /* statuses for packets not in the send history */
  uint64_t probes_started, probe_results;
  int64_t last_probe_bps; /* last probe result, 0 = none */
} sfu_bwe_stats;

/* ---- private state below: the structs are public only so callers can embed them ---- */

#define SFU_BWE_HISTORY 4096 /* packets remembered, a power of two */
#define SFU_BWE_TREND_WINDOW 20
#define SFU_BWE_RECENT 128
#define SFU_BWE_MIN_HISTORY 32
#define SFU_BWE_CLUSTERS 4

typedef struct {
  int64_t send_us;
  uint16_t seq;
  uint16_t size;
  int32_t cluster; /* probe cluster id, -1 none */
  bool used, acked, reported;
  bool padding; /* probe padding: not counted as loss when lost */
} sfu_bwe_sent;

typedef struct {
  bool valid;
  int64_t first_send_us, send_us, first_arrival_us, complete_us;
  int64_t size;
} sfu_bwe_group;

typedef struct {
  sfu_bwe_group cur, prev;
  int reordered;
} sfu_bwe_interarrival;

typedef struct {
  int num_deltas;
  double acc_delay, smoothed_delay;
  double first_arrival_ms;
  double hist_x[SFU_BWE_TREND_WINDOW], hist_y[SFU_BWE_TREND_WINDOW];
  int hist_n, hist_head;
  double prev_trend, modified_trend;
  double threshold, last_update_ms;
  double time_over_using;
  int overuse_counter;
  sfu_bwe_usage hypothesis;
} sfu_bwe_trendline;

typedef enum { SFU_AIMD_HOLD = 0, SFU_AIMD_INCREASE, SFU_AIMD_DECREASE } sfu_aimd_state;

typedef struct {
  sfu_aimd_state state;
  double bps;
  double min_bps, max_bps;
  double latest_throughput; /* bps, 0 = none */
  int64_t time_last_change_us, time_last_decrease_us;
  bool link_has;
  double link_kbps, link_dev;
  double rtt_ms;
} sfu_bwe_aimd;

typedef struct {
  int64_t prev_arrival_us; /* -1 none */
  int64_t window_us, sum_bytes;
  double kbps, var; /* the estimate (-1 none) and its variance */
} sfu_bwe_acked;

typedef struct {
  int64_t lost_acc, expected_acc;
  int fraction; /* last loss fraction in 1/256, -1 none yet */
  bool decreased_since_fraction;
  int64_t first_report_us, last_report_us, time_last_decrease_us, window_start_us;
  double bps;
  double delay_limit;
  struct {
    int64_t t;
    double bps;
  } min_hist[SFU_BWE_MIN_HISTORY];
  int min_head, min_n;
} sfu_bwe_loss;

typedef struct {
  int id; /* -1 = free slot */
  double rate_bps;
  int64_t start_us, min_bytes;
  int min_packets;
  int64_t sent_bytes;
  int sent_packets;
  bool sending, done_result;
  /* results from feedback */
  int64_t first_send_us, last_send_us, first_arrival_us, last_arrival_us;
  int64_t bytes, last_send_size, first_arrival_size;
  int received;
} sfu_bwe_cluster;

typedef enum { SFU_PROBE_INIT = 0, SFU_PROBE_WAITING, SFU_PROBE_COMPLETE } sfu_probe_state;

typedef struct {
  sfu_probe_state state;
  double min_to_probe_further; /* 0 = do not probe further */
  int64_t time_last_probe_us;
  double pending[2];
  int n_pending;
  int next_id;
  int active; /* slot index of the cluster being sent, -1 none */
  sfu_bwe_cluster clusters[SFU_BWE_CLUSTERS];
  /* ALR: an interval budget filled at 65 % of the target */
  double budget_bytes, budget_rate_bps;
  int64_t last_send_us;
  bool alr;
  int64_t alr_start_us;
} sfu_bwe_probe;

typedef struct {
  sfu_bwe_config cfg;
  double max_bps; /* cfg.max lowered by the allocator's desire */
  int64_t desired_bps;
  sfu_bwe_sent hist[SFU_BWE_HISTORY];
  bool arrival_started;
  int64_t arrival_offset, last_raw_arrival;
  sfu_bwe_interarrival ia;
  sfu_bwe_trendline trend;
  sfu_bwe_aimd aimd;
  sfu_bwe_acked acked;
  /* The last packets acknowledged (arrival time, size): while a queue is
   * full they arrive at the bottleneck's rate. */
  struct {
    int64_t at;
    uint32_t size;
  } recent[SFU_BWE_RECENT];
  uint8_t recent_head, recent_n;
  sfu_bwe_loss loss;
  sfu_bwe_probe probe;
  double target_bps;
  double probe_bps; /* last probe result and when */
  int64_t probe_us;
  int64_t notified_bps, notified_us;
  bool notified_once;
  sfu_bwe_stats stats;
} sfu_bwe;

/* Values <= 0 take defaults (30 kbit/s, 300 kbit/s, 10 Mbit/s). Schedules
 * the initial probes. */
void sfu_bwe_init(sfu_bwe *b, const sfu_bwe_config *cfg, int64_t now_us);
/* A packet stamped with transport-wide seq `seq` leaves now (bytes = the
 * whole datagram). While a probe cluster runs, the packet counts for it. */
void sfu_bwe_on_sent(sfu_bwe *b, uint16_t seq, size_t bytes, int64_t send_us);
/* The same for a padding-only packet: its loss says nothing about the media
 * (a probe meant to fill a link loses packets at its top), so the loss-based
 * control does not count it, as libwebrtc's counts only media streams. */
void sfu_bwe_on_sent_padding(sfu_bwe *b, uint16_t seq, size_t bytes, int64_t send_us);
/* One parsed feedback (st[0..n) from sfu_twcc_parse), received at now_us.
 * Returns how many statuses matched sent packets (0: nothing usable; the
 * rest are counted in stats.unknown_statuses). */
int sfu_bwe_on_feedback(sfu_bwe *b, const sfu_twcc_status *st, size_t n, int64_t now_us);
void sfu_bwe_on_rtt(sfu_bwe *b, int64_t rtt_us);
/* Sum of what the allocator would send with every track at its best
 * wanted layer (0 = unknown: no cap). Caps the target at 1.35x it, and
 * starts a probe when it rises above the target. */
void sfu_bwe_set_desired(sfu_bwe *b, int64_t desired_bps, int64_t now_us);
/* Padding bytes to send now for the running probe cluster (0: none). The
 * caller sends about that many bytes of padding-only packets (rounding up
 * to whole packets) and reports each through sfu_bwe_on_sent. */
size_t sfu_bwe_probe_padding(sfu_bwe *b, int64_t now_us);
/* True while a probe cluster is due or being sent (a cheap check before
 * sfu_bwe_probe_padding on a hot path). */
static inline bool sfu_bwe_probing(const sfu_bwe *b) {
  return b->probe.active >= 0 || b->probe.n_pending > 0;
}
/* The current target send rate. */
int64_t sfu_bwe_target(const sfu_bwe *b);
/* When congestion (delay or loss) last lowered the estimate; -1 never. */
int64_t sfu_bwe_last_decrease_us(const sfu_bwe *b);
/* True when the allocator should run again with *bps: the target moved and
 * either 1 s passed since the last time or it moved by more than 25 % /
 * 50 % (down / up) (mediasoup's throttle). */
bool sfu_bwe_take_update(sfu_bwe *b, int64_t now_us, int64_t *bps);
void sfu_bwe_get_stats(const sfu_bwe *b, sfu_bwe_stats *out);

#endif
