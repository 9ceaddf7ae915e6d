/* libFuzzer target of sig_sdp: parse; when that succeeds, answer with a fixed
 * local description and check that the answer parses again; then offer the
 * accepted codecs to a subscriber (as the server does) and parse that too.
 * Build: clang -fsanitize=fuzzer,address,undefined -Isignaling \
 *          tests/fuzz/fuzz_sdp.c signaling/sig_sdp_parse.c signaling/sig_sdp_write.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sig_sdp.h"

static const char *const cands[] = {"candidate:1 1 udp 2130706431 192.168.1.2 40000 typ host", NULL};

static const sig_sdp_local local = {
    .ice_ufrag = "fuzz",
    .ice_pwd = "fuzzpassword0123456789ab",
    .fingerprint =
        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
    .setup = "passive",
    .cands = cands,
    .session_id = 1,
    .session_version = 1,
};

static void must_parse(const char *what, const char *text, sig_sdp *scratch) {
  char err[256];
  if (sig_sdp_parse(text, strlen(text), scratch, err, sizeof err)) {
    fprintf(stderr, "our %s does not parse: %s\n%s\n", what, err, text);
    abort();
  }
}

static void offer_accepted(const sig_sdp_accepted *acc, size_t n, sig_sdp *scratch) {
  sig_sdp_offer_section secs[SIG_SDP_MAX_MEDIA];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!acc[i].accepted) continue;
    secs[k] = (sig_sdp_offer_section){.kind = acc[i].kind,
                                      .mid = acc[i].mid,
                                      .active = i % 2 == 0,
                                      .ssrc = 1000 + (uint32_t)i,
                                      .cname = "c",
                                      .msid_stream = "s",
                                      .msid_track = acc[i].mid,
                                      .codec = acc[i].codec,
                                      .codec2 = acc[i].codec2};
    k++;
  }
  sig_sdp_local l = local;
  l.setup = "actpass";
  char err[256];
  char *o = sig_sdp_write_offer(&l, secs, k, err, sizeof err);
  if (!o) {
    fprintf(stderr, "offer of accepted codecs failed: %s\n", err);
    abort();
  }
  must_parse("offer", o, scratch);
  free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sig_sdp *offer, *scratch;
  static sig_sdp_accepted acc[SIG_SDP_MAX_MEDIA];
  if (!offer) offer = sig_sdp_new(), scratch = sig_sdp_new();
  char err[256];
  if (sig_sdp_parse((const char *)data, size, offer, err, sizeof err)) return 0;
  char *ans = sig_sdp_write_answer(offer, &local, acc, err, sizeof err);
  if (!ans) return 0;
  must_parse("answer", ans, scratch);
  free(ans);
  offer_accepted(acc, offer->nmedia, scratch);
  return 0;
}
