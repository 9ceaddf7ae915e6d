/* sfu-bench: load generator for the SFU. Builds the scenario (presets and
 * flags), joins simulated participants at a bounded rate, measures a steady
 * window (traffic, loss, delay, the server's CPU and memory through /proc),
 * tears everything down and prints the report. Optionally runs the same
 * load against Janus VideoRoom, and a ramp that adds subscribers until the
 * quality limits break. Every phase is bounded in time. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "bench_churn.h"

#ifndef BENCH_MEDIA_DIR
#define BENCH_MEDIA_DIR "bench-media"
#endif

#define TICK_MS 5
#define DRAIN_US 1500000
#define CLOSE_WAIT_US 3000000
#define BENCH_RCVBUF (1 << 20)

typedef struct {
  char preset[16];
  unsigned rooms, per_room, publishers;
  bool video;
  double duration, warmup, ramp;
  unsigned bitrate;
  char *server, *janus, *media_dir;
  int server_pid, janus_pid;
  bool json;
  char *json_out;
  bool ramp_mode;
  unsigned ramp_step, ramp_max;
  double ramp_step_s, ramp_loss_pct, ramp_p99_ms;
  char *local_addr, *allow_addr;
  unsigned verbose;
  char *room_prefix;
  bool make_media_only, stamp, no_batch_recv;
  unsigned repeat;
  double link_lo_kbps, link_hi_kbps; /* --link-kbps: subscribers behind a simulated link */
  bool simulcast;
  unsigned churn;    /* --churn N: participants joining and leaving beside the load */
  double churn_rate; /* --churn-rate R: their joins per second */
} opts;

typedef enum {
  PH_JOIN,
  PH_WARMUP,
  PH_STEADY,
  PH_RAMP_JOIN,
  PH_RAMP_SETTLE,
  PH_RAMP_MEASURE,
  PH_DRAIN,
  PH_CLOSE,
  PH_DONE
} phase;

/* Counters and CPU at the start of a measured window. */
typedef struct {
  bench_counters c;
  int64_t t_us;
  double srv_cpu, self_cpu;
  long rss_peak;
  uint64_t rcvbuf_errors;
  double srv_wait, self_wait;
} snapshot;

typedef struct {
  opts *o;
  bench_run *run;
  GMainLoop *loop;
  GPtrArray *peers, *rooms;
  phase ph;
  int64_t ph_until, next_join_us, deadline_us, next_rss_us;
  unsigned to_start; /* index of the next peer to start */
  bool media_on;
  int pid;
  snapshot w0;
  long rss_peak;
  bench_result *res;
  /* ramp */
  unsigned subs;
  int64_t step_started_us;
  int64_t last_tick_us, max_gap_us; /* the bench's own loop: a long gap means it was starved */
  bench_churn *churn;               /* during the measured window, with --churn */
} pass;

static volatile sig_atomic_t g_interrupted;
static void on_signal(int sig) {
  (void)sig;
  g_interrupted = 1;
}

static void log_filter(const gchar *dom, GLogLevelFlags lvl, const gchar *msg, gpointer ud) {
  unsigned verbose = *(unsigned *)ud;
  if ((lvl & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) || (verbose >= 1 && (lvl & G_LOG_LEVEL_WARNING)) ||
      verbose >= 2)
    fprintf(stderr, "%s: %s\n", dom ? dom : "bench", msg);
}

/* ---- scenario ---- */

static bench_room *room_new(pass *ps, unsigned i) {
  bench_room *r = g_new0(bench_room, 1);
  snprintf(r->name, sizeof r->name, "%s-r%u", ps->o->room_prefix, i);
  r->index = i;
  r->members = g_ptr_array_new();
  g_ptr_array_add(ps->rooms, r);
  return r;
}

static void build(pass *ps) {
  opts *o = ps->o;
  unsigned idx = 0;
  for (unsigned r = 0; r < o->rooms; r++) {
    bench_room *room = room_new(ps, r);
    for (unsigned i = 0; i < o->per_room; i++) {
      bool pub = i < o->publishers; /* publishers join first: later joiners measure join time */
      g_ptr_array_add(ps->peers, bench_peer_new(ps->run, room, idx++, pub, pub && o->video));
    }
  }
}

static void add_subscribers(pass *ps, unsigned n) {
  bench_room *room = g_ptr_array_index(ps->rooms, 0);
  for (unsigned i = 0; i < n; i++)
    g_ptr_array_add(ps->peers, bench_peer_new(ps->run, room, ps->peers->len, false, false));
}

/* ---- windows ---- */

static void window_begin(pass *ps, int64_t now) {
  for (guint i = 0; i < ps->peers->len; i++) {
    bench_peer *p = g_ptr_array_index(ps->peers, i);
    if (p->cc) bench_cc_window(p->cc, true, now);
  }
  ps->w0.c = ps->run->c;
  ps->w0.t_us = now;
  ps->w0.srv_cpu = ps->pid > 0 ? bench_proc_cpu_s(ps->pid) : -1;
  ps->w0.self_cpu = bench_proc_cpu_s(0);
  ps->w0.rcvbuf_errors = bench_proc_udp_rcvbuf_errors();
  ps->w0.srv_wait = ps->pid > 0 ? bench_proc_runq_wait_s(ps->pid) : -1;
  ps->w0.self_wait = bench_proc_runq_wait_s(0);
  ps->rss_peak = ps->pid > 0 ? bench_proc_rss_kb(ps->pid) : -1;
  bench_hist_reset(&ps->run->delay);
  ps->max_gap_us = 0;
  ps->run->measuring = true;
}

/* Figures of the window that ends now into r. */
static void window_end(pass *ps, int64_t now, bench_result *r) {
  bench_run *run = ps->run;
  run->measuring = false;
  const bench_counters *a = &ps->w0.c, *b = &run->c;
  double s = (double)(now - ps->w0.t_us) / 1e6;
  r->window_s = s;
  r->in_pps = (double)(b->pub_pkts - a->pub_pkts) / s;
  r->in_kbps = (double)(b->pub_bytes - a->pub_bytes) * 8 / s / 1000;
  uint64_t out = b->sub_pkts - a->sub_pkts;
  r->out_pps = (double)out / s;
  r->out_kbps = (double)(b->sub_bytes - a->sub_bytes) * 8 / s / 1000;
  uint64_t exp = b->sub_expected - a->sub_expected, gaps = b->sub_gaps - a->sub_gaps;
  uint64_t rec = b->sub_recovered - a->sub_recovered;
  r->loss_before_pct = exp ? 100.0 * (double)gaps / (double)exp : 0;
  r->loss_after_pct = exp ? 100.0 * (double)(gaps > rec ? gaps - rec : 0) / (double)exp : 0;
  r->nacks_out = b->sub_nacks_out - a->sub_nacks_out;
  r->plis_out = b->sub_plis_out - a->sub_plis_out;
  r->rtx_recovered = rec;
  r->pub_nacks_in = b->pub_nacks_in - a->pub_nacks_in;
  r->pub_plis_in = b->pub_plis_in - a->pub_plis_in;
  r->gen_late = b->gen_late - a->gen_late;
  r->max_tick_gap_ms = (double)ps->max_gap_us / 1000.0;
  r->udp_rcvbuf_drops = bench_proc_udp_rcvbuf_errors() - ps->w0.rcvbuf_errors;
  r->server_runq_wait_s = ps->w0.srv_wait >= 0 ? bench_proc_runq_wait_s(ps->pid) - ps->w0.srv_wait : -1;
  r->bench_runq_wait_s = bench_proc_runq_wait_s(0) - ps->w0.self_wait;
  r->delay_p50 = bench_hist_pct(&run->delay, 50);
  r->delay_p95 = bench_hist_pct(&run->delay, 95);
  r->delay_p99 = bench_hist_pct(&run->delay, 99);
  r->server_pid = ps->pid;
  r->server_cpu_s = -1;
  r->us_per_pkt = r->pps_per_core = -1;
  if (ps->pid > 0 && ps->w0.srv_cpu >= 0) {
    double cpu = bench_proc_cpu_s(ps->pid);
    if (cpu >= 0) {
      r->server_cpu_s = cpu - ps->w0.srv_cpu;
      r->server_cpu_pct = 100.0 * r->server_cpu_s / s;
      if (out) r->us_per_pkt = r->server_cpu_s * 1e6 / (double)out;
      if (r->server_cpu_s > 0) r->pps_per_core = (double)out / r->server_cpu_s;
    }
    r->server_rss_peak_kb = ps->rss_peak;
    r->server_hwm_kb = bench_proc_hwm_kb(ps->pid);
  }
  r->bench_cpu_pct = 100.0 * (bench_proc_cpu_s(0) - ps->w0.self_cpu) / s;
}

/* Streams delivered vs expected: every joined participant should receive
 * most of each kind each other joined publisher of its room sends. */
static void count_streams(pass *ps, bench_result *r) {
  int64_t now = g_get_monotonic_time();
  r->streams_expected = r->streams_delivered = 0;
  for (guint i = 0; i < ps->peers->len; i++) {
    bench_peer *p = g_ptr_array_index(ps->peers, i);
    if (p->state != BP_UP) continue;
    for (guint j = 0; j < p->room->members->len; j++) {
      bench_peer *q = g_ptr_array_index(p->room->members, j);
      if (q == p || q->state != BP_UP || !q->id[0]) continue;
      for (int k = 0; k < 2; k++) {
        if (!(k ? q->pub_video : q->pub_audio)) continue;
        r->streams_expected++;
        /* A simulcast video is delivered as one of its layers: judged by the
         * lowest one's packet count (the fewest of the three). */
        uint64_t sent = k && ps->run->simulcast ? q->sim[0].pkts : q->snd[k].pkts;
        for (guint s = 0; s < p->streams->len; s++) {
          bench_rstream *st = g_ptr_array_index(p->streams, s);
          if (st->video == (k == 1) && !strcmp(st->pub_id, q->id) &&
              bench_rstream_delivered(st, sent, q->t_up, now, p->cc != NULL)) {
            r->streams_delivered++;
            break;
          }
        }
      }
    }
  }
}

static unsigned joined_or_done(pass *ps) {
  unsigned n = 0;
  for (guint i = 0; i < ps->peers->len; i++) {
    bench_peer *p = g_ptr_array_index(ps->peers, i);
    if (p->state != BP_JOINING && p->state != BP_IDLE) n++;
  }
  return n;
}

static void start_due(pass *ps, int64_t now) {
  while (ps->to_start < ps->peers->len && ps->next_join_us <= now) {
    bench_peer_start(g_ptr_array_index(ps->peers, ps->to_start++), now);
    ps->next_join_us += (int64_t)(1e6 / ps->o->ramp);
  }
}

/* Medians of each step over the participants that joined a sending room. */
static void join_timeline(pass *ps, bench_result *r) {
  GArray *tl = ps->run->join_tl;
  g_array_set_size(tl, 0);
  for (guint i = 0; i < ps->peers->len; i++)
    bench_peer_timeline(g_ptr_array_index(ps->peers, i));
  r->tl_samples = tl->len;
  GArray *col = g_array_new(FALSE, FALSE, sizeof(double));
  for (int k = 0; k < BENCH_TL_N; k++) {
    g_array_set_size(col, 0);
    for (guint i = 0; i < tl->len; i++) {
      double v = ((double *)tl->data)[i * BENCH_TL_N + k];
      if (v >= 0) g_array_append_val(col, v);
    }
    r->tl_p50[k] = col->len ? bench_samples_pct(col, 50) : -1;
  }
  g_array_free(col, TRUE);
}

static void finish_joins(pass *ps, bench_result *r) {
  bench_run *run = ps->run;
  r->joins_attempted = run->joins_attempted;
  r->joins_ok = run->joins_ok;
  r->joins_failed = run->joins_failed;
  r->drops = run->drops;
  r->join_samples = run->join_ms->len;
  r->join_p50 = bench_samples_pct(run->join_ms, 50);
  r->join_p95 = bench_samples_pct(run->join_ms, 95);
  r->join_p99 = bench_samples_pct(run->join_ms, 99);
  join_timeline(ps, r);
}

static void go(pass *ps, phase ph, int64_t until) {
  ps->ph = ph;
  ps->ph_until = until;
  if (ps->o->verbose) fprintf(stderr, "sfu-bench: phase %d (%u peers)\n", ph, ps->peers->len);
}

/* Ramp: one step measured; true if the load was held. */
static bool ramp_step_ok(pass *ps, const bench_result *w, char *why, size_t n) {
  opts *o = ps->o;
  if (ps->run->joins_failed || ps->run->drops) {
    snprintf(why, n, "%u join(s) failed or dropped", ps->run->joins_failed + ps->run->drops);
    return false;
  }
  if (w->loss_after_pct > o->ramp_loss_pct) {
    snprintf(why, n, "loss %.2f %% > %.2f %% at %u subscribers", w->loss_after_pct, o->ramp_loss_pct,
             ps->subs);
    return false;
  }
  if (w->delay_p99 > o->ramp_p99_ms) {
    snprintf(why, n, "p99 delay %.1f ms > %.0f ms at %u subscribers", w->delay_p99, o->ramp_p99_ms, ps->subs);
    return false;
  }
  return true;
}

static gboolean tick(gpointer ud) {
  pass *ps = ud;
  opts *o = ps->o;
  int64_t now = g_get_monotonic_time();
  if (ps->run->measuring && ps->last_tick_us && now - ps->last_tick_us > ps->max_gap_us)
    ps->max_gap_us = now - ps->last_tick_us;
  ps->last_tick_us = now;
  if (ps->run->new_sockets) {
    ps->run->new_sockets = false;
    bench_proc_grow_udp_buffers(BENCH_RCVBUF);
  }
  for (guint i = 0; i < ps->peers->len; i++)
    bench_peer_tick(g_ptr_array_index(ps->peers, i), now, ps->media_on);
  if (ps->churn) bench_churn_tick(ps->churn, now);
  if (ps->run->measuring && now >= ps->next_rss_us && ps->pid > 0) {
    ps->next_rss_us = now + 1000000;
    long rss = bench_proc_rss_kb(ps->pid);
    if (rss > ps->rss_peak) ps->rss_peak = rss;
  }
  if ((g_interrupted || now > ps->deadline_us) && ps->ph < PH_DRAIN) {
    fprintf(stderr, "sfu-bench: %s: stopping early\n", g_interrupted ? "interrupted" : "time limit reached");
    ps->run->measuring = false;
    ps->media_on = false;
    go(ps, PH_DRAIN, now);
  }
  switch (ps->ph) {
  case PH_JOIN:
    start_due(ps, now);
    if (ps->to_start == ps->peers->len && joined_or_done(ps) == ps->peers->len) {
      finish_joins(ps, ps->res);
      go(ps, PH_WARMUP, now + (int64_t)(o->warmup * 1e6));
    }
    break;
  case PH_WARMUP:
    if (now >= ps->ph_until) {
      window_begin(ps, now);
      if (o->churn && !o->ramp_mode)
        ps->churn = bench_churn_new(ps->run, o->room_prefix, o->churn, o->churn_rate);
      if (o->ramp_mode) {
        ps->step_started_us = now;
        go(ps, PH_RAMP_MEASURE, now + (int64_t)(o->ramp_step_s * 1e6));
      } else {
        go(ps, PH_STEADY, now + (int64_t)(o->duration * 1e6));
      }
    }
    break;
  case PH_STEADY:
    if (now >= ps->ph_until) {
      window_end(ps, now, ps->res);
      for (guint i = 0; i < ps->peers->len; i++) {
        bench_peer *p = g_ptr_array_index(ps->peers, i);
        if (p->cc) bench_cc_window(p->cc, false, now);
      }
      if (o->link_lo_kbps > 0) bench_cc_report(o->json ? stderr : stdout, ps->peers);
      if (ps->churn) {
        bench_churn_counts(ps->churn, &ps->res->churn_joins, &ps->res->churn_ok, &ps->res->churn_failed);
        bench_churn_stop(ps->churn, now);
      }
      ps->media_on = false;
      go(ps, PH_DRAIN, now + DRAIN_US);
    }
    break;
  case PH_RAMP_MEASURE:
    if (now >= ps->ph_until) {
      bench_result w = *ps->res;
      window_end(ps, now, &w);
      char why[128];
      bool ok = ramp_step_ok(ps, &w, why, sizeof why);
      if (o->verbose || !o->json)
        fprintf(stderr,
                "sfu-bench: ramp: %u subscribers: out %.0f pkt/s, loss %.2f %%, p99 %.1f ms, server CPU %.0f "
                "%%%s\n",
                ps->subs, w.out_pps, w.loss_after_pct, w.delay_p99, w.server_cpu_pct, ok ? "" : " -> stop");
      if (ok) {
        /* Keep the window's figures as those of the largest load held. */
        bench_result keep = w;
        finish_joins(ps, &keep);
        keep.ramp = true;
        keep.ramp_held_subs = ps->subs;
        keep.ramp_held_out_pps = w.out_pps;
        keep.ramp_held_us_per_pkt = w.us_per_pkt;
        keep.ramp_steps = ps->res->ramp_steps + 1;
        *ps->res = keep;
      } else {
        g_strlcpy(ps->res->ramp_stop, why, sizeof ps->res->ramp_stop);
      }
      if (!ok || ps->subs + o->ramp_step > o->ramp_max) {
        if (ok) snprintf(ps->res->ramp_stop, sizeof ps->res->ramp_stop, "reached --ramp-max %u", o->ramp_max);
        ps->media_on = false;
        go(ps, PH_DRAIN, now + DRAIN_US);
      } else {
        add_subscribers(ps, o->ramp_step);
        ps->subs += o->ramp_step;
        ps->next_join_us = now;
        go(ps, PH_RAMP_JOIN, 0);
      }
    }
    break;
  case PH_RAMP_JOIN:
    start_due(ps, now);
    if (ps->to_start == ps->peers->len && joined_or_done(ps) == ps->peers->len)
      go(ps, PH_RAMP_SETTLE, now + 2000000);
    break;
  case PH_RAMP_SETTLE:
    if (now >= ps->ph_until) {
      window_begin(ps, now);
      go(ps, PH_RAMP_MEASURE, now + (int64_t)(o->ramp_step_s * 1e6));
    }
    break;
  case PH_DRAIN:
    if (now >= ps->ph_until) {
      if (!ps->res->joins_attempted || !o->ramp_mode) finish_joins(ps, ps->res);
      count_streams(ps, ps->res);
      for (guint i = 0; i < ps->peers->len; i++)
        bench_peer_leave(g_ptr_array_index(ps->peers, i));
      go(ps, PH_CLOSE, now + CLOSE_WAIT_US);
    }
    break;
  case PH_CLOSE:
    if (now >= ps->ph_until || bench_ws_live() == 0) {
      go(ps, PH_DONE, 0);
      g_main_loop_quit(ps->loop);
      return G_SOURCE_REMOVE;
    }
    break;
  case PH_DONE:
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static int server_port(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  const char *c = strchr(p, ':');
  return c ? atoi(c + 1) : 80;
}

/* One full pass of the scenario against one server. */
static int run_pass(opts *o, bench_run *run, GMainLoop *loop, const char *url, bool janus, int pid,
                    bench_result *r) {
  memset(r, 0, sizeof *r);
  g_strlcpy(r->label, janus ? "janus" : "sfu", sizeof r->label);
  g_strlcpy(r->preset, o->preset, sizeof r->preset);
  r->rooms = o->rooms;
  r->per_room = o->per_room;
  r->publishers = o->publishers;
  r->video = o->video;
  r->churn = o->churn;
  r->churn_rate = o->churn_rate;
  r->server_pid = -1;
  run->batch_recv =
      !o->no_batch_recv && !janus; /* Janus's keepalive checks want answers: libnice keeps its sockets */
  memset(&run->c, 0, sizeof run->c);
  g_array_set_size(run->join_ms, 0);
  run->joins_attempted = run->joins_ok = run->joins_failed = run->drops = 0;
  run->url = (char *)url;
  run->janus = janus;
  run->measuring = false;

  pass ps = {.o = o, .run = run, .loop = loop, .res = r, .media_on = true};
  ps.peers = g_ptr_array_new();
  ps.rooms = g_ptr_array_new();
  ps.pid = pid > 0 ? pid : bench_proc_find_by_port((unsigned)server_port(url));
  if (ps.pid <= 0) fprintf(stderr, "sfu-bench: %s: server process not found: no CPU figures\n", r->label);
  build(&ps);
  if (o->link_lo_kbps > 0) bench_cc_assign(ps.peers, o->link_lo_kbps, o->link_hi_kbps);
  ps.subs = o->per_room - o->publishers;
  int64_t now = g_get_monotonic_time();
  ps.next_join_us = now;
  double join_s = (double)ps.peers->len / o->ramp + 20;
  double total = join_s + o->warmup + o->duration + 15;
  if (o->ramp_mode)
    total = join_s + o->warmup +
            (double)(o->ramp_max / (o->ramp_step ? o->ramp_step : 1) + 1) *
                (o->ramp_step_s + 4 + (double)o->ramp_step / o->ramp) +
            15;
  ps.deadline_us = now + (int64_t)(total * 1e6);
  go(&ps, PH_JOIN, 0);
  GSource *t = g_timeout_source_new(TICK_MS);
  g_source_set_callback(t, tick, &ps, NULL);
  g_source_attach(t, run->ctx);
  g_main_loop_run(loop);
  g_source_destroy(t);
  g_source_unref(t);
  for (guint i = 0; i < ps.peers->len; i++)
    bench_peer_free(g_ptr_array_index(ps.peers, i));
  bench_churn_free(ps.churn);
  /* Let the transports' deferred frees and the last WebSocket closes run. */
  for (int i = 0; i < 200 && g_main_context_iteration(run->ctx, FALSE); i++) {
  }
  for (guint i = 0; i < ps.rooms->len; i++) {
    bench_room *room = g_ptr_array_index(ps.rooms, i);
    g_ptr_array_free(room->members, TRUE);
    g_free(room);
  }
  g_ptr_array_free(ps.peers, TRUE);
  g_ptr_array_free(ps.rooms, TRUE);
  return 0;
}

/* ---- options ---- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: sfu-bench [--preset meeting|webinar|rooms|audio] [options]\n"
          "  --server URL        our server, ws://127.0.0.1:PORT/ws (default ws://127.0.0.1:8080/ws)\n"
          "  --server-pid PID    its process (default: found by the port)\n"
          "  --janus URL         also run the load against Janus (ws://IP:8188), --janus-pid PID\n"
          "  --rooms N --per-room N --publishers N (per room; 0 = everyone)\n"
          "  --audio-only        publishers send no video\n"
          "  --duration S        measured window (s)       --warmup S   before it (s)\n"
          "  --ramp R            joins per second          --bitrate K  video kbit/s\n"
          "  --ramp-mode         add subscribers to room 0 until loss > --max-loss %% (1)\n"
          "                      or p99 delay > --max-p99 ms (100); --step N, --step-time S, --ramp-max N\n"
          "  --media-dir DIR     where the ffmpeg-made clips are kept (default %s)\n"
          "  --payload-stamp     also put the send time in the last 5 payload bytes (on with --janus)\n"
          "  --no-batch-recv     subscribers read through libnice, one recvmsg per datagram (A/B)\n"
          "  --local-addr IP     address our candidates use (default 127.0.0.1)\n"
          "  --allow-addr PFX    server candidate addresses used (default 127.)\n"
          "  --repeat N          N passes (each: joins, window, leave); medians with min and max\n"
          "  --link-kbps LO[-HI] subscribers behind simulated links of LO..HI kbit/s (spread), answering\n"
          "                      with transport-cc feedback; a table per subscriber follows the report\n"
          "  --simulcast         video publishers send three layers q, h, f (bench_simulcast.c)\n"
          "  --churn N           N more participants join and leave (each its own room, publishing)\n"
          "                      during the window, --churn-rate R joins per second (10)\n"
          "  --json              print JSON instead of the table; --json-out FILE also writes it\n"
          "  -v                  more logging (twice: transport logs)\n",
          BENCH_MEDIA_DIR);
}

static int apply_preset(opts *o, const char *name) {
  g_strlcpy(o->preset, name, sizeof o->preset);
  o->video = true;
  o->rooms = 1;
  if (!strcmp(name, "meeting")) {
    o->per_room = 4;
    o->publishers = 0;
  } else if (!strcmp(name, "webinar")) {
    o->per_room = 51;
    o->publishers = 1;
  } else if (!strcmp(name, "rooms")) {
    o->rooms = 10;
    o->per_room = 3;
    o->publishers = 0;
  } else if (!strcmp(name, "audio")) {
    o->per_room = 50;
    o->publishers = 10;
    o->video = false;
  } else {
    return -1;
  }
  return 0;
}

static bool num(const char *s, double lo, double hi, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (!*s || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static int parse(opts *o, int argc, char **argv) {
  enum {
    O_PRESET = 256,
    O_SERVER,
    O_SERVER_PID,
    O_JANUS,
    O_JANUS_PID,
    O_ROOMS,
    O_PER_ROOM,
    O_PUBS,
    O_AUDIO_ONLY,
    O_DURATION,
    O_WARMUP,
    O_RAMP,
    O_BITRATE,
    O_RAMP_MODE,
    O_STEP,
    O_STEP_TIME,
    O_RAMP_MAX,
    O_MAX_LOSS,
    O_MAX_P99,
    O_MEDIA,
    O_LOCAL,
    O_ALLOW,
    O_JSON,
    O_JSON_OUT,
    O_HELP,
    O_PREFIX,
    O_MAKE_MEDIA,
    O_STAMP,
    O_REPEAT,
    O_LINK,
    O_SIMULCAST,
    O_CHURN,
    O_CHURN_RATE,
    O_NO_BATCH_RECV,
  };
  static const struct option lo[] = {
      {"preset", 1, 0, O_PRESET},
      {"server", 1, 0, O_SERVER},
      {"server-pid", 1, 0, O_SERVER_PID},
      {"janus", 1, 0, O_JANUS},
      {"janus-pid", 1, 0, O_JANUS_PID},
      {"rooms", 1, 0, O_ROOMS},
      {"per-room", 1, 0, O_PER_ROOM},
      {"publishers", 1, 0, O_PUBS},
      {"audio-only", 0, 0, O_AUDIO_ONLY},
      {"duration", 1, 0, O_DURATION},
      {"warmup", 1, 0, O_WARMUP},
      {"ramp", 1, 0, O_RAMP},
      {"bitrate", 1, 0, O_BITRATE},
      {"ramp-mode", 0, 0, O_RAMP_MODE},
      {"step", 1, 0, O_STEP},
      {"step-time", 1, 0, O_STEP_TIME},
      {"ramp-max", 1, 0, O_RAMP_MAX},
      {"max-loss", 1, 0, O_MAX_LOSS},
      {"max-p99", 1, 0, O_MAX_P99},
      {"media-dir", 1, 0, O_MEDIA},
      {"local-addr", 1, 0, O_LOCAL},
      {"allow-addr", 1, 0, O_ALLOW},
      {"json", 0, 0, O_JSON},
      {"json-out", 1, 0, O_JSON_OUT},
      {"room-prefix", 1, 0, O_PREFIX},
      {"help", 0, 0, O_HELP},
      {"make-media-only", 0, 0, O_MAKE_MEDIA},
      {"payload-stamp", 0, 0, O_STAMP},
      {"repeat", 1, 0, O_REPEAT},
      {"link-kbps", 1, 0, O_LINK},
      {"simulcast", 0, 0, O_SIMULCAST},
      {"churn", 1, 0, O_CHURN},
      {"churn-rate", 1, 0, O_CHURN_RATE},
      {"no-batch-recv", 0, 0, O_NO_BATCH_RECV},
      {0, 0, 0, 0},
  };
  /* The preset first, so that flags override it wherever they stand. */
  for (int i = 1; i < argc - 1; i++)
    if (!strcmp(argv[i], "--preset") && apply_preset(o, argv[i + 1]) != 0) {
      fprintf(stderr, "sfu-bench: unknown preset \"%s\"\n", argv[i + 1]);
      return -1;
    }
  int c;
  double v;
  while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
    bool ok = true;
    switch (c) {
    case O_PRESET:
      break;
    case O_SERVER:
      o->server = optarg;
      break;
    case O_SERVER_PID:
      ok = num(optarg, 1, 1 << 30, &v), o->server_pid = (int)v;
      break;
    case O_JANUS:
      o->janus = optarg;
      break;
    case O_JANUS_PID:
      ok = num(optarg, 1, 1 << 30, &v), o->janus_pid = (int)v;
      break;
    case O_ROOMS:
      ok = num(optarg, 1, 10000, &v), o->rooms = (unsigned)v;
      break;
    case O_PER_ROOM:
      ok = num(optarg, 1, 10000, &v), o->per_room = (unsigned)v;
      break;
    case O_PUBS:
      ok = num(optarg, 0, 10000, &v), o->publishers = (unsigned)v;
      break;
    case O_AUDIO_ONLY:
      o->video = false;
      break;
    case O_DURATION:
      ok = num(optarg, 1, 3600, &o->duration);
      break;
    case O_WARMUP:
      ok = num(optarg, 0, 600, &o->warmup);
      break;
    case O_RAMP:
      ok = num(optarg, 0.1, 1000, &o->ramp);
      break;
    case O_BITRATE:
      ok = num(optarg, 50, 10000, &v), o->bitrate = (unsigned)v;
      break;
    case O_RAMP_MODE:
      o->ramp_mode = true;
      break;
    case O_STEP:
      ok = num(optarg, 1, 10000, &v), o->ramp_step = (unsigned)v;
      break;
    case O_STEP_TIME:
      ok = num(optarg, 1, 600, &o->ramp_step_s);
      break;
    case O_RAMP_MAX:
      ok = num(optarg, 1, 100000, &v), o->ramp_max = (unsigned)v;
      break;
    case O_MAX_LOSS:
      ok = num(optarg, 0, 100, &o->ramp_loss_pct);
      break;
    case O_MAX_P99:
      ok = num(optarg, 1, 100000, &o->ramp_p99_ms);
      break;
    case O_MEDIA:
      o->media_dir = optarg;
      break;
    case O_LOCAL:
      o->local_addr = optarg;
      break;
    case O_ALLOW:
      o->allow_addr = optarg;
      break;
    case O_JSON:
      o->json = true;
      break;
    case O_JSON_OUT:
      o->json_out = optarg;
      break;
    case O_PREFIX:
      o->room_prefix = optarg;
      break;
    case O_MAKE_MEDIA:
      o->make_media_only = true;
      break;
    case O_STAMP:
      o->stamp = true;
      break;
    case O_NO_BATCH_RECV:
      o->no_batch_recv = true;
      break;
    case O_REPEAT:
      ok = num(optarg, 1, 100, &v), o->repeat = (unsigned)v;
      break;
    case O_LINK: {
      char *dash = strchr(optarg, '-');
      if (dash) *dash = 0;
      ok = num(optarg, 10, 1e6, &o->link_lo_kbps);
      o->link_hi_kbps = o->link_lo_kbps;
      if (ok && dash) ok = num(dash + 1, o->link_lo_kbps, 1e6, &o->link_hi_kbps);
      if (dash) *dash = '-';
      break;
    }
    case O_SIMULCAST:
      o->simulcast = true;
      break;
    case O_CHURN:
      ok = num(optarg, 0, 1000, &v), o->churn = (unsigned)v;
      break;
    case O_CHURN_RATE:
      ok = num(optarg, 0.1, 100, &o->churn_rate);
      break;
    case 'v':
      o->verbose++;
      break;
    case 'h':
    case O_HELP:
      usage(stdout);
      exit(0);
    default:
      usage(stderr);
      return -1;
    }
    if (!ok) {
      fprintf(stderr, "sfu-bench: bad value \"%s\"\n", optarg);
      return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "sfu-bench: unexpected argument \"%s\"\n", argv[optind]);
    return -1;
  }
  if (!o->publishers || o->publishers > o->per_room) o->publishers = o->per_room;
  return 0;
}

int main(int argc, char **argv) {
  opts o = {
      .duration = 20,
      .warmup = 5,
      .ramp = 10,
      .bitrate = 1000,
      .server = "ws://127.0.0.1:8080/ws",
      .media_dir = BENCH_MEDIA_DIR,
      .ramp_step = 25,
      .ramp_max = 1000,
      .churn_rate = 10,
      .ramp_step_s = 5,
      .ramp_loss_pct = 1,
      .ramp_p99_ms = 100,
      .local_addr = "127.0.0.1",
      .allow_addr = "127.",
  };
  apply_preset(&o, "meeting");
  if (parse(&o, argc, argv) != 0) return 2;
  char prefix[48];
  if (!o.room_prefix) {
    snprintf(prefix, sizeof prefix, "bench%d", (int)getpid());
    o.room_prefix = prefix;
  }

  /* Two UDP sockets per participant, plus the server's when it is local. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  g_log_set_default_handler(log_filter, &o.verbose);

  bench_run run = {0};
  char err[512];
  char *ivf = NULL, *ogg = NULL;
  if (bench_clip_ensure(o.media_dir, o.bitrate, &ivf, &ogg, err, sizeof err) != 0 ||
      bench_clip_load(&run.clip, ivf, ogg, err, sizeof err) != 0) {
    fprintf(stderr, "sfu-bench: media: %s\n", err);
    return 1;
  }
  g_free(ivf);
  g_free(ogg);
  if (o.simulcast && bench_sim_load_clips(&run, o.media_dir, err, sizeof err) != 0) {
    fprintf(stderr, "sfu-bench: simulcast media: %s\n", err);
    return 1;
  }
  run.simulcast = o.simulcast;
  if (o.make_media_only) {
    bench_sim_free_clips(&run);
    bench_clip_free(&run.clip);
    return 0;
  }
  if (tp_cert_new(&run.cert, err, sizeof err) != 0) {
    fprintf(stderr, "sfu-bench: certificate: %s\n", err);
    return 1;
  }
  const char *local[] = {o.local_addr, NULL};
  const char *allow[] = {o.allow_addr, NULL};
  run.local_addrs = local;
  run.allow_addrs = allow;
  run.verbose = o.verbose;
  run.stamp = o.janus != NULL || o.stamp; /* same packets for both servers */
  run.ctx = g_main_context_default();
  run.join_ms = g_array_new(FALSE, FALSE, sizeof(double));
  run.join_tl = g_array_new(FALSE, FALSE, sizeof(double) * BENCH_TL_N);
  bench_hist_init(&run.delay);
  GMainLoop *loop = g_main_loop_new(run.ctx, FALSE);
  if (bench_ws_init(loop, o.verbose, err, sizeof err) != 0) {
    fprintf(stderr, "sfu-bench: %s\n", err);
    return 1;
  }
  if (!o.no_batch_recv && bench_rx_init(run.ctx) != 0)
    fprintf(stderr, "sfu-bench: no epoll: libnice reads\n");

  /* Passes: ours, then Janus's, repeated; interleaved so that the machine's
   * noise falls on both alike. */
  unsigned nrep = o.repeat ? o.repeat : 1;
  size_t nsrv = o.janus ? 2 : 1;
  bench_result *res = g_new0(bench_result, nrep * nsrv);
  unsigned done = 0;
  char *base_prefix = g_strdup(o.room_prefix);
  for (unsigned i = 0; i < nrep && !g_interrupted; i++) {
    char pfx[96];
    snprintf(pfx, sizeof pfx, "%s-%u", base_prefix, i);
    o.room_prefix = pfx;
    run_pass(&o, &run, loop, o.server, false, o.server_pid, &res[i * nsrv]);
    if (o.janus && !g_interrupted) {
      run.janus_room = 100000u + (unsigned)(getpid() % 1000) * 100000u + i * 20000u;
      run_pass(&o, &run, loop, o.janus, true, o.janus_pid, &res[i * nsrv + 1]);
    }
    done = i + 1;
    if (nrep > 1 && !o.json)
      fprintf(stderr, "sfu-bench: run %u of %u done: %.2f us/pkt%s\n", done, nrep, res[i * nsrv].us_per_pkt,
              o.janus ? " (ours)" : "");
  }
  o.room_prefix = base_prefix;

  FILE *outs[2] = {stdout, o.json_out ? fopen(o.json_out, "w") : NULL};
  for (int k = 0; k < 2; k++) {
    if (!outs[k]) continue;
    bool json = k == 1 || o.json;
    if (done <= 1)
      (json ? bench_report_json : bench_report_table)(outs[k], res, nsrv);
    else
      bench_report_repeats(outs[k], res, nsrv, done, json);
    if (k == 1) fclose(outs[k]);
  }
  size_t nres = done * nsrv;

  bench_ws_shutdown();
  bench_rx_shutdown();
  g_main_loop_unref(loop);
  bench_hist_free(&run.delay);
  g_array_free(run.join_ms, TRUE);
  g_array_free(run.join_tl, TRUE);
  tp_cert_free(run.cert);
  bench_clip_free(&run.clip);
  bench_sim_free_clips(&run);
  g_free(base_prefix);
  /* Exit status: 0 only if every join succeeded and every stream arrived. */
  int rc = 0;
  for (size_t i = 0; i < nres; i++)
    if (o.ramp_mode ? !res[i].ramp_held_subs
                    : res[i].joins_failed || res[i].streams_delivered < res[i].streams_expected ||
                          !res[i].streams_expected)
      rc = 3;
  g_free(res);
  return g_interrupted ? 130 : rc;
}
