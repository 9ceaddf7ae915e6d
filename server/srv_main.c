/* Composition root: the only code that knows every layer. It reads the
 * configuration, makes the DTLS certificate, starts the media worker (its
 * own thread: transports, routers, packets) and the control thread (rooms,
 * SDP, policy), and runs the HTTP + WebSocket server on the main thread
 * until SIGTERM/SIGINT, then drains. SIGHUP reloads what can change live. */
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

/* Every thread must be alive: this timer proves the control thread, the
 * worker's heartbeat the media thread, sig_ws's the signaling thread. */
static gboolean snapshot(gpointer ud) {
  server *sv = ud;
  sig_app_stats st;
  sig_app_get_stats(sv->app, &st);
  g_mutex_lock(&sv->mu);
  sv->snap = st;
  g_mutex_unlock(&sv->mu);
  sfu_worker_stats ws;
  sfu_worker_get_stats(sv->worker, &ws);
  int64_t now = g_get_monotonic_time();
  if (sv->ws && now - sig_ws_alive_us(sv->ws) < 5 * G_USEC_PER_SEC &&
      now - ws.heartbeat_us < 5 * G_USEC_PER_SEC)
    sd_notify(0, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

static gpointer control_main(gpointer ud) {
  server *sv = ud;
  g_main_context_push_thread_default(sv->ctl);
  g_main_loop_run(sv->ctl_loop);
  g_main_context_pop_thread_default(sv->ctl);
  return NULL;
}

/* Media events go to the app, which queues them for the control thread. */
static void on_media_event(void *ud, const sfu_event *ev) {
  server *sv = ud;
  sig_app_on_media_event(sv->app, ev);
}

static void drain_app(server *sv, void *arg) {
  (void)arg;
  sig_app_drain(sv->app);
}

static void stop_app(server *sv, void *arg) {
  (void)arg;
  sig_app_free(sv->app);
  sv->app = NULL;
  g_main_loop_quit(sv->ctl_loop);
}

static sig_app_limits limits_of(const cfg_config *c) {
  return (sig_app_limits){.max_rooms = c->max_rooms,
                          .max_participants_per_room = c->max_participants_per_room,
                          .max_publishers_per_room = c->max_publishers_per_room,
                          .max_tracks_per_participant = c->max_tracks_per_participant,
                          .joins_per_sec_per_ip = c->joins_per_sec_per_ip};
}

static void set_policy(server *sv, void *arg) {
  const cfg_config *c = arg;
  sig_app_limits l = limits_of(c);
  sig_app_set_policy(sv->app, &l, c->jwt_secret);
}

/* Settings read once at start: a change needs a restart, and says so. */
static void name_restart_only(const cfg_config *old, const cfg_config *fresh) {
  GString *s = g_string_new(NULL);
  if (g_strcmp0(old->listen_addr, fresh->listen_addr) || old->port != fresh->port)
    g_string_append(s, " listen_addr/port");
  if (g_strcmp0(old->tls_cert, fresh->tls_cert) || g_strcmp0(old->tls_key, fresh->tls_key))
    g_string_append(s, " tls_cert/tls_key paths");
  if (g_strcmp0(old->web_root, fresh->web_root)) g_string_append(s, " web_root");
  if (old->port_min != fresh->port_min || old->port_max != fresh->port_max ||
      old->consent_timeout_s != fresh->consent_timeout_s ||
      g_strcmp0(old->nat_public_ip, fresh->nat_public_ip))
    g_string_append(s, " [ice]");
  if (old->max_message_bytes != fresh->max_message_bytes ||
      old->messages_per_sec != fresh->messages_per_sec || old->max_bitrate_kbps != fresh->max_bitrate_kbps)
    g_string_append(s, " max_message_bytes/messages_per_sec/max_bitrate_kbps");
  if (s->len) g_warning("SIGHUP: changed but needing a restart (kept as they were):%s", s->str);
  g_string_free(s, TRUE);
}

static void swap_str(char **a, char **b) {
  char *t = *a;
  *a = *b;
  *b = t;
}

/* What can change live: log level and format, limits, the join rate, the
 * per-address WebSocket cap, the jwt secret, metrics, the admin token, and
 * the TLS certificate files at the same paths. */
static void reload(server *sv, const cfg_cli *cli, cfg_config *cfg) {
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
    name_restart_only(cfg, &fresh);
    cfg_log_set(fresh.log_level, fresh.log_json);
    srv_on_control(sv, set_policy, &fresh);
    cfg->log_level = fresh.log_level;
    cfg->log_json = fresh.log_json;
    cfg->metrics = fresh.metrics;
    cfg->max_rooms = fresh.max_rooms;
    cfg->max_participants_per_room = fresh.max_participants_per_room;
    cfg->max_publishers_per_room = fresh.max_publishers_per_room;
    cfg->max_tracks_per_participant = fresh.max_tracks_per_participant;
    cfg->joins_per_sec_per_ip = fresh.joins_per_sec_per_ip;
    swap_str(&cfg->admin_token, &fresh.admin_token);
    swap_str(&cfg->jwt_secret, &fresh.jwt_secret);
    cfg->max_websockets_per_ip = fresh.max_websockets_per_ip;
    sig_ws_set_max_ws_per_ip(sv->ws, fresh.max_websockets_per_ip);
    if (sig_ws_reload_tls(sv->ws, err, sizeof err) != 0)
      g_warning("SIGHUP: keeping the old TLS certificate: %s", err);
    else if (cfg->tls_cert)
      g_message("SIGHUP: TLS certificate reloaded from %s", cfg->tls_cert);
    g_message("SIGHUP: reloaded %s (log level %s)", cli->config_path, cfg_log_level_name(fresh.log_level));
    cfg_clear(&fresh);
  }
  sd_notify(0, "READY=1");
}

/* STUN and TURN urls handed to browsers, in one list. */
static char **ice_urls_of(const cfg_config *cfg) {
  GStrvBuilder *b = g_strv_builder_new();
  for (char **u = cfg->stun_urls; u && *u; u++)
    g_strv_builder_add(b, *u);
  for (char **u = cfg->turn_urls; u && *u; u++)
    g_strv_builder_add(b, *u);
  char **v = g_strv_builder_end(b);
  g_strv_builder_unref(b);
  return v;
}

static int start_worker(server *sv, const cfg_config *cfg, const tp_cert *cert, char *err, size_t errlen) {
  sfu_worker_config wc = {
      .cert = cert,
      .ice_addrs = cfg->ice_addrs,
      .nat_public_ip = cfg->nat_public_ip,
      .port_min = cfg->port_min,
      .port_max = cfg->port_max,
      .ice_tcp = cfg->ice_tcp,
      .ice_lite = cfg->ice_lite,
      .consent_timeout_s = cfg->consent_timeout_s,
      .on_event = on_media_event,
      .ud = sv,
  };
  return sfu_worker_new(&sv->worker, &wc, err, errlen);
}

static void start_app(server *sv, const cfg_config *cfg, const tp_cert *cert, char **ice_urls) {
  sv->ctl = g_main_context_new();
  sv->ctl_loop = g_main_loop_new(sv->ctl, FALSE);
  sig_app_config acfg = {
      .ctx = sv->ctl,
      .worker = sv->worker,
      .cert = cert,
      .limits = limits_of(cfg),
      .jwt_secret = cfg->jwt_secret,
      .max_bitrate_kbps = cfg->max_bitrate_kbps,
      .ice_servers_json_urls = ice_urls,
      .turn_username = cfg->turn_username,
      .turn_password = cfg->turn_password,
      .turn_rest_urls = cfg->turn_rest_urls,
      .turn_secret = cfg->turn_secret,
      .turn_ttl_s = cfg->turn_ttl_s,
      .resume_grace_s = cfg->resume_grace_s,
  };
  sv->app = sig_app_new(&acfg);
}

static int start_ws(server *sv, const cfg_config *cfg, char *err, size_t errlen) {
  sig_ws_config wcfg = {
      .listen_addr = cfg->listen_addr,
      .port = cfg->port,
      .web_root = cfg->web_root,
      .tls_cert = cfg->tls_cert,
      .tls_key = cfg->tls_key,
      .allowed_origins = cfg->allowed_origins,
      .max_message_bytes = cfg->max_message_bytes,
      .messages_per_sec = cfg->messages_per_sec,
      .max_ws_per_ip = cfg->max_websockets_per_ip,
      .media_ctx = sv->ctl, /* requests are handled on the control thread */
      .on_request = sig_app_on_request,
      .on_close = sig_app_on_close,
      .on_http = srv_http,
      .ud = sv->app,
  };
  int rc = sig_ws_new(&sv->ws, &wcfg, err, errlen);
  if (rc != 0) return rc;
  sig_ws_set_http_ud(sv->ws, sv); /* on_http gets the server, requests the app */
  sig_app_set_ws(sv->app, sv->ws);
  return 0;
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* Serves until SIGTERM/SIGINT, then drains: participants are told, the
 * sockets close, the app and the worker stop. */
static void serve(server *sv, const cfg_cli *cli, cfg_config *cfg) {
  GSource *snap = g_timeout_source_new(500);
  g_source_set_callback(snap, snapshot, sv, NULL);
  g_source_attach(snap, sv->ctl);
  sv->ctl_thread = g_thread_new("control", control_main, sv);
  g_ws = sv->ws;
  install_signals();
  g_message("sfu %s listening on %s://%s:%u/ (web root %s)", SFU_VERSION, cfg->tls_cert ? "https" : "http",
            cfg->listen_addr ? cfg->listen_addr : "0.0.0.0", cfg->port, cfg->web_root);
  if (!cfg->jwt_secret)
    g_message("no jwt_secret configured: rooms are open to anyone who can reach the server");
  sd_notify(0, "READY=1");
  while (!g_term) {
    sig_ws_run(sv->ws);
    if (g_hup) {
      g_hup = 0;
      reload(sv, cli, cfg);
    }
  }
  g_message("stopping: draining participants");
  sd_notify(0, "STOPPING=1");
  g_atomic_int_set(&sv->draining, 1);
  srv_on_control(sv, drain_app, NULL);
  sig_ws_run_for(sv->ws, DRAIN_MS);
  g_source_destroy(snap);
  g_source_unref(snap);
  srv_on_control(sv, stop_app, NULL);
  g_thread_join(sv->ctl_thread);
  g_ws = NULL;
}

static void teardown(server *sv) {
  if (sv->app) sig_app_free(sv->app);
  sig_ws_free(sv->ws);
  sfu_worker_free(sv->worker);
  if (sv->ctl_loop) g_main_loop_unref(sv->ctl_loop);
  if (sv->ctl) g_main_context_unref(sv->ctl);
  g_mutex_clear(&sv->mu);
}

/* 0 to go on and serve, or the exit status (config actions, bad config). */
static int configure(int argc, char **argv, cfg_cli *cli, cfg_config *cfg, int *status) {
  char err[512];
  if (cfg_cli_parse(argc, argv, cli, err, sizeof err) != 0) {
    fprintf(stderr, "sfu: %s\n", err);
    cfg_cli_usage(stderr, argv[0]);
    return *status = CFG_EX_USAGE, -1;
  }
  if (cli->action == CFG_CLI_HELP) return cfg_cli_usage(stdout, argv[0]), *status = 0, -1;
  if (cli->action == CFG_CLI_VERSION) return printf("sfu %s\n", SFU_VERSION), *status = 0, -1;
  int rc = cli->config_path ? cfg_load_file(cli->config_path, cfg, err, sizeof err) : (cfg_defaults(cfg), 0);
  if (rc == 0) rc = cfg_cli_apply(cli, cfg, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "sfu: %s\n", err);
    return *status = CFG_EX_CONFIG, -1;
  }
  if (cli->action == CFG_CLI_TOKEN) /* needs the config's jwt_secret */
    return *status = srv_token_cli(argc - cli->subcmd_index, argv + cli->subcmd_index, cfg->jwt_secret), -1;
  if (cli->action == CFG_CLI_CHECK_CONFIG) return printf("%s: OK\n", cli->config_path), *status = 0, -1;
  return 0;
}

int main(int argc, char **argv) {
  cfg_cli cli;
  cfg_config cfg;
  memset(&cfg, 0, sizeof cfg);
  char err[512];
  int status = 0;
  if (configure(argc, argv, &cli, &cfg, &status) != 0) {
    cfg_clear(&cfg);
    return status;
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
  char **ice_urls = ice_urls_of(&cfg);
  if (start_worker(&sv, &cfg, cert, err, sizeof err) != 0) {
    g_warning("cannot start the media worker: %s", err);
    status = 1;
  } else {
    start_app(&sv, &cfg, cert, ice_urls);
    if (start_ws(&sv, &cfg, err, sizeof err) != 0) {
      g_warning("%s", err);
      status = 1;
    } else {
      serve(&sv, &cli, &cfg);
    }
  }
  teardown(&sv);
  tp_cert_free(cert);
  g_strfreev(ice_urls);
  cfg_clear(&cfg);
  if (!status) g_message("stopped");
  return status;
}
