/* sfu_consumer: one subscriber's outgoing copy of a producer. The variants
 * (simple now; simulcast next) sit behind an ops table; what they share is
 * here: the subscriber's ssrc, payload types and mid, the sequence-number
 * manager, the header rewrite, NACK answers from the producer's history,
 * sender reports, and the gate (paused by the control plane, or its
 * transport not connected).
 * Thread: the owning media thread. Ownership: the transport it sends on owns
 * it; `src` (producer) and `peer` are borrowed, and the router closes every
 * consumer of a producer before that producer goes. */
#ifndef SFU_CONSUMER_H
#define SFU_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu_alloc.h"
#include "sfu_producer.h"
#include "sfu_red.h"
#include "sfu_seqmgr.h"
#include "sfu_simulcast.h"
#include "sfu_txctx.h"
#include "sfu_vp8.h"

/* Room for a rewritten packet: MTU, a grown extension block, SRTP trailer. */
#define SFU_SCRATCH_BYTES (TP_MTU + 64 + TP_SRTP_TRAILER_MAX)

typedef struct {
  /* One packet of the producer (h parsed, info from sfu_producer_receive). */
  void (*forward)(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, const sfu_rx_info *in,
                  int64_t now_us);
  /* The consumer can send again (resumed, or its transport came up). */
  void (*on_resume)(sfu_consumer *c, int64_t now_us);
  /* The subscriber asks for a keyframe (PLI or FIR). */
  void (*on_keyframe_request)(sfu_consumer *c, int64_t now_us);
  /* Optional: fixes the payload of the subscriber's copy in place (codec
   * fields that must stay continuous), for sends and retransmissions alike. */
  void (*rewrite_payload)(sfu_consumer *c, uint8_t codec, uint8_t *payload, size_t len);
  /* Optional: a sender report of the producer's encoding `layer`. */
  void (*on_sr)(sfu_consumer *c, uint8_t layer, uint64_t ntp, uint32_t rtp_ts);
  /* Optional: timers, every 20 ms. */
  void (*tick)(sfu_consumer *c, int64_t now_us);
} sfu_consumer_ops;

struct sfu_consumer {
  const sfu_consumer_ops *ops;
  sfu_id id;
  sfu_consumer_params prm;
  struct sfu_transport *owner; /* the transport that owns it (set by the router) */
  sfu_producer *src;           /* borrowed */
  tp_peer *peer;               /* borrowed: the subscriber's transport */
  sfu_txctx *tx;               /* borrowed: its transport\'s send state */
  uint16_t rtx_seq;            /* next sequence number of the rtx stream (prm.rtx_ssrc) */
  sfu_counters *ctr;
  uint8_t *scratch; /* borrowed: the worker's, SFU_SCRATCH_BYTES */
  bool paused;      /* by the control plane */
  bool bw_paused;   /* by the allocator: not visible, or no bandwidth for it */
  bool link_up;     /* its transport is connected */
  bool waiting_kf;  /* video: nothing until a keyframe */
  bool resync;      /* the next forwarded packet starts a new input stream */
  uint32_t gen;     /* the input stream generation forwarded */
  uint32_t ts_off, last_ts_out;
  bool ts_started;
  int64_t last_out_us, next_sr_us;
  uint32_t packets, octets;
  sfu_rtp_rewrite rw;
  sfu_seqmgr seq;
  /* Simulcast variant: the layer selector, the VP8 fields' continuity and
   * the temporal layer forwarded / wanted. */
  sfu_simulcast sel;
  sfu_vp8_munger vp8;
  uint8_t tid_cur, tid_target;
  int8_t want_spatial;
  bool down_pending; /* a lower layer is wanted: the current one is no longer sent */
  uint32_t sel_gen[SFU_SIMULCAST_MAX_LAYERS];
  /* The page's viewport for it (0x0 = not told) and the allocation's state. */
  uint16_t vp_w, vp_h;
  bool vp_hidden;
  bool paused_reported; /* the subscriber was told it is paused for bandwidth */
  sfu_alloc_track at;
  sfu_red_unwrap red; /* a RED producer to a subscriber without RED: what it got */
};

/* A consumer of the variant the producer needs: simulcast for a producer
 * with several encodings, else simple. */
sfu_consumer *sfu_consumer_new(sfu_id id, const sfu_consumer_params *p, sfu_producer *src, tp_peer *peer,
                               sfu_txctx *tx, sfu_counters *ctr, uint8_t *scratch);
void sfu_consumer_free(sfu_consumer *c);

static inline bool sfu_consumer_active(const sfu_consumer *c) {
  return !c->paused && !c->bw_paused && c->link_up;
}
/* Gate changes: the variant hears about it when the consumer can send again. */
void sfu_consumer_set_paused(sfu_consumer *c, bool paused, int64_t now_us);
void sfu_consumer_set_link(sfu_consumer *c, bool up, int64_t now_us);
void sfu_consumer_set_bw_paused(sfu_consumer *c, bool paused, int64_t now_us);

/* Shared by the variants: rewrites one packet with the given output
 * numbers into the scratch buffer and sends it; remembers it for NACK. */
void sfu_consumer_send(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, const sfu_rx_info *in,
                       uint16_t seq_out, uint32_t ts_out, int64_t now_us);
/* Index of the producer's codec of this kind, -1 if none. */
int sfu_consumer_codec_index(const sfu_consumer *c, sfu_codec codec);
/* Sends a RED packet to a subscriber that did not negotiate RED: its Opus
 * primary, preceded by the redundant copies of packets lost right before it. */
void sfu_consumer_send_unwrapped(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h,
                                 const sfu_rx_info *in, int64_t now_us);

/* The subscriber's NACK: resend what it lost, from the producer's history. */
void sfu_consumer_on_nack(sfu_consumer *c, const uint16_t *seqs, size_t n, int64_t now_us);
/* A padding-only packet of `pad` bytes (1..255) on the consumer's rtx
 * stream, for a bandwidth probe; false if it has no rtx stream. */
/* Whether it can carry probe padding now (an RTX stream, media started). */
bool sfu_consumer_can_pad(const sfu_consumer *c);
bool sfu_consumer_send_padding(sfu_consumer *c, size_t pad, int64_t now_us);
/* Sends the probe padding its transport's estimator wants now, if this
 * consumer can carry it (it has an rtx stream); how many bytes were left. */
size_t sfu_consumer_probe(sfu_consumer *c, int64_t now_us);
/* Sender report each second, and the variant's timers. */
void sfu_consumer_tick(sfu_consumer *c, int64_t now_us);
/* Simulcast: the wanted spatial and temporal layers (-1 spatial = paused).
 * No effect on a simple consumer. */
void sfu_consumer_set_layers(sfu_consumer *c, int spatial, int temporal, int64_t now_us);

#endif
