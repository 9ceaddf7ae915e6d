/* sig_resume: resume tokens for session resume (docs/protocol.md). A token
 * is 128 random bits (getrandom) in lower-case hex; it names one
 * participant of one room. The table maps live tokens to (room, participant
 * id) and keeps retired ones (the participant is gone) for a while, so a
 * late resume is told "expired" rather than "unknown".
 * Thread: the control thread only (no locking). No clock of its own: times
 * are passed in (monotonic microseconds). Strings given are copied; ids
 * handed back are borrowed until the next call that changes the table. */
#ifndef SIG_RESUME_H
#define SIG_RESUME_H

#include <stddef.h>
#include <stdint.h>

#define SIG_RESUME_TOKEN_LEN 32
/* How long a retired token is still recognised as expired. */
#define SIG_RESUME_RETIRED_KEEP_US (600 * (int64_t)1000000)

typedef struct sig_resume sig_resume;

typedef enum {
  SIG_RESUME_OK = 0,
  SIG_RESUME_MALFORMED,  /* not 32 lower-case hex characters */
  SIG_RESUME_UNKNOWN,    /* never issued here (or retired long ago) */
  SIG_RESUME_EXPIRED,    /* its participant is gone (grace period over, left, removed) */
  SIG_RESUME_OTHER_ROOM, /* issued for another room */
} sig_resume_status;

sig_resume *sig_resume_new(void);
void sig_resume_free(sig_resume *t); /* NULL is fine */

/* A new token for participant id of room, written to out (NUL-terminated,
 * SIG_RESUME_TOKEN_LEN + 1 bytes). 0, or -EIO when no randomness is to be
 * had (then no token). Retired tokens older than the keep time go. */
int sig_resume_issue(sig_resume *t, const char *room, const char *id, int64_t now_us,
                     char out[SIG_RESUME_TOKEN_LEN + 1]);

/* Which participant token (untrusted input, may be NULL) resumes in room.
 * On SIG_RESUME_OK *id_out (may be NULL) is the participant id. */
sig_resume_status sig_resume_lookup(const sig_resume *t, const char *token, const char *room,
                                    const char **id_out);

/* The participant of token is gone: later lookups say EXPIRED. */
void sig_resume_retire(sig_resume *t, const char *token, int64_t now_us);

/* Live tokens (for tests and metrics). */
unsigned sig_resume_live(const sig_resume *t);

const char *sig_resume_status_text(sig_resume_status s);

#endif
