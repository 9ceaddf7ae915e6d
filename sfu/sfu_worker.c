/* Worker: the media thread, its command queue from the control plane, the
 * 20 ms tick over its routers, and the counters snapshot. */
#define G_LOG_DOMAIN "media"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sfu.h"
#include "sfu_consumer.h"
#include "sfu_datachan.h"
#include "sfu_router.h"
#include "tp_send.h"

#define TICK_MS 20
#define SNAPSHOT_MS 500

typedef enum {
  OP_ROUTER_CREATE,
  OP_ROUTER_CLOSE,
  OP_TRANSPORT_CREATE,
  OP_TRANSPORT_CONNECT,
  OP_TRANSPORT_ICE,
  OP_TRANSPORT_CANDIDATE,
  OP_TRANSPORT_CLOSE,
  OP_TRANSPORT_STATS,
  OP_STATS,
  OP_PRODUCE,
  OP_PRODUCER_CLOSE,
  OP_CONSUME,
  OP_CONSUMER_PAUSE,
  OP_CONSUMER_VIEWPORT,
  OP_CONSUMER_CLOSE,
  OP_TRANSPORT_DATACHANNEL,
  OP_CONSUMER_CODECS,
  OP_DATACHANNEL_SEND,
} op;

/* One command; control-plane sized, allocated per call. */
typedef struct {
  op op;
  sfu_id a, b;
  bool flag;
  union {
    sfu_transport_params tp;
    sfu_producer_params prod;
    sfu_consumer_params cons;
    struct {
      char ufrag[64], pwd[128], fp[128];
    } remote;
    char *cand; /* owned, NULL = end of candidates */
    struct {
      const sfu_id *ids;
      size_t n;
      sfu_transport_stats *out;
    } stats;
    sfu_worker_stats *counters;
    struct {
      unsigned w, h;
    } vp;
    struct {
      uint16_t port;
      uint32_t max;
    } dc;
    uint8_t pt[2];
    struct {
      sfu_id *ids; /* owned */
      size_t n;
      char *text; /* owned */
    } send;
  } u;
  /* Synchronous commands: the caller waits for done. */
  sfu_transport_local *local;
  char *err;
  size_t errlen;
  int rc;
  bool sync, done;
} cmd;

struct sfu_worker {
  sfu_env env;
  GMainLoop *loop;
  GThread *thread;
  GSource *tick, *snap;
  GHashTable *routers; /* id -> sfu_router*, owned */
  GMutex q_mu;
  GCond q_cond; /* signalled when a synchronous command is done */
  GQueue q;
  bool q_scheduled;
  GMutex snap_mu;
  sfu_worker_stats snapshot; /* under snap_mu */
};

/* ---- on the media thread ---- */

static void read_stats(sfu_worker *w, sfu_worker_stats *s);

static sfu_transport *transport_of(sfu_worker *w, sfu_id id) {
  return g_hash_table_lookup(w->env.transports, GUINT_TO_POINTER(id));
}

static void transport_stats(sfu_worker *w, cmd *c) {
  for (size_t i = 0; i < c->u.stats.n; i++) {
    sfu_transport_stats *o = &c->u.stats.out[i];
    memset(o, 0, sizeof *o);
    sfu_transport *t = transport_of(w, c->u.stats.ids[i]);
    if (!t) continue;
    const tp_peer_stats *st = tp_peer_get_stats(t->peer);
    *o = (sfu_transport_stats){.rtp_in = st->rtp_in,
                               .rtp_out = st->rtp_out,
                               .bytes_in = st->bytes_in,
                               .bytes_out = st->bytes_out,
                               .srtp_errors = st->srtp_in_errors};
    if (t->tx.bwe) {
      sfu_bwe_stats bs;
      sfu_bwe_get_stats(t->tx.bwe, &bs);
      o->estimate_bps = bs.target_bps;
      o->loss = bs.loss;
    } else {
      o->estimate_bps = (int64_t)t->remb_bps;
    }
    g_strlcpy(o->state, tp_state_name(tp_peer_state(t->peer)), sizeof o->state);
    o->silent_ms = sfu_transport_silent_ms(t, g_get_monotonic_time());
  }
}

static void run_transport_cmd(sfu_worker *w, cmd *c) {
  sfu_transport *t = transport_of(w, c->a);
  if (!t) return;
  switch (c->op) {
  case OP_TRANSPORT_CONNECT:
    sfu_router_connect_transport(t, c->u.remote.ufrag, c->u.remote.pwd, c->u.remote.fp);
    break;
  case OP_TRANSPORT_CANDIDATE:
    sfu_router_add_candidate(t, c->u.cand);
    break;
  case OP_TRANSPORT_CLOSE:
    sfu_router_close_transport(t);
    break;
  case OP_PRODUCE:
    sfu_router_produce(t, c->b, &c->u.prod);
    break;
  case OP_CONSUME:
    sfu_router_consume(t, c->b, &c->u.cons);
    break;
  case OP_TRANSPORT_DATACHANNEL:
    sfu_router_start_datachannel(t, c->u.dc.port, c->u.dc.max);
    break;
  default:
    break;
  }
}

static void run(sfu_worker *w, cmd *c) {
  gpointer key = GUINT_TO_POINTER(c->a);
  sfu_router *r;
  sfu_producer *p;
  sfu_consumer *k;
  switch (c->op) {
  case OP_ROUTER_CREATE:
    if (!g_hash_table_contains(w->routers, key))
      g_hash_table_insert(w->routers, key, sfu_router_new(c->a, &w->env));
    break;
  case OP_ROUTER_CLOSE:
    g_hash_table_remove(w->routers, key);
    break;
  case OP_TRANSPORT_CREATE:
    if (!(r = g_hash_table_lookup(w->routers, GUINT_TO_POINTER(c->b)))) {
      snprintf(c->err, c->errlen, "no router %u", c->b);
      c->rc = -ENOENT;
    } else {
      c->rc = sfu_router_add_transport(r, c->a, &c->u.tp, c->local, c->err, c->errlen);
    }
    break;
  case OP_TRANSPORT_STATS:
    transport_stats(w, c);
    break;
  case OP_STATS:
    read_stats(w, c->u.counters);
    break;
  case OP_TRANSPORT_ICE: {
    sfu_transport *t = transport_of(w, c->a);
    if (!t) {
      snprintf(c->err, c->errlen, "no transport %u", c->a);
      c->rc = -ENOENT;
    } else {
      c->rc = sfu_router_transport_ice(t, c->u.remote.ufrag[0] ? c->u.remote.ufrag : NULL, c->u.remote.pwd,
                                       c->local, c->err, c->errlen);
    }
    break;
  }
  case OP_DATACHANNEL_SEND: {
    size_t len = strlen(c->u.send.text);
    for (size_t i = 0; i < c->u.send.n; i++) {
      sfu_transport *t = transport_of(w, c->u.send.ids[i]);
      if (t) sfu_datachan_send(t->dc, c->u.send.text, len);
    }
    break;
  }
  case OP_PRODUCER_CLOSE:
    if ((p = g_hash_table_lookup(w->env.producers, key))) sfu_router_close_producer(p);
    break;
  case OP_CONSUMER_PAUSE:
    if ((k = g_hash_table_lookup(w->env.consumers, key))) sfu_router_set_consumer_paused(k, c->flag);
    break;
  case OP_CONSUMER_VIEWPORT:
    if ((k = g_hash_table_lookup(w->env.consumers, key)))
      sfu_router_set_viewport(k, c->u.vp.w, c->u.vp.h, c->flag);
    break;
  case OP_CONSUMER_CLOSE:
    if ((k = g_hash_table_lookup(w->env.consumers, key))) sfu_router_close_consumer(k);
    break;
  case OP_CONSUMER_CODECS:
    if ((k = g_hash_table_lookup(w->env.consumers, key))) {
      k->prm.pt[0] = c->u.pt[0];
      k->prm.pt[1] = c->u.pt[1];
    }
    break;
  default:
    run_transport_cmd(w, c);
    break;
  }
}

static void cmd_free(cmd *c) {
  if (c->op == OP_TRANSPORT_CANDIDATE) g_free(c->u.cand);
  if (c->op == OP_DATACHANNEL_SEND) {
    g_free(c->u.send.ids);
    g_free(c->u.send.text);
  }
  g_free(c);
}

/* Drains the queue in order; one drain source is attached at a time. */
static gboolean drain(gpointer ud) {
  sfu_worker *w = ud;
  g_mutex_lock(&w->q_mu);
  GQueue local = w->q;
  g_queue_init(&w->q);
  w->q_scheduled = false;
  g_mutex_unlock(&w->q_mu);
  cmd *c;
  while ((c = g_queue_pop_head(&local))) {
    run(w, c);
    if (!c->sync) {
      cmd_free(c);
      continue;
    }
    g_mutex_lock(&w->q_mu);
    c->done = true;
    g_cond_broadcast(&w->q_cond);
    g_mutex_unlock(&w->q_mu);
  }
  return G_SOURCE_REMOVE;
}

static gboolean tick(gpointer ud) {
  sfu_worker *w = ud;
  int64_t now = g_get_monotonic_time();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, w->routers);
  while (g_hash_table_iter_next(&it, NULL, &v))
    sfu_router_tick(v, now);
  return G_SOURCE_CONTINUE;
}

static void read_stats(sfu_worker *w, sfu_worker_stats *s) {
  *s = (sfu_worker_stats){
      .c = w->env.ctr, .srtp_in_errors = w->env.srtp_errors_closed, .heartbeat_us = g_get_monotonic_time()};
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, w->env.transports);
  while (g_hash_table_iter_next(&it, NULL, &v))
    s->srtp_in_errors += tp_peer_get_stats(((sfu_transport *)v)->peer)->srtp_in_errors;
}

static gboolean snapshot(gpointer ud) {
  sfu_worker *w = ud;
  sfu_worker_stats s;
  read_stats(w, &s);
  g_mutex_lock(&w->snap_mu);
  w->snapshot = s;
  g_mutex_unlock(&w->snap_mu);
  return G_SOURCE_CONTINUE;
}

static gpointer thread_main(gpointer ud) {
  sfu_worker *w = ud;
  g_main_context_push_thread_default(w->env.ctx);
  g_main_loop_run(w->loop);
  g_main_context_pop_thread_default(w->env.ctx);
  return NULL;
}

/* ---- on the control thread ---- */

static void submit(sfu_worker *w, cmd *c) {
  g_mutex_lock(&w->q_mu);
  g_queue_push_tail(&w->q, c);
  if (!w->q_scheduled) {
    w->q_scheduled = true;
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, drain, w, NULL);
    g_source_attach(src, w->env.ctx);
    g_source_unref(src);
  }
  if (c->sync)
    while (!c->done)
      g_cond_wait(&w->q_cond, &w->q_mu);
  g_mutex_unlock(&w->q_mu);
}

static cmd *cmd_new(op o, sfu_id a, sfu_id b) {
  cmd *c = g_new0(cmd, 1);
  c->op = o;
  c->a = a;
  c->b = b;
  return c;
}

static void post(sfu_worker *w, op o, sfu_id a, sfu_id b) {
  submit(w, cmd_new(o, a, b));
}

void sfu_worker_router_create(sfu_worker *w, sfu_id router) {
  post(w, OP_ROUTER_CREATE, router, 0);
}
void sfu_worker_router_close(sfu_worker *w, sfu_id router) {
  post(w, OP_ROUTER_CLOSE, router, 0);
}

int sfu_worker_transport_create(sfu_worker *w, sfu_id router, sfu_id id, const sfu_transport_params *p,
                                sfu_transport_local *out, char *err, size_t errlen) {
  cmd c = {.op = OP_TRANSPORT_CREATE,
           .a = id,
           .b = router,
           .sync = true,
           .local = out,
           .err = err,
           .errlen = errlen};
  c.u.tp = *p;
  memset(out, 0, sizeof *out);
  submit(w, &c);
  return c.rc;
}

void sfu_worker_transport_connect(sfu_worker *w, sfu_id id, const char *ufrag, const char *pwd,
                                  const char *fingerprint) {
  cmd *c = cmd_new(OP_TRANSPORT_CONNECT, id, 0);
  g_strlcpy(c->u.remote.ufrag, ufrag, sizeof c->u.remote.ufrag);
  g_strlcpy(c->u.remote.pwd, pwd, sizeof c->u.remote.pwd);
  g_strlcpy(c->u.remote.fp, fingerprint, sizeof c->u.remote.fp);
  submit(w, c);
}

static int transport_ice(sfu_worker *w, sfu_id id, const char *ufrag, const char *pwd,
                         sfu_transport_local *out, char *err, size_t errlen) {
  cmd c = {.op = OP_TRANSPORT_ICE, .a = id, .sync = true, .local = out, .err = err, .errlen = errlen};
  if (ufrag) g_strlcpy(c.u.remote.ufrag, ufrag, sizeof c.u.remote.ufrag);
  if (pwd) g_strlcpy(c.u.remote.pwd, pwd, sizeof c.u.remote.pwd);
  memset(out, 0, sizeof *out);
  submit(w, &c);
  return c.rc;
}

int sfu_worker_transport_restart_ice(sfu_worker *w, sfu_id id, sfu_transport_local *out, char *err,
                                     size_t errlen) {
  return transport_ice(w, id, NULL, NULL, out, err, errlen);
}

int sfu_worker_transport_remote_ice(sfu_worker *w, sfu_id id, const char *ufrag, const char *pwd,
                                    sfu_transport_local *out, char *err, size_t errlen) {
  if (!ufrag || !*ufrag || !pwd || !*pwd) {
    snprintf(err, errlen, "empty ICE credentials");
    return -EINVAL;
  }
  return transport_ice(w, id, ufrag, pwd, out, err, errlen);
}

void sfu_worker_transport_add_candidate(sfu_worker *w, sfu_id id, const char *cand) {
  cmd *c = cmd_new(OP_TRANSPORT_CANDIDATE, id, 0);
  c->u.cand = g_strdup(cand);
  submit(w, c);
}

void sfu_worker_transport_close(sfu_worker *w, sfu_id id) {
  post(w, OP_TRANSPORT_CLOSE, id, 0);
}

void sfu_worker_transport_datachannel(sfu_worker *w, sfu_id id, uint16_t remote_port, uint32_t remote_max) {
  cmd *c = cmd_new(OP_TRANSPORT_DATACHANNEL, id, 0);
  c->u.dc.port = remote_port;
  c->u.dc.max = remote_max;
  submit(w, c);
}

void sfu_worker_datachannel_send(sfu_worker *w, const sfu_id *ids, size_t n, const char *text) {
  if (!n || !text) return;
  cmd *c = cmd_new(OP_DATACHANNEL_SEND, 0, 0);
  c->u.send.ids = g_memdup2(ids, n * sizeof *ids);
  c->u.send.n = n;
  c->u.send.text = g_strdup(text);
  submit(w, c);
}

void sfu_worker_transport_stats(sfu_worker *w, const sfu_id *ids, size_t n, sfu_transport_stats *out) {
  cmd c = {.op = OP_TRANSPORT_STATS, .sync = true};
  c.u.stats.ids = ids;
  c.u.stats.n = n;
  c.u.stats.out = out;
  submit(w, &c);
}

void sfu_worker_produce(sfu_worker *w, sfu_id t, sfu_id id, const sfu_producer_params *p) {
  cmd *c = cmd_new(OP_PRODUCE, t, id);
  c->u.prod = *p;
  submit(w, c);
}
void sfu_worker_producer_close(sfu_worker *w, sfu_id id) {
  post(w, OP_PRODUCER_CLOSE, id, 0);
}

void sfu_worker_consume(sfu_worker *w, sfu_id t, sfu_id id, const sfu_consumer_params *p) {
  cmd *c = cmd_new(OP_CONSUME, t, id);
  c->u.cons = *p;
  submit(w, c);
}
void sfu_worker_consumer_pause(sfu_worker *w, sfu_id id, bool paused) {
  cmd *c = cmd_new(OP_CONSUMER_PAUSE, id, 0);
  c->flag = paused;
  submit(w, c);
}
void sfu_worker_consumer_viewport(sfu_worker *w, sfu_id id, unsigned width, unsigned height, bool visible) {
  cmd *c = cmd_new(OP_CONSUMER_VIEWPORT, id, 0);
  c->u.vp.w = width;
  c->u.vp.h = height;
  c->flag = visible;
  submit(w, c);
}
void sfu_worker_consumer_codecs(sfu_worker *w, sfu_id id, uint8_t pt0, uint8_t pt1) {
  cmd *c = cmd_new(OP_CONSUMER_CODECS, id, 0);
  c->u.pt[0] = pt0;
  c->u.pt[1] = pt1;
  submit(w, c);
}

void sfu_worker_consumer_close(sfu_worker *w, sfu_id id) {
  post(w, OP_CONSUMER_CLOSE, id, 0);
}

void sfu_worker_read_stats(sfu_worker *w, sfu_worker_stats *out) {
  cmd c = {.op = OP_STATS, .sync = true};
  c.u.counters = out;
  submit(w, &c);
}

void sfu_worker_get_stats(sfu_worker *w, sfu_worker_stats *out) {
  g_mutex_lock(&w->snap_mu);
  *out = w->snapshot;
  g_mutex_unlock(&w->snap_mu);
}

/* Sends are batched per wake-up (tp_send.h), io_uring where the kernel
 * allows it. SFU_SEND=direct|mmsg|uring in the environment picks another
 * way, for A/B benchmarks. */
static void start_sender(sfu_env *e) {
  tp_send_mode mode = TP_SEND_URING;
  const char *env = g_getenv("SFU_SEND");
  if (env && tp_send_mode_parse(env, &mode) != 0) g_warning("SFU_SEND=%s: not direct, mmsg or uring", env);
  char err[128];
  if (mode != TP_SEND_DIRECT && tp_sender_new(&e->sender, e->ctx, mode, err, sizeof err) != 0)
    g_warning("batched sends off: %s", err);
}

static GSource *timer(sfu_worker *w, guint ms, GSourceFunc fn) {
  GSource *s = g_timeout_source_new(ms);
  g_source_set_callback(s, fn, w, NULL);
  g_source_attach(s, w->env.ctx);
  return s;
}

int sfu_worker_new(sfu_worker **out, const sfu_worker_config *cfg, char *err, size_t errlen) {
  if (!cfg->cert || !cfg->on_event) {
    snprintf(err, errlen, "sfu_worker_config needs cert and on_event");
    return -EINVAL;
  }
  sfu_worker *w = g_new0(sfu_worker, 1);
  sfu_env *e = &w->env;
  e->ctx = g_main_context_new();
  e->cert = cfg->cert;
  e->ice_addrs = g_strdupv(cfg->ice_addrs);
  e->nat_public_ip = g_strdup(cfg->nat_public_ip);
  e->port_min = cfg->port_min;
  e->port_max = cfg->port_max;
  e->ice_tcp = cfg->ice_tcp;
  e->ice_lite = cfg->ice_lite;
  e->consent_limit_us = (int64_t)cfg->consent_timeout_s * G_USEC_PER_SEC;
  e->scratch_rtp = g_malloc0(SFU_SCRATCH_BYTES);
  e->scratch_rtcp = g_malloc0(SFU_SCRATCH_BYTES);
  start_sender(e);
  e->scratch_rx = g_malloc0(SFU_SCRATCH_BYTES);
  e->fb_scratch = g_new(sfu_twcc_status, SFU_TWCC_BUILD_MAX);
  e->transports = g_hash_table_new(g_direct_hash, g_direct_equal);
  e->producers = g_hash_table_new(g_direct_hash, g_direct_equal);
  e->consumers = g_hash_table_new(g_direct_hash, g_direct_equal);
  e->emit = cfg->on_event;
  e->emit_ud = cfg->ud;
  w->routers = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)sfu_router_free);
  g_mutex_init(&w->q_mu);
  g_cond_init(&w->q_cond);
  g_mutex_init(&w->snap_mu);
  g_queue_init(&w->q);
  w->loop = g_main_loop_new(e->ctx, FALSE);
  w->tick = timer(w, TICK_MS, tick);
  w->snap = timer(w, SNAPSHOT_MS, snapshot);
  w->thread = g_thread_new("media", thread_main, w);
  *out = w;
  return 0;
}

static gboolean stop(gpointer ud) {
  sfu_worker *w = ud;
  g_hash_table_remove_all(w->routers);
  g_main_loop_quit(w->loop);
  return G_SOURCE_REMOVE;
}

void sfu_worker_free(sfu_worker *w) {
  if (!w) return;
  /* After every queued command: an idle of the same priority runs later. */
  GSource *s = g_idle_source_new();
  g_source_set_callback(s, stop, w, NULL);
  g_mutex_lock(&w->q_mu);
  g_source_attach(s, w->env.ctx);
  g_mutex_unlock(&w->q_mu);
  g_source_unref(s);
  g_thread_join(w->thread);
  drain(w); /* anything queued after the stop: nothing is left to act on */
  g_source_destroy(w->tick);
  g_source_unref(w->tick);
  g_source_destroy(w->snap);
  g_source_unref(w->snap);
  /* Let libnice's deferred unrefs and closes run before the context goes. */
  while (g_main_context_iteration(w->env.ctx, FALSE))
    ;
  tp_sender_free(w->env.sender);
  g_hash_table_destroy(w->routers);
  g_hash_table_destroy(w->env.transports);
  g_hash_table_destroy(w->env.producers);
  g_hash_table_destroy(w->env.consumers);
  g_main_loop_unref(w->loop);
  g_main_context_unref(w->env.ctx);
  g_mutex_clear(&w->q_mu);
  g_cond_clear(&w->q_cond);
  g_mutex_clear(&w->snap_mu);
  g_strfreev(w->env.ice_addrs);
  g_free(w->env.nat_public_ip);
  g_free(w->env.scratch_rtp);
  g_free(w->env.scratch_rtcp);
  g_free(w->env.scratch_rx);
  g_free(w->env.fb_scratch);
  g_free(w);
}
