/* The subscriber side: sections of the "sub" connection, their consumers,
 * offers and answers. A removed track's section is offered closed (port 0)
 * and, once the browser has answered that, recycled for the next track of
 * the same kind, so the offer stays as large as the live tracks. */
#define G_LOG_DOMAIN "sub"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sig_room.h"

/* Our rtx payload type for one of our video payload types (sfu_const.h). */
static uint8_t rtx_pt_for(uint8_t pt) {
  return pt == SFU_PT_VP8 ? SFU_PT_VP8_RTX : pt == SFU_PT_H264 ? SFU_PT_H264_RTX : 0;
}

static sig_sdp_codec codec_for(sfu_codec c) {
  sig_sdp_codec k;
  memset(&k, 0, sizeof k);
  switch (c) {
  case SFU_CODEC_OPUS:
    k = (sig_sdp_codec){.pt = SFU_PT_OPUS, .name = "opus", .clock = 48000, .channels = 2};
    g_strlcpy(k.fmtp, "minptime=10;useinbandfec=1", sizeof k.fmtp);
    break;
  case SFU_CODEC_VP8:
    k = (sig_sdp_codec){.pt = SFU_PT_VP8, .name = "VP8", .clock = 90000};
    break;
  case SFU_CODEC_RED:
    k = (sig_sdp_codec){.pt = SFU_PT_RED, .name = "red", .clock = 48000, .channels = 2};
    g_snprintf(k.fmtp, sizeof k.fmtp, "%d/%d", SFU_PT_OPUS, SFU_PT_OPUS);
    break;
  case SFU_CODEC_H264:
    k = (sig_sdp_codec){.pt = SFU_PT_H264, .name = "H264", .clock = 90000};
    g_strlcpy(k.fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
              sizeof k.fmtp);
    break;
  default:
    break;
  }
  return k;
}

void sig_sub_init(sig_part *s) {
  s->secs = g_ptr_array_new_with_free_func(g_free);
  /* Always first and never closed: the BUNDLE tag, and it lets ICE and
   * DTLS finish before anyone publishes. */
  sig_sec *probe = g_new0(sig_sec, 1);
  g_strlcpy(probe->mid, "probe", sizeof probe->mid);
  probe->kind = KIND_AUDIO;
  probe->state = SEC_PROBE;
  probe->codec = codec_for(SFU_CODEC_OPUS);
  g_ptr_array_add(s->secs, probe);
  /* Second and fixed too: data channels (chat), also for those who never publish. */
  sig_sec *data = g_new0(sig_sec, 1);
  g_strlcpy(data->mid, "data", sizeof data->mid);
  data->kind = KIND_DATA;
  data->state = SEC_PROBE;
  g_ptr_array_add(s->secs, data);
}

void sig_sub_free(sig_part *s) {
  for (guint i = 1; s->secs && i < s->secs->len; i++) {
    sig_sec *sec = g_ptr_array_index(s->secs, i);
    if (sec->consumer) g_hash_table_remove(s->app->consumers, GUINT_TO_POINTER(sec->consumer));
  }
  if (s->secs) g_ptr_array_free(s->secs, TRUE);
  s->secs = NULL;
}

/* A consumer runs when the browser knows its section; the media side also
 * waits for the transport, so the first keyframe is not lost. */
static void set_running(sig_part *s, sig_sec *sec, bool running) {
  if (sec->consumer) sfu_worker_consumer_pause(s->app->cfg.worker, sec->consumer, !running);
}

static sig_sec *free_section(sig_part *s, int kind) {
  for (guint i = 1; i < s->secs->len; i++) {
    sig_sec *sec = g_ptr_array_index(s->secs, i);
    if (sec->state == SEC_CLOSED && sec->kind == kind) return sec;
  }
  if (s->secs->len >= SIG_SDP_MAX_MEDIA) return NULL;
  sig_sec *sec = g_new0(sig_sec, 1);
  g_ptr_array_add(s->secs, sec);
  return sec;
}

void sig_sub_add_track(sig_part *sub, const sig_part *pub, const sig_track *t) {
  sig_sec *sec = free_section(sub, t->kind);
  if (!sec) {
    g_warning("room %s: %s: no room for track %s: %d sections in use", sub->room->name, sub->id, t->id,
              SIG_SDP_MAX_MEDIA);
    sig_send(sub,
             sig_proto_error("too_many_tracks", "too many tracks in this room to receive them all", NULL));
    return;
  }
  snprintf(sec->mid, sizeof sec->mid, "%c%u", t->kind == KIND_VIDEO ? 'v' : 'a', sub->mid_counter++);
  sec->kind = t->kind;
  sec->state = SEC_ACTIVE;
  sec->negotiated = false; /* offered_*: what the browser saw last, kept */
  g_strlcpy(sec->pub_id, pub->id, sizeof sec->pub_id);
  g_strlcpy(sec->track_id, t->id, sizeof sec->track_id);
  sec->ssrc = (uint32_t)g_random_int_range(1, G_MAXINT32);
  sec->rtx_ssrc = t->kind == KIND_VIDEO ? (uint32_t)g_random_int_range(1, G_MAXINT32) : 0;
  sec->codec = codec_for(t->codec[0]);
  memset(&sec->codec2, 0, sizeof sec->codec2);
  if (t->codec[1]) sec->codec2 = codec_for(t->codec[1]);
  sfu_consumer_params cp = {.producer = t->producer,
                            .ssrc = sec->ssrc,
                            .pt = {sec->codec.pt, sec->codec2.pt},
                            .rtx_ssrc = sec->rtx_ssrc,
                            .rtx_pt = {rtx_pt_for(sec->codec.pt), rtx_pt_for(sec->codec2.pt)},
                            .screen = t->source == SIG_SRC_SCREEN,
                            .paused = true};
  g_strlcpy(cp.mid, sec->mid, sizeof cp.mid);
  sec->consumer = sig_new_id(sub->app);
  g_hash_table_insert(sub->app->consumers, GUINT_TO_POINTER(sec->consumer), sub);
  sfu_worker_consume(sub->app->cfg.worker, sub->tid[SIG_PC_SUB], sec->consumer, &cp);
}

void sig_sub_remove_track(sig_part *sub, const char *track_id) {
  for (guint i = 1; i < sub->secs->len; i++) {
    sig_sec *sec = g_ptr_array_index(sub->secs, i);
    if (sec->state != SEC_ACTIVE || strcmp(sec->track_id, track_id)) continue;
    if (sec->consumer) {
      sfu_worker_consumer_close(sub->app->cfg.worker, sec->consumer);
      g_hash_table_remove(sub->app->consumers, GUINT_TO_POINTER(sec->consumer));
    }
    sec->consumer = 0;
    sec->state = SEC_CLOSING;
    /* Recycled and gone again before any offer showed it: the browser still
     * knows this m-line closed under its old mid, and a closed m-line may not
     * change its mid (only a recycled, open one may). */
    if (sec->offered_closed && strcmp(sec->mid, sec->offered_mid)) {
      g_strlcpy(sec->mid, sec->offered_mid, sizeof sec->mid);
      sec->state = SEC_CLOSED;
    }
  }
}

sig_sec *sig_sub_section_by_track(const sig_part *s, const char *track_id) {
  for (guint i = 1; i < s->secs->len; i++) {
    sig_sec *sec = g_ptr_array_index(s->secs, i);
    if (sec->state == SEC_ACTIVE && !strcmp(sec->track_id, track_id)) return sec;
  }
  return NULL;
}

sig_sec *sig_sub_section_by_consumer(const sig_part *s, sfu_id consumer) {
  for (guint i = 1; i < s->secs->len; i++) {
    sig_sec *sec = g_ptr_array_index(s->secs, i);
    if (sec->consumer == consumer) return sec;
  }
  return NULL;
}

void sig_sub_add_room(sig_part *s) {
  for (guint i = 0; i < s->room->members->len && s->can_subscribe; i++) {
    const sig_part *m = g_ptr_array_index(s->room->members, i);
    if (m == s || m->dead) continue;
    for (guint k = 0; k < m->tracks->len; k++)
      sig_sub_add_track(s, m, g_ptr_array_index(m->tracks, k));
  }
}

static sig_sdp_offer_section section_for(sig_sec *sec, char *track, char *cname) {
  snprintf(cname, 40, "sfu-%s", sec->pub_id);
  snprintf(track, 40, "%s", sec->track_id);
  sec->offered_closed = sec->state == SEC_CLOSING || sec->state == SEC_CLOSED;
  g_strlcpy(sec->offered_mid, sec->mid, sizeof sec->offered_mid);
  if (sec->kind == KIND_DATA)
    return (sig_sdp_offer_section){.kind = "application",
                                   .mid = sec->mid,
                                   .sctp_port = SFU_DC_PORT,
                                   .max_message_size = SFU_DC_MAX_MESSAGE};
  return (sig_sdp_offer_section){
      .kind = sec->kind == KIND_VIDEO ? "video" : "audio",
      .mid = sec->mid,
      .active = sec->state == SEC_ACTIVE,
      .closed = sec->offered_closed,
      .ssrc = sec->ssrc,
      .cname = cname,
      .msid_stream = sec->pub_id[0] ? sec->pub_id : "-",
      .msid_track = track,
      .codec = sec->codec,
      .codec2 = sec->codec2,
      .rtx_ssrc = sec->rtx_ssrc,
      .rtx_pt = rtx_pt_for(sec->codec.pt),
      .rtx_pt2 = rtx_pt_for(sec->codec2.pt),
  };
}

void sig_sub_send_offer(sig_part *s) {
  if (s->dead) return;
  if (s->offer_in_flight) {
    s->need_offer = true;
    return;
  }
  guint n = s->secs->len;
  sig_sdp_offer_section *os = g_new0(sig_sdp_offer_section, n);
  char(*tracks)[40] = g_malloc0(n * 40);
  char(*cnames)[40] = g_malloc0(n * 40);
  for (guint i = 0; i < n; i++)
    os[i] = section_for(g_ptr_array_index(s->secs, i), tracks[i], cnames[i]);
  sig_sdp_local local;
  sig_part_local(s, SIG_PC_SUB, &local, "actpass");
  char err[256];
  char *sdp = sig_sdp_write_offer(&local, os, n, err, sizeof err);
  g_free(os);
  g_free(tracks);
  g_free(cnames);
  if (!sdp) {
    g_warning("room %s: %s: cannot write subscriber offer: %s", s->room->name, s->id, err);
    return;
  }
  json_t *j = json_pack("{s:s, s:s, s:s}", "type", "offer", "pc", "sub", "sdp", sdp);
  free(sdp);
  sig_send(s, sig_dump(j));
  s->offer_in_flight = true;
  s->offer_nsecs = n;
}

/* The answer's transport: the section its BUNDLE group names first (the
 * answerer's tag, RFC 8843 7.3.1), else its first open section. */
static const sig_sdp_media *answer_transport(const sig_sdp *a) {
  for (unsigned i = 0; i < a->nmedia; i++)
    if (a->nbundle && !strcmp(a->media[i].mid, a->bundle[0]) && a->media[i].port) return &a->media[i];
  for (unsigned i = 0; i < a->nmedia; i++)
    if (a->media[i].port && a->media[i].ice_ufrag[0]) return &a->media[i];
  return NULL;
}

static int check_answer(sig_part *s, const sig_sdp *a, const sig_sdp_media **t, char *err, size_t errlen) {
  const char *mids[SIG_SDP_MAX_MEDIA];
  for (unsigned i = 0; i < s->offer_nsecs && i < SIG_SDP_MAX_MEDIA; i++)
    mids[i] = ((const sig_sec *)g_ptr_array_index(s->secs, i))->offered_mid;
  if (sig_sdp_check_answer_mids(a, mids, s->offer_nsecs, err, errlen) != 0) return -EINVAL;
  if (!(*t = answer_transport(a)) || !(*t)->ice_ufrag[0] || !(*t)->ice_pwd[0]) {
    snprintf(err, errlen, "answer rejects every section or has no ICE credentials");
    return -EINVAL;
  }
  if (strcmp((*t)->setup, "active") != 0) {
    snprintf(err, errlen, "answer must use a=setup:active (got \"%s\")", (*t)->setup);
    return -EINVAL;
  }
  if (g_ascii_strcasecmp((*t)->fp_alg, "sha-256") != 0 || strlen((*t)->fingerprint) != 95) {
    snprintf(err, errlen, "answer needs a sha-256 fingerprint");
    return -EINVAL;
  }
  return 0;
}

/* The browser accepted the data section: the sub transport runs SCTP (RFC
 * 8841: an absent max-message-size means 64 KiB, 0 no limit). */
static void start_datachannel(sig_part *s, const sig_sdp_media *m) {
  if (s->dc_started || (!m->port && !m->bundle_only)) return;
  s->dc_started = true;
  uint32_t max = m->has_max_message_size ? m->max_message_size : 65536;
  sfu_worker_transport_datachannel(s->app->cfg.worker, s->tid[SIG_PC_SUB], m->sctp_port ? m->sctp_port : 5000,
                                   max);
}

/* A browser that does not take RED gets the Opus inside it (the consumer
 * unwraps, filling gaps from the redundant copies). */
static void check_red(sig_part *s, sig_sec *sec, const sig_sdp_media *m) {
  if (!sec->consumer || strcmp(sec->codec2.name, "red")) return;
  for (unsigned k = 0; k < m->ncodecs; k++)
    if (m->codecs[k].pt == sec->codec2.pt) return;
  sfu_worker_consumer_codecs(s->app->cfg.worker, sec->consumer, sec->codec.pt, 0);
}

static void apply_answer(sig_part *s, const sig_sdp *a) {
  for (unsigned i = 1; i < a->nmedia; i++) {
    sig_sec *sec = g_ptr_array_index(s->secs, i);
    if (sec->kind == KIND_DATA) {
      start_datachannel(s, &a->media[i]);
      continue;
    }
    if (sec->offered_closed) {
      /* Answered closed: the m-line may now carry another track. */
      if (sec->state == SEC_CLOSING) sec->state = SEC_CLOSED;
      continue;
    }
    bool ok = a->media[i].port != 0 && a->media[i].dir != SIG_DIR_INACTIVE;
    if (strcmp(sec->mid, sec->offered_mid)) continue; /* recycled since: the next answer tells */
    if (sec->state == SEC_ACTIVE && ok && !sec->negotiated) check_red(s, sec, &a->media[i]);
    if (sec->state == SEC_ACTIVE && ok != sec->negotiated) {
      sec->negotiated = ok;
      set_running(s, sec, ok);
    }
  }
}

int sig_sub_handle_answer(sig_part *s, const char *text, char *err, size_t errlen) {
  sig_sdp *a = sig_sdp_new();
  const sig_sdp_media *t = NULL;
  int rc = -EINVAL;
  if (!a) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  if (sig_sdp_parse(text, strlen(text), a, err, errlen) != 0 || check_answer(s, a, &t, err, errlen) != 0)
    goto out;
  /* After an ICE restart the answer has the page's new credentials. */
  int ice = sig_part_remote_ice(s, SIG_PC_SUB, t->ice_ufrag, t->ice_pwd, err, errlen);
  if (ice < 0) goto out;
  if (ice == 1) s->need_offer = true; /* the page restarted alone: our new credentials go out next */
  /* BUNDLE: every section repeats the same candidates; take them once, and
   * only with the first answer (later ones repeat what was trickled). */
  sig_part_connect(s, SIG_PC_SUB, t);
  s->answered_once = true;
  s->offer_in_flight = false;
  apply_answer(s, a);
  rc = 0;
  if (s->need_offer) {
    s->need_offer = false;
    sig_sub_send_offer(s);
  }
out:
  free(a);
  return rc;
}
