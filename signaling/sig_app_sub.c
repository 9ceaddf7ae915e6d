/* The subscriber side: sections of the "sub" connection, offers, answers. */
#define G_LOG_DOMAIN "sub"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sig_app_internal.h"

static sig_sdp_codec codec_for(sfu_codec c) {
  sig_sdp_codec k;
  memset(&k, 0, sizeof k);
  switch (c) {
  case SFU_CODEC_OPUS:
    k.pt = SUB_PT_OPUS;
    g_strlcpy(k.name, "opus", sizeof k.name);
    k.clock = 48000;
    k.channels = 2;
    g_strlcpy(k.fmtp, "minptime=10;useinbandfec=1", sizeof k.fmtp);
    break;
  case SFU_CODEC_VP8:
    k.pt = SUB_PT_VP8;
    g_strlcpy(k.name, "VP8", sizeof k.name);
    k.clock = 90000;
    break;
  case SFU_CODEC_H264:
    k.pt = SUB_PT_H264;
    g_strlcpy(k.name, "H264", sizeof k.name);
    k.clock = 90000;
    g_strlcpy(k.fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
              sizeof k.fmtp);
    break;
  default:
    break;
  }
  return k;
}

static sub_sec *sec_new(const char *mid, int kind) {
  sub_sec *sec = g_new0(sub_sec, 1);
  g_strlcpy(sec->mid, mid, sizeof sec->mid);
  sec->kind = kind;
  return sec;
}

static void sec_free(gpointer p) {
  sub_sec *sec = p;
  sfu_consumer_free(sec->cons);
  g_free(sec);
}

void sub_init(session *s) {
  s->secs = g_ptr_array_new_with_free_func(sec_free);
  /* Always first and never removed: Unified Plan keeps m-line order, and
   * it lets ICE/DTLS finish before anyone publishes. */
  sub_sec *probe = sec_new("probe", KIND_AUDIO);
  probe->codec = codec_for(SFU_CODEC_OPUS);
  g_ptr_array_add(s->secs, probe);
}

void sub_free(session *s) {
  if (s->secs) g_ptr_array_free(s->secs, TRUE);
  s->secs = NULL;
}

/* A consumer runs only when the browser knows its section and the
 * transport is up; otherwise its first keyframe would be lost. */
void sub_update_running(session *s) {
  for (guint i = 0; i < s->secs->len; i++) {
    sub_sec *sec = g_ptr_array_index(s->secs, i);
    if (sec->cons)
      sfu_consumer_set_paused(sec->cons, !(sec->active && sec->negotiated && s->connected[SIG_PC_SUB]));
  }
}

void sub_add_producer(session *sub, session *pub, int kind) {
  char mid[16];
  snprintf(mid, sizeof mid, "%c%u", kind == KIND_VIDEO ? 'v' : 'a', sub->mid_counter++);
  sub_sec *sec = sec_new(mid, kind);
  sec->active = true;
  g_strlcpy(sec->pub_id, pub->id, sizeof sec->pub_id);
  sec->ssrc = g_random_int_range(1, G_MAXINT32);
  sec->codec = codec_for(pub->pub_codec[kind][0]);
  if (pub->pub_codec[kind][1]) sec->codec2 = codec_for(pub->pub_codec[kind][1]);
  sfu_consumer_params cp = {
      .ssrc = sec->ssrc,
      .pt = {sec->codec.pt, sec->codec2.pt},
      .mid = sec->mid,
      .sub_peer = sub->peer[SIG_PC_SUB],
      .stats = &sub->app->rstats,
  };
  sec->cons = sfu_consumer_new(pub->prod[kind], &cp, g_get_monotonic_time());
  if (sec->cons) sfu_consumer_set_paused(sec->cons, true);
  g_ptr_array_add(sub->secs, sec);
}

void sub_remove_producer(session *sub, const session *pub, int kind) {
  for (guint i = 0; i < sub->secs->len; i++) {
    sub_sec *sec = g_ptr_array_index(sub->secs, i);
    if (sec->active && sec->kind == kind && !strcmp(sec->pub_id, pub->id)) {
      sfu_consumer_free(sec->cons);
      sec->cons = NULL;
      sec->active = false;
    }
  }
}

void sub_send_offer(session *s) {
  if (s->dead) return;
  if (s->offer_in_flight) {
    s->need_offer = true;
    return;
  }
  guint n = s->secs->len;
  sig_sdp_offer_section *os = g_new0(sig_sdp_offer_section, n);
  char(*tracks)[40] = g_malloc0(n * 40);
  char(*cnames)[40] = g_malloc0(n * 40);
  for (guint i = 0; i < n; i++) {
    sub_sec *sec = g_ptr_array_index(s->secs, i);
    snprintf(tracks[i], 40, "%s-%s", sec->pub_id, sec->kind == KIND_VIDEO ? "video" : "audio");
    snprintf(cnames[i], 40, "sfu-%s", sec->pub_id);
    os[i] = (sig_sdp_offer_section){
        .kind = sec->kind == KIND_VIDEO ? "video" : "audio",
        .mid = sec->mid,
        .active = sec->active,
        .ssrc = sec->ssrc,
        .cname = cnames[i],
        .msid_stream = sec->pub_id[0] ? sec->pub_id : "-",
        .msid_track = tracks[i],
        .codec = sec->codec,
        .codec2 = sec->codec2,
    };
  }
  sig_sdp_local local;
  char **cands = NULL;
  media_fill_local(s, SIG_PC_SUB, &local, "actpass", &cands);
  char err[256];
  char *sdp = sig_sdp_write_offer(&local, os, n, err, sizeof err);
  g_strfreev(cands);
  g_free(os);
  g_free(tracks);
  g_free(cnames);
  if (!sdp) {
    g_warning("room %s: %s: cannot write subscriber offer: %s", s->room->name, s->id, err);
    return;
  }
  json_t *j = json_pack("{s:s, s:s, s:s}", "type", "offer", "pc", "sub", "sdp", sdp);
  free(sdp);
  app_send(s->app, s, json_dumps(j, JSON_COMPACT));
  json_decref(j);
  s->offer_in_flight = true;
  s->offer_nsecs = n;
}

int sub_handle_answer(session *s, const char *text, char *err, size_t errlen) {
  sig_sdp *a = sig_sdp_new();
  int rc = -EINVAL;
  if (!a) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  if (sig_sdp_parse(text, strlen(text), a, err, errlen) != 0) goto out;
  if (a->nmedia != s->offer_nsecs) {
    snprintf(err, errlen, "answer has %u sections, the offer had %u", a->nmedia, s->offer_nsecs);
    goto out;
  }
  const sig_sdp_media *t = NULL;
  for (unsigned i = 0; i < a->nmedia && !t; i++)
    if (a->media[i].port && a->media[i].ice_ufrag[0]) t = &a->media[i];
  if (!t) {
    snprintf(err, errlen, "answer rejects every section or has no ICE credentials");
    goto out;
  }
  if (strcmp(t->setup, "active") != 0) {
    snprintf(err, errlen, "answer must use a=setup:active (got \"%s\")", t->setup);
    goto out;
  }
  if (g_ascii_strcasecmp(t->fp_alg, "sha-256") != 0) {
    snprintf(err, errlen, "answer needs a sha-256 fingerprint");
    goto out;
  }
  if (!s->remote_set[SIG_PC_SUB]) {
    if (tp_peer_set_remote(s->peer[SIG_PC_SUB], t->ice_ufrag, t->ice_pwd, t->fingerprint, err, errlen) != 0)
      goto out;
    s->remote_set[SIG_PC_SUB] = true;
    s->remote_set_us[SIG_PC_SUB] = g_get_monotonic_time();
  }
  for (unsigned i = 0; i < a->nmedia; i++) {
    sub_sec *sec = g_ptr_array_index(s->secs, i);
    sec->negotiated = a->media[i].port != 0 && a->media[i].dir != SIG_DIR_INACTIVE;
  }
  /* BUNDLE: every section repeats the same candidates; take them once, and
   * only with the first answer (later ones repeat what was trickled). */
  if (!s->answered_once)
    for (unsigned c = 0; c < t->ncand; c++)
      media_add_candidate(s, SIG_PC_SUB, t->cand[c]);
  s->answered_once = true;
  s->offer_in_flight = false;
  sub_update_running(s);
  rc = 0;
  if (s->need_offer) {
    s->need_offer = false;
    sub_send_offer(s);
  }
out:
  free(a);
  return rc;
}
