/* cfg_log: GLib structured log writer to stderr, plain text or JSON lines. */
#include "cfg_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static gint cur_level = CFG_LOG_INFO; /* atomic */
static gint cur_json = 0;             /* atomic */
static gsize installed = 0;           /* g_once_init */

void cfg_log_set(cfg_log_level level, bool json) {
  g_atomic_int_set(&cur_level, (gint)level);
  g_atomic_int_set(&cur_json, json ? 1 : 0);
}

cfg_log_level cfg_log_get_level(void) {
  return (cfg_log_level)g_atomic_int_get(&cur_level);
}
bool cfg_log_get_json(void) {
  return g_atomic_int_get(&cur_json) != 0;
}

/* The cfg_log_level a GLib level needs, and its printed name. */
static cfg_log_level needed(GLogLevelFlags l, const char **name) {
  if (l & G_LOG_LEVEL_ERROR) return *name = "error", CFG_LOG_ERROR;
  if (l & G_LOG_LEVEL_CRITICAL) return *name = "critical", CFG_LOG_ERROR;
  if (l & G_LOG_LEVEL_WARNING) return *name = "warning", CFG_LOG_WARNING;
  if (l & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) return *name = "info", CFG_LOG_INFO;
  return *name = "debug", CFG_LOG_DEBUG;
}

bool cfg_log_enabled(GLogLevelFlags level) {
  const char *name;
  return needed(level, &name) <= cfg_log_get_level();
}

/* Appender that counts what it could not store (snprintf semantics). */
typedef struct {
  char *buf;
  size_t cap, len;
} out_buf;

static void put(out_buf *o, const char *s, size_t n) {
  if (o->len + 1 < o->cap) {
    size_t room = o->cap - 1 - o->len;
    memcpy(o->buf + o->len, s, n < room ? n : room);
  }
  o->len += n;
}

static void puts_(out_buf *o, const char *s) {
  put(o, s, strlen(s));
}

static void put_hex(out_buf *o, const char *prefix, unsigned v, int digits) {
  char t[16];
  int n = snprintf(t, sizeof t, "%s%0*x", prefix, digits, v);
  put(o, t, (size_t)n);
}

/* Escapes msg: JSON string body, or plain text with C-like escapes. */
static void put_escaped(out_buf *o, const char *s, size_t n, bool json) {
  const char *p = s, *end = s + n;
  while (p < end) {
    unsigned char ch = (unsigned char)*p;
    if (ch >= 0x80) {
      gunichar u = g_utf8_get_char_validated(p, end - p);
      if (u == (gunichar)-1 || u == (gunichar)-2) {
        if (json)
          puts_(o, "\\ufffd");
        else
          put_hex(o, "\\x", ch, 2);
        p++;
        continue;
      }
      const char *next = g_utf8_next_char(p);
      put(o, p, (size_t)(next - p));
      p = next;
      continue;
    }
    const char *esc = NULL;
    switch (ch) {
    case '\n':
      esc = "\\n";
      break;
    case '\r':
      esc = "\\r";
      break;
    case '\t':
      esc = "\\t";
      break;
    case '\\':
      esc = "\\\\";
      break;
    case '"':
      esc = json ? "\\\"" : NULL;
      break;
    default:
      break;
    }
    if (esc)
      puts_(o, esc);
    else if (ch < 0x20 || (ch == 0x7f && !json))
      put_hex(o, json ? "\\u" : "\\x", ch, json ? 4 : 2);
    else
      put(o, (const char *)p, 1);
    p++;
  }
}

static void put_time(out_buf *o, gint64 time_us) {
  time_t secs = (time_t)(time_us / G_USEC_PER_SEC);
  int ms = (int)((time_us % G_USEC_PER_SEC) / 1000);
  if (ms < 0) {
    secs -= 1;
    ms += 1000;
  }
  struct tm tm;
  char t[64];
  if (!gmtime_r(&secs, &tm) || strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    g_strlcpy(t, "1970-01-01T00:00:00", sizeof t);
  size_t n = strlen(t);
  snprintf(t + n, sizeof t - n, ".%03dZ", ms);
  puts_(o, t);
}

size_t cfg_log_format(char *buf, size_t cap, bool json, gint64 time_us, GLogLevelFlags level,
                      const char *domain, const char *msg, gssize msg_len) {
  out_buf o = {buf, cap, 0};
  const char *name;
  (void)needed(level, &name);
  size_t mlen = msg ? (msg_len < 0 ? strlen(msg) : (size_t)msg_len) : 0;
  if (json) {
    puts_(&o, "{\"ts\":\"");
    put_time(&o, time_us);
    puts_(&o, "\",\"level\":\"");
    puts_(&o, name);
    if (domain) {
      puts_(&o, "\",\"domain\":\"");
      put_escaped(&o, domain, strlen(domain), true);
      puts_(&o, "\",\"msg\":\"");
    } else {
      puts_(&o, "\",\"domain\":null,\"msg\":\"");
    }
    put_escaped(&o, msg ? msg : "", mlen, true);
    puts_(&o, "\"}\n");
  } else {
    put_time(&o, time_us);
    puts_(&o, " ");
    puts_(&o, name);
    puts_(&o, " [");
    if (domain)
      put_escaped(&o, domain, strlen(domain), false);
    else
      puts_(&o, "-");
    puts_(&o, "] ");
    put_escaped(&o, msg ? msg : "", mlen, false);
    puts_(&o, "\n");
  }
  if (cap) buf[o.len < cap ? o.len : cap - 1] = '\0';
  return o.len;
}

static void write_all(const char *p, size_t n) {
  while (n) {
    ssize_t w = write(STDERR_FILENO, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* nowhere to report it */
    p += w;
    n -= (size_t)w;
  }
}

static GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                               gpointer user_data) {
  (void)user_data;
  if (!cfg_log_enabled(level)) return G_LOG_WRITER_HANDLED;
  const char *domain = NULL, *msg = NULL;
  gssize msg_len = -1;
  for (gsize i = 0; i < n_fields; i++) {
    if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;
    else if (strcmp(fields[i].key, "MESSAGE") == 0)
      msg = fields[i].value, msg_len = fields[i].length;
  }
  bool json = cfg_log_get_json();
  gint64 now = g_get_real_time();
  char stack[1024];
  size_t need = cfg_log_format(stack, sizeof stack, json, now, level, domain, msg, msg_len);
  if (need < sizeof stack) {
    write_all(stack, need);
  } else {
    char *big = g_malloc(need + 1);
    size_t n = cfg_log_format(big, need + 1, json, now, level, domain, msg, msg_len);
    write_all(big, n < need + 1 ? n : need);
    g_free(big);
  }
  return G_LOG_WRITER_HANDLED;
}

void cfg_log_install(cfg_log_level level, bool json) {
  cfg_log_set(level, json);
  if (g_once_init_enter(&installed)) {
    g_log_set_writer_func(writer, NULL, NULL);
    g_once_init_leave(&installed, 1);
  }
}
