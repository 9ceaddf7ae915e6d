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

static const char *const source_names[] = {"", "camera", "microphone", "screen", "screen-audio"};

const char *sig_source_name(sig_source s) {
  return (unsigned)s < sizeof source_names / sizeof source_names[0] ? source_names[s] : "";
}

static bool token_ok(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n < 1 || n >= max) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.+", c)))
      return false;
  }
  return true;
}

/* publish "tracks": [{mid, source}]; 0, or -1 with msg set. */
static int decode_sources(json_t *arr, sig_req *req, char *msg, size_t msglen) {
  if (!arr || json_is_null(arr)) return 0;
  if (!json_is_array(arr) || json_array_size(arr) > SIG_MAX_TRACK_SOURCES) {
    snprintf(msg, msglen, "publish: \"tracks\" must be an array of at most %d {mid, source}",
             SIG_MAX_TRACK_SOURCES);
    return -1;
  }
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    json_t *m = json_object_get(e, "mid"), *so = json_object_get(e, "source");
    const char *mid = json_is_string(m) ? json_string_value(m) : NULL;
    const char *src = json_is_string(so) ? json_string_value(so) : NULL;
    if (!json_is_object(e) || !mid || !token_ok(mid, SIG_TRACK_ID_MAX) || !src) {
      snprintf(msg, msglen, "publish: tracks[%zu] needs a \"mid\" and a \"source\" string", i);
      return -1;
    }
    sig_source s = SIG_SRC_NONE;
    for (unsigned k = 1; k < sizeof source_names / sizeof source_names[0]; k++)
      if (!strcmp(src, source_names[k])) s = (sig_source)k;
    if (s == SIG_SRC_NONE) {
      snprintf(msg, msglen,
               "publish: tracks[%zu]: unknown source \"%.20s\" (camera, microphone, screen, screen-audio)", i,
               src);
      return -1;
    }
    for (unsigned k = 0; k < req->nsources; k++)
      if (!strcmp(req->sources[k].mid, mid)) {
        snprintf(msg, msglen, "publish: tracks[%zu]: mid \"%s\" listed twice", i, mid);
        return -1;
      }
    snprintf(req->sources[req->nsources].mid, SIG_TRACK_ID_MAX, "%s", mid);
    req->sources[req->nsources++].source = s;
  }
  return 0;
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
    const char *resume = get_str(root, "resume", &bad);
    if (bad) FAIL("bad_message", "join: room, name, token and resume must be strings");
    if (!room || !sig_proto_room_name_ok(room))
      FAIL("bad_message", "join: room must be 1-64 characters of A-Z a-z 0-9 _ . -");
    if (!name || !sig_proto_display_name_ok(name))
      FAIL("bad_message", "join: name must be 1-64 bytes without control characters");
    if (token && strlen(token) > 4096) FAIL("bad_message", "join: token too long");
    if (resume && (!*resume || strlen(resume) > 64))
      FAIL("bad_message", "join: resume must be 1-64 characters");
    json_t *rb = json_object_get(root, "resumable");
    if (rb && !json_is_boolean(rb) && !json_is_null(rb))
      FAIL("bad_message", "join: resumable must be true or false");
    req->resumable = json_is_true(rb);
    req->room = strdup(room);
    req->name = strdup(name);
    req->token = dup_or_null(token);
    req->resume = dup_or_null(resume);
  } else if (!strcmp(type, "publish") || !strcmp(type, "answer")) {
    bool pub = !strcmp(type, "publish");
    req->type = pub ? SIG_REQ_PUBLISH : SIG_REQ_ANSWER;
    const char *sdp = get_str(root, "sdp", &bad);
    if (bad || !sdp || !*sdp) FAIL("bad_message", "%s: \"sdp\" must be a non-empty string", type);
    if (strlen(sdp) > SIG_SDP_MAX_BYTES)
      FAIL("bad_message", "%s: sdp longer than %d bytes", type, SIG_SDP_MAX_BYTES);
    if (pub && decode_sources(json_object_get(root, "tracks"), req, msg, msglen) != 0) {
      *code = "bad_message";
      goto fail;
    }
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
    const char *track = get_str(root, "track", &bad);
    json_t *m = json_object_get(root, "muted");
    if (bad || (track && !token_ok(track, SIG_TRACK_ID_MAX)))
      FAIL("bad_message", "mute: \"track\" must be a track id");
    if (!track && (!kind || (strcmp(kind, "audio") && strcmp(kind, "video"))))
      FAIL("bad_message", "mute: needs \"track\", or \"kind\" \"audio\" or \"video\"");
    if (!m || !json_is_boolean(m)) FAIL("bad_message", "mute: \"muted\" must be true or false");
    if (track) snprintf(req->track, sizeof req->track, "%s", track);
    req->video = kind && !strcmp(kind, "video");
    req->muted = json_is_true(m);
  } else if (!strcmp(type, "viewport")) {
    req->type = SIG_REQ_VIEWPORT;
    const char *track = get_str(root, "track", &bad);
    json_t *w = json_object_get(root, "width"), *h = json_object_get(root, "height");
    json_t *v = json_object_get(root, "visible");
    if (bad || !track || !token_ok(track, SIG_TRACK_ID_MAX))
      FAIL("bad_message", "viewport: \"track\" must be a track id");
    if (!json_is_integer(w) || !json_is_integer(h) || json_integer_value(w) < 0 ||
        json_integer_value(h) < 0 || json_integer_value(w) > 16384 || json_integer_value(h) > 16384)
      FAIL("bad_message", "viewport: \"width\" and \"height\" must be whole numbers 0-16384");
    if (v && !json_is_boolean(v)) FAIL("bad_message", "viewport: \"visible\" must be true or false");
    snprintf(req->track, sizeof req->track, "%s", track);
    req->width = (unsigned)json_integer_value(w);
    req->height = (unsigned)json_integer_value(h);
    req->visible = !v || json_is_true(v);
  } else if (!strcmp(type, "leave")) {
    req->type = SIG_REQ_LEAVE;
  } else if (!strcmp(type, "restart-ice")) {
    req->type = SIG_REQ_RESTART_ICE;
    const char *pc = get_str(root, "pc", &bad);
    if (bad || !pc || strcmp(pc, "sub"))
      FAIL("bad_message", "restart-ice: \"pc\" must be \"sub\" (for pub, send a publish offer made with "
                          "iceRestart)");
    req->pc = SIG_PC_SUB;
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
  free(req->resume);
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
