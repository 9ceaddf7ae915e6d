/* sig_sdp_internal: helpers shared by sig_sdp_parse.c and sig_sdp_write.c.
 * Private to the SDP module; pure, any thread. */
#ifndef SIG_SDP_INTERNAL_H
#define SIG_SDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 4566 token-char. */
bool sig_sdp_is_token_char(unsigned char c);

/* s (borrowed) is non-empty, made only of token chars, and shorter than cap. */
bool sig_sdp_is_token(const char *s, size_t cap);

#endif
