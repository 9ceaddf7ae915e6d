/* fuzz_chat: libFuzzer target for sig_chat_handle (chat messages from a
 * data channel, hostile). The first byte picks binary or text and how much
 * time passes; the rest is the message. Checks beyond "no crash, no leak":
 * a relayed or error message is JSON with the right type; a relayed one
 * carries the server's sender, never the message's; nothing is relayed
 * that is over the limits. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sig_chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sig_chat_bucket b;
  static int64_t now = 1;
  if (size < 1) return 0;
  now += (data[0] & 0x7F) * 20000;
  sig_chat_from f = {.id = "p7", .name = "fuzz", .time_ms = 42, .now_us = now};
  char *out = NULL;
  const char *code = NULL;
  sig_chat_verdict v = sig_chat_handle(&b, &f, data + 1, size - 1, data[0] & 0x80, &out, &code);
  if (v == SIG_CHAT_DROP) {
    check(out == NULL);
    return 0;
  }
  check(out != NULL);
  json_t *j = json_loads(out, 0, NULL);
  check(j != NULL);
  const char *type = json_string_value(json_object_get(j, "type"));
  check(type != NULL);
  if (v == SIG_CHAT_ERROR) {
    check(!strcmp(type, "error") && code && !strcmp(json_string_value(json_object_get(j, "code")), code));
  } else {
    check(!strcmp(type, "chat") || !strcmp(type, "reaction"));
    json_t *from = json_object_get(j, "from");
    check(!strcmp(json_string_value(json_object_get(from, "id")), "p7"));
    check(json_integer_value(json_object_get(j, "time")) == 42);
    const char *text = json_string_value(json_object_get(j, "text"));
    check(!text || strlen(text) <= SIG_CHAT_MAX_TEXT);
    check(size - 1 <= SIG_CHAT_MAX_BYTES);
  }
  json_decref(j);
  free(out);
  return 0;
}
