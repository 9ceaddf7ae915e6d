/* sfu_const: the payload types and RTP header extension ids the server
 * chooses for what it sends to subscribers, and the extension URIs. One
 * place: the SDP writer, the media core and the load generator use these.
 * (Publishers' ids and payload types are theirs, read from their offers.)
 * Constants only; any thread. */
#ifndef SFU_CONST_H
#define SFU_CONST_H

/* Payload types in subscriber offers. */
#define SFU_PT_OPUS 111
#define SFU_PT_RED 63 /* red/48000/2 around SFU_PT_OPUS (fmtp "111/111") */
#define SFU_PT_VP8 96
#define SFU_PT_VP8_RTX 97
#define SFU_PT_H264 102
#define SFU_PT_H264_RTX 103

/* Header extension ids in subscriber offers (one-byte form, 1..14). */
#define SFU_EXT_AUDIO_LEVEL 1
#define SFU_EXT_ABS_SEND_TIME 2
#define SFU_EXT_TRANSPORT_CC 3
#define SFU_EXT_MID 4

#define SFU_URI_AUDIO_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define SFU_URI_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define SFU_URI_TRANSPORT_CC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define SFU_URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define SFU_URI_RID "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define SFU_URI_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

/* Limits the media core is built around. */
#define SFU_MAX_ENCODINGS 4 /* receive streams (simulcast layers) per producer */
#define SFU_MID_MAX 16      /* bytes of a mid or rid value, with its terminator */

#endif
