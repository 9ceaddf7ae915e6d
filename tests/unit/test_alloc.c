/* Table tests for sfu_alloc: what each video track of one subscriber gets
 * for a given estimate: layers by priority, spatial steps replacing the
 * stream, temporal steps, viewport caps, hidden tracks, pauses for bandwidth
 * (audio first), and the hysteresis: down at once, up only with headroom
 * after a stable period, no spatial step up for a while after a forced one
 * down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_alloc.h"

#define S 1000000LL /* one second in us */

/* q/h/f camera layers, one temporal layer each. */
static sfu_alloc_track cam(uint32_t id, uint8_t klass, uint32_t area) {
  sfu_alloc_track t;
  memset(&t, 0, sizeof(t));
  t.id = id;
  t.klass = klass;
  t.area = area;
  t.visible = true;
  t.max_spatial = t.max_temporal = -1;
  t.s = t.t = -1;
  t.bps[0][0] = 150000;
  t.bps[1][0] = 500000;
  t.bps[2][0] = 1500000;
  return t;
}

static sfu_alloc_result run(sfu_alloc_track *t, size_t n, int64_t est, int64_t audio, int64_t now) {
  sfu_alloc_result r;
  sfu_alloc_run(t, n, est, audio, now, NULL, &r);
  return r;
}

#define LAYER(tr, S_, T_)                                                                                    \
  do {                                                                                                       \
    assert_int_equal((tr).s, (S_));                                                                          \
    assert_int_equal((tr).t, (T_));                                                                          \
  } while (0)

typedef struct {
  int64_t est;
  int s, t;
} row;

static void test_single_track_table(void **state) {
  (void)state;
  static const row rows[] = {
      {3000000, 2, 0}, {1500000, 2, 0}, {1499999, 1, 0},  {600000, 1, 0},
      {499999, 0, 0},  {150000, 0, 0},  {149999, -1, -1}, {0, -1, -1},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    sfu_alloc_track t = cam(1, SFU_ALLOC_OTHER, 100);
    sfu_alloc_result r = run(&t, 1, rows[i].est, 0, S); /* a new track takes what fits at once */
    LAYER(t, rows[i].s, rows[i].t);
    assert_int_equal(t.state, rows[i].s >= 0 ? SFU_ALLOC_ON : SFU_ALLOC_PAUSED_BANDWIDTH);
    assert_int_equal(r.desired_bps, 1500000);
    assert_int_equal(r.paused, rows[i].s < 0);
  }
}

static void test_temporal_steps(void **state) {
  (void)state;
  static const uint32_t rates[3][3] = {
      {50000, 80000, 100000}, {200000, 300000, 400000}, {600000, 900000, 1200000}};
  static const row rows[] = {
      {60000, 0, 0},  {90000, 0, 1},  {150000, 0, 2},  {250000, 1, 0},  {399999, 1, 1},
      {400000, 1, 2}, {600000, 2, 0}, {1000000, 2, 1}, {5000000, 2, 2},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    sfu_alloc_track t = cam(1, SFU_ALLOC_OTHER, 100);
    memcpy(t.bps, rates, sizeof(rates));
    run(&t, 1, rows[i].est, 0, S);
    LAYER(t, rows[i].s, rows[i].t);
  }
  /* The viewport allows the middle layer, 15 fps. */
  sfu_alloc_track t = cam(1, SFU_ALLOC_OTHER, 100);
  memcpy(t.bps, rates, sizeof(rates));
  t.max_spatial = 1;
  t.max_temporal = 1;
  sfu_alloc_result r = run(&t, 1, 5000000, 0, S);
  LAYER(t, 1, 1);
  assert_int_equal(r.desired_bps, 300000);
}

static void test_priority_and_sharing(void **state) {
  (void)state;
  /* Two equal tracks: both get h (f for one would leave the other on q: 1.65M > 1.2M). */
  sfu_alloc_track two[2] = {cam(1, SFU_ALLOC_OTHER, 100), cam(2, SFU_ALLOC_OTHER, 100)};
  run(two, 2, 1200000, 0, S);
  LAYER(two[0], 1, 0);
  LAYER(two[1], 1, 0);
  /* Screen share, speaker, a big tile and a small tile at 2.3 Mbit/s: all
   * get q, then the screen share climbs to f, the speaker to h. */
  sfu_alloc_track four[4] = {cam(10, SFU_ALLOC_OTHER, 320 * 180), cam(11, SFU_ALLOC_OTHER, 640 * 360),
                             cam(12, SFU_ALLOC_SPEAKER, 100), cam(13, SFU_ALLOC_SCREEN, 100)};
  sfu_alloc_result r = run(four, 4, 2300000, 0, S);
  LAYER(four[3], 2, 0); /* screen: 1.5M */
  LAYER(four[2], 1, 0); /* speaker: 500k */
  LAYER(four[1], 0, 0); /* big tile: 150k */
  LAYER(four[0], 0, 0); /* small tile: 150k */
  assert_int_equal(r.used_bps, 2300000);
  /* 400 kbit/s for the four: the two first get q, the small tile is paused. */
  sfu_alloc_track few[4] = {cam(10, SFU_ALLOC_OTHER, 320 * 180), cam(11, SFU_ALLOC_OTHER, 640 * 360),
                            cam(12, SFU_ALLOC_SPEAKER, 100), cam(13, SFU_ALLOC_SCREEN, 100)};
  r = run(few, 4, 400000, 0, S);
  LAYER(few[3], 0, 0);
  LAYER(few[2], 0, 0);
  LAYER(few[1], -1, -1);
  LAYER(few[0], -1, -1);
  assert_int_equal(r.paused, 2);
  assert_int_equal(few[0].state, SFU_ALLOC_PAUSED_BANDWIDTH);
}

static void test_audio_first_and_hidden(void **state) {
  (void)state;
  /* 200 kbit/s with 64 kbit/s of audio: 136 kbit/s left, video paused. */
  sfu_alloc_track t = cam(1, SFU_ALLOC_OTHER, 100);
  sfu_alloc_result r = run(&t, 1, 200000, 64000, S);
  assert_int_equal(t.state, SFU_ALLOC_PAUSED_BANDWIDTH);
  assert_int_equal(r.desired_bps, 1500000 + 64000);
  /* A hidden track costs nothing: the visible one gets the lot. */
  sfu_alloc_track tt[2] = {cam(1, SFU_ALLOC_SCREEN, 100), cam(2, SFU_ALLOC_OTHER, 100)};
  tt[0].visible = false;
  r = run(tt, 2, 1600000, 0, S);
  assert_int_equal(tt[0].state, SFU_ALLOC_PAUSED_HIDDEN);
  LAYER(tt[0], -1, -1);
  LAYER(tt[1], 2, 0);
  assert_int_equal(r.desired_bps, 1500000);
  /* Visible again: allocated at once (no stable wait). Both get their low
   * layer first; the screen share climbs first, to h (f would not fit). */
  tt[0].visible = true;
  run(tt, 2, 1600000, 0, S + 1);
  assert_true(tt[0].changed);
  LAYER(tt[0], 1, 0);
  LAYER(tt[1], 1, 0);
  assert_true(tt[1].changed);
  /* No layer at all (publisher's layers all inactive). */
  sfu_alloc_track none = cam(3, SFU_ALLOC_OTHER, 1);
  memset(none.bps, 0, sizeof(none.bps));
  run(&none, 1, 5000000, 0, S);
  assert_int_equal(none.state, SFU_ALLOC_NO_LAYER);
}

/* Down at once, up after headroom + stable period, spatial up held for
 * 20 s after a forced spatial step down, 40 s after a failed step up (one
 * the bandwidth undid within 4 s). Runs every 500 ms. */
static int64_t wait_up(sfu_alloc_track *t, int64_t *now, int64_t down_at, int64_t hold) {
  for (int i = 1; i <= 200; i++) {
    *now += S / 2;
    sfu_alloc_result r = run(t, 1, 3000000, 0, *now);
    if (t->s == 2) return *now - down_at;
    if (*now - down_at >= hold) assert_true(r.waiting);
  }
  return -1;
}

static void test_hysteresis(void **state) {
  (void)state;
  sfu_alloc_track t = cam(1, SFU_ALLOC_OTHER, 100);
  int64_t now = S;
  run(&t, 1, 3000000, 0, now);
  LAYER(t, 2, 0);
  now += 30 * S;              /* long on the top layer: the step down below is no failed try */
  run(&t, 1, 600000, 0, now); /* down: at once */
  LAYER(t, 1, 0);
  assert_true(t.changed);
  int64_t down_at = now;
  assert_int_equal(t.bwe_down_us, down_at);
  /* Ample again: no spatial step up until 20 s after the step down, then 2 s stable. */
  assert_int_equal(wait_up(&t, &now, down_at, 20 * S), 22 * S);
  /* Down again 3 s later: that try failed, the next one waits 40 s. */
  now += 3 * S;
  run(&t, 1, 600000, 0, now);
  LAYER(t, 1, 0);
  down_at = now;
  assert_int_equal(wait_up(&t, &now, down_at, 40 * S), 42 * S);
  /* And 80 s (the most) after two failed tries in a row, 20 s again after a success. */
  now += 3 * S;
  run(&t, 1, 600000, 0, now);
  down_at = now;
  assert_int_equal(wait_up(&t, &now, down_at, 80 * S), 82 * S);
  now += 3 * S;
  run(&t, 1, 600000, 0, now);
  down_at = now;
  assert_int_equal(wait_up(&t, &now, down_at, 80 * S), 82 * S);
  now += 60 * S;
  run(&t, 1, 600000, 0, now);
  down_at = now;
  assert_int_equal(wait_up(&t, &now, down_at, 20 * S), 22 * S);
  /* Headroom: at 1.6 Mbit/s f (1.5M) does not fit 1.6M / 1.1; at 1.7M it does. */
  sfu_alloc_track h = cam(2, SFU_ALLOC_OTHER, 100);
  now = 100 * S;
  run(&h, 1, 600000, 0, now);
  LAYER(h, 1, 0);
  for (int i = 0; i < 10; i++)
    run(&h, 1, 1600000, 0, now += S / 2);
  LAYER(h, 1, 0);
  run(&h, 1, 1700000, 0, now += S / 2);
  LAYER(h, 1, 0); /* fits, but only just now */
  run(&h, 1, 1700000, 0, now += S);
  LAYER(h, 1, 0);
  run(&h, 1, 1700000, 0, now += S);
  LAYER(h, 2, 0); /* 2 s later */
  /* A dip during the stable period restarts it. */
  run(&h, 1, 600000, 0, now += S / 2);
  LAYER(h, 1, 0);
  assert_true(h.bwe_down_us == now);
}

static void test_pause_and_resume(void **state) {
  (void)state;
  sfu_alloc_track t = cam(1, SFU_ALLOC_OTHER, 100);
  int64_t now = S;
  run(&t, 1, 600000, 0, now);
  LAYER(t, 1, 0);
  run(&t, 1, 100000, 0, now += S / 2);
  assert_int_equal(t.state, SFU_ALLOC_PAUSED_BANDWIDTH);
  assert_true(t.changed);
  /* Room for q again: resumes after the stable period only. */
  run(&t, 1, 400000, 0, now += S / 2);
  assert_int_equal(t.state, SFU_ALLOC_PAUSED_BANDWIDTH);
  run(&t, 1, 400000, 0, now += S);
  assert_int_equal(t.state, SFU_ALLOC_PAUSED_BANDWIDTH);
  run(&t, 1, 400000, 0, now += S);
  assert_int_equal(t.state, SFU_ALLOC_ON);
  LAYER(t, 0, 0);
  assert_true(t.changed);
}

/* While the estimate is a first guess: two single-layer 1.5 Mbit/s videos
 * on a 1 Mbit/s guess both play (nothing paused), a simulcast one takes the
 * layer that fits, and the step down the guess forced holds no step up
 * back once probes answer. */
static void test_start_phase(void **state) {
  (void)state;
  sfu_alloc_params pa = sfu_alloc_default_params();
  pa.start_phase = true;
  sfu_alloc_track t[3] = {cam(1, SFU_ALLOC_OTHER, 100), cam(2, SFU_ALLOC_OTHER, 100),
                          cam(3, SFU_ALLOC_OTHER, 50)};
  for (int i = 0; i < 2; i++) {
    memset(t[i].bps, 0, sizeof t[i].bps);
    t[i].bps[0][0] = 1500000;
  }
  sfu_alloc_result r;
  int64_t now = S;
  sfu_alloc_run(t, 3, 1000000, 0, now, &pa, &r);
  for (int i = 0; i < 3; i++)
    assert_int_equal(t[i].state, SFU_ALLOC_ON);
  assert_int_equal(r.paused, 0);
  LAYER(t[2], 0, 0);
  /* A simulcast track on the top layer (no estimate at first) steps down to
   * the guess; probes then answer 5 Mbit/s: back up after the stable period. */
  sfu_alloc_track c = cam(4, SFU_ALLOC_OTHER, 100);
  sfu_alloc_run(&c, 1, 100000000, 0, now, &pa, &r);
  LAYER(c, 2, 0);
  sfu_alloc_run(&c, 1, 1000000, 0, now += S / 2, &pa, &r);
  LAYER(c, 1, 0);
  assert_int_equal(c.bwe_down_us, 0);
  run(&c, 1, 5000000, 0, now += S / 2);
  run(&c, 1, 5000000, 0, now += S);
  run(&c, 1, 5000000, 0, now += S);
  LAYER(c, 2, 0);
  /* Out of the start phase the same guess pauses one of the two. */
  sfu_alloc_track u[2] = {t[0], t[1]};
  run(u, 2, 1000000, 0, now += S);
  assert_true(u[0].state == SFU_ALLOC_PAUSED_BANDWIDTH || u[1].state == SFU_ALLOC_PAUSED_BANDWIDTH);
}

/* The current layer stops at the publisher: down at once, not held as a
 * bandwidth step down; back when it returns (after the stable period). */
static void test_layer_gone(void **state) {
  (void)state;
  sfu_alloc_track t = cam(1, SFU_ALLOC_OTHER, 100);
  int64_t now = S;
  run(&t, 1, 3000000, 0, now);
  LAYER(t, 2, 0);
  t.bps[2][0] = 0;
  run(&t, 1, 3000000, 0, now += S / 2);
  LAYER(t, 1, 0);
  assert_int_equal(t.bwe_down_us, 0);
  t.bps[2][0] = 1500000;
  run(&t, 1, 3000000, 0, now += S / 2);
  LAYER(t, 1, 0);
  run(&t, 1, 3000000, 0, now += 2 * S);
  LAYER(t, 2, 0);
  /* Its low layer gone while it is on it: it takes what fits at once. */
  sfu_alloc_track u = cam(2, SFU_ALLOC_OTHER, 100);
  run(&u, 1, 600000, 0, now);
  LAYER(u, 1, 0);
  u.bps[0][0] = u.bps[1][0] = 0;
  run(&u, 1, 3000000, 0, now += S / 2);
  LAYER(u, 2, 0);
}

static void test_many_tracks(void **state) {
  (void)state;
  static sfu_alloc_track t[SFU_ALLOC_MAX_TRACKS + 2];
  for (int i = 0; i < SFU_ALLOC_MAX_TRACKS + 2; i++)
    t[i] = cam((uint32_t)i, SFU_ALLOC_OTHER, 100);
  sfu_alloc_result r;
  sfu_alloc_run(t, SFU_ALLOC_MAX_TRACKS + 2, 100000000, 0, S, NULL, &r);
  LAYER(t[0], 2, 0);
  LAYER(t[SFU_ALLOC_MAX_TRACKS - 1], 2, 0);
  assert_int_equal(t[SFU_ALLOC_MAX_TRACKS].state, SFU_ALLOC_PAUSED_BANDWIDTH);
  assert_int_equal(r.paused, 2);
  assert_int_equal(r.used_bps, SFU_ALLOC_MAX_TRACKS * 1500000LL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single_track_table),   cmocka_unit_test(test_temporal_steps),
      cmocka_unit_test(test_priority_and_sharing), cmocka_unit_test(test_audio_first_and_hidden),
      cmocka_unit_test(test_hysteresis),           cmocka_unit_test(test_pause_and_resume),
      cmocka_unit_test(test_layer_gone),           cmocka_unit_test(test_many_tracks),
      cmocka_unit_test(test_start_phase),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
