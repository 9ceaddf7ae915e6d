/* bench_ws: WebSocket client connections for the signaling protocol (and
 * Janus's API), libwebsockets 4.1 running on the bench's GLib main loop.
 * A connection is owned here and freed when lws destroys its wsi; the user
 * detaches with bench_ws_close, after which no callback fires. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct bench_ws {
  struct lws *wsi;
  bench_ws_cbs cbs;
  void *ud;
  GQueue out; /* GString* */
  GString *rx;
  bool open, closing, detached, destroyed;
};

static struct lws_context *g_ctx;
static unsigned g_live;

unsigned bench_ws_live(void) {
  return g_live;
}

static void conn_free(bench_ws *c) {
  GString *s;
  while ((s = g_queue_pop_head(&c->out)))
    g_string_free(s, TRUE);
  g_string_free(c->rx, TRUE);
  g_free(c);
  g_live--;
}

static gboolean free_idle(gpointer p) {
  conn_free(p);
  return G_SOURCE_REMOVE;
}

static void report_close(bench_ws *c, const char *why) {
  if (c->detached || !c->cbs.on_close) return;
  c->detached = true;
  c->cbs.on_close(c->ud, why);
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  bench_ws *c = user;
  switch (reason) {
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    if (c) {
      c->wsi = NULL;
      report_close(c, in ? (const char *)in : "connection error");
    }
    return 0;
  case LWS_CALLBACK_CLIENT_ESTABLISHED:
    c->open = true;
    if (!c->detached && c->cbs.on_open) c->cbs.on_open(c->ud);
    if (c->out.length || c->closing) lws_callback_on_writable(wsi);
    return 0;
  case LWS_CALLBACK_CLIENT_RECEIVE:
    g_string_append_len(c->rx, in, (gssize)len);
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
      if (!c->detached && c->cbs.on_message) c->cbs.on_message(c->ud, c->rx->str, c->rx->len);
      g_string_truncate(c->rx, 0);
    }
    return 0;
  case LWS_CALLBACK_CLIENT_WRITEABLE: {
    GString *s = g_queue_pop_head(&c->out);
    if (!s) {
      if (c->closing) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
      }
      return 0;
    }
    size_t n = s->len;
    unsigned char *buf = g_malloc(LWS_PRE + n);
    memcpy(buf + LWS_PRE, s->str, n);
    int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
    g_free(buf);
    g_string_free(s, TRUE);
    if (w < (int)n) return -1;
    if (c->out.length || c->closing) lws_callback_on_writable(wsi);
    return 0;
  }
  case LWS_CALLBACK_CLIENT_CLOSED:
    if (c) report_close(c, "closed by the server");
    return 0;
  case LWS_CALLBACK_WSI_DESTROY:
    if (c && lws_get_opaque_user_data(wsi) == c) {
      report_close(c, "closed");
      lws_set_opaque_user_data(wsi, NULL);
      c->wsi = NULL;
      c->destroyed = true;
      g_idle_add(free_idle, c); /* never under lws's or our own feet */
    }
    return 0;
  default:
    return 0;
  }
}

static const struct lws_protocols protocols[] = {
    {"sfu-bench", cb, 0, 65536, 0, NULL, 0},
    {"janus-protocol", cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int bench_ws_init(GMainLoop *loop, unsigned verbose, char *err, size_t errlen) {
  lws_set_log_level(verbose >= 2 ? LLL_ERR | LLL_WARN : LLL_ERR, NULL);
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  static void *loops[1];
  loops[0] = loop;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_DISABLE_IPV6;
  info.foreign_loops = loops;
  info.fd_limit_per_thread = 0;
  g_ctx = lws_create_context(&info);
  if (!g_ctx) {
    snprintf(err, errlen, "lws_create_context failed (libwebsockets-evlib-glib installed?)");
    return -1;
  }
  return 0;
}

void bench_ws_shutdown(void) {
  if (g_ctx) lws_context_destroy(g_ctx);
  g_ctx = NULL;
}

bench_ws *bench_ws_connect(const char *url, const char *subprotocol, const bench_ws_cbs *cbs, void *ud) {
  char host[128] = "127.0.0.1", path[128] = "/";
  unsigned port = 80;
  const char *p = url;
  if (g_str_has_prefix(p, "ws://")) p += 5;
  const char *slash = strchr(p, '/');
  size_t hl = slash ? (size_t)(slash - p) : strlen(p);
  char hp[160];
  g_strlcpy(hp, p, MIN(sizeof hp, hl + 1));
  if (slash) g_strlcpy(path, slash, sizeof path);
  char *colon = strrchr(hp, ':');
  if (colon) {
    *colon = 0;
    port = (unsigned)atoi(colon + 1);
  }
  g_strlcpy(host, hp, sizeof host);

  bench_ws *c = g_new0(bench_ws, 1);
  c->cbs = *cbs;
  c->ud = ud;
  c->rx = g_string_new(NULL);
  g_queue_init(&c->out);
  g_live++;
  struct lws_client_connect_info ci;
  memset(&ci, 0, sizeof ci);
  ci.context = g_ctx;
  ci.address = host;
  ci.port = (int)port;
  ci.path = path;
  ci.host = host;
  ci.origin = host;
  ci.protocol = subprotocol;
  ci.local_protocol_name = subprotocol ? subprotocol : "sfu-bench";
  ci.userdata = c;
  ci.opaque_user_data = c;
  ci.pwsi = &c->wsi;
  if (!lws_client_connect_via_info(&ci)) {
    /* CONNECTION_ERROR may have fired already and reported. */
    c->detached = true;              /* the caller sees NULL; an error callback may have fired already */
    if (!c->destroyed) conn_free(c); /* else the idle frees it */
    return NULL;
  }
  return c;
}

void bench_ws_send(bench_ws *c, const char *txt) {
  if (!c || c->closing) return;
  g_queue_push_tail(&c->out, g_string_new(txt));
  if (c->open && c->wsi) lws_callback_on_writable(c->wsi);
}

void bench_ws_close(bench_ws *c) {
  if (!c) return;
  c->detached = true;
  c->closing = true;
  if (c->wsi && c->open)
    lws_callback_on_writable(c->wsi);
  else if (c->wsi)
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, LWS_TO_KILL_ASYNC);
}
