/* srv: what the composition root's files share: the running server (its
 * threads' contexts, the app, the WebSocket server and the config) and the
 * HTTP API handler. Main thread unless a function says otherwise. */
#ifndef SRV_H
#define SRV_H

#include <glib.h>
#include <stdbool.h>

#include "cfg_config.h"
#include "sig_app.h"
#include "sig_ws.h"

/* Media thread state shared with the HTTP handler (signaling thread). */
typedef struct server {
  GMainContext *ctx;
  GMainLoop *loop;
  sig_app *app;
  sig_ws *ws;
  const cfg_config *cfg;
  GMutex mu;
  sig_app_stats snap; /* under mu */
  volatile gint draining;
} server;

/* Runs fn(sv, arg) on the media thread and waits for it to return. */
void srv_on_media(server *sv, void (*fn)(server *, void *), void *arg);

/* sig_ws_config.on_http: /healthz, /metrics and the admin API; ud is the server. */
char *srv_http(void *ud, const char *method, const char *path, const char *auth, int *status,
               const char **ctype);

#endif
