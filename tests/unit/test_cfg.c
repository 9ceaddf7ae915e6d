/* test_cfg: config loader (defaults, the sample file, a table of bad files
 * with their exact messages), command line, and the log line formatter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "cfg_cli.h"
#include "cfg_config.h"
#include "cfg_log.h"

#define SAMPLE SFU_SOURCE_DIR "/conf/sfu.conf"

static char tmpdir[256];
static char cert_path[300], key_path[300];

static int setup_files(void **state) {
  (void)state;
  g_strlcpy(tmpdir, "/tmp/test_cfg_XXXXXX", sizeof tmpdir);
  if (!g_mkdtemp(tmpdir)) return -1;
  snprintf(cert_path, sizeof cert_path, "%s/cert.pem", tmpdir);
  snprintf(key_path, sizeof key_path, "%s/key.pem", tmpdir);
  if (!g_file_set_contents(cert_path, "cert\n", -1, NULL) ||
      !g_file_set_contents(key_path, "key\n", -1, NULL))
    return -1;
  return 0;
}

static int teardown_files(void **state) {
  (void)state;
  g_unlink(cert_path);
  g_unlink(key_path);
  g_rmdir(tmpdir);
  return 0;
}

static int load_str(const char *text, cfg_config *c, char *err, size_t errlen) {
  return cfg_load_data(text, strlen(text), "t.conf", c, err, errlen);
}

/* ---- defaults and the sample --------------------------------------------- */

static void test_defaults(void **state) {
  (void)state;
  cfg_config c;
  cfg_defaults(&c);
  assert_null(c.listen_addr);
  assert_int_equal(c.port, 8080);
  assert_non_null(c.web_root);
  assert_true(g_str_has_suffix(c.web_root, "/web"));
  assert_null(c.tls_cert);
  assert_null(c.tls_key);
  assert_null(c.allowed_origins);
  assert_null(c.ice_addrs);
  assert_null(c.nat_public_ip);
  assert_int_equal(c.port_min, 10000);
  assert_int_equal(c.port_max, 60000);
  assert_null(c.stun_urls);
  assert_null(c.turn_urls);
  assert_int_equal(c.consent_timeout_s, 30);
  assert_int_equal(c.max_rooms, 1000);
  assert_int_equal(c.max_participants_per_room, 50);
  assert_int_equal(c.max_publishers_per_room, 50);
  assert_int_equal(c.max_message_bytes, 65536);
  assert_int_equal(c.max_bitrate_kbps, 2500);
  assert_int_equal(c.joins_per_sec_per_ip, 20);
  assert_int_equal(c.messages_per_sec, 50);
  assert_int_equal(c.log_level, CFG_LOG_INFO);
  assert_false(c.log_json);
  assert_true(c.metrics);
  assert_null(c.admin_token);
  assert_null(c.jwt_secret);
  cfg_clear(&c);
  assert_null(c.web_root);
  cfg_clear(&c); /* twice is fine */
}

/* The sample file loads and equals the defaults (it documents them). */
static void test_sample_equals_defaults(void **state) {
  (void)state;
  cfg_config c, d;
  char err[512];
  int rc = cfg_load_file(SAMPLE, &c, err, sizeof err);
  if (rc) fail_msg("sample config: %s", err);
  assert_string_equal(err, "");
  cfg_defaults(&d);
  assert_int_equal(c.port, d.port);
  assert_string_equal(c.web_root, d.web_root);
  assert_null(c.listen_addr);
  assert_null(c.tls_cert);
  assert_null(c.allowed_origins);
  assert_null(c.ice_addrs);
  assert_null(c.turn_username);
  assert_int_equal(c.port_min, d.port_min);
  assert_int_equal(c.port_max, d.port_max);
  assert_int_equal(c.consent_timeout_s, d.consent_timeout_s);
  assert_int_equal(c.max_rooms, d.max_rooms);
  assert_int_equal(c.max_participants_per_room, d.max_participants_per_room);
  assert_int_equal(c.max_publishers_per_room, d.max_publishers_per_room);
  assert_int_equal(c.max_message_bytes, d.max_message_bytes);
  assert_int_equal(c.max_bitrate_kbps, d.max_bitrate_kbps);
  assert_int_equal(c.joins_per_sec_per_ip, d.joins_per_sec_per_ip);
  assert_int_equal(c.messages_per_sec, d.messages_per_sec);
  assert_int_equal(c.log_level, d.log_level);
  assert_int_equal(c.log_json, d.log_json);
  assert_int_equal(c.metrics, d.metrics);
  assert_null(c.admin_token);
  assert_null(c.jwt_secret);
  cfg_clear(&c);
  cfg_clear(&d);
}

/* Every key of the sample is the documented set: the sample with each value
 * line removed in turn still loads (nothing is mandatory). */
static void test_sample_every_key_optional(void **state) {
  (void)state;
  char *text;
  gsize len;
  assert_true(g_file_get_contents(SAMPLE, &text, &len, NULL));
  char **lines = g_strsplit(text, "\n", -1);
  int keys = 0;
  for (int i = 0; lines[i]; i++) {
    if (!strchr(lines[i], '=') || lines[i][0] == '#') continue;
    keys++;
    char *saved = lines[i];
    lines[i] = (char *)"";
    char *t = g_strjoinv("\n", lines);
    lines[i] = saved;
    cfg_config c;
    char err[512];
    int rc = cfg_load_data(t, strlen(t), "cut.conf", &c, err, sizeof err);
    if (rc) fail_msg("without '%s': %s", saved, err);
    cfg_clear(&c);
    g_free(t);
  }
  assert_int_equal(keys, 34); /* every option but the commented-out web_root */
  g_strfreev(lines);
  g_free(text);
}

static void test_good_values(void **state) {
  (void)state;
  char *text = g_strdup_printf("# comment\n"
                               "[server]\n"
                               "  listen_addr = ::1 \r\n"
                               "port=8443\n"
                               "web_root = %s\n"
                               "tls_cert = %s\n"
                               "tls_key = %s\n"
                               "allowed_origins = https://a.example, http://localhost:8080,\n"
                               "[ice]\n"
                               "addrs = 192.0.2.1, 2001:db8::1\n"
                               "nat_public_ip = 203.0.113.7\n"
                               "port_min = 40000\n"
                               "port_max = 40000\n"
                               "stun_urls = stun:stun.example.com:3478, stuns:[2001:db8::2]\n"
                               "turn_urls = turn:turn.example.com?transport=tcp, turns:t.example.com:443\n"
                               "turn_username = u\n"
                               "turn_password = p w\n"
                               "[limits]\n"
                               "max_rooms = 1\n"
                               "max_bitrate_kbps = 1000000\n"
                               "[log]\n"
                               "level = debug\n"
                               "json = yes\n"
                               "[metrics]\n"
                               "enabled = off\n"
                               "admin_token = 0123456789abcdef\n"
                               "[auth]\n"
                               "jwt_secret = 0123456789abcdef0123456789abcdef\n",
                               tmpdir, cert_path, key_path);
  cfg_config c;
  char err[512];
  int rc = load_str(text, &c, err, sizeof err);
  if (rc) fail_msg("%s", err);
  assert_string_equal(c.listen_addr, "::1");
  assert_int_equal(c.port, 8443);
  assert_string_equal(c.web_root, tmpdir);
  assert_string_equal(c.tls_cert, cert_path);
  assert_string_equal(c.tls_key, key_path);
  assert_int_equal(g_strv_length(c.allowed_origins), 2);
  assert_string_equal(c.allowed_origins[1], "http://localhost:8080");
  assert_int_equal(g_strv_length(c.ice_addrs), 2);
  assert_string_equal(c.ice_addrs[1], "2001:db8::1");
  assert_string_equal(c.nat_public_ip, "203.0.113.7");
  assert_int_equal(c.port_min, 40000);
  assert_int_equal(c.port_max, 40000);
  assert_string_equal(c.stun_urls[1], "stuns:[2001:db8::2]");
  assert_string_equal(c.turn_urls[0], "turn:turn.example.com?transport=tcp");
  assert_string_equal(c.turn_password, "p w");
  assert_int_equal(c.max_rooms, 1);
  assert_int_equal(c.max_bitrate_kbps, 1000000);
  assert_int_equal(c.log_level, CFG_LOG_DEBUG);
  assert_true(c.log_json);
  assert_false(c.metrics);
  assert_string_equal(c.admin_token, "0123456789abcdef");
  assert_string_equal(c.jwt_secret, "0123456789abcdef0123456789abcdef");
  cfg_clear(&c);
  g_free(text);
}

static void test_empty_file(void **state) {
  (void)state;
  cfg_config c;
  char err[64];
  assert_int_equal(cfg_load_data("", 0, "e.conf", &c, err, sizeof err), 0);
  assert_int_equal(c.port, 8080);
  cfg_clear(&c);
  assert_int_equal(cfg_load_data(NULL, 0, NULL, &c, NULL, 0), 0);
  cfg_clear(&c);
}

/* ---- bad files: each with its exact message ------------------------------ */

typedef struct {
  const char *text;
  const char *err; /* exact expected message */
} bad_case;

static const bad_case bad[] = {
    {"[server]\nprot = 1\n", "t.conf:2: [server] prot: unknown key (did you mean 'port'?)"},
    {"[server]\n\nbogus_option = 1\n", "t.conf:3: [server] bogus_option: unknown key"},
    {"[server]\nport[de] = 1\n", "t.conf:2: [server] port[de]: unknown key"},
    {"# x\n[sever]\nport = 1\n",
     "t.conf:2: [sever]: unknown group (known: server, ice, turn, signaling, limits, log, metrics, auth)"},
    {"[server]\nport = 0\n", "t.conf:2: [server] port: '0' is not a whole number from 1 to 65535"},
    {"[server]\nport = 65536\n", "t.conf:2: [server] port: '65536' is not a whole number from 1 to 65535"},
    {"[server]\nport = 80x\n", "t.conf:2: [server] port: '80x' is not a whole number from 1 to 65535"},
    {"[server]\nport = -1\n", "t.conf:2: [server] port: '-1' is not a whole number from 1 to 65535"},
    {"[server]\nport = 99999999999999999999\n",
     "t.conf:2: [server] port: '99999999999999999999' is not a whole number from 1 to 65535"},
    {"[server]\nport =\n", "t.conf:2: [server] port: '' is not a whole number from 1 to 65535"},
    {"[ice]\nport_min = 5000\nport_max = 4000\n",
     "t.conf:3: [ice] port_max: port_min (5000) is greater than port_max (4000)"},
    {"[ice]\nport_min = 61000\n",
     "t.conf:2: [ice] port_min: port_min (61000) is greater than port_max (60000)"},
    {"[server]\nlisten_addr = 1.2.3\n",
     "t.conf:2: [server] listen_addr: '1.2.3': not an IPv4 or IPv6 address"},
    {"[ice]\nnat_public_ip = example.com\n",
     "t.conf:2: [ice] nat_public_ip: 'example.com': not an IPv4 or IPv6 address"},
    {"[ice]\naddrs = 10.0.0.1, 10.0.0.256\n",
     "t.conf:2: [ice] addrs: '10.0.0.256': not an IPv4 or IPv6 address"},
    {"[log]\njson = maybe\n",
     "t.conf:2: [log] json: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)"},
    {"[metrics]\nenabled = TRUE\n",
     "t.conf:2: [metrics] enabled: 'TRUE' is not a boolean (true/false, yes/no, on/off, 1/0)"},
    {"[log]\nlevel = verbose\n",
     "t.conf:2: [log] level: 'verbose' is not a log level (error, warning, info, debug)"},
    {"[server]\ntls_cert = @CERT@\n",
     "t.conf:2: [server] tls_cert: tls_cert is set but tls_key is not; give both or neither"},
    {"[server]\ntls_key = @KEY@\n",
     "t.conf:2: [server] tls_key: tls_key is set but tls_cert is not; give both or neither"},
    {"[server]\ntls_cert = /nonexistent/cert.pem\ntls_key = @KEY@\n",
     "t.conf:2: [server] tls_cert: '/nonexistent/cert.pem': cannot open: No such file or directory"},
    {"[server]\ntls_cert = @DIR@\ntls_key = @KEY@\n",
     "t.conf:2: [server] tls_cert: '@DIR@': not a regular file"},
    {"[server]\nweb_root = /nonexistent/web\n",
     "t.conf:2: [server] web_root: '/nonexistent/web': No such file or directory"},
    {"[server]\nweb_root = @CERT@\n", "t.conf:2: [server] web_root: '@CERT@': not a directory"},
    {"[server]\nallowed_origins = https://a.example/\n",
     "t.conf:2: [server] allowed_origins: 'https://a.example/': must be scheme://host[:port] with no path or "
     "trailing slash"},
    {"[server]\nallowed_origins = a.example\n",
     "t.conf:2: [server] allowed_origins: 'a.example': must start with http:// or https://"},
    {"[ice]\nstun_urls = stun.example.com\n",
     "t.conf:2: [ice] stun_urls: 'stun.example.com': must start with stun: or stuns:"},
    {"[ice]\nstun_urls = stun:h:0\n", "t.conf:2: [ice] stun_urls: 'stun:h:0': bad port (1-65535)"},
    {"[ice]\nturn_urls = turn:h?transport=sctp\nturn_username = u\nturn_password = p\n",
     "t.conf:2: [ice] turn_urls: 'turn:h?transport=sctp': unexpected text after host[:port] (only "
     "?transport=udp|tcp)"},
    {"[ice]\nturn_urls = turn:h\n",
     "t.conf:2: [ice] turn_urls: turn_urls needs turn_username and turn_password"},
    {"[ice]\nturn_password = hunter2\n", "t.conf:2: [ice] turn_password: set without turn_urls"},
    {"[metrics]\nadmin_token = short\n",
     "t.conf:2: [metrics] admin_token: value: too short (at least 16 characters)"},
    {"[auth]\njwt_secret = 0123456789abcdef\n",
     "t.conf:2: [auth] jwt_secret: value: too short (at least 32 characters)"},
    {"[limits]\nmax_rooms = 0\n",
     "t.conf:2: [limits] max_rooms: '0' is not a whole number from 1 to 1000000"},
    {"[limits]\nmax_message_bytes = 100\n",
     "t.conf:2: [limits] max_message_bytes: '100' is not a whole number from 1024 to 16777216"},
    {"[ice]\nconsent_timeout_s = 0\n",
     "t.conf:2: [ice] consent_timeout_s: '0' is not a whole number from 5 to 3600"},
    {"[server]\nport = 1\nport = 2\n", "t.conf:3: [server] port: key set twice (first on line 2)"},
    {"[log]\n[server]\n[log]\n", "t.conf:3: [log]: group appears twice (first on line 1)"},
    {"port = 1\n", "t.conf:1: syntax error: key before the first [group] header"},
    {"[server]\nport 8080\n",
     "t.conf:2: syntax error: not a 'key = value' line, a [group] header or a # comment"},
    {"[server\n", "t.conf:1: syntax error: group header without a closing ']'"},
    {"[log]\n[a]b]\n", "t.conf:2: syntax error: text after the group header's ']'"},
    {"[log]\n[]\n", "t.conf:2: syntax error: empty group name"},
    {"[log]\nlevel[=1\n", "t.conf:2: syntax error: invalid key name"},
    {"[log]\n = 1\n", "t.conf:2: syntax error: missing key name before '='"},
    {"[log]\r\nlevel = loud\r\n",
     "t.conf:2: [log] level: 'loud' is not a log level (error, warning, info, debug)"},
};

/* Replaces @CERT@, @KEY@, @DIR@ with the temporary paths. */
static char *expand(const char *s) {
  char *a = g_strdup(s), *b;
  const char *from[] = {"@CERT@", "@KEY@", "@DIR@"};
  const char *to[] = {cert_path, key_path, tmpdir};
  for (int i = 0; i < 3; i++) {
    char **parts = g_strsplit(a, from[i], -1);
    b = g_strjoinv(to[i], parts);
    g_strfreev(parts);
    g_free(a);
    a = b;
  }
  return a;
}

static void test_bad_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *text = expand(bad[i].text), *want = expand(bad[i].err);
    cfg_config c;
    char err[512];
    int rc = load_str(text, &c, err, sizeof err);
    if (rc != -EINVAL) fail_msg("case %zu (%s): rc %d, err '%s'", i, bad[i].text, rc, err);
    const char *any = strstr(want, "@ANY@");
    bool ok = any ? strncmp(err, want, (size_t)(any - want)) == 0 : strcmp(err, want) == 0;
    if (!ok) fail_msg("case %zu:\n  got  '%s'\n  want '%s'", i, err, want);
    /* on failure c holds the defaults */
    assert_int_equal(c.port, 8080);
    assert_null(c.tls_cert);
    cfg_clear(&c);
    g_free(text);
    g_free(want);
  }
}

/* The GLib syntax message's text varies; check the sanitised, located form. */
static void test_bad_utf8_and_nul(void **state) {
  (void)state;
  cfg_config c;
  char err[512];
  const char t1[] = "[server]\nweb_root = /tmp/\xff\xfe\n";
  assert_int_equal(cfg_load_data(t1, sizeof t1 - 1, "u.conf", &c, err, sizeof err), -EINVAL);
  assert_true(g_str_has_prefix(err, "u.conf:2: [server] web_root: "));
  assert_true(g_utf8_validate(err, -1, NULL));
  cfg_clear(&c);
  assert_string_equal(err, "u.conf:2: [server] web_root: not valid UTF-8");
  cfg_clear(&c);
  const char t1s[] = "[ice]\nturn_password = hunter2\xff\n";
  assert_int_equal(cfg_load_data(t1s, sizeof t1s - 1, "u.conf", &c, err, sizeof err), -EINVAL);
  assert_string_equal(err, "u.conf:2: [ice] turn_password: not valid UTF-8");
  cfg_clear(&c);
  const char t1e[] = "[ice]\nturn_password = a\\qb\n";
  assert_int_equal(cfg_load_data(t1e, sizeof t1e - 1, "u.conf", &c, err, sizeof err), -EINVAL);
  assert_string_equal(err, "u.conf:2: [ice] turn_password: bad escape sequence (write a backslash as \\\\)");
  cfg_clear(&c);
  const char t2[] = "[server]\nport = 80\0\n";
  assert_int_equal(cfg_load_data(t2, sizeof t2 - 1, "n.conf", &c, err, sizeof err), -EINVAL);
  assert_string_equal(err, "n.conf:2: syntax error: NUL byte in the file");
  cfg_clear(&c);
  const char t3[] = "[\xc3\xa9t\xc3\xa9]\n";
  assert_int_equal(cfg_load_data(t3, sizeof t3 - 1, "g.conf", &c, err, sizeof err), -EINVAL);
  assert_string_equal(
      err,
      "g.conf:1: [??t??]: unknown group (known: server, ice, turn, signaling, limits, log, metrics, auth)");
  cfg_clear(&c);
}

static void test_secret_not_echoed(void **state) {
  (void)state;
  cfg_config c;
  char err[512];
  assert_int_equal(load_str("[auth]\njwt_secret = tooshort-secret\n", &c, err, sizeof err), -EINVAL);
  assert_null(strstr(err, "tooshort"));
  cfg_clear(&c);
}

static void test_missing_file(void **state) {
  (void)state;
  cfg_config c;
  char err[512];
  assert_int_equal(cfg_load_file("/nonexistent/sfu.conf", &c, err, sizeof err), -ENOENT);
  assert_string_equal(err, "/nonexistent/sfu.conf: cannot read config file: No such file or directory");
  assert_int_equal(c.port, 8080);
  cfg_clear(&c);
  assert_int_equal(cfg_load_file(tmpdir, &c, err, sizeof err), -EISDIR);
  cfg_clear(&c);
}

static void test_err_truncation(void **state) {
  (void)state;
  cfg_config c;
  char err[8];
  assert_int_equal(load_str("[server]\nport = 0\n", &c, err, sizeof err), -EINVAL);
  assert_string_equal(err, "t.conf:");
  cfg_clear(&c);
  assert_int_equal(load_str("[server]\nport = 0\n", &c, NULL, 0), -EINVAL);
  cfg_clear(&c);
}

/* ---- command line ------------------------------------------------------- */

static int parse(cfg_cli *cli, char *err, size_t errlen, ...) {
  char *argv[32];
  int argc = 0;
  argv[argc++] = (char *)"sfu";
  va_list ap;
  va_start(ap, errlen);
  for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
    argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  static char *keep[32]; /* argv must outlive cli */
  memcpy(keep, argv, sizeof argv);
  return cfg_cli_parse(argc, keep, cli, err, errlen);
}

static void test_cli_good(void **state) {
  (void)state;
  cfg_cli cli;
  char err[256];
  assert_int_equal(parse(&cli, err, sizeof err, NULL), 0);
  assert_int_equal(cli.action, CFG_CLI_RUN);
  assert_null(cli.config_path);
  assert_false(cli.has_port);
  assert_false(cli.has_log_level);
  assert_null(cli.web_root);

  assert_int_equal(parse(&cli, err, sizeof err, "--config", "/etc/sfu/sfu.conf", "--port=8443", "--log-level",
                         "debug", "--web-root", "/srv/web", NULL),
                   0);
  assert_int_equal(cli.action, CFG_CLI_RUN);
  assert_string_equal(cli.config_path, "/etc/sfu/sfu.conf");
  assert_true(cli.has_port);
  assert_int_equal(cli.port, 8443);
  assert_true(cli.has_log_level);
  assert_int_equal(cli.log_level, CFG_LOG_DEBUG);
  assert_string_equal(cli.web_root, "/srv/web");

  assert_int_equal(parse(&cli, err, sizeof err, "-c", "a.conf", "--port", "1", "--port", "65535", NULL), 0);
  assert_string_equal(cli.config_path, "a.conf");
  assert_int_equal(cli.port, 65535);

  assert_int_equal(parse(&cli, err, sizeof err, "--check-config", "x.conf", NULL), 0);
  assert_int_equal(cli.action, CFG_CLI_CHECK_CONFIG);
  assert_string_equal(cli.config_path, "x.conf");

  assert_int_equal(parse(&cli, err, sizeof err, "--version", "--bogus", NULL), 0);
  assert_int_equal(cli.action, CFG_CLI_VERSION);
  assert_int_equal(parse(&cli, err, sizeof err, "-V", NULL), 0);
  assert_int_equal(cli.action, CFG_CLI_VERSION);
  assert_int_equal(parse(&cli, err, sizeof err, "--port", "80", "--help", NULL), 0);
  assert_int_equal(cli.action, CFG_CLI_HELP);
  assert_int_equal(parse(&cli, err, sizeof err, "-h", NULL), 0);
  assert_int_equal(cli.action, CFG_CLI_HELP);

  assert_int_equal(parse(&cli, err, sizeof err, "token", "--room", "demo", "--bogus", NULL), 0);
  assert_int_equal(cli.action, CFG_CLI_TOKEN);
  assert_int_equal(cli.subcmd_index, 1);
  assert_int_equal(parse(&cli, err, sizeof err, "--config", "a.conf", "token", "mint", NULL), 0);
  assert_int_equal(cli.action, CFG_CLI_TOKEN);
  assert_int_equal(cli.subcmd_index, 3);
  assert_string_equal(cli.config_path, "a.conf");
}

typedef struct {
  const char *args[5];
  const char *err;
} cli_bad_case;

static const cli_bad_case cli_bad[] = {
    {{"--bogus"}, "unknown option '--bogus'"},
    {{"-x"}, "unknown option '-x'"},
    {{"--config"}, "--config needs a value"},
    {{"--config="}, "--config needs a file name"},
    {{"extra"}, "unexpected argument 'extra'"},
    {{"--port", "0"}, "--port: '0' is not a port number (1-65535)"},
    {{"--port", "65536"}, "--port: '65536' is not a port number (1-65535)"},
    {{"--port=-5"}, "--port: '-5' is not a port number (1-65535)"},
    {{"--port", "8080x"}, "--port: '8080x' is not a port number (1-65535)"},
    {{"--port", "99999999999999999999999"},
     "--port: '99999999999999999999999' is not a port number (1-65535)"},
    {{"--log-level", "loud"}, "--log-level: 'loud' is not one of error, warning, info, debug"},
    {{"--web-root="}, "--web-root needs a directory"},
    {{"--help=yes"}, "--help takes no value"},
    {{"--config", "a", "--check-config", "b"}, "--config and --check-config cannot be combined"},
    {{"--check-config", "a", "--config", "b"}, "--config and --check-config cannot be combined"},
    {{"--check-config", "a", "token"}, "--check-config cannot be combined with the token subcommand"},
    {{"--portx=1"}, "unknown option '--portx=1'"},
};

static void test_cli_bad(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cli_bad / sizeof cli_bad[0]; i++) {
    const char *const *a = cli_bad[i].args;
    cfg_cli cli;
    char err[256];
    int rc = parse(&cli, err, sizeof err, a[0], a[1], a[2], a[3], a[4], NULL);
    if (rc != -EINVAL || strcmp(err, cli_bad[i].err) != 0)
      fail_msg("cli case %zu: rc %d\n  got  '%s'\n  want '%s'", i, rc, err, cli_bad[i].err);
  }
}

static void test_cli_apply(void **state) {
  (void)state;
  cfg_config c;
  cfg_cli cli;
  char err[512];
  /* file sets port 9000 and level warning; command line wins */
  assert_int_equal(load_str("[server]\nport = 9000\n[log]\nlevel = warning\n", &c, err, sizeof err), 0);
  assert_int_equal(
      parse(&cli, err, sizeof err, "--port", "7000", "--log-level", "error", "--web-root", tmpdir, NULL), 0);
  assert_int_equal(cfg_cli_apply(&cli, &c, err, sizeof err), 0);
  assert_int_equal(c.port, 7000);
  assert_int_equal(c.log_level, CFG_LOG_ERROR);
  assert_string_equal(c.web_root, tmpdir);
  cfg_clear(&c);

  /* without flags the file stays */
  assert_int_equal(load_str("[server]\nport = 9000\n", &c, err, sizeof err), 0);
  assert_int_equal(parse(&cli, err, sizeof err, NULL), 0);
  g_free(c.web_root);
  c.web_root = g_strdup(tmpdir); /* the built-in default may not exist in this checkout */
  assert_int_equal(cfg_cli_apply(&cli, &c, err, sizeof err), 0);
  assert_int_equal(c.port, 9000);
  assert_int_equal(c.log_level, CFG_LOG_INFO);

  /* a bad web root from the command line or the default */
  assert_int_equal(parse(&cli, err, sizeof err, "--web-root", cert_path, NULL), 0);
  assert_int_equal(cfg_cli_apply(&cli, &c, err, sizeof err), -ENOTDIR);
  char *want = g_strdup_printf("--web-root %s: not a directory", cert_path);
  assert_string_equal(err, want);
  g_free(want);
  g_free(c.web_root);
  c.web_root = g_strdup("/nonexistent/web");
  assert_int_equal(parse(&cli, err, sizeof err, NULL), 0);
  assert_int_equal(cfg_cli_apply(&cli, &c, err, sizeof err), -ENOENT);
  assert_string_equal(err, "web_root /nonexistent/web: No such file or directory (set web_root in the config "
                           "file or pass --web-root)");
  cfg_clear(&c);
}

static void test_cli_usage(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cfg_cli_usage(f, "sfu");
  fclose(f);
  assert_non_null(strstr(buf, "--check-config FILE"));
  assert_non_null(strstr(buf, "Precedence: built-in defaults < config file < command line."));
  free(buf);
}

/* ---- log line formatting ------------------------------------------------ */

/* 2026-11-26T19:00:00.123Z */
#define T0 ((gint64)1795719600 * G_USEC_PER_SEC + 123456)

static void test_log_plain(void **state) {
  (void)state;
  char buf[256];
  size_t n = cfg_log_format(buf, sizeof buf, false, T0, G_LOG_LEVEL_INFO, "sfu", "room demo: ann joined", -1);
  assert_string_equal(buf, "2026-11-26T19:00:00.123Z info [sfu] room demo: ann joined\n");
  assert_int_equal(n, strlen(buf));
  cfg_log_format(buf, sizeof buf, false, T0, G_LOG_LEVEL_MESSAGE, NULL, "a\nb\t\"c\"\\\x01\x7f", -1);
  assert_string_equal(buf, "2026-11-26T19:00:00.123Z info [-] a\\nb\\t\"c\"\\\\\\x01\\x7f\n");
  cfg_log_format(buf, sizeof buf, false, T0, G_LOG_LEVEL_WARNING, "x", "caf\xc3\xa9 \xff", -1);
  assert_string_equal(buf, "2026-11-26T19:00:00.123Z warning [x] caf\xc3\xa9 \\xff\n");
  cfg_log_format(buf, sizeof buf, false, T0, G_LOG_LEVEL_CRITICAL, "x", "abcdef", 3);
  assert_string_equal(buf, "2026-11-26T19:00:00.123Z critical [x] abc\n");
  cfg_log_format(buf, sizeof buf, false, 0, G_LOG_LEVEL_DEBUG, "x", NULL, -1);
  assert_string_equal(buf, "1970-01-01T00:00:00.000Z debug [x] \n");
}

static void test_log_json(void **state) {
  (void)state;
  char buf[512];
  cfg_log_format(buf, sizeof buf, true, T0, G_LOG_LEVEL_MESSAGE, "sig", "hello", -1);
  assert_string_equal(
      buf, "{\"ts\":\"2026-11-26T19:00:00.123Z\",\"level\":\"info\",\"domain\":\"sig\",\"msg\":\"hello\"}\n");
  cfg_log_format(buf, sizeof buf, true, T0, G_LOG_LEVEL_ERROR, NULL, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f", -1);
  assert_string_equal(buf, "{\"ts\":\"2026-11-26T19:00:00.123Z\",\"level\":\"error\",\"domain\":null,"
                           "\"msg\":\"q\\\"b\\\\s/\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\"}\n");
  /* valid UTF-8 kept, invalid bytes replaced, truncated sequence replaced */
  cfg_log_format(buf, sizeof buf, true, T0, G_LOG_LEVEL_DEBUG, "d\"x", "\xe2\x82\xac \xc3 \xe2\x82", -1);
  assert_string_equal(buf, "{\"ts\":\"2026-11-26T19:00:00.123Z\",\"level\":\"debug\",\"domain\":\"d\\\"x\","
                           "\"msg\":\"\xe2\x82\xac \\ufffd \\ufffd\\ufffd\"}\n");
  /* embedded NUL with explicit length */
  cfg_log_format(buf, sizeof buf, true, T0, G_LOG_LEVEL_INFO, "d", "a\0b", 3);
  assert_non_null(strstr(buf, "\"msg\":\"a\\u0000b\""));
}

static void test_log_truncation(void **state) {
  (void)state;
  char small[16];
  char full[256];
  size_t need = cfg_log_format(full, sizeof full, true, T0, G_LOG_LEVEL_INFO, "d", "0123456789", -1);
  size_t n = cfg_log_format(small, sizeof small, true, T0, G_LOG_LEVEL_INFO, "d", "0123456789", -1);
  assert_int_equal(n, need);
  assert_int_equal(strlen(small), sizeof small - 1);
  assert_memory_equal(small, full, sizeof small - 1);
  assert_int_equal(cfg_log_format(NULL, 0, false, T0, G_LOG_LEVEL_INFO, "d", "x", -1),
                   strlen("2026-11-26T19:00:00.123Z info [d] x\n"));
}

static void test_log_levels(void **state) {
  (void)state;
  cfg_log_install(CFG_LOG_WARNING, false);
  cfg_log_install(CFG_LOG_WARNING, false); /* second install is harmless */
  assert_int_equal(cfg_log_get_level(), CFG_LOG_WARNING);
  assert_true(cfg_log_enabled(G_LOG_LEVEL_CRITICAL));
  assert_true(cfg_log_enabled(G_LOG_LEVEL_WARNING));
  assert_false(cfg_log_enabled(G_LOG_LEVEL_MESSAGE));
  assert_false(cfg_log_enabled(G_LOG_LEVEL_INFO));
  assert_false(cfg_log_enabled(G_LOG_LEVEL_DEBUG));
  cfg_log_set(CFG_LOG_DEBUG, true);
  assert_true(cfg_log_get_json());
  assert_true(cfg_log_enabled(G_LOG_LEVEL_DEBUG));
  cfg_log_set(CFG_LOG_ERROR, false);
  assert_false(cfg_log_enabled(G_LOG_LEVEL_WARNING));
  assert_true(cfg_log_enabled(G_LOG_LEVEL_CRITICAL));
  /* a warning through the installed writer returns (does not abort) */
  cfg_log_set(CFG_LOG_DEBUG, true);
  g_warning("test warning through the cfg_log writer: %s", "ok");
  g_debug("test debug line");
  cfg_log_set(CFG_LOG_INFO, false);
  g_message("test message in plain text");
  g_log_structured("test", G_LOG_LEVEL_INFO, "MESSAGE", "%s", "structured line");
  char *big = g_strnfill(1500, 'x');
  g_message("big %s", big);
  g_free(big);
  for (cfg_log_level l = CFG_LOG_ERROR; l <= CFG_LOG_DEBUG; l++) {
    cfg_log_level back;
    assert_int_equal(cfg_log_level_parse(cfg_log_level_name(l), &back), 0);
    assert_int_equal(back, l);
  }
  cfg_log_level back;
  assert_int_equal(cfg_log_level_parse("Info", &back), -EINVAL);
  assert_int_equal(cfg_log_level_parse(NULL, &back), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_sample_equals_defaults),
      cmocka_unit_test(test_sample_every_key_optional),
      cmocka_unit_test(test_good_values),
      cmocka_unit_test(test_empty_file),
      cmocka_unit_test(test_bad_table),
      cmocka_unit_test(test_bad_utf8_and_nul),
      cmocka_unit_test(test_secret_not_echoed),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_err_truncation),
      cmocka_unit_test(test_cli_good),
      cmocka_unit_test(test_cli_bad),
      cmocka_unit_test(test_cli_apply),
      cmocka_unit_test(test_cli_usage),
      cmocka_unit_test(test_log_plain),
      cmocka_unit_test(test_log_json),
      cmocka_unit_test(test_log_truncation),
      cmocka_unit_test(test_log_levels),
  };
  return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
