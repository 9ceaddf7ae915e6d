/* tp_demux: classifies one received datagram by its first bytes (RFC 7983,
 * RFC 5761 for RTP vs RTCP on one port). Pure, no state, no allocation.
 * Thread: any. Depends on nothing. */
#ifndef TP_DEMUX_H
#define TP_DEMUX_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  TP_PKT_OTHER = 0, /* STUN, ZRTP, TURN channel, garbage: not ours */
  TP_PKT_DTLS,      /* first byte 20..63 */
  TP_PKT_RTP,       /* first byte 128..191, second byte not an RTCP type */
  TP_PKT_RTCP,      /* first byte 128..191, second byte 192..223 */
} tp_pkt_kind;

/* buf: borrowed. Short RTP (< 12 bytes) or RTCP (< 8 bytes) is OTHER. */
static inline tp_pkt_kind tp_demux_classify(const uint8_t *buf, size_t len) {
  if (len == 0) return TP_PKT_OTHER;
  uint8_t b0 = buf[0];
  if (b0 >= 20 && b0 <= 63) return TP_PKT_DTLS;
  if (b0 >= 128 && b0 <= 191 && len >= 8) {
    uint8_t b1 = buf[1];
    if (b1 >= 192 && b1 <= 223) return TP_PKT_RTCP;
    return len >= 12 ? TP_PKT_RTP : TP_PKT_OTHER;
  }
  return TP_PKT_OTHER;
}

#endif
