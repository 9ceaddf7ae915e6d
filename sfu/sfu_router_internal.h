/* Private to sfu_producer.c and sfu_consumer.c: the two structs and the
 * calls between them. Nothing outside the router includes this. */
#ifndef SFU_ROUTER_INTERNAL_H
#define SFU_ROUTER_INTERNAL_H

#include "sfu_router.h"
#include "sfu_rtxbuf.h"
#include "sfu_rxstats.h"

/* Room for a rewritten packet: MTU, a grown extension block, SRTP trailer. */
#define SFU_SCRATCH_BYTES (TP_MTU + 64 + TP_SRTP_TRAILER_MAX)

/* Owned by its signaling session; consumers borrowed (detached on free). */
struct sfu_producer {
  sfu_producer_params prm;
  uint32_t ssrc;
  bool ssrc_known;
  uint32_t gen;      /* bumped when the source ssrc changes: consumers re-base */
  uint32_t own_ssrc; /* sender ssrc of the server's RTCP to the publisher */
  sfu_rxstats rx;
  sfu_nackgen nack;
  sfu_rtxbuf *rtx;     /* video only; owned */
  sfu_consumer **cons; /* borrowed entries; array owned */
  size_t ncons, capcons;
  int64_t last_pli_us, next_rr_us;
  bool pli_pending;
  bool have_sr;
  uint64_t sr_ntp;
  uint32_t sr_rtp;
  int64_t sr_local_us;
  uint8_t scratch[SFU_SCRATCH_BYTES];
};

/* Owned by the subscriber's session; src borrowed (NULL once detached). */
struct sfu_consumer {
  sfu_producer *src;
  sfu_consumer_params prm;
  char mid[17];
  bool paused, waiting_kf, started, need_rebase;
  uint32_t gen;
  uint16_t seq_off, first_seq_in, last_seq_out;
  uint32_t ts_off, last_ts_out;
  uint32_t packets, octets;
  int64_t last_out_us, next_sr_us;
  sfu_rtp_rewrite rw;
};

void sfu_consumer_forward(sfu_consumer *c, const uint8_t *pkt, const sfu_rtp_hdr *h, int codec_idx,
                          bool keyframe, int64_t now_us, uint8_t *scratch);
void sfu_producer_detach(sfu_producer *p, sfu_consumer *c);
int sfu_producer_attach(sfu_producer *p, sfu_consumer *c);

#endif
