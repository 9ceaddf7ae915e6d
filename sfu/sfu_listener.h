/* sfu_listener: which producer (and which of its encodings) an incoming RTP
 * packet belongs to, for one transport. By ssrc first; an unknown ssrc is
 * placed by its MID extension (the m-section) and RID extension (the
 * encoding), or RRID for a retransmission stream (RFC 8852), and then bound
 * so the ssrc alone decides from the next packet on (browsers stop sending
 * MID/RID once they see our receiver reports). A producer whose offer listed
 * ssrcs is bound from the start.
 * Thread: the owning media thread. No allocation after init: the tables are
 * fixed-size, so a peer inventing ssrcs can only rebind its own streams. */
#ifndef SFU_LISTENER_H
#define SFU_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu_producer.h"

#define SFU_LISTENER_PRODUCERS 32 /* producers on one transport */
#define SFU_LISTENER_SSRCS (SFU_LISTENER_PRODUCERS * 2)

typedef struct {
  uint32_t ssrc;
  sfu_producer *p; /* NULL: free slot */
  uint8_t layer;
  bool rtx;
} sfu_listener_entry;

typedef struct {
  sfu_producer *prods[SFU_LISTENER_PRODUCERS]; /* borrowed */
  size_t nprods;
  sfu_listener_entry ssrcs[SFU_LISTENER_SSRCS];
  /* The transport's ids for the MID/RID/RRID extensions (BUNDLE keeps them
   * equal across sections); 0 = not negotiated. */
  uint8_t ext_mid, ext_rid, ext_rrid;
} sfu_listener;

void sfu_listener_init(sfu_listener *l);
/* -ENOSPC when the transport already has SFU_LISTENER_PRODUCERS producers. */
int sfu_listener_add(sfu_listener *l, sfu_producer *p);
void sfu_listener_remove(sfu_listener *l, const sfu_producer *p);
/* The producer and encoding of a packet, or NULL. May bind its ssrc. */
sfu_producer *sfu_listener_find(sfu_listener *l, const uint8_t *pkt, const sfu_rtp_hdr *h, uint8_t *layer,
                                bool *rtx);
size_t sfu_listener_count(const sfu_listener *l);

#endif
