/* Helpers of the control plane: ids, sending, track lists, a participant's
 * transports. Control thread. */
#define G_LOG_DOMAIN "room"
#include "sig_room.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sfu_id sig_new_id(sig_app *app) {
  if (++app->next_id == 0) app->next_id = 1;
  return app->next_id;
}

void sig_send(sig_part *p, char *json) {
  if (!json) return;
  if (p->app->ws && !p->dead && !p->detached)
    sig_ws_send(p->app->ws, p->conn, json, false);
  else
    free(json);
}

void sig_send_error(sig_app *app, uint64_t conn, const char *code, const char *msg, const char *req,
                    bool close) {
  char *j = sig_proto_error(code, msg, req);
  if (app->ws)
    sig_ws_send(app->ws, conn, j, close);
  else
    free(j);
}

void sig_broadcast(sig_room *r, const sig_part *except, char *json) {
  for (guint i = 0; i < r->members->len; i++) {
    sig_part *m = g_ptr_array_index(r->members, i);
    if (m != except && !m->dead) sig_send(m, strdup(json));
  }
  free(json);
}

char *sig_dump(void *v) {
  json_t *o = v;
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

void *sig_tracks_json(const sig_part *p) {
  json_t *a = json_array();
  for (guint i = 0; i < p->tracks->len; i++) {
    const sig_track *t = g_ptr_array_index(p->tracks, i);
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:b}", "id", t->id, "kind",
                                       t->kind == KIND_VIDEO ? "video" : "audio", "source",
                                       sig_source_name(t->source), "muted", t->muted));
  }
  return a;
}

void *sig_part_json(const sig_part *p) {
  return json_pack("{s:s, s:s, s:o}", "id", p->id, "name", p->name, "tracks", sig_tracks_json(p));
}

sig_track *sig_part_track(const sig_part *p, const char *track_id) {
  for (guint i = 0; i < p->tracks->len; i++) {
    sig_track *t = g_ptr_array_index(p->tracks, i);
    if (!strcmp(t->id, track_id)) return t;
  }
  return NULL;
}

sig_track *sig_part_track_by_producer(const sig_part *p, sfu_id producer) {
  for (guint i = 0; i < p->tracks->len; i++) {
    sig_track *t = g_ptr_array_index(p->tracks, i);
    if (t->producer == producer) return t;
  }
  return NULL;
}

unsigned sig_room_publishers(const sig_room *r) {
  unsigned n = 0;
  for (guint i = 0; i < r->members->len; i++)
    n += ((sig_part *)g_ptr_array_index(r->members, i))->tracks->len > 0;
  return n;
}

/* ---- transports ---- */

int sig_part_new_transport(sig_part *s, int pc, char *err, size_t errlen) {
  sig_app *app = s->app;
  sfu_transport_params tp = {.ice_controlling = pc == SIG_PC_SUB}; /* we offer on sub, answer on pub */
  snprintf(tp.log_name, sizeof tp.log_name, "%.40s/%s/%s", s->room->name, s->id,
           pc == SIG_PC_PUB ? "pub" : "sub");
  sfu_id id = sig_new_id(app);
  int rc = sfu_worker_transport_create(app->cfg.worker, s->room->router, id, &tp, &s->local[pc], err, errlen);
  if (rc != 0) return rc;
  s->tid[pc] = id;
  g_hash_table_insert(app->transports, GUINT_TO_POINTER(id), s);
  if (pc == SIG_PC_PUB) {
    for (guint i = 0; i < s->early_cands->len; i++)
      sig_part_add_candidate(s, pc, g_ptr_array_index(s->early_cands, i));
    g_ptr_array_set_size(s->early_cands, 0);
  }
  return 0;
}

void sig_part_local(sig_part *s, int pc, sig_sdp_local *l, const char *setup) {
  *l = (sig_sdp_local){
      .ice_ufrag = s->local[pc].ufrag,
      .ice_pwd = s->local[pc].pwd,
      .fingerprint = tp_cert_fingerprint(s->app->cfg.cert),
      .setup = setup,
      .cands = (const char *const *)s->local[pc].cands,
      .session_id = s->sdp_id,
      .session_version = ++s->sdp_ver[pc],
      .ice_lite = s->local[pc].ice_lite,
  };
}

/* A browser has a handful of candidates; more is abuse (each one makes the
 * server send connectivity checks to an address the client chose). */
#define MAX_REMOTE_CANDS 64

void sig_part_add_candidate(sig_part *s, int pc, const char *cand) {
  if (cand && ++s->ncands[pc] > MAX_REMOTE_CANDS) {
    /* Not an error for the page: a machine with many interfaces is legit. */
    if (s->ncands[pc] == MAX_REMOTE_CANDS + 1)
      g_message("room %s: %s: more than %d ICE candidates; ignoring the rest", s->room->name, s->id,
                MAX_REMOTE_CANDS);
    return;
  }
  if (!s->tid[pc]) {
    if (cand && s->early_cands->len < 32) g_ptr_array_add(s->early_cands, strdup(cand));
    return;
  }
  sfu_worker_transport_add_candidate(s->app->cfg.worker, s->tid[pc], cand);
}

void sig_part_connect(sig_part *s, int pc, const sig_sdp_media *m) {
  if (s->remote_set[pc] && !s->new_generation[pc]) return;
  if (!s->remote_set[pc]) {
    sfu_worker_transport_connect(s->app->cfg.worker, s->tid[pc], m->ice_ufrag, m->ice_pwd, m->fingerprint);
    s->remote_set[pc] = true;
    g_strlcpy(s->remote_ufrag[pc], m->ice_ufrag, sizeof s->remote_ufrag[pc]);
    g_strlcpy(s->remote_pwd[pc], m->ice_pwd, sizeof s->remote_pwd[pc]);
  }
  s->new_generation[pc] = false;
  for (unsigned c = 0; c < m->ncand; c++)
    sig_part_add_candidate(s, pc, m->cand[c]);
}

static const char *pc_name(int pc) {
  return pc == SIG_PC_PUB ? "pub" : "sub";
}

/* Our credentials changed: the next offer or answer carries them. */
static void take_local(sig_part *s, int pc, const sfu_transport_local *l) {
  g_strlcpy(s->local[pc].ufrag, l->ufrag, sizeof s->local[pc].ufrag);
  g_strlcpy(s->local[pc].pwd, l->pwd, sizeof s->local[pc].pwd);
  s->ncands[pc] = 0; /* a new generation of remote candidates */
  s->new_generation[pc] = true;
}

int sig_part_restart_ice(sig_part *s, int pc, char *err, size_t errlen) {
  if (!s->tid[pc] || !s->remote_set[pc]) {
    snprintf(err, errlen, "restart-ice: the %s connection is not negotiated yet", pc_name(pc));
    return -EINVAL;
  }
  sfu_transport_local l;
  int rc = sfu_worker_transport_restart_ice(s->app->cfg.worker, s->tid[pc], &l, err, errlen);
  if (rc != 0) return rc;
  take_local(s, pc, &l);
  g_message("room %s: %s %s: ICE restart asked by the page", s->room->name, s->id, pc_name(pc));
  return 0;
}

int sig_part_remote_ice(sig_part *s, int pc, const char *ufrag, const char *pwd, char *err, size_t errlen) {
  if (!s->remote_set[pc] || !ufrag || !*ufrag || !pwd || !*pwd) return 0;
  if (!strcmp(ufrag, s->remote_ufrag[pc]) && !strcmp(pwd, s->remote_pwd[pc])) return 0;
  sfu_transport_local l;
  int rc = sfu_worker_transport_remote_ice(s->app->cfg.worker, s->tid[pc], ufrag, pwd, &l, err, errlen);
  if (rc < 0) return rc;
  g_strlcpy(s->remote_ufrag[pc], ufrag, sizeof s->remote_ufrag[pc]);
  g_strlcpy(s->remote_pwd[pc], pwd, sizeof s->remote_pwd[pc]);
  s->new_generation[pc] = true;
  if (rc == 1) {
    take_local(s, pc, &l);
    g_message("room %s: %s %s: ICE restart by the page", s->room->name, s->id, pc_name(pc));
  }
  return rc;
}
