/* sfu_codec: keyframe detection for VP8 (RFC 7741) and H.264 (RFC 6184,
 * packetization modes 0 and 1). Pure; every read is bounds-checked. */
#include "sfu_codec.h"

#include <strings.h>

sfu_codec sfu_codec_from_name(const char *name) {
  if (!name) return SFU_CODEC_NONE;
  if (strcasecmp(name, "opus") == 0) return SFU_CODEC_OPUS;
  if (strcasecmp(name, "vp8") == 0) return SFU_CODEC_VP8;
  if (strcasecmp(name, "h264") == 0) return SFU_CODEC_H264;
  if (strcasecmp(name, "red") == 0) return SFU_CODEC_RED;
  return SFU_CODEC_NONE;
}

/* VP8 payload descriptor:
 *   X R N S R PID(3)
 *   [X] I L T K RSV(4)
 *   [I] M PictureID(7) [M] PictureID(8)
 *   [L] TL0PICIDX
 *   [T|K] TID(2) Y KEYIDX(5)
 * then, at the start of a partition 0 (S=1, PID=0), the VP8 payload header
 * whose low bit P is 0 for a keyframe (RFC 6386 9.1). */
static bool vp8_is_keyframe(const uint8_t *p, size_t len) {
  if (len < 1) return false;
  size_t off = 1;
  bool x = p[0] & 0x80, s = p[0] & 0x10;
  uint8_t pid = p[0] & 0x07;
  if (!s || pid != 0) return false;
  if (x) {
    if (len <= off) return false;
    uint8_t ext = p[off++];
    if (ext & 0x80) { /* I: PictureID, one or two bytes by its M bit */
      if (len <= off) return false;
      off += (p[off] & 0x80) ? 2 : 1;
    }
    if (ext & 0x40) /* L: TL0PICIDX */
      off++;
    if (ext & 0x30) /* T or K: TID/Y/KEYIDX */
      off++;
  }
  if (len <= off) return false;
  return (p[off] & 0x01) == 0;
}

static bool h264_nal_is_key(uint8_t nal_type) {
  return nal_type == 5 || nal_type == 7;
}

static bool h264_is_keyframe(const uint8_t *p, size_t len) {
  if (len < 1) return false;
  uint8_t type = p[0] & 0x1F;
  if (type >= 1 && type <= 23) return h264_nal_is_key(type);
  if (type == 24) { /* STAP-A: [size(16) NAL]... */
    size_t off = 1;
    while (len - off >= 2) {
      size_t sz = ((size_t)p[off] << 8) | p[off + 1];
      off += 2;
      if (sz == 0 || sz > len - off) return false;
      if (h264_nal_is_key(p[off] & 0x1F)) return true;
      off += sz;
    }
    return false;
  }
  if (type == 28) { /* FU-A: FU indicator, FU header S E R Type(5) */
    if (len < 2) return false;
    return (p[1] & 0x80) && h264_nal_is_key(p[1] & 0x1F);
  }
  return false;
}

bool sfu_codec_is_keyframe(sfu_codec c, const uint8_t *payload, size_t len) {
  if (!payload) return false;
  switch (c) {
  case SFU_CODEC_VP8:
    return vp8_is_keyframe(payload, len);
  case SFU_CODEC_H264:
    return h264_is_keyframe(payload, len);
  default:
    return false; /* audio has no keyframes */
  }
}
