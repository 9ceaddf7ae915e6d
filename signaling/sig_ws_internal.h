/* sig_ws_internal: what the files of the HTTP + WebSocket server share.
 *   sig_ws.c       the lws context, the /ws protocol, the media-thread hand-off
 *   sig_http.c     the small HTTP API (/healthz, /metrics, /admin) and the
 *                  request-size checks (414, 431) every request goes through
 *   sig_listen.c   the listening socket: bind, accept, descriptor exhaustion
 *   sig_webroot.c  static files opened only beneath the web root
 * Thread: the signaling thread (the one running lws_service), unless a
 * function says otherwise. Only signaling/ includes libwebsockets.h. */
#ifndef SIG_WS_INTERNAL_H
#define SIG_WS_INTERNAL_H

#include <libwebsockets.h>

#include "sig_ws.h"

typedef struct sig_listen sig_listen;
typedef struct sig_webroot sig_webroot;

struct sig_ws {
  sig_ws_config cfg;
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  struct lws_http_mount mounts[4];
  volatile int stop;
  bool closing; /* in sig_ws_free */
  void *http_ud;
  lws_sorted_usec_list_t alive_sul;
  int64_t alive_us; /* __atomic */
  uint64_t next_id;
  GHashTable *conns;  /* id -> ws_conn*, borrowed */
  GHashTable *per_ip; /* peer address (owned) -> open WebSockets (GUINT) */
  unsigned nconns;    /* atomic */
  sig_listen *listen;
  sig_webroot *webroot;
  GMutex in_mu;
  GQueue in_q;
  bool in_scheduled;
  GMutex out_mu;
  GQueue out_q;
};

/* sig_http.c: the "sfu-api" protocol and its per-request storage size. */
int sig_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
size_t sig_http_pss_size(void);
/* Per-token limits that make lws truncate (not drop) an oversized request
 * line or header so it can be answered; see sig_http_check_size. */
const struct lws_token_limits *sig_http_token_limits(void);
/* lws's total header buffer (bytes); a request beyond it is dropped by lws. */
#define SIG_HTTP_HEADER_BUFFER 16384
/* 0 if the request line and headers are within the limits, else the
 * status to answer (414 or 431). h1 only (h2 has its own limits). */
unsigned sig_http_check_size(struct lws *wsi);
/* Answers status with a short text body and asks lws to close after it.
 * Returns what an lws filter callback should return (non-zero: close). */
int sig_http_refuse(struct lws *wsi, unsigned status);
/* The peer's address as text; IPv4-mapped IPv6 addresses as plain IPv4. */
void sig_http_peer_ip(struct lws *wsi, char *out, size_t outlen);

/* sig_listen.c */
/* Binds and listens (before the lws context exists); 0 or -errno, err set. */
int sig_listen_open(sig_ws *ws, const char *addr, unsigned port, char *err, size_t errlen);
/* Hands the listening socket to lws's poll loop (after the context). */
int sig_listen_start(sig_ws *ws, char *err, size_t errlen);
/* A connection closed: a descriptor is free again. */
void sig_listen_fd_freed(sig_ws *ws);
int sig_listen_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
void sig_listen_free(sig_ws *ws);

/* sig_webroot.c: file operations for lws's file mount that open only
 * beneath root (no "..", no symlink leading out). */
int sig_webroot_new(sig_webroot **out, const char *root, char *err, size_t errlen);
const struct lws_plat_file_ops *sig_webroot_fops(sig_webroot *w);
void sig_webroot_free(sig_webroot *w);

#endif
