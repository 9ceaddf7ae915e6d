/* tp_peer: glues one libnice agent (tp_ice), one DTLS endpoint (tp_dtls)
 * and one SRTP session pair (tp_srtp) into a WebRTC transport.
 *
 * Re-entrancy: on_state may free its own peer. Every entry point that can
 * reach on_state (libnice signals and recv, our timers, the public calls
 * that change state) runs between enter() and leave(); tp_peer_free inside
 * such a frame only silences the peer (no more callbacks, sources removed,
 * recv detached) and the outermost leave() frees the memory, dropping the
 * agent from an idle source so libnice is never unreffed under its own
 * feet.
 *
 * Consent: libnice's own RFC 7675 consent freshness is off (tp_ice.c says
 * why). consent_timeout_s > 0 adds our own watchdog: once CONNECTED, if no datagram at all (DTLS, SRTP or
 * SRTCP; STUN never reaches us) arrives for that many seconds, the peer
 * goes FAILED with why "consent expired". It is checked once a second
 * against a packet counter, so it costs nothing per packet. Pick it above
 * the remote's RTCP interval (browsers send RTCP every second or so). */
#define G_LOG_DOMAIN "tp"

#include "tp_peer.h"

#include <errno.h>
#include <nice/agent.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tp_demux.h"
#include "tp_dtls.h"
#include "tp_ice.h"
#include "tp_peer_debug.h"
#include "tp_send.h"
#include "tp_srtp.h"

#define TP_MAX_EARLY_CANDIDATES 64

static tp_peer_total totals; /* atomic */

tp_peer_total tp_peer_totals(void) {
  tp_peer_total t = {__atomic_load_n(&totals.srtp_in_errors, __ATOMIC_RELAXED),
                     __atomic_load_n(&totals.dtls_dropped, __ATOMIC_RELAXED)};
  return t;
}

struct tp_peer {
  GMainContext *ctx;
  NiceAgent *agent;
  guint stream_id;
  tp_peer_cbs cbs;
  void *ud;
  void (*app_fn)(void *ud, const uint8_t *buf, size_t len); /* data channels */
  void *app_ud;
  tp_state state;
  tp_failure failure;
  bool dtls_client, ice_up, ice_was_up, dtls_started;
  bool remote_set, remote_done_early, fp_pending;
  bool in_new, gathering_done, freeing;
  bool restarting;     /* ICE restarted, no pair of the new generation yet */
  bool awaiting_creds; /* restarted here; the remote's new credentials to come */
  guint ice_state;     /* libnice's last NiceComponentState, for tests */
  int depth;
  char *name, *nat_ip;
  gchar *ufrag, *pwd, *remote_ufrag, *remote_pwd;
  char remote_fp[96], peer_fp[96];
  GSList *early; /* NiceCandidate*, owned, before tp_peer_set_remote */
  guint n_early;
  tp_dtls *dtls;
  tp_srtp srtp;
  GSource *dtls_timer, *consent_timer, *gather_idle;
  unsigned consent_timeout_s, consent_idle_s;
  uint64_t rx_datagrams, consent_seen;
  tp_peer_stats stats;
  /* Media goes straight to the selected pair's UDP socket (libnice's own
   * send adds its lock and GLib layers per packet); tx_sock is a ref. */
  GSocket *tx_sock;
  int tx_fd;
  struct sockaddr_storage tx_addr;
  socklen_t tx_addrlen;
  tp_sender *sender; /* borrowed; NULL = one sendto per packet */
  tp_peer_times times;
  tp_send_link send_link;
  GPtrArray *held; /* GBytes*, DTLS datagrams sent before ICE had a pair; NULL = none */
};

const char *tp_state_name(tp_state st) {
  switch (st) {
  case TP_STATE_NEW:
    return "new";
  case TP_STATE_CONNECTING:
    return "connecting";
  case TP_STATE_CONNECTED:
    return "connected";
  case TP_STATE_FAILED:
    return "failed";
  case TP_STATE_CLOSED:
    return "closed";
  }
  return "?";
}

/* ---- lifetime ---- */

static gboolean unref_later(gpointer agent) {
  (void)agent;
  return G_SOURCE_REMOVE; /* the destroy notify does the unref */
}

static void drop_source(GSource **s) {
  if (!*s) return;
  g_source_destroy(*s);
  g_source_unref(*s);
  *s = NULL;
}

static void stop_timers(tp_peer *p) {
  drop_source(&p->dtls_timer);
  drop_source(&p->consent_timer);
}

static void drop_held(tp_peer *p) {
  if (p->held) g_ptr_array_free(p->held, TRUE);
  p->held = NULL;
}

static void destroy(tp_peer *p, bool defer_agent_unref) {
  stop_timers(p);
  drop_held(p);
  tp_sender_release(p->sender, &p->send_link);
  if (p->tx_sock) g_object_unref(p->tx_sock);
  p->tx_sock = NULL;
  p->tx_fd = -1;
  drop_source(&p->gather_idle);
  tp_dtls_free(p->dtls);
  tp_srtp_stop(&p->srtp);
  g_slist_free_full(p->early, (GDestroyNotify)nice_candidate_free);
  if (p->agent && defer_agent_unref) {
    GSource *s = g_idle_source_new();
    g_source_set_callback(s, unref_later, p->agent, g_object_unref);
    g_source_attach(s, p->ctx);
    g_source_unref(s);
  } else if (p->agent) {
    g_object_unref(p->agent);
  }
  g_free(p->ufrag);
  g_free(p->pwd);
  g_free(p->remote_ufrag);
  g_free(p->remote_pwd);
  g_free(p->name);
  g_free(p->nat_ip);
  g_free(p);
}

static inline void enter(tp_peer *p) {
  p->depth++;
}

static void leave(tp_peer *p) {
  if (--p->depth == 0 && p->freeing) destroy(p, true);
}

/* ---- state ---- */

static gboolean consent_tick(gpointer data);

static void log_times(const tp_peer *p) {
  const tp_peer_times *t = &p->times;
#define REL(x) (t->x ? (double)(t->x - t->created) / 1000.0 : -1.0)
  g_debug("%s: timeline (ms from creation): remote %.1f, ICE up %.1f, first DTLS %.1f, connected %.1f",
          p->name, REL(remote), REL(ice_up), REL(dtls_first), REL(connected));
#undef REL
}

static void set_state(tp_peer *p, tp_state st, const char *why) {
  if (p->freeing || p->state == st || p->state == TP_STATE_FAILED || p->state == TP_STATE_CLOSED) return;
  tp_state old = p->state;
  p->state = st;
  if (st == TP_STATE_FAILED && p->failure == TP_FAIL_NONE) p->failure = TP_FAIL_DTLS;
  if (st == TP_STATE_FAILED)
    g_warning("%s: %s -> failed (%s)", p->name, tp_state_name(old), why);
  else
    g_message("%s: %s -> %s (%s)", p->name, tp_state_name(old), tp_state_name(st), why);
  if (st == TP_STATE_FAILED || st == TP_STATE_CLOSED) stop_timers(p);
  if (st == TP_STATE_CONNECTED) {
    p->times.connected = g_get_monotonic_time();
    log_times(p);
  }
  if (st == TP_STATE_CONNECTED && p->consent_timeout_s) {
    p->consent_seen = p->rx_datagrams;
    p->consent_timer = g_timeout_source_new(1000);
    g_source_set_callback(p->consent_timer, consent_tick, p, NULL);
    g_source_attach(p->consent_timer, p->ctx);
  }
  if (p->cbs.on_state) p->cbs.on_state(p->ud, st, why);
}

static gboolean consent_tick(gpointer data) {
  tp_peer *p = data;
  if (p->rx_datagrams != p->consent_seen) {
    p->consent_seen = p->rx_datagrams;
    p->consent_idle_s = 0;
    return G_SOURCE_CONTINUE;
  }
  if (++p->consent_idle_s < p->consent_timeout_s) return G_SOURCE_CONTINUE;
  enter(p);
  if (p->state != TP_STATE_FAILED) p->failure = TP_FAIL_CONSENT;
  set_state(p, TP_STATE_FAILED, "consent expired");
  leave(p);
  return G_SOURCE_REMOVE;
}

/* ---- DTLS ---- */

/* A flight that finds no ICE pair yet (the remote's ClientHello came over a
 * pair its side already uses, ours not yet) is held and sent the moment the
 * pair is up, not at the next retransmission timer (50 ms, then doubling).
 * Bounded: a flight is a handful of datagrams; the latest are kept. */
#define HELD_MAX 8

static void hold_datagram(tp_peer *p, const uint8_t *buf, size_t len) {
  if (!p->held) p->held = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  if (p->held->len == HELD_MAX) g_ptr_array_remove_index(p->held, 0);
  g_ptr_array_add(p->held, g_bytes_new(buf, len));
}

static void send_held(tp_peer *p) {
  if (!p->held) return;
  GPtrArray *h = p->held;
  p->held = NULL;
  guint sent = 0;
  for (guint i = 0; i < h->len; i++) {
    gsize len;
    const gchar *d = g_bytes_get_data(g_ptr_array_index(h, i), &len);
    if (nice_agent_send(p->agent, p->stream_id, 1, (guint)len, d) == (gint)len) sent++;
  }
  g_debug("%s: %u of %u held DTLS datagram(s) sent as ICE came up", p->name, sent, h->len);
  g_ptr_array_free(h, TRUE);
}

static int dtls_send(void *ud, const uint8_t *buf, size_t len) {
  tp_peer *p = ud;
  if (!p->times.dtls_first) p->times.dtls_first = g_get_monotonic_time();
  gint n = nice_agent_send(p->agent, p->stream_id, 1, (guint)len, (const gchar *)buf);
  if (n == (gint)len) return 0;
  if (!p->ice_up) hold_datagram(p, buf, len);
  g_debug("%s: DTLS datagram of %zu bytes not sent%s", p->name, len, p->ice_up ? "" : " (held for ICE)");
  return -EAGAIN;
}

static gboolean dtls_timer_cb(gpointer data);

static void arm_dtls_timer(tp_peer *p) {
  drop_source(&p->dtls_timer);
  int ms = tp_dtls_timeout_ms(p->dtls);
  if (ms < 0) return;
  p->dtls_timer = g_timeout_source_new((guint)ms);
  g_source_set_callback(p->dtls_timer, dtls_timer_cb, p, NULL);
  g_source_attach(p->dtls_timer, p->ctx);
}

/* The fingerprint from the SDP is known and DTLS is done: check, key SRTP. */
static void verify_and_key(tp_peer *p) {
  p->fp_pending = false;
  if (g_ascii_strcasecmp(p->peer_fp, p->remote_fp) != 0) {
    tp_dtls_close(p->dtls); /* tell the other side, best effort */
    set_state(p, TP_STATE_FAILED, "fingerprint mismatch");
    return;
  }
  uint8_t km[64];
  size_t km_len = 0;
  const char *profile = NULL;
  char err[128] = "";
  int rc = tp_dtls_export_srtp(p->dtls, &profile, km, sizeof km, &km_len);
  if (rc == 0) rc = tp_srtp_start(&p->srtp, profile, km, km_len, p->dtls_client, err, sizeof err);
  memset(km, 0, sizeof km);
  if (rc != 0) {
    set_state(p, TP_STATE_FAILED, rc == -ENOTSUP ? "no common SRTP profile" : "SRTP setup failed");
    return;
  }
  g_message("%s: DTLS handshake done as %s, SRTP profile %s", p->name, p->dtls_client ? "client" : "server",
            p->srtp.profile);
  set_state(p, TP_STATE_CONNECTED, p->srtp.profile);
}

static void on_handshake_done(tp_peer *p) {
  if (tp_dtls_peer_fingerprint(p->dtls, p->peer_fp) != 0) {
    set_state(p, TP_STATE_FAILED, "no peer certificate");
    return;
  }
  if (p->remote_set)
    verify_and_key(p);
  else
    p->fp_pending = true; /* finished before tp_peer_set_remote */
}

static void on_dtls_result(tp_peer *p, tp_dtls_result r) {
  switch (r) {
  case TP_DTLS_CONTINUE:
    break;
  case TP_DTLS_DONE:
    on_handshake_done(p);
    break;
  case TP_DTLS_CLOSED:
    set_state(p, TP_STATE_CLOSED, "close_notify");
    return;
  case TP_DTLS_ERROR:
    set_state(p, TP_STATE_FAILED, tp_dtls_error(p->dtls));
    return;
  }
  if (!p->freeing && p->state != TP_STATE_FAILED) arm_dtls_timer(p);
}

/* Data channel records: only once the fingerprint was checked. */
static void on_app_data(void *ud, const uint8_t *buf, size_t len) {
  tp_peer *p = ud;
  if (p->state == TP_STATE_CONNECTED && !p->freeing && p->app_fn) p->app_fn(p->app_ud, buf, len);
}

void tp_peer_set_app_data_cb(tp_peer *p, void (*fn)(void *ud, const uint8_t *buf, size_t len), void *ud) {
  p->app_fn = fn;
  p->app_ud = ud;
}

int tp_peer_send_app_data(tp_peer *p, const uint8_t *buf, size_t len) {
  if (p->state != TP_STATE_CONNECTED) return -EAGAIN;
  return tp_dtls_write(p->dtls, buf, len);
}

static gboolean dtls_timer_cb(gpointer data) {
  tp_peer *p = data;
  enter(p);
  g_source_unref(p->dtls_timer); /* GLib keeps it alive until dispatch returns */
  p->dtls_timer = NULL;
  g_debug("%s: DTLS retransmission timer", p->name);
  on_dtls_result(p, tp_dtls_on_timeout(p->dtls));
  leave(p);
  return G_SOURCE_REMOVE;
}

/* ---- libnice callbacks ---- */

static void on_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf,
                    gpointer data) {
  (void)agent, (void)stream_id, (void)component_id;
  tp_peer_receive(data, (uint8_t *)buf, len);
}

int tp_peer_take_rx(tp_peer *p) {
  if (p->state != TP_STATE_CONNECTED || p->tx_fd < 0 || p->freeing) return -ENOTCONN;
  /* libnice's socket source stays, but with no callback it reads nothing. */
  nice_agent_attach_recv(p->agent, p->stream_id, 1, p->ctx, NULL, NULL);
  return p->tx_fd;
}

void tp_peer_receive(tp_peer *p, uint8_t *pkt, size_t n) {
  p->rx_datagrams++;
  p->stats.bytes_in += n;
  tp_pkt_kind kind = tp_demux_classify(pkt, n);
  if (kind == TP_PKT_RTP || kind == TP_PKT_RTCP) {
    bool rtcp = kind == TP_PKT_RTCP;
    if (!p->srtp.in) {
      p->stats.dropped_before_keys++;
      return;
    }
    if (p->state != TP_STATE_CONNECTED) return; /* closed or failed */
    if (tp_srtp_unprotect(&p->srtp, rtcp, pkt, &n) != 0) {
      p->stats.srtp_in_errors++;
      __atomic_add_fetch(&totals.srtp_in_errors, 1, __ATOMIC_RELAXED);
      return;
    }
    if (rtcp) {
      p->stats.rtcp_in++;
      if (p->cbs.on_rtcp) p->cbs.on_rtcp(p->ud, pkt, n);
    } else {
      p->stats.rtp_in++;
      if (p->cbs.on_rtp) p->cbs.on_rtp(p->ud, pkt, n);
    }
  } else if (kind == TP_PKT_DTLS) {
    if (p->state == TP_STATE_FAILED || p->state == TP_STATE_CLOSED) return;
    if (!p->times.dtls_first) p->times.dtls_first = g_get_monotonic_time();
    enter(p);
    uint64_t dropped = tp_dtls_dropped(p->dtls);
    tp_dtls_result r = tp_dtls_feed(p->dtls, pkt, n);
    dropped = tp_dtls_dropped(p->dtls) - dropped;
    if (dropped) {
      p->stats.dtls_dropped += dropped;
      __atomic_add_fetch(&totals.dtls_dropped, dropped, __ATOMIC_RELAXED);
    }
    on_dtls_result(p, r);
    leave(p);
  }
}

/* The socket and address media go to: the selected pair's, when it is a
 * plain UDP pair; otherwise (none yet) nice_agent_send. */
static void update_tx_path(tp_peer *p) {
  tp_sender_release(p->sender, &p->send_link);
  if (p->tx_sock) g_object_unref(p->tx_sock);
  p->tx_sock = NULL;
  p->tx_fd = -1;
  NiceCandidate *local = NULL, *remote = NULL; /* borrowed from the agent */
  if (!nice_agent_get_selected_pair(p->agent, p->stream_id, 1, &local, &remote) || !remote ||
      remote->transport != NICE_CANDIDATE_TRANSPORT_UDP || local->type == NICE_CANDIDATE_TYPE_RELAYED)
    return;
  GSocket *gs = nice_agent_get_selected_socket(p->agent, p->stream_id, 1);
  if (!gs) return;
  memset(&p->tx_addr, 0, sizeof p->tx_addr);
  nice_address_copy_to_sockaddr(&remote->addr, (struct sockaddr *)&p->tx_addr);
  p->tx_addrlen = p->tx_addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  p->tx_sock = gs;
  p->tx_fd = g_socket_get_fd(gs);
  tp_send_tune_socket(p->tx_fd);
}

static const char *transport_name(const NiceCandidate *c) {
  if (c->type == NICE_CANDIDATE_TYPE_RELAYED) return "relay";
  switch (c->transport) {
  case NICE_CANDIDATE_TRANSPORT_UDP:
    return "udp";
  case NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE:
    return "tcp-active";
  case NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE:
    return "tcp-passive";
  case NICE_CANDIDATE_TRANSPORT_TCP_SO:
    return "tcp-so";
  }
  return "?";
}

static void describe_pair(const NiceCandidate *l, const NiceCandidate *r, char *buf, size_t len) {
  char la[NICE_ADDRESS_STRING_LEN], ra[NICE_ADDRESS_STRING_LEN];
  nice_address_to_string(&l->addr, la);
  nice_address_to_string(&r->addr, ra);
  snprintf(buf, len, "%s %s%s%s:%u -> %s %s%s%s:%u", transport_name(l), strchr(la, ':') ? "[" : "", la,
           strchr(la, ':') ? "]" : "", nice_address_get_port(&l->addr), transport_name(r),
           strchr(ra, ':') ? "[" : "", ra, strchr(ra, ':') ? "]" : "", nice_address_get_port(&r->addr));
}

int tp_peer_selected_pair(tp_peer *p, char *buf, size_t len) {
  NiceCandidate *l = NULL, *r = NULL; /* borrowed from the agent */
  if (len) buf[0] = '\0';
  if (!nice_agent_get_selected_pair(p->agent, p->stream_id, 1, &l, &r) || !l || !r) return -ENOTCONN;
  describe_pair(l, r, buf, len);
  return 0;
}

static void on_selected_pair(NiceAgent *agent, guint stream_id, guint component_id, NiceCandidate *l,
                             NiceCandidate *r, gpointer data) {
  (void)agent;
  tp_peer *p = data;
  if (stream_id != p->stream_id || component_id != 1) return;
  char pair[160];
  describe_pair(l, r, pair, sizeof pair);
  g_message("%s: ICE pair %s", p->name, pair);
  if (p->ice_up) update_tx_path(p);
}

/* Bursts (a keyframe is dozens of packets, a fan-out thousands) overflow
 * the kernel's default 208 KiB socket buffers; the kernel caps these at
 * net.core.[rw]mem_max unless raised there. */
static void grow_socket_buffers(tp_peer *p) {
  GSocket *gs = nice_agent_get_selected_socket(p->agent, p->stream_id, 1);
  if (!gs) return;
  int fd = g_socket_get_fd(gs), sz = 1 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz) != 0)
    g_debug("%s: socket buffers stay at the default", p->name);
  g_object_unref(gs);
}

static void on_component_state(NiceAgent *agent, guint stream_id, guint component_id, guint state,
                               gpointer data) {
  (void)agent;
  tp_peer *p = data;
  if (stream_id != p->stream_id || component_id != 1) return;
  g_debug("%s: ICE %s", p->name, nice_component_state_to_string(state));
  p->ice_state = state;
  enter(p);
  if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) {
    if (!p->ice_up) {
      if (!p->times.ice_up) p->times.ice_up = g_get_monotonic_time();
      g_message("%s: ICE connected", p->name);
      grow_socket_buffers(p);
    }
    if (p->restarting) g_message("%s: ICE restart done", p->name);
    p->ice_up = p->ice_was_up = true;
    p->restarting = false;
    update_tx_path(p);
    send_held(p);
    if (p->dtls_client && !p->dtls_started && p->state == TP_STATE_CONNECTING) {
      p->dtls_started = true;
      on_dtls_result(p, tp_dtls_start(p->dtls));
    }
  } else if (state == NICE_COMPONENT_STATE_FAILED) {
    p->ice_up = false;
    if (p->restarting && p->state == TP_STATE_CONNECTED)
      /* The old pair may still work, and the page restarts again on its
       * own "failed"; a peer that is really gone is the watchdogs' call. */
      g_message("%s: ICE restart failed; transport kept", p->name);
    else {
      if (p->state != TP_STATE_FAILED) p->failure = p->ice_was_up ? TP_FAIL_CONSENT : TP_FAIL_ICE;
      set_state(p, TP_STATE_FAILED, p->ice_was_up ? "ICE consent lost" : "ICE failed");
    }
  }
  leave(p);
}

static gboolean gather_done_idle(gpointer data) {
  tp_peer *p = data;
  g_source_unref(p->gather_idle);
  p->gather_idle = NULL;
  enter(p);
  if (p->cbs.on_candidate) p->cbs.on_candidate(p->ud, NULL);
  leave(p);
  return G_SOURCE_REMOVE;
}

static void on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data) {
  (void)agent;
  tp_peer *p = data;
  if (stream_id != p->stream_id || p->gathering_done) return;
  p->gathering_done = true;
  if (p->in_new) return; /* reported from an idle once tp_peer_new returned */
  enter(p);
  if (p->cbs.on_candidate) p->cbs.on_candidate(p->ud, NULL);
  leave(p);
}

static void on_new_candidate(NiceAgent *agent, NiceCandidate *c, gpointer data) {
  tp_peer *p = data;
  /* Local peer-reflexive candidates are learnt from checks: not signalled. */
  if (p->in_new || c->stream_id != p->stream_id || c->component_id != 1 || !p->cbs.on_candidate ||
      c->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE)
    return;
  char *s = tp_ice_candidate_sdp(agent, c, p->nat_ip);
  if (!s) return;
  enter(p);
  p->cbs.on_candidate(p->ud, s);
  leave(p);
  g_free(s);
}

/* ---- public ---- */

static void silence(tp_peer *p) {
  memset(&p->cbs, 0, sizeof p->cbs);
  p->app_fn = NULL;
  stop_timers(p);
  drop_source(&p->gather_idle);
  if (p->agent) {
    g_signal_handlers_disconnect_by_data(p->agent, p);
    nice_agent_attach_recv(p->agent, p->stream_id, 1, p->ctx, NULL, NULL);
  }
}

int tp_peer_new(tp_peer **out, const tp_peer_config *cfg, const tp_peer_cbs *cbs, void *ud, char *err,
                size_t errlen) {
  static gint counter;
  *out = NULL;
  if (!cfg || !cfg->ctx || !cfg->cert) {
    snprintf(err, errlen, "tp_peer_config needs ctx and cert");
    return -EINVAL;
  }
  NiceAddress probe;
  if (cfg->nat_public_ip && !nice_address_set_from_string(&probe, cfg->nat_public_ip)) {
    snprintf(err, errlen, "bad nat_public_ip \"%s\"", cfg->nat_public_ip);
    return -EINVAL;
  }
  tp_peer *p = g_new0(tp_peer, 1);
  p->tx_fd = -1;
  p->sender = cfg->sender;
  p->times.created = g_get_monotonic_time();
  p->ctx = cfg->ctx;
  if (cbs) p->cbs = *cbs;
  p->ud = ud;
  p->dtls_client = cfg->dtls_client;
  p->consent_timeout_s = cfg->consent_timeout_s;
  p->nat_ip = g_strdup(cfg->nat_public_ip);
  p->name = cfg->log_name ? g_strdup(cfg->log_name) : g_strdup_printf("tp%d", g_atomic_int_add(&counter, 1));
  int rc = tp_ice_agent_new(&p->agent, &p->stream_id, cfg, err, errlen);
  if (rc == 0)
    rc = tp_dtls_new(&p->dtls, cfg->cert, cfg->dtls_client, cfg->srtp_profiles, dtls_send, p, err, errlen);
  if (rc == 0) tp_dtls_set_data_cb(p->dtls, on_app_data, p);
  if (rc != 0) {
    destroy(p, false);
    return rc;
  }
  g_signal_connect(p->agent, "component-state-changed", G_CALLBACK(on_component_state), p);
  g_signal_connect(p->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), p);
  g_signal_connect(p->agent, "new-candidate-full", G_CALLBACK(on_new_candidate), p);
  g_signal_connect(p->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), p);
  nice_agent_attach_recv(p->agent, p->stream_id, 1, p->ctx, on_recv, p);
  p->in_new = true;
  bool ok = nice_agent_gather_candidates(p->agent, p->stream_id) &&
            nice_agent_get_local_credentials(p->agent, p->stream_id, &p->ufrag, &p->pwd);
  GSList *cands = ok ? nice_agent_get_local_candidates(p->agent, p->stream_id, 1) : NULL;
  guint n = g_slist_length(cands);
  g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
  p->in_new = false;
  if (n == 0) {
    snprintf(err, errlen, "no local candidate (addresses or port range unusable)");
    silence(p);
    destroy(p, false);
    return -EADDRNOTAVAIL;
  }
  if (p->gathering_done) {
    p->gather_idle = g_idle_source_new();
    g_source_set_callback(p->gather_idle, gather_done_idle, p, NULL);
    g_source_attach(p->gather_idle, p->ctx);
  }
  g_message("%s: new transport, %u host candidate(s), ICE %s, DTLS %s", p->name, n,
            cfg->ice_lite          ? "lite"
            : cfg->ice_controlling ? "controlling"
                                   : "controlled",
            cfg->dtls_client ? "client" : "server");
  *out = p;
  return 0;
}

const char *tp_peer_ufrag(const tp_peer *p) {
  return p->ufrag;
}
const char *tp_peer_pwd(const tp_peer *p) {
  return p->pwd;
}
tp_state tp_peer_state(const tp_peer *p) {
  return p->state;
}
tp_failure tp_peer_failure(const tp_peer *p) {
  return p->failure;
}
const tp_peer_times *tp_peer_get_times(const tp_peer *p) {
  return &p->times;
}
const tp_peer_stats *tp_peer_get_stats(const tp_peer *p) {
  return &p->stats;
}
bool tp_peer_ice_restarting(const tp_peer *p) {
  return p->restarting;
}
const char *tp_peer_srtp_profile(const tp_peer *p) {
  return p->srtp.profile;
}

char **tp_peer_local_candidates(tp_peer *p) {
  return tp_ice_local_candidates(p->agent, p->stream_id, p->nat_ip);
}

static bool fingerprint_valid(const char *fp) {
  if (!fp || strlen(fp) != 95) return false;
  for (int i = 0; i < 95; i++) {
    if (i % 3 == 2 ? fp[i] != ':' : !g_ascii_isxdigit(fp[i])) return false;
  }
  return true;
}

int tp_peer_set_remote(tp_peer *p, const char *ufrag, const char *pwd, const char *fingerprint_sha256,
                       char *err, size_t errlen) {
  if (p->remote_set) {
    snprintf(err, errlen, "remote description already set");
    return -EALREADY;
  }
  if (!ufrag || !*ufrag || !pwd || !*pwd) {
    snprintf(err, errlen, "empty ICE ufrag or pwd");
    return -EINVAL;
  }
  if (!fingerprint_valid(fingerprint_sha256)) {
    snprintf(err, errlen, "bad sha-256 fingerprint");
    return -EINVAL;
  }
  if (!nice_agent_set_remote_credentials(p->agent, p->stream_id, ufrag, pwd)) {
    snprintf(err, errlen, "libnice refused the remote credentials");
    return -EINVAL;
  }
  g_strlcpy(p->remote_fp, fingerprint_sha256, sizeof p->remote_fp);
  p->remote_ufrag = g_strdup(ufrag);
  p->remote_pwd = g_strdup(pwd);
  p->remote_set = true;
  p->times.remote = g_get_monotonic_time();
  enter(p);
  set_state(p, TP_STATE_CONNECTING, "remote description set");
  if (!p->freeing && p->early) {
    GSList *early = p->early;
    p->early = NULL;
    if (nice_agent_set_remote_candidates(p->agent, p->stream_id, 1, early) < 0)
      g_warning("%s: libnice refused %u early candidate(s)", p->name, p->n_early);
    g_slist_free_full(early, (GDestroyNotify)nice_candidate_free);
  }
  if (!p->freeing && p->remote_done_early) nice_agent_peer_candidate_gathering_done(p->agent, p->stream_id);
  if (!p->freeing && p->fp_pending) verify_and_key(p);
  leave(p);
  return 0;
}

const char *tp_peer_remote_ufrag(const tp_peer *p) {
  return p->remote_ufrag;
}

int tp_peer_restart_ice(tp_peer *p, char *err, size_t errlen) {
  if (!p->remote_set) {
    snprintf(err, errlen, "ICE restart before the remote description");
    return -EINVAL;
  }
  gchar *ufrag = NULL, *pwd = NULL;
  enter(p);
  bool ok = nice_agent_restart_stream(p->agent, p->stream_id) &&
            nice_agent_get_local_credentials(p->agent, p->stream_id, &ufrag, &pwd);
  leave(p);
  if (!ok) {
    g_free(ufrag);
    g_free(pwd);
    snprintf(err, errlen, "libnice refused the ICE restart");
    return -EIO;
  }
  g_free(p->ufrag);
  g_free(p->pwd);
  p->ufrag = ufrag;
  p->pwd = pwd;
  p->restarting = p->awaiting_creds = true;
  g_message("%s: ICE restart, new local ufrag %s", p->name, ufrag);
  return 0;
}

int tp_peer_set_remote_ice(tp_peer *p, const char *ufrag, const char *pwd, char *err, size_t errlen) {
  if (!p->remote_set) {
    snprintf(err, errlen, "remote description not set yet");
    return -EINVAL;
  }
  if (!ufrag || !*ufrag || !pwd || !*pwd) {
    snprintf(err, errlen, "empty ICE ufrag or pwd");
    return -EINVAL;
  }
  bool same = strcmp(ufrag, p->remote_ufrag) == 0 && strcmp(pwd, p->remote_pwd) == 0;
  if (same && !p->awaiting_creds) return 0;
  int restarted = 0;
  if (!p->awaiting_creds) {
    int rc = tp_peer_restart_ice(p, err, errlen);
    if (rc != 0) return rc;
    restarted = 1;
  }
  if (!nice_agent_set_remote_credentials(p->agent, p->stream_id, ufrag, pwd)) {
    snprintf(err, errlen, "libnice refused the remote credentials");
    return -EINVAL;
  }
  p->awaiting_creds = false;
  g_free(p->remote_ufrag);
  g_free(p->remote_pwd);
  p->remote_ufrag = g_strdup(ufrag);
  p->remote_pwd = g_strdup(pwd);
  g_message("%s: remote ICE credentials of the new generation (ufrag %s)", p->name, ufrag);
  return restarted;
}

int tp_peer_add_remote_candidate(tp_peer *p, const char *cand, char *err, size_t errlen) {
  NiceCandidate *c = NULL;
  int rc = tp_ice_parse_remote(p->agent, p->stream_id, cand, &c, err, errlen);
  if (rc != 0 || !c) return rc; /* error, or skipped (.local, tcp, component 2) */
  if (!p->remote_set) {
    if (p->n_early >= TP_MAX_EARLY_CANDIDATES) {
      nice_candidate_free(c);
      snprintf(err, errlen, "too many candidates before the remote description");
      return -ENOSPC;
    }
    p->early = g_slist_append(p->early, c);
    p->n_early++;
    return 0;
  }
  GSList one = {c, NULL};
  enter(p);
  int n = nice_agent_set_remote_candidates(p->agent, p->stream_id, 1, &one);
  leave(p);
  nice_candidate_free(c);
  if (n < 0) {
    snprintf(err, errlen, "libnice refused the candidate");
    return -EINVAL;
  }
  return 0;
}

void tp_peer_remote_candidates_done(tp_peer *p) {
  if (!p->remote_set) {
    p->remote_done_early = true;
    return;
  }
  enter(p);
  nice_agent_peer_candidate_gathering_done(p->agent, p->stream_id);
  leave(p);
}

/* Through the sender: the packet is encrypted into the sender's next buffer
 * (copied there first unless the caller wrote it there) and leaves with the
 * batch. */
static int send_batched(tp_peer *p, bool rtcp, uint8_t *pkt, size_t len, size_t cap) {
  size_t bcap;
  uint8_t *buf = tp_sender_buf(p->sender, &bcap);
  if (buf != pkt) {
    if (len > bcap) return -ENOSPC;
    memcpy(buf, pkt, len);
  }
  int rc = tp_srtp_protect(&p->srtp, rtcp, buf, &len, cap < bcap ? cap : bcap);
  if (rc != 0) return rc;
  tp_sender_commit(p->sender, &p->send_link, p->tx_fd, &p->tx_addr, p->tx_addrlen, len,
                   &p->stats.send_errors);
  return (int)len;
}

static int send_direct(tp_peer *p, bool rtcp, uint8_t *pkt, size_t len, size_t cap) {
  int rc = tp_srtp_protect(&p->srtp, rtcp, pkt, &len, cap);
  if (rc != 0) return rc;
  gssize n = p->tx_fd >= 0
                 ? sendto(p->tx_fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&p->tx_addr, p->tx_addrlen)
                 : nice_agent_send(p->agent, p->stream_id, 1, (guint)len, (const gchar *)pkt);
  if (n != (gssize)len) {
    p->stats.send_errors++;
    return -EIO;
  }
  return (int)len;
}

static int send_media(tp_peer *p, bool rtcp, uint8_t *pkt, size_t len, size_t cap) {
  if (p->state != TP_STATE_CONNECTED) return -EAGAIN;
  int n =
      p->sender && p->tx_fd >= 0 ? send_batched(p, rtcp, pkt, len, cap) : send_direct(p, rtcp, pkt, len, cap);
  if (n == -EIO) return n;
  if (n < 0) {
    p->stats.srtp_out_errors++;
    return n;
  }
  if (rtcp)
    p->stats.rtcp_out++;
  else
    p->stats.rtp_out++;
  p->stats.bytes_out += (uint64_t)n;
  return 0;
}

int tp_peer_send_rtp(tp_peer *p, uint8_t *pkt, size_t len, size_t cap) {
  return send_media(p, false, pkt, len, cap);
}

int tp_peer_send_rtcp(tp_peer *p, uint8_t *pkt, size_t len, size_t cap) {
  return send_media(p, true, pkt, len, cap);
}

int tp_peer_debug_protect(tp_peer *p, bool rtcp, uint8_t *pkt, size_t *len, size_t cap) {
  if (!p->srtp.out) return -EAGAIN;
  return tp_srtp_protect(&p->srtp, rtcp, pkt, len, cap);
}

int tp_peer_debug_send_raw(tp_peer *p, const uint8_t *buf, size_t len) {
  gint n = nice_agent_send(p->agent, p->stream_id, 1, (guint)len, (const gchar *)buf);
  return n == (gint)len ? 0 : -EIO;
}

const char *tp_peer_debug_ice_state(const tp_peer *p) {
  return nice_component_state_to_string(p->ice_state);
}

void tp_peer_free(tp_peer *p) {
  if (!p || p->freeing) return;
  p->freeing = true;
  tp_sender_release(p->sender, &p->send_link); /* queued media before the close_notify */
  if (p->dtls) tp_dtls_close(p->dtls);         /* close_notify if the handshake completed */
  silence(p);
  if (p->depth == 0) destroy(p, false);
}
