/* The publisher side: answering "publish" offers; each sending section is
 * a track with its own producer, and the others are told. */
#define G_LOG_DOMAIN "pub"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sig_room.h"

/* Every other member that subscribes gets (or loses) a section; the offers
 * follow once, after all of a change (offer_others). */
static void tell_subscribers(sig_part *s, const sig_track *t, bool add) {
  sig_room *r = s->room;
  for (guint i = 0; i < r->members->len; i++) {
    sig_part *m = g_ptr_array_index(r->members, i);
    if (m == s || m->dead || !m->can_subscribe) continue;
    if (add)
      sig_sub_add_track(m, s, t);
    else
      sig_sub_remove_track(m, t->id);
  }
}

static void offer_others(sig_part *s) {
  sig_room *r = s->room;
  for (guint i = 0; i < r->members->len; i++) {
    sig_part *m = g_ptr_array_index(r->members, i);
    if (m != s && !m->dead && m->can_subscribe) sig_sub_send_offer(m);
  }
}

static void remove_track(sig_part *s, guint i) {
  sig_track *t = g_ptr_array_index(s->tracks, i);
  sfu_worker_producer_close(s->app->cfg.worker, t->producer);
  g_hash_table_remove(s->app->producers, GUINT_TO_POINTER(t->producer));
  tell_subscribers(s, t, false);
  g_ptr_array_remove_index(s->tracks, i);
}

void sig_pub_remove_all(sig_part *s) {
  if (!s->tracks->len) return;
  while (s->tracks->len)
    remove_track(s, s->tracks->len - 1);
  offer_others(s);
}

static void broadcast_tracks(sig_part *s) {
  json_t *j = json_pack("{s:s, s:s, s:o}", "type", "tracks", "id", s->id, "tracks", sig_tracks_json(s));
  sig_broadcast(s->room, s, sig_dump(j)); /* the publisher knows; its answer says so */
}

static bool sending(const sig_sdp_media *m, const sig_sdp_accepted *a) {
  return a->accepted && (m->dir == SIG_DIR_SENDONLY || m->dir == SIG_DIR_SENDRECV);
}

static sig_source source_of(const sig_req *req, const char *mid, int kind) {
  for (unsigned i = 0; i < req->nsources; i++)
    if (!strcmp(req->sources[i].mid, mid)) return req->sources[i].source;
  return kind == KIND_VIDEO ? SIG_SRC_CAMERA : SIG_SRC_MICROPHONE;
}

/* The request's own mistakes, before anything changes. */
static int check_offer(const sig_part *s, const sig_sdp *o, const sig_req *req, const char **code, char *err,
                       size_t errlen) {
  for (unsigned i = 0; i < o->nmedia; i++) {
    const sig_sdp_media *m = &o->media[i];
    bool av = !strcmp(m->kind, "audio") || !strcmp(m->kind, "video");
    if (av && (m->port || m->bundle_only) && !m->mid[0]) {
      snprintf(err, errlen, "section %u has no a=mid", i);
      return -EINVAL;
    }
  }
  for (unsigned k = 0; k < req->nsources; k++) {
    const sig_sdp_media *m = NULL;
    for (unsigned i = 0; i < o->nmedia && !m; i++)
      if (!strcmp(o->media[i].mid, req->sources[k].mid)) m = &o->media[i];
    bool audio_src =
        req->sources[k].source == SIG_SRC_MICROPHONE || req->sources[k].source == SIG_SRC_SCREEN_AUDIO;
    if (!m || (strcmp(m->kind, audio_src ? "audio" : "video"))) {
      *code = "bad_message";
      snprintf(err, errlen, "tracks: mid \"%s\" is not a%s section of the offer", req->sources[k].mid,
               audio_src ? "n audio" : " video");
      return -EINVAL;
    }
  }
  (void)s;
  return 0;
}

static int check_limits(const sig_part *s, const sig_sdp *o, const sig_sdp_accepted *acc, const char **code,
                        char *err, size_t errlen) {
  unsigned n = 0;
  for (unsigned i = 0; i < o->nmedia; i++)
    n += sending(&o->media[i], &acc[i]);
  if (n > s->app->cfg.limits.max_tracks_per_participant) {
    *code = "too_many_tracks";
    snprintf(err, errlen, "the offer sends %u tracks; at most %u per participant", n,
             s->app->cfg.limits.max_tracks_per_participant);
    return -EINVAL;
  }
  if (n && !s->tracks->len && sig_room_publishers(s->room) >= s->app->cfg.limits.max_publishers_per_room) {
    *code = "room_full";
    snprintf(err, errlen, "this room has reached its publisher limit");
    return -EINVAL;
  }
  if (!n && !s->tracks->len) {
    snprintf(err, errlen, "the offer sends no audio or video the server can take");
    return -EINVAL;
  }
  return 0;
}

/* The offer's transport: the section its BUNDLE group names first (the
 * offerer's tag, RFC 8843 7.3.1), if we accept it, else the first accepted
 * section in BUNDLE order. Sections may carry their own credentials in an
 * initial offer; only the tagged one's count. */
static const sig_sdp_media *offer_transport(const sig_sdp *o, const sig_sdp_accepted *acc) {
  for (unsigned k = 0; k < o->nbundle; k++)
    for (unsigned i = 0; i < o->nmedia; i++)
      if (acc[i].accepted && !strcmp(o->media[i].mid, o->bundle[k])) return &o->media[i];
  return NULL;
}

/* The section whose ICE credentials are the transport's: the BUNDLE tag
 * (RFC 8843; other sections may carry credentials of their own), else the
 * first open section that has some. */
static const sig_sdp_media *ice_section(const sig_sdp *o) {
  for (unsigned k = 0; k < o->nbundle; k++)
    for (unsigned i = 0; i < o->nmedia; i++)
      if (o->media[i].port && o->media[i].ice_ufrag[0] && !strcmp(o->media[i].mid, o->bundle[k]))
        return &o->media[i];
  for (unsigned i = 0; i < o->nmedia; i++)
    if (o->media[i].port && o->media[i].ice_ufrag[0]) return &o->media[i];
  return NULL;
}

static void producer_params(const sig_part *s, int kind, const sig_sdp_accepted *a, sfu_producer_params *pp) {
  *pp = (sfu_producer_params){
      .video = kind == KIND_VIDEO,
      .clock_rate = a->codec.clock,
      .ncodecs = a->codec2.pt ? 2 : 1,
      .codecs = {{.pt = a->codec.pt, .codec = sfu_codec_from_name(a->codec.name), .rtx_pt = a->rtx_pt},
                 {.pt = a->codec2.pt, .codec = sfu_codec_from_name(a->codec2.name), .rtx_pt = a->rtx_pt2}},
      .ext_mid = a->ext_id_mid,
      .ext_rid = a->ext_id_rid,
      .ext_rrid = a->ext_id_rrid,
      .ext_abs_send_time = a->ext_id_abs_send_time,
      .ext_audio_level = a->ext_id_audio_level,
      .ext_twcc = a->ext_id_twcc,
      .nenc = a->nrids ? a->nrids : 1,
      .enc = {{.ssrc = a->nrids ? 0 : a->ssrc, .rtx_ssrc = a->nrids ? 0 : a->rtx_ssrc}},
      .remb_bps = kind == KIND_VIDEO ? s->app->cfg.max_bitrate_kbps * 1000u : 0,
  };
  for (unsigned i = 0; i < a->nrids && i < SFU_MAX_ENCODINGS; i++)
    g_strlcpy(pp->enc[i].rid, a->rids[i], sizeof pp->enc[i].rid);
  g_strlcpy(pp->mid, a->mid, sizeof pp->mid);
}

static sig_track *add_track(sig_part *s, const sig_req *req, const sig_sdp_accepted *a) {
  int kind = !strcmp(a->kind, "video") ? KIND_VIDEO : KIND_AUDIO;
  sig_track *t = g_new0(sig_track, 1);
  snprintf(t->id, sizeof t->id, "%s-%u", s->id, ++s->next_track);
  g_strlcpy(t->mid, a->mid, sizeof t->mid);
  t->kind = kind;
  t->source = source_of(req, a->mid, kind);
  t->producer = sig_new_id(s->app);
  t->codec[0] = sfu_codec_from_name(a->codec.name);
  t->codec[1] = a->codec2.pt ? sfu_codec_from_name(a->codec2.name) : SFU_CODEC_NONE;
  t->nrids = a->nrids;
  for (unsigned i = 0; i < a->nrids; i++)
    g_strlcpy(t->rids[i], a->rids[i], sizeof t->rids[i]);
  t->layers_on = (uint8_t)((1u << (a->nrids ? a->nrids : 1)) - 1);
  g_hash_table_insert(s->app->producers, GUINT_TO_POINTER(t->producer), s);
  sfu_producer_params pp;
  producer_params(s, kind, a, &pp);
  /* The speaker detection's key: the participant's number ("p<hex>"). */
  if (t->source == SIG_SRC_MICROPHONE) pp.speaker = g_ascii_strtoull(s->id + 1, NULL, 16);
  sfu_worker_produce(s->app->cfg.worker, s->tid[SIG_PC_PUB], t->producer, &pp);
  g_ptr_array_add(s->tracks, t);
  return t;
}

/* Tracks follow the offer: sections that stopped sending lose theirs, new
 * sending sections get one. True if anything changed. */
static bool apply_offer(sig_part *s, const sig_req *req, const sig_sdp *o, const sig_sdp_accepted *acc) {
  bool changed = false;
  for (guint k = s->tracks->len; k-- > 0;) {
    const sig_track *t = g_ptr_array_index(s->tracks, k);
    bool still = false;
    for (unsigned i = 0; i < o->nmedia && !still; i++)
      still = sending(&o->media[i], &acc[i]) && !strcmp(acc[i].mid, t->mid);
    if (!still) {
      remove_track(s, k);
      changed = true;
    }
  }
  for (unsigned i = 0; i < o->nmedia; i++) {
    if (!sending(&o->media[i], &acc[i])) continue;
    bool known = false;
    for (guint k = 0; k < s->tracks->len && !known; k++)
      known = !strcmp(((sig_track *)g_ptr_array_index(s->tracks, k))->mid, acc[i].mid);
    if (known) continue;
    tell_subscribers(s, add_track(s, req, &acc[i]), true);
    changed = true;
  }
  return changed;
}

int sig_pub_handle_offer(sig_part *s, const sig_req *req, const char **code, char *err, size_t errlen) {
  *code = "bad_sdp";
  sig_sdp *offer = sig_sdp_new();
  sig_sdp_accepted *acc = NULL;
  char *answer = NULL;
  int rc = -EINVAL;
  if (!offer) return -ENOMEM;
  if (sig_sdp_parse(req->sdp, strlen(req->sdp), offer, err, errlen) != 0 ||
      check_offer(s, offer, req, code, err, errlen) != 0)
    goto out;
  if (!s->tid[SIG_PC_PUB] && sig_part_new_transport(s, SIG_PC_PUB, err, errlen) != 0) {
    *code = "internal";
    goto out;
  }
  /* New ICE credentials in a later offer: the page restarted ICE
   * (iceRestart); our answer must carry new ones too. */
  const sig_sdp_media *im = ice_section(offer);
  if (im && sig_part_remote_ice(s, SIG_PC_PUB, im->ice_ufrag, im->ice_pwd, err, errlen) < 0) {
    *code = "internal";
    goto out;
  }
  acc = g_new0(sig_sdp_accepted, offer->nmedia);
  sig_sdp_local local;
  sig_part_local(s, SIG_PC_PUB, &local, "passive");
  if (!(answer = sig_sdp_write_answer(offer, &local, acc, err, errlen)) ||
      check_limits(s, offer, acc, code, err, errlen) != 0)
    goto out;
  const sig_sdp_media *tm = offer_transport(offer, acc);
  if (!tm) {
    snprintf(err, errlen, "no accepted section is in the BUNDLE group");
    goto out;
  }
  sig_part_connect(s, SIG_PC_PUB, tm);
  bool changed = apply_offer(s, req, offer, acc);
  if (changed) offer_others(s);
  json_t *j = json_pack("{s:s, s:s, s:s}", "type", "answer", "pc", "pub", "sdp", answer);
  sig_send(s, sig_dump(j));
  g_message("room %s: %s publishes %u track(s)", s->room->name, s->id, s->tracks->len);
  if (changed) broadcast_tracks(s);
  rc = 0;
out:
  free(answer);
  g_free(acc);
  free(offer);
  return rc;
}
