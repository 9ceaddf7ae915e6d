/* sfu_speaker: dominant speaker identification (see sfu_speaker.h).
 *
 * Per participant a ring of 50 levels, one per 20 ms frame, louder = higher
 * (127 - the RFC 6464 value). At each tick:
 * - immediates: each frame's level mapped to one of 13 sub-bands (level/10),
 *   after levels within 10 of the participant's noise floor are zeroed, so a
 *   noisy room and a quiet one compete on equal terms;
 * - mediums: for each 100 ms block (5 frames), how many frames are in a
 *   sub-band above 7;
 * - long: how many of the 10 blocks of the last second have all 5 loud;
 * - each of the three is scored as the likelihood of speech (a binomial
 *   term plus an exponential prior, the paper's formula with the constants
 *   both Jitsi and mediasoup use);
 * - somebody replaces the dominant speaker when they beat the dominant on
 *   all three time scales by a margin (ln ratios > 3, > 2, > 0); among
 *   several, the one with the largest medium-scale margin wins.
 * Differences from Jitsi's port, on purpose: nobody is dominant before
 * anybody has spoken (Jitsi nominates an arbitrary participant, which a page
 * would show as a speaker who never spoke); a gap of up to 120 ms between
 * levels is one packet's duration (40/60/120 ms Opus frames), a longer one
 * counts as silence followed by the new level (mediasoup repeats the new
 * level over the whole gap). */
#include "sfu_speaker.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FRAMES 50 /* N2 * N3: one second of 20 ms frames */
#define FRAME_MS 20
#define N1 13      /* sub-bands of the level range */
#define N2 5       /* frames per medium block */
#define N3 10      /* medium blocks per long window */
#define SUBBAND 10 /* ceil(127 / 13) rounded down as the originals do: (127 + 12) / 13 */
#define MEDIUM_THRESHOLD 7
#define LONG_THRESHOLD 4
#define LEVEL_IDLE_MS 40      /* no level for this long: the frame was silent */
#define MAX_PACKET_MS 120     /* longest Opus packet: a gap up to this is one packet */
#define MIN_WINDOW_FRAMES 750 /* 15 s: how slowly the noise floor may rise */
#define WARMUP_FRAMES 25      /* 0.5 s of levels before the first floor */
#define MIN_SCORE 1e-10
/* ln ratio thresholds for the immediate, medium and long scores */
#define C1 3.0
#define C2 2.0
#define C3 0.0
/* Active speakers: mean cooked level over the last 500 ms, reported in steps. */
#define ACTIVE_FRAMES 25
#define ACTIVE_STEP 16
#define ACTIVE_HYSTERESIS 16 /* a change of less than a step is not reported */
#define ACTIVE_MIN_MS 300    /* and not more often than this */

typedef struct {
  bool used, paused;
  uint64_t id;
  uint64_t last_ms;
  uint8_t levels[FRAMES]; /* ring; levels[next - 1] is the newest */
  unsigned next;
  uint8_t min_level, next_min; /* noise floor and its candidate; 0 = unknown */
  unsigned next_min_frames, warmup;
  uint8_t cooked[FRAMES]; /* newest first, floor-zeroed levels */
  double score[3];        /* immediate, medium, long */
  uint8_t reported;       /* active level last reported, 0 = not active */
  uint8_t pending;        /* the one this tick found */
} spk;

struct sfu_speaker {
  size_t cap;
  int dominant;           /* slot, -1 = nobody */
  sfu_speaker_state last; /* as last reported */
  uint64_t active_at;     /* when the levels were last reported */
  spk s[];
};

sfu_speaker *sfu_speaker_new(size_t max_speakers) {
  if (max_speakers == 0 || max_speakers > 4096) return NULL;
  sfu_speaker *s = calloc(1, sizeof *s + max_speakers * sizeof(spk));
  if (!s) return NULL;
  s->cap = max_speakers;
  s->dominant = -1;
  return s;
}

void sfu_speaker_free(sfu_speaker *s) {
  free(s);
}

static spk *slot_of(sfu_speaker *s, int slot) {
  if (!s || slot < 0 || (size_t)slot >= s->cap || !s->s[slot].used) return NULL;
  return &s->s[slot];
}

int sfu_speaker_add(sfu_speaker *s, uint64_t id, uint64_t now_ms) {
  int free_slot = -1;
  for (size_t i = 0; i < s->cap; i++) {
    if (s->s[i].used && s->s[i].id == id) return -EEXIST;
    if (!s->s[i].used && free_slot < 0) free_slot = (int)i;
  }
  if (free_slot < 0) return -ENOSPC;
  spk *p = &s->s[free_slot];
  memset(p, 0, sizeof *p);
  p->used = true;
  p->id = id;
  p->last_ms = now_ms;
  for (int k = 0; k < 3; k++)
    p->score[k] = MIN_SCORE;
  return free_slot;
}

void sfu_speaker_remove(sfu_speaker *s, int slot) {
  spk *p = slot_of(s, slot);
  if (!p) return;
  p->used = false;
  if (s->dominant == slot) s->dominant = -1;
}

void sfu_speaker_set_paused(sfu_speaker *s, int slot, bool paused) {
  spk *p = slot_of(s, slot);
  if (p) p->paused = paused;
}

/* The noise floor: the lowest non-silent level, allowed to rise (to the
 * geometric mean of the old floor and the lowest level of the last 15 s)
 * only slowly, so speech never becomes the floor. It is first taken as the
 * lowest of the first WARMUP_FRAMES levels, not the very first one: a
 * microphone that was digitally silent (no floor to learn) and then speaks
 * would otherwise take its first syllable for its noise. */
static void update_min(spk *p, uint8_t v) {
  if (v == 0) return;
  if (p->warmup < WARMUP_FRAMES) {
    if (p->next_min == 0 || v < p->next_min) p->next_min = v;
    if (++p->warmup == WARMUP_FRAMES) {
      p->min_level = p->next_min;
      p->next_min = 0;
    }
    return;
  }
  if (p->min_level == 0 || v < p->min_level) {
    p->min_level = v;
    p->next_min = 0;
    p->next_min_frames = 0;
    return;
  }
  if (p->next_min == 0 || v < p->next_min) p->next_min = v;
  if (++p->next_min_frames < MIN_WINDOW_FRAMES) return;
  double m = sqrt((double)p->min_level * (double)p->next_min);
  p->min_level = (uint8_t)(m > 127 ? 127 : m);
  p->next_min = 0;
  p->next_min_frames = 0;
}

static void push(spk *p, uint8_t v) {
  p->levels[p->next] = v;
  p->next = (p->next + 1) % FRAMES;
}

/* v covers the elapsed time since the previous level. */
static void feed(spk *p, uint8_t v, uint64_t elapsed_ms) {
  uint64_t n = elapsed_ms / FRAME_MS;
  if (n < 1) n = 1;
  if (n > FRAMES) n = FRAMES;
  uint8_t gap = elapsed_ms <= MAX_PACKET_MS ? v : 0;
  for (uint64_t i = 1; i < n; i++)
    push(p, gap);
  push(p, v);
  update_min(p, v);
}

void sfu_speaker_level(sfu_speaker *s, int slot, uint8_t rfc6464_level, uint64_t now_ms) {
  spk *p = slot_of(s, slot);
  if (!p || now_ms < p->last_ms) return;
  uint64_t elapsed = now_ms - p->last_ms;
  p->last_ms = now_ms;
  feed(p, (uint8_t)(127 - (rfc6464_level & 0x7F)), elapsed);
}

/* ln C(n, k) + k ln p + (n - k) ln(1 - p) - ln lambda + lambda k, p = 1/2. */
static double score(unsigned k, unsigned n, double lambda) {
  double lnc = lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0);
  double v = lnc - n * log(2.0) - log(lambda) + lambda * k;
  return v < MIN_SCORE ? MIN_SCORE : v;
}

static void evaluate(spk *p) {
  unsigned noise = (unsigned)p->min_level + SUBBAND;
  uint8_t imm[FRAMES], med[N3];
  for (unsigned i = 0; i < FRAMES; i++) {
    uint8_t lv = p->levels[(p->next + FRAMES - 1 - i) % FRAMES];
    p->cooked[i] = lv < noise ? 0 : lv;
    imm[i] = (uint8_t)(p->cooked[i] / SUBBAND);
  }
  unsigned lng = 0;
  for (unsigned b = 0; b < N3; b++) {
    med[b] = 0;
    for (unsigned f = 0; f < N2; f++)
      med[b] += imm[b * N2 + f] > MEDIUM_THRESHOLD;
    lng += med[b] > LONG_THRESHOLD;
  }
  p->score[0] = score(imm[0] > N1 ? N1 : imm[0], N1, 0.78);
  p->score[1] = score(med[0], N2, 24);
  p->score[2] = score(lng, N3, 47);
}

static void decide(sfu_speaker *s) {
  static const double silent[3] = {MIN_SCORE, MIN_SCORE, MIN_SCORE};
  const double *dom = s->dominant >= 0 ? s->s[s->dominant].score : silent;
  int best = -1;
  double best_c2 = C2;
  for (size_t i = 0; i < s->cap; i++) {
    spk *p = &s->s[i];
    if (!p->used || p->paused || (int)i == s->dominant) continue;
    double c1 = log(p->score[0] / dom[0]), c2 = log(p->score[1] / dom[1]), c3 = log(p->score[2] / dom[2]);
    if (c1 > C1 && c2 > C2 && c3 > C3 && c2 > best_c2) {
      best_c2 = c2;
      best = (int)i;
    }
  }
  if (best >= 0) s->dominant = best;
}

static uint8_t active_level(spk *p) {
  if (p->paused) return 0;
  unsigned sum = 0;
  for (unsigned i = 0; i < ACTIVE_FRAMES; i++)
    sum += p->cooked[i];
  int mean = (int)(sum / ACTIVE_FRAMES);
  if (p->reported && abs(mean - (int)p->reported) <= ACTIVE_HYSTERESIS) return p->reported;
  int q = (mean + ACTIVE_STEP / 2) / ACTIVE_STEP * ACTIVE_STEP;
  return (uint8_t)(q > 127 ? 127 : q);
}

static bool louder(const sfu_speaker_active *x, const sfu_speaker_active *y) {
  return x->level != y->level ? x->level > y->level : x->id < y->id;
}

/* The loudest SFU_SPEAKER_ACTIVE_MAX, kept sorted by insertion. */
static void collect(sfu_speaker *s, sfu_speaker_state *st) {
  memset(st, 0, sizeof *st);
  st->has_dominant = s->dominant >= 0;
  if (st->has_dominant) st->dominant = s->s[s->dominant].id;
  for (size_t i = 0; i < s->cap; i++) {
    spk *p = &s->s[i];
    if (!p->used) continue;
    p->pending = active_level(p);
    if (!p->pending) continue;
    sfu_speaker_active a = {.id = p->id, .level = p->pending};
    size_t k = st->n_active;
    if (k == SFU_SPEAKER_ACTIVE_MAX) {
      if (!louder(&a, &st->active[k - 1])) continue;
      k--;
    } else {
      st->n_active++;
    }
    while (k > 0 && louder(&a, &st->active[k - 1])) {
      st->active[k] = st->active[k - 1];
      k--;
    }
    st->active[k] = a;
  }
}

static bool same_active(const sfu_speaker_state *a, const sfu_speaker_state *b) {
  if (a->n_active != b->n_active) return false;
  for (size_t i = 0; i < a->n_active; i++)
    if (a->active[i].id != b->active[i].id || a->active[i].level != b->active[i].level) return false;
  return true;
}

int sfu_speaker_tick(sfu_speaker *s, uint64_t now_ms, sfu_speaker_state *out) {
  int changed = 0;
  for (size_t i = 0; i < s->cap; i++) {
    spk *p = &s->s[i];
    if (!p->used) continue;
    if (now_ms > p->last_ms && now_ms - p->last_ms > LEVEL_IDLE_MS) {
      feed(p, 0, now_ms - p->last_ms);
      p->last_ms = now_ms;
    }
    evaluate(p);
  }
  decide(s);
  sfu_speaker_state st;
  collect(s, &st);
  if (st.has_dominant != s->last.has_dominant || st.dominant != s->last.dominant)
    changed |= SFU_SPEAKER_DOMINANT_CHANGED;
  /* Levels are news at most every ACTIVE_MIN_MS, unless the dominant speaker changed too. */
  if (!same_active(&st, &s->last) && (changed || now_ms - s->active_at >= ACTIVE_MIN_MS || !s->active_at))
    changed |= SFU_SPEAKER_ACTIVE_CHANGED;
  if (changed) {
    for (size_t i = 0; i < s->cap; i++)
      s->s[i].reported = s->s[i].pending;
    s->last = st;
    if (changed & SFU_SPEAKER_ACTIVE_CHANGED) s->active_at = now_ms;
  }
  if (out) *out = s->last;
  return changed;
}
