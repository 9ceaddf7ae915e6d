/* sig_sdp_write: the SDP the server writes, an answer to a publisher's offer
 * and an offer to a subscriber. Every string echoed from the input is
 * checked again here, so a hand-built sig_sdp cannot inject lines. */
#include "sfu_const.h"
#include "sig_sdp.h"
#include "sig_sdp_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OPUS_FMTP "minptime=10;useinbandfec=1"

/* ---- growable text buffer ---- */

typedef struct {
  char *buf;
  size_t len, cap;
  bool oom;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = true;
      return;
    }
    if (b->buf && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap <= b->len + (size_t)n)
      cap *= 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) {
      b->oom = true;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
}

static char *sb_take(sbuf *b, char *err, size_t errlen) {
  if (b->oom || !b->buf) {
    free(b->buf);
    if (err && errlen) snprintf(err, errlen, "out of memory");
    return NULL;
  }
  return b->buf;
}

__attribute__((format(printf, 3, 4))) static int set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ---- checks of strings that end up in the SDP ---- */

/* NUL-terminated within cap, no control characters (no line injection). */
static bool is_safe(const char *s, size_t cap) {
  if (!s) return false;
  for (size_t i = 0; i < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!c) return true;
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return false;
}

static bool is_fingerprint(const char *s) {
  if (!s || !*s) return false;
  size_t n = 0;
  for (; s[n]; n++)
    if (n >= 127 || (!isxdigit((unsigned char)s[n]) && s[n] != ':')) return false;
  return true;
}

/* A sha-256 fingerprint: 32 hex byte pairs separated by colons. */
static bool is_sha256_value(const char *s) {
  if (strlen(s) != 95) return false;
  for (int i = 0; i < 95; i++)
    if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i])) return false;
  return true;
}

/* RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/" (libnice uses all four). */
static bool is_ice_chars(const char *s, size_t cap) {
  size_t n = 0;
  if (!s || !*s) return false;
  for (; s[n]; n++)
    if (n + 1 >= cap || !(isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '/')) return false;
  return true;
}

static int check_local(const sig_sdp_local *l, const char *setup, char *err, size_t errlen) {
  if (!is_ice_chars(l->ice_ufrag, 64) || !is_ice_chars(l->ice_pwd, 128))
    return set_err(err, errlen, "local: bad or missing ICE ufrag/pwd");
  if (!is_fingerprint(l->fingerprint)) return set_err(err, errlen, "local: bad or missing fingerprint");
  if (!sig_sdp_is_token(setup, 16)) return set_err(err, errlen, "local: bad setup");
  for (size_t i = 0; l->cands && l->cands[i]; i++)
    if (strncmp(l->cands[i], "candidate:", 10) || !is_safe(l->cands[i], 256) || strchr(l->cands[i], '\t'))
      return set_err(err, errlen, "local: bad candidate %zu", i);
  return 0;
}

static bool codec_ok(const sig_sdp_codec *c) {
  return c->pt <= 127 && sig_sdp_is_token(c->name, sizeof c->name) && c->clock > 0 &&
         is_safe(c->fmtp, sizeof c->fmtp) && c->nfb <= SIG_SDP_MAX_FB;
}

/* ---- shared writers ---- */

static void write_transport(sbuf *b, const sig_sdp_local *l, const char *setup) {
  sb_printf(b,
            "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
            "a=ice-options:trickle\r\na=fingerprint:sha-256 %s\r\na=setup:%s\r\n",
            l->ice_ufrag, l->ice_pwd, l->fingerprint, setup);
}

static void write_codec(sbuf *b, const sig_sdp_codec *c) {
  sb_printf(b, "a=rtpmap:%u %s/%" PRIu32, c->pt, c->name, c->clock);
  if (c->channels) sb_printf(b, "/%u", c->channels);
  sb_printf(b, "\r\n");
  if (c->fmtp[0]) sb_printf(b, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
  for (unsigned i = 0; i < c->nfb && i < SIG_SDP_MAX_FB; i++)
    sb_printf(b, "a=rtcp-fb:%u %s\r\n", c->pt, c->fb[i]);
}

/* Only the candidates when the list is given: with cands == NULL nothing is
 * written, not even end-of-candidates, so candidates may still trickle. */
static void write_candidates(sbuf *b, const sig_sdp_local *l) {
  if (!l->cands) return;
  for (size_t i = 0; l->cands[i]; i++)
    sb_printf(b, "a=%s\r\n", l->cands[i]);
  sb_printf(b, "a=end-of-candidates\r\n");
}

static void write_session(sbuf *b, const sig_sdp_local *l) {
  sb_printf(b, "v=0\r\no=- %" PRIu64 " %" PRIu64 " IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n%sa=group:BUNDLE",
            l->session_id, l->session_version, l->ice_lite ? "a=ice-lite\r\n" : "");
}

static const char *const video_fb[] = {"nack", "nack pli", "ccm fir"};
/* Publishers also get goog-remb: the server's REMB is how it caps their
 * bitrate (and, with no transport-cc, what lets Chrome ramp up at all). */
static const char *const answer_video_fb[] = {"nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"};

/* ---- answer ---- */

/* Value of key in an fmtp "k=v;k=v" string, case-insensitive key. */
static bool fmtp_get(const char *fmtp, const char *key, char *val, size_t cap) {
  size_t klen = strlen(key);
  for (const char *p = fmtp; *p;) {
    while (*p == ' ' || *p == ';')
      p++;
    const char *end = strchr(p, ';');
    if (!end) end = p + strlen(p);
    if (!strncasecmp(p, key, klen) && p[klen] == '=') {
      size_t n = (size_t)(end - (p + klen + 1));
      if (n >= cap) return false;
      memcpy(val, p + klen + 1, n);
      val[n] = '\0';
      return true;
    }
    p = end;
  }
  return false;
}

/* -1: unusable H.264; higher is better: 3 constrained baseline 3.1 (42e01f),
 * 2 other constrained baseline, 1 any other packetization-mode=1. */
static int h264_rank(const sig_sdp_codec *c) {
  char v[16];
  if (strcasecmp(c->name, "H264") || c->clock != 90000) return -1;
  if (!fmtp_get(c->fmtp, "packetization-mode", v, sizeof v) || strcmp(v, "1")) return -1;
  if (!fmtp_get(c->fmtp, "profile-level-id", v, sizeof v)) return 1;
  if (!strcasecmp(v, "42e01f")) return 3;
  return strncasecmp(v, "42e0", 4) ? 1 : 2;
}

/* fmtp of RED: the payload types of its blocks, "111/111"; all must be pt. */
static bool red_blocks_are(const char *fmtp, uint8_t pt) {
  const char *p = fmtp;
  do {
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p || v != pt || (*end && *end != '/')) return false;
    p = end + (*end == '/');
  } while (*p);
  return true;
}

/* red/48000/2 around the chosen Opus (RFC 2198). */
static const sig_sdp_codec *pick_red(const sig_sdp_media *m, uint8_t opus_pt) {
  for (unsigned i = 0; i < m->ncodecs && i < SIG_SDP_MAX_CODECS; i++) {
    const sig_sdp_codec *c = &m->codecs[i];
    if (codec_ok(c) && !strcasecmp(c->name, "red") && c->clock == 48000 && c->fmtp[0] &&
        red_blocks_are(c->fmtp, opus_pt))
      return c;
  }
  return NULL;
}

static const sig_sdp_codec *pick_codec(const sig_sdp_media *m, const char *want) {
  const sig_sdp_codec *best = NULL;
  int best_rank = -1;
  for (unsigned i = 0; i < m->ncodecs && i < SIG_SDP_MAX_CODECS; i++) {
    const sig_sdp_codec *c = &m->codecs[i];
    if (!codec_ok(c)) continue;
    if (!strcmp(want, "opus") && !strcasecmp(c->name, "opus") && c->clock == 48000 && c->channels == 2)
      return c;
    if (!strcmp(want, "VP8") && !strcasecmp(c->name, "VP8") && c->clock == 90000) return c;
    int r = !strcmp(want, "H264") ? h264_rank(c) : -1;
    if (r > best_rank) best = c, best_rank = r;
  }
  return best;
}

/* The codec as we answer it: the offer's pt, our fmtp and rtcp-fb. */
static void answer_codec(const sig_sdp_codec *in, bool video, sig_sdp_codec *out) {
  *out = *in;
  out->nfb = 0;
  memset(out->fb, 0, sizeof out->fb);
  if (!video && !strcasecmp(in->name, "red")) return; /* its fmtp names the Opus payload type */
  if (!video) {
    snprintf(out->fmtp, sizeof out->fmtp, OPUS_FMTP);
    for (unsigned i = 0; i < in->nfb && i < SIG_SDP_MAX_FB; i++)
      if (!strcmp(in->fb[i], "transport-cc"))
        snprintf(out->fb[out->nfb++], sizeof out->fb[0], "transport-cc");
    return;
  }
  for (size_t w = 0; w < sizeof answer_video_fb / sizeof answer_video_fb[0]; w++)
    for (unsigned i = 0; i < in->nfb && i < SIG_SDP_MAX_FB; i++)
      if (!strcmp(in->fb[i], answer_video_fb[w])) {
        snprintf(out->fb[out->nfb++], sizeof out->fb[0], "%s", answer_video_fb[w]);
        break;
      }
}

static bool in_bundle(const sig_sdp *o, const char *mid) {
  for (unsigned i = 0; i < o->nbundle && i < SIG_SDP_MAX_MEDIA; i++)
    if (!strncmp(o->bundle[i], mid, sizeof o->bundle[i])) return true;
  return false;
}

/* The payload type of the offer's rtx codec for `pt` (a=fmtp:X apt=pt), 0 = none. */
static uint8_t rtx_for(const sig_sdp_media *m, uint8_t pt) {
  char v[8];
  for (unsigned i = 0; i < m->ncodecs && i < SIG_SDP_MAX_CODECS; i++) {
    const sig_sdp_codec *c = &m->codecs[i];
    if (!strcasecmp(c->name, "rtx") && c->clock == 90000 && fmtp_get(c->fmtp, "apt", v, sizeof v) &&
        atoi(v) == pt)
      return c->pt;
  }
  return 0;
}

static void take_extensions(const sig_sdp_media *m, bool video, sig_sdp_accepted *a) {
  for (unsigned i = 0; i < m->nexts && i < SIG_SDP_MAX_EXT; i++) {
    const sig_sdp_ext *e = &m->exts[i];
    if (e->id > 14) continue; /* we read the one-byte form only */
    if (!strcmp(e->uri, SFU_URI_MID)) a->ext_id_mid = e->id;
    if (!strcmp(e->uri, SFU_URI_ABS_SEND_TIME)) a->ext_id_abs_send_time = e->id;
    if (!strcmp(e->uri, SFU_URI_AUDIO_LEVEL)) a->ext_id_audio_level = e->id;
    if (!strcmp(e->uri, SFU_URI_TRANSPORT_CC)) a->ext_id_twcc = e->id;
    if (video && !strcmp(e->uri, SFU_URI_RID)) a->ext_id_rid = e->id;
    if (video && !strcmp(e->uri, SFU_URI_RRID)) a->ext_id_rrid = e->id;
  }
}

/* Simulcast is taken when the layers can be told apart: the rid extension. */
static void take_simulcast(const sig_sdp_media *m, sig_sdp_accepted *a) {
  if (!a->ext_id_rid || m->nsim < 2) {
    a->ext_id_rid = a->ext_id_rrid = 0;
    return;
  }
  /* At most three layers (the selector's); the browser sends only the
   * layers the answer keeps (RFC 8853 5.3). */
  a->nrids = m->nsim > 3 ? 3 : m->nsim;
  for (unsigned i = 0; i < a->nrids; i++) {
    snprintf(a->rids[i], sizeof a->rids[i], "%s", m->sim[i]);
    a->rid_paused[i] = m->sim_paused[i];
  }
}

/* Decides one section; returns NULL if accepted, else why it is rejected. */
static const char *decide(const sig_sdp *o, const sig_sdp_media *m, sig_sdp_accepted *a) {
  bool audio = !strcmp(m->kind, "audio"), video = !strcmp(m->kind, "video");
  snprintf(a->kind, sizeof a->kind, "%s", m->kind);
  snprintf(a->mid, sizeof a->mid, "%s", m->mid);
  if (!audio && !video) return "not audio/video";
  if (m->port == 0 && !m->bundle_only) return "rejected by the offerer";
  if (strcasecmp(m->proto, "UDP/TLS/RTP/SAVPF")) return "protocol is not UDP/TLS/RTP/SAVPF";
  if (!m->mid[0] || !in_bundle(o, m->mid)) return "not in the BUNDLE group";
  if (!m->rtcp_mux) return "no rtcp-mux";
  const sig_sdp_codec *c = pick_codec(m, audio ? "opus" : "VP8"), *c2 = NULL;
  if (video) {
    c2 = pick_codec(m, "H264");
    if (!c) c = c2, c2 = NULL;
  } else if (c) {
    c2 = pick_red(m, c->pt); /* RFC 2198 redundancy: lost audio packets come back */
  }
  if (!c) return audio ? "no opus/48000/2" : "no VP8 or H264 packetization-mode=1";
  answer_codec(c, video, &a->codec);
  if (c2) answer_codec(c2, video, &a->codec2);
  take_extensions(m, video, a);
  if (video) {
    a->rtx_pt = rtx_for(m, c->pt);
    a->rtx_pt2 = c2 ? rtx_for(m, c2->pt) : 0;
    take_simulcast(m, a);
  }
  a->ssrc = m->fid_primary ? m->fid_primary : m->nssrc ? m->ssrcs[0] : 0;
  a->rtx_ssrc = m->fid_primary ? m->fid_rtx : 0;
  snprintf(a->msid_track, sizeof a->msid_track, "%s", m->msid_track);
  a->accepted = true;
  return NULL;
}

static int check_remote_transport(const sig_sdp_media *m, const char *setup, char *err, size_t errlen) {
  if (!m->ice_ufrag[0] || !m->ice_pwd[0])
    return set_err(err, errlen, "section %s: missing a=ice-ufrag/a=ice-pwd", m->mid);
  if (!m->fp_alg[0]) return set_err(err, errlen, "section %s: missing a=fingerprint", m->mid);
  if (strcmp(m->fp_alg, "sha-256"))
    return set_err(err, errlen, "section %s: fingerprint algorithm '%.15s' not supported (need sha-256)",
                   m->mid, m->fp_alg);
  if (!is_sha256_value(m->fingerprint))
    return set_err(err, errlen, "section %s: bad sha-256 fingerprint", m->mid);
  if (!m->setup[0]) return set_err(err, errlen, "section %s: missing a=setup", m->mid);
  if (strcmp(m->setup, "actpass") && strcmp(m->setup, "active"))
    return set_err(err, errlen, "section %s: a=setup:%.15s not supported (need actpass or active)", m->mid,
                   m->setup);
  if (!strcmp(m->setup, "active") && !strcmp(setup, "active"))
    return set_err(err, errlen, "section %s: both sides a=setup:active", m->mid);
  return 0;
}

/* Strings of a section echoed into the answer must be safe even when the
 * sig_sdp was not made by sig_sdp_parse. */
static bool media_strings_ok(const sig_sdp_media *m) {
  for (size_t i = 0; i < sizeof m->proto && m->proto[i]; i++)
    if (m->proto[i] != '/' && !sig_sdp_is_token_char((unsigned char)m->proto[i])) return false;
  return sig_sdp_is_token(m->kind, sizeof m->kind) && memchr(m->proto, 0, sizeof m->proto) && m->proto[0] &&
         (!m->mid[0] || sig_sdp_is_token(m->mid, sizeof m->mid)) &&
         is_safe(m->msid_track, sizeof m->msid_track);
}

static void write_rejected(sbuf *b, const sig_sdp_media *m) {
  sb_printf(b, "m=%s 0 %s ", m->kind, m->proto);
  size_t pl = strlen(m->proto);
  if (m->ncodecs)
    sb_printf(b, "%u", m->codecs[0].pt);
  else if (pl >= 9 && !strcmp(m->proto + pl - 9, "DTLS/SCTP"))
    sb_printf(b, "%s", pl == 9 ? "5000" : "webrtc-datachannel"); /* legacy DTLS/SCTP: the sctp port */
  else
    sb_printf(b, "0");
  sb_printf(b, "\r\nc=IN IP4 0.0.0.0\r\n");
  if (m->mid[0]) sb_printf(b, "a=mid:%s\r\n", m->mid);
  sb_printf(b, "a=inactive\r\n");
}

static void write_rtx(sbuf *b, uint8_t rtx_pt, uint8_t apt) {
  if (rtx_pt) sb_printf(b, "a=rtpmap:%u rtx/90000\r\na=fmtp:%u apt=%u\r\n", rtx_pt, rtx_pt, apt);
}

static void write_simulcast(sbuf *b, const sig_sdp_accepted *a) {
  if (!a->nrids) return;
  for (unsigned i = 0; i < a->nrids; i++)
    sb_printf(b, "a=rid:%s recv\r\n", a->rids[i]);
  sb_printf(b, "a=simulcast:recv ");
  for (unsigned i = 0; i < a->nrids; i++)
    sb_printf(b, "%s%s%s", i ? ";" : "", a->rid_paused[i] ? "~" : "", a->rids[i]);
  sb_printf(b, "\r\n");
}

/* The extension URI the answer keeps for this offer element, or NULL. */
static const char *kept_extension(const sig_sdp_ext *e, const sig_sdp_accepted *a) {
  static const char *const uris[] = {SFU_URI_MID,          SFU_URI_ABS_SEND_TIME, SFU_URI_AUDIO_LEVEL,
                                     SFU_URI_TRANSPORT_CC, SFU_URI_RID,           SFU_URI_RRID};
  const uint8_t ids[] = {a->ext_id_mid,  a->ext_id_abs_send_time, a->ext_id_audio_level,
                         a->ext_id_twcc, a->ext_id_rid,           a->ext_id_rrid};
  for (size_t i = 0; i < sizeof ids; i++)
    if (ids[i] && e->id == ids[i] && !strcmp(e->uri, uris[i])) return uris[i];
  return NULL;
}

static void write_accepted(sbuf *b, const sig_sdp_media *m, const sig_sdp_accepted *a, const sig_sdp_local *l,
                           const char *setup) {
  /* With RED, it comes first: the browser sends the answer's first codec. */
  bool red = a->codec2.pt && !strcasecmp(a->codec2.name, "red");
  sb_printf(b, "m=%s 9 UDP/TLS/RTP/SAVPF %u", m->kind, red ? a->codec2.pt : a->codec.pt);
  if (red) sb_printf(b, " %u", a->codec.pt);
  if (a->rtx_pt) sb_printf(b, " %u", a->rtx_pt);
  if (a->codec2.pt && !red) sb_printf(b, " %u", a->codec2.pt);
  if (a->rtx_pt2) sb_printf(b, " %u", a->rtx_pt2);
  sb_printf(b, "\r\n");
  write_transport(b, l, setup);
  sb_printf(b, "a=mid:%s\r\n", m->mid);
  for (unsigned i = 0; i < m->nexts && i < SIG_SDP_MAX_EXT; i++) { /* the offer's order and ids */
    const char *uri = kept_extension(&m->exts[i], a);
    if (uri) sb_printf(b, "a=extmap:%u %s\r\n", m->exts[i].id, uri);
  }
  bool sending = m->dir == SIG_DIR_SENDONLY || m->dir == SIG_DIR_SENDRECV;
  sb_printf(b, "a=%s\r\na=rtcp-mux\r\n", sending ? "recvonly" : "inactive");
  if (m->rtcp_rsize) sb_printf(b, "a=rtcp-rsize\r\n");
  write_codec(b, &a->codec);
  write_rtx(b, a->rtx_pt, a->codec.pt);
  if (a->codec2.pt) write_codec(b, &a->codec2);
  write_rtx(b, a->rtx_pt2, a->codec2.pt);
  write_simulcast(b, a);
  write_candidates(b, l);
}

char *sig_sdp_write_answer(const sig_sdp *offer, const sig_sdp_local *local, sig_sdp_accepted *acc, char *err,
                           size_t errlen) {
  if (!offer || !local) return set_err(err, errlen, "no offer or no local description"), NULL;
  const char *setup = local->setup ? local->setup : "passive";
  if (check_local(local, setup, err, errlen)) return NULL;
  if (strcmp(setup, "passive") && strcmp(setup, "active"))
    return set_err(err, errlen, "local: answer setup must be passive or active"), NULL;
  unsigned n = offer->nmedia;
  if (n == 0 || n > SIG_SDP_MAX_MEDIA) return set_err(err, errlen, "offer has no m= section"), NULL;
  if (offer->nbundle == 0) return set_err(err, errlen, "offer has no a=group:BUNDLE"), NULL;
  sig_sdp_accepted *a = calloc(n, sizeof *a);
  if (!a) return set_err(err, errlen, "out of memory"), NULL;
  const char *why = NULL;
  unsigned naccepted = 0, first = 0;
  for (unsigned i = 0; i < n; i++) {
    const sig_sdp_media *m = &offer->media[i];
    if (!media_strings_ok(m)) {
      free(a);
      return set_err(err, errlen, "section %u: bad kind, protocol or mid", i), NULL;
    }
    const char *r = decide(offer, m, &a[i]);
    if (r) {
      memset(&a[i], 0, sizeof a[i]);
      snprintf(a[i].kind, sizeof a[i].kind, "%s", m->kind);
      snprintf(a[i].mid, sizeof a[i].mid, "%s", m->mid);
      if (!why && (!strcmp(m->kind, "audio") || !strcmp(m->kind, "video"))) why = r, first = i;
      continue;
    }
    if (check_remote_transport(m, setup, err, errlen)) {
      free(a);
      return NULL;
    }
    naccepted++;
  }
  if (!naccepted) {
    if (why)
      set_err(err, errlen, "no usable audio/video section (section %u: %s)", first, why);
    else
      set_err(err, errlen, "no usable audio/video section");
    free(a);
    return NULL;
  }

  sbuf b = {0};
  write_session(&b, local);
  for (unsigned k = 0; k < offer->nbundle && k < SIG_SDP_MAX_MEDIA; k++)
    for (unsigned i = 0; i < n; i++)
      if (a[i].accepted && !strcmp(a[i].mid, offer->bundle[k])) sb_printf(&b, " %s", a[i].mid);
  sb_printf(&b, "\r\na=msid-semantic: WMS *\r\n");
  for (unsigned i = 0; i < n; i++) {
    if (a[i].accepted)
      write_accepted(&b, &offer->media[i], &a[i], local, setup);
    else
      write_rejected(&b, &offer->media[i]);
  }
  char *out = sb_take(&b, err, errlen);
  if (out && acc) memcpy(acc, a, n * sizeof *a);
  free(a);
  return out;
}

/* ---- offer ---- */

static bool is_data(const sig_sdp_offer_section *s) {
  return s->kind && !strcmp(s->kind, "application");
}

static int check_section(const sig_sdp_offer_section *s, size_t i, const sig_sdp_offer_section *all,
                         char *err, size_t errlen) {
  if (!s->kind || (strcmp(s->kind, "audio") && strcmp(s->kind, "video") && !is_data(s)))
    return set_err(err, errlen, "section %zu: kind must be audio, video or application", i);
  if (!sig_sdp_is_token(s->mid, 32)) return set_err(err, errlen, "section %zu: bad or missing mid", i);
  for (size_t j = 0; j < i; j++)
    if (!strcmp(all[j].mid, s->mid))
      return set_err(err, errlen, "section %zu: duplicate mid '%s'", i, s->mid);
  if (is_data(s))
    return s->closed || !s->sctp_port ? set_err(err, errlen, "section %zu: bad data section", i) : 0;
  if (!codec_ok(&s->codec)) return set_err(err, errlen, "section %zu: bad codec", i);
  if (s->codec2.pt && (!codec_ok(&s->codec2) || s->codec2.pt == s->codec.pt))
    return set_err(err, errlen, "section %zu: bad second codec", i);
  if (!s->active || s->closed) return 0;
  if (!s->ssrc) return set_err(err, errlen, "section %zu: active section without ssrc", i);
  if (!sig_sdp_is_token(s->cname, 64)) return set_err(err, errlen, "section %zu: bad or missing cname", i);
  if (!sig_sdp_is_token(s->msid_stream, 64) || !sig_sdp_is_token(s->msid_track, 64))
    return set_err(err, errlen, "section %zu: bad or missing msid", i);
  return 0;
}

/* A closed section (its track is gone): port 0, outside BUNDLE, so the
 * browser stops its transceiver and the m-line can be recycled (JSEP 5.2.2). */
static void write_closed_section(sbuf *b, const sig_sdp_offer_section *s) {
  sb_printf(b, "m=%s 0 UDP/TLS/RTP/SAVPF %u\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=inactive\r\n", s->kind,
            s->codec.pt, s->mid);
  write_codec(b, &s->codec);
}

/* The data channels' section (RFC 8841): SCTP over the same DTLS. */
static void write_data_section(sbuf *b, const sig_sdp_offer_section *s, const sig_sdp_local *l,
                               const char *setup) {
  sb_printf(b, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
  write_transport(b, l, setup);
  sb_printf(b, "a=mid:%s\r\na=sctp-port:%u\r\na=max-message-size:%" PRIu32 "\r\n", s->mid, s->sctp_port,
            s->max_message_size);
  write_candidates(b, l);
}

static void write_offer_section(sbuf *b, const sig_sdp_offer_section *s, const sig_sdp_local *l,
                                const char *setup) {
  if (is_data(s)) {
    write_data_section(b, s, l, setup);
    return;
  }
  if (s->closed) {
    write_closed_section(b, s);
    return;
  }
  bool video = !strcmp(s->kind, "video");
  bool rtx = video && s->rtx_ssrc && s->rtx_pt;
  sb_printf(b, "m=%s 9 UDP/TLS/RTP/SAVPF %u", s->kind, s->codec.pt);
  if (rtx) sb_printf(b, " %u", s->rtx_pt);
  if (s->codec2.pt) sb_printf(b, " %u", s->codec2.pt);
  if (rtx && s->codec2.pt && s->rtx_pt2) sb_printf(b, " %u", s->rtx_pt2);
  sb_printf(b, "\r\n");
  write_transport(b, l, setup);
  sb_printf(b, "a=mid:%s\r\n", s->mid);
  if (video)
    sb_printf(b, "a=extmap:%d " SFU_URI_ABS_SEND_TIME "\r\n", SFU_EXT_ABS_SEND_TIME);
  else
    sb_printf(b, "a=extmap:%d " SFU_URI_AUDIO_LEVEL "\r\n", SFU_EXT_AUDIO_LEVEL);
  sb_printf(b, "a=extmap:%d " SFU_URI_TRANSPORT_CC "\r\n", SFU_EXT_TRANSPORT_CC);
  sb_printf(b, "a=extmap:%d " SFU_URI_MID "\r\n", SFU_EXT_MID);
  if (s->active)
    sb_printf(b, "a=sendonly\r\na=msid:%s %s\r\n", s->msid_stream, s->msid_track);
  else
    sb_printf(b, "a=inactive\r\n");
  sb_printf(b, "a=rtcp-mux\r\na=rtcp-rsize\r\n");
  const sig_sdp_codec *in[2] = {&s->codec, s->codec2.pt ? &s->codec2 : NULL};
  const uint8_t rtx_pts[2] = {s->rtx_pt, s->rtx_pt2};
  for (int k = 0; k < 2 && in[k]; k++) {
    sig_sdp_codec c = *in[k];
    c.nfb = 0;
    for (size_t f = 0; video && f < sizeof video_fb / sizeof video_fb[0]; f++)
      snprintf(c.fb[c.nfb++], sizeof c.fb[0], "%s", video_fb[f]);
    snprintf(c.fb[c.nfb++], sizeof c.fb[0], "transport-cc");
    write_codec(b, &c);
    if (rtx) write_rtx(b, rtx_pts[k], c.pt);
  }
  if (s->active && rtx) sb_printf(b, "a=ssrc-group:FID %" PRIu32 " %" PRIu32 "\r\n", s->ssrc, s->rtx_ssrc);
  if (s->active)
    sb_printf(b, "a=ssrc:%" PRIu32 " cname:%s\r\na=ssrc:%" PRIu32 " msid:%s %s\r\n", s->ssrc, s->cname,
              s->ssrc, s->msid_stream, s->msid_track);
  if (s->active && rtx)
    sb_printf(b, "a=ssrc:%" PRIu32 " cname:%s\r\na=ssrc:%" PRIu32 " msid:%s %s\r\n", s->rtx_ssrc, s->cname,
              s->rtx_ssrc, s->msid_stream, s->msid_track);
  write_candidates(b, l);
}

char *sig_sdp_write_offer(const sig_sdp_local *local, const sig_sdp_offer_section *secs, size_t n, char *err,
                          size_t errlen) {
  if (!local) return set_err(err, errlen, "no local description"), NULL;
  const char *setup = local->setup ? local->setup : "actpass";
  if (check_local(local, setup, err, errlen)) return NULL;
  if (n > SIG_SDP_MAX_MEDIA)
    return set_err(err, errlen, "too many sections (max %d)", SIG_SDP_MAX_MEDIA), NULL;
  if (n && !secs) return set_err(err, errlen, "no sections"), NULL;
  sig_sdp_offer_section probe = {
      .kind = "audio",
      .mid = "probe",
      .codec = {.pt = SFU_PT_OPUS, .name = "opus", .clock = 48000, .channels = 2, .fmtp = OPUS_FMTP}};
  if (n == 0) secs = &probe, n = 1;
  for (size_t i = 0; i < n; i++)
    if (check_section(&secs[i], i, secs, err, errlen)) return NULL;
  if (secs[0].closed)
    return set_err(err, errlen, "the first section (the BUNDLE tag) cannot be closed"), NULL;

  sbuf b = {0};
  write_session(&b, local);
  for (size_t i = 0; i < n; i++)
    if (!secs[i].closed) sb_printf(&b, " %s", secs[i].mid);
  sb_printf(&b, "\r\na=msid-semantic: WMS *\r\n");
  for (size_t i = 0; i < n; i++)
    write_offer_section(&b, &secs[i], local, setup);
  return sb_take(&b, err, errlen);
}
