/* sig_chat: chat and reactions relayed between participants (see sig_chat.h). */
#include "sig_chat.h"

#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

char *sig_chat_error_json(const char *code, const char *message) {
  json_t *j = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", message);
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return s;
}

static sig_chat_verdict error(char **out, const char **code, const char *c, const char *message) {
  *out = sig_chat_error_json(c, message);
  if (!*out) return SIG_CHAT_DROP; /* out of memory */
  *code = c;
  return SIG_CHAT_ERROR;
}

/* Token bucket; the first drop of a streak is answered, the rest are silent. */
static bool take_token(sig_chat_bucket *b, int64_t now_us) {
  if (b->at_us == 0)
    b->tokens = SIG_CHAT_BURST;
  else if (now_us > b->at_us)
    b->tokens += (double)(now_us - b->at_us) / 1e6 * SIG_CHAT_RATE;
  if (b->tokens > SIG_CHAT_BURST) b->tokens = SIG_CHAT_BURST;
  b->at_us = now_us;
  if (b->tokens < 1.0) return false;
  b->tokens -= 1.0;
  return true;
}

/* A printable, non-blank string of at most max bytes; text may span lines. */
static bool usable(const char *s, size_t max, bool lines) {
  size_t n = strlen(s);
  if (n == 0 || n > max) return false;
  bool visible = false;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p < 0x20 && !(lines && (*p == '\n' || *p == '\t'))) return false;
    if (*p == 0x7F) return false;
    if (!g_ascii_isspace(*p)) visible = true;
  }
  return visible;
}

static sig_chat_verdict relay(json_t *msg, const sig_chat_from *from, char **out) {
  json_object_set_new(msg, "from", json_pack("{s:s, s:s}", "id", from->id, "name", from->name));
  json_object_set_new(msg, "time", json_integer(from->time_ms));
  *out = json_dumps(msg, JSON_COMPACT);
  json_decref(msg);
  return *out ? SIG_CHAT_RELAY : SIG_CHAT_DROP;
}

sig_chat_verdict sig_chat_handle(sig_chat_bucket *b, const sig_chat_from *from, const uint8_t *msg,
                                 size_t len, bool binary, char **out, const char **code) {
  *out = NULL;
  *code = NULL;
  if (!take_token(b, from->now_us)) {
    b->dropped++;
    if (b->limited) return SIG_CHAT_DROP;
    b->limited = true;
    return error(out, code, "rate_limited", "too many chat messages: slow down");
  }
  b->limited = false;
  if (binary) return error(out, code, "bad_message", "chat messages are JSON text, not binary");
  if (len > SIG_CHAT_MAX_BYTES) return error(out, code, "too_large", "chat message too large");
  if (!g_utf8_validate_len((const char *)msg, len, NULL)) return error(out, code, "bad_message", "not UTF-8");
  json_error_t jerr;
  json_t *in = json_loadb((const char *)msg, len, JSON_REJECT_DUPLICATES, &jerr);
  const char *type = in && json_is_object(in) ? json_string_value(json_object_get(in, "type")) : NULL;
  if (!type) {
    json_decref(in);
    return error(out, code, "bad_message", "expected a JSON object with a \"type\" string");
  }
  /* What is relayed is built anew: nothing else the sender wrote goes out. */
  json_t *o = NULL;
  sig_chat_verdict v = SIG_CHAT_DROP;
  if (!strcmp(type, "chat")) {
    const char *text = json_string_value(json_object_get(in, "text"));
    if (!text)
      v = error(out, code, "bad_message", "chat: \"text\" must be a string");
    else if (strlen(text) > SIG_CHAT_MAX_TEXT)
      v = error(out, code, "too_large", "chat: text longer than 2000 bytes");
    else if (!usable(text, SIG_CHAT_MAX_TEXT, true))
      v = error(out, code, "bad_message", "chat: text is empty or has control characters");
    else
      o = json_pack("{s:s, s:s}", "type", "chat", "text", text);
  } else if (!strcmp(type, "reaction")) {
    const char *emoji = json_string_value(json_object_get(in, "emoji"));
    if (!emoji || !usable(emoji, SIG_CHAT_MAX_EMOJI, false))
      v = error(out, code, "bad_message", "reaction: \"emoji\" must be a short string");
    else
      o = json_pack("{s:s, s:s}", "type", "reaction", "emoji", emoji);
  } else {
    /* At most 40 characters of it (not bytes: a cut UTF-8 sequence is no JSON string). */
    char t[4 * 40 + 1], m[200];
    g_utf8_strncpy(t, type, 40);
    snprintf(m, sizeof m, "unknown chat message type \"%s\"", t);
    v = error(out, code, "unknown_type", m);
  }
  json_decref(in);
  return o ? relay(o, from, out) : v;
}
