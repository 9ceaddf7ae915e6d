/* sfu_router: producers (one incoming track of a publisher) and consumers
 * (one outgoing copy of a producer for one subscriber), and the per-packet
 * fan-out between them, with the RTCP the server answers itself: keyframe
 * requests, NACK retransmission from the producer's history, NACKs and
 * receiver reports to publishers, sender reports to subscribers.
 * Thread: the media thread that owns both peers; no locks anywhere.
 * Ownership: the signaling session owns its producers and consumers; a
 * consumer borrows its producer, and sfu_producer_free detaches every
 * consumer first (their source becomes NULL), so no back-pointer dangles.
 * Peers are borrowed and must outlive the producer/consumer using them. */
#ifndef SFU_ROUTER_H
#define SFU_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu_codec.h"
#include "sfu_rtp.h"
#include "tp_peer.h"

typedef struct sfu_producer sfu_producer;
typedef struct sfu_consumer sfu_consumer;

/* Counters shared with metrics (read on the media thread). */
typedef struct {
  uint64_t rtp_in, bytes_in, rtp_out, bytes_out;
  uint64_t nacks_in, nacks_out, retransmits, rtx_misses;
  uint64_t plis_in, plis_out;
  uint64_t dropped_waiting_keyframe;
} sfu_router_stats;

typedef struct {
  bool video;
  uint32_t ssrc;       /* from the SDP; 0 = learn from the first packet */
  uint32_t clock_rate; /* 48000 or 90000 */
  /* The publisher's negotiated payload types (pt[1] = 0: only one);
   * packets with any other payload type are dropped. */
  uint8_t pt[2];
  sfu_codec codec[2];
  /* publisher's header extension ids, 0 = absent */
  uint8_t ext_mid, ext_abs_send_time, ext_audio_level;
  tp_peer *pub_peer;       /* borrowed: where RR/NACK/PLI/REMB go */
  uint32_t remb_bps;       /* video: bitrate cap sent as REMB each second; 0 = none */
  sfu_router_stats *stats; /* borrowed, may be shared by many; may be NULL */
} sfu_producer_params;

sfu_producer *sfu_producer_new(const sfu_producer_params *p);
void sfu_producer_free(sfu_producer *p);
uint32_t sfu_producer_ssrc(const sfu_producer *p);
bool sfu_producer_is_video(const sfu_producer *p);
/* One decrypted RTP packet of this producer: stats, NACK gap scan,
 * history, then one rewritten copy per consumer. */
void sfu_producer_on_rtp(sfu_producer *p, const uint8_t *pkt, size_t len, const sfu_rtp_hdr *h,
                         int64_t now_us);
/* The publisher's sender report for this ssrc (for receiver reports and for
 * lip-sync-preserving sender reports to subscribers). */
void sfu_producer_on_sr(sfu_producer *p, uint64_t ntp, uint32_t rtp_ts, int64_t now_us);
/* Asks the publisher for a keyframe, at most one PLI per 300 ms (a request
 * inside that window is remembered and sent when it ends). */
void sfu_producer_request_keyframe(sfu_producer *p, int64_t now_us);
/* Timers: due NACKs (every call), receiver report (each second), deferred PLI. */
void sfu_producer_tick(sfu_producer *p, int64_t now_us);

typedef struct {
  uint32_t ssrc;           /* the ssrc in the subscriber's offer */
  uint8_t pt[2];           /* subscriber payload types for the producer's pt[0], pt[1] */
  const char *mid;         /* subscriber's mid for this track (copied) */
  tp_peer *sub_peer;       /* borrowed: where media and SRs go */
  sfu_router_stats *stats; /* borrowed, may be NULL */
} sfu_consumer_params;

/* Attaches a consumer to src; video consumers wait for a keyframe (and ask
 * for one at once). */
sfu_consumer *sfu_consumer_new(sfu_producer *src, const sfu_consumer_params *p, int64_t now_us);
void sfu_consumer_free(sfu_consumer *c);
uint32_t sfu_consumer_ssrc(const sfu_consumer *c);
void sfu_consumer_set_paused(sfu_consumer *c, bool paused);
/* RTCP from the subscriber about this consumer. */
void sfu_consumer_on_nack(sfu_consumer *c, const uint16_t *seqs, size_t n, int64_t now_us);
void sfu_consumer_on_keyframe_request(sfu_consumer *c, int64_t now_us);
/* Timers: sender report each second. */
void sfu_consumer_tick(sfu_consumer *c, int64_t now_us);

/* Wallclock as NTP 32.32 for sender reports. */
uint64_t sfu_ntp_now(void);

#endif
