/* sig_sdp_internal: helpers shared by sig_sdp_parse.c and sig_sdp_write.c.
 * Private to the SDP module; pure, any thread. */
#ifndef SIG_SDP_INTERNAL_H
#define SIG_SDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define SIG_URI_AUDIO_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define SIG_URI_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define SIG_URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"

/* RFC 4566 token-char. */
bool sig_sdp_is_token_char(unsigned char c);

/* s (borrowed) is non-empty, made only of token chars, and shorter than cap. */
bool sig_sdp_is_token(const char *s, size_t cap);

#endif
