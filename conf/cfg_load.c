/* cfg_load: defaults, GKeyFile loading and validation of cfg_config.
 * GKeyFile does the parsing; this file adds what it lacks: line numbers in
 * errors (cfg_lines.c), rejection of unknown/duplicate groups and keys, and
 * per-key validation driven by the table `keys` below (checkers in cfg_check.c). */
#include "cfg_config.h"
#include "cfg_internal.h"

#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef SFU_WEB_ROOT_DEFAULT
#error "SFU_WEB_ROOT_DEFAULT must be defined by the build (conf/CMakeLists.txt)"
#endif

#define CFG_MAX_FILE_BYTES (1024 * 1024)

/* ---- defaults ---------------------------------------------------------- */

void cfg_defaults(cfg_config *c) {
  memset(c, 0, sizeof *c);
  c->port = 8080;
  c->web_root = g_strdup(SFU_WEB_ROOT_DEFAULT);
  c->port_min = 10000;
  c->port_max = 60000;
  c->consent_timeout_s = 30;
  c->ice_tcp = true;
  c->ice_lite = true;
  c->turn_ttl_s = 86400;
  c->resume_grace_s = 15;
  c->max_rooms = 1000;
  c->max_participants_per_room = 50;
  c->max_publishers_per_room = 50;
  c->max_tracks_per_participant = 8;
  c->max_message_bytes = 65536;
  c->max_bitrate_kbps = 2500;
  c->joins_per_sec_per_ip = 20;
  c->messages_per_sec = 50;
  c->max_websockets_per_ip = 32;
  c->log_level = CFG_LOG_INFO;
  c->log_json = false;
  c->metrics = true;
}

void cfg_clear(cfg_config *c) {
  g_free(c->listen_addr);
  g_free(c->web_root);
  g_free(c->tls_cert);
  g_free(c->tls_key);
  g_strfreev(c->allowed_origins);
  g_strfreev(c->ice_addrs);
  g_free(c->nat_public_ip);
  g_strfreev(c->stun_urls);
  g_strfreev(c->turn_urls);
  g_free(c->turn_username);
  g_free(c->turn_password);
  g_strfreev(c->turn_rest_urls);
  g_free(c->turn_secret);
  g_free(c->admin_token);
  g_free(c->jwt_secret);
  memset(c, 0, sizeof *c);
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};

const char *cfg_log_level_name(cfg_log_level l) {
  return (unsigned)l < G_N_ELEMENTS(level_names) ? level_names[l] : "info";
}

int cfg_log_level_parse(const char *s, cfg_log_level *out) {
  for (size_t i = 0; s && i < G_N_ELEMENTS(level_names); i++)
    if (strcmp(s, level_names[i]) == 0) {
      *out = (cfg_log_level)i;
      return 0;
    }
  return -EINVAL;
}

/* ---- the table of keys --------------------------------------------------- */

typedef enum { K_UINT, K_BOOL, K_STR, K_STRV, K_LEVEL } key_kind;

typedef struct {
  const char *group, *key;
  key_kind kind;
  size_t off;
  unsigned min, max;  /* K_UINT */
  cfg_check_fn check; /* K_STR, and each item of K_STRV; NULL = any text */
  bool secret;        /* never echo the value */
} key_spec;

#define F(f) offsetof(cfg_config, f)
static const key_spec keys[] = {
    {"server", "listen_addr", K_STR, F(listen_addr), 0, 0, cfg_check_listen_addr, false},
    {"server", "port", K_UINT, F(port), 1, 65535, NULL, false},
    {"server", "web_root", K_STR, F(web_root), 0, 0, cfg_check_web_root, false},
    {"server", "tls_cert", K_STR, F(tls_cert), 0, 0, cfg_check_file, false},
    {"server", "tls_key", K_STR, F(tls_key), 0, 0, cfg_check_file, false},
    {"server", "allowed_origins", K_STRV, F(allowed_origins), 0, 0, cfg_check_origin, false},
    {"ice", "addrs", K_STRV, F(ice_addrs), 0, 0, cfg_check_ip, false},
    {"ice", "nat_public_ip", K_STR, F(nat_public_ip), 0, 0, cfg_check_ip, false},
    {"ice", "port_min", K_UINT, F(port_min), 1, 65535, NULL, false},
    {"ice", "port_max", K_UINT, F(port_max), 1, 65535, NULL, false},
    {"ice", "stun_urls", K_STRV, F(stun_urls), 0, 0, cfg_check_stun, false},
    {"ice", "turn_urls", K_STRV, F(turn_urls), 0, 0, cfg_check_turn, false},
    {"ice", "turn_username", K_STR, F(turn_username), 0, 0, cfg_check_any, false},
    {"ice", "turn_password", K_STR, F(turn_password), 0, 0, cfg_check_any, true},
    {"ice", "consent_timeout_s", K_UINT, F(consent_timeout_s), 5, 3600, NULL, false},
    {"ice", "tcp", K_BOOL, F(ice_tcp), 0, 0, NULL, false},
    {"ice", "lite", K_BOOL, F(ice_lite), 0, 0, NULL, false},
    {"turn", "urls", K_STRV, F(turn_rest_urls), 0, 0, cfg_check_turn, false},
    {"turn", "secret", K_STR, F(turn_secret), 0, 0, cfg_check_token, true},
    {"turn", "ttl_s", K_UINT, F(turn_ttl_s), 60, 604800, NULL, false},
    {"signaling", "resume_grace_s", K_UINT, F(resume_grace_s), 0, 600, NULL, false},
    {"limits", "max_rooms", K_UINT, F(max_rooms), 1, 1000000, NULL, false},
    {"limits", "max_participants_per_room", K_UINT, F(max_participants_per_room), 1, 10000, NULL, false},
    {"limits", "max_publishers_per_room", K_UINT, F(max_publishers_per_room), 1, 10000, NULL, false},
    {"limits", "max_tracks_per_participant", K_UINT, F(max_tracks_per_participant), 1, 32, NULL, false},
    {"limits", "max_message_bytes", K_UINT, F(max_message_bytes), 1024, 16 * 1024 * 1024, NULL, false},
    {"limits", "max_bitrate_kbps", K_UINT, F(max_bitrate_kbps), 30, 1000000, NULL, false},
    {"limits", "joins_per_sec_per_ip", K_UINT, F(joins_per_sec_per_ip), 1, 1000000, NULL, false},
    {"limits", "messages_per_sec", K_UINT, F(messages_per_sec), 1, 1000000, NULL, false},
    {"limits", "max_websockets_per_ip", K_UINT, F(max_websockets_per_ip), 0, 1000000, NULL, false},
    {"log", "level", K_LEVEL, F(log_level), 0, 0, NULL, false},
    {"log", "json", K_BOOL, F(log_json), 0, 0, NULL, false},
    {"metrics", "enabled", K_BOOL, F(metrics), 0, 0, NULL, false},
    {"metrics", "admin_token", K_STR, F(admin_token), 0, 0, cfg_check_token, true},
    {"auth", "jwt_secret", K_STR, F(jwt_secret), 0, 0, cfg_check_jwt_secret, true},
};
#undef F

static const char *const groups[] = {"server", "ice", "turn",    "signaling",
                                     "limits", "log", "metrics", "auth"};

static const key_spec *find_key(const char *group, const char *key) {
  for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
    if (strcmp(keys[i].group, group) == 0 && strcmp(keys[i].key, key) == 0) return &keys[i];
  return NULL;
}

static bool known_group(const char *g) {
  for (size_t i = 0; i < G_N_ELEMENTS(groups); i++)
    if (strcmp(groups[i], g) == 0) return true;
  return false;
}

/* ---- reading one key ------------------------------------------------------ */

static bool parse_uint(const char *v, unsigned long *out) {
  unsigned long x = 0;
  if (!g_ascii_isdigit(*v)) return false;
  for (; g_ascii_isdigit(*v); v++) {
    x = x * 10 + (unsigned long)(*v - '0');
    if (x > UINT32_MAX) return false;
  }
  *out = x;
  return *v == '\0';
}

static bool parse_bool(const char *v, bool *out) {
  static const char *const t[] = {"true", "yes", "on", "1"}, *const f[] = {"false", "no", "off", "0"};
  for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
    if (strcmp(v, t[i]) == 0) return *out = true, true;
    if (strcmp(v, f[i]) == 0) return *out = false, true;
  }
  return false;
}

static void shown(char *out, size_t n, const key_spec *k, const char *v) {
  if (k->secret)
    snprintf(out, n, "value");
  else {
    char t[64];
    cfg_sanitize(t, sizeof t, v, strlen(v), 48);
    snprintf(out, n, "'%s'", t);
  }
}

/* GKeyFile refused the value; its message would echo it (secrets too). */
static int value_error(GKeyFile *kf, const cfg_src *s, const key_spec *k) {
  char *raw = g_key_file_get_value(kf, k->group, k->key, NULL);
  bool utf8 = raw && g_utf8_validate(raw, -1, NULL);
  g_free(raw);
  return cfg_report(s, k->group, k->key,
                    utf8 ? "bad escape sequence (write a backslash as \\\\)" : "not valid UTF-8");
}

static int read_list(GKeyFile *kf, const cfg_src *s, const key_spec *k, cfg_config *c) {
  GError *ge = NULL;
  gsize n = 0;
  char **items = g_key_file_get_string_list(kf, k->group, k->key, &n, &ge);
  if (!items || ge) {
    g_strfreev(items);
    g_clear_error(&ge);
    return value_error(kf, s, k);
  }
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  int rc = 0;
  for (gsize i = 0; i < n && !rc; i++) {
    char *item = g_strstrip(items[i]);
    if (!*item) continue; /* "a, b," and an empty value are fine */
    char why[160], val[80];
    if (k->check && k->check(item, why, sizeof why)) {
      shown(val, sizeof val, k, item);
      rc = cfg_report(s, k->group, k->key, "%s: %s", val, why);
    } else {
      g_ptr_array_add(out, g_strdup(item));
    }
  }
  g_strfreev(items);
  char ***slot = (char ***)((char *)c + k->off);
  g_strfreev(*slot);
  *slot = NULL;
  if (!rc && out->len) {
    g_ptr_array_add(out, NULL);
    *slot = (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
  }
  if (out) g_ptr_array_free(out, TRUE);
  return rc;
}

static int read_key(GKeyFile *kf, const cfg_src *s, const key_spec *k, cfg_config *c) {
  if (k->kind == K_STRV) return read_list(kf, s, k, c);
  GError *ge = NULL;
  char *v = g_key_file_get_string(kf, k->group, k->key, &ge);
  if (!v || ge) { /* GLib may return a value and an error (bad escape) */
    g_free(v);
    g_clear_error(&ge);
    return value_error(kf, s, k);
  }
  g_strstrip(v);
  void *slot = (char *)c + k->off;
  char why[160], val[80];
  int rc = 0;
  shown(val, sizeof val, k, v);
  switch (k->kind) {
  case K_UINT: {
    unsigned long x;
    if (!parse_uint(v, &x) || x < k->min || x > k->max)
      rc = cfg_report(s, k->group, k->key, "%s is not a whole number from %u to %u", val, k->min, k->max);
    else
      *(unsigned *)slot = (unsigned)x;
    break;
  }
  case K_BOOL:
    if (!parse_bool(v, (bool *)slot))
      rc = cfg_report(s, k->group, k->key, "%s is not a boolean (true/false, yes/no, on/off, 1/0)", val);
    break;
  case K_LEVEL:
    if (cfg_log_level_parse(v, (cfg_log_level *)slot))
      rc = cfg_report(s, k->group, k->key, "%s is not a log level (error, warning, info, debug)", val);
    break;
  case K_STR:
    if (*v && k->check && k->check(v, why, sizeof why)) {
      rc = cfg_report(s, k->group, k->key, "%s: %s", val, why);
    } else {
      g_free(*(char **)slot);
      *(char **)slot = *v ? g_steal_pointer(&v) : NULL;
    }
    break;
  case K_STRV:
    break;
  }
  g_free(v);
  return rc;
}

/* ---- the whole file ----------------------------------------------------- */

/* Distance between two short strings, for "did you mean". */
static unsigned edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 40 || lb > 40) return 99;
  unsigned row[41];
  for (size_t j = 0; j <= lb; j++)
    row[j] = (unsigned)j;
  for (size_t i = 1; i <= la; i++) {
    unsigned diag = row[0];
    row[0] = (unsigned)i;
    for (size_t j = 1; j <= lb; j++) {
      unsigned up = row[j];
      unsigned best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

static int unknown_key(const cfg_src *s, const char *group, const char *key) {
  const char *best = NULL;
  unsigned bd = 3;
  for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
    if (strcmp(keys[i].group, group) != 0) continue;
    unsigned d = edit_distance(key, keys[i].key);
    if (d < bd) bd = d, best = keys[i].key;
  }
  if (best) return cfg_report(s, group, key, "unknown key (did you mean '%s'?)", best);
  return cfg_report(s, group, key, "unknown key");
}

static bool was_set(GKeyFile *kf, const char *group, const char *key) {
  return g_key_file_has_key(kf, group, key, NULL);
}

static int turn_checks(const cfg_src *s, const cfg_config *c) {
  if (c->turn_rest_urls && !c->turn_secret) return cfg_report(s, "turn", "urls", "urls needs secret");
  if (!c->turn_rest_urls && c->turn_secret) return cfg_report(s, "turn", "secret", "set without urls");
  if (c->turn_rest_urls && c->turn_urls)
    return cfg_report(s, "turn", "urls",
                      "[turn] urls and [ice] turn_urls are both set; use one (a shared secret or fixed "
                      "credentials)");
  return 0;
}

static int cross_checks(GKeyFile *kf, const cfg_src *s, const cfg_config *c) {
  if (c->port_min > c->port_max) {
    const char *at = was_set(kf, "ice", "port_max") ? "port_max" : "port_min";
    return cfg_report(s, "ice", at, "port_min (%u) is greater than port_max (%u)", c->port_min, c->port_max);
  }
  if (!c->tls_cert != !c->tls_key) {
    const char *set = c->tls_cert ? "tls_cert" : "tls_key";
    const char *missing = c->tls_cert ? "tls_key" : "tls_cert";
    return cfg_report(s, "server", set, "%s is set but %s is not; give both or neither", set, missing);
  }
  if (c->turn_urls && (!c->turn_username || !c->turn_password))
    return cfg_report(s, "ice", "turn_urls", "turn_urls needs turn_username and turn_password");
  if (!c->turn_urls && (c->turn_username || c->turn_password)) {
    const char *at = c->turn_username ? "turn_username" : "turn_password";
    return cfg_report(s, "ice", at, "set without turn_urls");
  }
  return turn_checks(s, c);
}

static int load_keyfile(GKeyFile *kf, const cfg_src *s) {
  GError *ge = NULL;
  if (g_key_file_load_from_data(kf, s->text, s->len, G_KEY_FILE_KEEP_TRANSLATIONS, &ge)) return 0;
  if (s->err && s->errlen) {
    const char *why = NULL;
    unsigned line = cfg_lines_first_bad(s, &why);
    if (line) {
      snprintf(s->err, s->errlen, "%s:%u: syntax error: %s", s->name, line, why);
    } else { /* GLib found something the scan does not know; its text, tamed */
      char m[200];
      cfg_sanitize(m, sizeof m, ge->message, strlen(ge->message), 120);
      snprintf(s->err, s->errlen, "%s: syntax error: %s", s->name, m);
    }
  }
  g_error_free(ge);
  return -EINVAL;
}

static int load(GKeyFile *kf, const cfg_src *s, cfg_config *c) {
  g_key_file_set_list_separator(kf, ',');
  const char *nul = memchr(s->text, '\0', s->len);
  if (nul) {
    if (s->err && s->errlen) {
      unsigned line = 1;
      for (const char *p = s->text; p < nul; p++)
        line += *p == '\n';
      snprintf(s->err, s->errlen, "%s:%u: syntax error: NUL byte in the file", s->name, line);
    }
    return -EINVAL;
  }
  int rc = load_keyfile(kf, s);
  if (!rc) rc = cfg_lines_check_duplicates(s);
  if (rc) return rc;
  char **gs = g_key_file_get_groups(kf, NULL);
  for (size_t i = 0; gs[i] && !rc; i++) {
    if (!known_group(gs[i])) {
      rc = cfg_report(s, gs[i], NULL,
                      "unknown group (known: server, ice, turn, signaling, limits, log, metrics, auth)");
      break;
    }
    char **ks = g_key_file_get_keys(kf, gs[i], NULL, NULL);
    for (size_t j = 0; ks && ks[j] && !rc; j++) {
      const key_spec *k = find_key(gs[i], ks[j]);
      rc = k ? read_key(kf, s, k, c) : unknown_key(s, gs[i], ks[j]);
    }
    g_strfreev(ks);
  }
  g_strfreev(gs);
  return rc ? rc : cross_checks(kf, s, c);
}

int cfg_load_data(const char *text, size_t len, const char *name, cfg_config *c, char *err, size_t errlen) {
  cfg_defaults(c);
  if (err && errlen) err[0] = '\0';
  cfg_src s = {text ? text : "", text ? len : 0, name ? name : "<config>", err, errlen};
  GKeyFile *kf = g_key_file_new();
  int rc = load(kf, &s, c);
  g_key_file_free(kf);
  if (rc) {
    cfg_clear(c);
    cfg_defaults(c);
  }
  return rc;
}

int cfg_load_file(const char *path, cfg_config *c, char *err, size_t errlen) {
  char *text = NULL;
  gsize len = 0;
  GError *ge = NULL;
  if (!g_file_get_contents(path, &text, &len, &ge)) {
    int rc = -EIO;
    if (ge->domain == G_FILE_ERROR) {
      if (ge->code == G_FILE_ERROR_NOENT)
        rc = -ENOENT;
      else if (ge->code == G_FILE_ERROR_ACCES || ge->code == G_FILE_ERROR_PERM)
        rc = -EACCES;
      else if (ge->code == G_FILE_ERROR_ISDIR)
        rc = -EISDIR;
    }
    if (err && errlen) snprintf(err, errlen, "%s: cannot read config file: %s", path, g_strerror(-rc));
    g_error_free(ge);
    cfg_defaults(c);
    return rc;
  }
  int rc;
  if (len > CFG_MAX_FILE_BYTES) {
    if (err && errlen)
      snprintf(err, errlen, "%s: config file larger than %d bytes", path, CFG_MAX_FILE_BYTES);
    cfg_defaults(c);
    rc = -EFBIG;
  } else if (cfg_lines_sets_nothing(text, len)) {
    if (err && errlen)
      snprintf(err, errlen,
               "%s: the config file is empty (no [group], no key): refused; to run on the defaults, start "
               "without --config",
               path);
    cfg_defaults(c);
    rc = -ENODATA;
  } else {
    rc = cfg_load_data(text, len, path, c, err, errlen);
  }
  g_free(text);
  return rc;
}
