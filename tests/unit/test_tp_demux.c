/* RFC 7983 / RFC 5761 first-byte demultiplexing, as a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tp_demux.h"

typedef struct {
  const char *what;
  uint8_t b0, b1;
  size_t len;
  tp_pkt_kind want;
} demux_case;

static const demux_case cases[] = {
    {"empty", 0, 0, 0, TP_PKT_OTHER},
    {"STUN binding request", 0x00, 0x01, 20, TP_PKT_OTHER},
    {"STUN range top", 3, 0, 20, TP_PKT_OTHER},
    {"ZRTP", 16, 0, 20, TP_PKT_OTHER},
    {"DTLS lowest (change_cipher_spec)", 20, 0xfe, 14, TP_PKT_DTLS},
    {"DTLS handshake", 22, 0xfe, 100, TP_PKT_DTLS},
    {"DTLS highest", 63, 0, 13, TP_PKT_DTLS},
    {"TURN channel", 64, 0, 20, TP_PKT_OTHER},
    {"between TURN and RTP", 127, 0, 20, TP_PKT_OTHER},
    {"RTP PT 96", 0x80, 96, 12, TP_PKT_RTP},
    {"RTP marker + PT 111", 0x80, 0x80 | 111, 100, TP_PKT_RTP},
    {"RTP too short", 0x80, 96, 11, TP_PKT_OTHER},
    {"RTCP SR", 0x80, 200, 28, TP_PKT_RTCP},
    {"RTCP RR", 0x81, 201, 8, TP_PKT_RTCP},
    {"RTCP lowest type 192", 0x80, 192, 8, TP_PKT_RTCP},
    {"RTCP highest type 223", 0x80, 223, 8, TP_PKT_RTCP},
    {"RTCP too short", 0x80, 200, 7, TP_PKT_OTHER},
    {"RTP marker + PT 96 (224)", 0x80, 224, 12, TP_PKT_RTP},
    {"RTP marker + PT 63 (191)", 0x80, 191, 12, TP_PKT_RTP},
    {"first byte 191", 191, 96, 12, TP_PKT_RTP},
    {"first byte 192", 192, 96, 12, TP_PKT_OTHER},
    {"first byte 255", 255, 200, 12, TP_PKT_OTHER},
};

static void test_demux_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t buf[128] = {0};
    buf[0] = cases[i].b0;
    buf[1] = cases[i].b1;
    tp_pkt_kind got = tp_demux_classify(buf, cases[i].len);
    if (got != cases[i].want) fail_msg("%s: got %d want %d", cases[i].what, got, cases[i].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_demux_table)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
