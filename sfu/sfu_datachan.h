/* sfu_datachan: the data channels of one transport on the media side: an
 * SCTP association over its DTLS (tp_sctp), started once the remote accepted
 * the data section and DTLS is up, and the one channel the room uses, the
 * page's "chat" (RFC 8832 DCEP: the page opens it, we acknowledge). What
 * arrives on it goes to the control thread as SFU_EV_DATA (the media thread
 * never parses it); what the control thread sends goes out on it.
 * Thread: the owning media thread. Ownership: its transport owns it. */
#ifndef SFU_DATACHAN_H
#define SFU_DATACHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu.h"

struct sfu_transport;
typedef struct sfu_datachan sfu_datachan;

/* For transport t (borrowed; outlives it). Starts SCTP at once if t is
 * connected, else when sfu_datachan_on_connected is called. NULL on failure
 * (logged). */
sfu_datachan *sfu_datachan_new(struct sfu_transport *t, uint16_t remote_port, uint32_t remote_max);
void sfu_datachan_on_connected(sfu_datachan *d);
/* Sends text on the chat channel; false if there is none (yet) or it failed. */
bool sfu_datachan_send(sfu_datachan *d, const char *text, size_t len);
/* After the transport's peer is silenced (tp_peer_free): no more input. */
void sfu_datachan_free(sfu_datachan *d);

#endif
