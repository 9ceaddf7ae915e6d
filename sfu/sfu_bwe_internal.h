/* sfu_bwe_internal: the pieces of sfu_bwe (delay-based detector and rate
 * control in sfu_bwe_delay.c, probing and ALR in sfu_bwe_probe.c) and their
 * constants. Only sfu_bwe*.c and the unit test include this. Same rules as
 * sfu_bwe.h: pure, one thread per instance. */
#ifndef SFU_BWE_INTERNAL_H
#define SFU_BWE_INTERNAL_H

#include "sfu_bwe.h"

/* Inter-arrival grouping (libwebrtc inter_arrival_delta.cc, delay_based_bwe.cc). */
#define BWE_GROUP_US 5000           /* kTimestampGroupLengthMs */
#define BWE_BURST_DELTA_US 5000     /* kBurstDeltaThresholdMs */
#define BWE_MAX_BURST_US 100000     /* kMaxBurstDurationMs */
#define BWE_ARRIVAL_JUMP_US 3000000 /* kArrivalTimeOffsetThreshold */
#define BWE_REORDER_RESET 3         /* kReorderedResetThreshold */

/* Trendline (trendline_estimator.cc). */
#define BWE_TREND_SMOOTHING 0.9
#define BWE_TREND_GAIN 4.0
#define BWE_TREND_MIN_DELTAS 60
#define BWE_TREND_MAX_DELTAS 1000
#define BWE_OVERUSE_TIME_MS 10.0
#define BWE_K_UP 0.0087
#define BWE_K_DOWN 0.039
#define BWE_MAX_ADAPT_OFFSET_MS 15.0
#define BWE_THRESH_MIN 6.0
#define BWE_THRESH_MAX 600.0
#define BWE_THRESH_START 12.5

/* AIMD (aimd_rate_control.cc, link_capacity_estimator.cc). */
#define BWE_BETA 0.85
#define BWE_DEFAULT_RTT_MS 200.0
#define BWE_MIN_INCREASE_BPS_PER_S 4000.0
#define BWE_INITIAL_BACKOFF_US 200000

/* Acknowledged throughput (bitrate_estimator.cc): tumbling windows of
 * arrival time, 500 ms for the first sample and 150 ms after, into a
 * Bayesian estimate that trusts samples near it more than far ones. */
#define BWE_ACK_FIRST_WINDOW_US 500000
#define BWE_ACK_WINDOW_US 150000
#define BWE_ACK_UNCERTAINTY 10.0
#define BWE_ACK_VAR_START 50.0
#define BWE_ACK_VAR_GROWTH 5.0

/* Loss-based (send_side_bandwidth_estimation.cc). */
#define BWE_LOSS_MIN_PACKETS 20
#define BWE_LOSS_WINDOW_US 1000000 /* ours: see loss_report */
#define BWE_LOSS_LOW (0.02 * 256)
#define BWE_LOSS_HIGH (0.10 * 256)
#define BWE_INCREASE_INTERVAL_US 1000000
#define BWE_DECREASE_INTERVAL_US 300000
#define BWE_START_PHASE_US 2000000
#define BWE_LOSS_REPORT_TIMEOUT_US 6000000 /* 1.2 x kMaxRtcpFeedbackInterval */

/* Probing (probe_controller.cc, probe_bitrate_estimator.cc, bitrate_prober.cc). */
#define BWE_PROBE_FIRST_SCALE 3.0
#define BWE_PROBE_SECOND_SCALE 6.0
#define BWE_PROBE_FURTHER_SCALE 2.0
#define BWE_PROBE_FURTHER_MIN 0.7     /* continue while result > 0.7 x the probed rate */
#define BWE_PROBE_WAIT_US 1000000     /* kMaxWaitingTimeForProbingResult */
#define BWE_PROBE_INTERVAL_US 5000000 /* ALR / deficit probes (alr_probing_interval) */
#define BWE_PROBE_MIN_PACKETS 5
#define BWE_PROBE_MIN_US 15000
#define BWE_PROBE_TIMEOUT_US 100000 /* a cluster the caller cannot fill is given up */
#define BWE_PROBE_MIN_RECEIVED 0.8
#define BWE_PROBE_MAX_INTERVAL_US 1000000
#define BWE_PROBE_MAX_RATIO 2.0
#define BWE_PROBE_SATURATED 0.9
#define BWE_PROBE_TARGET_UTIL 0.95
#define BWE_DEFICIT_FACTOR 1.2    /* probe at target + 1.2 x deficit (LiveKit) */
#define BWE_MAX_OVER_DESIRED 1.35 /* mediasoup MaxBitrateIncrementFactor */

/* ALR (alr_detector.cc). */
#define BWE_ALR_USAGE 0.65
#define BWE_ALR_START 0.80
#define BWE_ALR_STOP 0.50
#define BWE_ALR_WINDOW_US 500000

/* sfu_bwe_delay.c */
void sfu_bwe_ia_reset(sfu_bwe_interarrival *ia);
/* Adds one acknowledged packet; true when a group completed and the deltas
 * against the previous group are set. */
bool sfu_bwe_ia_add(sfu_bwe_interarrival *ia, int64_t send_us, int64_t arrival_us, size_t size,
                    double *send_delta_ms, double *recv_delta_ms);
void sfu_bwe_trend_init(sfu_bwe_trendline *t);
void sfu_bwe_trend_update(sfu_bwe_trendline *t, double recv_delta_ms, double send_delta_ms,
                          double arrival_ms);
void sfu_bwe_aimd_init(sfu_bwe_aimd *a, double start_bps, double min_bps, double max_bps);
/* One detector verdict; throughput <= 0 = not known. */
void sfu_bwe_aimd_update(sfu_bwe_aimd *a, sfu_bwe_usage u, double throughput, int64_t now_us);
bool sfu_bwe_aimd_time_to_reduce(const sfu_bwe_aimd *a, int64_t now_us, double throughput);
void sfu_bwe_aimd_set(sfu_bwe_aimd *a, double bps, int64_t now_us);

/* sfu_bwe_probe.c */
void sfu_bwe_probe_init(sfu_bwe_probe *p);
/* Queues clusters at rates (capped at max_bps; a capped one ends probing further). */
void sfu_bwe_probe_request(sfu_bwe_probe *p, const double *rates, int n, bool further, double max_bps,
                           int64_t now_us);
/* The estimate changed: maybe probe further, time out a wait, ALR or
 * deficit probes. */
void sfu_bwe_probe_on_estimate(sfu_bwe_probe *p, double target_bps, double max_bps, int64_t desired_bps,
                               int64_t now_us);
/* Tags a sent packet (returns its cluster id or -1) and feeds the ALR budget. */
int sfu_bwe_probe_on_sent(sfu_bwe_probe *p, size_t bytes, int64_t send_us);
size_t sfu_bwe_probe_padding_due(sfu_bwe_probe *p, int64_t now_us);
/* An acknowledged (or lost) packet of cluster id. */
void sfu_bwe_probe_on_ack(sfu_bwe_probe *p, int id, int64_t send_us, int64_t arrival_us, size_t size,
                          bool received);
/* After a feedback: the best finished cluster's rate (bps) or 0. */
double sfu_bwe_probe_result(sfu_bwe_probe *p);
void sfu_bwe_alr_set_rate(sfu_bwe_probe *p, double target_bps);

#endif
