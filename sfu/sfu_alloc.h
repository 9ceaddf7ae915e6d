/* sfu_alloc: shares one subscriber's bandwidth estimate over its video
 * tracks. Each track gets the highest (spatial, temporal) layer that fits,
 * in priority order (screen share, then the active speaker, then the rest
 * by displayed size): first every visible track gets its lowest layer if it
 * fits (as many tracks as possible), then in priority order each one climbs
 * as far as the budget allows (a spatial step replaces the stream, so it
 * costs the difference). Hysteresis: going down happens at once; going up needs
 * headroom (the layer must fit budget / up_headroom) and must keep fitting
 * for stable_us; no spatial step up within bwe_hold_us of a spatial step
 * down the bandwidth forced (longer after each failed step up). A visible track that cannot get even its
 * lowest layer is paused for bandwidth; a hidden one is paused at no cost.
 * Audio is never allocated here: its rate is taken off the budget first.
 *
 * Pure: no allocation, no logging, no globals. The caller owns the array of
 * tracks (one per subscribed video track of this subscriber transport),
 * fills the inputs, keeps the state fields between runs (zero them for a new
 * track) and reads the outputs. Runs on the subscriber's media thread
 * (where its estimator lives), O(tracks x layers^2); run it when the
 * estimate moves (sfu_bwe_take_update), when a track's inputs change
 * (viewport, layers appearing or stopping, a new speaker) and once a second
 * (so a waiting upgrade happens when its stable period is over). */
#ifndef SFU_ALLOC_H
#define SFU_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SFU_ALLOC_MAX_SPATIAL 3
#define SFU_ALLOC_MAX_TEMPORAL 3
#define SFU_ALLOC_MAX_TRACKS 64 /* tracks beyond these are left paused for bandwidth */

typedef enum { SFU_ALLOC_SCREEN = 0, SFU_ALLOC_SPEAKER = 1, SFU_ALLOC_OTHER = 2 } sfu_alloc_class;

typedef enum {
  SFU_ALLOC_ON = 0,
  SFU_ALLOC_PAUSED_HIDDEN,    /* not visible: nothing sent, nothing spent */
  SFU_ALLOC_PAUSED_BANDWIDTH, /* even the lowest layer does not fit: tell the page */
  SFU_ALLOC_NO_LAYER,         /* the publisher sends no layer this track could use */
} sfu_alloc_state;

typedef struct {
  /* inputs */
  uint32_t id;         /* the caller's; breaks priority ties (stable order) */
  uint8_t klass;       /* sfu_alloc_class: lower goes first */
  uint32_t area;       /* displayed pixels: larger goes first within a class */
  bool visible;        /* false: paused, costs nothing */
  int8_t max_spatial;  /* from the viewport (-1 = no limit) */
  int8_t max_temporal; /* -1 = no limit */
  /* bits per second of layer (s, up to t) as received now; 0 = not
   * available (inactive or never seen). */
  uint32_t bps[SFU_ALLOC_MAX_SPATIAL][SFU_ALLOC_MAX_TEMPORAL];
  /* state kept between runs (zero for a new track) */
  bool allocated;      /* has had a first allocation */
  int8_t s, t;         /* current allocation (-1 = none / paused) */
  int8_t up_s, up_t;   /* the upgrade waiting for its stable period */
  int64_t up_since_us; /* since when it fits (0 = none waiting) */
  int64_t bwe_down_us; /* last spatial step down the bandwidth forced (0 = never) */
  int64_t up_us;       /* last spatial step up (0 = never) */
  int64_t hold_us;     /* the hold after bwe_down_us (0 = bwe_hold_us) */
  /* outputs */
  sfu_alloc_state state;
  bool changed; /* s, t or state differ from before the run */
} sfu_alloc_track;

typedef struct {
  double up_headroom;  /* 1.10: a higher layer must fit budget / 1.10 */
  int64_t stable_us;   /* 2 s: and keep fitting this long */
  int64_t bwe_hold_us; /* 20 s: no spatial step up after a bandwidth-forced step down */
  /* A step up the bandwidth undoes within failed_up_us was a failed try
   * (the estimate overshot the link: a probe through a shaper's burst): the
   * hold doubles, up to hold_max_us. 4 s and 80 s. */
  int64_t failed_up_us, hold_max_us;
  /* The estimate is still its first guess (no probe has answered yet): no
   * visible track is paused for bandwidth, and the steps down it forces
   * hold nothing back. */
  bool start_phase;
  /* Congestion lowered the estimate lately (default true). When false, a
   * step down came from a layer's rate rising past a steady estimate: no
   * reason to hold the next step up back. */
  bool congested;
} sfu_alloc_params;

/* The defaults named above. */
sfu_alloc_params sfu_alloc_default_params(void);

typedef struct {
  int64_t used_bps;    /* video allocated */
  int64_t desired_bps; /* audio + every visible track at its best wanted layer: for sfu_bwe_set_desired */
  int paused;          /* tracks paused for bandwidth */
  bool waiting;        /* an upgrade waits for its stable period: run again within stable_us */
} sfu_alloc_result;

/* p NULL takes the defaults. estimate_bps from sfu_bwe; audio_bps = the
 * audio this subscriber receives. */
void sfu_alloc_run(sfu_alloc_track *tracks, size_t n, int64_t estimate_bps, int64_t audio_bps, int64_t now_us,
                   const sfu_alloc_params *p, sfu_alloc_result *res);

#endif
