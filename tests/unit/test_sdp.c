/* Unit tests of sig_sdp: parsing real browser SDP (the seed files of the
 * fuzzer in tests/fuzz/corpus/sdp/), the answer to a publisher, the offer to
 * a subscriber, re-parsing both, and a table of bad SDP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_const.h"
#include "sig_sdp.h"

#define CORPUS SFU_SOURCE_DIR "/tests/fuzz/corpus/sdp/"
#define FP "7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08"
#define OUR_FP                                                                                               \
  "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"

static const char *const our_cands[] = {
    "candidate:1 1 udp 2130706431 192.168.1.2 40000 typ host",
    "candidate:2 1 udp 2130706175 127.0.0.1 40000 typ host",
    NULL,
};

static const sig_sdp_local answer_local = {
    .ice_ufrag = "srvU",
    .ice_pwd = "srvpassword0123456789abc",
    .fingerprint = OUR_FP,
    .setup = "passive",
    .cands = our_cands,
    .session_id = 42,
    .session_version = 2,
};

static char *load(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s%s", CORPUS, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[65536];
  *len = fread(buf, 1, sizeof buf - 1, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static sig_sdp *parse_ok(const char *text, size_t len) {
  sig_sdp *s = sig_sdp_new();
  char err[256] = "";
  int rc = sig_sdp_parse(text, len, s, err, sizeof err);
  if (rc) fail_msg("parse failed: %s", err);
  return s;
}

static sig_sdp *parse_file(const char *name) {
  size_t len;
  const char *t = load(name, &len);
  return parse_ok(t, len);
}

static bool has_fb(const sig_sdp_codec *c, const char *fb) {
  for (int i = 0; i < c->nfb; i++)
    if (!strcmp(c->fb[i], fb)) return true;
  return false;
}

static const sig_sdp_codec *codec_by_pt(const sig_sdp_media *m, int pt) {
  for (int i = 0; i < m->ncodecs; i++)
    if (m->codecs[i].pt == pt) return &m->codecs[i];
  return NULL;
}

/* ---- parsing browser SDP ---- */

static void test_parse_chrome_offer(void **state) {
  (void)state;
  sig_sdp *s = parse_file("chrome_publish_offer.sdp");
  assert_int_equal(s->nbundle, 2);
  assert_string_equal(s->bundle[0], "0");
  assert_string_equal(s->bundle[1], "1");
  assert_int_equal(s->nmedia, 2);

  const sig_sdp_media *a = &s->media[0];
  assert_string_equal(a->kind, "audio");
  assert_int_equal(a->port, 9);
  assert_string_equal(a->proto, "UDP/TLS/RTP/SAVPF");
  assert_string_equal(a->mid, "0");
  assert_int_equal(a->dir, SIG_DIR_SENDONLY);
  assert_int_equal(a->ncodecs, 8);
  int order[] = {111, 63, 9, 0, 8, 13, 110, 126};
  for (int i = 0; i < 8; i++)
    assert_int_equal(a->codecs[i].pt, order[i]);
  assert_string_equal(a->codecs[0].name, "opus");
  assert_int_equal(a->codecs[0].clock, 48000);
  assert_int_equal(a->codecs[0].channels, 2);
  assert_string_equal(a->codecs[0].fmtp, "minptime=10;useinbandfec=1");
  assert_int_equal(a->codecs[0].nfb, 1);
  assert_string_equal(a->codecs[0].fb[0], "transport-cc");
  assert_string_equal(a->codecs[1].name, "red");
  assert_string_equal(a->codecs[1].fmtp, "111/111");
  assert_string_equal(a->codecs[2].name, "G722");
  assert_int_equal(a->codecs[2].clock, 8000);
  assert_int_equal(a->codecs[2].channels, 0);
  assert_string_equal(a->codecs[6].name, "telephone-event");
  assert_int_equal(a->nexts, 4);
  assert_int_equal(a->exts[0].id, 1);
  assert_string_equal(a->exts[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  assert_int_equal(a->exts[2].id, 3);
  assert_int_equal(a->exts[3].id, 4);
  assert_string_equal(a->exts[3].uri, "urn:ietf:params:rtp-hdrext:sdes:mid");
  assert_int_equal(a->nssrc, 1);
  assert_int_equal(a->ssrcs[0], 3735928559u);
  assert_int_equal(a->fid_primary, 0);
  assert_string_equal(a->cname, "Yx1bX9LnZq2mW8vA");
  assert_string_equal(a->msid_stream, "3c5d5a1e-6f5e-4b7a-9a3b-2b1f0c9d8e7f");
  assert_string_equal(a->msid_track, "8d6e3f1a-2b4c-4d5e-8f9a-0b1c2d3e4f5a");
  assert_true(a->rtcp_mux);
  assert_true(a->rtcp_rsize);
  assert_string_equal(a->ice_ufrag, "Hk3x");
  assert_string_equal(a->ice_pwd, "9bXk1d5rN7yQ2wF0mZ8vT4pL");
  assert_string_equal(a->fp_alg, "sha-256");
  assert_string_equal(a->fingerprint, FP);
  assert_string_equal(a->setup, "actpass");
  assert_int_equal(a->ncand, 3);
  assert_string_equal(a->cand[0], "candidate:1467250027 1 udp 2122260223 192.168.1.10 54321 typ host "
                                  "generation 0 network-id 1 network-cost 10");
  assert_non_null(strstr(a->cand[1], ".local 54322 typ host"));
  assert_non_null(strstr(a->cand[2], "tcptype active"));

  const sig_sdp_media *v = &s->media[1];
  assert_string_equal(v->kind, "video");
  assert_string_equal(v->mid, "1");
  assert_int_equal(v->ncodecs, 25);
  assert_int_equal(v->codecs[0].pt, 96);
  assert_string_equal(v->codecs[0].name, "VP8");
  assert_int_equal(v->codecs[0].clock, 90000);
  assert_int_equal(v->codecs[0].nfb, 5);
  assert_true(has_fb(&v->codecs[0], "nack pli"));
  assert_true(has_fb(&v->codecs[0], "ccm fir"));
  assert_string_equal(v->codecs[1].name, "rtx");
  assert_string_equal(v->codecs[1].fmtp, "apt=96");
  assert_int_equal(v->codecs[1].nfb, 0);
  const sig_sdp_codec *h = codec_by_pt(v, 106);
  assert_non_null(h);
  assert_string_equal(h->fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  assert_string_equal(codec_by_pt(v, 45)->name, "AV1");
  assert_string_equal(codec_by_pt(v, 118)->name, "ulpfec");
  assert_int_equal(v->codecs[24].pt, 118);
  assert_int_equal(v->nexts, 11);
  assert_int_equal(v->exts[0].id, 14);
  assert_int_equal(v->exts[1].id, 2);
  assert_int_equal(v->fid_primary, 1111111111u);
  assert_int_equal(v->fid_rtx, 2222222222u);
  assert_int_equal(v->nssrc, 2);
  assert_string_equal(v->msid_track, "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d");
  assert_int_equal(v->ncand, 1);
  free(s);
}

static void test_parse_firefox_offer(void **state) {
  (void)state;
  sig_sdp *s = parse_file("firefox_publish_offer.sdp"); /* LF line ends */
  assert_int_equal(s->nmedia, 3);
  assert_int_equal(s->nbundle, 3);
  for (int i = 0; i < 3; i++) { /* the session-level fingerprint reaches every section */
    assert_string_equal(s->media[i].fp_alg, "sha-256");
    assert_string_equal(s->media[i].fingerprint, "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
                                                 "01:23:45:67:89:AB:CD:EF:01:23:45:67:89");
    assert_string_equal(s->media[i].ice_ufrag, "6b1e2c3d");
    assert_string_equal(s->media[i].setup, "actpass");
  }
  const sig_sdp_media *a = &s->media[0];
  assert_int_equal(a->codecs[0].pt, 109);
  assert_string_equal(a->codecs[0].name, "opus");
  assert_int_equal(a->codecs[0].channels, 2);
  assert_int_equal(a->codecs[1].channels, 1); /* G722/8000/1 */
  assert_int_equal(a->nexts, 3);
  assert_int_equal(a->exts[1].id, 2); /* "2/recvonly" */
  assert_string_equal(a->exts[1].uri, "urn:ietf:params:rtp-hdrext:csrc-audio-level");
  assert_string_equal(a->msid_stream, "{5a1f4c3e-9b2d-4e8f-a1c2-3d4e5f6a7b8c}");
  assert_string_equal(a->cname, "{7c2a1b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}");
  assert_false(a->rtcp_rsize);

  const sig_sdp_media *v = &s->media[1];
  assert_int_equal(v->ncodecs, 11);
  for (int i = 0; i < v->ncodecs; i++) /* a=rtcp-fb:* nack */
    assert_true(has_fb(&v->codecs[i], "nack"));
  assert_int_equal(codec_by_pt(v, 120)->nfb, 5);
  assert_int_equal(codec_by_pt(v, 123)->nfb, 2);
  assert_string_equal(codec_by_pt(v, 126)->fmtp,
                      "profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1");
  assert_int_equal(v->fid_primary, 3057227361u);
  assert_int_equal(v->fid_rtx, 1508254893u);

  const sig_sdp_media *d = &s->media[2];
  assert_string_equal(d->kind, "application");
  assert_string_equal(d->proto, "UDP/DTLS/SCTP");
  assert_int_equal(d->ncodecs, 0);
  assert_int_equal(d->dir, SIG_DIR_SENDRECV);
  assert_string_equal(d->mid, "2");
  free(s);
}

static void test_parse_chrome_answer(void **state) {
  (void)state;
  sig_sdp *s = parse_file("chrome_subscribe_answer.sdp");
  assert_int_equal(s->nmedia, 2);
  assert_string_equal(s->bundle[0], "a-p1");
  for (int i = 0; i < 2; i++) {
    assert_string_equal(s->media[i].setup, "active");
    assert_int_equal(s->media[i].dir, SIG_DIR_RECVONLY);
    assert_int_equal(s->media[i].nssrc, 0);
    assert_string_equal(s->media[i].ice_ufrag, "zQ7c");
  }
  assert_int_equal(s->media[1].ncodecs, 2);
  assert_int_equal(s->media[1].codecs[1].pt, 106);
  assert_int_equal(s->media[1].codecs[1].nfb, 3);
  free(s);
}

/* ---- answer ---- */

static char *answer_ok(const sig_sdp *offer, sig_sdp_accepted *acc) {
  char err[256] = "";
  char *ans = sig_sdp_write_answer(offer, &answer_local, acc, err, sizeof err);
  if (!ans) fail_msg("answer failed: %s", err);
  return ans;
}

static void test_answer_chrome(void **state) {
  (void)state;
  sig_sdp *offer = parse_file("chrome_publish_offer.sdp");
  sig_sdp_accepted acc[2];
  char *ans = answer_ok(offer, acc);

  assert_true(acc[0].accepted);
  assert_string_equal(acc[0].kind, "audio");
  assert_string_equal(acc[0].mid, "0");
  assert_int_equal(acc[0].codec.pt, 111);
  assert_string_equal(acc[0].codec.fmtp, "minptime=10;useinbandfec=1");
  assert_int_equal(acc[0].codec.nfb, 1); /* transport-cc: the server gives publishers feedback */
  assert_string_equal(acc[0].codec.fb[0], "transport-cc");
  assert_int_equal(acc[0].ext_id_twcc, 3);
  assert_int_equal(acc[0].codec2.pt, 63); /* RFC 2198 RED around that Opus */
  assert_string_equal(acc[0].codec2.name, "red");
  assert_string_equal(acc[0].codec2.fmtp, "111/111");
  assert_int_equal(acc[0].ext_id_audio_level, 1);
  assert_int_equal(acc[0].ext_id_abs_send_time, 2);
  assert_int_equal(acc[0].ext_id_mid, 4);
  assert_int_equal(acc[0].ssrc, 3735928559u);
  assert_string_equal(acc[0].msid_track, "8d6e3f1a-2b4c-4d5e-8f9a-0b1c2d3e4f5a");

  assert_true(acc[1].accepted);
  assert_int_equal(acc[1].codec.pt, 96);
  assert_string_equal(acc[1].codec.name, "VP8");
  assert_int_equal(acc[1].codec.nfb, 5);
  assert_string_equal(acc[1].codec.fb[0], "nack");
  assert_string_equal(acc[1].codec.fb[1], "nack pli");
  assert_string_equal(acc[1].codec.fb[2], "ccm fir");
  assert_string_equal(acc[1].codec.fb[3], "goog-remb"); /* the server caps bitrate with REMB */
  assert_string_equal(acc[1].codec.fb[4], "transport-cc");
  assert_int_equal(acc[1].rtx_pt, 97);
  assert_int_equal(acc[1].rtx_pt2, 107);
  assert_int_equal(acc[1].rtx_ssrc, 2222222222u);
  assert_int_equal(acc[1].ext_id_rid, 0); /* offered, but no simulcast: not kept */
  assert_int_equal(acc[1].nrids, 0);
  assert_int_equal(acc[1].codec2.pt, 106); /* 42e01f preferred over the earlier 42001f (102) */
  assert_string_equal(acc[1].codec2.name, "H264");
  assert_int_equal(acc[1].ext_id_abs_send_time, 2);
  assert_int_equal(acc[1].ext_id_mid, 4);
  assert_int_equal(acc[1].ext_id_audio_level, 0);
  assert_int_equal(acc[1].ssrc, 1111111111u);

  assert_non_null(strstr(ans, "v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"));
  assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
  assert_non_null(strstr(ans, "a=msid-semantic: WMS *\r\n"));
  assert_non_null(strstr(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 63 111\r\n")); /* RED first: Chrome sends it */
  assert_non_null(strstr(ans, "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"));
  assert_non_null(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 96 97 106 107\r\n"));
  assert_non_null(strstr(ans, "a=fmtp:111 minptime=10;useinbandfec=1\r\n"));
  assert_non_null(
      strstr(ans, "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"));
  assert_non_null(strstr(ans, "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"));
  assert_non_null(strstr(ans, "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"));
  assert_non_null(strstr(ans, "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"));
  assert_int_equal(count(ans, "a=extmap:3 " SFU_URI_TRANSPORT_CC "\r\n"), 2);
  assert_null(strstr(ans, "rtp-stream-id")); /* no simulcast offered */
  assert_non_null(strstr(ans, "a=rtcp-fb:96 goog-remb\r\n"));
  assert_non_null(strstr(ans, "a=rtcp-fb:111 transport-cc\r\n"));
  assert_non_null(strstr(ans, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"));
  assert_non_null(strstr(ans, "a=rtpmap:107 rtx/90000\r\na=fmtp:107 apt=106\r\n"));
  assert_null(strstr(ans, "ice-lite"));
  assert_int_equal(count(ans, "a=rtcp-fb:96 "), 5);
  assert_int_equal(count(ans, "a=rtcp-fb:106 "), 5);
  assert_int_equal(count(ans, "a=recvonly\r\n"), 2);
  assert_int_equal(count(ans, "a=setup:passive\r\n"), 2);
  assert_int_equal(count(ans, "a=fingerprint:sha-256 " OUR_FP "\r\n"), 2);
  assert_int_equal(count(ans, "a=ice-ufrag:srvU\r\n"), 2);
  assert_int_equal(count(ans, "a=ice-options:trickle\r\n"), 2);
  assert_int_equal(count(ans, "a=rtcp-mux\r\na=rtcp-rsize\r\n"), 2);
  assert_int_equal(count(ans, "a=candidate:"), 4);
  assert_int_equal(count(ans, "a=candidate:2 1 udp 2130706175 127.0.0.1 40000 typ host\r\n"), 2);
  assert_int_equal(count(ans, "a=end-of-candidates\r\n"), 2);

  sig_sdp *re = parse_ok(ans, strlen(ans)); /* our own answer parses again */
  assert_int_equal(re->nmedia, 2);
  assert_int_equal(re->nbundle, 2);
  assert_int_equal(re->media[0].dir, SIG_DIR_RECVONLY);
  assert_int_equal(re->media[0].ncodecs, 2);
  assert_int_equal(re->media[0].codecs[0].pt, 63);
  assert_int_equal(re->media[0].codecs[1].channels, 2);
  assert_int_equal(re->media[1].ncodecs, 4);
  assert_int_equal(re->media[1].codecs[2].pt, 106);
  assert_int_equal(re->media[1].nexts, 3);
  assert_string_equal(re->media[1].setup, "passive");
  assert_string_equal(re->media[1].fingerprint, OUR_FP);
  assert_int_equal(re->media[1].ncand, 2);
  free(re);
  free(ans);
  free(offer);
}

/* Chrome's offer with its video as three simulcast encodings (RIDs, no ssrc lines). */
static void test_answer_simulcast(void **state) {
  (void)state;
  char *path = g_strdup_printf("%s/tests/fuzz/corpus/sdp/chrome_publish_offer.sdp", SFU_SOURCE_DIR);
  char *text;
  gsize len;
  assert_true(g_file_get_contents(path, &text, &len, NULL));
  GString *t = g_string_new(text);
  g_string_append(t, "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;~f\r\n");
  sig_sdp *offer = parse_ok(t->str, t->len);
  sig_sdp_accepted acc[2];
  char *ans = answer_ok(offer, acc);
  assert_int_equal(acc[1].nrids, 3);
  assert_string_equal(acc[1].rids[0], "q");
  assert_string_equal(acc[1].rids[2], "f");
  assert_true(acc[1].rid_paused[2]);
  assert_int_equal(acc[1].ext_id_rid, 10);
  assert_int_equal(acc[1].ext_id_rrid, 11);
  assert_non_null(strstr(ans, "a=extmap:10 " SFU_URI_RID "\r\n"));
  assert_non_null(strstr(ans, "a=extmap:11 " SFU_URI_RRID "\r\n"));
  assert_non_null(strstr(ans, "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;~f\r\n"));
  assert_int_equal(acc[0].nrids, 0); /* audio: no simulcast */
  free(ans);
  free(offer);
  g_string_free(t, TRUE);
  g_free(text);
  g_free(path);
}

/* RED is taken only around the Opus chosen: every block of its fmtp names it. */
static void test_answer_red_variants(void **state) {
  (void)state;
  size_t len;
  const char *text = load("chrome_publish_offer.sdp", &len);
  static const struct {
    const char *fmtp;
    bool taken;
  } cases[] = {{"111/111", true},  {"111", true},  {"111/111/111", true}, {"111/112", false},
               {"112/111", false}, {"111/", true}, {"/111", false},       {"x", false}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *t = g_strdup(text);
    char *at = strstr(t, "a=fmtp:63 111/111");
    assert_non_null(at);
    GString *g = g_string_new_len(t, at - t);
    g_string_append_printf(g, "a=fmtp:63 %s%s", cases[i].fmtp, at + strlen("a=fmtp:63 111/111"));
    sig_sdp *offer = parse_ok(g->str, g->len);
    sig_sdp_accepted acc[2];
    char *ans = answer_ok(offer, acc);
    if (cases[i].taken != (acc[0].codec2.pt == 63))
      fail_msg("red fmtp '%s': taken %d", cases[i].fmtp, acc[0].codec2.pt == 63);
    assert_int_equal(acc[0].codec.pt, 111);
    assert_non_null(strstr(ans, cases[i].taken ? "m=audio 9 UDP/TLS/RTP/SAVPF 63 111\r\n"
                                               : "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
    free(ans);
    free(offer);
    g_string_free(g, TRUE);
    g_free(t);
  }
}

static void test_answer_firefox(void **state) {
  (void)state;
  sig_sdp *offer = parse_file("firefox_publish_offer.sdp");
  sig_sdp_accepted acc[3];
  char *ans = answer_ok(offer, acc);
  assert_true(acc[0].accepted);
  assert_int_equal(acc[0].codec.pt, 109);
  assert_int_equal(acc[0].ext_id_audio_level, 1);
  assert_int_equal(acc[0].ext_id_mid, 3);
  assert_int_equal(acc[0].ssrc, 2655508255u);
  assert_true(acc[1].accepted);
  assert_int_equal(acc[1].codec.pt, 120);
  assert_int_equal(acc[1].codec.nfb, 5);
  assert_int_equal(acc[1].rtx_pt, 124);
  assert_int_equal(acc[1].rtx_pt2, 127);
  assert_int_equal(acc[1].ext_id_twcc, 7);
  assert_int_equal(acc[1].codec2.pt, 126);
  assert_int_equal(acc[1].ext_id_mid, 3);
  assert_int_equal(acc[1].ext_id_abs_send_time, 4);
  assert_int_equal(acc[1].ssrc, 3057227361u);
  assert_false(acc[2].accepted);
  assert_string_equal(acc[2].kind, "application");
  assert_string_equal(acc[2].mid, "2");

  assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
  assert_non_null(strstr(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 109\r\n"));
  assert_non_null(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 120 124 126 127\r\n"));
  assert_non_null(strstr(ans, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
                              "a=mid:2\r\na=inactive\r\n"));
  assert_null(strstr(ans, "csrc-audio-level"));
  assert_int_equal(count(ans, "a=rtcp-rsize"), 1); /* Firefox offers it for video only */
  assert_int_equal(count(ans, "a=end-of-candidates"), 2);

  sig_sdp *re = parse_ok(ans, strlen(ans));
  assert_int_equal(re->nmedia, 3);
  assert_int_equal(re->media[2].port, 0);
  assert_string_equal(re->media[2].mid, "2");
  assert_int_equal(re->media[2].dir, SIG_DIR_INACTIVE);
  assert_int_equal(re->media[1].codecs[0].pt, 120);
  free(re);
  free(ans);
  free(offer);
}

#define SDP_HEAD "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
#define TRANSPORT                                                                                            \
  "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\na=fingerprint:sha-256 " FP "\r\n"               \
  "a=setup:actpass\r\n"
#define AUDIO                                                                                                \
  "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"

/* Session-level transport, H.264 only (pm=0 first), recvonly audio. */
static void test_answer_h264_only(void **state) {
  (void)state;
  const char *t =
      SDP_HEAD "a=group:BUNDLE a v\r\n" TRANSPORT
               "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=recvonly\r\na=rtcp-mux\r\n"
               "a=rtpmap:111 opus/48000/2\r\n"
               "m=video 9 UDP/TLS/RTP/SAVPF 100 101 102\r\na=mid:v\r\na=sendrecv\r\na=rtcp-mux\r\n"
               "a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=0;profile-level-id=42e01f\r\n"
               "a=rtpmap:101 H264/90000\r\na=fmtp:101 profile-level-id=640c1f;packetization-mode=1\r\n"
               "a=rtcp-fb:101 nack pli\r\n"
               "a=rtpmap:102 VP9/90000\r\n";
  sig_sdp *offer = parse_ok(t, strlen(t));
  assert_string_equal(offer->media[1].ice_pwd, "0123456789abcdefghijklmn");
  sig_sdp_accepted acc[2];
  char *ans = answer_ok(offer, acc);
  assert_int_equal(acc[1].codec.pt, 101);
  assert_int_equal(acc[1].codec2.pt, 0);
  assert_int_equal(acc[1].codec.nfb, 1);
  assert_string_equal(acc[1].codec.fb[0], "nack pli");
  assert_int_equal(acc[1].ssrc, 0);
  assert_non_null(strstr(ans, "m=video 9 UDP/TLS/RTP/SAVPF 101\r\n"));
  assert_non_null(strstr(ans, "a=mid:a\r\na=inactive\r\n")); /* recvonly offer section */
  assert_non_null(strstr(ans, "a=mid:v\r\na=recvonly\r\n")); /* sendrecv offer section */
  assert_null(strstr(ans, "a=rtcp-rsize"));
  free(ans);

  sig_sdp_local no_cands = answer_local; /* cands == NULL: no end-of-candidates, trickle stays open */
  no_cands.cands = NULL;
  no_cands.setup = NULL; /* defaults to passive */
  char err[128];
  ans = sig_sdp_write_answer(offer, &no_cands, NULL, err, sizeof err);
  assert_non_null(ans);
  assert_null(strstr(ans, "candidate"));
  assert_int_equal(count(ans, "a=setup:passive"), 2);
  free(ans);
  free(offer);
}

/* ---- offer ---- */

static const sig_sdp_local offer_local = {
    .ice_ufrag = "srvU",
    .ice_pwd = "srvpassword0123456789abc",
    .fingerprint = OUR_FP,
    .setup = "actpass",
    .cands = our_cands,
    .session_id = 7,
    .session_version = 3,
};

static const sig_sdp_codec opus = {
    .pt = 111, .name = "opus", .clock = 48000, .channels = 2, .fmtp = "minptime=10;useinbandfec=1"};
static const sig_sdp_codec vp8 = {.pt = 96, .name = "VP8", .clock = 90000};
static const sig_sdp_codec h264 = {
    .pt = 106,
    .name = "H264",
    .clock = 90000,
    .fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"};

static char *offer_ok(const sig_sdp_offer_section *secs, size_t n) {
  char err[256] = "";
  char *o = sig_sdp_write_offer(&offer_local, secs, n, err, sizeof err);
  if (!o) fail_msg("offer failed: %s", err);
  return o;
}

static void test_offer_probe(void **state) {
  (void)state;
  char *o = offer_ok(NULL, 0);
  assert_non_null(strstr(o, "a=group:BUNDLE probe\r\n"));
  assert_non_null(strstr(o, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
  assert_non_null(strstr(o, "a=inactive\r\n"));
  assert_non_null(strstr(o, "a=setup:actpass\r\n"));
  assert_null(strstr(o, "a=ssrc"));
  assert_null(strstr(o, "a=msid:"));
  assert_int_equal(count(o, "a=end-of-candidates\r\n"), 1);
  sig_sdp *re = parse_ok(o, strlen(o));
  assert_int_equal(re->nmedia, 1);
  assert_string_equal(re->media[0].mid, "probe");
  assert_int_equal(re->media[0].dir, SIG_DIR_INACTIVE);
  assert_string_equal(re->media[0].codecs[0].name, "opus");
  assert_string_equal(re->media[0].codecs[0].fmtp, "minptime=10;useinbandfec=1");
  assert_int_equal(re->media[0].nexts, 3); /* audio level, transport-wide cc, mid */
  assert_int_equal(re->media[0].exts[0].id, SFU_EXT_AUDIO_LEVEL);
  assert_int_equal(re->media[0].exts[1].id, SFU_EXT_TRANSPORT_CC);
  free(re);
  free(o);
}

static void test_offer_one(void **state) {
  (void)state;
  sig_sdp_offer_section s = {.kind = "video",
                             .mid = "v-alice",
                             .active = true,
                             .ssrc = 12345678,
                             .cname = "sfu-alice",
                             .msid_stream = "alice",
                             .msid_track = "alice-video",
                             .codec = vp8,
                             .codec2 = h264,
                             .rtx_pt = 97,
                             .rtx_pt2 = 107,
                             .rtx_ssrc = 87654321};
  char *o = offer_ok(&s, 1);
  assert_non_null(strstr(o, "a=group:BUNDLE v-alice\r\n"));
  assert_non_null(strstr(o, "m=video 9 UDP/TLS/RTP/SAVPF 96 97 106 107\r\n"));
  assert_non_null(strstr(o, "a=sendonly\r\na=msid:alice alice-video\r\n"));
  assert_non_null(strstr(o, "a=ssrc-group:FID 12345678 87654321\r\n"));
  assert_non_null(strstr(o, "a=ssrc:12345678 cname:sfu-alice\r\na=ssrc:12345678 msid:alice alice-video\r\n"));
  assert_non_null(strstr(o, "a=ssrc:87654321 cname:sfu-alice\r\na=ssrc:87654321 msid:alice alice-video\r\n"));
  assert_non_null(strstr(o, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"));
  assert_non_null(strstr(o, "a=rtpmap:107 rtx/90000\r\na=fmtp:107 apt=106\r\n"));
  assert_non_null(strstr(o, "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"));
  assert_non_null(strstr(o, "a=extmap:3 " SFU_URI_TRANSPORT_CC "\r\n"));
  assert_non_null(strstr(o, "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"));
  assert_non_null(strstr(o, "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 ccm fir\r\n"
                            "a=rtcp-fb:96 transport-cc\r\n"));
  assert_non_null(strstr(o, "a=rtcp-fb:106 nack\r\na=rtcp-fb:106 nack pli\r\na=rtcp-fb:106 ccm fir\r\n"));
  assert_null(strstr(o, "ssrc-audio-level"));
  sig_sdp *re = parse_ok(o, strlen(o)); /* and it parses as a browser's offer would */
  assert_int_equal(re->media[0].fid_primary, 12345678);
  assert_int_equal(re->media[0].fid_rtx, 87654321);
  free(re);
  free(o);
}

static void test_offer_closed(void **state) {
  (void)state;
  sig_sdp_offer_section s[2] = {
      {.kind = "audio", .mid = "probe", .codec = opus},
      {.kind = "video", .mid = "v3", .closed = true, .codec = vp8},
  };
  char *o = offer_ok(s, 2);
  assert_non_null(strstr(o, "a=group:BUNDLE probe\r\n")); /* a closed section is out of BUNDLE */
  assert_non_null(
      strstr(o, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v3\r\na=inactive\r\n"));
  sig_sdp *re = parse_ok(o, strlen(o));
  assert_int_equal(re->media[1].port, 0);
  free(re);
  free(o);
  s[0].closed = true; /* the BUNDLE tag cannot be closed */
  char err[128] = "";
  assert_null(sig_sdp_write_offer(&offer_local, s, 2, err, sizeof err));
  assert_non_null(strstr(err, "cannot be closed"));
}

static void test_offer_three(void **state) {
  (void)state;
  sig_sdp_offer_section s[3] = {
      {.kind = "audio",
       .mid = "a-bob",
       .active = true,
       .ssrc = 1001,
       .cname = "sfu-bob",
       .msid_stream = "bob",
       .msid_track = "bob-audio",
       .codec = opus},
      {.kind = "video",
       .mid = "v-bob",
       .active = true,
       .ssrc = 1002,
       .cname = "sfu-bob",
       .msid_stream = "bob",
       .msid_track = "bob-video",
       .codec = vp8},
      {.kind = "audio", .mid = "a-carol", .active = false, .codec = opus}, /* carol left */
  };
  char *o = offer_ok(s, 3);
  assert_non_null(strstr(o, "a=group:BUNDLE a-bob v-bob a-carol\r\n"));
  assert_int_equal(count(o, "a=sendonly\r\n"), 2);
  assert_int_equal(count(o, "a=inactive\r\n"), 1);
  assert_int_equal(count(o, "a=msid:"), 2);
  assert_int_equal(count(o, "a=ssrc:"), 4);
  assert_int_equal(count(o, "a=setup:actpass\r\n"), 3);
  assert_int_equal(count(o, "a=end-of-candidates\r\n"), 3);
  assert_int_equal(count(o, "a=rtcp-mux\r\na=rtcp-rsize\r\n"), 3);
  assert_int_equal(count(o, "a=rtcp-fb:"), 6); /* video: nack, nack pli, ccm fir; transport-cc for all */
  assert_int_equal(count(o, " transport-cc\r\n"), 3);

  sig_sdp *re = parse_ok(o, strlen(o));
  assert_int_equal(re->nmedia, 3);
  assert_int_equal(re->nbundle, 3);
  assert_int_equal(re->media[0].dir, SIG_DIR_SENDONLY);
  assert_int_equal(re->media[0].ssrcs[0], 1001);
  assert_string_equal(re->media[0].cname, "sfu-bob");
  assert_string_equal(re->media[0].msid_track, "bob-audio");
  assert_int_equal(re->media[0].exts[0].id, 1);
  assert_int_equal(re->media[0].exts[2].id, 4);
  assert_int_equal(re->media[1].ssrcs[0], 1002);
  assert_int_equal(re->media[1].codecs[0].nfb, 4);
  assert_int_equal(re->media[1].exts[0].id, 2);
  assert_int_equal(re->media[2].dir, SIG_DIR_INACTIVE);
  assert_int_equal(re->media[2].nssrc, 0);
  assert_string_equal(re->media[2].setup, "actpass");
  assert_string_equal(re->media[2].fingerprint, OUR_FP);
  assert_int_equal(re->media[2].ncand, 2);
  assert_true(re->media[2].rtcp_rsize);
  free(re);
  free(o);
}

/* The data channels' section (RFC 8841) round-trips through the parser. */
static void test_offer_data_section(void **state) {
  (void)state;
  sig_sdp_offer_section secs[2] = {
      {.kind = "audio", .mid = "probe", .codec = opus},
      {.kind = "application", .mid = "data", .sctp_port = 5000, .max_message_size = 65536},
  };
  char err[256] = "";
  char *o = sig_sdp_write_offer(&offer_local, secs, 2, err, sizeof err);
  if (!o) fail_msg("offer refused: %s", err);
  assert_non_null(strstr(o, "a=group:BUNDLE probe data\r\n"));
  assert_non_null(strstr(o, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
  sig_sdp *re = sig_sdp_new();
  assert_int_equal(sig_sdp_parse(o, strlen(o), re, err, sizeof err), 0);
  assert_int_equal(re->nmedia, 2);
  assert_string_equal(re->media[1].kind, "application");
  assert_string_equal(re->media[1].mid, "data");
  assert_int_equal(re->media[1].sctp_port, 5000);
  assert_true(re->media[1].has_max_message_size);
  assert_int_equal(re->media[1].max_message_size, 65536);
  assert_string_equal(re->media[1].setup, "actpass");
  assert_string_equal(re->media[1].fingerprint, OUR_FP);
  assert_int_equal(re->media[0].sctp_port, 0);
  assert_false(re->media[0].has_max_message_size);
  free(re);
  free(o);
  /* a browser's answer: bad values are errors, absent ones stay absent */
  const char *bad[] = {"a=sctp-port:0", "a=sctp-port:70000", "a=sctp-port:x", "a=max-message-size:-1",
                       "a=max-message-size:99999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:data\r\n%s\r\n",
             bad[i]);
    sig_sdp *p = sig_sdp_new();
    if (sig_sdp_parse(text, strlen(text), p, err, sizeof err) == 0) fail_msg("'%s' accepted", bad[i]);
    free(p);
  }
}

static void expect_offer_error(const sig_sdp_local *l, const sig_sdp_offer_section *s, size_t n,
                               const char *want) {
  char err[256] = "";
  char *o = sig_sdp_write_offer(l, s, n, err, sizeof err);
  if (o) fail_msg("offer accepted, wanted error '%s'", want);
  if (!strstr(err, want)) fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_offer_bad_input(void **state) {
  (void)state;
  sig_sdp_offer_section ok = {.kind = "audio",
                              .mid = "a",
                              .active = true,
                              .ssrc = 5,
                              .cname = "c",
                              .msid_stream = "s",
                              .msid_track = "t",
                              .codec = opus};
  sig_sdp_offer_section s = ok;
  s.mid = NULL;
  expect_offer_error(&offer_local, &s, 1, "mid");
  s.mid = "a b";
  expect_offer_error(&offer_local, &s, 1, "mid");
  s.mid = "a\r\na=inject";
  expect_offer_error(&offer_local, &s, 1, "mid");
  s = ok;
  s.kind = "text";
  expect_offer_error(&offer_local, &s, 1, "kind");
  s = ok;
  s.kind = "application"; /* a data section needs its sctp-port */
  expect_offer_error(&offer_local, &s, 1, "data section");
  s = ok;
  s.msid_track = "x y";
  expect_offer_error(&offer_local, &s, 1, "msid");
  s = ok;
  s.cname = NULL;
  expect_offer_error(&offer_local, &s, 1, "cname");
  s = ok;
  s.ssrc = 0;
  expect_offer_error(&offer_local, &s, 1, "ssrc");
  s = ok;
  s.codec.pt = 200;
  expect_offer_error(&offer_local, &s, 1, "codec");
  s = ok;
  s.codec2 = opus;
  expect_offer_error(&offer_local, &s, 1, "second codec");
  sig_sdp_offer_section two[2] = {ok, ok};
  expect_offer_error(&offer_local, two, 2, "duplicate mid");
  expect_offer_error(&offer_local, NULL, 1, "no sections");
  expect_offer_error(&offer_local, &ok, SIG_SDP_MAX_MEDIA + 1, "too many");
  expect_offer_error(NULL, &ok, 1, "local");
  sig_sdp_local l = offer_local;
  l.ice_ufrag = NULL;
  expect_offer_error(&l, &ok, 1, "ICE");
  l = offer_local;
  l.fingerprint = "zz";
  expect_offer_error(&l, &ok, 1, "fingerprint");
  const char *bad_cands[] = {"candidate:1 1 udp 1 1.2.3.4 5 typ host\r\na=x", NULL};
  l = offer_local;
  l.cands = bad_cands;
  expect_offer_error(&l, &ok, 1, "candidate");
  s = ok; /* inactive sections need no ssrc/cname/msid */
  s.active = false;
  s.cname = s.msid_stream = s.msid_track = NULL;
  s.ssrc = 0;
  free(offer_ok(&s, 1));
}

/* ---- bad SDP ---- */

typedef struct {
  const char *text;
  bool at_answer; /* parses; the answer rejects it */
  const char *want;
} bad_case;

static const bad_case bad_cases[] = {
    {"", false, "empty SDP"},
    {"\r\n\n\r\n", false, "empty SDP"},
    {"hello world", false, "line 1: expected <type>=<value>"},
    {"v=1\r\n", false, "line 1: expected v=0"},
    {"o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n", false, "line 1: expected v=0"},
    {SDP_HEAD, false, "no m= section"},
    {SDP_HEAD "v=0\r\n", false, "line 5: unexpected v= line"},
    {SDP_HEAD "m=audio\r\n", false, "line 5: bad m= line"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF\r\n", false, "line 5: m= line has no formats"},
    {SDP_HEAD "m=audio 70000 UDP/TLS/RTP/SAVPF 111\r\n", false, "bad m= port"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111 128\r\n", false,
     "line 5: payload type 128 out of range (> 127)"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111 abc\r\n", false, "bad payload type"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111 111\r\n", false, "duplicate payload type"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus\r\n", false, "line 6: bad rtpmap"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111\r\n", false, "line 6: bad rtpmap"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:x opus/48000\r\n", false, "bad rtpmap"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:200 opus/48000\r\n", false, "bad rtpmap"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/abc\r\n", false, "bad rtpmap clock"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/0\r\n", false,
     "bad rtpmap channels"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 op us/48000\r\n", false, "bad rtpmap"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtcp-fb:111\r\n", false, "bad rtcp-fb"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:0 urn:x\r\n", false, "bad extmap id"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1/sideways urn:x\r\n", false,
     "bad extmap direction"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1 urn:x\r\na=extmap:1 urn:y\r\n", false,
     "line 7: duplicate extmap id"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:abc cname:x\r\n", false, "bad ssrc"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:99999999999 cname:x\r\n", false, "bad ssrc"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc-group:FID 1\r\n", false, "bad ssrc-group"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n",
     false, "line 8: duplicate mid"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\x01\r\n", false, "line 6: control character"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:\r\n", false, "empty mid"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a b\r\n", false, "bad mid"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 XY:ZZ\r\n", false, "bad fingerprint"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256\r\n", false, "bad fingerprint"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:\r\n", false, "empty ice-ufrag"},
    {SDP_HEAD "a=ice-ufrag:abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij\r\n" AUDIO,
     false, "line 5: ice-ufrag too long"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=msid:s0123456789012345678901234567890123456789012345678"
              "901234567890123456789 t\r\n",
     false, "msid stream id too long"},
    {SDP_HEAD
     "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1 urn:ietf:params:rtp-hdrext:0123456789012345678901"
     "23456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123\r\n",
     false, "extmap URI too long"},
    {SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:1 cname:0123456789012345678901234567890123456789"
              "0123456789012345678901234\r\n",
     false, "cname too long"},
    /* rejected when answering */
    {SDP_HEAD "a=group:BUNDLE 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"
              "a=setup:actpass\r\n" AUDIO,
     true, "section 0: missing a=fingerprint"},
    {SDP_HEAD "a=group:BUNDLE 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"
              "a=fingerprint:sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB\r\n"
              "a=setup:actpass\r\n" AUDIO,
     true, "fingerprint algorithm 'sha-1' not supported (need sha-256)"},
    {SDP_HEAD
     "a=group:BUNDLE 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"
     "a=fingerprint:SHA-512 "
     "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:"
     "3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1\r\n"
     "a=setup:actpass\r\n" AUDIO,
     true, "fingerprint algorithm 'sha-512' not supported"},
    {SDP_HEAD "a=group:BUNDLE 0\r\na=fingerprint:sha-256 " FP "\r\na=setup:actpass\r\n" AUDIO, true,
     "missing a=ice-ufrag/a=ice-pwd"},
    {SDP_HEAD "a=group:BUNDLE 0\r\n" TRANSPORT "a=setup:passive\r\n" AUDIO, true,
     "a=setup:passive not supported"},
    {SDP_HEAD "a=group:BUNDLE 0\r\n" TRANSPORT "a=fingerprint:sha-256 AB:CD\r\n" AUDIO, true,
     "bad sha-256 fingerprint"},
    {SDP_HEAD TRANSPORT AUDIO, true, "no a=group:BUNDLE"},
    {SDP_HEAD "a=group:BUNDLE 0\r\n" TRANSPORT
              "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n",
     true, "no usable audio/video section"},
    {SDP_HEAD "a=group:BUNDLE 0\r\n" TRANSPORT
              "m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n",
     true, "no usable audio/video section (section 0: no opus/48000/2)"},
    {SDP_HEAD "a=group:BUNDLE 0\r\n" TRANSPORT
              "m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=mid:0\r\na=rtcp-mux\r\na=rtpmap:98 VP9/90000\r\n",
     true, "no VP8 or H264"},
    {SDP_HEAD "a=group:BUNDLE 1\r\n" TRANSPORT AUDIO, true, "not in the BUNDLE group"},
    {SDP_HEAD "a=group:BUNDLE 0\r\n" TRANSPORT "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n", true,
     "rejected by the offerer"},
    {SDP_HEAD "a=group:BUNDLE 0\r\n" TRANSPORT
              "m=audio 9 RTP/AVP 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n",
     true, "protocol is not UDP/TLS/RTP/SAVPF"},
};

static void run_bad(const char *text, size_t len, bool at_answer, const char *want) {
  sig_sdp *s = sig_sdp_new();
  char err[256] = "";
  int rc = sig_sdp_parse(text, len, s, err, sizeof err);
  if (!at_answer) {
    if (rc != -EINVAL) fail_msg("parsed, wanted error '%s' for:\n%s", want, text);
    if (!strstr(err, want)) fail_msg("error '%s' does not contain '%s'", err, want);
    assert_int_equal(s->nmedia, 0); /* left zeroed */
  } else {
    if (rc) fail_msg("parse failed (%s), wanted answer error '%s'", err, want);
    char *ans = sig_sdp_write_answer(s, &answer_local, NULL, err, sizeof err);
    if (ans) fail_msg("answered, wanted error '%s':\n%s", want, ans);
    if (!strstr(err, want)) fail_msg("error '%s' does not contain '%s'", err, want);
  }
  free(s);
}

static void test_bad_sdp_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
    run_bad(bad_cases[i].text, strlen(bad_cases[i].text), bad_cases[i].at_answer, bad_cases[i].want);
  run_bad(NULL, 10, false, "empty SDP");
  const char nul[] = SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\0x\r\n";
  run_bad(nul, sizeof nul - 1, false, "line 6: control character");
}

/* Limits: one past each array size is an error, never an overflow. */
static void test_limits(void **state) {
  (void)state;
  size_t cap = 1 << 20;
  char *t = malloc(cap);
  size_t n;

  n = (size_t)snprintf(t, cap, SDP_HEAD);
  for (int i = 0; i <= SIG_SDP_MAX_MEDIA; i++)
    n += (size_t)snprintf(t + n, cap - n, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:%d\r\n", i);
  run_bad(t, n, false, "line 133: too many m= sections (max 64)");

  n = (size_t)snprintf(t, cap, SDP_HEAD "m=video 9 UDP/TLS/RTP/SAVPF");
  for (int i = 0; i <= SIG_SDP_MAX_CODECS; i++)
    n += (size_t)snprintf(t + n, cap - n, " %d", (96 + i) % 128); /* all distinct */
  n += (size_t)snprintf(t + n, cap - n, "\r\n");
  char want[64];
  snprintf(want, sizeof want, "too many codecs (max %d)", SIG_SDP_MAX_CODECS);
  run_bad(t, n, false, want);

  n = (size_t)snprintf(t, cap, SDP_HEAD AUDIO);
  for (int i = 0; i <= SIG_SDP_MAX_CAND; i++)
    n += (size_t)snprintf(t + n, cap - n, "a=candidate:%d 1 udp 1 10.0.0.%d 9 typ host\r\n", i, i);
  snprintf(want, sizeof want, "too many candidates (max %d)", SIG_SDP_MAX_CAND);
  run_bad(t, n, false, want);

  n = (size_t)snprintf(t, cap, SDP_HEAD AUDIO);
  for (int i = 0; i <= SIG_SDP_MAX_EXT; i++)
    n += (size_t)snprintf(t + n, cap - n, "a=extmap:%d urn:x:%d\r\n", i + 1, i);
  snprintf(want, sizeof want, "too many extmaps (max %d)", SIG_SDP_MAX_EXT);
  run_bad(t, n, false, want);

  n = (size_t)snprintf(t, cap, SDP_HEAD AUDIO);
  for (int i = 0; i <= SIG_SDP_MAX_SSRC; i++)
    n += (size_t)snprintf(t + n, cap - n, "a=ssrc:%d cname:x\r\n", i + 1);
  run_bad(t, n, false, "too many ssrcs (max 8)");

  n = (size_t)snprintf(t, cap, SDP_HEAD AUDIO);
  for (int i = 0; i <= SIG_SDP_MAX_FB; i++)
    n += (size_t)snprintf(t + n, cap - n, "a=rtcp-fb:111 fb%d\r\n", i);
  run_bad(t, n, false, "too many rtcp-fb for payload type 111");

  n = (size_t)snprintf(t, cap, SDP_HEAD "a=group:BUNDLE");
  for (int i = 0; i <= SIG_SDP_MAX_MEDIA; i++)
    n += (size_t)snprintf(t + n, cap - n, " m%d", i);
  n += (size_t)snprintf(t + n, cap - n, "\r\n" AUDIO);
  run_bad(t, n, false, "too many BUNDLE mids");

  n = (size_t)snprintf(t, cap, SDP_HEAD AUDIO "a=fmtp:111 ");
  memset(t + n, 'x', 300);
  n += 300;
  n += (size_t)snprintf(t + n, cap - n, "\r\n");
  run_bad(t, n, false, "line 10: fmtp too long (max 255)");

  n = (size_t)snprintf(t, cap, SDP_HEAD AUDIO "a=candidate:");
  memset(t + n, 'x', 300);
  n += 300;
  run_bad(t, n, false, "candidate too long");

  n = (size_t)snprintf(t, cap, SDP_HEAD AUDIO "a=x-unknown:");
  memset(t + n, 'x', 5000);
  n += 5000;
  run_bad(t, n, false, "line 10: line too long");

  /* exactly at the limits is fine */
  n = (size_t)snprintf(t, cap, SDP_HEAD AUDIO);
  for (int i = 0; i < SIG_SDP_MAX_CAND; i++)
    n += (size_t)snprintf(t + n, cap - n, "a=candidate:%d 1 udp 1 10.0.0.%d 9 typ host\r\n", i, i);
  free(parse_ok(t, n));
  free(t);
}

/* Odd but valid input is accepted. */
static void test_parse_lenient(void **state) {
  (void)state;
  const char *t = "v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\nx=unknown line\na=unknown-attr:1 2 3\na=rtcp-mux\n"
                  "a=rtpmap:99 lost/8000\na=fmtp:99 never\na=rtcp-fb:99 nack\na=inactive\n"
                  "a=fingerprint:sha-1 AA:BB\na=fingerprint:sha-256 " FP "\na=fingerprint:sha-1 CC:DD\n"
                  "a=ssrc:7 msid:first track1\na=msid:second track2\na=ssrc:7 msid:third track3";
  sig_sdp *s = parse_ok(t, strlen(t));
  assert_int_equal(s->nmedia, 1);
  assert_int_equal(s->media[0].ncodecs, 2);
  assert_string_equal(s->media[0].codecs[1].name, "PCMU"); /* static payload type */
  assert_int_equal(s->media[0].codecs[1].clock, 8000);
  assert_int_equal(s->media[0].dir, SIG_DIR_INACTIVE);
  assert_string_equal(s->media[0].fp_alg, "sha-256"); /* sha-256 wins */
  assert_string_equal(s->media[0].fingerprint, FP);
  assert_string_equal(s->media[0].msid_stream, "second"); /* a=msid wins over a=ssrc msid: */
  assert_int_equal(s->media[0].nssrc, 1);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_chrome_offer),  cmocka_unit_test(test_parse_firefox_offer),
      cmocka_unit_test(test_parse_chrome_answer), cmocka_unit_test(test_answer_chrome),
      cmocka_unit_test(test_answer_firefox),      cmocka_unit_test(test_answer_h264_only),
      cmocka_unit_test(test_offer_probe),         cmocka_unit_test(test_offer_one),
      cmocka_unit_test(test_offer_closed),        cmocka_unit_test(test_answer_simulcast),
      cmocka_unit_test(test_offer_three),         cmocka_unit_test(test_offer_bad_input),
      cmocka_unit_test(test_offer_data_section),  cmocka_unit_test(test_answer_red_variants),
      cmocka_unit_test(test_bad_sdp_table),       cmocka_unit_test(test_limits),
      cmocka_unit_test(test_parse_lenient),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
