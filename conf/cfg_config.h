/* cfg_config: the server's configuration, its built-in defaults and the loader
 * for the INI config file (GLib GKeyFile syntax; sample: conf/sfu.conf).
 * Thread: control plane only (start-up and SIGHUP reload on the main thread).
 *   A loaded cfg_config is plain data: once filled, any thread may read it.
 * Depends on GLib only; knows nothing of the other layers.
 *
 * Loading is all-or-nothing: every group and key is checked (unknown groups and
 * keys, duplicate keys, values, cross-field rules); the first problem fails the
 * load with "FILE:LINE: [group] key: reason" in err.
 *
 * Precedence (lowest to highest): built-in defaults < config file < command
 * line (only port, log level and web root; see cfg_cli.h). There is no default
 * config file path: without --config the built-in defaults are used. */
#ifndef CFG_CONFIG_H
#define CFG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CFG_LOG_ERROR, CFG_LOG_WARNING, CFG_LOG_INFO, CFG_LOG_DEBUG } cfg_log_level;

/* Every char * and char ** is owned by the struct (g_malloc'd; lists are
 * NULL-terminated GStrv) and freed by cfg_clear. An empty value in the file
 * is stored as NULL. */
typedef struct {
  /* [server] */
  char *listen_addr;        /* IPv4/IPv6 literal of this host (bindable); NULL = all addresses */
  unsigned port;            /* 8080 */
  char *web_root;           /* directory; default SFU_WEB_ROOT_DEFAULT (built in) */
  char *tls_cert, *tls_key; /* PEM files, both or neither; NULL = plain HTTP/WS */
  char **allowed_origins;   /* "scheme://host[:port]"; NULL = any origin */
  /* [ice] */
  char **ice_addrs;                    /* local IP literals to gather on; NULL = all (auto) */
  char *nat_public_ip;                 /* announced instead of the host address (1:1 NAT); NULL = off */
  unsigned port_min, port_max;         /* UDP port range for ICE; 10000..60000 */
  char **stun_urls;                    /* stun:/stuns: URLs handed to browsers; NULL = none */
  char **turn_urls;                    /* turn:/turns: URLs handed to browsers; NULL = none */
  char *turn_username, *turn_password; /* required when turn_urls is set */
  unsigned consent_timeout_s;          /* 30 */
  bool ice_tcp;                        /* true: passive ICE-TCP candidates too (RFC 6544) */
  bool ice_lite;                       /* true: ICE-lite, the browser controls (RFC 8445 2.5) */
  /* [turn]: TURN with credentials from a secret shared with the TURN server
   * (coturn's use-auth-secret), computed per participant at join */
  char **turn_rest_urls; /* turn:/turns: URLs; NULL = none */
  char *turn_secret;     /* required with turn_rest_urls; at least 16 characters */
  unsigned turn_ttl_s;   /* 86400: how long the credentials are valid */
  /* [signaling] */
  unsigned resume_grace_s; /* 15: a dropped WebSocket may resume this long; 0 = off */
  /* [limits] */
  unsigned max_rooms;                  /* 1000 */
  unsigned max_participants_per_room;  /* 50 */
  unsigned max_publishers_per_room;    /* 50 */
  unsigned max_tracks_per_participant; /* 8: published tracks (camera, microphone, screen...) */
  unsigned max_message_bytes;          /* 65536 */
  unsigned max_bitrate_kbps;           /* 2500, per publisher */
  unsigned joins_per_sec_per_ip;       /* 20 */
  unsigned messages_per_sec;           /* 50, per participant */
  unsigned max_websockets_per_ip;      /* 32, open WebSockets per client address; 0 = no cap */
  /* [log] */
  cfg_log_level log_level; /* CFG_LOG_INFO */
  bool log_json;           /* false: plain text */
  /* [metrics] */
  bool metrics;      /* true: serve /metrics */
  char *admin_token; /* NULL = admin API off; at least 16 characters */
  /* [auth] */
  char *jwt_secret; /* NULL = rooms open to anyone; at least 32 characters (HS256) */
} cfg_config;

/* Fills c with the built-in defaults. c's previous contents are overwritten,
 * not freed. Afterwards c owns its strings: call cfg_clear. */
void cfg_defaults(cfg_config *c);

/* Loads a config file. c is output only: its previous contents are
 * overwritten, not freed (for a SIGHUP reload, load into a fresh struct, and
 * on success cfg_clear the old one and assign). On return, success or not,
 * c is fully initialised and must be released with cfg_clear; on failure it
 * holds the defaults. Returns 0, -ENOENT / -EACCES / -EISDIR / -EIO / -EFBIG if the file
 * cannot be read, -ENODATA if it sets nothing (empty, or only blank lines and
 * comments: a truncated write must not silently reset every setting to its
 * default), -EINVAL if its content is bad. err (may be NULL) gets
 * "FILE:LINE: [group] key: reason" (or "FILE: reason" when no line applies).
 * Secret values (passwords, tokens) are never echoed in err. */
int cfg_load_file(const char *path, cfg_config *c, char *err, size_t errlen);

/* Same, from memory. text need not be NUL-terminated; name_for_errors
 * (borrowed) replaces FILE in messages. Relative paths in the data are taken
 * relative to the current directory. Returns 0 or -EINVAL. */
int cfg_load_data(const char *text, size_t len, const char *name_for_errors, cfg_config *c, char *err,
                  size_t errlen);

/* Frees every owned string and list, then zeroes c. Safe on a zeroed struct. */
void cfg_clear(cfg_config *c);

/* "error", "warning", "info", "debug". Never NULL. */
const char *cfg_log_level_name(cfg_log_level l);
/* Parses one of the names above (case-sensitive). 0 or -EINVAL. */
int cfg_log_level_parse(const char *s, cfg_log_level *out);

/* Checks that path names a directory the process can open. 0 or negative
 * errno; why (may be NULL) gets a short reason ("not a directory"). Used for
 * web_root by the loader and by cfg_cli_apply. */
int cfg_check_dir(const char *path, char *why, size_t whylen);

#endif
