/* cfg_lines: the config text split into lines exactly where GKeyFile splits
 * it, for line numbers in errors, duplicate detection and syntax reasons. */
#include "cfg_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef enum { L_SKIP, L_GROUP, L_KEY, L_BAD } line_kind;

typedef struct {
  line_kind kind;
  const char *name; /* group name or key name (not NUL-terminated) */
  size_t name_len;
  const char *why; /* L_BAD: what is wrong */
} line_info;

static line_info bad_line(const char *why) {
  line_info li = {L_BAD, NULL, 0, why};
  return li;
}

/* Classifies [p, end) (one line without its '\n') as GKeyFile would. */
static line_info classify(const char *p, const char *end) {
  line_info li = {L_SKIP, NULL, 0, NULL};
  if (end > p && end[-1] == '\r') end--;
  while (p < end && g_ascii_isspace(*p))
    p++;
  if (p == end || *p == '#') return li;
  if (*p == '[') {
    const char *q = memchr(p, ']', (size_t)(end - p));
    if (!q) return bad_line("group header without a closing ']'");
    for (const char *t = q + 1; t < end; t++)
      if (*t != ' ' && *t != '\t') return bad_line("text after the group header's ']'");
    li.name = p + 1;
    li.name_len = (size_t)(q - li.name);
    if (li.name_len == 0) return bad_line("empty group name");
    for (const char *t = li.name; t < q; t++)
      if (g_ascii_iscntrl(*t) || *t == '[') return bad_line("invalid character in group name");
    li.kind = L_GROUP;
    return li;
  }
  const char *eq = memchr(p, '=', (size_t)(end - p));
  if (!eq) return bad_line("not a 'key = value' line, a [group] header or a # comment");
  const char *k = eq;
  while (k > p && g_ascii_isspace(k[-1]))
    k--;
  if (k == p) return bad_line("missing key name before '='");
  const char *br = memchr(p, '[', (size_t)(k - p));
  if (br && (br == p || k[-1] != ']' || memchr(br + 1, '[', (size_t)(k - br - 1))))
    return bad_line("invalid key name");
  li.kind = L_KEY;
  li.name = p;
  li.name_len = (size_t)(k - p);
  return li;
}

static bool name_is(const line_info *li, const char *s) {
  return s && li->name_len == strlen(s) && memcmp(li->name, s, li->name_len) == 0;
}

typedef bool (*line_visit)(unsigned lineno, const line_info *li, const char *cur_group, size_t cur_len,
                           void *ctx);

/* Calls visit for every line until it returns true; returns that line or 0. */
static unsigned scan_lines(const cfg_src *s, line_visit visit, void *ctx) {
  const char *p = s->text, *end = s->text + s->len;
  const char *g = NULL;
  size_t glen = 0;
  for (unsigned lineno = 1; p < end; lineno++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    line_info li = classify(p, le);
    if (visit(lineno, &li, g, glen, ctx)) return lineno;
    if (li.kind == L_GROUP) g = li.name, glen = li.name_len;
    p = nl ? nl + 1 : end;
  }
  return 0;
}

typedef struct {
  const char *group, *key;
} where;

static bool visit_find(unsigned lineno, const line_info *li, const char *g, size_t glen, void *ctx) {
  (void)lineno;
  const where *w = ctx;
  if (!w->key) return li->kind == L_GROUP && name_is(li, w->group);
  line_info gi = {L_GROUP, g, glen, NULL};
  return li->kind == L_KEY && g && name_is(&gi, w->group) && name_is(li, w->key);
}

unsigned cfg_lines_find(const cfg_src *s, const char *group, const char *key) {
  where w = {group, key};
  return scan_lines(s, visit_find, &w);
}

static bool visit_bad(unsigned lineno, const line_info *li, const char *g, size_t glen, void *ctx) {
  (void)lineno, (void)glen;
  const char **why = ctx;
  if (li->kind == L_BAD)
    *why = li->why;
  else if (li->kind == L_KEY && !g)
    *why = "key before the first [group] header";
  return *why != NULL;
}

/* Printable ASCII copy of untrusted text for messages, at most max chars. */
void cfg_sanitize(char *out, size_t outlen, const char *in, size_t inlen, size_t max) {
  size_t o = 0;
  for (size_t i = 0; i < inlen && o + 4 < outlen; i++) {
    if (o >= max) {
      memcpy(out + o, "...", 3);
      o += 3;
      break;
    }
    unsigned char ch = (unsigned char)in[i];
    out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  if (outlen) out[o < outlen ? o : outlen - 1] = '\0';
}

/* Error at (group, key): "NAME:LINE: [group] key: reason". */
int cfg_report(const cfg_src *s, const char *group, const char *key, const char *fmt, ...) {
  if (!s->err || !s->errlen) return -EINVAL;
  char reason[256], g[64], k[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  cfg_sanitize(g, sizeof g, group, strlen(group), 48);
  unsigned line = cfg_lines_find(s, group, key);
  char loc[32] = "";
  if (line) snprintf(loc, sizeof loc, ":%u", line);
  if (key) {
    cfg_sanitize(k, sizeof k, key, strlen(key), 48);
    snprintf(s->err, s->errlen, "%s%s: [%s] %s: %s", s->name, loc, g, k, reason);
  } else {
    snprintf(s->err, s->errlen, "%s%s: [%s]: %s", s->name, loc, g, reason);
  }
  return -EINVAL;
}

/* ---- duplicate groups and keys (GKeyFile silently merges them) ---------- */

typedef struct {
  const cfg_src *s;
  GHashTable *seen; /* "group" or "group\nkey" -> first line */
  int rc;
} dup_ctx;

static bool visit_dup(unsigned lineno, const line_info *li, const char *g, size_t glen, void *ctx) {
  dup_ctx *d = ctx;
  if (li->kind != L_GROUP && li->kind != L_KEY) return false;
  char *id = li->kind == L_GROUP
                 ? g_strndup(li->name, li->name_len)
                 : g_strdup_printf("%.*s\n%.*s", (int)glen, g ? g : "", (int)li->name_len, li->name);
  gpointer first = g_hash_table_lookup(d->seen, id);
  if (!first) {
    g_hash_table_insert(d->seen, id, GUINT_TO_POINTER(lineno));
    return false;
  }
  g_free(id);
  char gs[64], ks[64];
  cfg_sanitize(gs, sizeof gs, li->kind == L_GROUP ? li->name : g, li->kind == L_GROUP ? li->name_len : glen,
               48);
  if (d->s->err && d->s->errlen) {
    if (li->kind == L_GROUP) {
      snprintf(d->s->err, d->s->errlen, "%s:%u: [%s]: group appears twice (first on line %u)", d->s->name,
               lineno, gs, GPOINTER_TO_UINT(first));
    } else {
      cfg_sanitize(ks, sizeof ks, li->name, li->name_len, 48);
      snprintf(d->s->err, d->s->errlen, "%s:%u: [%s] %s: key set twice (first on line %u)", d->s->name,
               lineno, gs, ks, GPOINTER_TO_UINT(first));
    }
  }
  d->rc = -EINVAL;
  return true;
}

int cfg_lines_check_duplicates(const cfg_src *s) {
  dup_ctx d = {s, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), 0};
  scan_lines(s, visit_dup, &d);
  g_hash_table_destroy(d.seen);
  return d.rc;
}

static bool visit_any(unsigned lineno, const line_info *li, const char *g, size_t glen, void *ctx) {
  (void)lineno, (void)g, (void)glen, (void)ctx;
  return li->kind != L_SKIP;
}

bool cfg_lines_sets_nothing(const char *text, size_t len) {
  cfg_src s = {text, len, "", NULL, 0};
  return scan_lines(&s, visit_any, NULL) == 0;
}

unsigned cfg_lines_first_bad(const cfg_src *s, const char **why) {
  *why = NULL;
  return scan_lines(s, visit_bad, why);
}
