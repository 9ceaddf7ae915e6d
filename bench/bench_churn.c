/* bench_churn: participants that join and leave while the measured load
 * runs, to show that the control plane (signaling, SDP, room policy,
 * transport set-up) does not stall forwarding. Each churner joins a room of
 * its own, publishes audio and video (a publish offer and its answer, two
 * transports, ICE and DTLS), stays pool/rate seconds and leaves; a new one
 * takes its slot. Alone in its room, it receives nothing, so the measured
 * figures stay the load's; its joins are counted apart (its own copy of
 * the run's counters). Main thread (the bench's GLib loop). */
#include <glib.h>
#include <string.h>

#include "bench.h"
#include "bench_churn.h"

#define RETIRE_US 2000000 /* a left churner's transports close after its leave has arrived */

typedef struct {
  bench_peer *p;
  int64_t left_us;
} retired;

struct bench_churn {
  bench_run run; /* the load's run, with counters of its own */
  unsigned pool;
  double rate;
  bench_room *rooms;
  bench_peer **slot;
  GArray *retired; /* retired */
  unsigned next_slot, serial;
  int64_t next_us;
  bool stopped;
  unsigned joins;
};

bench_churn *bench_churn_new(const bench_run *run, const char *prefix, unsigned pool, double rate) {
  bench_churn *c = g_new0(bench_churn, 1);
  c->run = *run;
  memset(&c->run.c, 0, sizeof c->run.c);
  memset(&c->run.delay, 0, sizeof c->run.delay);
  c->run.measuring = false;
  c->run.join_ms = g_array_new(FALSE, FALSE, sizeof(double));
  c->run.join_tl = g_array_new(FALSE, FALSE, sizeof(double) * BENCH_TL_N);
  c->run.joins_attempted = c->run.joins_ok = c->run.joins_failed = c->run.drops = 0;
  c->pool = pool;
  c->rate = rate;
  c->rooms = g_new0(bench_room, pool);
  c->slot = g_new0(bench_peer *, pool);
  for (unsigned i = 0; i < pool; i++) {
    snprintf(c->rooms[i].name, sizeof c->rooms[i].name, "%s-churn%u", prefix, i);
    c->rooms[i].index = 100000 + i;
    c->rooms[i].members = g_ptr_array_new();
  }
  c->retired = g_array_new(FALSE, FALSE, sizeof(retired));
  return c;
}

static void retire(bench_churn *c, bench_peer *p, int64_t now) {
  bench_peer_leave(p);
  g_ptr_array_remove(p->room->members, p);
  retired r = {.p = p, .left_us = now};
  g_array_append_val(c->retired, r);
}

static void reap(bench_churn *c, int64_t now, bool all) {
  guint i = 0;
  while (i < c->retired->len) {
    retired *r = &g_array_index(c->retired, retired, i);
    if (!all && now - r->left_us < RETIRE_US) {
      i++;
      continue;
    }
    bench_peer_free(r->p);
    g_array_remove_index_fast(c->retired, i);
  }
}

void bench_churn_tick(bench_churn *c, int64_t now) {
  for (guint i = 0; i < c->pool; i++)
    if (c->slot[i]) bench_peer_tick(c->slot[i], now, true);
  reap(c, now, false);
  if (c->stopped) return;
  if (!c->next_us) c->next_us = now;
  /* Bounded catch-up: a stalled loop does not start a burst of joins. */
  for (int k = 0; k < 4 && now >= c->next_us; k++) {
    c->next_us += (int64_t)(1e6 / c->rate);
    unsigned s = c->next_slot++ % c->pool;
    if (c->slot[s]) retire(c, c->slot[s], now);
    c->slot[s] = bench_peer_new(&c->run, &c->rooms[s], 1000000 + c->serial++, true, true);
    bench_peer_start(c->slot[s], now);
    c->joins++;
  }
}

void bench_churn_stop(bench_churn *c, int64_t now) {
  c->stopped = true;
  for (unsigned i = 0; i < c->pool; i++)
    if (c->slot[i]) {
      retire(c, c->slot[i], now);
      c->slot[i] = NULL;
    }
}

void bench_churn_counts(const bench_churn *c, unsigned *joins, unsigned *ok, unsigned *failed) {
  *joins = c->joins;
  *ok = c->run.joins_ok;
  *failed = c->run.joins_failed + c->run.drops;
}

void bench_churn_free(bench_churn *c) {
  if (!c) return;
  bench_churn_stop(c, 0);
  reap(c, 0, true);
  for (unsigned i = 0; i < c->pool; i++)
    g_ptr_array_free(c->rooms[i].members, TRUE);
  g_free(c->rooms);
  g_free(c->slot);
  g_array_free(c->retired, TRUE);
  g_array_free(c->run.join_ms, TRUE);
  g_array_free(c->run.join_tl, TRUE);
  g_free(c);
}
