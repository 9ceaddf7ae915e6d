/* sig_resume: the token table; see sig_resume.h. */
#include "sig_resume.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

typedef struct {
  char *room, *id;
  int64_t retired_us; /* 0 = live */
} entry;

struct sig_resume {
  GHashTable *by_token; /* token (owned) -> entry* (owned) */
  unsigned live;
};

static void entry_free(gpointer p) {
  entry *e = p;
  g_free(e->room);
  g_free(e->id);
  g_free(e);
}

sig_resume *sig_resume_new(void) {
  sig_resume *t = g_new0(sig_resume, 1);
  t->by_token = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
  return t;
}

void sig_resume_free(sig_resume *t) {
  if (!t) return;
  g_hash_table_destroy(t->by_token);
  g_free(t);
}

static void prune(sig_resume *t, int64_t now_us) {
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, t->by_token);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    const entry *e = v;
    if (e->retired_us && now_us - e->retired_us > SIG_RESUME_RETIRED_KEEP_US) g_hash_table_iter_remove(&it);
  }
}

int sig_resume_issue(sig_resume *t, const char *room, const char *id, int64_t now_us,
                     char out[SIG_RESUME_TOKEN_LEN + 1]) {
  uint8_t raw[SIG_RESUME_TOKEN_LEN / 2];
  out[0] = '\0';
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return -EIO;
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof raw; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[SIG_RESUME_TOKEN_LEN] = '\0';
  prune(t, now_us);
  entry *e = g_new0(entry, 1);
  e->room = g_strdup(room);
  e->id = g_strdup(id);
  g_hash_table_replace(t->by_token, g_strdup(out), e);
  t->live++;
  return 0;
}

static bool well_formed(const char *token) {
  if (!token || strlen(token) != SIG_RESUME_TOKEN_LEN) return false;
  for (const char *p = token; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
  return true;
}

sig_resume_status sig_resume_lookup(const sig_resume *t, const char *token, const char *room,
                                    const char **id_out) {
  if (id_out) *id_out = NULL;
  if (!well_formed(token)) return SIG_RESUME_MALFORMED;
  const entry *e = g_hash_table_lookup(t->by_token, token);
  if (!e) return SIG_RESUME_UNKNOWN;
  if (e->retired_us) return SIG_RESUME_EXPIRED;
  if (!room || strcmp(room, e->room) != 0) return SIG_RESUME_OTHER_ROOM;
  if (id_out) *id_out = e->id;
  return SIG_RESUME_OK;
}

void sig_resume_retire(sig_resume *t, const char *token, int64_t now_us) {
  entry *e = token ? g_hash_table_lookup(t->by_token, token) : NULL;
  if (!e || e->retired_us) return;
  e->retired_us = now_us > 0 ? now_us : 1;
  t->live--;
}

unsigned sig_resume_live(const sig_resume *t) {
  return t->live;
}

const char *sig_resume_status_text(sig_resume_status s) {
  switch (s) {
  case SIG_RESUME_OK:
    return "ok";
  case SIG_RESUME_MALFORMED:
    return "malformed resume token";
  case SIG_RESUME_UNKNOWN:
    return "unknown resume token";
  case SIG_RESUME_EXPIRED:
    return "resume token expired (the session is over)";
  case SIG_RESUME_OTHER_ROOM:
    return "resume token is for another room";
  }
  return "?";
}
