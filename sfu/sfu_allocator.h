/* sfu_allocator: one subscriber transport's link shared out over its video
 * consumers. It feeds the transport's estimator (sfu_bwe) with the
 * subscriber's transport-cc feedback (or takes its REMB when it sends no
 * feedback), sends the probe padding the estimator asks for, runs the layer
 * allocation (sfu_alloc) with each consumer's viewport and the layers its
 * producer sends, and applies it: each consumer's wanted spatial and
 * temporal layer, or a pause when even the lowest layer does not fit.
 * It also works out, per producer, the best layer any visible viewport
 * needs, so that layers nobody watches can be switched off at the publisher.
 * Thread: the owning media thread; called by the router. */
#ifndef SFU_ALLOCATOR_H
#define SFU_ALLOCATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "sfu_rtcp.h"
#include "sfu_transport.h"

/* A transport-cc feedback (RTPFB 15) from the subscriber. st is scratch of
 * max entries. Malformed feedback is counted (*bad) and dropped. */
void sfu_allocator_on_feedback(sfu_transport *t, const sfu_rtcp_item *it, sfu_twcc_status *st, size_t max,
                               int64_t now_us, uint64_t *bad);
/* A REMB from the subscriber: the estimate while it sends no transport-cc. */
void sfu_allocator_on_remb(sfu_transport *t, uint64_t bps);

/* What changed for one consumer when the allocation ran. */
typedef void (*sfu_allocator_paused_fn)(void *ud, sfu_consumer *c, bool paused);

/* Every tick (20 ms): probe padding, and the allocation when the estimate
 * moved, a viewport changed, or a second passed. */
void sfu_allocator_tick(sfu_transport *t, int64_t now_us, sfu_allocator_paused_fn on_paused, void *ud);

/* The best spatial layer of p any visible consumer's viewport needs (-1:
 * none). */
int sfu_allocator_wanted_layer(const sfu_producer *p);

#endif
