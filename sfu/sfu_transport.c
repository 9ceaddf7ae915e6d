/* Transport: a tp_peer with the producers and consumers that use it. */
#include "sfu_transport.h"

#include "sfu_datachan.h"

#include <errno.h>

int sfu_transport_new(sfu_transport **out, sfu_id id, sfu_router *r, const tp_peer_config *pc,
                      const tp_peer_cbs *cbs, char *err, size_t errlen) {
  sfu_transport *t = g_new0(sfu_transport, 1);
  t->id = id;
  t->router = r;
  t->tx.twcc_seq = (uint16_t)g_random_int();
  sfu_listener_init(&t->lis);
  int rc = tp_peer_new(&t->peer, pc, cbs, t, err, errlen);
  if (rc != 0) {
    g_free(t);
    return rc;
  }
  t->producers = g_ptr_array_new();
  t->consumers = g_ptr_array_new();
  t->cons_by_ssrc = g_hash_table_new(g_direct_hash, g_direct_equal);
  *out = t;
  return 0;
}

void sfu_transport_free(sfu_transport *t) {
  if (!t) return;
  tp_peer_free(t->peer); /* first: no callback reaches what follows */
  sfu_datachan_free(t->dc);
  for (guint i = 0; i < t->consumers->len; i++)
    sfu_consumer_free(g_ptr_array_index(t->consumers, i));
  for (guint i = 0; i < t->producers->len; i++)
    sfu_producer_free(g_ptr_array_index(t->producers, i));
  g_ptr_array_free(t->consumers, TRUE);
  g_ptr_array_free(t->producers, TRUE);
  g_hash_table_destroy(t->cons_by_ssrc);
  g_free(t->twcc_rx);
  g_free(t->tx.bwe);
  g_free(t);
}

int sfu_transport_add_producer(sfu_transport *t, sfu_producer *p) {
  int rc = sfu_listener_add(&t->lis, p);
  if (rc != 0) return rc;
  g_ptr_array_add(t->producers, p);
  if (p->prm.ext_twcc && !t->twcc_rx) {
    t->twcc_rx = g_new(sfu_twcc_recv, 1);
    sfu_twcc_recv_init(t->twcc_rx);
    t->ext_twcc = p->prm.ext_twcc;
    t->twcc_ssrc = (uint32_t)g_random_int_range(1, G_MAXINT32);
  }
  return 0;
}

void sfu_transport_note_arrival(sfu_transport *t, const uint8_t *pkt, const sfu_rtp_hdr *h, int64_t now_us) {
  uint16_t seq;
  if (t->twcc_rx && sfu_twcc_ext_read(pkt, h, t->ext_twcc, &seq) == 0)
    sfu_twcc_recv_packet(t->twcc_rx, seq, now_us, h->ssrc);
}

#define TWCC_INTERVAL_US 100000
#define FEEDBACK_CAP 1200

void sfu_transport_send_feedback(sfu_transport *t, uint8_t *buf, int64_t now_us) {
  if (!t->twcc_rx || now_us < t->next_twcc_us) return;
  t->next_twcc_us = now_us + TWCC_INTERVAL_US;
  size_t n;
  for (int i = 0; i < 8 && (n = sfu_twcc_recv_feedback(t->twcc_rx, t->twcc_ssrc, buf, FEEDBACK_CAP)); i++)
    tp_peer_send_rtcp(t->peer, buf, n, FEEDBACK_CAP + TP_SRTP_TRAILER_MAX);
}

void sfu_transport_remove_producer(sfu_transport *t, sfu_producer *p) {
  sfu_listener_remove(&t->lis, p);
  g_ptr_array_remove_fast(t->producers, p);
  sfu_producer_free(p);
}

int sfu_transport_add_consumer(sfu_transport *t, sfu_consumer *c) {
  gpointer key = GUINT_TO_POINTER(c->prm.ssrc);
  if (!c->prm.ssrc || g_hash_table_contains(t->cons_by_ssrc, key)) return -EEXIST;
  g_hash_table_insert(t->cons_by_ssrc, key, c);
  g_ptr_array_add(t->consumers, c);
  sfu_consumer_set_link(c, t->connected, g_get_monotonic_time());
  return 0;
}

void sfu_transport_remove_consumer(sfu_transport *t, sfu_consumer *c) {
  g_hash_table_remove(t->cons_by_ssrc, GUINT_TO_POINTER(c->prm.ssrc));
  g_ptr_array_remove_fast(t->consumers, c);
  sfu_consumer_free(c);
}

sfu_consumer *sfu_transport_consumer_by_ssrc(sfu_transport *t, uint32_t ssrc) {
  return g_hash_table_lookup(t->cons_by_ssrc, GUINT_TO_POINTER(ssrc));
}

/* A browser that vanished (crash, lost network) without closing anything:
 * a publisher's media stops, and a subscriber we send to stops its RTCP.
 * A subscriber we send nothing to is left to the WebSocket's ping/pong. */
static bool expects_rx(const sfu_transport *t, int64_t now_us) {
  return t->producers->len > 0 || (t->wd_tx_us && now_us - t->wd_tx_us < 3 * G_USEC_PER_SEC);
}

int64_t sfu_transport_silent_ms(const sfu_transport *t, int64_t now_us) {
  if (!t->connected || !t->wd_rx_us || !expects_rx(t, now_us)) return -1;
  return (now_us - t->wd_rx_us) / 1000;
}

sfu_failure sfu_transport_watchdog(sfu_transport *t, int64_t now_us, int64_t limit_us) {
  if (!limit_us || t->failed || now_us < t->wd_next_us) return SFU_FAIL_NONE;
  t->wd_next_us = now_us + G_USEC_PER_SEC;
  if (!t->connected) {
    /* No usable candidate pair: libnice may keep checking for minutes. */
    return t->remote_set_us && now_us - t->remote_set_us > limit_us ? SFU_FAIL_ICE : SFU_FAIL_NONE;
  }
  const tp_peer_stats *st = tp_peer_get_stats(t->peer);
  uint64_t rx = st->rtp_in + st->rtcp_in, tx = st->rtp_out;
  if (!t->wd_rx_us || rx != t->wd_rx) {
    t->wd_rx = rx;
    t->wd_rx_us = now_us;
  }
  if (tx != t->wd_tx) {
    /* We start sending after a silence: the subscriber's RTCP can only start
     * now, so its silence until now says nothing. */
    if (!expects_rx(t, now_us)) t->wd_rx_us = now_us;
    t->wd_tx = tx;
    t->wd_tx_us = now_us;
  }
  return expects_rx(t, now_us) && now_us - t->wd_rx_us > limit_us ? SFU_FAIL_CONSENT : SFU_FAIL_NONE;
}
