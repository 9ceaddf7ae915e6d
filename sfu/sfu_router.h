/* sfu_router: one room on the media side. It owns the room's transports
 * (and through them producers and consumers), keeps the producer ->
 * consumers fan-out, and is where packets go: RTP from a publisher is
 * placed by the transport's listener, counted by its producer and handed to
 * each of its consumers; RTCP from a subscriber reaches the consumer it is
 * about (NACK, PLI, FIR), SRs from a publisher reach the producer.
 * Thread: the owning worker's media thread; no locks anywhere. */
#ifndef SFU_ROUTER_H
#define SFU_ROUTER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfu.h"
#include "sfu_counters.h"
#include "sfu_transport.h"

/* What a worker shares with its routers. */
typedef struct {
  GMainContext *ctx;
  const tp_cert *cert;
  char **ice_addrs;
  char *nat_public_ip;
  unsigned port_min, port_max;
  bool ice_tcp, ice_lite;
  int64_t consent_limit_us;
  sfu_counters ctr;
  uint64_t srtp_errors_closed; /* SRTP errors of transports already gone */
  uint8_t *scratch_rtp, *scratch_rtcp;
  struct tp_sender *sender;    /* batched sends of every transport; NULL = one sendto per packet */
  uint8_t *scratch_rx;         /* an incoming retransmission rebuilt as the packet it repairs */
  sfu_twcc_status *fb_scratch; /* SFU_TWCC_BUILD_MAX statuses of one parsed feedback */
  uint64_t bad_feedback;       /* malformed transport-cc feedback, dropped */
  /* Every object by id, for the worker's commands (borrowed values). */
  GHashTable *transports, *producers, *consumers;
  void (*emit)(void *ud, const sfu_event *ev);
  void *emit_ud;
} sfu_env;

struct sfu_router {
  sfu_id id;
  sfu_env *env;
  GPtrArray *transports; /* sfu_transport*, owned */
  sfu_speaker *spk;      /* owned; created with the first observed microphone */
  int64_t spk_next_us;   /* next speaker decision */
};

sfu_router *sfu_router_new(sfu_id id, sfu_env *env);
void sfu_router_free(sfu_router *r); /* closes everything in it */

int sfu_router_add_transport(sfu_router *r, sfu_id id, const sfu_transport_params *p,
                             sfu_transport_local *out, char *err, size_t errlen);
void sfu_router_connect_transport(sfu_transport *t, const char *ufrag, const char *pwd, const char *fp);
void sfu_router_add_candidate(sfu_transport *t, const char *cand);
/* ICE restart: ufrag NULL = ours (new local credentials into out); else the
 * remote's credentials of a later description (1 = we restarted too, out
 * filled; 0 = unchanged). Negative with err set on failure. */
int sfu_router_transport_ice(sfu_transport *t, const char *ufrag, const char *pwd, sfu_transport_local *out,
                             char *err, size_t errlen);
void sfu_router_start_datachannel(sfu_transport *t, uint16_t remote_port, uint32_t remote_max);
void sfu_router_close_transport(sfu_transport *t);

void sfu_router_produce(sfu_transport *t, sfu_id id, const sfu_producer_params *p);
void sfu_router_close_producer(sfu_producer *p);

void sfu_router_consume(sfu_transport *t, sfu_id id, const sfu_consumer_params *p);
void sfu_router_set_consumer_paused(sfu_consumer *c, bool paused);
void sfu_router_set_viewport(sfu_consumer *c, unsigned width, unsigned height, bool visible);
void sfu_router_close_consumer(sfu_consumer *c);

/* Timers of everything in the room (every 20 ms). */
void sfu_router_tick(sfu_router *r, int64_t now_us);

#endif
