/* cfg_cli: argv parsing, command-line overrides and usage text. */
#include "cfg_cli.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

typedef enum { O_CONFIG, O_CHECK, O_PORT, O_LEVEL, O_WEBROOT, O_VERSION, O_HELP } opt_id;

typedef struct {
  const char *long_name, *short_name;
  opt_id id;
  bool takes_value;
} opt_spec;

static const opt_spec opts[] = {
    {"--config", "-c", O_CONFIG, true},    {"--check-config", NULL, O_CHECK, true},
    {"--port", NULL, O_PORT, true},        {"--log-level", NULL, O_LEVEL, true},
    {"--web-root", NULL, O_WEBROOT, true}, {"--version", "-V", O_VERSION, false},
    {"--help", "-h", O_HELP, false},
};

static int usage_error(char *err, size_t errlen, const char *fmt, const char *arg) {
  if (err && errlen) {
    char a[80];
    g_strlcpy(a, arg ? arg : "", sizeof a);
    snprintf(err, errlen, fmt, a);
  }
  return -EINVAL;
}

/* Matches arg against an option: "--port", "--port=N" or "-c". */
static const opt_spec *match(const char *arg, const char **inline_value) {
  *inline_value = NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
    size_t l = strlen(opts[i].long_name);
    if (strncmp(arg, opts[i].long_name, l) == 0 && (arg[l] == '\0' || arg[l] == '=')) {
      if (arg[l] == '=') *inline_value = arg + l + 1;
      return &opts[i];
    }
    if (opts[i].short_name && strcmp(arg, opts[i].short_name) == 0) return &opts[i];
  }
  return NULL;
}

static int set_value(const opt_spec *o, const char *v, cfg_cli *out, char *err, size_t errlen) {
  switch (o->id) {
  case O_CONFIG:
  case O_CHECK:
    if (!*v) return usage_error(err, errlen, "%s needs a file name", o->long_name);
    if (out->config_path && out->action != (o->id == O_CHECK ? CFG_CLI_CHECK_CONFIG : CFG_CLI_RUN))
      return usage_error(err, errlen, "--config and --check-config cannot be combined%s", "");
    out->config_path = v;
    out->action = o->id == O_CHECK ? CFG_CLI_CHECK_CONFIG : CFG_CLI_RUN;
    return 0;
  case O_PORT: {
    char *end = NULL;
    errno = 0;
    unsigned long long p = g_ascii_strtoull(v, &end, 10);
    if (!g_ascii_isdigit(*v) || *end || errno || p < 1 || p > 65535)
      return usage_error(err, errlen, "--port: '%s' is not a port number (1-65535)", v);
    out->has_port = true;
    out->port = (unsigned)p;
    return 0;
  }
  case O_LEVEL:
    if (cfg_log_level_parse(v, &out->log_level))
      return usage_error(err, errlen, "--log-level: '%s' is not one of error, warning, info, debug", v);
    out->has_log_level = true;
    return 0;
  case O_WEBROOT:
    if (!*v) return usage_error(err, errlen, "--web-root needs a directory%s", "");
    out->web_root = v;
    return 0;
  case O_VERSION:
  case O_HELP:
    break;
  }
  return 0;
}

int cfg_cli_parse(int argc, char **argv, cfg_cli *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  out->action = CFG_CLI_RUN;
  if (err && errlen) err[0] = '\0';
  for (int i = 1; i < argc && argv[i]; i++) {
    const char *arg = argv[i], *v;
    if (strcmp(arg, "token") == 0) {
      if (out->action == CFG_CLI_CHECK_CONFIG)
        return usage_error(err, errlen, "--check-config cannot be combined with the %s subcommand", arg);
      out->action = CFG_CLI_TOKEN;
      out->subcmd_index = i;
      return 0;
    }
    const opt_spec *o = match(arg, &v);
    if (!o) {
      if (arg[0] == '-') return usage_error(err, errlen, "unknown option '%s'", arg);
      return usage_error(err, errlen, "unexpected argument '%s'", arg);
    }
    if (o->id == O_HELP || o->id == O_VERSION) {
      if (v) return usage_error(err, errlen, "%s takes no value", o->long_name);
      out->action = o->id == O_HELP ? CFG_CLI_HELP : CFG_CLI_VERSION;
      return 0;
    }
    if (!v) {
      if (i + 1 >= argc || !argv[i + 1]) return usage_error(err, errlen, "%s needs a value", o->long_name);
      v = argv[++i];
    }
    int rc = set_value(o, v, out, err, errlen);
    if (rc) return rc;
  }
  return 0;
}

int cfg_cli_apply(const cfg_cli *cli, cfg_config *c, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (cli && cli->has_port) c->port = cli->port;
  if (cli && cli->has_log_level) c->log_level = cli->log_level;
  if (cli && cli->web_root) {
    g_free(c->web_root);
    c->web_root = g_strdup(cli->web_root);
  }
  if (!c->web_root) return 0; /* cannot happen after cfg_defaults; nothing to check */
  char why[128];
  int rc = cfg_check_dir(c->web_root, why, sizeof why);
  if (rc && err && errlen) {
    if (cli && cli->web_root)
      snprintf(err, errlen, "--web-root %s: %s", c->web_root, why);
    else
      snprintf(err, errlen, "web_root %s: %s (set web_root in the config file or pass --web-root)",
               c->web_root, why);
  }
  return rc;
}

void cfg_cli_usage(FILE *f, const char *argv0) {
  const char *p = argv0 && *argv0 ? argv0 : "sfu";
  fprintf(f,
          "Usage: %s [--config FILE] [--port N] [--log-level LEVEL] [--web-root DIR]\n"
          "       %s --check-config FILE\n"
          "       %s --version | --help\n"
          "       %s [options] token ...\n"
          "\n"
          "  -c, --config FILE        read the config file FILE (INI; see sfu.conf).\n"
          "                           Without it no file is read and built-in defaults apply.\n"
          "      --check-config FILE  validate FILE, print the result and exit (0 good, 78 bad)\n"
          "      --port N             HTTP/WebSocket port (overrides [server] port)\n"
          "      --log-level LEVEL    error, warning, info or debug (overrides [log] level)\n"
          "      --web-root DIR       directory of the web page (overrides [server] web_root)\n"
          "  -V, --version            print the version and exit\n"
          "  -h, --help               print this help and exit\n"
          "\n"
          "Precedence: built-in defaults < config file < command line.\n"
          "Signals: SIGHUP reloads the config file, SIGTERM drains and exits.\n"
          "Exit status: 0 ok, 64 bad command line, 78 bad config.\n",
          p, p, p, p);
}
