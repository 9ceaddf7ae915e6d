/* sfu_transport: the media side of one peer connection. It wraps a tp_peer
 * (ICE, DTLS, SRTP), owns the producers it receives and the consumers it
 * sends, places incoming RTP with its listener, finds consumers by ssrc for
 * the subscriber's RTCP, and watches traffic for a vanished peer. The
 * router gets the tp_peer callbacks (the transport does not call upward).
 * Thread: the owning media thread. Ownership: its router owns it. */
#ifndef SFU_TRANSPORT_H
#define SFU_TRANSPORT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfu.h"
#include "sfu_consumer.h"
#include "sfu_listener.h"
#include "sfu_twcc.h"
#include "sfu_txctx.h"
#include "tp_peer.h"

typedef struct sfu_router sfu_router;

typedef struct sfu_transport {
  sfu_id id;
  sfu_router *router; /* borrowed: the owner */
  tp_peer *peer;      /* owned */
  sfu_listener lis;
  GPtrArray *producers;     /* sfu_producer*, owned */
  GPtrArray *consumers;     /* sfu_consumer*, owned */
  GHashTable *cons_by_ssrc; /* subscriber ssrc -> sfu_consumer*, borrowed */
  struct sfu_datachan *dc;  /* owned; NULL until the remote accepted data channels */
  bool connected, failed, first_media;
  sfu_txctx tx;      /* what its consumers send share: transport-wide seq, estimator */
  uint64_t remb_bps; /* the subscriber's REMB, when it sends no transport-cc */
  bool alloc_dirty;  /* a viewport or a consumer changed: allocate again */
  int64_t next_alloc_us;
  /* Transport-cc feedback to the remote (publisher side), when negotiated. */
  sfu_twcc_recv *twcc_rx; /* owned, NULL = none */
  uint8_t ext_twcc;
  uint32_t twcc_ssrc; /* sender ssrc of our feedback */
  int64_t next_twcc_us;
  int64_t remote_set_us;
  /* Traffic watchdog: packet counters and when they last moved. */
  uint64_t wd_rx, wd_tx;
  int64_t wd_rx_us, wd_tx_us, wd_next_us;
} sfu_transport;

/* Creates the peer with the given callbacks (ud = the new transport). */
int sfu_transport_new(sfu_transport **out, sfu_id id, sfu_router *r, const tp_peer_config *pc,
                      const tp_peer_cbs *cbs, char *err, size_t errlen);
/* Frees its consumers, producers and peer; the router unlinks them first. */
void sfu_transport_free(sfu_transport *t);

int sfu_transport_add_producer(sfu_transport *t, sfu_producer *p);
void sfu_transport_remove_producer(sfu_transport *t, sfu_producer *p); /* frees it */
int sfu_transport_add_consumer(sfu_transport *t, sfu_consumer *c);
void sfu_transport_remove_consumer(sfu_transport *t, sfu_consumer *c); /* frees it */
sfu_consumer *sfu_transport_consumer_by_ssrc(sfu_transport *t, uint32_t ssrc);
/* An incoming RTP packet's transport-wide sequence number, if any, for feedback. */
void sfu_transport_note_arrival(sfu_transport *t, const uint8_t *pkt, const sfu_rtp_hdr *h, int64_t now_us);
/* Due transport-cc feedback (every 100 ms) into buf (cap >= 1200 +
 * TP_SRTP_TRAILER_MAX), sent on the peer. */
void sfu_transport_send_feedback(sfu_transport *t, uint8_t *buf, int64_t now_us);

/* Once a second: SFU_FAIL_NONE, or why this transport should be failed
 * (never connected within limit_us of its remote description, or silent). */
sfu_failure sfu_transport_watchdog(sfu_transport *t, int64_t now_us, int64_t limit_us);
/* Since the peer was last heard (as the watchdog saw it), -1 when it need not be heard. */
int64_t sfu_transport_silent_ms(const sfu_transport *t, int64_t now_us);

#endif
