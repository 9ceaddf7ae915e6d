/* sfu_rtp: RTP header parsing and the per-subscriber header rewrite.
 * Pure: no allocation, no logging, no globals, no GLib; any thread. */
#ifndef SFU_RTP_H
#define SFU_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Offsets into the packet; nothing is copied. */
typedef struct {
  uint8_t pt;
  bool marker;
  uint16_t seq;
  uint32_t ts;
  uint32_t ssrc;
  uint8_t csrc_count;
  uint16_t ext_profile; /* 0xBEDE one-byte, 0x100x two-byte, 0 = no extension */
  size_t ext_off;       /* first byte of extension data (after its 4-byte header) */
  size_t ext_len;       /* bytes of extension data */
  size_t payload_off;
  size_t payload_len; /* without padding */
  uint8_t padding_len;
} sfu_rtp_hdr;

/* Returns 0, or -EINVAL for anything that is not a well-formed RTP v2
 * packet (short, bad version, csrc/extension/padding past the end). */
int sfu_rtp_parse(const uint8_t *buf, size_t len, sfu_rtp_hdr *h);

/* RFC 5761: payload type field 192..223 on a muxed port means RTCP. */
bool sfu_rtp_is_rtcp(const uint8_t *buf, size_t len);

/* Finds one-byte (or two-byte) header extension element `id`; returns a
 * pointer to its data and sets *len, or NULL. */
const uint8_t *sfu_rtp_ext_find(const uint8_t *buf, const sfu_rtp_hdr *h, uint8_t id, size_t *len);

/* How one subscriber's copy of a packet differs from the publisher's. */
typedef struct {
  uint32_t ssrc;
  uint16_t seq;
  uint32_t ts;
  uint8_t pt;
  /* ext_map[publisher id] = subscriber id, 0 = drop the element. Index 0
   * unused. Only one-byte (0xBEDE) extensions are carried; others dropped. */
  uint8_t ext_map[16];
  uint8_t mid_id;  /* subscriber's id for urn:ietf:params:rtp-hdrext:sdes:mid, 0 = none */
  const char *mid; /* subscriber's mid value written into that element */
  uint8_t mid_len; /* 1..16 */
  uint8_t twcc_id; /* subscriber's id for the transport-wide sequence number, 0 = none */
  uint16_t twcc_seq;
  /* RFC 4588 retransmission form: the header carries rtx_ssrc, rtx_pt and
   * rtx_seq, and the payload starts with the original sequence number (seq). */
  bool rtx;
  uint8_t rtx_pt;
  uint32_t rtx_ssrc;
  uint16_t rtx_seq;
} sfu_rtp_rewrite;

/* Writes the rewritten packet (header, rebuilt extension block, payload;
 * padding dropped) into out. Returns its length, or 0 if cap is too small.
 * in/h must come from a successful sfu_rtp_parse. in and out must not overlap. */
size_t sfu_rtp_rewrite_into(const uint8_t *in, const sfu_rtp_hdr *h, const sfu_rtp_rewrite *rw, uint8_t *out,
                            size_t cap);

/* A padding-only packet (for bandwidth probes) on the rtx stream of rw:
 * header (rtx_ssrc, rtx_pt, rtx_seq, ts), the mid and transport-wide
 * elements, then pad bytes of padding (1..255, the last one the count).
 * Returns its length, or 0 if cap is too small or pad out of range. */
size_t sfu_rtp_build_padding(const sfu_rtp_rewrite *rw, size_t pad, uint8_t *out, size_t cap);

/* Sequence number helpers (RFC 1982 serial arithmetic on 16 bits). */
static inline bool sfu_seq_newer(uint16_t a, uint16_t b) {
  return a != b && (uint16_t)(a - b) < 0x8000;
}

static inline uint16_t sfu_rd16(const uint8_t *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t sfu_rd32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void sfu_wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void sfu_wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

#endif
