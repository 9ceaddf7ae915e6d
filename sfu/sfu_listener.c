/* Listener: ssrc table, then MID/RID extensions for unknown ssrcs. */
#include "sfu_listener.h"

#include <errno.h>
#include <string.h>

void sfu_listener_init(sfu_listener *l) {
  memset(l, 0, sizeof *l);
}

size_t sfu_listener_count(const sfu_listener *l) {
  return l->nprods;
}

static sfu_listener_entry *slot_of(sfu_listener *l, uint32_t ssrc) {
  for (size_t i = 0; i < SFU_LISTENER_SSRCS; i++)
    if (l->ssrcs[i].p && l->ssrcs[i].ssrc == ssrc) return &l->ssrcs[i];
  return NULL;
}

/* Binds ssrc to (p, layer, rtx), replacing what that encoding had before
 * (a restarted track) and whatever the ssrc meant before. */
static sfu_listener_entry *bind(sfu_listener *l, uint32_t ssrc, sfu_producer *p, uint8_t layer, bool rtx) {
  sfu_listener_entry *free_slot = NULL;
  for (size_t i = 0; i < SFU_LISTENER_SSRCS; i++) {
    sfu_listener_entry *e = &l->ssrcs[i];
    if (e->p && (e->ssrc == ssrc || (e->p == p && e->layer == layer && e->rtx == rtx))) e->p = NULL;
    if (!e->p && !free_slot) free_slot = e;
  }
  if (!free_slot) return NULL;
  *free_slot = (sfu_listener_entry){.ssrc = ssrc, .p = p, .layer = layer, .rtx = rtx};
  return free_slot;
}

int sfu_listener_add(sfu_listener *l, sfu_producer *p) {
  if (l->nprods == SFU_LISTENER_PRODUCERS) return -ENOSPC;
  l->prods[l->nprods++] = p;
  if (!l->ext_mid) l->ext_mid = p->prm.ext_mid;
  if (!l->ext_rid) l->ext_rid = p->prm.ext_rid;
  if (!l->ext_rrid) l->ext_rrid = p->prm.ext_rrid;
  for (uint8_t i = 0; i < p->prm.nenc; i++) {
    if (p->prm.enc[i].ssrc) bind(l, p->prm.enc[i].ssrc, p, i, false);
    if (p->prm.enc[i].rtx_ssrc) bind(l, p->prm.enc[i].rtx_ssrc, p, i, true);
  }
  return 0;
}

void sfu_listener_remove(sfu_listener *l, const sfu_producer *p) {
  for (size_t i = 0; i < SFU_LISTENER_SSRCS; i++)
    if (l->ssrcs[i].p == p) l->ssrcs[i].p = NULL;
  for (size_t i = 0; i < l->nprods; i++)
    if (l->prods[i] == p) {
      l->prods[i] = l->prods[--l->nprods];
      break;
    }
}

static bool ext_is(const uint8_t *pkt, const sfu_rtp_hdr *h, uint8_t id, const char *want) {
  size_t len = 0;
  const uint8_t *v = id ? sfu_rtp_ext_find(pkt, h, id, &len) : NULL;
  return v && len == strnlen(want, SFU_MID_MAX) && !memcmp(v, want, len);
}

static bool is_rtx_pt(const sfu_producer *p, uint8_t pt) {
  for (int i = 0; i < p->prm.ncodecs; i++)
    if (p->prm.codecs[i].rtx_pt && p->prm.codecs[i].rtx_pt == pt) return true;
  return false;
}

/* The m-section by MID, then the encoding by RID (or RRID: its RTX). A
 * section with one encoding and no RID takes the packet as that encoding,
 * its retransmission stream told apart by the RTX payload type. */
static sfu_listener_entry *place(sfu_listener *l, const uint8_t *pkt, const sfu_rtp_hdr *h) {
  sfu_producer *p = NULL;
  for (size_t i = 0; i < l->nprods && !p; i++)
    if (ext_is(pkt, h, l->ext_mid, l->prods[i]->prm.mid)) p = l->prods[i];
  if (!p) return NULL;
  bool rtx = is_rtx_pt(p, h->pt);
  for (uint8_t k = 0; k < p->prm.nenc; k++) {
    const char *rid = p->prm.enc[k].rid;
    if (!rid[0]) break;
    if (!rtx && ext_is(pkt, h, l->ext_rid, rid)) return bind(l, h->ssrc, p, k, false);
    if (rtx && ext_is(pkt, h, l->ext_rrid, rid)) return bind(l, h->ssrc, p, k, true);
  }
  if (p->prm.nenc == 1 && !p->prm.enc[0].rid[0]) return bind(l, h->ssrc, p, 0, rtx);
  return NULL;
}

sfu_producer *sfu_listener_find(sfu_listener *l, const uint8_t *pkt, const sfu_rtp_hdr *h, uint8_t *layer,
                                bool *rtx) {
  sfu_listener_entry *e = slot_of(l, h->ssrc);
  if (!e && !(e = place(l, pkt, h))) return NULL;
  *layer = e->layer;
  *rtx = e->rtx;
  return e->p;
}
