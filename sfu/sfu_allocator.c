/* Allocator glue: estimator in, layer choice out, for one subscriber transport. */
#define G_LOG_DOMAIN "alloc"
#include "sfu_allocator.h"

#include <glib.h>
#include <string.h>

#include "sfu_twcc.h"

#define ALLOC_PERIOD_US 1000000
#define AUDIO_BPS 40000 /* what one audio track is taken to cost */
/* Without a viewport: a tile as large as the largest layer. */
#define DEFAULT_AREA (1280u * 720u)

/* Where the estimate starts: enough for a camera's middle layer and audio
 * (the first probes at 3x and 6x it find out more within a second). */
#define START_BPS 1000000
#define NO_FEEDBACK_US 5000000

static sfu_bwe *bwe_of(sfu_transport *t, int64_t now_us) {
  if (!t->tx.bwe) {
    sfu_bwe_config cfg = {.start_bps = START_BPS};
    t->tx.bwe = g_new(sfu_bwe, 1);
    sfu_bwe_init(t->tx.bwe, &cfg, now_us);
  }
  return t->tx.bwe;
}

void sfu_allocator_on_feedback(sfu_transport *t, const sfu_rtcp_item *it, sfu_twcc_status *st, size_t max,
                               int64_t now_us, uint64_t *bad) {
  sfu_twcc_fb fb;
  int n = sfu_twcc_parse(it->pkt, it->len, &fb, st, max);
  if (n <= 0) {
    (*bad)++;
    return;
  }
  sfu_bwe_on_feedback(bwe_of(t, now_us), st, (size_t)n, now_us);
}

void sfu_allocator_on_remb(sfu_transport *t, uint64_t bps) {
  t->remb_bps = bps;
}

/* The smallest layer that fills the viewport (90 % of its height), from the
 * sizes seen in the layers' keyframes; -1 = no limit (not told, or unknown). */
static int8_t viewport_cap(const sfu_consumer *c) {
  const sfu_producer *p = c->src;
  if (!c->vp_h || p->nst < 2) return -1;
  for (uint8_t s = 0; s < p->nst; s++) {
    uint16_t h = p->st[s].height;
    if (!h) return -1; /* sizes not known yet: no cap rather than a wrong one */
    if ((uint32_t)h * 10 >= (uint32_t)c->vp_h * 9) return (int8_t)s;
  }
  return (int8_t)(p->nst - 1);
}

static void fill_track(sfu_consumer *c, sfu_alloc_track *a) {
  a->id = c->id;
  a->klass = c->prm.screen ? SFU_ALLOC_SCREEN : SFU_ALLOC_OTHER;
  a->area = c->vp_w ? (uint32_t)c->vp_w * c->vp_h : DEFAULT_AREA;
  a->visible = !c->vp_hidden;
  a->max_spatial = viewport_cap(c);
  a->max_temporal = -1;
  memset(a->bps, 0, sizeof a->bps);
  /* Frame rate before size: the layers above the lowest are taken only
   * whole (all temporal layers); the lowest one may thin out its frame rate
   * when even it does not fit. */
  for (uint8_t s = 0; s < c->src->nst && s < SFU_ALLOC_MAX_SPATIAL; s++)
    for (int k = s ? SFU_ALLOC_MAX_TEMPORAL - 1 : 0; k < SFU_ALLOC_MAX_TEMPORAL; k++)
      a->bps[s][k] = c->src->st[s].bps[k];
}

static void apply(sfu_consumer *c, const sfu_alloc_track *a, int64_t now_us,
                  sfu_allocator_paused_fn on_paused, void *ud) {
  g_debug("consumer %u: layer %d/%d state %d (viewport %ux%u%s)", c->id, a->s, a->t, a->state, c->vp_w,
          c->vp_h, c->vp_hidden ? " hidden" : "");
  bool off = a->state == SFU_ALLOC_PAUSED_HIDDEN || a->state == SFU_ALLOC_PAUSED_BANDWIDTH;
  if (a->state == SFU_ALLOC_ON) sfu_consumer_set_layers(c, a->s, a->t, now_us);
  if (a->state != SFU_ALLOC_NO_LAYER && off != c->bw_paused) sfu_consumer_set_bw_paused(c, off, now_us);
  bool bw = a->state == SFU_ALLOC_PAUSED_BANDWIDTH;
  if (bw != c->paused_reported) {
    c->paused_reported = bw;
    on_paused(ud, c, bw);
  }
}

/* Congestion lowered the estimate within this long: a step down now holds
 * the next step up back. */
#define CONGESTED_US 3000000

static void allocate(sfu_transport *t, int64_t estimate, bool start, int64_t now_us,
                     sfu_allocator_paused_fn on_paused, void *ud) {
  sfu_alloc_track tracks[SFU_ALLOC_MAX_TRACKS];
  sfu_consumer *cons[SFU_ALLOC_MAX_TRACKS];
  size_t n = 0;
  unsigned audio = 0;
  for (guint i = 0; i < t->consumers->len; i++) {
    sfu_consumer *c = g_ptr_array_index(t->consumers, i);
    if (!c->src->prm.video) {
      audio += !c->paused;
      continue;
    }
    if (c->paused || n == SFU_ALLOC_MAX_TRACKS) { /* not negotiated yet, or beyond the table */
      g_debug("consumer %u: not allocated (%s)", c->id, c->paused ? "paused" : "beyond the table");
      continue;
    }
    tracks[n] = c->at;
    fill_track(c, &tracks[n]);
    cons[n++] = c;
  }
  if (!n) return;
  sfu_alloc_result res;
  sfu_alloc_params pa = sfu_alloc_default_params();
  pa.start_phase = start;
  int64_t dec = t->tx.bwe ? sfu_bwe_last_decrease_us(t->tx.bwe) : -1;
  pa.congested = dec >= 0 && now_us - dec < CONGESTED_US;
  sfu_alloc_run(tracks, n, estimate, (int64_t)audio * AUDIO_BPS, now_us, &pa, &res);
  for (size_t i = 0; i < n; i++) {
    cons[i]->at = tracks[i];
    if (tracks[i].changed || !tracks[i].allocated) apply(cons[i], &tracks[i], now_us, on_paused, ud);
  }
  if (t->tx.bwe) sfu_bwe_set_desired(t->tx.bwe, res.desired_bps, now_us);
}

/* Probe padding when media alone does not pace it out (sfu_consumer.c sends
 * it between media packets): on the first consumer that can carry it. None
 * yet (the first video not started): the cluster waits rather than start
 * and time out empty. */
static void probe(sfu_transport *t, int64_t now_us) {
  for (guint i = 0; i < t->consumers->len && sfu_bwe_probing(t->tx.bwe); i++) {
    sfu_consumer *c = g_ptr_array_index(t->consumers, i);
    if (sfu_consumer_can_pad(c) && sfu_consumer_probe(c, now_us) == 0) return;
  }
}

void sfu_allocator_tick(sfu_transport *t, int64_t now_us, sfu_allocator_paused_fn on_paused, void *ud) {
  int64_t estimate = 0;
  bool start = now_us - t->remote_set_us < NO_FEEDBACK_US;
  bool due = t->alloc_dirty || now_us >= t->next_alloc_us;
  if (t->tx.bwe) {
    probe(t, now_us);
    due |= sfu_bwe_take_update(t->tx.bwe, now_us, &estimate);
    estimate = sfu_bwe_target(t->tx.bwe);
  } else if (t->remb_bps) {
    estimate = (int64_t)t->remb_bps;
  }
  if (!due) return;
  if (t->tx.bwe) {
    sfu_bwe_stats bs;
    sfu_bwe_get_stats(t->tx.bwe, &bs);
    start = start && !bs.last_probe_bps;
    g_debug("transport %u: allocating %lld bit/s (delay %lld, loss-based %lld, loss %.3f, acked %lld, usage "
            "%d, alr %d, "
            "probe %lld, %llu probes, %llu results)",
            t->id, (long long)estimate, (long long)bs.delay_bps, (long long)bs.loss_bps, bs.loss,
            (long long)bs.acked_bps, bs.usage, bs.in_alr, (long long)bs.last_probe_bps,
            (unsigned long long)bs.probes_started, (unsigned long long)bs.probe_results);
  }
  t->alloc_dirty = false;
  t->next_alloc_us = now_us + ALLOC_PERIOD_US;
  /* No estimate yet: a cautious start while the first feedback is on its
   * way; a subscriber that never sends any gets what its viewports ask. */
  if (!estimate) estimate = now_us - t->remote_set_us < NO_FEEDBACK_US ? START_BPS : INT64_MAX / 4;
  allocate(t, estimate, start, now_us, on_paused, ud);
}

int sfu_allocator_wanted_layer(const sfu_producer *p) {
  int best = -1;
  for (size_t i = 0; i < p->ncons; i++) {
    const sfu_consumer *c = p->cons[i];
    if (c->paused || c->vp_hidden) continue;
    int cap = viewport_cap(c);
    int want = cap < 0 ? p->nst - 1 : cap;
    if (want > best) best = want;
  }
  return best;
}
