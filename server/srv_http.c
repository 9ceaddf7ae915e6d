/* srv_http: the small HTTP API on the signaling thread: /healthz,
 * /metrics (from the control thread's latest snapshot) and the admin API
 * (run on the control thread, the only one that may touch rooms). */
#define G_LOG_DOMAIN "sfu"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sig_metrics.h"
#include "srv.h"

/* Runs fn on the control thread and waits for it. */
typedef struct {
  void (*fn)(server *, void *);
  server *sv;
  void *arg;
  GMutex mu;
  GCond cond;
  bool done;
} call;

static gboolean call_cb(gpointer p) {
  call *c = p;
  c->fn(c->sv, c->arg);
  g_mutex_lock(&c->mu);
  c->done = true;
  g_cond_signal(&c->cond);
  g_mutex_unlock(&c->mu);
  return G_SOURCE_REMOVE;
}

void srv_on_control(server *sv, void (*fn)(server *, void *), void *arg) {
  call c = {.fn = fn, .sv = sv, .arg = arg};
  g_mutex_init(&c.mu);
  g_cond_init(&c.cond);
  g_main_context_invoke(sv->ctl, call_cb, &c);
  g_mutex_lock(&c.mu);
  while (!c.done)
    g_cond_wait(&c.cond, &c.mu);
  g_mutex_unlock(&c.mu);
  g_mutex_clear(&c.mu);
  g_cond_clear(&c.cond);
}

/* One admin request, answered on the control thread. */
typedef struct {
  const char *path;
  bool post;
  int status;
  char *body;
} admin_req;

static void admin_run(server *sv, void *arg) {
  admin_req *a = arg;
  const char *p = a->path + strlen("/admin/");
  char name[128];
  a->status = 200;
  if (!a->post && !strcmp(p, "rooms")) {
    a->body = sig_app_admin_rooms(sv->app);
    return;
  }
  if (a->post && sscanf(p, "rooms/%127[^/]/close", name) == 1) {
    a->status = sig_app_admin_close_room(sv->app, name) == 0 ? 200 : 404;
  } else if (a->post && sscanf(p, "participants/%127[^/]/remove", name) == 1) {
    a->status = sig_app_admin_remove(sv->app, name) == 0 ? 200 : 404;
  } else {
    a->status = a->post ? 404 : 405;
    a->body = strdup("{\"error\":\"unknown admin request\"}\n");
    return;
  }
  a->body = strdup(a->status == 200 ? "{\"ok\":true}\n" : "{\"error\":\"not found\"}\n");
}

/* Constant-time comparison: the token is a secret. */
static bool token_ok(const char *want, const char *auth) {
  if (!want || !g_str_has_prefix(auth, "Bearer ")) return false;
  const char *got = auth + 7;
  size_t n = strlen(want), m = strlen(got);
  unsigned char d = n != m;
  for (size_t i = 0; i < n; i++)
    d |= (unsigned char)(want[i] ^ (i < m ? got[i] : 0));
  return d == 0;
}

char *srv_http(void *ud, const char *method, const char *path, const char *auth, int *status,
               const char **ctype) {
  server *sv = ud;
  *ctype = "text/plain; charset=utf-8";
  if (g_str_has_prefix(path, "/admin/")) {
    *ctype = "application/json";
    if (!sv->cfg->admin_token) {
      *status = 404;
      return strdup("{\"error\":\"the admin API is off (no admin_token in the config)\"}\n");
    }
    if (!token_ok(sv->cfg->admin_token, auth)) {
      *status = 401;
      return strdup("{\"error\":\"missing or wrong bearer token\"}\n");
    }
    if (g_atomic_int_get(&sv->draining)) {
      *status = 503;
      return strdup("{\"error\":\"draining\"}\n");
    }
    admin_req a = {.path = path, .post = !strcmp(method, "POST")};
    srv_on_control(sv, admin_run, &a);
    *status = a.status;
    return a.body;
  }
  if (!strcmp(path, "/healthz")) {
    bool ok = !g_atomic_int_get(&sv->draining);
    *status = ok ? 200 : 503;
    return strdup(ok ? "ok\n" : "draining\n");
  }
  if (!strcmp(path, "/metrics") && sv->cfg->metrics) {
    sig_app_stats st;
    g_mutex_lock(&sv->mu);
    st = sv->snap;
    g_mutex_unlock(&sv->mu);
    *status = 200;
    *ctype = "text/plain; version=0.0.4; charset=utf-8";
    return sig_metrics_format(&st);
  }
  *status = 404;
  return NULL;
}
