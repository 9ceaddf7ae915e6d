/* sfu_simulcast: the per-subscriber spatial layer selector of a simulcast
 * video track, and the continuity of its output across layer switches.
 *  - selection: the allocator (or the viewport) sets the wanted layer; the
 *    effective target is the best active layer at or below it (a layer that
 *    stopped sending is skipped; one that came back must have been active
 *    for a while before it is switched up to); the current layer changes
 *    only at a keyframe of the target layer, which a throttled keyframe
 *    request asks for; after a switch, late packets from before the switch
 *    keyframe are dropped;
 *  - continuity: one output sequence space and one output timestamp space.
 *    Sequence numbers: the first packet of a new layer follows the highest
 *    one handed out, with a one-number hole when the previous frame was left
 *    unfinished (no marker seen), so the receiver knows it is incomplete.
 *    Timestamps: the new layer is aligned to the output through the layers'
 *    RTCP sender reports (wall clock <-> RTP time); without them, by the wall
 *    time elapsed since the last packet sent; a keyframe whose timestamp would
 *    not advance gets one frame (33 ms) added, or, if that takes more than
 *    75 ms, is dropped once for a fresh keyframe.
 * Temporal layers are not handled here: see sfu_vp8_temporal_filter.
 *
 * Sitting on the sequence-number manager: the output seq given here is a
 * gap-free *virtual* input for the stream (continuous across layers). The
 * caller feeds it to its seq manager: FORWARD -> map and send; DROP_RECORD
 * -> tell the manager this virtual seq is dropped (padding, or a filtered
 * temporal layer decided by the caller) so no hole shows; DROP -> the packet
 * is not part of this output at all (another layer): ignore it.
 *
 * Pure: no allocation, no logging, no globals, no GLib. One instance per
 * subscriber video track, used on that subscriber's media thread only.
 * Calls:
 *   sfu_simulcast_packet      every packet of every layer of the track,
 *                             after RTX unwrap. O(1).
 *   sfu_simulcast_on_sr       every RTCP SR of every layer (and, for a new
 *                             subscriber, the producer's last SR of each
 *                             layer). O(1).
 *   sfu_simulcast_set_target  when the allocator or the viewport changes
 *                             the wanted layer (-1 = pause). O(layers).
 *   sfu_simulcast_poll        from a timer, every 100-250 ms: fallback from
 *                             an inactive layer, return to a recovered one,
 *                             keyframe request retries. O(layers). */
#ifndef SFU_SIMULCAST_H
#define SFU_SIMULCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SFU_SIMULCAST_MAX_LAYERS 3

typedef struct {
  uint32_t clock_hz;       /* RTP clock of the track (90000) */
  int64_t inactive_us;     /* no packet for this long: the layer is inactive (500 ms) */
  int64_t min_active_us;   /* active this long before switching up to it (2 s) */
  int64_t pli_interval_us; /* keyframe requests for one layer at most this often (1 s) */
} sfu_simulcast_config;

typedef struct {
  uint8_t layer; /* spatial layer of the packet, 0 = lowest */
  bool keyframe; /* first packet of a keyframe (sfu_vp8_parse / sfu_codec_is_keyframe) */
  bool padding_only;
  bool marker;
  uint16_t seq;
  uint32_t ts;
  int64_t now_us;
} sfu_simulcast_pkt;

typedef enum {
  SFU_SIMULCAST_DROP = 0,    /* not part of this output (another layer, before a switch, paused) */
  SFU_SIMULCAST_FORWARD,     /* send with out seq/ts */
  SFU_SIMULCAST_DROP_RECORD, /* part of the output but not sent (padding): record seq as dropped */
} sfu_simulcast_action;

typedef struct {
  sfu_simulcast_action action;
  uint16_t seq;     /* virtual output seq (FORWARD, DROP_RECORD) */
  uint32_t ts;      /* output timestamp (FORWARD, DROP_RECORD) */
  bool switched;    /* first packet of a newly forwarded layer: sfu_vp8_munger_switch() first */
  int8_t pli_layer; /* >= 0: send a keyframe request to this layer now */
} sfu_simulcast_out;

typedef struct {
  bool seen, has_sr;
  int64_t last_pkt_us, active_since_us;
  int64_t sr_ntp_ms;
  uint32_t sr_rtp;
} sfu_simulcast_layer;

typedef struct {
  sfu_simulcast_config cfg;
  int n_layers;
  sfu_simulcast_layer layer[SFU_SIMULCAST_MAX_LAYERS];
  int8_t want;    /* wanted by the allocator, -1 = paused */
  int8_t target;  /* effective target */
  int8_t current; /* being forwarded, -1 = none */
  int64_t last_pli_us[SFU_SIMULCAST_MAX_LAYERS];
  bool guard; /* after a switch: drop what precedes the switch keyframe */
  uint16_t guard_seq;
  bool started;
  uint16_t seq_off; /* out = in + seq_off */
  uint32_t ts_off;  /* out = in - ts_off */
  uint16_t max_seq;
  uint32_t max_ts;
  int64_t max_ts_us; /* wall time the newest timestamp went out */
  bool last_marker;
  uint32_t ts_shift; /* the extra frame added at the last switch (part of ts_off) */
  bool ref_valid;    /* wall clock <-> output timestamp (without ts_shift), from SRs */
  int64_t ref_ntp_ms;
  uint32_t ref_out_ts;
  bool born;         /* a packet has been seen */
  int64_t born_us;   /* when: layers already sending then count as long active */
  bool ts_key_asked; /* one keyframe was dropped for a timestamp too far back */
} sfu_simulcast;

/* cfg NULL or fields <= 0 take the defaults above; n_layers 1..3. */
void sfu_simulcast_init(sfu_simulcast *s, const sfu_simulcast_config *cfg, int n_layers);
/* A sender report of `layer`: NTP time in ms and its RTP timestamp. */
void sfu_simulcast_on_sr(sfu_simulcast *s, int layer, int64_t ntp_ms, uint32_t rtp_ts);
/* Wanted spatial layer (-1 pauses). Returns the layer to send a keyframe
 * request to now, or -1. */
int sfu_simulcast_set_target(sfu_simulcast *s, int spatial, int64_t now_us);
void sfu_simulcast_packet(sfu_simulcast *s, const sfu_simulcast_pkt *in, sfu_simulcast_out *out);
/* Timer. Returns the layer to send a keyframe request to now, or -1. */
int sfu_simulcast_poll(sfu_simulcast *s, int64_t now_us);
/* True while this layer sends (for the allocator's "available layers"). */
bool sfu_simulcast_layer_active(const sfu_simulcast *s, int layer, int64_t now_us);

/* NTP 32.32 (as in sfu_rtcp_item.ntp) -> milliseconds. */
static inline int64_t sfu_simulcast_ntp_ms(uint64_t ntp) {
  return (int64_t)(ntp >> 32) * 1000 + (int64_t)(((ntp & 0xFFFFFFFFu) * 1000) >> 32);
}

#endif
