/* bench_simulcast: simulcast publishers (--simulcast). The video m-section
 * of a publisher's offer declares three RIDs (q, h, f, lowest first, as the
 * page does) and no SSRCs; three senders replay three clips (320x180 at
 * 150 kbit/s, 640x360 at 500 kbit/s, 1280x720 at 1.5 Mbit/s), each with its
 * own SSRC, sequence and timestamp spaces, MID and RID in every packet, and
 * one transport-wide sequence number across the transport (so the server
 * can send transport-cc feedback). Keyframe requests and NACKs are answered
 * per layer; each layer sends its own sender reports. */
#include <string.h>

#include "bench.h"

static const struct {
  const char *rid;
  unsigned kbps, w, h;
} layers[BENCH_SIM_LAYERS] = {{"q", 150, 320, 180}, {"h", 500, 640, 360}, {"f", 1500, 1280, 720}};

const char *const bench_sim_rids[BENCH_SIM_LAYERS + 1] = {"q", "h", "f", NULL};

int bench_sim_load_clips(bench_run *run, const char *dir, char *err, size_t errlen) {
  for (int i = 0; i < BENCH_SIM_LAYERS; i++) {
    char *ivf = NULL, *ogg = NULL;
    int rc = bench_clip_ensure_sized(dir, layers[i].kbps, layers[i].w, layers[i].h, &ivf, &ogg, err, errlen);
    if (rc == 0) rc = bench_clip_load(&run->sim_clip[i], ivf, ogg, err, errlen);
    g_free(ivf);
    g_free(ogg);
    if (rc != 0) return rc;
  }
  return 0;
}

void bench_sim_free_clips(bench_run *run) {
  for (int i = 0; i < BENCH_SIM_LAYERS; i++)
    bench_clip_free(&run->sim_clip[i]);
}

bool bench_sim_on(const bench_peer *p) {
  return p->run->simulcast && p->pub_video;
}

void bench_sim_init(bench_peer *p, int64_t now) {
  if (!bench_sim_on(p) || p->sim_init) return;
  for (int i = 0; i < BENCH_SIM_LAYERS; i++) {
    bench_sender *s = &p->sim[i];
    bench_sender_init(s, true, p->snd[1].mid, g_random_int_range(1, G_MAXINT32), now);
    g_strlcpy(s->rid, layers[i].rid, sizeof s->rid);
    s->twcc = &p->twcc_seq;
    s->stamp = p->run->stamp;
  }
  p->sim_init = true;
}

void bench_sim_schedule(bench_peer *p, int64_t now, bool random_phase) {
  if (!p->sim_init) return;
  int64_t phase = random_phase ? g_random_int_range(0, 33000) : 0;
  for (int i = 0; i < BENCH_SIM_LAYERS; i++)
    p->sim[i].next_us = now + phase;
}

void bench_sim_run(bench_peer *p, int64_t now) {
  if (!p->sim_init || !p->pub) return;
  for (int i = 0; i < BENCH_SIM_LAYERS; i++)
    bench_sender_run(&p->sim[i], &p->run->sim_clip[i], p->pub, now, &p->run->c);
}

bench_sender *bench_sim_by_ssrc(bench_peer *p, uint32_t ssrc) {
  for (int i = 0; p->sim_init && i < BENCH_SIM_LAYERS; i++)
    if (p->sim[i].ssrc == ssrc) return &p->sim[i];
  return NULL;
}

size_t bench_sim_srs(const bench_peer *p, uint8_t *out, size_t cap, int64_t now) {
  size_t len = 0;
  for (int i = 0; p->sim_init && i < BENCH_SIM_LAYERS; i++)
    len += bench_sender_sr(&p->sim[i], out + len, cap - len, now);
  return len;
}

void bench_sim_free(bench_peer *p) {
  if (!p->sim_init) return;
  for (int i = 0; i < BENCH_SIM_LAYERS; i++)
    bench_sender_free(&p->sim[i]);
  p->sim_init = false;
}
