/* cfg_internal: what the conf/ files share and nothing outside conf/ uses.
 *   cfg_check.c  value checkers for the key table (0 = fine, else -EINVAL and
 *                a short reason in why)
 *   cfg_lines.c  the config text split into lines the way GKeyFile splits it,
 *                to put line numbers in errors and to reject duplicates
 * Thread: control plane only. Depends on GLib and libc. */
#ifndef CFG_INTERNAL_H
#define CFG_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

typedef int (*cfg_check_fn)(const char *v, char *why, size_t n);

int cfg_check_ip(const char *v, char *why, size_t n);
/* An IP literal this host can bind (tried on port 0). */
int cfg_check_listen_addr(const char *v, char *why, size_t n);
int cfg_check_web_root(const char *v, char *why, size_t n);
int cfg_check_file(const char *v, char *why, size_t n);
int cfg_check_stun(const char *v, char *why, size_t n);
int cfg_check_turn(const char *v, char *why, size_t n);
int cfg_check_origin(const char *v, char *why, size_t n);
int cfg_check_token(const char *v, char *why, size_t n);
int cfg_check_jwt_secret(const char *v, char *why, size_t n);
int cfg_check_any(const char *v, char *why, size_t n);

/* The text being loaded and where its error goes (all borrowed). */
typedef struct {
  const char *text;
  size_t len;
  const char *name;
  char *err;
  size_t errlen;
} cfg_src;

/* 1-based line of "[group]" (key NULL) or of "key =" inside [group]; 0 if none. */
unsigned cfg_lines_find(const cfg_src *s, const char *group, const char *key);
/* True if text has no group header and no key (blank lines and comments at most). */
bool cfg_lines_sets_nothing(const char *text, size_t len);
/* First line GKeyFile would refuse, with the reason in *why; 0 if none found. */
unsigned cfg_lines_first_bad(const cfg_src *s, const char **why);
/* -EINVAL with "NAME:LINE: ..." in s->err if a group or a key appears twice. */
int cfg_lines_check_duplicates(const cfg_src *s);

/* Printable-ASCII copy of untrusted text, at most max characters. */
void cfg_sanitize(char *out, size_t outlen, const char *in, size_t inlen, size_t max);
/* Writes "NAME:LINE: [group] key: reason" (or "NAME:LINE: [group]: reason" when
 * key is NULL) into s->err. Returns -EINVAL. */
int cfg_report(const cfg_src *s, const char *group, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

#endif
