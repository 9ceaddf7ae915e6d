/* Composition root: the only file that knows every layer. It reads the
 * configuration, makes the DTLS certificate, starts the media thread (one
 * GMainContext for all transports and the router) and runs the HTTP +
 * WebSocket server on the main thread until SIGTERM/SIGINT, then drains.
 * SIGHUP reloads what can change live (log level and format). */
#define G_LOG_DOMAIN "sfu"
#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_cli.h"
#include "cfg_config.h"
#include "cfg_log.h"
#include "sig_app.h"
#include "sig_ws.h"
#include "srv.h"
#include "srv_token_cli.h"
#include "tp_cert.h"

#ifdef SFU_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
static int sd_notify(int unset, const char *state) {
  (void)unset;
  (void)state;
  return 0;
}
#endif

/* RELOADING=1 with the time newer systemd (Type=notify-reload) wants. */
static void notify_reloading(void) {
  char msg[64];
  snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%lld", (long long)g_get_monotonic_time());
  sd_notify(0, msg);
}

#ifndef SFU_VERSION
#define SFU_VERSION "dev"
#endif

#define DRAIN_MS 5000

static volatile sig_atomic_t g_term, g_hup;
static sig_ws *g_ws;

static void on_signal(int sig) {
  if (sig == SIGHUP)
    g_hup = 1;
  else
    g_term = 1;
  if (g_ws) sig_ws_stop(g_ws);
}

static gboolean snapshot(gpointer ud) {
  server *sv = ud;
  sig_app_stats st;
  sig_app_get_stats(sv->app, &st);
  g_mutex_lock(&sv->mu);
  sv->snap = st;
  g_mutex_unlock(&sv->mu);
  /* Both threads must be alive: this timer proves the media thread, the
   * heartbeat the signaling thread. */
  if (sv->ws && g_get_monotonic_time() - sig_ws_alive_us(sv->ws) < 5 * G_USEC_PER_SEC)
    sd_notify(0, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

static gpointer media_main(gpointer ud) {
  server *sv = ud;
  g_main_context_push_thread_default(sv->ctx);
  g_main_loop_run(sv->loop);
  g_main_context_pop_thread_default(sv->ctx);
  return NULL;
}

static void drain_app(server *sv, void *arg) {
  (void)arg;
  sig_app_drain(sv->app);
}
static void stop_app(server *sv, void *arg) {
  (void)arg;
  sig_app_free(sv->app);
  sv->app = NULL;
  g_main_loop_quit(sv->loop);
}

static void set_limits(server *sv, void *arg) {
  const cfg_config *c = arg;
  sig_app_set_limits(sv->app, c->max_rooms, c->max_participants_per_room, c->max_publishers_per_room);
}

/* What can change live: log level and format, limits, metrics, the admin
 * token. Listening addresses, TLS files and ICE settings need a restart
 * (the WebSocket server borrows those strings from the running config). */
static void reload(server *sv, sig_ws *ws, const cfg_cli *cli, cfg_config *cfg) {
  cfg_config fresh;
  char err[512];
  notify_reloading();
  if (!cli->config_path) {
    g_message("SIGHUP: no config file to reload");
  } else if (cfg_load_file(cli->config_path, &fresh, err, sizeof err) != 0 ||
             cfg_cli_apply(cli, &fresh, err, sizeof err) != 0) {
    g_warning("SIGHUP: keeping the running config: %s", err);
    cfg_clear(&fresh);
  } else {
    cfg_log_set(fresh.log_level, fresh.log_json);
    srv_on_media(sv, set_limits, &fresh);
    cfg->log_level = fresh.log_level;
    cfg->log_json = fresh.log_json;
    cfg->metrics = fresh.metrics;
    cfg->max_rooms = fresh.max_rooms;
    cfg->max_participants_per_room = fresh.max_participants_per_room;
    cfg->max_publishers_per_room = fresh.max_publishers_per_room;
    char *old = cfg->admin_token;
    cfg->admin_token = fresh.admin_token;
    fresh.admin_token = old;
    if (g_strcmp0(fresh.tls_cert, cfg->tls_cert) || g_strcmp0(fresh.tls_key, cfg->tls_key))
      g_warning("SIGHUP: tls_cert/tls_key paths changed: restart to use them (reloading the files at the old "
                "paths)");
    if (sig_ws_reload_tls(ws, err, sizeof err) != 0)
      g_warning("SIGHUP: keeping the old TLS certificate: %s", err);
    else if (cfg->tls_cert)
      g_message("SIGHUP: TLS certificate reloaded from %s", cfg->tls_cert);
    g_message("SIGHUP: reloaded %s (log level %s)", cli->config_path, cfg_log_level_name(fresh.log_level));
    cfg_clear(&fresh);
  }
  sd_notify(0, "READY=1");
}

int main(int argc, char **argv) {
  cfg_cli cli;
  cfg_config cfg;
  char err[512];
  if (cfg_cli_parse(argc, argv, &cli, err, sizeof err) != 0) {
    fprintf(stderr, "sfu: %s\n", err);
    cfg_cli_usage(stderr, argv[0]);
    return CFG_EX_USAGE;
  }
  switch (cli.action) {
  case CFG_CLI_HELP:
    cfg_cli_usage(stdout, argv[0]);
    return 0;
  case CFG_CLI_VERSION:
    printf("sfu %s\n", SFU_VERSION);
    return 0;
  default:
    break;
  }
  int rc = cli.config_path ? cfg_load_file(cli.config_path, &cfg, err, sizeof err) : (cfg_defaults(&cfg), 0);
  if (rc == 0) rc = cfg_cli_apply(&cli, &cfg, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "sfu: %s\n", err);
    cfg_clear(&cfg);
    return CFG_EX_CONFIG;
  }
  if (cli.action == CFG_CLI_TOKEN) { /* needs the config's jwt_secret */
    rc = srv_token_cli(argc - cli.subcmd_index, argv + cli.subcmd_index, cfg.jwt_secret);
    cfg_clear(&cfg);
    return rc;
  }
  if (cli.action == CFG_CLI_CHECK_CONFIG) {
    printf("%s: OK\n", cli.config_path);
    cfg_clear(&cfg);
    return 0;
  }
  cfg_log_install(cfg.log_level, cfg.log_json);

  tp_cert *cert = NULL;
  if (tp_cert_new(&cert, err, sizeof err) != 0) {
    g_warning("cannot make the DTLS certificate: %s", err);
    cfg_clear(&cfg);
    return 1;
  }

  server sv = {.cfg = &cfg};
  g_mutex_init(&sv.mu);
  sv.ctx = g_main_context_new();
  sv.loop = g_main_loop_new(sv.ctx, FALSE);
  char **ice_urls = NULL;
  {
    GStrvBuilder *b = g_strv_builder_new();
    for (char **u = cfg.stun_urls; u && *u; u++)
      g_strv_builder_add(b, *u);
    for (char **u = cfg.turn_urls; u && *u; u++)
      g_strv_builder_add(b, *u);
    ice_urls = g_strv_builder_end(b);
    g_strv_builder_unref(b);
  }
  sig_app_config acfg = {
      .ctx = sv.ctx,
      .cert = cert,
      .ice_addrs = cfg.ice_addrs,
      .nat_public_ip = cfg.nat_public_ip,
      .port_min = cfg.port_min,
      .port_max = cfg.port_max,
      .consent_timeout_s = cfg.consent_timeout_s,
      .ice_tcp = cfg.ice_tcp,
      .max_rooms = cfg.max_rooms,
      .max_participants_per_room = cfg.max_participants_per_room,
      .max_publishers_per_room = cfg.max_publishers_per_room,
      .max_bitrate_kbps = cfg.max_bitrate_kbps,
      .jwt_secret = cfg.jwt_secret,
      .joins_per_sec_per_ip = cfg.joins_per_sec_per_ip,
      .ice_servers_json_urls = ice_urls,
      .turn_username = cfg.turn_username,
      .turn_password = cfg.turn_password,
  };
  sv.app = sig_app_new(&acfg);
  sig_ws_config wcfg = {
      .listen_addr = cfg.listen_addr,
      .port = cfg.port,
      .web_root = cfg.web_root,
      .tls_cert = cfg.tls_cert,
      .tls_key = cfg.tls_key,
      .allowed_origins = cfg.allowed_origins,
      .max_message_bytes = cfg.max_message_bytes,
      .messages_per_sec = cfg.messages_per_sec,
      .max_ws_per_ip = cfg.max_websockets_per_ip,
      .media_ctx = sv.ctx,
      .on_request = sig_app_on_request,
      .on_close = sig_app_on_close,
      .on_http = srv_http,
      .ud = sv.app,
  };
  /* on_http gets the server, requests get the app: one ud, so route via sv. */
  wcfg.ud = sv.app;
  sig_ws *ws = NULL;
  if (sig_ws_new(&ws, &wcfg, err, sizeof err) != 0) {
    g_warning("%s", err);
    sig_app_free(sv.app);
    g_main_loop_unref(sv.loop);
    g_main_context_unref(sv.ctx);
    tp_cert_free(cert);
    g_strfreev(ice_urls);
    cfg_clear(&cfg);
    return 1;
  }
  sig_ws_set_http_ud(ws, &sv);
  sv.ws = ws;
  sig_app_set_ws(sv.app, ws);
  g_ws = ws;

  GSource *snap = g_timeout_source_new(500);
  g_source_set_callback(snap, snapshot, &sv, NULL);
  g_source_attach(snap, sv.ctx);
  GThread *media = g_thread_new("media", media_main, &sv);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  g_message("sfu %s listening on %s://%s:%u/ (web root %s)", SFU_VERSION, cfg.tls_cert ? "https" : "http",
            cfg.listen_addr ? cfg.listen_addr : "0.0.0.0", cfg.port, cfg.web_root);
  if (!cfg.jwt_secret)
    g_message("no jwt_secret configured: rooms are open to anyone who can reach the server");
  sd_notify(0, "READY=1");

  while (!g_term) {
    sig_ws_run(ws);
    if (g_hup) {
      g_hup = 0;
      reload(&sv, ws, &cli, &cfg);
    }
  }
  g_message("stopping: draining participants");
  sd_notify(0, "STOPPING=1");
  g_atomic_int_set(&sv.draining, 1);
  srv_on_media(&sv, drain_app, NULL);
  sig_ws_run_for(ws, DRAIN_MS);
  srv_on_media(&sv, stop_app, NULL);
  g_thread_join(media);
  g_ws = NULL;
  sig_ws_free(ws);
  g_source_destroy(snap);
  g_source_unref(snap);
  g_main_loop_unref(sv.loop);
  g_main_context_unref(sv.ctx);
  g_mutex_clear(&sv.mu);
  tp_cert_free(cert);
  g_strfreev(ice_urls);
  cfg_clear(&cfg);
  g_message("stopped");
  return 0;
}
