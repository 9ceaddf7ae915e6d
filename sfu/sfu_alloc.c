/* sfu_alloc: per-subscriber layer allocation with hysteresis. */
#include "sfu_alloc.h"

#include <string.h>

#define STEPS (SFU_ALLOC_MAX_SPATIAL * SFU_ALLOC_MAX_TEMPORAL)

typedef struct {
  int8_t s, t;
  uint32_t bps;
} step;

/* One track's view for this run: its usable layers in ascending order. */
typedef struct {
  step st[STEPS];
  int n;                /* usable layers; the last is the ceiling */
  int cur;              /* index of the current layer (or the best one below it), -1 none */
  int cap_down, cap_up; /* how far each pass may go */
  int down, up, fin;    /* results */
} plan;

static void build_steps(const sfu_alloc_track *t, plan *p) {
  p->n = 0;
  for (int s = 0; s < SFU_ALLOC_MAX_SPATIAL; s++) {
    if (t->max_spatial >= 0 && s > t->max_spatial) break;
    for (int k = 0; k < SFU_ALLOC_MAX_TEMPORAL; k++) {
      if (t->max_temporal >= 0 && k > t->max_temporal) break;
      if (t->bps[s][k] > 0) p->st[p->n++] = (step){(int8_t)s, (int8_t)k, t->bps[s][k]};
    }
  }
}

/* Highest usable layer at or below (s, t). */
static int index_at_or_below(const plan *p, int s, int t) {
  int best = -1;
  for (int k = 0; k < p->n; k++)
    if (p->st[k].s < s || (p->st[k].s == s && p->st[k].t <= t)) best = k;
  return s < 0 ? -1 : best;
}

static uint32_t cost(const plan *p, int k) {
  return k >= 0 ? p->st[k].bps : 0;
}

/* Every track its lowest layer first (as many tracks as possible, none
 * paused if it can be helped; all of them while the estimate is a first
 * guess: a video held back then is a black tile the page opened on), then
 * by priority each climbs as far as the budget allows. */
static void greedy(plan *pl, const int *order, int n, double budget, bool up, bool keep_all) {
  double used = 0;
  for (int j = 0; j < n; j++) {
    plan *p = &pl[order[j]];
    int cap = up ? p->cap_up : p->cap_down;
    int *res = up ? &p->up : &p->down;
    *res = -1;
    if (cap >= 0 && (keep_all || used + cost(p, 0) <= budget)) {
      *res = 0;
      used += cost(p, 0);
    }
  }
  for (int j = 0; j < n; j++) {
    plan *p = &pl[order[j]];
    int cap = up ? p->cap_up : p->cap_down;
    int *res = up ? &p->up : &p->down;
    while (*res >= 0 && *res < cap) {
      double d = (double)cost(p, *res + 1) - cost(p, *res); /* a spatial step replaces the stream */
      if (used + d > budget) break;
      used += d;
      (*res)++;
    }
  }
}

static bool before(const sfu_alloc_track *a, const sfu_alloc_track *b) {
  if (a->klass != b->klass) return a->klass < b->klass;
  if (a->area != b->area) return a->area > b->area;
  return a->id < b->id;
}

static void sort_by_priority(const sfu_alloc_track *tr, int *order, int n) {
  for (int i = 0; i < n; i++) {
    int v = order[i], j = i;
    while (j > 0 && before(&tr[v], &tr[order[j - 1]])) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }
}

/* The upgrade this track may take now (its stable period over), or p->down. */
static int upgrade(sfu_alloc_track *t, plan *p, int64_t now, const sfu_alloc_params *pa, bool *waiting) {
  int cand = p->up;
  int64_t hold = t->hold_us ? t->hold_us : pa->bwe_hold_us;
  if (t->bwe_down_us && now - t->bwe_down_us < hold) {
    int s_max = p->down >= 0 ? p->st[p->down].s : 0;
    if (t->s > s_max) s_max = t->s;
    while (cand > p->down && p->st[cand].s > s_max)
      cand--; /* temporal steps only, for now */
  }
  if (cand <= p->down) {
    t->up_since_us = 0;
    return p->down;
  }
  t->up_s = p->st[cand].s;
  t->up_t = p->st[cand].t;
  if (t->up_since_us == 0) t->up_since_us = now;
  if (now - t->up_since_us >= pa->stable_us) {
    t->up_since_us = 0;
    return cand;
  }
  *waiting = true;
  return p->down;
}

/* Upgrades that together overshoot the budget are undone, lowest priority first. */
static void fit(plan *pl, const int *order, int n, double budget) {
  double total = 0;
  for (int j = 0; j < n; j++)
    total += cost(&pl[order[j]], pl[order[j]].fin);
  for (int j = n - 1; j >= 0 && total > budget; j--) {
    plan *p = &pl[order[j]];
    if (p->fin <= p->down) continue;
    total -= (double)cost(p, p->fin) - cost(p, p->down);
    p->fin = p->down;
  }
}

static void forced_down(sfu_alloc_track *t, int64_t now, const sfu_alloc_params *pa) {
  bool failed = t->up_us && now - t->up_us < pa->failed_up_us;
  int64_t h = t->hold_us ? t->hold_us : pa->bwe_hold_us;
  t->hold_us = failed ? (2 * h > pa->hold_max_us ? pa->hold_max_us : 2 * h) : pa->bwe_hold_us;
  t->bwe_down_us = now ? now : 1;
}

static void commit(sfu_alloc_track *t, const plan *p, int64_t now, const sfu_alloc_params *pa) {
  int8_t os = t->s, ot = t->t;
  sfu_alloc_state ostate = t->state;
  int8_t ns = p->fin >= 0 ? p->st[p->fin].s : -1, nt = p->fin >= 0 ? p->st[p->fin].t : -1;
  if (!t->visible)
    t->state = SFU_ALLOC_PAUSED_HIDDEN;
  else if (p->n == 0)
    t->state = SFU_ALLOC_NO_LAYER;
  else if (p->fin < 0)
    t->state = SFU_ALLOC_PAUSED_BANDWIDTH;
  else
    t->state = SFU_ALLOC_ON;
  /* A spatial step down (or a pause) while the old layer is still usable:
   * the bandwidth forced it. */
  bool usable = p->n > 0 && os >= 0 && p->st[p->n - 1].s >= os;
  if (t->allocated && os >= 0 && ns < os && usable && !pa->start_phase && pa->congested)
    forced_down(t, now, pa);
  if (t->allocated && ns > os && os >= 0) t->up_us = now ? now : 1;
  t->s = ns;
  t->t = nt;
  t->changed = ns != os || nt != ot || t->state != ostate;
  t->allocated = t->visible && p->n > 0;
  if (!t->allocated) t->up_since_us = 0;
}

static void plan_track(const sfu_alloc_track *t, plan *p) {
  memset(p, 0, sizeof(*p));
  p->down = p->up = p->fin = -1;
  if (t->visible) build_steps(t, p);
  p->cur = index_at_or_below(p, t->s, t->t < 0 ? 0 : t->t);
  p->cap_up = p->n - 1;
  if (!t->allocated) /* new, just visible again, or layers just appeared: no waiting */
    p->cap_down = p->n - 1;
  else if (t->state == SFU_ALLOC_PAUSED_BANDWIDTH)
    p->cap_down = -1; /* resuming is an upgrade */
  else if (p->cur < 0)
    p->cap_down = p->n - 1; /* the current layer and all below it are gone: take what fits */
  else
    p->cap_down = p->cur;
}

sfu_alloc_params sfu_alloc_default_params(void) {
  return (sfu_alloc_params){.up_headroom = 1.10,
                            .stable_us = 2000000,
                            .bwe_hold_us = 20000000,
                            .failed_up_us = 4000000,
                            .hold_max_us = 80000000,
                            .congested = true};
}

void sfu_alloc_run(sfu_alloc_track *tr, size_t count, int64_t estimate_bps, int64_t audio_bps, int64_t now_us,
                   const sfu_alloc_params *params, sfu_alloc_result *res) {
  sfu_alloc_params pa = params ? *params : sfu_alloc_default_params();
  if (pa.up_headroom < 1.0) pa.up_headroom = 1.0;
  if (pa.hold_max_us < pa.bwe_hold_us) pa.hold_max_us = pa.bwe_hold_us;
  sfu_alloc_result r = {0, audio_bps > 0 ? audio_bps : 0, 0, false};
  int n = count > SFU_ALLOC_MAX_TRACKS ? SFU_ALLOC_MAX_TRACKS : (int)count;
  plan pl[SFU_ALLOC_MAX_TRACKS];
  int order[SFU_ALLOC_MAX_TRACKS];
  for (int i = 0; i < n; i++) {
    plan_track(&tr[i], &pl[i]);
    order[i] = i;
    if (pl[i].n > 0) r.desired_bps += cost(&pl[i], pl[i].n - 1);
  }
  sort_by_priority(tr, order, n);
  double budget = (double)estimate_bps - (double)(audio_bps > 0 ? audio_bps : 0);
  if (budget < 0) budget = 0;
  greedy(pl, order, n, budget, false, pa.start_phase);
  greedy(pl, order, n, budget / pa.up_headroom, true, pa.start_phase);
  for (int j = 0; j < n; j++) {
    int i = order[j];
    pl[i].fin = pl[i].up > pl[i].down ? upgrade(&tr[i], &pl[i], now_us, &pa, &r.waiting) : pl[i].down;
    if (pl[i].up <= pl[i].down) tr[i].up_since_us = 0;
  }
  fit(pl, order, n, budget);
  for (int i = 0; i < n; i++) {
    commit(&tr[i], &pl[i], now_us, &pa);
    r.used_bps += cost(&pl[i], pl[i].fin);
    if (tr[i].state == SFU_ALLOC_PAUSED_BANDWIDTH) r.paused++;
  }
  for (size_t i = (size_t)n; i < count; i++) { /* beyond what one run handles */
    tr[i].changed = tr[i].state != SFU_ALLOC_PAUSED_BANDWIDTH || tr[i].s != -1;
    tr[i].s = tr[i].t = -1;
    tr[i].state = SFU_ALLOC_PAUSED_BANDWIDTH;
    r.paused++;
  }
  if (res) *res = r;
}
