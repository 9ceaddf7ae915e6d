/* tp_peer_debug: hooks for tests and diagnostics only (not for the media
 * path): protect without sending, and send raw bytes on the selected pair.
 * Thread: the peer's context. */
#ifndef TP_PEER_DEBUG_H
#define TP_PEER_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp_peer.h"

/* Protects pkt in place with the outbound session; *len updated.
 * Returns 0, -EAGAIN before keys, or another negative code. */
int tp_peer_debug_protect(tp_peer *p, bool rtcp, uint8_t *pkt, size_t *len, size_t cap);
/* Sends buf (borrowed) as is. Returns 0 or a negative code. */
int tp_peer_debug_send_raw(tp_peer *p, const uint8_t *buf, size_t len);
/* libnice's last component state ("connecting", "ready", "failed", ...). */
const char *tp_peer_debug_ice_state(const tp_peer *p);

#endif
