/* fuzz_proto: libFuzzer target for the signaling message handler's pure part
 * (signaling/sig_proto.h): sig_proto_decode of one WebSocket text message,
 * sig_req_clear, and the error reply sig_proto_error built from what the
 * decode reported -- the same sequence as handle_message in sig_ws.c, with
 * its buffer sizes. Seeds: every client message of docs/protocol.md, browser
 * variants (RTCIceCandidate objects, null, ""), and invalid ones.
 * Built by tests/fuzz/CMakeLists.txt (fuzz_proto with -DSFU_FUZZ=ON and clang,
 * fuzz_replay_proto always). By hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isignaling tests/fuzz/fuzz_proto.c \
 *     signaling/sig_proto.c $(pkg-config --cflags --libs jansson) -o /tmp/fuzz_proto
 * Checks beyond "no crash, no leak": the result is 0 or -EINVAL; a failure
 * names one of the three decode codes with a reason and leaves the request
 * zeroed; a success holds exactly the fields of its type, within the limits
 * of docs/protocol.md; small message buffers change nothing but the text; the
 * error reply (also quoting decoded client strings) is a JSON object of ASCII
 * strings that jansson reads back with the same code. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sig_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_proto: check failed: %s\n", what);
    abort();
  }
}

static int is_zero(const sig_req *r) {
  static const sig_req zero;
  return !r->room && !r->name && !r->token && !r->sdp && !r->candidate && r->type == zero.type &&
         r->pc == zero.pc && r->video == zero.video && r->muted == zero.muted;
}

static int room_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n < 1 || n > 64) return 0;
  return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int name_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n < 1 || n > 64) return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
  return 1;
}

static void check_request(const sig_req *r, const char *type) {
  switch (r->type) {
  case SIG_REQ_JOIN:
    check(!strcmp(type, "join"), "join type");
    check(room_ok(r->room) && name_ok(r->name), "join room/name");
    check(!r->token || strlen(r->token) <= 4096, "join token length");
    check(!r->sdp && !r->candidate, "join extra fields");
    break;
  case SIG_REQ_PUBLISH:
  case SIG_REQ_ANSWER:
    check(!strcmp(type, r->type == SIG_REQ_PUBLISH ? "publish" : "answer"), "publish/answer type");
    check(r->sdp && r->sdp[0] && strlen(r->sdp) <= SIG_SDP_MAX_BYTES, "sdp present and bounded");
    check(r->type == SIG_REQ_PUBLISH || r->pc == SIG_PC_SUB, "answer is on sub");
    check(!r->room && !r->name && !r->token && !r->candidate, "publish/answer extra fields");
    break;
  case SIG_REQ_CANDIDATE:
    check(!strcmp(type, "candidate"), "candidate type");
    check(r->pc == SIG_PC_PUB || r->pc == SIG_PC_SUB, "candidate pc");
    check(!r->candidate || (r->candidate[0] && strlen(r->candidate) <= 512), "candidate length");
    check(!r->room && !r->name && !r->token && !r->sdp, "candidate extra fields");
    break;
  case SIG_REQ_MUTE:
    check(!strcmp(type, "mute"), "mute type");
    check(!r->room && !r->name && !r->token && !r->sdp && !r->candidate, "mute extra fields");
    break;
  case SIG_REQ_LEAVE:
    check(!strcmp(type, "leave"), "leave type");
    check(!r->room && !r->name && !r->token && !r->sdp && !r->candidate, "leave extra fields");
    break;
  default:
    check(0, "request type in range");
  }
}

/* The reply the client gets: must be valid JSON of ASCII strings, whatever
 * client text is quoted in it. */
static void check_error_reply(const char *code, const char *message, const char *request) {
  char *j = sig_proto_error(code, message, request);
  check(j != NULL, "sig_proto_error returned a string");
  for (const char *p = j; *p; p++)
    check((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80, "error reply is printable ASCII");
  json_error_t jerr;
  json_t *o = json_loads(j, JSON_REJECT_DUPLICATES, &jerr);
  check(o && json_is_object(o), "error reply parses as an object");
  const char *t = json_string_value(json_object_get(o, "type"));
  const char *c = json_string_value(json_object_get(o, "code"));
  check(t && !strcmp(t, "error"), "error reply type");
  check(c && !strcmp(c, code), "error reply code kept");
  check(json_is_string(json_object_get(o, "message")), "error reply message");
  check(!json_object_get(o, "request") == !(request && *request), "request present iff given");
  json_decref(o);
  free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sig_req req;
  const char *code = NULL;
  char msg[256], type[48]; /* as sig_ws.c */
  memset(msg, 0x55, sizeof msg);
  memset(type, 0x55, sizeof type);
  int rc = sig_proto_decode((const char *)data, size, &req, &code, msg, sizeof msg, type, sizeof type);
  check(rc == 0 || rc == -EINVAL, "rc is 0 or -EINVAL");
  check(memchr(msg, 0, sizeof msg) != NULL || rc == 0, "reason NUL-terminated");
  check(memchr(type, 0, sizeof type) != NULL, "type NUL-terminated");

  /* Same input, tiny buffers: same verdict. */
  sig_req again;
  const char *code2 = NULL;
  char msg2[8], type2[3];
  int rc2 =
      sig_proto_decode((const char *)data, size, &again, &code2, msg2, sizeof msg2, type2, sizeof type2);
  check(rc2 == rc && (rc == 0 || !strcmp(code, code2)), "verdict independent of buffer sizes");
  check(!strncmp(type, type2, sizeof type2 - 1), "truncated type is a prefix");
  sig_req_clear(&again);

  if (rc != 0) {
    check(code &&
              (!strcmp(code, "bad_json") || !strcmp(code, "bad_message") || !strcmp(code, "unknown_type")),
          "decode error code");
    check(msg[0] != 0, "decode error has a reason");
    check(is_zero(&req), "failed decode leaves the request zeroed");
    check_error_reply(code, msg, type);
    sig_req_clear(&req); /* harmless on a zeroed request */
    return 0;
  }
  check_request(&req, type);
  /* The server quotes client text in later errors (bad SDP reasons, names). */
  check_error_reply("bad_sdp", req.sdp ? req.sdp : "", type);
  check_error_reply("wrong_state", req.candidate ? req.candidate : "", req.name);
  check_error_reply("unauthorized", req.token ? req.token : "no token", req.room);
  sig_req_clear(&req);
  check(is_zero(&req), "sig_req_clear zeroes");
  sig_req_clear(&req); /* twice is harmless */
  return 0;
}
