/* tp_sctp_debug: hooks for tests and fuzzing only, never for the media path:
 * send any PPID on any stream (bypassing the channel table, so a test can
 * play a broken or hostile peer). Thread: the associations' context. */
#ifndef TP_SCTP_DEBUG_H
#define TP_SCTP_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "tp_sctp.h"

/* One message, reliable and ordered. Returns 0, -ENOTCONN, -EAGAIN, -EIO. */
int tp_sctp_debug_send_raw(tp_sctp *s, uint16_t stream, uint32_t ppid, const void *data, size_t len);

#endif
