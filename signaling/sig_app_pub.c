/* The publisher side: answering "publish" offers and the producers they make. */
#define G_LOG_DOMAIN "pub"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sig_app_internal.h"

static unsigned room_publishers(room *r) {
  unsigned n = 0;
  for (guint i = 0; i < r->members->len; i++) {
    session *m = g_ptr_array_index(r->members, i);
    if (m->prod[0] || m->prod[1]) n++;
  }
  return n;
}

static void for_others(session *s, int kind, bool add) {
  room *r = s->room;
  for (guint i = 0; i < r->members->len; i++) {
    session *m = g_ptr_array_index(r->members, i);
    if (m == s || m->dead || !m->can_subscribe) continue; /* no sections for a non-subscriber */
    if (add)
      sub_add_producer(m, s, kind);
    else
      sub_remove_producer(m, s, kind);
    sub_send_offer(m);
  }
}

static void remove_producer(session *s, int kind) {
  if (!s->prod[kind]) return;
  for_others(s, kind, false);
  sfu_producer_free(s->prod[kind]);
  s->prod[kind] = NULL;
}

void pub_remove_all(session *s) {
  for (int k = 0; k < 2; k++)
    remove_producer(s, k);
}

static void broadcast_tracks(session *s) {
  json_t *j = json_pack("{s:s, s:s, s:b, s:b}", "type", "tracks", "id", s->id, "audio", s->prod[0] != NULL,
                        "video", s->prod[1] != NULL);
  char *txt = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  app_broadcast(s->app, s->room, s, txt); /* the publisher knows; its answer says so */
}

static int create_producer(session *s, int kind, const sig_sdp_accepted *acc) {
  sfu_producer_params pp = {
      .video = kind == KIND_VIDEO,
      .ssrc = acc->ssrc,
      .clock_rate = acc->codec.clock ? acc->codec.clock : (kind == KIND_VIDEO ? 90000 : 48000),
      .pt = {acc->codec.pt, acc->codec2.pt},
      .codec = {sfu_codec_from_name(acc->codec.name),
                acc->codec2.pt ? sfu_codec_from_name(acc->codec2.name) : SFU_CODEC_NONE},
      .ext_mid = acc->ext_id_mid,
      .ext_abs_send_time = acc->ext_id_abs_send_time,
      .ext_audio_level = acc->ext_id_audio_level,
      .pub_peer = s->peer[SIG_PC_PUB],
      .remb_bps = kind == KIND_VIDEO ? s->app->cfg.max_bitrate_kbps * 1000u : 0,
      .stats = &s->app->rstats,
  };
  s->prod[kind] = sfu_producer_new(&pp);
  if (!s->prod[kind]) return -ENOMEM;
  s->pub_codec[kind][0] = pp.codec[0];
  s->pub_codec[kind][1] = pp.codec[1];
  return 0;
}

int pub_handle_offer(session *s, const char *text, const char **code, char *err, size_t errlen) {
  *code = "bad_sdp";
  sig_sdp *offer = sig_sdp_new();
  sig_sdp_accepted *acc = NULL;
  char *answer = NULL, **cands = NULL;
  int rc = -EINVAL;
  if (!offer) return -ENOMEM;
  if (sig_sdp_parse(text, strlen(text), offer, err, errlen) != 0) goto out;
  if (!s->peer[SIG_PC_PUB]) {
    if (media_new_peer(s, SIG_PC_PUB, err, errlen) != 0) {
      *code = "internal";
      goto out;
    }
  }
  acc = g_new0(sig_sdp_accepted, offer->nmedia ? offer->nmedia : 1);
  sig_sdp_local local;
  media_fill_local(s, SIG_PC_PUB, &local, "passive", &cands);
  answer = sig_sdp_write_answer(offer, &local, acc, err, errlen);
  if (!answer) goto out;

  /* The first accepted section of each kind becomes the producer. */
  int first[2] = {-1, -1};
  for (unsigned i = 0; i < offer->nmedia; i++) {
    const sig_sdp_media *m = &offer->media[i];
    if (!acc[i].accepted || (m->dir != SIG_DIR_SENDONLY && m->dir != SIG_DIR_SENDRECV)) continue;
    int k = !strcmp(acc[i].kind, "video") ? KIND_VIDEO : KIND_AUDIO;
    if (first[k] < 0) first[k] = (int)i;
  }
  if (first[0] < 0 && first[1] < 0 && !s->prod[0] && !s->prod[1]) {
    snprintf(err, errlen, "the offer sends no audio or video the server can take");
    goto out;
  }
  if (!s->prod[0] && !s->prod[1] && room_publishers(s->room) >= s->app->cfg.max_publishers_per_room) {
    *code = "room_full";
    snprintf(err, errlen, "this room has reached its publisher limit");
    goto out;
  }
  int t = first[0] >= 0 ? first[0] : first[1];
  if (t < 0) t = 0;
  const sig_sdp_media *tm = &offer->media[t];
  if (!s->remote_set[SIG_PC_PUB]) {
    if (tp_peer_set_remote(s->peer[SIG_PC_PUB], tm->ice_ufrag, tm->ice_pwd, tm->fingerprint, err, errlen) !=
        0)
      goto out;
    s->remote_set[SIG_PC_PUB] = true;
    s->remote_set_us[SIG_PC_PUB] = g_get_monotonic_time();
    /* Later offers repeat candidates already known. */
    for (unsigned c = 0; c < tm->ncand; c++)
      media_add_candidate(s, SIG_PC_PUB, tm->cand[c]);
  }

  bool changed = false;
  for (int k = 0; k < 2; k++) {
    if (first[k] < 0) {
      if (s->prod[k]) changed = true;
      remove_producer(s, k);
      continue;
    }
    const sig_sdp_accepted *a = &acc[first[k]];
    g_strlcpy(s->pub_mid[k], a->mid, sizeof s->pub_mid[k]);
    s->pub_ext_mid = a->ext_id_mid ? a->ext_id_mid : s->pub_ext_mid;
    s->pub_ssrc[k] = a->ssrc; /* a new ssrc re-bases consumers on its first packet */
    if (s->prod[k]) continue;
    if (create_producer(s, k, a) != 0) {
      *code = "internal";
      snprintf(err, errlen, "out of memory");
      goto out;
    }
    changed = true;
    for_others(s, k, true);
  }
  json_t *j = json_pack("{s:s, s:s, s:s}", "type", "answer", "pc", "pub", "sdp", answer);
  app_send(s->app, s, json_dumps(j, JSON_COMPACT));
  json_decref(j);
  g_message("room %s: %s publishes audio=%d video=%d", s->room->name, s->id, s->prod[0] != NULL,
            s->prod[1] != NULL);
  if (changed) broadcast_tracks(s);
  rc = 0;
out:
  g_strfreev(cands);
  free(answer);
  g_free(acc);
  free(offer);
  return rc;
}
