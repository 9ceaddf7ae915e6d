/* Tests for sfu_simulcast: a simulated simulcast publisher (three layers,
 * each with its own random seq and timestamp bases, 30 fps, keyframes on
 * request, sender reports every second) through the selector, checking what
 * a receiver would see: one gap-free sequence (holes only where a frame was
 * left unfinished), timestamps that follow the wall clock across switches,
 * switches only at keyframes of the target, throttled keyframe requests,
 * fallback from a layer that stops and return to it, pause and resume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_simulcast.h"

typedef struct {
  uint16_t seq;
  uint32_t ts_base;
  int pkts;       /* packets per frame */
  bool key_asked; /* a keyframe request came: the next frame is a keyframe */
  bool key_now;   /* this frame is a keyframe */
  bool on;        /* sending */
  int keyframes;  /* keyframes sent */
} pub_layer;

typedef struct {
  sfu_simulcast sel;
  pub_layer l[3];
  int64_t now_us;
  int64_t frame; /* frame number: wall time = frame x 33.333 ms */
  bool with_sr;
  /* what the subscriber saw */
  int forwarded, recorded;
  bool have_out;
  uint16_t last_seq;
  uint32_t last_ts;
  bool last_marker;
  int holes;     /* +2 steps */
  int bad_steps; /* anything but +1 or +2 */
  int switches;
  int plis[3];
  int layer_of_last;
  int64_t ts_wall_err_max; /* timestamps off the wall clock (SR mode), in ticks */
  int32_t shift;
  bool have_ref;
  int64_t ref_frame;
  uint32_t ref_ts;
} rig;

static void rig_init(rig *r, bool with_sr) {
  memset(r, 0, sizeof(*r));
  sfu_simulcast_init(&r->sel, NULL, 3);
  const uint16_t seqs[3] = {65000, 1234, 40000};
  const uint32_t tss[3] = {0xFFFF0000u, 123456789u, 3000000000u};
  const int pkts[3] = {1, 2, 4};
  for (int i = 0; i < 3; i++)
    r->l[i] =
        (pub_layer){.seq = seqs[i], .ts_base = tss[i], .pkts = pkts[i], .key_asked = i == 0, .on = true};
  r->now_us = 10000000;
  r->with_sr = with_sr;
  r->layer_of_last = -1;
}

static uint32_t layer_ts(const rig *r, int l) {
  return r->l[l].ts_base + (uint32_t)(r->frame * 3000); /* 90 kHz, 33.333 ms */
}

static void handle_pli(rig *r, int layer) {
  if (layer < 0) return;
  r->plis[layer]++;
  r->l[layer].key_asked = true;
}

static void deliver(rig *r, int layer, int k, bool padding) {
  pub_layer *p = &r->l[layer];
  sfu_simulcast_pkt in = {(uint8_t)layer, !padding && k == 0 && p->key_now,
                          padding,        !padding && k == p->pkts - 1,
                          p->seq++,       layer_ts(r, layer),
                          r->now_us};
  sfu_simulcast_out out;
  sfu_simulcast_packet(&r->sel, &in, &out);
  handle_pli(r, out.pli_layer);
  if (out.action == SFU_SIMULCAST_DROP) return;
  if (out.switched) {
    r->switches++;
    r->layer_of_last = layer;
  }
  assert_int_equal(layer, r->layer_of_last); /* one layer at a time */
  if (r->have_out) {
    uint16_t step = (uint16_t)(out.seq - r->last_seq);
    if (step == 2 && out.switched && !r->last_marker)
      r->holes++;
    else if (step != 1)
      r->bad_steps++;
    assert_true((int32_t)(out.ts - r->last_ts) >= 0); /* never back */
    if (out.switched) assert_true((int32_t)(out.ts - r->last_ts) > 0);
  }
  if (r->with_sr) {
    if (!r->have_ref) {
      r->have_ref = true;
      r->ref_frame = r->frame;
      r->ref_ts = out.ts;
    }
    /* Output time = wall time, plus one frame when a switch keyframe had to
     * follow the old layer's copy of the same picture (never more). */
    uint32_t want = r->ref_ts + (uint32_t)((r->frame - r->ref_frame) * 3000);
    int32_t err = (int32_t)(out.ts - want);
    if (out.switched) {
      if (err != 0 && err != 2970) r->ts_wall_err_max = llabs(err);
      r->shift = err;
    } else if (err != r->shift) {
      r->ts_wall_err_max = llabs(err - r->shift);
    }
  }
  r->have_out = true;
  r->last_seq = out.seq;
  r->last_ts = out.ts;
  r->last_marker = in.marker;
  if (out.action == SFU_SIMULCAST_FORWARD)
    r->forwarded++;
  else
    r->recorded++;
}

/* One frame time: every sending layer's frame, packets interleaved. */
static void frame(rig *r) {
  for (int l = 0; l < 3; l++) {
    r->l[l].key_now = r->l[l].on && r->l[l].key_asked;
    if (r->l[l].key_now) {
      r->l[l].key_asked = false;
      r->l[l].keyframes++;
    }
  }
  for (int k = 0; k < 4; k++)
    for (int l = 0; l < 3; l++)
      if (r->l[l].on && k < r->l[l].pkts) deliver(r, l, k, false);
  if (r->with_sr && r->frame % 30 == 0)
    for (int l = 0; l < 3; l++) /* NTP ms and RTP time of the same instant */
      if (r->l[l].on) sfu_simulcast_on_sr(&r->sel, l, 3900000000000LL + r->frame * 100 / 3, layer_ts(r, l));
  r->frame++;
  r->now_us += 33333;
  if (r->frame % 4 == 0) handle_pli(r, sfu_simulcast_poll(&r->sel, r->now_us));
}

static void frames(rig *r, int n) {
  for (int i = 0; i < n; i++)
    frame(r);
}

static void check_clean(const rig *r) {
  assert_int_equal(r->bad_steps, 0);
  if (r->with_sr) assert_int_equal(r->ts_wall_err_max, 0);
}

static void test_start_and_switches(void **state) {
  (void)state;
  static rig r;
  rig_init(&r, true);
  /* Target the top layer before any packet: a keyframe request goes to it. */
  assert_int_equal(sfu_simulcast_set_target(&r.sel, 2, r.now_us), 2);
  handle_pli(&r, 2);
  frames(&r, 1);
  assert_int_equal(r.sel.current, 2);
  assert_int_equal(r.switches, 1);
  frames(&r, 60);
  assert_int_equal(r.forwarded, 61 * 4);
  /* Down to the low layer: at its next keyframe, asked for once. */
  int plis0 = r.plis[0];
  handle_pli(&r, sfu_simulcast_set_target(&r.sel, 0, r.now_us));
  assert_int_equal(r.plis[0], plis0 + 1);
  frames(&r, 30);
  assert_int_equal(r.sel.current, 0);
  assert_int_equal(r.switches, 2);
  /* Up to the middle one. */
  handle_pli(&r, sfu_simulcast_set_target(&r.sel, 1, r.now_us));
  frames(&r, 30);
  assert_int_equal(r.sel.current, 1);
  assert_int_equal(r.switches, 3);
  check_clean(&r);
  assert_int_equal(r.holes, 0); /* every switch came after a finished frame */
}

static void test_keyframe_wait_and_throttle(void **state) {
  (void)state;
  static rig r;
  rig_init(&r, true);
  handle_pli(&r, sfu_simulcast_set_target(&r.sel, 0, r.now_us));
  frames(&r, 10);
  assert_int_equal(r.sel.current, 0);
  /* The top layer ignores keyframe requests for a while: the low layer keeps
   * going, requests repeat at most once a second. */
  r.l[2].keyframes = 0;
  int before = r.plis[2];
  handle_pli(&r, sfu_simulcast_set_target(&r.sel, 2, r.now_us));
  for (int i = 0; i < 90; i++) {
    r.l[2].key_asked = false; /* the publisher does not answer */
    frame(&r);
  }
  assert_int_equal(r.sel.current, 0);
  int asked = r.plis[2] - before;
  assert_true(asked >= 3 && asked <= 4); /* 3 s: the first at once, then each second */
  frames(&r, 2);                         /* it answers the next one */
  frames(&r, 30);
  assert_int_equal(r.sel.current, 2);
  check_clean(&r);
}

/* The top layer stops (the publisher's encoder dropped it): fall back to the
 * best active one; when it comes back and has run 2 s, return to it. */
static void test_fallback_and_return(void **state) {
  (void)state;
  static rig r;
  rig_init(&r, true);
  handle_pli(&r, sfu_simulcast_set_target(&r.sel, 2, r.now_us));
  frames(&r, 30);
  assert_int_equal(r.sel.current, 2);
  r.l[2].on = false;
  int f0 = (int)r.frame;
  while (r.sel.current == 2 && r.frame < f0 + 60)
    frame(&r);
  assert_int_equal(r.sel.current, 1);
  assert_true(r.frame - f0 <= 25); /* 500 ms inactive + a poll + a keyframe */
  r.l[2].on = true;
  f0 = (int)r.frame;
  while (r.sel.current != 2 && r.frame < f0 + 200)
    frame(&r);
  assert_int_equal(r.sel.current, 2);
  assert_true(r.frame - f0 >= 60 && r.frame - f0 <= 75); /* 2 s of activity first */
  check_clean(&r);
}

static void test_pause_resume(void **state) {
  (void)state;
  static rig r;
  rig_init(&r, true);
  handle_pli(&r, sfu_simulcast_set_target(&r.sel, 1, r.now_us));
  frames(&r, 20);
  int fwd = r.forwarded;
  assert_int_equal(sfu_simulcast_set_target(&r.sel, -1, r.now_us), -1);
  frames(&r, 60);
  assert_int_equal(r.forwarded, fwd); /* nothing while paused */
  handle_pli(&r, sfu_simulcast_set_target(&r.sel, 1, r.now_us));
  frames(&r, 10);
  assert_true(r.forwarded > fwd);
  check_clean(&r); /* the timestamp jumped by the pause, on the wall clock */
}

/* Without sender reports the new layer's timestamps follow the wall time
 * since the last packet sent. */
static void test_no_sr(void **state) {
  (void)state;
  static rig r;
  rig_init(&r, false);
  handle_pli(&r, sfu_simulcast_set_target(&r.sel, 0, r.now_us));
  frames(&r, 10);
  uint32_t ts_before = r.last_ts;
  handle_pli(&r, sfu_simulcast_set_target(&r.sel, 2, r.now_us));
  frames(&r, 1);
  assert_int_equal(r.sel.current, 2);
  /* The switch keyframe went out one frame (33 ms) after the last one. */
  int32_t d = (int32_t)(r.last_ts - ts_before);
  assert_true(d >= 2900 && d <= 3100);
  frames(&r, 10);
  check_clean(&r);
}

/* Hand-made packets: the one-number hole after an unfinished frame,
 * padding, late packets from before the switch, a keyframe whose timestamp
 * would go back. */
static sfu_simulcast_out pkt(sfu_simulcast *s, int layer, bool key, bool marker, uint16_t seq, uint32_t ts,
                             int64_t now, bool pad) {
  sfu_simulcast_pkt in = {(uint8_t)layer, key, pad, marker, seq, ts, now};
  sfu_simulcast_out out;
  sfu_simulcast_packet(s, &in, &out);
  return out;
}

static void test_hole_padding_guard(void **state) {
  (void)state;
  sfu_simulcast s;
  sfu_simulcast_init(&s, NULL, 2);
  int64_t t = 1000000;
  sfu_simulcast_set_target(&s, 0, t);
  sfu_simulcast_out o = pkt(&s, 0, true, false, 100, 9000, t, false);
  assert_int_equal(o.action, SFU_SIMULCAST_FORWARD);
  assert_true(o.switched);
  assert_int_equal(o.seq, 100);
  o = pkt(&s, 0, false, false, 101, 9000, t, false); /* frame not finished */
  /* Padding: recorded, not sent, numbered in the virtual space. */
  o = pkt(&s, 0, false, false, 102, 9000, t + 1000, true);
  assert_int_equal(o.action, SFU_SIMULCAST_DROP_RECORD);
  assert_int_equal(o.seq, 102);
  /* Switch to layer 1 mid-frame: its keyframe comes after a hole. */
  o = pkt(&s, 1, false, false, 5000, 777000, t + 2000, false); /* layer 1 is seen */
  assert_int_equal(o.action, SFU_SIMULCAST_DROP);
  assert_int_equal(sfu_simulcast_set_target(&s, 1, t + 2000), 1);
  o = pkt(&s, 1, false, false, 5001, 777000, t + 2000, false); /* not a keyframe: waits */
  assert_int_equal(o.action, SFU_SIMULCAST_DROP);
  assert_int_equal(o.pli_layer, -1);                        /* asked already */
  o = pkt(&s, 0, false, false, 103, 9000, t + 3000, false); /* the current layer goes on */
  assert_int_equal(o.action, SFU_SIMULCAST_FORWARD);
  o = pkt(&s, 1, true, false, 5002, 780000, t + 33000, false);
  assert_true(o.switched);
  assert_int_equal(o.seq, 105); /* 103 + 2: the hole marks layer 0's unfinished frame */
  assert_true((int32_t)(o.ts - 9000) > 0);
  /* Layer 0 is not forwarded any more; layer 1's packet from before the switch is dropped. */
  assert_int_equal(pkt(&s, 0, false, true, 104, 9000, t + 34000, false).action, SFU_SIMULCAST_DROP);
  assert_int_equal(pkt(&s, 1, false, false, 5001, 777000, t + 34000, false).action, SFU_SIMULCAST_DROP);
  assert_int_equal(pkt(&s, 1, false, false, 5000, 777000, t + 34000, false).action, SFU_SIMULCAST_DROP);
  o = pkt(&s, 1, false, true, 5003, 780000, t + 35000, false);
  assert_int_equal(o.seq, 106);
  /* A late packet of the new layer (after the keyframe) keeps its mapping. */
  o = pkt(&s, 1, false, false, 5004, 783000, t + 36000, false);
  o = pkt(&s, 1, false, false, 5003, 780000, t + 37000, false);
  assert_int_equal(o.action, SFU_SIMULCAST_FORWARD);
  assert_int_equal(o.seq, 106);
  /* Out of range layers are dropped. */
  assert_int_equal(pkt(&s, 2, true, true, 1, 1, t, false).action, SFU_SIMULCAST_DROP);
}

static void test_ts_would_go_back(void **state) {
  (void)state;
  sfu_simulcast s;
  sfu_simulcast_init(&s, NULL, 2);
  int64_t t = 1000000;
  /* Layer 0 forwarded, with an SR saying ts 90000 is NTP 5000 ms. */
  sfu_simulcast_on_sr(&s, 0, 5000, 90000);
  sfu_simulcast_set_target(&s, 0, t);
  sfu_simulcast_out o = pkt(&s, 0, true, true, 10, 90000, t, false);
  uint32_t first = o.ts;
  o = pkt(&s, 0, true, true, 11, 93000, t + 33000, false);
  /* Layer 1's SR puts its keyframe 10 ms before the last frame sent: it gets
   * one frame (33 ms) past it instead. */
  sfu_simulcast_on_sr(&s, 1, 5000, 500000);
  pkt(&s, 1, false, true, 69, 500000, t + 35000, false); /* layer 1 is seen */
  assert_int_equal(sfu_simulcast_set_target(&s, 1, t + 35000), 1);
  o = pkt(&s, 1, true, true, 70, 500000 + 2100, t + 40000, false);
  assert_true(o.switched);
  assert_int_equal(o.ts, first + 3000 + 2970);
  /* Back to layer 0 with a keyframe 200 ms behind: dropped once, a fresh one asked. */
  pkt(&s, 0, false, true, 11, 93000, t + 50000, false); /* still sending (a late one) */
  sfu_simulcast_set_target(&s, 0, t + 60000);
  o = pkt(&s, 0, true, true, 12, 93000 - 18000, t + 70000, false);
  assert_int_equal(o.action, SFU_SIMULCAST_DROP);
  assert_int_equal(o.pli_layer, 0);
  /* The fresh one is still behind: one tick past the newest. */
  o = pkt(&s, 0, true, true, 13, 93000 - 15000, t + 100000, false);
  assert_true(o.switched);
  assert_int_equal(o.ts, first + 3000 + 2970 + 1);
  assert_int_equal(o.seq, 13); /* layer 1 gave 12 (with its marker); the dropped keyframe takes no number */
}

static void test_ntp_ms(void **state) {
  (void)state;
  assert_int_equal(sfu_simulcast_ntp_ms(((uint64_t)3 << 32) | 0x80000000u), 3500);
  assert_int_equal(sfu_simulcast_ntp_ms((uint64_t)1 << 32), 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_start_and_switches),
      cmocka_unit_test(test_keyframe_wait_and_throttle),
      cmocka_unit_test(test_fallback_and_return),
      cmocka_unit_test(test_pause_resume),
      cmocka_unit_test(test_no_sr),
      cmocka_unit_test(test_hole_padding_guard),
      cmocka_unit_test(test_ts_would_go_back),
      cmocka_unit_test(test_ntp_ms),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
