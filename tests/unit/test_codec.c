/* Tests for sfu_codec: codec names and keyframe detection, positive and
 * negative, for VP8 payload descriptors and H.264 packetizations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sfu_codec.h"

static void test_names(void **state) {
  (void)state;
  assert_int_equal(sfu_codec_from_name("opus"), SFU_CODEC_OPUS);
  assert_int_equal(sfu_codec_from_name("OPUS"), SFU_CODEC_OPUS);
  assert_int_equal(sfu_codec_from_name("VP8"), SFU_CODEC_VP8);
  assert_int_equal(sfu_codec_from_name("vp8"), SFU_CODEC_VP8);
  assert_int_equal(sfu_codec_from_name("H264"), SFU_CODEC_H264);
  assert_int_equal(sfu_codec_from_name("h264"), SFU_CODEC_H264);
  assert_int_equal(sfu_codec_from_name("VP9"), SFU_CODEC_NONE);
  assert_int_equal(sfu_codec_from_name("H2640"), SFU_CODEC_NONE);
  assert_int_equal(sfu_codec_from_name("vp"), SFU_CODEC_NONE);
  assert_int_equal(sfu_codec_from_name(""), SFU_CODEC_NONE);
  assert_int_equal(sfu_codec_from_name(NULL), SFU_CODEC_NONE);
}

typedef struct {
  const char *name;
  sfu_codec codec;
  uint8_t bytes[24];
  size_t len;
  bool key;
} kf_case;

static const kf_case cases[] = {
    /* VP8 (RFC 7741 descriptor, then the VP8 frame tag whose bit 0 is P) */
    {"vp8 minimal keyframe", SFU_CODEC_VP8, {0x10, 0x50, 0x1E, 0x00, 0x9D, 0x01, 0x2A}, 7, true},
    {"vp8 minimal interframe", SFU_CODEC_VP8, {0x10, 0x51, 0x1E, 0x00}, 4, false},
    {"vp8 keyframe not first packet (S=0)", SFU_CODEC_VP8, {0x00, 0x50, 0x1E, 0x00}, 4, false},
    {"vp8 S=1 but partition 1", SFU_CODEC_VP8, {0x11, 0x50, 0x1E, 0x00}, 4, false},
    {"chrome keyframe: X, I with 15-bit PictureID",
     SFU_CODEC_VP8,
     {0x90, 0x80, 0x9F, 0xA1, 0x50, 0x1E, 0x00, 0x9D, 0x01, 0x2A},
     10,
     true},
    {"chrome interframe: X, I with 15-bit PictureID",
     SFU_CODEC_VP8,
     {0x90, 0x80, 0x9F, 0xA2, 0x31, 0x08},
     6,
     false},
    {"X, I 7-bit PictureID", SFU_CODEC_VP8, {0x90, 0x80, 0x12, 0x50}, 4, true},
    {"X, I 7-bit PictureID, inter", SFU_CODEC_VP8, {0x90, 0x80, 0x12, 0x51}, 4, false},
    /* With I, L, T and K: a 2-byte PictureID (M=1), TL0PICIDX, TID/Y/KEYIDX.
     * A parser that ignored M would test the wrong byte and flip the answer. */
    {"X, I(M) L T K keyframe", SFU_CODEC_VP8, {0x90, 0xF0, 0x80, 0x01, 0x05, 0x20, 0x50}, 7, true},
    {"X, I(M) L T K interframe", SFU_CODEC_VP8, {0x90, 0xF0, 0x80, 0x00, 0x05, 0x20, 0x51}, 7, false},
    {"X, L only", SFU_CODEC_VP8, {0x90, 0x40, 0x07, 0x50}, 4, true},
    {"X, T only, inter", SFU_CODEC_VP8, {0x90, 0x20, 0x40, 0x51}, 4, false},
    {"X, K only", SFU_CODEC_VP8, {0x90, 0x10, 0x00, 0x50}, 4, true},
    {"X, no optional fields", SFU_CODEC_VP8, {0x90, 0x00, 0x50}, 3, true},
    {"descriptor only, no frame byte", SFU_CODEC_VP8, {0x90, 0xF0, 0x80, 0x01, 0x05, 0x20}, 6, false},
    {"truncated in PictureID", SFU_CODEC_VP8, {0x90, 0x80, 0x80}, 3, false},
    {"truncated before X byte", SFU_CODEC_VP8, {0x90}, 1, false},
    {"empty vp8", SFU_CODEC_VP8, {0}, 0, false},
    /* H.264 (RFC 6184) */
    {"IDR single NAL", SFU_CODEC_H264, {0x65, 0x88, 0x84}, 3, true},
    {"SPS single NAL", SFU_CODEC_H264, {0x67, 0x42, 0xC0, 0x1F}, 4, true},
    {"PPS single NAL", SFU_CODEC_H264, {0x68, 0xCE, 0x3C, 0x80}, 4, false},
    {"non-IDR slice", SFU_CODEC_H264, {0x41, 0x9A, 0x02}, 3, false},
    {"SEI", SFU_CODEC_H264, {0x06, 0x05}, 2, false},
    {"STAP-A SPS PPS",
     SFU_CODEC_H264,
     {0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F, 0x00, 0x03, 0x68, 0xCE, 0x3C},
     12,
     true},
    {"STAP-A PPS then IDR", SFU_CODEC_H264, {0x78, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x02, 0x65, 0x88}, 9, true},
    {"STAP-A PPS and SEI", SFU_CODEC_H264, {0x78, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x02, 0x06, 0x05}, 9, false},
    {"STAP-A size past the end",
     SFU_CODEC_H264,
     {0x78, 0x00, 0x09, 0x68, 0xCE, 0x00, 0x02, 0x65, 0x88},
     9,
     false},
    {"STAP-A zero size", SFU_CODEC_H264, {0x78, 0x00, 0x00, 0x00, 0x01, 0x65}, 6, false},
    {"STAP-A lone size byte", SFU_CODEC_H264, {0x78, 0x00}, 2, false},
    {"FU-A start of IDR", SFU_CODEC_H264, {0x7C, 0x85, 0x88, 0x84}, 4, true},
    {"FU-A start of SPS", SFU_CODEC_H264, {0x7C, 0x87, 0x42}, 3, true},
    {"FU-A middle of IDR", SFU_CODEC_H264, {0x7C, 0x05, 0x11}, 3, false},
    {"FU-A end of IDR", SFU_CODEC_H264, {0x7C, 0x45, 0x11}, 3, false},
    {"FU-A start of non-IDR", SFU_CODEC_H264, {0x5C, 0x81, 0x9A}, 3, false},
    {"FU-A missing header", SFU_CODEC_H264, {0x7C}, 1, false},
    {"FU-B is not used", SFU_CODEC_H264, {0x7D, 0x85, 0x00, 0x01}, 4, false},
    {"empty h264", SFU_CODEC_H264, {0}, 0, false},
    /* Audio and unknown codecs never have keyframes. */
    {"opus", SFU_CODEC_OPUS, {0x78, 0x0B, 0xE4}, 3, false},
    {"none", SFU_CODEC_NONE, {0x65, 0x88}, 2, false},
};

static void test_keyframes(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const kf_case *c = &cases[i];
    print_message("case %s\n", c->name);
    /* Copy to a buffer of exactly len bytes so ASan catches over-reads. */
    uint8_t *buf = test_malloc(c->len ? c->len : 1);
    memcpy(buf, c->bytes, c->len);
    bool got = sfu_codec_is_keyframe(c->codec, buf, c->len);
    test_free(buf);
    assert_int_equal(got, c->key);
  }
  assert_false(sfu_codec_is_keyframe(SFU_CODEC_VP8, NULL, 10));
}

/* Every prefix of a keyframe packet is handled without reading past it. */
static void test_prefixes(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    for (size_t n = 0; n <= cases[i].len; n++) {
      uint8_t *buf = test_malloc(n ? n : 1);
      memcpy(buf, cases[i].bytes, n);
      (void)sfu_codec_is_keyframe(cases[i].codec, buf, n);
      test_free(buf);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_keyframes),
      cmocka_unit_test(test_prefixes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
