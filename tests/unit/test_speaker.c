/* Tests for sfu_speaker: synthetic level traces in simulated time (one
 * level per participant every 20 ms, a decision every 300 ms, as the media
 * thread drives it), checking who becomes dominant, how fast, and that
 * silence, noise and short bursts do not move it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_speaker.h"

#define SILENT 127

/* What one participant sends at time t (RFC 6464: 0 loudest .. 127 silence). */
typedef enum { QUIET, NOISE, SPEECH } voice;

static uint32_t rng = 12345;
static unsigned rnd(unsigned n) {
  rng = rng * 1103515245u + 12345u;
  return (rng >> 16) % n;
}

static uint8_t sample(voice v, uint64_t t) {
  switch (v) {
  case QUIET:
    return SILENT;
  case NOISE: /* a fan or a hum: -75 dBov, a few dB of jitter */
    return (uint8_t)(73 + rnd(5));
  case SPEECH: /* -25..-45 dBov, with a 60 ms pause between 200 ms syllables */
    return (t % 260) >= 200 ? (uint8_t)(70 + rnd(10)) : (uint8_t)(25 + rnd(20));
  }
  return SILENT;
}

typedef struct {
  sfu_speaker *s;
  int slot[16];
  size_t n;
  uint64_t t;
  int changes; /* dominant changes seen */
  sfu_speaker_state st;
} sim;

static void sim_init(sim *m, size_t n) {
  memset(m, 0, sizeof *m);
  rng = 12345;
  m->s = sfu_speaker_new(16);
  assert_non_null(m->s);
  m->n = n;
  m->t = 1000000;
  for (size_t i = 0; i < n; i++) {
    m->slot[i] = sfu_speaker_add(m->s, 100 + i, m->t);
    assert_true(m->slot[i] >= 0);
  }
}

/* Runs for ms with voices[i] for participant i; returns when the dominant
 * became `want` (its time since the start of this call), or -1. Keeps
 * running to the end either way when run_out is set. */
static long sim_run(sim *m, const voice *voices, unsigned ms, long want, bool run_out) {
  long hit = -1;
  uint64_t start = m->t;
  for (unsigned step = 0; step < ms / 20; step++) {
    m->t += 20;
    for (size_t i = 0; i < m->n; i++)
      sfu_speaker_level(m->s, m->slot[i], sample(voices[i], m->t), m->t);
    if ((m->t - start) % SFU_SPEAKER_INTERVAL_MS == 0) {
      int c = sfu_speaker_tick(m->s, m->t, &m->st);
      if (c & SFU_SPEAKER_DOMINANT_CHANGED) m->changes++;
      if (hit < 0 && want >= 0 && m->st.has_dominant && m->st.dominant == (uint64_t)want) {
        hit = (long)(m->t - start);
        if (!run_out) return hit;
      }
    }
  }
  return hit;
}

static void test_one_then_another(void **state) {
  (void)state;
  sim m;
  sim_init(&m, 3); /* 100 and 101 take turns, 102 has a noisy room */
  voice v[3] = {QUIET, QUIET, NOISE};
  sim_run(&m, v, 3000, -1, true);
  assert_false(m.st.has_dominant); /* nobody has spoken */
  assert_int_equal(m.changes, 0);

  v[0] = SPEECH;
  long t = sim_run(&m, v, 3000, 100, true);
  print_message("first speaker dominant after %ld ms\n", t);
  assert_true(t >= 0 && t <= 1500);
  assert_int_equal(m.changes, 1);

  v[0] = QUIET, v[1] = SPEECH;
  t = sim_run(&m, v, 3000, 101, true);
  print_message("second speaker took over after %ld ms\n", t);
  assert_true(t >= 0 && t <= 1500);
  assert_int_equal(m.changes, 2);
  assert_int_equal(m.st.dominant, 101);
  sfu_speaker_free(m.s);
}

static void test_silence_and_noise_do_not_flap(void **state) {
  (void)state;
  sim m;
  sim_init(&m, 4);
  voice v[4] = {QUIET, NOISE, NOISE, QUIET};
  sim_run(&m, v, 20000, -1, true);
  assert_false(m.st.has_dominant);
  assert_int_equal(m.changes, 0);
  assert_int_equal(m.st.n_active, 0); /* noise is nobody speaking */

  /* Once someone spoke and stopped, the room's noise does not take over. */
  v[0] = SPEECH;
  assert_true(sim_run(&m, v, 2000, 100, true) >= 0);
  v[0] = QUIET;
  sim_run(&m, v, 20000, -1, true);
  assert_int_equal(m.changes, 1);
  assert_int_equal(m.st.dominant, 100);
  assert_int_equal(m.st.n_active, 0);
  sfu_speaker_free(m.s);
}

static void test_short_burst_does_not_switch(void **state) {
  (void)state;
  sim m;
  sim_init(&m, 2);
  voice v[2] = {SPEECH, QUIET};
  assert_true(sim_run(&m, v, 3000, 100, true) >= 0);
  for (int i = 0; i < 5; i++) { /* a 200 ms cough every 2 s while 100 talks */
    v[1] = SPEECH;
    sim_run(&m, v, 200, -1, true);
    v[1] = QUIET;
    sim_run(&m, v, 1800, -1, true);
  }
  assert_int_equal(m.changes, 1);
  assert_int_equal(m.st.dominant, 100);
  sfu_speaker_free(m.s);
}

static void test_two_talking_rarely_switch(void **state) {
  (void)state;
  sim m;
  sim_init(&m, 2);
  voice v[2] = {SPEECH, SPEECH};
  sim_run(&m, v, 30000, -1, true);
  assert_true(m.st.has_dominant);
  assert_true(m.changes <= 3); /* a crosstalk does not ping-pong every tick */
  sfu_speaker_free(m.s);
}

static void test_alone_and_removed(void **state) {
  (void)state;
  sim m;
  sim_init(&m, 2);
  voice v[2] = {QUIET, SPEECH};
  assert_true(sim_run(&m, v, 2000, 101, false) >= 0);
  sfu_speaker_remove(m.s, m.slot[1]);
  int c = sfu_speaker_tick(m.s, m.t + 20, &m.st);
  assert_true(c & SFU_SPEAKER_DOMINANT_CHANGED);
  assert_false(m.st.has_dominant);
  for (size_t i = 0; i < m.st.n_active; i++)
    assert_int_not_equal(m.st.active[i].id, 101);
  sfu_speaker_free(m.s);
}

static void test_paused_does_not_compete(void **state) {
  (void)state;
  sim m;
  sim_init(&m, 2);
  sfu_speaker_set_paused(m.s, m.slot[1], true);
  voice v[2] = {QUIET, SPEECH};
  sim_run(&m, v, 3000, -1, true);
  assert_false(m.st.has_dominant);
  assert_int_equal(m.st.n_active, 0);
  sfu_speaker_set_paused(m.s, m.slot[1], false);
  assert_true(sim_run(&m, v, 1500, 101, false) >= 0);
  sfu_speaker_free(m.s);
}

/* 60 ms packets (or DTX gaps): a level every third frame still counts fully. */
static void test_long_packets(void **state) {
  (void)state;
  sfu_speaker *s = sfu_speaker_new(2);
  uint64_t t = 5000;
  int a = sfu_speaker_add(s, 1, t), b = sfu_speaker_add(s, 2, t);
  sfu_speaker_state st;
  long when = -1;
  for (unsigned ms = 0; ms <= 1500 && when < 0; ms += 60) {
    t += 60;
    sfu_speaker_level(s, a, sample(SPEECH, t), t);
    sfu_speaker_level(s, b, SILENT, t);
    if (ms % 300 == 0 && sfu_speaker_tick(s, t, &st) && st.has_dominant && st.dominant == 1) when = ms;
  }
  assert_true(when >= 0 && when <= 1500);
  sfu_speaker_free(s);
}

static void test_active_list(void **state) {
  (void)state;
  sfu_speaker *s = sfu_speaker_new(12);
  uint64_t t = 0;
  int slot[12];
  for (int i = 0; i < 12; i++)
    slot[i] = sfu_speaker_add(s, (uint64_t)i, t);
  sfu_speaker_state st;
  int changes = 0;
  for (int step = 0; step < 100; step++) {
    t += 20;
    /* 0 and 1 silent, 2..11 at rising loudness (-60 .. -15 dBov), with a
     * -80 dBov background once a second: a perfectly constant level is a
     * noise floor, not a voice */
    for (int i = 0; i < 12; i++) {
      uint8_t lv = t % 1000 < 40 ? 80 : (uint8_t)(60 - (i - 2) * 5);
      sfu_speaker_level(s, slot[i], i < 2 ? SILENT : lv, t);
    }
    if (t % 300 == 0 && (sfu_speaker_tick(s, t, &st) & SFU_SPEAKER_ACTIVE_CHANGED)) changes++;
  }
  assert_int_equal(st.n_active, SFU_SPEAKER_ACTIVE_MAX);
  for (size_t i = 0; i < st.n_active; i++) {
    assert_true(st.active[i].id >= 2); /* the silent ones are not active */
    assert_true(st.active[i].level % 16 == 0 || st.active[i].level == 127);
    if (i == 0) continue;
    /* loudest first; equal levels by id */
    assert_true(st.active[i - 1].level > st.active[i].level ||
                (st.active[i - 1].level == st.active[i].level && st.active[i - 1].id < st.active[i].id));
  }
  assert_true(st.active[0].level > st.active[SFU_SPEAKER_ACTIVE_MAX - 1].level);
  bool top = false; /* the loudest is in the first group */
  for (size_t i = 0; i < st.n_active && st.active[i].level == st.active[0].level; i++)
    top |= st.active[i].id == 11;
  assert_true(top);
  assert_true(changes <= 2); /* steady levels: reported once, not every tick */
  sfu_speaker_free(s);
}

static void test_bad_calls(void **state) {
  (void)state;
  assert_null(sfu_speaker_new(0));
  assert_null(sfu_speaker_new(100000));
  sfu_speaker *s = sfu_speaker_new(1);
  assert_int_equal(sfu_speaker_add(s, 7, 0), 0);
  assert_int_equal(sfu_speaker_add(s, 7, 0), -EEXIST);
  assert_int_equal(sfu_speaker_add(s, 8, 0), -ENOSPC);
  sfu_speaker_level(s, 5, 0, 10); /* bad slots are ignored */
  sfu_speaker_level(s, -1, 0, 10);
  sfu_speaker_remove(s, 3);
  sfu_speaker_set_paused(s, 9, true);
  sfu_speaker_level(s, 0, 0, 1000);
  sfu_speaker_level(s, 0, 0, 500); /* late: ignored */
  assert_int_equal(sfu_speaker_tick(s, 1000, NULL) & ~3, 0);
  sfu_speaker_remove(s, 0);
  assert_int_equal(sfu_speaker_add(s, 8, 2000), 0); /* the slot is reused */
  sfu_speaker_free(s);
  sfu_speaker_free(NULL);
  uint8_t ext[1] = {0x80 | 42};
  assert_int_equal(sfu_speaker_ext_level(ext, 1), 42);
  assert_int_equal(sfu_speaker_ext_level(ext, 0), 127);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_then_another),
      cmocka_unit_test(test_silence_and_noise_do_not_flap),
      cmocka_unit_test(test_short_burst_does_not_switch),
      cmocka_unit_test(test_two_talking_rarely_switch),
      cmocka_unit_test(test_alone_and_removed),
      cmocka_unit_test(test_paused_does_not_compete),
      cmocka_unit_test(test_long_packets),
      cmocka_unit_test(test_active_list),
      cmocka_unit_test(test_bad_calls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
