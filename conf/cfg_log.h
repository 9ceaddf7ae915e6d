/* cfg_log: the process-wide GLib log writer. Every layer logs with
 * g_message/g_info/g_warning/g_debug (g_critical for bugs) under its own
 * G_LOG_DOMAIN; this writer filters by level and writes one line per message
 * to stderr (the journal under systemd), either
 *   plain: 2026-11-26T19:00:00.123Z info [sfu] room demo: ann joined
 *   JSON:  {"ts":"2026-11-26T19:00:00.123Z","level":"info","domain":"sfu","msg":"..."}
 * Control characters in messages are escaped in both formats (no forged lines).
 *
 * GLib level -> shown as / kept when the configured level is at least:
 *   G_LOG_LEVEL_ERROR "error", CRITICAL "critical": always
 *   WARNING "warning": warning;  MESSAGE and INFO "info": info;  DEBUG "debug": debug
 * Whether a warning or critical aborts is GLib's business: only when the user
 * sets G_DEBUG=fatal-warnings / fatal-criticals. This writer never aborts.
 *
 * Thread: cfg_log_install once from main before threads start; the writer and
 * cfg_log_set are safe from any thread at any time (atomics), so a SIGHUP
 * reload can change level and format live. Depends on GLib only. */
#ifndef CFG_LOG_H
#define CFG_LOG_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "cfg_config.h"

/* Installs the writer (g_log_set_writer_func; GLib allows that only once per
 * process — later calls just cfg_log_set) and sets level and format. */
void cfg_log_install(cfg_log_level level, bool json);

/* Changes level and format at runtime. Any thread. */
void cfg_log_set(cfg_log_level level, bool json);
cfg_log_level cfg_log_get_level(void);
bool cfg_log_get_json(void);

/* Whether a message of this GLib level passes the configured level. */
bool cfg_log_enabled(GLogLevelFlags level);

/* Formats one line, '\n'-terminated, into buf, snprintf-style: writes at most
 * cap-1 bytes plus a NUL and returns the length the full line needs (without
 * the NUL), so a caller can retry with a bigger buffer. time_us is
 * microseconds since the Unix epoch (g_get_real_time()). domain may be NULL
 * (shown as "-" / null). msg is msg_len bytes, or NUL-terminated if msg_len
 * < 0; invalid UTF-8 is replaced by U+FFFD in JSON and by \xNN in plain text.
 * All pointers borrowed. */
size_t cfg_log_format(char *buf, size_t cap, bool json, gint64 time_us, GLogLevelFlags level,
                      const char *domain, const char *msg, gssize msg_len);

#endif
