/* bench_sdp: the SDP text a simulated browser sends, shaped like Chrome's:
 * a publish offer (BUNDLE, rtcp-mux, rtcp-rsize, sendonly opus/VP8 with
 * ssrc, cname and msid) and answers to the server's subscriber offers. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static void transport_lines(GString *s, const bench_sdp_local *l, const char *setup, bool cands) {
  g_string_append(s, "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
  if (cands) {
    for (char **c = l->cands; c && *c; c++)
      g_string_append_printf(s, "a=%s\r\n", *c);
    g_string_append(s, "a=end-of-candidates\r\n");
  }
  g_string_append_printf(s,
                         "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n"
                         "a=fingerprint:sha-256 %s\r\na=setup:%s\r\n",
                         l->ufrag, l->pwd, l->fingerprint, setup);
}

static void send_section(GString *s, const bench_sdp_local *l, const bench_sender *snd, const char *stream,
                         bool first) {
  bool v = snd->video;
  g_string_append_printf(s, "m=%s 9 UDP/TLS/RTP/SAVPF %u\r\n", v ? "video" : "audio", snd->pt);
  transport_lines(s, l, l->setup ? l->setup : "actpass", first);
  g_string_append_printf(s, "a=mid:%s\r\n", snd->mid);
  if (!v)
    g_string_append_printf(s, "a=extmap:%d urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n",
                           BENCH_EXT_AUDIO_LEVEL);
  bool sim = v && l->rids;
  if (sim)
    g_string_append_printf(
        s,
        "a=extmap:%d http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
        "a=extmap:%d urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n",
        BENCH_EXT_TWCC, BENCH_EXT_RID);
  g_string_append_printf(s,
                         "a=extmap:%d http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
                         "a=extmap:%d urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                         "a=sendonly\r\na=msid:%s %s-%s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n",
                         BENCH_EXT_ABS_SEND_TIME, BENCH_EXT_MID, stream, stream, v ? "video" : "audio");
  if (v)
    g_string_append_printf(s,
                           "a=rtpmap:%u VP8/90000\r\na=rtcp-fb:%u goog-remb\r\na=rtcp-fb:%u ccm fir\r\n"
                           "a=rtcp-fb:%u nack\r\na=rtcp-fb:%u nack pli\r\n",
                           snd->pt, snd->pt, snd->pt, snd->pt, snd->pt);
  else
    g_string_append_printf(s, "a=rtpmap:%u opus/48000/2\r\na=fmtp:%u minptime=10;useinbandfec=1\r\n", snd->pt,
                           snd->pt);
  if (sim) { /* as Chrome: RIDs lowest first, no ssrc lines (learnt from the packets) */
    g_string_append_printf(s, "a=rtcp-fb:%u transport-cc\r\n", snd->pt);
    for (const char *const *r = l->rids; *r; r++)
      g_string_append_printf(s, "a=rid:%s send\r\n", *r);
    g_string_append(s, "a=simulcast:send ");
    for (const char *const *r = l->rids; *r; r++)
      g_string_append_printf(s, "%s%s", *r, r[1] ? ";" : "\r\n");
    return;
  }
  g_string_append_printf(s, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s-%s\r\n", snd->ssrc, stream, snd->ssrc,
                         stream, stream, v ? "video" : "audio");
}

static void session_head(GString *s, const bench_sdp_local *l) {
  g_string_append_printf(s, "v=0\r\no=- %" G_GUINT64_FORMAT " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
                         l->session_id);
}

char *bench_sdp_pub_offer(const bench_sdp_local *l, const bench_sender *audio, const bench_sender *video,
                          const char *stream_id) {
  GString *s = g_string_new(NULL);
  session_head(s, l);
  g_string_append(s, "a=group:BUNDLE");
  if (audio) g_string_append_printf(s, " %s", audio->mid);
  if (video) g_string_append_printf(s, " %s", video->mid);
  g_string_append_printf(s, "\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS %s\r\n", stream_id);
  if (audio) send_section(s, l, audio, stream_id, true);
  if (video) send_section(s, l, video, stream_id, !audio);
  return g_string_free(s, FALSE);
}

static const char *dir_answer(const sig_sdp_media *m) {
  if (!m->port || m->dir == SIG_DIR_INACTIVE || m->dir == SIG_DIR_RECVONLY) return "inactive";
  return "recvonly";
}

char *bench_sdp_sub_answer(const bench_sdp_local *l, const sig_sdp *o) {
  GString *s = g_string_new(NULL);
  session_head(s, l);
  if (o->nbundle) {
    g_string_append(s, "a=group:BUNDLE");
    for (unsigned i = 0; i < o->nbundle; i++)
      g_string_append_printf(s, " %s", o->bundle[i]);
    g_string_append(s, "\r\n");
  }
  g_string_append(s, "a=msid-semantic: WMS\r\n");
  for (unsigned i = 0; i < o->nmedia; i++) {
    const sig_sdp_media *m = &o->media[i];
    if (!strcmp(m->kind, "application")) { /* data channels: the bench has no use for them */
      g_string_append_printf(s, "m=application 0 %s webrtc-datachannel\r\na=mid:%s\r\n", m->proto, m->mid);
      continue;
    }
    g_string_append_printf(s, "m=%s %u %s", m->kind, m->port ? 9u : 0u, m->proto);
    for (unsigned k = 0; k < m->ncodecs; k++)
      g_string_append_printf(s, " %u", m->codecs[k].pt);
    g_string_append(s, "\r\n");
    transport_lines(s, l, "active", i == 0);
    g_string_append_printf(s, "a=mid:%s\r\n", m->mid);
    for (unsigned k = 0; k < m->nexts; k++)
      g_string_append_printf(s, "a=extmap:%u %s\r\n", m->exts[k].id, m->exts[k].uri);
    g_string_append_printf(s, "a=%s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", dir_answer(m));
    for (unsigned k = 0; k < m->ncodecs; k++) {
      const sig_sdp_codec *c = &m->codecs[k];
      if (c->channels)
        g_string_append_printf(s, "a=rtpmap:%u %s/%u/%u\r\n", c->pt, c->name, c->clock, c->channels);
      else
        g_string_append_printf(s, "a=rtpmap:%u %s/%u\r\n", c->pt, c->name, c->clock);
      for (unsigned f = 0; f < c->nfb; f++)
        g_string_append_printf(s, "a=rtcp-fb:%u %s\r\n", c->pt, c->fb[f]);
      if (c->fmtp[0]) g_string_append_printf(s, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
    }
  }
  return g_string_free(s, FALSE);
}

bool bench_sdp_cand_allowed(const char *cand, const char *const *allow) {
  if (!cand) return false;
  if (g_str_has_prefix(cand, "a=")) cand += 2;
  char **f = g_strsplit(cand, " ", 8);
  bool ok = false;
  if (g_strv_length(f) >= 6 && !g_ascii_strcasecmp(f[2], "udp")) {
    for (const char *const *a = allow; a && *a && !ok; a++)
      ok = g_str_has_prefix(f[4], *a);
  }
  g_strfreev(f);
  return ok;
}
