/* srv: what the composition root's files share: the running server (the
 * control thread's context, the media worker, the app, the WebSocket server
 * and the config) and the HTTP API handler.
 * Threads: main (signals, reload; it runs the WebSocket server), control
 * (rooms, SDP, policy: the app), media (the worker). */
#ifndef SRV_H
#define SRV_H

#include <glib.h>
#include <stdbool.h>

#include "cfg_config.h"
#include "sfu.h"
#include "sig_app.h"
#include "sig_ws.h"

typedef struct server {
  GMainContext *ctl; /* the control thread's */
  GMainLoop *ctl_loop;
  GThread *ctl_thread;
  sfu_worker *worker;
  sig_app *app; /* control thread only */
  sig_ws *ws;
  const cfg_config *cfg;
  GMutex mu;
  sig_app_stats snap; /* under mu: refreshed on the control thread */
  volatile gint draining;
} server;

/* Runs fn(sv, arg) on the control thread and waits for it to return. */
void srv_on_control(server *sv, void (*fn)(server *, void *), void *arg);

/* sig_ws_config.on_http: /healthz, /metrics and the admin API; ud is the server. */
char *srv_http(void *ud, const char *method, const char *path, const char *auth, int *status,
               const char **ctype);

#endif
