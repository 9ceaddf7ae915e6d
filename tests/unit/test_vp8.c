/* Tests for sfu_vp8: descriptor parsing over annotated bytes (every optional
 * field, truncations), keyframe detection and size, the munger's
 * continuity across simulcast switches and temporal drops, and the
 * temporal layer filter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_vp8.h"

// clang-format off
/* Chrome's usual shape: X, I (15-bit), L, T; start of partition 0; keyframe 640x360. */
static const uint8_t key_640x360[] = {
  0x90,             /* X=1 N=0 S=1 PID=0 */
  0xE0,             /* I=1 L=1 T=1 K=0 */
  0x80 | 0x12, 0x34,/* M=1, picture id 0x1234 */
  0x7B,             /* TL0PICIDX 123 */
  0x20,             /* TID 0, Y=1, KEYIDX 0 (ignored: K=0) */
  0x50, 0x2A, 0x01, /* frame tag: P=0 (key frame), version 0, show_frame, first partition size */
  0x9D, 0x01, 0x2A, /* start code */
  0x80, 0x42,       /* width 640 (0x280) with scale bits 01 on top */
  0x68, 0xC1,       /* height 360 (0x168) with scale bits 11 on top */
  0x00, 0x11,
};

/* Every field: 7-bit picture id, TL0PICIDX, TID 2 with Y, KEYIDX; an interframe. */
static const uint8_t inter_all_7bit[] = {
  0xA0 | 0x10 | 0x00, /* X=1 N=1 S=1 PID=0 */
  0xF0,               /* I L T K */
  0x45,               /* M=0, picture id 69 */
  0x09,               /* TL0PICIDX 9 */
  0xA0 | 0x07,        /* TID 2, Y=1, KEYIDX 7 */
  0x01, 0x02, 0x03,   /* frame tag with P=1: not a keyframe */
};
// clang-format on

static void test_parse_fields(void **state) {
  (void)state;
  sfu_vp8_desc d;
  assert_int_equal(sfu_vp8_parse(key_640x360, sizeof(key_640x360), &d), 0);
  assert_true(d.s && d.pid == 0 && !d.n);
  assert_true(d.has_picid && d.picid_15);
  assert_int_equal(d.picid, 0x1234);
  assert_true(d.has_tl0);
  assert_int_equal(d.tl0picidx, 123);
  assert_true(d.has_tid && d.y && !d.has_keyidx);
  assert_int_equal(d.tid, 0);
  assert_int_equal(d.hdr_len, 6);
  assert_int_equal(d.off_picid, 2);
  assert_int_equal(d.off_tl0, 4);
  assert_int_equal(d.off_tk, 5);
  assert_true(d.keyframe);
  assert_int_equal(d.width, 640);
  assert_int_equal(d.height, 360);

  assert_int_equal(sfu_vp8_parse(inter_all_7bit, sizeof(inter_all_7bit), &d), 0);
  assert_true(d.n && d.s);
  assert_true(d.has_picid && !d.picid_15);
  assert_int_equal(d.picid, 69);
  assert_int_equal(d.tl0picidx, 9);
  assert_int_equal(d.tid, 2);
  assert_true(d.y);
  assert_true(d.has_keyidx);
  assert_int_equal(d.keyidx, 7);
  assert_int_equal(d.hdr_len, 5);
  assert_false(d.keyframe);
  assert_int_equal(d.width, 0);

  /* The minimal descriptor: one byte. */
  const uint8_t tiny[] = {0x10, 0x00};
  assert_int_equal(sfu_vp8_parse(tiny, 2, &d), 0);
  assert_int_equal(d.hdr_len, 1);
  assert_true(d.keyframe);      /* S=1, PID=0, P=0 */
  assert_int_equal(d.width, 0); /* no room for the header: size unknown */
  assert_false(d.has_picid || d.has_tl0 || d.has_tid);
  /* Not a keyframe: continuation (S=0), or another partition. */
  const uint8_t cont[] = {0x00, 0x00};
  assert_int_equal(sfu_vp8_parse(cont, 2, &d), 0);
  assert_false(d.keyframe);
  const uint8_t part1[] = {0x11, 0x00};
  assert_int_equal(sfu_vp8_parse(part1, 2, &d), 0);
  assert_false(d.keyframe);
  /* K without T: KEYIDX but no TID. */
  const uint8_t k_only[] = {0x80, 0x10, 0x1F, 0x01};
  assert_int_equal(sfu_vp8_parse(k_only, 4, &d), 0);
  assert_true(d.has_keyidx && !d.has_tid);
  assert_int_equal(d.keyidx, 31);
}

static void test_parse_truncated(void **state) {
  (void)state;
  sfu_vp8_desc d;
  /* Every cut of both packets inside the descriptor, or right after it, fails. */
  for (size_t n = 0; n <= 6; n++)
    assert_int_equal(sfu_vp8_parse(key_640x360, n, &d), -EINVAL);
  for (size_t n = 0; n <= 5; n++)
    assert_int_equal(sfu_vp8_parse(inter_all_7bit, n, &d), -EINVAL);
  assert_int_equal(sfu_vp8_parse(key_640x360, 7, &d), 0);
  assert_true(d.keyframe);
  assert_int_equal(d.width, 0);
  /* A keyframe without the start code: keyframe, size unknown. */
  uint8_t bad_sc[sizeof(key_640x360)];
  memcpy(bad_sc, key_640x360, sizeof(bad_sc));
  bad_sc[10] = 0x9C;
  assert_int_equal(sfu_vp8_parse(bad_sc, sizeof(bad_sc), &d), 0);
  assert_true(d.keyframe);
  assert_int_equal(d.height, 0);
  assert_int_equal(sfu_vp8_parse(NULL, 4, &d), -EINVAL);
}

/* ---- munger ---- */

typedef struct {
  uint16_t picid;
  uint8_t tl0, tid, keyidx;
  bool y, start, key;
} pic;

/* A 6-byte descriptor (X, I 15-bit or 7-bit, L, T, K) + 2 payload bytes. */
static size_t make(uint8_t *b, const pic *p, bool m15) {
  size_t o = 0;
  b[o++] = (uint8_t)(0x80 | (p->start ? 0x10 : 0));
  b[o++] = 0xF0;
  if (m15) {
    b[o++] = (uint8_t)(0x80 | (p->picid >> 8));
    b[o++] = (uint8_t)p->picid;
  } else {
    b[o++] = (uint8_t)(p->picid & 0x7F);
  }
  b[o++] = p->tl0;
  b[o++] = (uint8_t)((p->tid << 6) | (p->y ? 0x20 : 0) | (p->keyidx & 0x1F));
  b[o++] = p->key ? 0x00 : 0x01;
  b[o++] = 0xEE;
  return o;
}

typedef struct {
  uint16_t picid;
  uint8_t tl0, keyidx, tid;
} outv;

static outv forward(sfu_vp8_munger *m, const pic *p, bool m15) {
  uint8_t b[16];
  size_t n = make(b, p, m15);
  sfu_vp8_desc d;
  assert_int_equal(sfu_vp8_parse(b, n, &d), 0);
  sfu_vp8_munger_rewrite(m, b, n, &d);
  sfu_vp8_desc o;
  assert_int_equal(sfu_vp8_parse(b, n, &o), 0);
  assert_int_equal(o.picid_15, m15); /* the field keeps its width */
  assert_int_equal(o.hdr_len, d.hdr_len);
  assert_int_equal(o.tid, d.tid); /* TID and Y are not touched */
  assert_int_equal(o.y, d.y);
  assert_int_equal(b[n - 1], 0xEE);
  return (outv){o.picid, o.tl0picidx, o.keyidx, o.tid};
}

static void drop(sfu_vp8_munger *m, const pic *p, bool m15) {
  uint8_t b[16];
  size_t n = make(b, p, m15);
  sfu_vp8_desc d;
  assert_int_equal(sfu_vp8_parse(b, n, &d), 0);
  sfu_vp8_munger_drop(m, &d);
}

static const uint8_t l1t3[4] = {0, 2, 1, 2}; /* Chrome's temporal pattern */

static void test_munger_switch(void **state) {
  (void)state;
  sfu_vp8_munger m;
  sfu_vp8_munger_init(&m);
  /* Layer A: 8 pictures of 3 packets each, picture ids around the 15-bit wrap. */
  uint16_t a_pid = 0x7FFC;
  uint8_t a_tl0 = 254;
  outv last = {0};
  for (int i = 0; i < 8; i++) {
    uint8_t tid = l1t3[i % 4];
    if (tid == 0 && i > 0) a_tl0++;
    for (int k = 0; k < 3; k++) {
      pic p = {(uint16_t)((a_pid + i) & 0x7FFF), a_tl0, tid, 3, true, k == 0, i == 0 && k == 0};
      outv o = forward(&m, &p, true);
      assert_int_equal(o.picid, (a_pid + i) & 0x7FFF); /* untouched before any switch */
      assert_int_equal(o.tl0, a_tl0);
      last = o;
    }
  }
  /* Switch to layer B (another encoder: other ids) at its keyframe. */
  sfu_vp8_munger_switch(&m);
  uint16_t b_pid = 20000;
  uint8_t b_tl0 = 77, b_key = 17;
  for (int i = 0; i < 8; i++) {
    uint8_t tid = l1t3[i % 4];
    if (tid == 0 && i > 0) b_tl0++;
    for (int k = 0; k < 2; k++) {
      pic p = {(uint16_t)(b_pid + i), b_tl0, tid, b_key, true, k == 0, i == 0 && k == 0};
      outv o = forward(&m, &p, true);
      assert_int_equal(o.picid, (last.picid + 1 + i) & 0x7FFF);
      assert_int_equal(o.tl0, (uint8_t)(last.tl0 + 1 + i / 4));
      assert_int_equal(o.keyidx, (last.keyidx + 1) & 0x1F);
    }
  }
  /* Back to A: again continuous. */
  outv before =
      forward(&m, &(pic){(uint16_t)(b_pid + 8), (uint8_t)(b_tl0 + 1), 0, b_key, true, true, false}, true);
  sfu_vp8_munger_switch(&m);
  outv o = forward(&m, &(pic){(uint16_t)(a_pid + 40), (uint8_t)(a_tl0 + 9), 0, 4, true, true, true}, true);
  assert_int_equal(o.picid, (before.picid + 1) & 0x7FFF);
  assert_int_equal(o.tl0, (uint8_t)(before.tl0 + 1));
  assert_int_equal(o.keyidx, (before.keyidx + 1) & 0x1F);
}

static void test_munger_7bit(void **state) {
  (void)state;
  sfu_vp8_munger m;
  sfu_vp8_munger_init(&m);
  outv o = {0};
  for (int i = 0; i < 5; i++)
    o = forward(&m, &(pic){(uint16_t)(125 + i) & 0x7F, 1, 0, 0, true, true, i == 0}, false);
  assert_int_equal(o.picid, 1); /* 125..129 wraps at 128 */
  sfu_vp8_munger_switch(&m);
  outv n = forward(&m, &(pic){60, 9, 0, 0, true, true, true}, false);
  assert_int_equal(n.picid, 2);
  /* A dropped picture in a 7-bit stream: no hole. */
  drop(&m, &(pic){61, 9, 2, 0, true, true, false}, false);
  n = forward(&m, &(pic){62, 9, 1, 0, true, true, false}, false);
  assert_int_equal(n.picid, 3);
}

static void test_munger_temporal_drops(void **state) {
  (void)state;
  sfu_vp8_munger m;
  sfu_vp8_munger_init(&m);
  uint8_t cur = 1;
  const uint8_t target = 1;
  uint16_t pid = 500;
  uint8_t tl0 = 10;
  int sent = 0;
  uint16_t first = 0, prev = 0;
  for (int i = 0; i < 40; i++) {
    uint8_t tid = l1t3[i % 4];
    if (tid == 0 && i > 0) tl0++;
    bool fwd_pic = false;
    for (int k = 0; k < 2; k++) { /* two packets per picture */
      pic p = {(uint16_t)(pid + i), tl0, tid, 0, tid != 0, k == 0, i == 0 && k == 0};
      uint8_t b[16];
      size_t n = make(b, &p, true);
      sfu_vp8_desc d;
      sfu_vp8_parse(b, n, &d);
      if (!sfu_vp8_temporal_filter(&cur, target, &d)) {
        assert_int_equal(tid, 2);
        sfu_vp8_munger_drop(&m, &d);
        continue;
      }
      outv o = forward(&m, &p, true);
      if (sent == 0) first = o.picid;
      if (k == 0 && sent > 0) assert_int_equal(o.picid, (uint16_t)(prev + 1)); /* no holes */
      if (k == 1) assert_int_equal(o.picid, prev);                             /* same picture, same id */
      assert_int_equal(o.tl0, tl0);
      prev = o.picid;
      fwd_pic = true;
    }
    if (fwd_pic) sent++;
  }
  assert_int_equal(sent, 20); /* the T2 half is gone */
  assert_int_equal(prev, (uint16_t)(first + 19));
  /* A retransmission of an earlier forwarded picture keeps its output id. */
  outv again = forward(&m, &(pic){(uint16_t)(pid + 38), tl0, 1, 0, true, false, false}, true);
  assert_int_equal(again.picid, prev);
  /* A late packet of a dropped picture does not shift anything. */
  drop(&m, &(pic){(uint16_t)(pid + 37), tl0, 2, 0, true, false, false}, true);
  outv next = forward(&m, &(pic){(uint16_t)(pid + 40), (uint8_t)(tl0 + 1), 0, 0, false, true, false}, true);
  assert_int_equal(next.picid, (uint16_t)(prev + 1));
}

static void test_temporal_filter(void **state) {
  (void)state;
  sfu_vp8_desc d = {.has_tid = true, .s = true};
  uint8_t cur = 0;
  /* Up from 0 with target 2: T1 without Y waits; T1 with Y goes. */
  d.tid = 1;
  d.y = false;
  assert_false(sfu_vp8_temporal_filter(&cur, 2, &d));
  assert_int_equal(cur, 0);
  d.y = true;
  d.s = false; /* not a picture start: no switch mid-picture */
  assert_false(sfu_vp8_temporal_filter(&cur, 2, &d));
  d.s = true;
  assert_true(sfu_vp8_temporal_filter(&cur, 2, &d));
  assert_int_equal(cur, 1);
  d.tid = 0;
  d.y = false;
  assert_true(sfu_vp8_temporal_filter(&cur, 2, &d));
  /* Above the target: never, even with Y. */
  d.tid = 2;
  d.y = true;
  assert_false(sfu_vp8_temporal_filter(&cur, 1, &d));
  assert_true(sfu_vp8_temporal_filter(&cur, 2, &d));
  assert_int_equal(cur, 2);
  /* Down to 0: a packet inside a T2 picture still passes (the picture
   * finishes); at the next picture start the filter drops. */
  d.s = false;
  assert_true(sfu_vp8_temporal_filter(&cur, 0, &d));
  assert_int_equal(cur, 2);
  d.s = true;
  assert_false(sfu_vp8_temporal_filter(&cur, 0, &d));
  assert_int_equal(cur, 0);
  d.tid = 0;
  assert_true(sfu_vp8_temporal_filter(&cur, 0, &d));
  /* No TID: always. */
  sfu_vp8_desc plain = {0};
  assert_true(sfu_vp8_temporal_filter(&cur, 0, &plain));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_fields),          cmocka_unit_test(test_parse_truncated),
      cmocka_unit_test(test_munger_switch),         cmocka_unit_test(test_munger_7bit),
      cmocka_unit_test(test_munger_temporal_drops), cmocka_unit_test(test_temporal_filter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
