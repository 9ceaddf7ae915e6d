/* sfu_codec: what the router must know about payloads: whether a packet
 * starts a keyframe. Pure; any thread. */
#ifndef SFU_CODEC_H
#define SFU_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RED: RFC 2198 redundant audio around Opus (sfu_red.h). */
typedef enum { SFU_CODEC_NONE = 0, SFU_CODEC_OPUS, SFU_CODEC_VP8, SFU_CODEC_H264, SFU_CODEC_RED } sfu_codec;

/* Case-insensitive "opus" / "VP8" / "H264" / "red" -> enum; NONE otherwise. */
sfu_codec sfu_codec_from_name(const char *name);
/* True if this RTP payload is (the first packet of) a keyframe: VP8 with S=1,
 * PID=0 and P=0; H.264 IDR or SPS, bare, in STAP-A, or as FU-A start. */
bool sfu_codec_is_keyframe(sfu_codec c, const uint8_t *payload, size_t len);

#endif
