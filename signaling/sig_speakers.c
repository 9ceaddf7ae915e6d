/* Who is speaking, the control side: the media side's decision for a room
 * (keys are participant numbers) becomes a "speaker" event for everyone in
 * it (docs/protocol.md). It comes only when something changed. */
#define G_LOG_DOMAIN "speaker"
#include <jansson.h>
#include <stdio.h>

#include "sig_room.h"

static sig_room *room_of_router(sig_app *app, sfu_id router, sfu_id transport) {
  const sig_part *s = g_hash_table_lookup(app->transports, GUINT_TO_POINTER(transport));
  if (s && s->room && s->room->router == router) return s->room;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, app->rooms);
  while (g_hash_table_iter_next(&it, NULL, &v))
    if (((sig_room *)v)->router == router) return v;
  return NULL;
}

static json_t *id_of(uint64_t key) {
  char id[24];
  snprintf(id, sizeof id, "p%llx", (unsigned long long)key);
  return json_string(id);
}

void sig_speakers_on_event(sig_app *app, const sfu_event *ev) {
  sig_room *r = room_of_router(app, ev->router, ev->transport);
  if (!r) return;
  const sfu_speaker_state *st = &ev->speaker;
  json_t *active = json_array();
  for (size_t i = 0; i < st->n_active; i++)
    json_array_append_new(
        active, json_pack("{s:o, s:i}", "id", id_of(st->active[i].id), "level", (int)st->active[i].level));
  json_t *j = json_pack("{s:s, s:o, s:o}", "type", "speaker", "dominant",
                        st->has_dominant ? id_of(st->dominant) : json_null(), "active", active);
  sig_broadcast(r, NULL, sig_dump(j));
}
