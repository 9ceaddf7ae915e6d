/* libwebsockets server: the context, the /ws signaling socket and the
 * hand-off to the media thread (the HTTP API is sig_http.c, the listening
 * socket sig_listen.c, static files sig_webroot.c). */
#define G_LOG_DOMAIN "ws"
#include "sig_ws_internal.h"
#include "tp_cert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One WebSocket; lives in lws's per-session storage; signaling thread only. */
typedef struct {
  uint64_t id;
  struct lws *wsi;
  GQueue out;               /* char * JSON messages, owned */
  GString *rx;              /* partial message, owned */
  bool close_after;         /* close once out is empty */
  bool registered;          /* in ws->conns and counted against its address */
  uint16_t close_status;    /* 0 = normal (1000) */
  const char *close_reason; /* static */
  char ip[64];
  double tokens; /* message rate bucket */
  int64_t tokens_at_us;
  bool limited; /* dropping messages; the first drop was answered */
} ws_conn;

typedef enum { IN_REQ, IN_CLOSE } in_kind;
typedef struct {
  in_kind kind;
  sig_ws_closed how; /* IN_CLOSE */
  uint64_t conn;
  char ip[64];
  sig_req *req;
} in_item;

typedef struct {
  uint64_t conn; /* UINT64_MAX: every connection */
  char *json;
  bool close_after;
} out_item;

/* ---- media-thread hand-off: one drain source at a time keeps order ---- */

static gboolean drain_inbox(gpointer data) {
  sig_ws *ws = data;
  GQueue local = G_QUEUE_INIT;
  g_mutex_lock(&ws->in_mu);
  local = ws->in_q;
  g_queue_init(&ws->in_q);
  ws->in_scheduled = false;
  g_mutex_unlock(&ws->in_mu);
  in_item *it;
  while ((it = g_queue_pop_head(&local))) {
    if (it->kind == IN_REQ)
      ws->cfg.on_request(ws->cfg.ud, it->conn, it->ip, it->req);
    else
      ws->cfg.on_close(ws->cfg.ud, it->conn, &it->how);
    g_free(it);
  }
  return G_SOURCE_REMOVE;
}

static void push_inbox(sig_ws *ws, in_item *it) {
  g_mutex_lock(&ws->in_mu);
  g_queue_push_tail(&ws->in_q, it);
  if (!ws->in_scheduled) {
    ws->in_scheduled = true;
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, drain_inbox, ws, NULL);
    g_source_attach(src, ws->cfg.media_ctx);
    g_source_unref(src);
  }
  g_mutex_unlock(&ws->in_mu);
}

/* ---- outgoing messages ---- */

static void conn_queue(ws_conn *c, char *json, bool close_after) {
  if (json) g_queue_push_tail(&c->out, json);
  if (close_after) c->close_after = true;
  lws_callback_on_writable(c->wsi);
}

static void drain_outbox(sig_ws *ws) {
  GQueue local;
  g_mutex_lock(&ws->out_mu);
  local = ws->out_q;
  g_queue_init(&ws->out_q);
  g_mutex_unlock(&ws->out_mu);
  out_item *it;
  while ((it = g_queue_pop_head(&local))) {
    if (it->conn == UINT64_MAX) {
      GHashTableIter hi;
      gpointer v;
      g_hash_table_iter_init(&hi, ws->conns);
      while (g_hash_table_iter_next(&hi, NULL, &v))
        conn_queue(v, NULL, true);
    } else {
      ws_conn *c = g_hash_table_lookup(ws->conns, &it->conn);
      if (c && !(c->close_after && !it->json))
        conn_queue(c, it->json, it->close_after);
      else
        free(it->json);
    }
    g_free(it);
  }
}

void sig_ws_send(sig_ws *ws, uint64_t conn, char *json, bool close_after) {
  out_item *it = g_new0(out_item, 1);
  it->conn = conn;
  it->json = json;
  it->close_after = close_after;
  g_mutex_lock(&ws->out_mu);
  g_queue_push_tail(&ws->out_q, it);
  g_mutex_unlock(&ws->out_mu);
  if (ws->ctx) lws_cancel_service(ws->ctx);
}

static void heartbeat(lws_sorted_usec_list_t *sul) {
  sig_ws *ws = lws_container_of(sul, sig_ws, alive_sul);
  __atomic_store_n(&ws->alive_us, g_get_monotonic_time(), __ATOMIC_RELAXED);
  lws_sul_schedule(ws->ctx, 0, &ws->alive_sul, heartbeat, LWS_US_PER_SEC);
}

int64_t sig_ws_alive_us(sig_ws *ws) {
  return __atomic_load_n(&ws->alive_us, __ATOMIC_RELAXED);
}

void sig_ws_close_all(sig_ws *ws) {
  sig_ws_send(ws, UINT64_MAX, NULL, true);
}

unsigned sig_ws_connections(sig_ws *ws) {
  return g_atomic_int_get((gint *)&ws->nconns);
}

/* ---- WebSocket protocol ---- */

static bool origin_allowed(sig_ws *ws, struct lws *wsi) {
  if (!ws->cfg.allowed_origins) return true;
  char origin[256] = "";
  if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0) return false;
  for (char **o = ws->cfg.allowed_origins; *o; o++)
    if (!g_ascii_strcasecmp(*o, origin)) return true;
  return false;
}

static bool rate_ok(sig_ws *ws, ws_conn *c) {
  unsigned rate = ws->cfg.messages_per_sec;
  if (!rate) return true;
  int64_t now = g_get_monotonic_time();
  double burst = rate * 2.0;
  c->tokens += (double)(now - c->tokens_at_us) * rate / 1e6;
  if (c->tokens > burst) c->tokens = burst;
  c->tokens_at_us = now;
  if (c->tokens < 1.0) return false;
  c->tokens -= 1.0;
  return true;
}

/* Every message counts against the rate, valid or not, and is checked
 * before it is parsed: a flood costs no JSON parsing. While over the limit
 * messages are dropped; only the first drop of a burst is answered, so a
 * client that does not read cannot grow its output queue. */
static bool admit(sig_ws *ws, ws_conn *c) {
  if (!rate_ok(ws, c)) {
    if (!c->limited)
      conn_queue(c, sig_proto_error("rate_limited", "too many messages; slow down (messages dropped)", NULL),
                 false);
    c->limited = true;
    return false;
  }
  c->limited = false;
  return true;
}

static void handle_message(sig_ws *ws, ws_conn *c) {
  if (!admit(ws, c)) return;
  sig_req *req = g_new0(sig_req, 1);
  const char *code = NULL;
  char msg[256], type[48];
  if (sig_proto_decode(c->rx->str, c->rx->len, req, &code, msg, sizeof msg, type, sizeof type) != 0) {
    g_free(req);
    conn_queue(c, sig_proto_error(code, msg, type), false);
    return;
  }
  in_item *it = g_new0(in_item, 1);
  it->kind = IN_REQ;
  it->conn = c->id;
  g_strlcpy(it->ip, c->ip, sizeof it->ip);
  it->req = req;
  push_inbox(ws, it);
}

/* Counts conn against its address; false when the address is at its cap. */
static bool per_ip_take(sig_ws *ws, ws_conn *c) {
  unsigned cap = ws->cfg.max_ws_per_ip;
  unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(ws->per_ip, c->ip));
  if (cap && n >= cap) return false;
  g_hash_table_insert(ws->per_ip, g_strdup(c->ip), GUINT_TO_POINTER(n + 1));
  return true;
}

static void per_ip_release(sig_ws *ws, ws_conn *c) {
  unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(ws->per_ip, c->ip));
  if (n <= 1)
    g_hash_table_remove(ws->per_ip, c->ip);
  else
    g_hash_table_insert(ws->per_ip, g_strdup(c->ip), GUINT_TO_POINTER(n - 1));
}

static int on_established(sig_ws *ws, struct lws *wsi, ws_conn *c) {
  memset(c, 0, sizeof *c);
  c->id = ++ws->next_id;
  c->wsi = wsi;
  g_queue_init(&c->out);
  c->rx = g_string_new(NULL);
  c->tokens = ws->cfg.messages_per_sec * 2.0;
  c->tokens_at_us = g_get_monotonic_time();
  sig_http_peer_ip(wsi, c->ip, sizeof c->ip);
  if (!per_ip_take(ws, c)) {
    /* Refused before it can send anything: it never reaches the app. */
    g_message("refused a WebSocket from %s: already %u open from that address (max_websockets_per_ip)", c->ip,
              ws->cfg.max_ws_per_ip);
    c->close_status = LWS_CLOSE_STATUS_POLICY_VIOLATION;
    c->close_reason = "too many WebSockets from this address";
    conn_queue(c, NULL, true);
    return 0;
  }
  g_hash_table_insert(ws->conns, &c->id, c);
  c->registered = true;
  g_atomic_int_inc((gint *)&ws->nconns);
  return 0;
}

static int on_receive(sig_ws *ws, struct lws *wsi, ws_conn *c, void *in, size_t len) {
  if (c->close_after) return 0;
  if (c->rx->len + len > ws->cfg.max_message_bytes) {
    char m[96];
    snprintf(m, sizeof m, "message larger than %zu bytes", ws->cfg.max_message_bytes);
    g_string_truncate(c->rx, 0);
    conn_queue(c, sig_proto_error("too_large", m, NULL), true);
    return 0;
  }
  if (lws_frame_is_binary(wsi)) { /* answered once per message, not per fragment */
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi) && admit(ws, c))
      conn_queue(c, sig_proto_error("bad_json", "binary frames are not part of the protocol", NULL), false);
    g_string_truncate(c->rx, 0);
    return 0;
  }
  g_string_append_len(c->rx, in, (gssize)len);
  if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
    handle_message(ws, c);
    g_string_truncate(c->rx, 0);
  }
  return 0;
}

static int on_writeable(struct lws *wsi, ws_conn *c) {
  char *json = g_queue_pop_head(&c->out);
  if (json) {
    size_t n = strlen(json);
    unsigned char *buf = malloc(LWS_PRE + n);
    if (!buf) {
      free(json);
      return -1;
    }
    memcpy(buf + LWS_PRE, json, n);
    int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
    free(buf);
    free(json);
    if (w < (int)n) return -1;
  }
  if (!g_queue_is_empty(&c->out)) {
    lws_callback_on_writable(wsi);
  } else if (c->close_after) {
    const char *r = c->close_reason ? c->close_reason : "";
    lws_close_reason(wsi, c->close_status ? c->close_status : LWS_CLOSE_STATUS_NORMAL, (unsigned char *)r,
                     strlen(r));
    return -1;
  }
  return 0;
}

static void on_closed(sig_ws *ws, ws_conn *c) {
  if (!c->rx) return; /* never established */
  g_queue_clear_full(&c->out, free);
  g_string_free(c->rx, TRUE);
  c->rx = NULL;
  if (!c->registered) return;
  g_hash_table_remove(ws->conns, &c->id);
  per_ip_release(ws, c);
  c->registered = false;
  g_atomic_int_dec_and_test((gint *)&ws->nconns);
  in_item *it = g_new0(in_item, 1);
  it->kind = IN_CLOSE;
  it->how.by_server = c->close_after;
  it->conn = c->id;
  push_inbox(ws, it);
}

/* The upgrade request: path, Origin, sizes. Non-zero refuses it. */
static int filter_upgrade(sig_ws *ws, struct lws *wsi) {
  char uri[64] = "";
  lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
  if (strcmp(uri, "/ws") != 0) return 1;
  unsigned too_large = sig_http_check_size(wsi);
  if (too_large) return sig_http_refuse(wsi, too_large);
  if (!origin_allowed(ws, wsi)) {
    g_message("refused WebSocket from a disallowed Origin");
    return 1;
  }
  return 0;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  sig_ws *ws = lws_context_user(lws_get_context(wsi));
  ws_conn *c = user;
  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    return filter_upgrade(ws, wsi);
  case LWS_CALLBACK_FILTER_HTTP_CONNECTION: { /* every plain HTTP request, files included */
    unsigned too_large = sig_http_check_size(wsi);
    return too_large ? sig_http_refuse(wsi, too_large) : 0;
  }
  case LWS_CALLBACK_ESTABLISHED:
    return on_established(ws, wsi, c);
  case LWS_CALLBACK_RECEIVE:
    return on_receive(ws, wsi, c, in, len);
  case LWS_CALLBACK_SERVER_WRITEABLE:
    return on_writeable(wsi, c);
  case LWS_CALLBACK_CLOSED:
    on_closed(ws, c);
    return 0;
  case LWS_CALLBACK_WSI_DESTROY:
    if (ws && !ws->closing) sig_listen_fd_freed(ws);
    return 0;
  case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
    if (ws) drain_outbox(ws);
    return 0;
  default:
    return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

static const struct lws_protocols protocols[] = {
    {"sfu", cb_ws, sizeof(ws_conn), 4096, 0, NULL, 0},
    {"sfu-api", sig_http_cb, 0, 0, 0, NULL, 0}, /* size set in sig_ws_new */
    {"sfu-listen", sig_listen_cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_to_glib(int level, const char *line) {
  char buf[256];
  g_strlcpy(buf, line, sizeof buf);
  g_strchomp(buf);
  if (level & LLL_ERR)
    g_warning("lws: %s", buf);
  else
    g_debug("lws: %s", buf);
}

static void set_mounts(sig_ws *ws) {
  static const char *const api_paths[] = {"/healthz", "/metrics", "/admin"};
  for (int i = 0; i < 3; i++) {
    struct lws_http_mount *m = &ws->mounts[i];
    m->mount_next = &ws->mounts[i + 1];
    m->mountpoint = api_paths[i];
    m->mountpoint_len = (unsigned char)strlen(api_paths[i]);
    m->origin = "sfu-api";
    m->origin_protocol = LWSMPRO_CALLBACK;
  }
  struct lws_http_mount *files = &ws->mounts[3];
  files->mountpoint = "/";
  files->mountpoint_len = 1;
  files->origin = ws->cfg.web_root;
  files->def = "index.html";
  files->origin_protocol = LWSMPRO_FILE;
  files->cache_max_age = 0;
  files->cache_revalidate = 1;
}

static int make_context(sig_ws *ws, const sig_ws_config *cfg, char *err, size_t errlen) {
  static struct lws_protocols protos[G_N_ELEMENTS(protocols)];
  memcpy(protos, protocols, sizeof protocols);
  protos[1].per_session_data_size = sig_http_pss_size();
  /* PING a WebSocket idle for 10 s and hang up one silent for 25 s: how a
   * vanished browser that sends us no media (a lone viewer) is noticed. */
  static const lws_retry_bo_t idle_policy = {.secs_since_valid_ping = 10, .secs_since_valid_hangup = 25};
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.retry_and_idle_policy = &idle_policy;
  info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* sig_listen.c owns the socket */
  info.protocols = protos;
  info.mounts = ws->mounts;
  info.user = ws;
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
  info.token_limits = sig_http_token_limits();
  info.max_http_header_data = SIG_HTTP_HEADER_BUFFER;
  /* lws's per-thread service buffer (4 KiB by default) bounds one write: a
   * /metrics page past it went out in pieces and ended a keep-alive
   * connection's pipelined requests. */
  info.pt_serv_buf_size = 64 * 1024;
  /* HTTP/1.1 only over TLS: lws 4.1's HTTP/2 stalls a browser's concurrent
   * file streams when a chunk is larger than about 5 KiB (its flow control),
   * and a page of four files gains nothing from HTTP/2. */
  info.alpn = "http/1.1";
  if (cfg->tls_cert && cfg->tls_key) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = cfg->tls_cert;
    info.ssl_private_key_filepath = cfg->tls_key;
  }
  ws->ctx = lws_create_context(&info);
  ws->vhost = ws->ctx ? lws_get_vhost_by_name(ws->ctx, "default") : NULL;
  if (!ws->vhost) {
    snprintf(err, errlen, "cannot start the HTTP server (TLS files?)");
    return -EINVAL;
  }
  lws_set_fops(ws->ctx, sig_webroot_fops(ws->webroot));
  return 0;
}

int sig_ws_new(sig_ws **out, const sig_ws_config *cfg, char *err, size_t errlen) {
  sig_ws *ws = g_new0(sig_ws, 1);
  ws->cfg = *cfg;
  ws->http_ud = cfg->ud;
  if (!ws->cfg.max_message_bytes) ws->cfg.max_message_bytes = 65536;
  ws->conns = g_hash_table_new(g_int64_hash, g_int64_equal);
  ws->per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_init(&ws->in_mu);
  g_mutex_init(&ws->out_mu);
  g_queue_init(&ws->in_q);
  g_queue_init(&ws->out_q);
  lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_glib);
  set_mounts(ws);
  int rc = sig_webroot_new(&ws->webroot, cfg->web_root, err, errlen);
  if (rc == 0) rc = sig_listen_open(ws, cfg->listen_addr, cfg->port, err, errlen);
  if (rc == 0) rc = make_context(ws, cfg, err, errlen);
  if (rc == 0) rc = sig_listen_start(ws, err, errlen);
  if (rc != 0) {
    sig_ws_free(ws);
    return rc;
  }
  heartbeat(&ws->alive_sul);
  *out = ws;
  return 0;
}

int sig_ws_run(sig_ws *ws) {
  while (!g_atomic_int_get(&ws->stop))
    lws_service(ws->ctx, 0);
  g_atomic_int_set(&ws->stop, 0);
  return 0;
}

void sig_ws_run_for(sig_ws *ws, unsigned ms) {
  int64_t end = g_get_monotonic_time() + (int64_t)ms * 1000;
  /* Non-blocking service with a short sleep: bounded whatever lws waits for. */
  while (g_get_monotonic_time() < end) {
    lws_service(ws->ctx, -1);
    if (!sig_ws_connections(ws)) {
      lws_service(ws->ctx, -1);
      break;
    }
    g_usleep(5000);
  }
}

void sig_ws_set_max_ws_per_ip(sig_ws *ws, unsigned n) {
  ws->cfg.max_ws_per_ip = n;
}

void sig_ws_set_http_ud(sig_ws *ws, void *ud) {
  ws->http_ud = ud;
}

int sig_ws_reload_tls(sig_ws *ws, char *err, size_t errlen) {
  if (!ws->cfg.tls_cert || !ws->cfg.tls_key) return 0;
  char *cert = NULL, *key = NULL;
  gsize clen = 0, klen = 0;
  GError *ge = NULL;
  int rc = 0;
  if (!g_file_get_contents(ws->cfg.tls_cert, &cert, &clen, &ge) ||
      !g_file_get_contents(ws->cfg.tls_key, &key, &klen, &ge)) {
    snprintf(err, errlen, "%s", ge ? ge->message : "cannot read the TLS files");
    rc = -EIO;
  } else if ((rc = tp_cert_check_pem_pair(cert, clen, key, klen, err, errlen)) != 0) {
    /* lws logs a bad key but still reports success: check first. */
  } else if (lws_tls_cert_updated(ws->ctx, ws->cfg.tls_cert, ws->cfg.tls_key, cert, clen, key, klen) != 0) {
    snprintf(err, errlen, "the TLS library refused the new certificate or key");
    rc = -EINVAL;
  }
  if (ge) g_error_free(ge);
  if (key) memset(key, 0, klen); /* private key material */
  g_free(cert);
  g_free(key);
  return rc;
}

void sig_ws_stop(sig_ws *ws) {
  g_atomic_int_set(&ws->stop, 1);
  if (ws->ctx) lws_cancel_service(ws->ctx);
}

void sig_ws_free(sig_ws *ws) {
  if (!ws) return;
  ws->closing = true;
  if (ws->ctx) lws_context_destroy(ws->ctx);
  ws->ctx = NULL;
  in_item *it;
  while ((it = g_queue_pop_head(&ws->in_q))) {
    if (it->req) {
      sig_req_clear(it->req);
      g_free(it->req);
    }
    g_free(it);
  }
  out_item *o;
  while ((o = g_queue_pop_head(&ws->out_q))) {
    free(o->json);
    g_free(o);
  }
  sig_listen_free(ws);
  sig_webroot_free(ws->webroot);
  g_hash_table_destroy(ws->conns);
  g_hash_table_destroy(ws->per_ip);
  g_mutex_clear(&ws->in_mu);
  g_mutex_clear(&ws->out_mu);
  g_free(ws);
}
