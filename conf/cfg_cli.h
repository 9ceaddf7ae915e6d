/* cfg_cli: the sfu command line.
 *
 *   sfu [--config FILE] [--port N] [--log-level LEVEL] [--web-root DIR]
 *   sfu --check-config FILE [--port N] [--log-level LEVEL] [--web-root DIR]
 *   sfu --version | --help
 *   sfu [options] token ARGS...     (subcommand; ARGS are passed through)
 *
 * Options take their value as the next argument or after '=' (--port=8443).
 * -h is --help, -V is --version, -c FILE is --config FILE. "--" is not
 * accepted; a repeated option keeps the last value.
 *
 * Precedence (lowest to highest): built-in defaults < config file < command
 * line. Only port, log level and web root can be given on the command line.
 * Without --config (or --check-config) no file is read: the built-in defaults
 * are used (cfg_defaults). There is deliberately no implicit default path;
 * the systemd unit passes --config /etc/sfu/sfu.conf.
 *
 * Thread: main thread, start-up and reload. Depends on GLib only.
 * Exit codes are main's decision; the conventional ones are below. */
#ifndef CFG_CLI_H
#define CFG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cfg_config.h"

#define CFG_EX_USAGE 64  /* bad command line (sysexits.h EX_USAGE) */
#define CFG_EX_CONFIG 78 /* bad config file or value (sysexits.h EX_CONFIG) */

typedef enum {
  CFG_CLI_RUN,          /* start the server */
  CFG_CLI_CHECK_CONFIG, /* load + validate config_path, print result, exit 0 or 78 */
  CFG_CLI_VERSION,      /* print the version, exit 0 */
  CFG_CLI_HELP,         /* print cfg_cli_usage, exit 0 */
  CFG_CLI_TOKEN,        /* "token" subcommand: argv[subcmd_index] == "token" */
} cfg_cli_action;

typedef struct {
  cfg_cli_action action;
  const char *config_path; /* borrowed from argv; NULL = no file, built-in defaults */
  bool has_port;
  unsigned port; /* 1..65535 when has_port */
  bool has_log_level;
  cfg_log_level log_level; /* when has_log_level */
  const char *web_root;    /* borrowed from argv; NULL = not given */
  int subcmd_index;        /* CFG_CLI_TOKEN: index of "token" in argv; its args follow. Else 0 */
} cfg_cli;

/* Parses argv (borrowed; must outlive out). --help and --version stop parsing
 * at once; so does the first non-option argument "token". Returns 0, or
 * -EINVAL on bad usage with a one-line message in err (main prints it with
 * the usage and exits CFG_EX_USAGE). out is always initialised. */
int cfg_cli_parse(int argc, char **argv, cfg_cli *out, char *err, size_t errlen);

/* Applies the command-line overrides (port, log level, web root) to c, then
 * checks the resulting web_root is a directory, whichever source it came
 * from. Call after every load, including SIGHUP reloads, so the command line
 * keeps winning. Returns 0 or a negative errno with "--web-root DIR: reason"
 * (or "web_root DIR (built-in default): reason") in err; main exits
 * CFG_EX_CONFIG. */
int cfg_cli_apply(const cfg_cli *cli, cfg_config *c, char *err, size_t errlen);

/* Writes the usage text (options, precedence, exit codes) to f. */
void cfg_cli_usage(FILE *f, const char *argv0);

#endif
