/* Chat over data channels, the control side: a participant's message is
 * checked and rate-limited (sig_chat) and relayed to everyone in the room
 * (the sender too: its copy says it was delivered), or answered with an
 * error on the sender's channel alone. The media thread only carries bytes. */
#define G_LOG_DOMAIN "chat"
#include <stdlib.h>
#include <string.h>

#include "sig_room.h"

static void send_to(sig_part *s, const sfu_id *ids, size_t n, const char *json) {
  sfu_worker_datachannel_send(s->app->cfg.worker, ids, n, json);
}

static void relay(sig_part *s, const char *json) {
  sig_room *r = s->room;
  sfu_id *ids = g_new(sfu_id, r->members->len);
  size_t n = 0;
  for (guint i = 0; i < r->members->len; i++) {
    const sig_part *m = g_ptr_array_index(r->members, i);
    if (!m->dead && m->dc_started) ids[n++] = m->tid[SIG_PC_SUB];
  }
  send_to(s, ids, n, json);
  g_free(ids);
}

void sig_chatroom_on_data(sig_part *s, const uint8_t *data, size_t len, bool binary, bool oversize) {
  char *out = NULL;
  const char *code = NULL;
  sig_chat_verdict v;
  if (oversize) {
    out = sig_chat_error_json("too_large", "message over the data channel's maximum size");
    code = "too_large";
    v = out ? SIG_CHAT_ERROR : SIG_CHAT_DROP;
  } else {
    sig_chat_from from = {
        .id = s->id, .name = s->name, .time_ms = g_get_real_time() / 1000, .now_us = g_get_monotonic_time()};
    v = sig_chat_handle(&s->chat, &from, data, len, binary, &out, &code);
  }
  if (!out) return;
  if (v == SIG_CHAT_RELAY) {
    relay(s, out);
  } else if (v == SIG_CHAT_ERROR) {
    /* One line per refusal would let a flood fill the log: the first of a streak only. */
    if (strcmp(code, "rate_limited") || s->chat.dropped <= 1)
      g_message("room %s: %s: chat message refused (%s)", s->room->name, s->id, code);
    send_to(s, &s->tid[SIG_PC_SUB], 1, out);
  }
  free(out);
}
