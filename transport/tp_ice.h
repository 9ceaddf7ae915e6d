/* tp_ice: the libnice side of a peer: makes the agent (one stream, one
 * component), turns candidates into SDP attribute values and back.
 * No state of its own. Thread: the peer's context. Internal to transport/. */
#ifndef TP_ICE_H
#define TP_ICE_H

#include <nice/agent.h>

#include "tp_peer.h"

/* Creates the agent on cfg->ctx with its stream, host addresses and port
 * range; gathering is left to the caller (connect signals first). */
int tp_ice_agent_new(NiceAgent **agent, guint *stream_id, const tp_peer_config *cfg, char *err,
                     size_t errlen);

/* "candidate:..." (no "a="), owned: g_free; NULL for candidates a browser
 * cannot use (our active and simultaneous-open TCP ones). nat_ip (may be
 * NULL) replaces the address of non-loopback host candidates of its own
 * address family, keeping the port. */
char *tp_ice_candidate_sdp(NiceAgent *agent, const NiceCandidate *c, const char *nat_ip);

/* Local candidates of the stream's component 1, NULL-terminated, g_strfreev. */
char **tp_ice_local_candidates(NiceAgent *agent, guint stream_id, const char *nat_ip);

/* Parses "candidate:..." or "a=candidate:...". Returns 0 with *out set
 * (owned: nice_candidate_free), 0 with *out NULL when the candidate is
 * skipped (mDNS .local, neither UDP nor TCP, component other than 1), or
 * -EINVAL. A browser's TCP candidates are "tcptype active": libnice forms
 * no pair with them (RFC 6544 6.2); the browser's connection to our
 * passive candidate is learnt as peer-reflexive. */
int tp_ice_parse_remote(NiceAgent *agent, guint stream_id, const char *cand, NiceCandidate **out, char *err,
                        size_t errlen);

#endif
