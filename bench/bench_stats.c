/* bench_stats: percentiles of delay (a fixed histogram) and of plain samples. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void bench_hist_init(bench_hist *h) {
  h->b = g_new0(uint32_t, BENCH_HIST_N);
  h->n = h->over = 0;
}

void bench_hist_free(bench_hist *h) {
  g_free(h->b);
  h->b = NULL;
}

void bench_hist_reset(bench_hist *h) {
  memset(h->b, 0, BENCH_HIST_N * sizeof *h->b);
  h->n = h->over = 0;
}

void bench_hist_add(bench_hist *h, int64_t us) {
  if (us < 0) us = 0;
  int64_t i = us / BENCH_HIST_BUCKET_US;
  h->n++;
  if (i >= BENCH_HIST_N)
    h->over++;
  else
    h->b[i]++;
}

double bench_hist_pct(const bench_hist *h, double p) {
  if (!h->n) return -1;
  uint64_t want = (uint64_t)((double)h->n * p / 100.0);
  if (want >= h->n) want = h->n - 1;
  uint64_t acc = 0;
  for (int64_t i = 0; i < BENCH_HIST_N; i++) {
    acc += h->b[i];
    if (acc > want) return ((double)i + 0.5) * BENCH_HIST_BUCKET_US / 1000.0;
  }
  return (double)BENCH_HIST_N * BENCH_HIST_BUCKET_US / 1000.0; /* in the overflow bucket */
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double bench_samples_pct(GArray *v, double p) {
  if (!v || !v->len) return -1;
  double *c = g_memdup2(v->data, v->len * sizeof(double));
  qsort(c, v->len, sizeof(double), cmp_double);
  size_t i = (size_t)((double)(v->len - 1) * p / 100.0 + 0.5);
  double r = c[i];
  g_free(c);
  return r;
}

/* ---- the report ---- */

static void fmt(char *b, size_t n, double v, const char *f) {
  if (v < 0)
    snprintf(b, n, "-");
  else
    snprintf(b, n, f, v);
}

typedef struct {
  const char *name;
  char val[2][48];
} row;

static void put(row *r, size_t i, const char *f, double v) {
  fmt(r->val[i], sizeof r->val[i], v, f);
}

void bench_report_table(FILE *f, const bench_result *r, size_t n) {
  fprintf(f, "\nsfu-bench: preset %s, %u room(s) x %u participants, %u publisher(s) per room, %s\n",
          r[0].preset, r[0].rooms, r[0].per_room, r[0].publishers, r[0].video ? "audio+video" : "audio only");
  row rows[40];
  size_t nr = 0;
#define ROW(label) (rows[nr].name = label, &rows[nr++])
  for (size_t i = 0; i < n; i++) {
    const bench_result *x = &r[i];
    nr = 0;
    row *w;
    w = ROW("joins attempted / ok / failed");
    snprintf(w->val[i], sizeof w->val[i], "%u / %u / %u", x->joins_attempted, x->joins_ok, x->joins_failed);
    w = ROW("dropped after joining");
    put(w, i, "%.0f", x->drops);
    w = ROW("join time p50 / p95 / p99 (ms)");
    if (x->join_samples)
      snprintf(w->val[i], sizeof w->val[i], "%.0f / %.0f / %.0f", x->join_p50, x->join_p95, x->join_p99);
    else
      snprintf(w->val[i], sizeof w->val[i], "-");
    w = ROW("join ms: ok/offer/ICE/DTLS/pkt/vid");
    if (x->tl_samples) {
      const double *t = x->tl_p50;
      snprintf(w->val[i], sizeof w->val[i], "%.0f/%.0f/%.0f/%.0f/%.0f/%.0f", t[0], t[1], t[2], t[3], t[4],
               t[5]);
    } else {
      snprintf(w->val[i], sizeof w->val[i], "-");
    }
    w = ROW("streams delivered / expected");
    snprintf(w->val[i], sizeof w->val[i], "%u / %u", x->streams_delivered, x->streams_expected);
    w = ROW("measured window (s)");
    put(w, i, "%.1f", x->window_s);
    w = ROW("server in: pkt/s, kbit/s");
    snprintf(w->val[i], sizeof w->val[i], "%.0f, %.0f", x->in_pps, x->in_kbps);
    w = ROW("server out: pkt/s, kbit/s");
    snprintf(w->val[i], sizeof w->val[i], "%.0f, %.0f", x->out_pps, x->out_kbps);
    w = ROW("loss before / after rtx (%)");
    snprintf(w->val[i], sizeof w->val[i], "%.3f / %.3f", x->loss_before_pct, x->loss_after_pct);
    w = ROW("NACKs sent / PLIs sent");
    snprintf(w->val[i], sizeof w->val[i], "%llu / %llu", (unsigned long long)x->nacks_out,
             (unsigned long long)x->plis_out);
    w = ROW("one-way delay p50 / p95 / p99 (ms)");
    if (x->delay_p50 >= 0)
      snprintf(w->val[i], sizeof w->val[i], "%.2f / %.2f / %.2f", x->delay_p50, x->delay_p95, x->delay_p99);
    else
      snprintf(w->val[i], sizeof w->val[i], "-");
    w = ROW("server CPU (s, % of one core)");
    if (x->server_cpu_s >= 0)
      snprintf(w->val[i], sizeof w->val[i], "%.2f, %.1f %%", x->server_cpu_s, x->server_cpu_pct);
    else
      snprintf(w->val[i], sizeof w->val[i], "-");
    w = ROW("server RSS peak / VmHWM (MiB)");
    if (x->server_rss_peak_kb > 0)
      snprintf(w->val[i], sizeof w->val[i], "%.1f / %.1f", x->server_rss_peak_kb / 1024.0,
               x->server_hwm_kb / 1024.0);
    else
      snprintf(w->val[i], sizeof w->val[i], "-");
    w = ROW("CPU us per forwarded packet");
    put(w, i, "%.2f", x->us_per_pkt);
    w = ROW("forwarded pkt/s per core");
    put(w, i, "%.0f", x->pps_per_core);
    w = ROW("bench CPU (% of one core)");
    put(w, i, "%.1f", x->bench_cpu_pct);
    w = ROW("waiting for a CPU: server, bench (s)");
    snprintf(w->val[i], sizeof w->val[i], "%.2f, %.2f", x->server_runq_wait_s, x->bench_runq_wait_s);
    w = ROW("kernel UDP receive-buffer drops");
    snprintf(w->val[i], sizeof w->val[i], "%llu", (unsigned long long)x->udp_rcvbuf_drops);
    w = ROW("bench: late media ticks, max stall ms");
    snprintf(w->val[i], sizeof w->val[i], "%llu, %.0f", (unsigned long long)x->gen_late, x->max_tick_gap_ms);
    if (x->churn) {
      w = ROW("churn: joins, ok, failed");
      snprintf(w->val[i], sizeof w->val[i], "%u, %u, %u", x->churn_joins, x->churn_ok, x->churn_failed);
    }
    if (x->ramp) {
      w = ROW("ramp: largest load held (subs)");
      put(w, i, "%.0f", x->ramp_held_subs);
      w = ROW("ramp: stopped because");
      snprintf(w->val[i], sizeof w->val[i], "%.47s", x->ramp_stop);
    }
  }
  fprintf(f, "%-36s %-26s", "", r[0].label);
  if (n > 1) fprintf(f, " %-26s %s", r[1].label, "ratio janus/sfu");
  fputc('\n', f);
  for (size_t k = 0; k < nr; k++) {
    fprintf(f, "%-36s %-26s", rows[k].name, rows[k].val[0]);
    if (n > 1) fprintf(f, " %-26s", rows[k].val[1]);
    fputc('\n', f);
  }
  if (n > 1 && r[0].us_per_pkt > 0 && r[1].us_per_pkt > 0)
    fprintf(f, "ratio (janus / sfu): CPU per forwarded packet %.2fx, server CPU %.2fx, p99 delay %.2fx\n",
            r[1].us_per_pkt / r[0].us_per_pkt,
            r[1].server_cpu_pct / (r[0].server_cpu_pct > 0 ? r[0].server_cpu_pct : 1),
            r[0].delay_p99 > 0 ? r[1].delay_p99 / r[0].delay_p99 : 0);
  if (r[0].bench_cpu_pct > 90)
    fprintf(f,
            "note: the load generator used %.0f %% of its core: figures may be limited by the bench, not the "
            "server\n",
            r[0].bench_cpu_pct);
}

static json_t *num_or_null(double v) {
  return v < 0 ? json_null() : json_real(v);
}

static json_t *result_json(const bench_result *x) {
  json_t *o = json_object();
  json_object_set_new(o, "server", json_string(x->label));
  json_object_set_new(o, "preset", json_string(x->preset));
  json_object_set_new(o, "rooms", json_integer(x->rooms));
  json_object_set_new(o, "per_room", json_integer(x->per_room));
  json_object_set_new(o, "publishers_per_room", json_integer(x->publishers));
  json_object_set_new(o, "video", json_boolean(x->video));
  json_object_set_new(o, "window_s", json_real(x->window_s));
  json_object_set_new(o, "joins",
                      json_pack("{s:i, s:i, s:i, s:i}", "attempted", x->joins_attempted, "ok", x->joins_ok,
                                "failed", x->joins_failed, "dropped", x->drops));
  json_object_set_new(o, "join_timeline_p50_ms",
                      json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:i}", "joined", num_or_null(x->tl_p50[0]),
                                "sub_offer", num_or_null(x->tl_p50[1]), "sub_ice", num_or_null(x->tl_p50[2]),
                                "sub_connected", num_or_null(x->tl_p50[3]), "first_packet",
                                num_or_null(x->tl_p50[4]), "first_video", num_or_null(x->tl_p50[5]),
                                "samples", x->tl_samples));
  json_object_set_new(o, "join_ms",
                      json_pack("{s:o, s:o, s:o, s:i}", "p50", num_or_null(x->join_p50), "p95",
                                num_or_null(x->join_p95), "p99", num_or_null(x->join_p99), "samples",
                                x->join_samples));
  json_object_set_new(
      o, "streams",
      json_pack("{s:i, s:i}", "delivered", x->streams_delivered, "expected", x->streams_expected));
  json_object_set_new(o, "in", json_pack("{s:f, s:f}", "pps", x->in_pps, "kbps", x->in_kbps));
  json_object_set_new(o, "out", json_pack("{s:f, s:f}", "pps", x->out_pps, "kbps", x->out_kbps));
  json_object_set_new(
      o, "loss_pct",
      json_pack("{s:f, s:f}", "before_rtx", x->loss_before_pct, "after_rtx", x->loss_after_pct));
  json_object_set_new(o, "rtcp",
                      json_pack("{s:I, s:I, s:I, s:I, s:I}", "nacks_out", (json_int_t)x->nacks_out,
                                "plis_out", (json_int_t)x->plis_out, "recovered",
                                (json_int_t)x->rtx_recovered, "pub_nacks_in", (json_int_t)x->pub_nacks_in,
                                "pub_plis_in", (json_int_t)x->pub_plis_in));
  json_object_set_new(o, "delay_ms",
                      json_pack("{s:o, s:o, s:o}", "p50", num_or_null(x->delay_p50), "p95",
                                num_or_null(x->delay_p95), "p99", num_or_null(x->delay_p99)));
  json_object_set_new(o, "server_pid", json_integer(x->server_pid));
  json_object_set_new(o, "server_cpu_s", num_or_null(x->server_cpu_s));
  json_object_set_new(o, "server_cpu_pct", x->server_cpu_s < 0 ? json_null() : json_real(x->server_cpu_pct));
  json_object_set_new(o, "server_rss_peak_kb", json_integer(x->server_rss_peak_kb));
  json_object_set_new(o, "server_hwm_kb", json_integer(x->server_hwm_kb));
  json_object_set_new(o, "us_per_forwarded_pkt", num_or_null(x->us_per_pkt));
  json_object_set_new(o, "forwarded_pps_per_core", num_or_null(x->pps_per_core));
  json_object_set_new(o, "bench_cpu_pct", json_real(x->bench_cpu_pct));
  json_object_set_new(o, "generator_late_ticks", json_integer((json_int_t)x->gen_late));
  json_object_set_new(o, "bench_max_stall_ms", json_real(x->max_tick_gap_ms));
  json_object_set_new(o, "server_runq_wait_s", json_real(x->server_runq_wait_s));
  json_object_set_new(o, "bench_runq_wait_s", json_real(x->bench_runq_wait_s));
  json_object_set_new(o, "udp_rcvbuf_drops", json_integer((json_int_t)x->udp_rcvbuf_drops));
  if (x->churn)
    json_object_set_new(o, "churn",
                        json_pack("{s:i, s:f, s:i, s:i, s:i}", "pool", x->churn, "rate", x->churn_rate,
                                  "joins", x->churn_joins, "ok", x->churn_ok, "failed", x->churn_failed));
  if (x->ramp)
    json_object_set_new(o, "ramp",
                        json_pack("{s:i, s:i, s:f, s:o, s:s}", "held_subscribers", x->ramp_held_subs,
                                  "steps_held", x->ramp_steps, "held_out_pps", x->ramp_held_out_pps,
                                  "held_us_per_pkt", num_or_null(x->ramp_held_us_per_pkt), "stopped",
                                  x->ramp_stop));
  return o;
}

void bench_report_json(FILE *f, const bench_result *r, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, result_json(&r[i]));
  json_t *top = json_pack("{s:o}", "results", arr);
  if (n > 1 && r[0].us_per_pkt > 0 && r[1].us_per_pkt > 0)
    json_object_set_new(top, "ratio_us_per_pkt_janus_over_sfu", json_real(r[1].us_per_pkt / r[0].us_per_pkt));
  char *s = json_dumps(top, JSON_INDENT(2));
  json_decref(top);
  fprintf(f, "%s\n", s);
  free(s);
}

/* ---- several runs: medians with min and max ---- */

typedef struct {
  const char *name, *key, *fmt;
  double (*get)(const bench_result *r);
} metric;

static double g_us(const bench_result *r) {
  return r->us_per_pkt;
}
static double g_ppc(const bench_result *r) {
  return r->pps_per_core;
}
static double g_cpu(const bench_result *r) {
  return r->server_cpu_s < 0 ? -1 : r->server_cpu_pct;
}
static double g_out(const bench_result *r) {
  return r->out_pps;
}
static double g_in(const bench_result *r) {
  return r->in_pps;
}
static double g_lossb(const bench_result *r) {
  return r->loss_before_pct;
}
static double g_lossa(const bench_result *r) {
  return r->loss_after_pct;
}
static double g_d50(const bench_result *r) {
  return r->delay_p50;
}
static double g_d99(const bench_result *r) {
  return r->delay_p99;
}
static double g_j50(const bench_result *r) {
  return r->join_samples ? r->join_p50 : -1;
}
static double g_j95(const bench_result *r) {
  return r->join_samples ? r->join_p95 : -1;
}
static double g_tl_conn(const bench_result *r) {
  return r->tl_samples ? r->tl_p50[BENCH_TL_DTLS] : -1;
}
static double g_tl_video(const bench_result *r) {
  return r->tl_samples ? r->tl_p50[BENCH_TL_VIDEO] : -1;
}
static double g_rss(const bench_result *r) {
  return r->server_rss_peak_kb > 0 ? r->server_rss_peak_kb / 1024.0 : -1;
}
static double g_fail(const bench_result *r) {
  return r->joins_failed + r->drops;
}
static double g_deliv(const bench_result *r) {
  return r->streams_expected ? 100.0 * r->streams_delivered / r->streams_expected : -1;
}
static double g_bench(const bench_result *r) {
  return r->bench_cpu_pct;
}
static double g_swait(const bench_result *r) {
  return r->server_runq_wait_s;
}
static double g_held(const bench_result *r) {
  return r->ramp ? (double)r->ramp_held_subs : -1;
}

static const metric metrics[] = {
    {"CPU us per forwarded packet", "us_per_forwarded_pkt", "%.2f", g_us},
    {"forwarded pkt/s per core", "forwarded_pps_per_core", "%.0f", g_ppc},
    {"server CPU (% of one core)", "server_cpu_pct", "%.1f", g_cpu},
    {"server out (pkt/s)", "out_pps", "%.0f", g_out},
    {"server in (pkt/s)", "in_pps", "%.0f", g_in},
    {"streams delivered (%)", "streams_delivered_pct", "%.1f", g_deliv},
    {"joins failed + dropped", "joins_failed", "%.0f", g_fail},
    {"loss before rtx (%)", "loss_before_pct", "%.3f", g_lossb},
    {"loss after rtx (%)", "loss_after_pct", "%.3f", g_lossa},
    {"one-way delay p50 (ms)", "delay_p50_ms", "%.2f", g_d50},
    {"one-way delay p99 (ms)", "delay_p99_ms", "%.2f", g_d99},
    {"join time p50 (ms)", "join_p50_ms", "%.0f", g_j50},
    {"join time p95 (ms)", "join_p95_ms", "%.0f", g_j95},
    {"join: sub connected p50 (ms)", "join_sub_connected_p50_ms", "%.0f", g_tl_conn},
    {"join: first video p50 (ms)", "join_first_video_p50_ms", "%.0f", g_tl_video},
    {"server RSS peak (MiB)", "rss_peak_mib", "%.1f", g_rss},
    {"bench CPU (% of one core)", "bench_cpu_pct", "%.1f", g_bench},
    {"server waiting for a CPU (s)", "server_runq_wait_s", "%.2f", g_swait},
    {"ramp: subscribers held", "ramp_held_subs", "%.0f", g_held},
};

typedef struct {
  double med, min, max;
  size_t n;
} agg;

static agg aggregate(GArray *v) {
  agg a = {-1, -1, -1, v->len};
  if (!v->len) return a;
  a.med = bench_samples_pct(v, 50);
  a.min = bench_samples_pct(v, 0);
  a.max = bench_samples_pct(v, 100);
  if (v->len % 2 == 0) { /* true median of an even count */
    double lo = bench_samples_pct(v, 100.0 * (double)(v->len / 2 - 1) / (double)(v->len - 1));
    double hi = bench_samples_pct(v, 100.0 * (double)(v->len / 2) / (double)(v->len - 1));
    a.med = (lo + hi) / 2;
  }
  return a;
}

static void agg_text(char *b, size_t n, agg a, const char *fmt) {
  if (!a.n) {
    snprintf(b, n, "-");
    return;
  }
  char m[16], lo[16], hi[16];
  snprintf(m, sizeof m, fmt, a.med);
  snprintf(lo, sizeof lo, fmt, a.min);
  snprintf(hi, sizeof hi, fmt, a.max);
  snprintf(b, n, "%s [%s-%s]", m, lo, hi);
}

static json_t *agg_json(agg a) {
  if (!a.n) return json_null();
  return json_pack("{s:f, s:f, s:f, s:i}", "median", a.med, "min", a.min, "max", a.max, "n", (int)a.n);
}

void bench_report_repeats(FILE *f, const bench_result *r, size_t nsrv, size_t nrep, bool json) {
  json_t *summary = json_object();
  if (!json) {
    fprintf(f,
            "\nsfu-bench: preset %s, %u room(s) x %u participants, %u publisher(s) per room, %s; %zu runs\n",
            r[0].preset, r[0].rooms, r[0].per_room, r[0].publishers,
            r[0].video ? "audio+video" : "audio only", nrep);
    fprintf(f, "%-30s %-28s", "median [min-max]", r[0].label);
    if (nsrv > 1) fprintf(f, " %-28s %s", r[1].label, "ratio janus/sfu (per run)");
    fputc('\n', f);
  }
  for (size_t m = 0; m < G_N_ELEMENTS(metrics); m++) {
    GArray *v[3];
    for (int k = 0; k < 3; k++)
      v[k] = g_array_new(FALSE, FALSE, sizeof(double));
    for (size_t i = 0; i < nrep; i++) {
      double x[2] = {-1, -1};
      for (size_t s = 0; s < nsrv; s++) {
        x[s] = metrics[m].get(&r[i * nsrv + s]);
        if (x[s] >= 0) g_array_append_val(v[s], x[s]);
      }
      if (nsrv > 1 && x[0] > 0 && x[1] >= 0) {
        double q = x[1] / x[0];
        g_array_append_val(v[2], q);
      }
    }
    agg a[3] = {aggregate(v[0]), aggregate(v[1]), aggregate(v[2])};
    if (a[0].n || a[1].n) {
      if (json) {
        json_t *o = json_pack("{s:o}", r[0].label, agg_json(a[0]));
        if (nsrv > 1) {
          json_object_set_new(o, r[1].label, agg_json(a[1]));
          json_object_set_new(o, "ratio", agg_json(a[2]));
        }
        json_object_set_new(summary, metrics[m].key, o);
      } else {
        char t[3][64];
        for (int k = 0; k < 3; k++)
          agg_text(t[k], sizeof t[k], a[k], k == 2 ? "%.2f" : metrics[m].fmt);
        fprintf(f, "%-30s %-28s", metrics[m].name, t[0]);
        if (nsrv > 1) fprintf(f, " %-28s %s", t[1], t[2]);
        fputc('\n', f);
      }
    }
    for (int k = 0; k < 3; k++)
      g_array_free(v[k], TRUE);
  }
  if (json) {
    json_t *runs = json_array();
    for (size_t i = 0; i < nrep * nsrv; i++)
      json_array_append_new(runs, result_json(&r[i]));
    json_t *top = json_pack("{s:i, s:o, s:o}", "runs_count", (int)nrep, "summary", summary, "runs", runs);
    char *s = json_dumps(top, JSON_INDENT(2));
    json_decref(top);
    fprintf(f, "%s\n", s);
    free(s);
  } else {
    json_decref(summary);
  }
}
