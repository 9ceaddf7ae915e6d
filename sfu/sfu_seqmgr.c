/* Output sequence numbers of one stream: base offset minus purposeful drops. */
#include "sfu_seqmgr.h"

#include <string.h>

#include "sfu_rtp.h"

void sfu_seqmgr_init(sfu_seqmgr *m) {
  memset(m, 0, sizeof *m);
}

bool sfu_seqmgr_synced(const sfu_seqmgr *m) {
  return m->synced;
}

void sfu_seqmgr_sync(sfu_seqmgr *m, uint16_t in0, uint16_t gap, uint16_t first_out) {
  uint16_t out0 = m->started ? (uint16_t)(m->max_out + gap) : first_out;
  m->base = (uint16_t)(out0 - in0);
  m->floor = (uint16_t)(in0 - 1);
  m->max_in = (uint16_t)(in0 - 1);
  m->ndrops = 0;
  m->drop_head = 0;
  m->synced = true;
  if (!m->started) {
    m->max_out = (uint16_t)(out0 - 1);
    m->started = true;
  }
}

static uint16_t drop_at(const sfu_seqmgr *m, unsigned i) {
  return m->drops[(m->drop_head + i) % SFU_SEQMGR_DROPS];
}

/* The oldest remembered drop leaves the ring: every later input is already
 * one lower for it, so it moves into the base, and nothing older can be placed. */
static void fold_oldest(sfu_seqmgr *m) {
  m->floor = drop_at(m, 0);
  m->base--;
  m->drop_head = (uint8_t)((m->drop_head + 1) % SFU_SEQMGR_DROPS);
  m->ndrops--;
}

static void new_max_in(sfu_seqmgr *m, uint16_t in);

void sfu_seqmgr_drop(sfu_seqmgr *m, uint16_t in) {
  if (!m->synced || !sfu_seq_newer(in, m->max_in)) return; /* late: its number stays a hole */
  new_max_in(m, in);
  if (m->ndrops == SFU_SEQMGR_DROPS) fold_oldest(m);
  m->drops[(m->drop_head + m->ndrops) % SFU_SEQMGR_DROPS] = in;
  m->ndrops++;
}

/* Drops before `in`, or -1 if `in` itself was dropped. The usual case (in
 * newer than every drop) costs one comparison. */
static int drops_before(const sfu_seqmgr *m, uint16_t in) {
  if (m->ndrops == 0 || sfu_seq_newer(in, drop_at(m, m->ndrops - 1u))) return m->ndrops;
  int n = 0;
  for (unsigned i = 0; i < m->ndrops; i++) {
    uint16_t d = drop_at(m, i);
    if (d == in) return -1;
    if (!sfu_seq_newer(in, d)) break;
    n++;
  }
  return n;
}

/* Input this far behind the newest is junk; keeping the floor within it
 * keeps serial comparisons meaningful across wraparound. */
#define FLOOR_WINDOW 0x4000

static void new_max_in(sfu_seqmgr *m, uint16_t in) {
  m->max_in = in;
  if ((uint16_t)(in - m->floor) <= FLOOR_WINDOW) return;
  uint16_t fl = (uint16_t)(in - FLOOR_WINDOW);
  while (m->ndrops && !sfu_seq_newer(drop_at(m, 0), fl))
    fold_oldest(m);
  m->floor = fl;
}

bool sfu_seqmgr_out(sfu_seqmgr *m, uint16_t in, uint16_t *out) {
  if (!m->synced || !sfu_seq_newer(in, m->floor)) return false;
  int n = drops_before(m, in);
  if (n < 0) return false;
  uint16_t o = (uint16_t)(in + m->base - (uint16_t)n);
  if (sfu_seq_newer(in, m->max_in)) new_max_in(m, in);
  if (sfu_seq_newer(o, m->max_out)) m->max_out = o;
  *out = o;
  return true;
}

void sfu_seqmgr_sent_put(sfu_seqmgr *m, uint16_t out, uint16_t in, uint8_t layer, uint32_t ts) {
  sfu_seqmgr_sent *e = &m->sent[out % SFU_SEQMGR_HIST];
  *e = (sfu_seqmgr_sent){.out = out, .in = in, .layer = layer, .valid = true, .ts = ts};
}

const sfu_seqmgr_sent *sfu_seqmgr_sent_get(const sfu_seqmgr *m, uint16_t out) {
  const sfu_seqmgr_sent *e = &m->sent[out % SFU_SEQMGR_HIST];
  return e->valid && e->out == out ? e : NULL;
}
