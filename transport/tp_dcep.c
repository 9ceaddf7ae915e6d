/* tp_dcep: DCEP messages and capped reassembly (see tp_dcep.h).
 *
 * DATA_CHANNEL_OPEN (RFC 8832 section 5.1):
 *   type 0x03 (1) | channel type (1) | priority (2) | reliability (4) |
 *   label length (2) | protocol length (2) | label | protocol */
#include "tp_dcep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OPEN_HDR 12

static uint16_t rd16(const uint8_t *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}
static uint32_t rd32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

int tp_dcep_parse_open(const uint8_t *buf, size_t len, tp_dcep_open *o) {
  if (!buf || !o || len < OPEN_HDR || buf[0] != TP_DCEP_OPEN) return -EINVAL;
  uint8_t type = buf[1];
  if ((type & 0x7F) > TP_DC_PARTIAL_TIMED) return -EINVAL;
  size_t ll = rd16(buf + 8), pl = rd16(buf + 10);
  if (len - OPEN_HDR < ll || len - OPEN_HDR - ll < pl) return -EINVAL;
  o->channel_type = type;
  o->priority = rd16(buf + 2);
  o->reliability = rd32(buf + 4);
  o->label = buf + OPEN_HDR;
  o->label_len = (uint16_t)ll;
  o->protocol = buf + OPEN_HDR + ll;
  o->protocol_len = (uint16_t)pl;
  return 0;
}

size_t tp_dcep_build_open(uint8_t *out, size_t cap, uint8_t channel_type, uint32_t reliability,
                          const char *label, const char *protocol) {
  size_t ll = label ? strlen(label) : 0, pl = protocol ? strlen(protocol) : 0;
  if (ll > 0xFFFF || pl > 0xFFFF || cap < OPEN_HDR || cap - OPEN_HDR < ll + pl) return 0;
  out[0] = TP_DCEP_OPEN;
  out[1] = channel_type;
  wr16(out + 2, 0); /* priority: all equal */
  wr32(out + 4, reliability);
  wr16(out + 8, (uint16_t)ll);
  wr16(out + 10, (uint16_t)pl);
  if (ll) memcpy(out + OPEN_HDR, label, ll);
  if (pl) memcpy(out + OPEN_HDR + ll, protocol, pl);
  return OPEN_HDR + ll + pl;
}

static int over(tp_dcep_reasm *r, bool eor) {
  r->len = 0;
  r->partial = false;
  r->discarding = !eor;
  return -EMSGSIZE;
}

int tp_dcep_reasm_push(tp_dcep_reasm *r, uint16_t stream, uint32_t ppid, const uint8_t *data, size_t len,
                       bool eor, const uint8_t **msg, size_t *msg_len) {
  if (r->discarding) { /* the rest of a message already refused */
    if (eor) r->discarding = false;
    return TP_REASM_MORE;
  }
  if (r->partial && (stream != r->stream || ppid != r->ppid)) {
    r->partial = false; /* not ours to finish: forget it */
    r->len = 0;
  }
  if (!r->partial && eor) { /* whole: no copy */
    if (len > r->max) return over(r, true);
    *msg = data;
    *msg_len = len;
    return TP_REASM_DONE;
  }
  if (len > r->max - r->len) return over(r, eor);
  if (!r->buf) {
    r->buf = malloc(r->max ? r->max : 1);
    if (!r->buf) {
      over(r, eor);
      return -ENOMEM;
    }
  }
  if (!r->partial) {
    r->partial = true;
    r->stream = stream;
    r->ppid = ppid;
    r->len = 0;
  }
  if (len) memcpy(r->buf + r->len, data, len);
  r->len += len;
  if (!eor) return TP_REASM_MORE;
  r->partial = false;
  *msg = r->buf;
  *msg_len = r->len;
  r->len = 0;
  return TP_REASM_DONE;
}

void tp_dcep_reasm_free(tp_dcep_reasm *r) {
  free(r->buf);
  r->buf = NULL;
  r->len = 0;
  r->partial = r->discarding = false;
}
