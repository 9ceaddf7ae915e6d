/* Client message decoding: every field checked for presence, type and range. */
#include "sig_proto.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(c, ...)                                                                                         \
  do {                                                                                                       \
    *code = (c);                                                                                             \
    snprintf(msg, msglen, __VA_ARGS__);                                                                      \
    goto fail;                                                                                               \
  } while (0)

bool sig_proto_room_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 64) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.'))
      return false;
  }
  return true;
}

/* Display names: 1..64 bytes of valid UTF-8 (jansson guarantees UTF-8), no control characters. */
bool sig_proto_display_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 64) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
  return true;
}

/* Gets a string member: NULL if absent; sets *bad if present but not a string. */
static const char *get_str(json_t *o, const char *key, bool *bad) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return NULL;
  if (!json_is_string(v)) {
    *bad = true;
    return NULL;
  }
  return json_string_value(v);
}

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

int sig_proto_decode(const char *text, size_t len, sig_req *req, const char **code, char *msg, size_t msglen,
                     char *req_type_out, size_t req_type_len) {
  memset(req, 0, sizeof *req);
  if (req_type_out && req_type_len) req_type_out[0] = 0;
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    *code = "bad_json";
    snprintf(msg, msglen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    return -EINVAL;
  }
  bool bad = false;
  if (!json_is_object(root)) FAIL("bad_json", "message must be a JSON object");
  const char *type = get_str(root, "type", &bad);
  if (!type || bad) FAIL("bad_json", "message has no \"type\" string");
  if (req_type_out && req_type_len) snprintf(req_type_out, req_type_len, "%s", type);

  if (!strcmp(type, "join")) {
    req->type = SIG_REQ_JOIN;
    const char *room = get_str(root, "room", &bad);
    const char *name = get_str(root, "name", &bad);
    const char *token = get_str(root, "token", &bad);
    if (bad) FAIL("bad_message", "join: room, name and token must be strings");
    if (!room || !sig_proto_room_name_ok(room))
      FAIL("bad_message", "join: room must be 1-64 characters of A-Z a-z 0-9 _ . -");
    if (!name || !sig_proto_display_name_ok(name))
      FAIL("bad_message", "join: name must be 1-64 bytes without control characters");
    if (token && strlen(token) > 4096) FAIL("bad_message", "join: token too long");
    req->room = strdup(room);
    req->name = strdup(name);
    req->token = dup_or_null(token);
  } else if (!strcmp(type, "publish") || !strcmp(type, "answer")) {
    bool pub = !strcmp(type, "publish");
    req->type = pub ? SIG_REQ_PUBLISH : SIG_REQ_ANSWER;
    const char *sdp = get_str(root, "sdp", &bad);
    if (bad || !sdp || !*sdp) FAIL("bad_message", "%s: \"sdp\" must be a non-empty string", type);
    if (strlen(sdp) > SIG_SDP_MAX_BYTES)
      FAIL("bad_message", "%s: sdp longer than %d bytes", type, SIG_SDP_MAX_BYTES);
    if (!pub) {
      const char *pc = get_str(root, "pc", &bad);
      if (bad || (pc && strcmp(pc, "sub"))) FAIL("bad_message", "answer: \"pc\" must be \"sub\"");
      req->pc = SIG_PC_SUB;
    }
    req->sdp = strdup(sdp);
  } else if (!strcmp(type, "candidate")) {
    req->type = SIG_REQ_CANDIDATE;
    const char *pc = get_str(root, "pc", &bad);
    if (bad || !pc || (strcmp(pc, "pub") && strcmp(pc, "sub")))
      FAIL("bad_message", "candidate: \"pc\" must be \"pub\" or \"sub\"");
    req->pc = strcmp(pc, "pub") ? SIG_PC_SUB : SIG_PC_PUB;
    json_t *cv = json_object_get(root, "candidate");
    /* Browsers send the RTCIceCandidate object, its string, "" or null. */
    if (cv && json_is_object(cv)) cv = json_object_get(cv, "candidate");
    if (cv && !json_is_null(cv) && !json_is_string(cv))
      FAIL("bad_message", "candidate: \"candidate\" must be a string or null");
    const char *c = cv && json_is_string(cv) ? json_string_value(cv) : NULL;
    if (c && strlen(c) > 512) FAIL("bad_message", "candidate: longer than 512 bytes");
    req->candidate = (c && *c) ? strdup(c) : NULL;
  } else if (!strcmp(type, "mute")) {
    req->type = SIG_REQ_MUTE;
    const char *kind = get_str(root, "kind", &bad);
    json_t *m = json_object_get(root, "muted");
    if (bad || !kind || (strcmp(kind, "audio") && strcmp(kind, "video")))
      FAIL("bad_message", "mute: \"kind\" must be \"audio\" or \"video\"");
    if (!m || !json_is_boolean(m)) FAIL("bad_message", "mute: \"muted\" must be true or false");
    req->video = !strcmp(kind, "video");
    req->muted = json_is_true(m);
  } else if (!strcmp(type, "leave")) {
    req->type = SIG_REQ_LEAVE;
  } else {
    FAIL("unknown_type", "unknown message type \"%.40s\"", type);
  }
  json_decref(root);
  return 0;
fail:
  json_decref(root);
  sig_req_clear(req);
  return -EINVAL;
}

void sig_req_clear(sig_req *req) {
  free(req->room);
  free(req->name);
  free(req->token);
  free(req->sdp);
  free(req->candidate);
  memset(req, 0, sizeof *req);
}

/* Reasons may quote (truncated) client text: keep them ASCII so they are
 * always valid JSON strings. */
static json_t *ascii_string(const char *s) {
  char buf[512];
  size_t i = 0;
  for (; s && s[i] && i < sizeof buf - 1; i++)
    buf[i] = (s[i] & 0x80) || s[i] < 0x20 ? '?' : s[i];
  buf[i] = 0;
  return json_string(buf);
}

char *sig_proto_error(const char *code, const char *message, const char *request) {
  json_t *o = json_object();
  json_object_set_new(o, "type", json_string("error"));
  json_object_set_new(o, "code", ascii_string(code));
  json_object_set_new(o, "message", ascii_string(message));
  if (request && *request) json_object_set_new(o, "request", ascii_string(request));
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}
