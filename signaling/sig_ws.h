/* sig_ws: the HTTP + WebSocket server (libwebsockets): static files from
 * the web root, the signaling WebSocket at /ws, and a hand-off of decoded
 * requests to the media thread.
 * Threads: sig_ws_run runs the lws service loop on the calling thread (the
 * signaling thread). Requests and closes are delivered in order on
 * media_ctx (the media thread). sig_ws_send and sig_ws_stop are safe from
 * any thread. Only this file includes libwebsockets.h. */
#ifndef SIG_WS_H
#define SIG_WS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sig_proto.h"

typedef struct sig_ws sig_ws;

/* How a connection ended (on_close). */
typedef struct {
  /* We asked for the close (sig_ws_send with close_after, a message too
   * large); otherwise the client closed it or the connection broke. */
  bool by_server;
} sig_ws_closed;

typedef struct {
  /* IPv4 or IPv6 literal; NULL or "" = every address of both families.
   * Bound exactly: a failed bind fails sig_ws_new. */
  const char *listen_addr;
  unsigned port;
  const char *web_root;
  const char *tls_cert, *tls_key; /* both or neither */
  char **allowed_origins;         /* NULL = any */
  size_t max_message_bytes;
  unsigned messages_per_sec; /* per connection; 0 = unlimited */
  unsigned max_ws_per_ip;    /* open WebSockets per peer address; 0 = unlimited */
  GMainContext *media_ctx;   /* borrowed */
  /* Called on media_ctx. req is transferred (sig_req_clear + free it). */
  void (*on_request)(void *ud, uint64_t conn, const char *peer_ip, sig_req *req);
  /* The socket is gone (closed by either side); called once per conn that
   * delivered at least one request, after its last request. */
  void (*on_close)(void *ud, uint64_t conn, const sig_ws_closed *how);
  /* HTTP GET or POST (method "GET"/"POST"; HEAD is asked as "GET") under
   * /healthz, /metrics and /admin: called on the signaling thread; auth is
   * the Authorization header ("" if none); return a malloc'ed body (status
   * set) or NULL = 404. Other methods (and POST outside /admin) are answered
   * 405 here without asking. */
  char *(*on_http)(void *ud, const char *method, const char *path, const char *auth, int *status,
                   const char **ctype);
  void *ud;
} sig_ws_config;

int sig_ws_new(sig_ws **out, const sig_ws_config *cfg, char *err, size_t errlen);
/* Serves until sig_ws_stop (then clears the stop request); returns 0. */
int sig_ws_run(sig_ws *ws);
/* Serves until every WebSocket has closed or ms have passed (draining). */
void sig_ws_run_for(sig_ws *ws, unsigned ms);
/* The ud passed to on_http (default: cfg.ud). Call before sig_ws_run. */
void sig_ws_set_http_ud(sig_ws *ws, void *ud);
void sig_ws_stop(sig_ws *ws);
/* Queues one text message for conn (json transferred, freed here). With
 * close_after the socket closes once it is written. Unknown conn: dropped. */
void sig_ws_send(sig_ws *ws, uint64_t conn, char *json, bool close_after);
/* Closes every connection after its queued messages (for draining). */
void sig_ws_close_all(sig_ws *ws);
/* Monotonic time (g_get_monotonic_time) of the signaling loop's last
 * heartbeat, taken each second on its own thread: lets the systemd watchdog
 * notice a stuck signaling thread. Any thread. */
int64_t sig_ws_alive_us(sig_ws *ws);
/* Number of open WebSocket connections (approximate, any thread). */
unsigned sig_ws_connections(sig_ws *ws);
/* The per-address WebSocket cap (sig_ws_config.max_ws_per_ip), changed
 * live (SIGHUP); sockets already open stay. Signaling thread. */
void sig_ws_set_max_ws_per_ip(sig_ws *ws, unsigned n);
/* Re-reads the TLS certificate and key files configured at start (same
 * paths; a renewed certificate, e.g. by certbot) into the running server;
 * new connections use them. Signaling thread. 0, or -errno with err set
 * (the old certificate stays). Without TLS: 0, nothing to do. */
int sig_ws_reload_tls(sig_ws *ws, char *err, size_t errlen);
void sig_ws_free(sig_ws *ws);

#endif
