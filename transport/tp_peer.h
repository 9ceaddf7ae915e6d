/* tp_peer: one WebRTC transport = one libnice agent (one stream, one component,
 * BUNDLE + rtcp-mux), DTLS 1.2 over memory BIOs, and libsrtp2 sessions.
 * Thread: every call and every callback happens on the GMainContext given in
 * tp_peer_config.ctx (the media thread). Not thread-safe otherwise.
 * Knows nothing of rooms or SDP beyond ICE credentials, candidates and the
 * certificate fingerprint. Only transport/ includes nice.h, openssl, srtp2. */
#ifndef TP_PEER_H
#define TP_PEER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp_cert.h"

/* Room an outgoing buffer must have after the packet for the SRTP trailer.
 * 20, not 16: SRTCP with AEAD_AES_128_GCM adds a 16-byte tag plus the
 * 4-byte SRTCP index (SRTP alone needs at most 16). */
#define TP_SRTP_TRAILER_MAX 20
#define TP_MTU 1500

typedef struct tp_peer tp_peer;

typedef enum {
  TP_STATE_NEW = 0,
  TP_STATE_CONNECTING, /* ICE checks or DTLS handshake running */
  TP_STATE_CONNECTED,  /* DTLS done, fingerprint checked, SRTP keyed */
  TP_STATE_FAILED,     /* ICE failed, consent lost, DTLS error, bad fingerprint */
  TP_STATE_CLOSED,     /* peer sent DTLS close_notify */
} tp_state;

const char *tp_state_name(tp_state st);

/* Why a peer is FAILED: the ICE checks found no path; the DTLS handshake,
 * fingerprint check or SRTP keying failed; or a connected peer went silent. */
typedef enum { TP_FAIL_NONE = 0, TP_FAIL_ICE, TP_FAIL_DTLS, TP_FAIL_CONSENT } tp_failure;

/* Upward callbacks; all optional (NULL = ignored). Buffers are borrowed for
 * the duration of the call; on_rtp/on_rtcp buffers are writable (decrypted
 * in place) so the receiver may rewrite headers without copying.
 * A callback may call tp_peer_free() on its own peer only from on_state. */
typedef struct {
  void (*on_rtp)(void *ud, uint8_t *pkt, size_t len);
  void (*on_rtcp)(void *ud, uint8_t *pkt, size_t len);
  void (*on_state)(void *ud, tp_state st, const char *why);
  /* A local candidate found after tp_peer_new returned (e.g. server
   * reflexive), as an SDP attribute value "candidate:..."; NULL = done. */
  void (*on_candidate)(void *ud, const char *cand);
} tp_peer_cbs;

typedef struct {
  GMainContext *ctx;    /* borrowed; must outlive the peer */
  const tp_cert *cert;  /* borrowed; must outlive the peer */
  bool ice_controlling; /* true for the side that sent the SDP offer */
  bool dtls_client;     /* true: we send ClientHello (a=setup:active) */
  /* NULL-terminated list of local IP addresses (IPv4 or IPv6) to gather
   * host candidates on; NULL = every interface address that is neither
   * loopback nor IPv6 link-local, plus 127.0.0.1 and ::1 (when present). */
  const char *const *addrs;
  uint16_t port_min, port_max; /* UDP and TCP port range; 0,0 = any */
  /* 0 = no watchdog (libnice's consent freshness is off: one lost check
   * failed lossy links). N > 0: CONNECTED and no DTLS/SRTP/SRTCP datagram
   * for N s -> FAILED "consent expired". Only for a peer that always sends
   * (a quiet subscriber sends only STUN, which never reaches us). */
  unsigned consent_timeout_s;
  const char *nat_public_ip; /* optional 1:1 NAT address announced in place of host addrs, NULL = none */
  /* Added fields (zero/NULL keeps the default behaviour): */
  /* OpenSSL use_srtp list, NULL = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
   * (GCM first; the DTLS server's order decides). Copied. */
  const char *srtp_profiles;
  /* Names the peer in log lines, e.g. "room1/alice"; NULL = "tpN". Copied. */
  const char *log_name;
  /* ICE-TCP (RFC 6544): also listen on TCP and announce passive TCP host
   * candidates, for browsers whose UDP is blocked (they only do active TCP). */
  bool ice_tcp;
  /* Batched sends (tp_send.h): media leaves with the sender's batch, once
   * per main-loop wake-up. Borrowed, must outlive the peer, same context.
   * NULL = one sendto per packet. */
  struct tp_sender *sender;
  /* ICE-lite (RFC 8445 2.5): answer checks only, never controlling (the
   * remote must be a full agent and reach our host candidates); the SDP
   * must then say a=ice-lite. ice_controlling is ignored. */
  bool ice_lite;
} tp_peer_config;

/* Counters, read by stats/metrics (control plane). */
typedef struct {
  uint64_t rtp_in, rtcp_in, rtp_out, rtcp_out;
  uint64_t bytes_in, bytes_out;
  uint64_t srtp_in_errors; /* auth/replay failures, dropped */
  uint64_t srtp_out_errors;
  uint64_t send_errors;
  uint64_t dropped_before_keys; /* media datagrams that came before SRTP keys */
  uint64_t dtls_dropped;        /* DTLS records dropped (forged, malformed, out of place) */
} tp_peer_stats;

/* Totals over every peer since the process started: what a counter metric
 * needs (a sum over live peers goes down when they leave). Updated only
 * where a packet is dropped (an atomic add), read from any thread. */
typedef struct {
  uint64_t srtp_in_errors;
  uint64_t dtls_dropped;
} tp_peer_total;
tp_peer_total tp_peer_totals(void);

/* Creates the agent, gathers host candidates (complete when this returns),
 * and prepares DTLS. Returns 0 or a negative errno-style code, with err set. */
int tp_peer_new(tp_peer **out, const tp_peer_config *cfg, const tp_peer_cbs *cbs, void *ud, char *err,
                size_t errlen);

const char *tp_peer_ufrag(const tp_peer *p);
const char *tp_peer_pwd(const tp_peer *p);

/* Local candidates as SDP attribute values without "a=" ("candidate:1 1 UDP
 * 2013266431 127.0.0.1 40000 typ host"). Owned by the caller: g_strfreev(). */
char **tp_peer_local_candidates(tp_peer *p);

/* Remote ICE credentials and the sha-256 fingerprint ("AB:CD:..", either
 * case) from the peer's SDP. Starts connectivity checks. Call once. */
int tp_peer_set_remote(tp_peer *p, const char *ufrag, const char *pwd, const char *fingerprint_sha256,
                       char *err, size_t errlen);

/* The remote ICE credentials of the session, NULL before tp_peer_set_remote. */
const char *tp_peer_remote_ufrag(const tp_peer *p);

/* ICE restart (RFC 8445 section 9, RFC 8839 section 4.4.1.1.1): new local
 * ufrag and pwd (tp_peer_ufrag/pwd return them from now on); the remote
 * candidates and checks of the old generation are dropped. DTLS and SRTP
 * are kept (RFC 8842: new ICE credentials alone start no new handshake),
 * and the pair in use keeps carrying media until checks of the new
 * generation select one. Then give the remote's new credentials with
 * tp_peer_set_remote_ice and trickle its candidates as at the start.
 * While a restart is under way an ICE failure is not fatal (the page may
 * restart again); the watchdogs still apply. Only after tp_peer_set_remote:
 * else -EINVAL with err set. */
int tp_peer_restart_ice(tp_peer *p, char *err, size_t errlen);

/* The remote's ICE credentials from a later SDP (offer or answer), after
 * tp_peer_set_remote. Unchanged: nothing happens, returns 0. New: the
 * remote restarted ICE; if we had not (tp_peer_restart_ice), we restart now
 * and return 1: our ufrag/pwd changed and go into the answer. Returns -EINVAL
 * with err set for empty credentials or before tp_peer_set_remote. */
int tp_peer_set_remote_ice(tp_peer *p, const char *ufrag, const char *pwd, char *err, size_t errlen);

/* One trickled remote candidate, "candidate:..." with or without "a=".
 * mDNS (.local) candidates are skipped and return 0 (peer-reflexive
 * discovery covers them). Returns 0 or -EINVAL with err set. */
int tp_peer_add_remote_candidate(tp_peer *p, const char *cand, char *err, size_t errlen);

/* Added: the peer signalled end-of-candidates. Lets ICE declare failure
 * once every pair has failed (with trickle ICE it otherwise waits). */
void tp_peer_remote_candidates_done(tp_peer *p);

/* Encrypts pkt in place (cap >= len + TP_SRTP_TRAILER_MAX) and sends it;
 * with a sender (tp_peer_config.sender) it is encrypted into the sender's
 * next buffer and queued (pkt is left as it was, unless pkt is that buffer:
 * tp_sender_buf), and a send error is counted in send_errors at the flush.
 * Returns 0, -EAGAIN (not connected yet; dropped) or another negative code.
 * Never allocates, never logs. */
int tp_peer_send_rtp(tp_peer *p, uint8_t *pkt, size_t len, size_t cap);
int tp_peer_send_rtcp(tp_peer *p, uint8_t *pkt, size_t len, size_t cap);
/* Data channels: fn gets each DTLS application data record (an SCTP packet)
 * once CONNECTED (buf borrowed; fn must not free the peer); NULL stops it.
 * tp_peer_send_app_data sends buf as one record: 0, -EAGAIN (not
 * connected), -EMSGSIZE (over 16 KiB) or -EIO. */
void tp_peer_set_app_data_cb(tp_peer *p, void (*fn)(void *ud, const uint8_t *buf, size_t len), void *ud);
int tp_peer_send_app_data(tp_peer *p, const uint8_t *buf, size_t len);

/* When the connection reached each step (g_get_monotonic_time µs, 0 = not
 * yet): where a join's milliseconds go. Logged at debug level once
 * CONNECTED. */
typedef struct {
  int64_t created;    /* tp_peer_new */
  int64_t remote;     /* tp_peer_set_remote */
  int64_t ice_up;     /* first pair usable */
  int64_t dtls_first; /* first DTLS datagram sent or received */
  int64_t connected;  /* DTLS done, SRTP keyed */
} tp_peer_times;
const tp_peer_times *tp_peer_get_times(const tp_peer *p);

/* Batched receive, for a process that reads many peers' sockets itself
 * (sfu-bench, with recvmmsg): once CONNECTED over a plain UDP pair, stops
 * libnice reading the selected socket and returns it (borrowed: valid until
 * tp_peer_free; stop watching it before that), or -ENOTCONN. Every datagram
 * read from it then goes to tp_peer_receive: the path of libnice's receive
 * callback (DTLS, SRTP, SRTCP; STUN is dropped, so only for a peer whose
 * remote needs no answers to checks after connecting). pkt is writable
 * (decrypted in place). Not for the server: its transports stay libnice's. */
int tp_peer_take_rx(tp_peer *p);
void tp_peer_receive(tp_peer *p, uint8_t *pkt, size_t len);

tp_state tp_peer_state(const tp_peer *p);
tp_failure tp_peer_failure(const tp_peer *p);
const tp_peer_stats *tp_peer_get_stats(const tp_peer *p);
/* True from tp_peer_restart_ice until a pair of the new generation is up. */
bool tp_peer_ice_restarting(const tp_peer *p);
/* The selected candidate pair as "udp 192.0.2.1:40000 -> udp 198.51.100.7:5000"
 * (transports udp, tcp-active, tcp-passive, tcp-so; a relayed local
 * candidate reads "relay"); "" with -ENOTCONN when none is selected. */
int tp_peer_selected_pair(tp_peer *p, char *buf, size_t len);
/* SRTP profile negotiated ("SRTP_AEAD_AES_128_GCM", ...) or NULL before keys. */
const char *tp_peer_srtp_profile(const tp_peer *p);

/* Sends DTLS close_notify (best effort) and frees everything; no callback
 * fires after this returns. NULL is fine. */
void tp_peer_free(tp_peer *p);

#endif
