/* tp_sctp: SCTP over DTLS with usrsctp, and data channels (see tp_sctp.h).
 *
 * usrsctp, set up as mediasoup does: no threads of its own (timers from a
 * 10 ms GLib source), AF_CONN sockets whose "address" is an id we look up
 * (never a pointer: a callback for an association being torn down finds
 * nothing instead of freed memory), ECN off, path MTU fixed at 1200 with
 * discovery off (DTLS records carry the packets; the browsers do the same),
 * NODELAY, stream reset enabled, SO_LINGER 0 so that closing aborts at once.
 *
 * Everything usrsctp hands us (data, notifications) is queued while usrsctp
 * is on the stack and handled after it returns (flush_all): our callbacks
 * may then call back into usrsctp, and may free the association. */
#define G_LOG_DOMAIN "tp"

#include "tp_sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "tp_dcep.h"
#include "tp_sctp_debug.h"

#define SCTP_MTU 1200
#define TIMER_MS 10
#define STREAMS 1024 /* in and out; browsers use the lowest free ids */
#define SEND_BUFFER (256 * 1024)

typedef struct {
  uint16_t stream;
  uint8_t type;         /* TP_DC_* */
  uint32_t reliability; /* per type */
  bool acked;           /* ours: the peer's ACK arrived */
  bool closing;         /* we reset our outgoing stream */
} channel;

typedef struct ev {
  struct ev *next;
  bool notification;
  uint16_t stream;
  uint32_t ppid;
  int flags;
  void *data; /* usrsctp's, free() */
  size_t len;
} ev;

struct tp_sctp {
  uintptr_t id;
  struct socket *sock;
  tp_sctp_cbs cbs;
  void *ud;
  char *name;
  tp_sctp_state state;
  bool dtls_client, connected_once, queued, dispatching, freeing;
  uint16_t local_port, remote_port;
  size_t remote_max;
  ev *head, *tail;
  tp_dcep_reasm reasm;
  channel *ch[TP_SCTP_MAX_CHANNELS];
  tp_sctp_stats stats;
};

/* usrsctp is process-global: so is this, touched on one thread only. */
static struct {
  bool inited;
  GMainContext *ctx;
  GSource *timer;
  gint64 last_us;
  GHashTable *by_id; /* id -> tp_sctp* */
  uintptr_t next_id;
  GQueue dirty; /* tp_sctp* with queued events */
  bool flushing;
} G;

const char *tp_sctp_state_name(tp_sctp_state st) {
  static const char *n[] = {"new", "connecting", "open", "closed", "failed"};
  return (unsigned)st < G_N_ELEMENTS(n) ? n[st] : "?";
}

/* ---- usrsctp callbacks: queue only ---- */

static tp_sctp *lookup(void *addr) {
  return G.by_id ? g_hash_table_lookup(G.by_id, addr) : NULL;
}

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df) {
  (void)tos, (void)set_df;
  tp_sctp *s = lookup(addr);
  if (!s || s->freeing || !s->cbs.send) return -1;
  return s->cbs.send(s->ud, buf, len) == 0 ? 0 : -1;
}

static int on_receive(struct socket *sock, union sctp_sockstore addr, void *data, size_t len,
                      struct sctp_rcvinfo rcv, int flags, void *ulp) {
  (void)sock, (void)addr;
  tp_sctp *s = lookup(ulp);
  if (!s || s->freeing || !data) {
    free(data);
    return 1;
  }
  ev *e = g_new0(ev, 1);
  e->notification = (flags & MSG_NOTIFICATION) != 0;
  e->stream = rcv.rcv_sid;
  e->ppid = ntohl(rcv.rcv_ppid);
  e->flags = flags;
  e->data = data;
  e->len = len;
  if (s->tail)
    s->tail->next = e;
  else
    s->head = e;
  s->tail = e;
  if (!s->queued) {
    s->queued = true;
    g_queue_push_tail(&G.dirty, s);
  }
  return 1;
}

/* ---- channels ---- */

static channel *find(tp_sctp *s, uint16_t stream) {
  for (int i = 0; i < TP_SCTP_MAX_CHANNELS; i++)
    if (s->ch[i] && s->ch[i]->stream == stream) return s->ch[i];
  return NULL;
}

static channel *add_channel(tp_sctp *s, uint16_t stream, uint8_t type, uint32_t rel) {
  for (int i = 0; i < TP_SCTP_MAX_CHANNELS; i++) {
    if (s->ch[i]) continue;
    s->ch[i] = g_new0(channel, 1);
    s->ch[i]->stream = stream;
    s->ch[i]->type = type;
    s->ch[i]->reliability = rel;
    return s->ch[i];
  }
  return NULL;
}

static void drop_channel(tp_sctp *s, uint16_t stream) {
  for (int i = 0; i < TP_SCTP_MAX_CHANNELS; i++) {
    if (s->ch[i] && s->ch[i]->stream == stream) {
      g_free(s->ch[i]);
      s->ch[i] = NULL;
    }
  }
}

static void reset_outgoing(tp_sctp *s, uint16_t stream) {
  size_t sz = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
  struct sctp_reset_streams *srs = g_malloc0(sz);
  srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  srs->srs_number_streams = 1;
  srs->srs_stream_list[0] = stream;
  if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, (socklen_t)sz) < 0)
    g_debug("%s: stream %u reset failed: %s", s->name, stream, g_strerror(errno));
  g_free(srs);
}

static int send_raw(tp_sctp *s, uint16_t stream, uint32_t ppid, const channel *c, const void *data,
                    size_t len) {
  struct sctp_sendv_spa spa;
  memset(&spa, 0, sizeof spa);
  spa.sendv_sndinfo.snd_sid = stream;
  spa.sendv_sndinfo.snd_ppid = htonl(ppid);
  spa.sendv_sndinfo.snd_flags = SCTP_EOR;
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  if (c && ppid != TP_PPID_DCEP) { /* DCEP itself is always reliable and ordered */
    if (c->type & TP_DC_UNORDERED) spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
    uint8_t kind = c->type & 0x7F;
    if (kind != TP_DC_RELIABLE) {
      spa.sendv_prinfo.pr_policy = kind == TP_DC_PARTIAL_REXMIT ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
      spa.sendv_prinfo.pr_value = c->reliability;
      spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    }
  }
  ssize_t n = usrsctp_sendv(s->sock, data, len, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
  if (n >= 0) return 0;
  if (errno == EWOULDBLOCK || errno == EAGAIN) {
    s->stats.send_full++;
    return -EAGAIN;
  }
  return -EIO;
}

/* ---- dispatch (never with usrsctp on the stack) ---- */

static void set_state(tp_sctp *s, tp_sctp_state st) {
  if (s->state == st || s->state == TP_SCTP_CLOSED || s->state == TP_SCTP_FAILED) return;
  s->state = st;
  if (st == TP_SCTP_OPEN)
    g_message("%s: SCTP association up", s->name);
  else
    g_message("%s: SCTP association %s", s->name, tp_sctp_state_name(st));
  if (s->cbs.on_state) s->cbs.on_state(s->ud, st);
}

static void handle_open(tp_sctp *s, uint16_t stream, const uint8_t *msg, size_t len) {
  tp_dcep_open o;
  if (tp_dcep_parse_open(msg, len, &o) != 0) {
    s->stats.dropped_bad++;
    return;
  }
  /* The opener's parity is the other DTLS role's; a clash means a broken peer. */
  bool theirs = (stream % 2 == 0) != s->dtls_client;
  if (!theirs || find(s, stream) || o.label_len > TP_SCTP_LABEL_MAX || o.protocol_len > TP_SCTP_LABEL_MAX ||
      !add_channel(s, stream, o.channel_type, o.reliability)) {
    s->stats.channels_refused++;
    g_debug("%s: DCEP OPEN on stream %u refused", s->name, stream);
    if (!find(s, stream)) reset_outgoing(s, stream);
    return;
  }
  uint8_t ack = TP_DCEP_ACK;
  send_raw(s, stream, TP_PPID_DCEP, NULL, &ack, 1);
  g_debug("%s: channel %u \"%.*s\" opened by the peer", s->name, stream, (int)o.label_len, o.label);
  if (s->cbs.on_channel)
    s->cbs.on_channel(s->ud, stream, (const char *)o.label, o.label_len, (const char *)o.protocol,
                      o.protocol_len);
}

static void handle_message(tp_sctp *s, uint16_t stream, uint32_t ppid, const uint8_t *msg, size_t len) {
  if (ppid == TP_PPID_DCEP) {
    channel *c = find(s, stream);
    if (len >= 1 && msg[0] == TP_DCEP_OPEN) {
      handle_open(s, stream, msg, len);
    } else if (len == 1 && msg[0] == TP_DCEP_ACK && c && !c->acked) {
      c->acked = true;
      if (s->cbs.on_channel) s->cbs.on_channel(s->ud, stream, NULL, 0, NULL, 0);
    } else {
      s->stats.dropped_bad++;
    }
    return;
  }
  bool binary = ppid == TP_PPID_BINARY || ppid == TP_PPID_BINARY_EMPTY;
  bool empty = ppid == TP_PPID_STRING_EMPTY || ppid == TP_PPID_BINARY_EMPTY;
  if (!binary && ppid != TP_PPID_STRING && !empty) {
    s->stats.dropped_bad++; /* deprecated partial PPIDs 52/54 and anything else */
    return;
  }
  channel *c = find(s, stream);
  if (!c || c->closing) {
    s->stats.dropped_no_channel++;
    return;
  }
  s->stats.messages_in++;
  s->stats.bytes_in += empty ? 0 : len;
  if (s->cbs.on_message) s->cbs.on_message(s->ud, stream, binary, empty ? NULL : msg, empty ? 0 : len);
}

static void handle_data(tp_sctp *s, const ev *e) {
  const uint8_t *msg = NULL;
  size_t len = 0;
  int r = tp_dcep_reasm_push(&s->reasm, e->stream, e->ppid, e->data, e->len, (e->flags & MSG_EOR) != 0, &msg,
                             &len);
  if (r == TP_REASM_DONE) {
    handle_message(s, e->stream, e->ppid, msg, len);
  } else if (r == -EMSGSIZE || r == -ENOMEM) {
    s->stats.dropped_oversize++;
    if (s->cbs.on_oversize) s->cbs.on_oversize(s->ud, e->stream);
  }
}

static void handle_reset(tp_sctp *s, const struct sctp_stream_reset_event *r, size_t len) {
  if (len < sizeof *r || r->strreset_length > len) return;
  size_t n = (r->strreset_length - sizeof *r) / sizeof(uint16_t);
  if (!(r->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) ||
      (r->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)))
    return;
  for (size_t i = 0; i < n && !s->freeing; i++) {
    uint16_t stream = r->strreset_stream_list[i];
    channel *c = find(s, stream);
    if (!c) continue;
    if (!c->closing) reset_outgoing(s, stream); /* the peer closed: close our side too */
    drop_channel(s, stream);
    if (s->cbs.on_channel_closed) s->cbs.on_channel_closed(s->ud, stream);
  }
}

static void handle_notification(tp_sctp *s, const union sctp_notification *n, size_t len) {
  if (len < sizeof n->sn_header || n->sn_header.sn_length != len) return;
  switch (n->sn_header.sn_type) {
  case SCTP_ASSOC_CHANGE:
    switch (n->sn_assoc_change.sac_state) {
    case SCTP_COMM_UP:
    case SCTP_RESTART:
      set_state(s, TP_SCTP_OPEN);
      break;
    case SCTP_COMM_LOST:
    case SCTP_SHUTDOWN_COMP:
      set_state(s, TP_SCTP_CLOSED);
      break;
    case SCTP_CANT_STR_ASSOC:
      set_state(s, TP_SCTP_FAILED);
      break;
    }
    break;
  case SCTP_SHUTDOWN_EVENT:
    set_state(s, TP_SCTP_CLOSED);
    break;
  case SCTP_STREAM_RESET_EVENT:
    handle_reset(s, &n->sn_strreset_event, len);
    break;
  default: /* remote errors, failed sends, stream changes: nothing to do */
    break;
  }
}

static void destroy(tp_sctp *s);

static void dispatch(tp_sctp *s) {
  s->dispatching = true;
  while (s->head && !s->freeing) {
    ev *e = s->head;
    s->head = e->next;
    if (!s->head) s->tail = NULL;
    if (e->notification)
      handle_notification(s, e->data, e->len);
    else
      handle_data(s, e);
    free(e->data);
    g_free(e);
  }
  s->dispatching = false;
  if (s->freeing) destroy(s);
}

static void flush_all(void) {
  if (G.flushing) return; /* the outer loop picks up what a callback queued */
  G.flushing = true;
  tp_sctp *s;
  while ((s = g_queue_pop_head(&G.dirty))) {
    s->queued = false;
    dispatch(s);
  }
  G.flushing = false;
}

/* ---- the global part ---- */

static gboolean on_timer(gpointer unused) {
  (void)unused;
  gint64 now = g_get_monotonic_time();
  gint64 ms = (now - G.last_us) / 1000;
  if (ms > 0) {
    G.last_us += ms * 1000;
    usrsctp_handle_timers((uint32_t)(ms > 60000 ? 60000 : ms));
    flush_all();
  }
  return G_SOURCE_CONTINUE;
}

static int global_attach(GMainContext *ctx) {
  if (!G.inited) {
    usrsctp_init_nothreads(0, conn_output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    G.by_id = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_queue_init(&G.dirty);
    G.next_id = 1;
    G.inited = true;
  }
  if (g_hash_table_size(G.by_id) > 0) return G.ctx == ctx ? 0 : -EXDEV;
  G.ctx = ctx;
  G.last_us = g_get_monotonic_time();
  G.timer = g_timeout_source_new(TIMER_MS);
  g_source_set_callback(G.timer, on_timer, NULL, NULL);
  g_source_attach(G.timer, ctx);
  return 0;
}

static void global_detach(void) {
  if (g_hash_table_size(G.by_id) > 0 || !G.timer) return;
  g_source_destroy(G.timer);
  g_source_unref(G.timer);
  G.timer = NULL;
  G.ctx = NULL;
}

/* ---- public ---- */

static int setup_socket(tp_sctp *s, char *err, size_t errlen) {
  s->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, on_receive, NULL, 0, (void *)s->id);
  if (!s->sock) {
    snprintf(err, errlen, "usrsctp_socket: %s", g_strerror(errno));
    return -ENOMEM;
  }
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  struct sctp_assoc_value av = {.assoc_id = SCTP_ALL_ASSOC, .assoc_value = 1};
  uint32_t one = 1;
  int sndbuf = SEND_BUFFER;
  struct sctp_initmsg init = {.sinit_num_ostreams = STREAMS, .sinit_max_instreams = STREAMS};
  bool ok = usrsctp_set_non_blocking(s->sock, 1) == 0 &&
            usrsctp_setsockopt(s->sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0 &&
            usrsctp_setsockopt(s->sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0 &&
            usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof av) == 0 &&
            usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof one) == 0 &&
            usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init) == 0;
  static const uint16_t events[] = {SCTP_ASSOC_CHANGE,       SCTP_REMOTE_ERROR,
                                    SCTP_SHUTDOWN_EVENT,     SCTP_SEND_FAILED_EVENT,
                                    SCTP_STREAM_RESET_EVENT, SCTP_STREAM_CHANGE_EVENT};
  for (size_t i = 0; ok && i < G_N_ELEMENTS(events); i++) {
    struct sctp_event se = {.se_assoc_id = SCTP_ALL_ASSOC, .se_on = 1, .se_type = events[i]};
    ok = usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_EVENT, &se, sizeof se) == 0;
  }
  struct sockaddr_conn local = {
      .sconn_family = AF_CONN, .sconn_port = htons(s->local_port), .sconn_addr = (void *)s->id};
  if (ok) ok = usrsctp_bind(s->sock, (struct sockaddr *)&local, sizeof local) == 0;
  if (!ok) {
    snprintf(err, errlen, "usrsctp socket setup: %s", g_strerror(errno));
    return -EIO;
  }
  return 0;
}

int tp_sctp_new(tp_sctp **out, const tp_sctp_config *cfg, const tp_sctp_cbs *cbs, void *ud, char *err,
                size_t errlen) {
  *out = NULL;
  if (!cfg || !cfg->ctx || !cbs || !cbs->send) {
    snprintf(err, errlen, "tp_sctp needs a context and a send callback");
    return -EINVAL;
  }
  int rc = global_attach(cfg->ctx);
  if (rc != 0) {
    snprintf(err, errlen, "SCTP associations live on one thread; this one is another");
    return rc;
  }
  tp_sctp *s = g_new0(tp_sctp, 1);
  s->id = G.next_id++;
  s->cbs = *cbs;
  s->ud = ud;
  s->dtls_client = cfg->dtls_client;
  s->local_port = cfg->local_port ? cfg->local_port : TP_SCTP_PORT;
  s->remote_port = cfg->remote_port ? cfg->remote_port : TP_SCTP_PORT;
  s->remote_max = cfg->remote_max_message_size;
  s->reasm.max = cfg->max_message_size ? cfg->max_message_size : TP_SCTP_MAX_MESSAGE_DEFAULT;
  s->name = cfg->log_name ? g_strdup(cfg->log_name) : g_strdup_printf("sctp%u", (unsigned)s->id);
  usrsctp_register_address((void *)s->id);
  g_hash_table_insert(G.by_id, (void *)s->id, s);
  rc = setup_socket(s, err, errlen);
  if (rc != 0) {
    tp_sctp_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int tp_sctp_connect(tp_sctp *s) {
  if (s->state != TP_SCTP_NEW) return -EALREADY;
  struct sockaddr_conn remote = {
      .sconn_family = AF_CONN, .sconn_port = htons(s->remote_port), .sconn_addr = (void *)s->id};
  s->state = TP_SCTP_CONNECTING;
  int rc = usrsctp_connect(s->sock, (struct sockaddr *)&remote, sizeof remote);
  int e = errno;
  if (rc == 0 || e == EINPROGRESS) {
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof pp);
    memcpy(&pp.spp_address, &remote, sizeof remote);
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = SCTP_MTU - 12; /* room for chunks: the MTU less the common header */
    if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp) != 0)
      g_debug("%s: fixed path MTU not set: %s", s->name, g_strerror(errno));
  }
  flush_all();
  if (rc != 0 && e != EINPROGRESS) {
    g_warning("%s: SCTP connect failed: %s", s->name, g_strerror(e));
    return -e;
  }
  return 0;
}

void tp_sctp_input(tp_sctp *s, const uint8_t *buf, size_t len) {
  if (!s || s->freeing || len == 0) return;
  usrsctp_conninput((void *)s->id, buf, len, 0);
  flush_all();
}

int tp_sctp_open_channel(tp_sctp *s, const char *label, const char *protocol, uint16_t *stream) {
  if (s->state != TP_SCTP_OPEN) return -ENOTCONN;
  if ((label && strlen(label) > TP_SCTP_LABEL_MAX) || (protocol && strlen(protocol) > TP_SCTP_LABEL_MAX))
    return -EINVAL;
  uint16_t id = s->dtls_client ? 0 : 1;
  while (id < STREAMS && find(s, id))
    id += 2;
  if (id >= STREAMS) return -ENOSPC;
  uint8_t open[12 + 2 * TP_SCTP_LABEL_MAX];
  size_t n = tp_dcep_build_open(open, sizeof open, TP_DC_RELIABLE, 0, label, protocol);
  channel *c = n ? add_channel(s, id, TP_DC_RELIABLE, 0) : NULL;
  if (!c) return -ENOSPC;
  int rc = send_raw(s, id, TP_PPID_DCEP, NULL, open, n);
  flush_all();
  if (rc != 0) {
    drop_channel(s, id);
    return rc;
  }
  *stream = id;
  return 0;
}

int tp_sctp_send(tp_sctp *s, uint16_t stream, bool binary, const uint8_t *data, size_t len) {
  if (s->state != TP_SCTP_OPEN) return -ENOTCONN;
  channel *c = find(s, stream);
  if (!c || c->closing) return -ENOENT;
  if (s->remote_max && len > s->remote_max) return -EMSGSIZE;
  static const uint8_t zero = 0;
  uint32_t ppid =
      binary ? (len ? TP_PPID_BINARY : TP_PPID_BINARY_EMPTY) : (len ? TP_PPID_STRING : TP_PPID_STRING_EMPTY);
  int rc = send_raw(s, stream, ppid, c, len ? (const void *)data : &zero, len ? len : 1);
  if (rc == 0) {
    s->stats.messages_out++;
    s->stats.bytes_out += len;
  }
  flush_all();
  return rc;
}

int tp_sctp_debug_send_raw(tp_sctp *s, uint16_t stream, uint32_t ppid, const void *data, size_t len) {
  if (s->state != TP_SCTP_OPEN) return -ENOTCONN;
  static const uint8_t zero = 0;
  int rc = send_raw(s, stream, ppid, NULL, len ? data : &zero, len ? len : 1);
  flush_all();
  return rc;
}

void tp_sctp_close_channel(tp_sctp *s, uint16_t stream) {
  channel *c = find(s, stream);
  if (!c || c->closing) return;
  c->closing = true;
  reset_outgoing(s, stream);
  flush_all();
}

tp_sctp_state tp_sctp_get_state(const tp_sctp *s) {
  return s->state;
}

const tp_sctp_stats *tp_sctp_get_stats(const tp_sctp *s) {
  return &s->stats;
}

static void destroy(tp_sctp *s) {
  while (s->head) {
    ev *e = s->head;
    s->head = e->next;
    free(e->data);
    g_free(e);
  }
  if (s->queued) g_queue_remove(&G.dirty, s);
  for (int i = 0; i < TP_SCTP_MAX_CHANNELS; i++)
    g_free(s->ch[i]);
  tp_dcep_reasm_free(&s->reasm);
  g_free(s->name);
  g_free(s);
}

void tp_sctp_free(tp_sctp *s) {
  if (!s || s->freeing) return;
  s->freeing = true;
  memset(&s->cbs, 0, sizeof s->cbs);
  /* Out of the table first: whatever usrsctp still sends or delivers for
   * this id while closing finds nothing. */
  g_hash_table_remove(G.by_id, (void *)s->id);
  if (s->sock) {
    usrsctp_set_ulpinfo(s->sock, NULL);
    usrsctp_close(s->sock);
  }
  usrsctp_deregister_address((void *)s->id);
  global_detach();
  if (!s->dispatching) destroy(s);
}
