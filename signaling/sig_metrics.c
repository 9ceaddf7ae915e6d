/* Prometheus text format, version 0.0.4. */
#include "sig_metrics.h"
#include "tp_peer.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void metric(GString *o, const char *name, const char *type, const char *help, double v) {
  g_string_append_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void histogram(GString *o, const char *name, const char *help, const sig_hist *h) {
  g_string_append_printf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  uint64_t cum = 0;
  for (int i = 0; i < SIG_HIST_N; i++) {
    cum += h->bucket[i];
    if (i < SIG_HIST_N - 1)
      g_string_append_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, SIG_HIST_BOUNDS[i],
                             (unsigned long long)cum);
    else
      g_string_append_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
  }
  g_string_append_printf(o, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}

/* utime+stime in seconds and resident bytes, from /proc/self. */
static void self_usage(double *cpu_s, double *rss_bytes) {
  *cpu_s = 0;
  *rss_bytes = 0;
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  if (f) {
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
      *cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
  }
  f = fopen("/proc/self/statm", "r");
  if (f) {
    unsigned long size, res;
    if (fscanf(f, "%lu %lu", &size, &res) == 2) *rss_bytes = (double)res * (double)sysconf(_SC_PAGESIZE);
    fclose(f);
  }
}

char *sig_metrics_format(const sig_app_stats *st) {
  GString *o = g_string_new(NULL);
  metric(o, "sfu_rooms", "gauge", "Rooms open.", st->rooms);
  metric(o, "sfu_participants", "gauge", "Participants joined.", st->participants);
  metric(o, "sfu_publishers", "gauge", "Participants publishing at least one track.", st->publishers);
  metric(o, "sfu_subscriptions", "gauge", "Consumers (one subscriber's copy of one track).",
         st->subscriptions);
  metric(o, "sfu_joins_total", "counter", "Successful joins.", (double)st->joins);
  metric(o, "sfu_leaves_total", "counter", "Participants removed for any reason.", (double)st->leaves);
  metric(o, "sfu_join_errors_total", "counter", "Joins refused (limits, tokens, join rate).",
         (double)st->join_errors);
  metric(o, "sfu_rtp_packets_in_total", "counter", "RTP packets received from publishers.",
         (double)st->router.rtp_in);
  metric(o, "sfu_rtp_bytes_in_total", "counter", "RTP bytes received from publishers.",
         (double)st->router.bytes_in);
  metric(o, "sfu_rtp_packets_out_total", "counter", "RTP packets forwarded to subscribers.",
         (double)st->router.rtp_out);
  metric(o, "sfu_rtp_bytes_out_total", "counter", "RTP bytes forwarded to subscribers.",
         (double)st->router.bytes_out);
  metric(o, "sfu_nacks_in_total", "counter", "NACKed packets requested by subscribers.",
         (double)st->router.nacks_in);
  metric(o, "sfu_nacks_out_total", "counter", "NACK packets sent to publishers.",
         (double)st->router.nacks_out);
  metric(o, "sfu_retransmissions_total", "counter", "Packets resent from retransmission history.",
         (double)st->router.retransmits);
  metric(o, "sfu_retransmissions_throttled_total", "counter",
         "Retransmissions not sent: the subscriber's estimated link had no room for them.",
         (double)st->router.rtx_throttled);
  metric(o, "sfu_plis_in_total", "counter", "Keyframe requests from subscribers.",
         (double)st->router.plis_in);
  metric(o, "sfu_plis_out_total", "counter", "Keyframe requests sent to publishers.",
         (double)st->router.plis_out);
  /* From the transport's process-wide totals, not st->srtp_in_errors (a sum
   * over the sessions present, which drops when they leave): a counter must
   * never go down. */
  tp_peer_total tt = tp_peer_totals();
  metric(o, "sfu_srtp_errors_total", "counter", "Incoming SRTP/SRTCP packets dropped (auth or replay).",
         (double)tt.srtp_in_errors);
  metric(o, "sfu_dtls_dropped_total", "counter",
         "Incoming DTLS records dropped (malformed, forged, impossible epoch, or of no use after the "
         "handshake).",
         (double)tt.dtls_dropped);
  histogram(o, "sfu_join_latency_seconds", "Join request to the subscriber transport connected.",
            &st->join_latency);
  histogram(o, "sfu_first_packet_seconds",
            "Join request to the first media packet forwarded to the participant.", &st->first_packet);
  double cpu, rss;
  self_usage(&cpu, &rss);
  metric(o, "process_cpu_seconds_total", "counter", "User and system CPU time of the server process.", cpu);
  metric(o, "process_resident_memory_bytes", "gauge", "Resident memory of the server process.", rss);
  return g_string_free(o, FALSE);
}
