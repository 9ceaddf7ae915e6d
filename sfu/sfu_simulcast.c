/* sfu_simulcast: spatial layer selection and output continuity. */
#include "sfu_simulcast.h"

#include <string.h>

#define GUARD_SPAN 100            /* after a switch, check seqs against the keyframe this far (mediasoup) */
#define FRAME_MS 33               /* one frame at 30 fps: the step added to a keyframe that would go back */
#define MAX_EXTRA_MS 75           /* more than this: ask for a fresh keyframe once (mediasoup) */
#define PLI_MIN_SPACING_US 200000 /* even a new target does not re-ask a layer faster */

static bool ts_newer(uint32_t a, uint32_t b) {
  return (int32_t)(a - b) > 0;
}

static bool seq_newer(uint16_t a, uint16_t b) {
  return (int16_t)(uint16_t)(a - b) > 0;
}

void sfu_simulcast_init(sfu_simulcast *s, const sfu_simulcast_config *cfg, int n_layers) {
  memset(s, 0, sizeof(*s));
  s->cfg.clock_hz = cfg && cfg->clock_hz ? cfg->clock_hz : 90000;
  s->cfg.inactive_us = cfg && cfg->inactive_us > 0 ? cfg->inactive_us : 500000;
  s->cfg.min_active_us = cfg && cfg->min_active_us > 0 ? cfg->min_active_us : 2000000;
  s->cfg.pli_interval_us = cfg && cfg->pli_interval_us > 0 ? cfg->pli_interval_us : 1000000;
  s->n_layers = n_layers < 1 ? 1 : n_layers > SFU_SIMULCAST_MAX_LAYERS ? SFU_SIMULCAST_MAX_LAYERS : n_layers;
  s->want = s->target = s->current = -1;
  for (int i = 0; i < SFU_SIMULCAST_MAX_LAYERS; i++)
    s->last_pli_us[i] = INT64_MIN / 2;
}

bool sfu_simulcast_layer_active(const sfu_simulcast *s, int l, int64_t now_us) {
  if (l < 0 || l >= s->n_layers) return false;
  return s->layer[l].seen && now_us - s->layer[l].last_pkt_us <= s->cfg.inactive_us;
}

/* The best layer at or below `want` that can be targeted now. Going up to a
 * layer other than the current one needs it active for min_active_us when
 * something is being forwarded (a layer that just reappeared may stop again). */
static int best_layer(const sfu_simulcast *s, int want, int64_t now_us) {
  if (want < 0) return -1;
  for (int l = want; l >= 0; l--) {
    if (!sfu_simulcast_layer_active(s, l, now_us)) continue;
    bool up = s->current >= 0 && l > s->current && sfu_simulcast_layer_active(s, s->current, now_us);
    bool old = s->layer[l].active_since_us <= s->born_us + s->cfg.inactive_us; /* sending before we looked */
    if (up && !old && now_us - s->layer[l].active_since_us < s->cfg.min_active_us) continue;
    return l;
  }
  /* Nothing active (yet): aim at what is wanted, or keep the current one. */
  return s->current >= 0 && s->current <= want ? s->current : want;
}

static int ask_keyframe(sfu_simulcast *s, int l, int64_t now_us, int64_t spacing) {
  if (l < 0 || now_us - s->last_pli_us[l] < spacing) return -1;
  s->last_pli_us[l] = now_us;
  return l;
}

/* A new target: ask its layer for a keyframe unless it is already current. */
static int retarget(sfu_simulcast *s, int t, int64_t now_us) {
  bool changed = t != s->target;
  s->target = (int8_t)t;
  if (t < 0 || t == s->current || !changed) return -1;
  return ask_keyframe(s, t, now_us, PLI_MIN_SPACING_US);
}

int sfu_simulcast_set_target(sfu_simulcast *s, int spatial, int64_t now_us) {
  if (spatial >= s->n_layers) spatial = s->n_layers - 1;
  s->want = (int8_t)(spatial < 0 ? -1 : spatial);
  if (s->want < 0) {
    s->target = s->current = -1; /* paused: the next layer forwarded resumes with a switch */
    return -1;
  }
  return retarget(s, best_layer(s, s->want, now_us), now_us);
}

int sfu_simulcast_poll(sfu_simulcast *s, int64_t now_us) {
  if (s->want < 0) return -1;
  int pli = retarget(s, best_layer(s, s->want, now_us), now_us);
  if (pli >= 0) return pli;
  if (s->target >= 0 && s->target != s->current) /* still waiting: ask again */
    return ask_keyframe(s, s->target, now_us, s->cfg.pli_interval_us);
  return -1;
}

void sfu_simulcast_on_sr(sfu_simulcast *s, int l, int64_t ntp_ms, uint32_t rtp_ts) {
  if (l < 0 || l >= s->n_layers) return;
  s->layer[l].has_sr = true;
  s->layer[l].sr_ntp_ms = ntp_ms;
  s->layer[l].sr_rtp = rtp_ts;
  if (l == s->current) { /* the output's wall clock mapping, refreshed */
    s->ref_valid = true;
    s->ref_ntp_ms = ntp_ms;
    s->ref_out_ts = rtp_ts - (s->ts_off - s->ts_shift);
  }
}

/* The output timestamp the switch keyframe should get: through the SRs when
 * both the output mapping and the new layer's SR are known, else by the wall
 * time since the newest timestamp went out. */
static uint32_t aligned_ts(const sfu_simulcast *s, const sfu_simulcast_pkt *in) {
  const sfu_simulcast_layer *l = &s->layer[in->layer];
  if (s->ref_valid && l->has_sr) {
    int64_t wall_ticks = (l->sr_ntp_ms - s->ref_ntp_ms) * (int64_t)s->cfg.clock_hz / 1000;
    return s->ref_out_ts + (uint32_t)wall_ticks + (in->ts - l->sr_rtp);
  }
  int64_t ticks = (in->now_us - s->max_ts_us) * (int64_t)s->cfg.clock_hz / 1000000;
  return s->max_ts + (uint32_t)(ticks > 0 ? ticks : 1);
}

/* Offsets that continue the output with this keyframe. False: drop it (a
 * fresh keyframe was asked for in *pli). */
static bool switch_to(sfu_simulcast *s, const sfu_simulcast_pkt *in, int *pli) {
  uint32_t extra = 0;
  if (!s->started) {
    s->seq_off = 0;
    s->ts_off = 0;
    s->started = true;
  } else {
    uint32_t out_ts = aligned_ts(s, in);
    if (!ts_newer(out_ts, s->max_ts)) {
      /* Typically the same picture from the other encoder, right after the
       * old layer's copy went out: it must still be a new timestamp. The
       * mapping keeps the unshifted time, so shifts never add up. */
      uint32_t frame = s->cfg.clock_hz * FRAME_MS / 1000;
      extra = s->max_ts + frame - out_ts;
      if (extra > s->cfg.clock_hz * MAX_EXTRA_MS / 1000) {
        if (!s->ts_key_asked) {
          s->ts_key_asked = true;
          *pli = ask_keyframe(s, in->layer, in->now_us, 0);
          return false;
        }
        extra = s->max_ts + 1 - out_ts; /* still too far back after a fresh keyframe: one tick */
      }
      out_ts += extra;
    }
    s->ts_off = in->ts - out_ts;
    s->seq_off = (uint16_t)(s->max_seq + (s->last_marker ? 1 : 2) - in->seq);
  }
  s->ts_key_asked = false;
  s->ts_shift = extra;
  s->current = (int8_t)in->layer;
  s->guard = true;
  s->guard_seq = in->seq;
  const sfu_simulcast_layer *l = &s->layer[in->layer];
  if (l->has_sr) {
    s->ref_valid = true;
    s->ref_ntp_ms = l->sr_ntp_ms;
    s->ref_out_ts = l->sr_rtp - (s->ts_off - s->ts_shift);
  }
  return true;
}

static void note_activity(sfu_simulcast *s, const sfu_simulcast_pkt *in) {
  sfu_simulcast_layer *l = &s->layer[in->layer];
  if (!s->born) {
    s->born = true;
    s->born_us = in->now_us;
  }
  if (!l->seen || in->now_us - l->last_pkt_us > s->cfg.inactive_us) l->active_since_us = in->now_us;
  l->seen = true;
  l->last_pkt_us = in->now_us;
}

void sfu_simulcast_packet(sfu_simulcast *s, const sfu_simulcast_pkt *in, sfu_simulcast_out *out) {
  memset(out, 0, sizeof(*out));
  out->action = SFU_SIMULCAST_DROP;
  out->pli_layer = -1;
  if (in->layer >= s->n_layers) return;
  note_activity(s, in);
  if (s->target < 0) return;
  int pli = -1;
  if (in->layer == s->target && s->current != s->target) {
    if (!in->keyframe) { /* wait for the keyframe; keep the current layer going */
      out->pli_layer = (int8_t)ask_keyframe(s, s->target, in->now_us, s->cfg.pli_interval_us);
      return;
    }
    bool ok = switch_to(s, in, &pli);
    out->pli_layer = (int8_t)pli;
    if (!ok) return;
    out->switched = true;
  } else if (in->layer != s->current) {
    return;
  }
  if (s->guard) {
    if (seq_newer(s->guard_seq, in->seq)) return; /* from before the switch keyframe */
    if ((uint16_t)(in->seq - s->guard_seq) > GUARD_SPAN) s->guard = false;
  }
  out->seq = (uint16_t)(in->seq + s->seq_off);
  out->ts = in->ts - s->ts_off;
  out->action = in->padding_only ? SFU_SIMULCAST_DROP_RECORD : SFU_SIMULCAST_FORWARD;
  if (!out->switched && !seq_newer(out->seq, s->max_seq)) return; /* late (a retransmission, reordering) */
  s->max_seq = out->seq;
  if (in->padding_only) return; /* padding says nothing about frames */
  s->last_marker = in->marker;
  if (out->switched || ts_newer(out->ts, s->max_ts)) {
    s->max_ts = out->ts;
    s->max_ts_us = in->now_us;
  }
}
