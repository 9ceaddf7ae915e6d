/* sfu_producer: one incoming track of a publisher, with one receive stream
 * per encoding (its ssrc, receive statistics, the NACKs owed to the
 * publisher, the retransmission history, keyframe requests, the last sender
 * report). It answers for its stream toward the publisher (receiver
 * reports, NACK, PLI, REMB) but knows nothing of consumers: the router
 * fans its packets out (the `cons` list below is the router's).
 * Thread: the owning media thread. Ownership: the transport it receives on
 * owns it; `peer` is borrowed from that transport. */
#ifndef SFU_PRODUCER_H
#define SFU_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu.h"
#include "sfu_counters.h"
#include "sfu_rtp.h"
#include "sfu_rtxbuf.h"
#include "sfu_rxstats.h"
#include "tp_peer.h"

typedef struct sfu_producer sfu_producer;
typedef struct sfu_consumer sfu_consumer;

/* One encoding (simulcast layer) as received. */
typedef struct {
  char rid[SFU_MID_MAX];
  uint32_t ssrc;
  bool ssrc_known;
  uint32_t gen; /* bumped when the ssrc changes (publisher restarted): consumers re-sync */
  sfu_rxstats rx;
  sfu_nackgen nack;
  sfu_rtxbuf *rtx; /* video only; owned */
  int64_t last_pli_us, next_rr_us, last_rtp_us;
  /* What it carries, for layer choice: bytes by temporal layer (VP8 TID,
   * else all in 0), the rates over the last window, the keyframe size. */
  uint64_t bytes[3], win_bytes[3];
  uint32_t bps[3]; /* bit/s of temporal layers 0..t together, last window */
  int64_t win_start_us;
  uint16_t width, height;
  bool pli_pending;
  bool have_sr;
  uint64_t sr_ntp;
  uint32_t sr_rtp;
  int64_t sr_local_us;
} sfu_recvstream;

/* What the router learns about one received packet. */
typedef struct {
  uint8_t layer; /* index of the receive stream */
  uint8_t codec; /* index into prm.codecs */
  bool keyframe;
  bool padding_only; /* no payload: nothing to forward, but its sequence number counts */
  int8_t tid;        /* VP8 temporal layer, -1 = none or not VP8 */
  bool layer_sync;   /* VP8 Y bit */
  uint32_t gen;
} sfu_rx_info;

struct sfu_producer {
  sfu_id id;
  sfu_producer_params prm;
  struct sfu_transport *owner; /* the transport that owns it (set by the router) */
  tp_peer *peer;               /* borrowed: where RTCP to the publisher goes */
  sfu_counters *ctr;
  uint8_t *scratch; /* borrowed: the worker's, for RTCP we build */
  uint32_t own_ssrc;
  sfu_recvstream st[SFU_MAX_ENCODINGS];
  uint8_t nst;
  /* Encodings worth sending (bit per layer) as last told to the publisher,
   * and since when each unwanted one has been unwanted. */
  uint8_t layers_on;
  int64_t unwanted_since_us[SFU_MAX_ENCODINGS];
  int64_t next_demand_us;
  int spk_slot; /* the router's speaker detection slot, -1 = not observed */
  /* The router's fan-out list: consumers of this producer (borrowed). */
  sfu_consumer **cons;
  size_t ncons, capcons;
};

/* NULL on bad parameters (no codec, no encoding) or out of memory. */
sfu_producer *sfu_producer_new(sfu_id id, const sfu_producer_params *p, tp_peer *peer, sfu_counters *ctr,
                               uint8_t *scratch);
void sfu_producer_free(sfu_producer *p); /* the router unlinks consumers first */

/* One decrypted packet of receive stream `layer` (chosen by the listener):
 * statistics, NACK gap scan, history, keyframe check. False: not for
 * forwarding (unknown payload type). */
bool sfu_producer_receive(sfu_producer *p, uint8_t layer, const uint8_t *pkt, size_t len,
                          const sfu_rtp_hdr *h, int64_t now_us, sfu_rx_info *out);
/* A retransmission (RFC 4588) of receive stream `layer` rebuilt as the
 * packet it repairs into out (the original payload type, sequence number and
 * ssrc). Returns its length, or 0 (not ours, stream not known, too short). */
size_t sfu_producer_unwrap_rtx(const sfu_producer *p, uint8_t layer, const uint8_t *pkt, const sfu_rtp_hdr *h,
                               uint8_t *out, size_t cap);
/* The publisher's sender report for one of our ssrcs: the encoding it is
 * about, or -1 if not ours. */
int sfu_producer_on_sr(sfu_producer *p, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts, int64_t now_us);
/* Asks the publisher for a keyframe on a layer, at most one PLI per 300 ms
 * (a request inside that window is sent when it ends). */
void sfu_producer_request_keyframe(sfu_producer *p, uint8_t layer, int64_t now_us);
/* The stored packet with this sequence number on a layer, or NULL. */
const uint8_t *sfu_producer_history(const sfu_producer *p, uint8_t layer, uint16_t seq, size_t *len);
/* Due NACKs, receiver reports and REMB each second, deferred PLIs. */
void sfu_producer_tick(sfu_producer *p, int64_t now_us);

/* Wallclock as NTP 32.32 for sender reports. */
uint64_t sfu_ntp_now(void);

#endif
