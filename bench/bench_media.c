/* bench_media: the publishers' media. A VP8 clip (IVF) and an Opus stream
 * (Ogg), made once with ffmpeg, replayed as RTP: VP8 packetized per RFC 7741
 * (PictureID, <= 1200-byte payloads), Opus one 20 ms packet each. Every
 * packet carries its send time in abs-send-time so subscribers measure
 * one-way delay on this process's clock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "sfu_rtcp.h"
#include "sfu_rtp.h"

#define VIDEO_PERIOD_US 33333
#define AUDIO_PERIOD_US 20000
#define LATE_US 100000

static uint32_t rd32le(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int load_ivf(bench_clip *c, const char *path, char *err, size_t errlen) {
  gchar *buf;
  gsize len;
  if (!g_file_get_contents(path, &buf, &len, NULL) || len < 32 || memcmp(buf, "DKIF", 4) != 0) {
    snprintf(err, errlen, "%s: not an IVF file", path);
    if (buf) g_free(buf);
    return -EINVAL;
  }
  const uint8_t *b = (const uint8_t *)buf;
  size_t hdr = (size_t)(b[6] | (b[7] << 8));
  size_t off = hdr, n = 0, cap = 0;
  bench_frame *fr = NULL;
  while (off + 12 <= len) {
    size_t sz = rd32le(b + off);
    off += 12;
    if (sz == 0 || off + sz > len) break;
    if (n == cap) {
      cap = cap ? cap * 2 : 512;
      fr = g_renew(bench_frame, fr, cap);
    }
    fr[n].data = b + off;
    fr[n].len = sz;
    fr[n].key = (b[off] & 0x01) == 0; /* VP8 frame tag: P bit 0 = keyframe */
    n++;
    off += sz;
  }
  if (!n || !fr[0].key) {
    snprintf(err, errlen, "%s: no frames, or the first is not a keyframe", path);
    g_free(fr);
    g_free(buf);
    return -EINVAL;
  }
  c->vbuf = (uint8_t *)buf;
  c->vsize = len;
  c->video = fr;
  c->nvideo = n;
  return 0;
}

/* Ogg pages -> packets (RFC 3533 lacing); the first two (OpusHead,
 * OpusTags) are headers, the rest one Opus packet each. */
static int load_ogg(bench_clip *c, const char *path, char *err, size_t errlen) {
  gchar *buf;
  gsize len;
  if (!g_file_get_contents(path, &buf, &len, NULL) || len < 27 || memcmp(buf, "OggS", 4) != 0) {
    snprintf(err, errlen, "%s: not an Ogg file", path);
    if (buf) g_free(buf);
    return -EINVAL;
  }
  const uint8_t *b = (const uint8_t *)buf;
  uint8_t *out = g_malloc(len);
  size_t olen = 0, n = 0, cap = 0, pkt_start = 0;
  size_t *offs = NULL, *lens = NULL;
  size_t off = 0;
  while (off + 27 <= len && !memcmp(b + off, "OggS", 4)) {
    unsigned nseg = b[off + 26];
    if (off + 27 + nseg > len) break;
    const uint8_t *seg = b + off + 27;
    size_t data = off + 27 + nseg;
    for (unsigned i = 0; i < nseg; i++) {
      if (data + seg[i] > len) break;
      memcpy(out + olen, b + data, seg[i]);
      olen += seg[i];
      data += seg[i];
      if (seg[i] < 255) { /* packet ends */
        if (n == cap) {
          cap = cap ? cap * 2 : 1024;
          offs = g_renew(size_t, offs, cap);
          lens = g_renew(size_t, lens, cap);
        }
        offs[n] = pkt_start;
        lens[n] = olen - pkt_start;
        n++;
        pkt_start = olen;
      }
    }
    off = data;
  }
  g_free(buf);
  if (n < 3 || lens[0] < 8 || memcmp(out + offs[0], "OpusHead", 8) != 0) {
    snprintf(err, errlen, "%s: not an Ogg Opus stream", path);
    g_free(out);
    g_free(offs);
    g_free(lens);
    return -EINVAL;
  }
  c->abuf = out;
  c->asize = olen;
  c->naudio = n - 2;
  c->audio = g_new0(bench_frame, c->naudio);
  for (size_t i = 2; i < n; i++)
    c->audio[i - 2] = (bench_frame){out + offs[i], lens[i], true};
  g_free(offs);
  g_free(lens);
  return 0;
}

int bench_clip_load(bench_clip *c, const char *ivf, const char *ogg, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  int rc = load_ivf(c, ivf, err, errlen);
  if (rc == 0) rc = load_ogg(c, ogg, err, errlen);
  if (rc != 0) bench_clip_free(c);
  return rc;
}

void bench_clip_free(bench_clip *c) {
  g_free(c->video);
  g_free(c->audio);
  g_free(c->vbuf);
  g_free(c->abuf);
  memset(c, 0, sizeof *c);
}

static int run_ffmpeg(const char *args, const char *out, char *err, size_t errlen) {
  gchar *tmp = g_strdup_printf("%s.tmp", out);
  gchar *cmd = g_strdup_printf("ffmpeg -hide_banner -loglevel error -nostdin -y %s '%s'", args, tmp);
  gint status = -1;
  gchar *serr = NULL;
  gboolean ok = g_spawn_command_line_sync(cmd, NULL, &serr, &status, NULL);
  int rc = 0;
  if (!ok || !g_spawn_check_wait_status(status, NULL) || rename(tmp, out) != 0) {
    snprintf(err, errlen, "ffmpeg failed (%s): %s", cmd, serr && *serr ? serr : "is ffmpeg installed?");
    unlink(tmp);
    rc = -EIO;
  }
  g_free(serr);
  g_free(cmd);
  g_free(tmp);
  return rc;
}

int bench_clip_ensure(const char *dir, unsigned kbps, char **ivf, char **ogg, char *err, size_t errlen) {
  return bench_clip_ensure_sized(dir, kbps, 640, 360, ivf, ogg, err, errlen);
}

int bench_clip_ensure_sized(const char *dir, unsigned kbps, unsigned w, unsigned h, char **ivf, char **ogg,
                            char *err, size_t errlen) {
  g_mkdir_with_parents(dir, 0755);
  if (w == 640 && h == 360)
    *ivf = g_strdup_printf("%s/clip-%uk.ivf", dir, kbps);
  else
    *ivf = g_strdup_printf("%s/clip-%uk-%ux%u.ivf", dir, kbps, w, h);
  *ogg = g_strdup_printf("%s/audio.ogg", dir);
  if (!g_file_test(*ivf, G_FILE_TEST_EXISTS)) {
    /* 640x360 at 30 fps, a keyframe every 3 s, real-time VP8 settings
     * (no alt-ref, no lag) as a browser would encode. */
    gchar *a =
        g_strdup_printf("-f lavfi -i testsrc2=size=%ux%u:rate=30 -t 10 -c:v libvpx -b:v %uk "
                        "-minrate %uk -maxrate %uk -g 90 -keyint_min 90 -auto-alt-ref 0 -lag-in-frames 0 "
                        "-deadline realtime -cpu-used 8 -error-resilient 1 -f ivf",
                        w, h, kbps, kbps, kbps);
    int rc = run_ffmpeg(a, *ivf, err, errlen);
    g_free(a);
    if (rc) return rc;
  }
  if (!g_file_test(*ogg, G_FILE_TEST_EXISTS)) {
    int rc = run_ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=48000 -t 10 -ac 2 -c:a libopus -b:a 32k "
                        "-frame_duration 20 -application voip -f ogg",
                        *ogg, err, errlen);
    if (rc) return rc;
  }
  return 0;
}

/* ---- senders ---- */

void bench_sender_init(bench_sender *s, bool video, const char *mid, uint32_t ssrc, int64_t start_us) {
  memset(s, 0, sizeof *s);
  s->video = video;
  s->pt = video ? BENCH_PT_VP8 : BENCH_PT_OPUS;
  g_strlcpy(s->mid, mid, sizeof s->mid);
  s->ssrc = ssrc;
  s->seq = (uint16_t)g_random_int();
  s->ts = g_random_int();
  s->picid = (uint16_t)(g_random_int() & 0x7FFF);
  s->next_us = start_us;
  s->hist = g_malloc(BENCH_HISTORY * sizeof *s->hist);
  s->hist_len = g_new0(uint16_t, BENCH_HISTORY);
  s->hist_seq = g_new0(uint16_t, BENCH_HISTORY);
}

void bench_sender_free(bench_sender *s) {
  g_free(s->hist);
  g_free(s->hist_len);
  g_free(s->hist_seq);
  s->hist = NULL;
  s->hist_len = s->hist_seq = NULL;
}

/* RTP header and the one-byte extension block; returns the header length. */
static size_t put_header(bench_sender *s, uint8_t *b, bool marker, int64_t now_us) {
  b[0] = 0x90; /* V=2, X=1 */
  b[1] = (uint8_t)((marker ? 0x80 : 0) | s->pt);
  sfu_wr16(b + 2, s->seq);
  sfu_wr32(b + 4, s->ts);
  sfu_wr32(b + 8, s->ssrc);
  b[12] = 0xBE;
  b[13] = 0xDE;
  size_t off = 16;
  uint32_t ast = bench_ast(now_us);
  b[off++] = (BENCH_EXT_ABS_SEND_TIME << 4) | 2;
  b[off++] = (uint8_t)(ast >> 16);
  b[off++] = (uint8_t)(ast >> 8);
  b[off++] = (uint8_t)ast;
  size_t ml = strlen(s->mid);
  b[off++] = (uint8_t)((BENCH_EXT_MID << 4) | (ml - 1));
  memcpy(b + off, s->mid, ml);
  off += ml;
  size_t rl = strlen(s->rid);
  if (rl) {
    b[off++] = (uint8_t)((BENCH_EXT_RID << 4) | (rl - 1));
    memcpy(b + off, s->rid, rl);
    off += rl;
  }
  if (s->twcc) { /* stamped again on retransmission: it is a new packet on the wire */
    b[off++] = (BENCH_EXT_TWCC << 4) | 1;
    sfu_wr16(b + off, 0);
    off += 2;
  }
  if (!s->video) {
    b[off++] = (BENCH_EXT_AUDIO_LEVEL << 4);
    b[off++] = 0x80 | 30; /* voice, -30 dBov */
  }
  while ((off - 16) % 4)
    b[off++] = 0;
  sfu_wr16(b + 14, (uint16_t)((off - 16) / 4));
  return off;
}

static void send_one(bench_sender *s, tp_peer *peer, size_t slot, bench_counters *c) {
  uint8_t buf[1400 + TP_SRTP_TRAILER_MAX];
  size_t len = s->hist_len[slot];
  memcpy(buf, s->hist[slot], len);
  sfu_rtp_hdr h;
  if (s->twcc && sfu_rtp_parse(buf, len, &h) == 0) {
    uint8_t *v = (uint8_t *)sfu_rtp_ext_find(buf, &h, BENCH_EXT_TWCC, NULL);
    if (v) sfu_wr16(v, (*s->twcc)++);
  }
  if (tp_peer_send_rtp(peer, buf, len, sizeof buf) == 0) {
    c->pub_pkts++;
    c->pub_bytes += len;
  }
}

static void send_frame(bench_sender *s, const bench_frame *f, tp_peer *peer, int64_t now_us,
                       bench_counters *c) {
  size_t npk = s->video ? (f->len + BENCH_VIDEO_MAX_PAYLOAD - 5) / (BENCH_VIDEO_MAX_PAYLOAD - 4) : 1;
  if (npk == 0) npk = 1;
  size_t chunk = (f->len + npk - 1) / npk, done = 0;
  for (size_t i = 0; i < npk; i++) {
    size_t slot = s->seq % BENCH_HISTORY;
    uint8_t *b = s->hist[slot];
    size_t part = MIN(chunk, f->len - done);
    size_t off = put_header(s, b, s->video ? i == npk - 1 : false, now_us);
    if (s->video) {
      b[off++] = (uint8_t)(0x80 | (i == 0 ? 0x10 : 0)); /* X, S on the first packet, PID 0 */
      b[off++] = 0x80;                                  /* I: PictureID present */
      b[off++] = (uint8_t)(0x80 | (s->picid >> 8));     /* M: 15-bit PictureID */
      b[off++] = (uint8_t)s->picid;
    }
    memcpy(b + off, f->data + done, part);
    off += part;
    if (s->stamp) {
      uint32_t ast = bench_ast(now_us);
      b[off++] = BENCH_STAMP_0;
      b[off++] = BENCH_STAMP_1;
      b[off++] = (uint8_t)(ast >> 16);
      b[off++] = (uint8_t)(ast >> 8);
      b[off++] = (uint8_t)ast;
    }
    done += part;
    s->hist_len[slot] = (uint16_t)off;
    s->hist_seq[slot] = s->seq;
    s->pkts++;
    s->octets += part;
    send_one(s, peer, slot, c);
    s->seq++;
  }
  if (s->video) s->picid = (s->picid + 1) & 0x7FFF;
}

void bench_sender_run(bench_sender *s, const bench_clip *clip, tp_peer *peer, int64_t now_us,
                      bench_counters *c) {
  const bench_frame *frames = s->video ? clip->video : clip->audio;
  size_t n = s->video ? clip->nvideo : clip->naudio;
  int64_t period = s->video ? VIDEO_PERIOD_US : AUDIO_PERIOD_US;
  uint32_t step = s->video ? 3000 : 960;
  if (!n) return;
  if (now_us - s->next_us > LATE_US) { /* the generator fell behind: skip, and say so */
    c->gen_late++;
    int64_t skip = (now_us - s->next_us) / period;
    s->next_us += skip * period;
    s->ts += (uint32_t)skip * step;
  }
  while (s->next_us <= now_us) {
    size_t pos = s->pos % n;
    if (s->force_kf && s->video) {
      while (pos > 0 && !frames[pos].key)
        pos--; /* replay from the nearest keyframe */
      s->force_kf = false;
      c->pub_pli_keyframes++;
    }
    send_frame(s, &frames[pos], peer, now_us, c);
    s->pos = pos + 1;
    s->next_us += period;
    s->ts += step;
  }
}

void bench_sender_on_nack(bench_sender *s, tp_peer *peer, const uint16_t *seqs, size_t n, bench_counters *c) {
  c->pub_nacks_in++;
  for (size_t i = 0; i < n; i++) {
    size_t slot = seqs[i] % BENCH_HISTORY;
    if (s->hist_len[slot] && s->hist_seq[slot] == seqs[i]) {
      send_one(s, peer, slot, c);
      c->pub_rtx++;
    }
  }
}

void bench_sender_on_pli(bench_sender *s, bench_counters *c) {
  c->pub_plis_in++;
  if (s->video) s->force_kf = true;
}

size_t bench_sender_sr(const bench_sender *s, uint8_t *out, size_t cap, int64_t now_us) {
  int64_t wall = g_get_real_time();
  uint64_t sec = (uint64_t)(wall / 1000000) + 2208988800ULL;
  uint64_t frac = ((uint64_t)(wall % 1000000) << 32) / 1000000;
  uint32_t clock = s->video ? 90000 : 48000;
  uint32_t rtp = s->ts - (uint32_t)((s->next_us - now_us) * (int64_t)clock / 1000000);
  return sfu_rtcp_build_sr(out, cap, s->ssrc, (sec << 32) | frac, rtp, (uint32_t)s->pkts,
                           (uint32_t)s->octets);
}
