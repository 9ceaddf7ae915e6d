/* sfu_vp8: the VP8 RTP payload descriptor (RFC 7741) for simulcast forwarding.
 *  - parse: the descriptor's fields and where they sit, keyframe detection
 *    and the keyframe's width/height;
 *  - munger: per outgoing stream, rewrites picture id (keeping its 7- or
 *    15-bit form), TL0PICIDX and KEYIDX in place so they stay continuous
 *    when the forwarded simulcast layer changes and when pictures of a
 *    filtered temporal layer are dropped;
 *  - temporal filter: forward or drop a packet for a target temporal layer.
 * Pure: no allocation, no logging, no globals, no GLib. Any thread; one
 * munger belongs to one outgoing stream (the subscriber's media thread).
 *
 * Use per forwarded packet (after the layer selector said "forward"):
 *   sfu_vp8_desc d;  if (sfu_vp8_parse(payload, len, &d) != 0) -> not VP8: forward untouched
 *   if (!sfu_vp8_temporal_filter(&cur_tid, target_tid, &d)) { sfu_vp8_munger_drop(&m, &d); drop; }
 *   else sfu_vp8_munger_rewrite(&m, payload_copy, len, &d);   // in the subscriber's copy
 * and on a spatial switch call sfu_vp8_munger_switch() before the keyframe. */
#ifndef SFU_VP8_H
#define SFU_VP8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  bool n;      /* non-reference frame */
  bool s;      /* start of a VP8 partition */
  uint8_t pid; /* partition index */
  bool has_picid;
  bool picid_15; /* M bit: 15-bit picture id (2 bytes) */
  uint16_t picid;
  bool has_tl0;
  uint8_t tl0picidx;
  bool has_tid; /* T bit */
  uint8_t tid;
  bool y; /* layer sync: decodable from the last TID 0 frame alone */
  bool has_keyidx;
  uint8_t keyidx; /* 5 bits */
  /* Offsets into the payload for in-place rewriting (0 = field absent). */
  uint8_t off_picid, off_tl0, off_tk;
  size_t hdr_len;         /* descriptor bytes; the VP8 payload starts here */
  bool keyframe;          /* first packet of a keyframe: S = 1, PID = 0, P bit of the frame tag 0 */
  uint16_t width, height; /* from the keyframe header (scale bits masked); 0 when unknown */
} sfu_vp8_desc;

/* Parses the descriptor at the start of an RTP payload. Returns 0, or
 * -EINVAL when it is cut short or no VP8 payload byte follows it. O(1). */
int sfu_vp8_parse(const uint8_t *payload, size_t len, sfu_vp8_desc *d);

/* Output continuity for one outgoing VP8 stream. Plain data: zero it or init it. */
#define SFU_VP8_PICMAP 16
typedef struct {
  bool started, resync;
  bool have_pid, have_tl0, have_keyidx, have_in;
  uint16_t pid_off;   /* out = in - pid_off (mod 2^15) */
  uint8_t tl0_off;    /* out = in - tl0_off (mod 2^8) */
  uint8_t keyidx_off; /* out = in - keyidx_off (mod 2^5) */
  uint16_t last_pid;  /* newest output values */
  uint8_t last_tl0, last_keyidx;
  uint16_t last_in; /* newest input picture id seen (forwarded or dropped) */
  struct {
    uint16_t in, out;
    bool used;
  } map[SFU_VP8_PICMAP]; /* recent pictures: packets of one picture (and late ones) agree */
} sfu_vp8_munger;

void sfu_vp8_munger_init(sfu_vp8_munger *m);
/* The next forwarded packet comes from another encoder (a simulcast switch,
 * or a resume): its picture id, TL0PICIDX and KEYIDX continue from the
 * last ones sent (+1). */
void sfu_vp8_munger_switch(sfu_vp8_munger *m);
/* Rewrites the fields of a forwarded packet in place (payload = the
 * subscriber's copy, d = sfu_vp8_parse of the same bytes). O(1). */
void sfu_vp8_munger_rewrite(sfu_vp8_munger *m, uint8_t *payload, size_t len, const sfu_vp8_desc *d);
/* A packet of the forwarded layer that is not sent (its temporal layer is
 * filtered): the first packet of each dropped picture shifts the picture
 * ids of later pictures down by one, so the output has no holes. O(1). */
void sfu_vp8_munger_drop(sfu_vp8_munger *m, const sfu_vp8_desc *d);

/* Temporal layer filter for one outgoing stream. *cur is the highest TID
 * forwarded now; target the highest wanted. Returns true to forward.
 * Packets without TID always pass. Down: at the next picture start. Up:
 * only at a packet with Y = 1 of a higher TID (<= target). After a spatial
 * switch set *cur = target: the keyframe makes every temporal layer decodable. */
bool sfu_vp8_temporal_filter(uint8_t *cur, uint8_t target, const sfu_vp8_desc *d);

#endif
