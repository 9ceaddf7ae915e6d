/* sig_room: rooms, participants, their published tracks and their
 * subscriber sections, as the control plane keeps them; and the small
 * helpers everything above uses (sending, broadcasting, the track list).
 * Private to sig_app*.c, sig_pub.c and sig_sub.c.
 * Thread: the control thread only. Ownership: the app owns participants
 * (by connection) and rooms (by name); a room borrows its members; a
 * participant owns its tracks and sections. Media objects are named by
 * sfu ids and live on the media thread. */
#ifndef SIG_ROOM_H
#define SIG_ROOM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfu.h"
#include "sig_app.h"
#include "sig_chat.h"
#include "sig_proto.h"
#include "sig_sdp.h"

#define KIND_AUDIO 0
#define KIND_VIDEO 1
#define KIND_DATA 2 /* the data channels' section of the sub connection */

typedef struct sig_part sig_part;
typedef struct sig_room sig_room;

/* One published track: one producer on the participant's pub transport. */
typedef struct {
  char id[SIG_TRACK_ID_MAX]; /* "<participant id>-<n>" */
  char mid[SIG_TRACK_ID_MAX];
  int kind;
  sig_source source;
  bool muted;
  sfu_id producer;
  sfu_codec codec[2]; /* what subscribers are offered */
  uint8_t nrids;      /* simulcast encodings, lowest first (0 = one encoding) */
  char rids[SIG_SDP_MAX_RID][16];
  uint8_t layers_on; /* encodings last asked of the publisher (bit per layer) */
} sig_track;

typedef enum {
  SEC_PROBE,   /* the first section, inactive audio: the BUNDLE tag, never closed */
  SEC_ACTIVE,  /* carries a track */
  SEC_CLOSING, /* its track is gone; offered closed next */
  SEC_CLOSED,  /* the browser answered the close: free to recycle */
} sig_sec_state;

/* One m-section of a participant's subscriber connection. */
typedef struct {
  char mid[16];
  char offered_mid[16]; /* its mid in the offer in flight */
  int kind;
  sig_sec_state state;
  bool offered_closed;     /* the offer in flight shows it closed */
  bool negotiated;         /* an answer accepted it as active */
  uint32_t ssrc, rtx_ssrc; /* rtx_ssrc: video's retransmission stream */
  sig_sdp_codec codec, codec2;
  char pub_id[16];                 /* publishing participant */
  char track_id[SIG_TRACK_ID_MAX]; /* the track it carries */
  sfu_id consumer;                 /* 0 when none */
} sig_sec;

struct sig_part {
  sig_app *app;
  uint64_t conn;
  char id[16];
  char name[72];
  char ip[64];
  char identity[72]; /* the token's "sub", "" if none */
  sig_room *room;    /* borrowed */
  bool dead;
  bool can_publish, can_subscribe;
  /* The two peer connections: SIG_PC_PUB, SIG_PC_SUB. */
  sfu_id tid[2];
  sfu_transport_local local[2]; /* our ICE credentials and candidates */
  bool remote_set[2], connected[2];
  char remote_ufrag[2][64], remote_pwd[2][128]; /* the remote's current ICE credentials */
  bool new_generation[2]; /* ICE restarted: the next description's candidates are taken */
  unsigned ncands[2];     /* remote candidates taken, capped */
  GPtrArray *early_cands; /* pub candidates before the pub transport exists (char*, owned) */
  uint64_t sdp_id, sdp_ver[2];
  /* Publishing. */
  GPtrArray *tracks; /* sig_track*, owned */
  unsigned next_track;
  /* Subscribing. */
  GPtrArray *secs; /* sig_sec*, owned; secs[0] is the probe, secs[1] the data section */
  bool offer_in_flight, need_offer, answered_once;
  unsigned offer_nsecs, mid_counter;
  /* Chat over the data channel (sig_chatroom.c). */
  bool dc_started;      /* the sub transport was told to run SCTP */
  sig_chat_bucket chat; /* rate limit of this participant's messages */
  /* Timing for the histograms. */
  int64_t join_us;
  bool first_packet_seen;
  GSource *closed_grace; /* the remote closed a connection: removal unless it leaves first */
  /* Session resume: the token the page got in joined; while its WebSocket
   * is gone (detached) the participant stays, sends go nowhere, and
   * resume_grace removes it unless a join with the token comes first. */
  char resume_token[40];
  bool resumable; /* the client asked for resume (join "resumable": true) */
  bool detached;
  GSource *resume_grace;
};

/* Owned by the app; members borrowed. Freed when the last one leaves. */
struct sig_room {
  char name[72];
  sfu_id router;
  GPtrArray *members; /* sig_part* */
};

/* Control-side state of the app (sig_app.c owns it). */
struct sig_app {
  sig_app_config cfg;
  sig_ws *ws;
  GHashTable *rooms;      /* name -> sig_room*, owned */
  GHashTable *parts;      /* &conn -> sig_part*, owned */
  GHashTable *transports; /* sfu_id -> sig_part*, borrowed: whose transport an event is about */
  GHashTable *consumers;  /* sfu_id -> sig_part* (the subscriber), borrowed */
  GHashTable *producers;  /* sfu_id -> sig_part* (the publisher), borrowed */
  uint64_t next_pid;
  sfu_id next_id;
  uint64_t joins, leaves, join_errors;
  sig_hist join_latency, first_packet;
  bool draining;
  struct sig_policy *policy;
  struct sig_resume *resume;
  uint64_t next_detached; /* connection ids of detached participants, never a socket's */
  GMutex ev_mu;           /* media events queued for the control thread */
  GQueue ev_q;
  bool ev_scheduled;
};

/* ---- helpers (sig_room.c) ---- */

sfu_id sig_new_id(sig_app *app);
void sig_send(sig_part *p, char *json); /* json transferred */
void sig_send_error(sig_app *app, uint64_t conn, const char *code, const char *msg, const char *req,
                    bool close);
/* To every live member but `except`; json transferred. */
void sig_broadcast(sig_room *r, const sig_part *except, char *json);
/* JSON text of a json_t, which it takes (json_decref). */
char *sig_dump(void *json_t_value);
/* {id, name, tracks: [...]} and the track list alone (new references). */
void *sig_part_json(const sig_part *p);
void *sig_tracks_json(const sig_part *p);
sig_track *sig_part_track(const sig_part *p, const char *track_id);
sig_track *sig_part_track_by_producer(const sig_part *p, sfu_id producer);
unsigned sig_room_publishers(const sig_room *r);

/* ---- subscriber side (sig_sub.c) ---- */

void sig_sub_init(sig_part *s);
void sig_sub_free(sig_part *s);
/* A track of `pub` appears: a section (recycled if one is free) and a paused consumer. */
void sig_sub_add_track(sig_part *sub, const sig_part *pub, const sig_track *t);
void sig_sub_remove_track(sig_part *sub, const char *track_id);
/* Sends the next offer, or remembers to once the one in flight is answered. */
void sig_sub_send_offer(sig_part *s);
int sig_sub_handle_answer(sig_part *s, const char *sdp, char *err, size_t errlen);
/* Every current track of the room's other members (at join). */
void sig_sub_add_room(sig_part *s);
sig_sec *sig_sub_section_by_track(const sig_part *s, const char *track_id);
sig_sec *sig_sub_section_by_consumer(const sig_part *s, sfu_id consumer);

/* ---- chat over data channels (sig_chatroom.c) ---- */

/* A message from s's chat channel (data owned by the caller), or a message
 * its SCTP dropped as too large (data NULL, oversize true). */
void sig_chatroom_on_data(sig_part *s, const uint8_t *data, size_t len, bool binary, bool oversize);

/* ---- who is speaking (sig_speakers.c) ---- */

/* SFU_EV_SPEAKER: tell the room. */
void sig_speakers_on_event(sig_app *app, const sfu_event *ev);

/* ---- publisher side (sig_pub.c) ---- */

int sig_pub_handle_offer(sig_part *s, const sig_req *req, const char **code, char *err, size_t errlen);
void sig_pub_remove_all(sig_part *s);

/* ---- transports (sig_room.c) ---- */

int sig_part_new_transport(sig_part *s, int pc, char *err, size_t errlen);
/* Fills l with our side of connection pc (candidates borrowed from s). */
void sig_part_local(sig_part *s, int pc, sig_sdp_local *l, const char *setup);
void sig_part_add_candidate(sig_part *s, int pc, const char *cand);
/* The remote description's transport: credentials and fingerprint, then
 * its candidates. Later descriptions add their candidates only after an
 * ICE restart (sig_part_remote_ice noticed new credentials). */
void sig_part_connect(sig_part *s, int pc, const sig_sdp_media *m);
/* ICE restart of connection pc from our side (the page asked with
 * restart-ice): new local credentials for the next offer. 0 or <0 (err). */
int sig_part_restart_ice(sig_part *s, int pc, char *err, size_t errlen);
/* The ICE credentials of a later remote description (before our answer is
 * written). Unchanged, or before the first connect: 0. New: the transport
 * takes them (restarting on our side too if it had not: 1, s->local[pc]
 * changed). <0 with err on failure. */
int sig_part_remote_ice(sig_part *s, int pc, const char *ufrag, const char *pwd, char *err, size_t errlen);

#endif
