/* Data channels of one transport: SCTP over its DTLS, the "chat" channel. */
#define G_LOG_DOMAIN "media"
#include "sfu_datachan.h"

#include <string.h>

#include "sfu_router.h"
#include "tp_sctp.h"

#define CHAT_LABEL "chat"

struct sfu_datachan {
  struct sfu_transport *t;
  tp_sctp *sctp;
  bool started;
  bool have_chat;
  uint16_t chat;
};

static void emit(sfu_datachan *d, sfu_event_type type, uint8_t *data, size_t len, bool binary) {
  sfu_router *r = d->t->router;
  sfu_event ev = {
      .type = type, .router = r->id, .transport = d->t->id, .data = data, .len = len, .binary = binary};
  r->env->emit(r->env->emit_ud, &ev);
}

static void on_app_data(void *ud, const uint8_t *buf, size_t len) {
  sfu_datachan *d = ud;
  if (d->started) tp_sctp_input(d->sctp, buf, len);
}

static int send_packet(void *ud, const uint8_t *pkt, size_t len) {
  sfu_datachan *d = ud;
  return tp_peer_send_app_data(d->t->peer, pkt, len);
}

static void on_channel(void *ud, uint16_t stream, const char *label, size_t ll, const char *proto,
                       size_t pl) {
  (void)proto, (void)pl;
  sfu_datachan *d = ud;
  if (!label || d->have_chat || ll != strlen(CHAT_LABEL) || memcmp(label, CHAT_LABEL, ll)) return;
  d->have_chat = true;
  d->chat = stream;
}

static void on_message(void *ud, uint16_t stream, bool binary, const uint8_t *data, size_t len) {
  sfu_datachan *d = ud;
  if (!d->have_chat || stream != d->chat) return; /* other channels: nothing is relayed */
  emit(d, SFU_EV_DATA, g_memdup2(data ? data : (const uint8_t *)"", len), len, binary);
}

static void on_oversize(void *ud, uint16_t stream) {
  sfu_datachan *d = ud;
  if (d->have_chat && stream == d->chat) emit(d, SFU_EV_DATA_OVERSIZE, NULL, 0, false);
}

static void on_closed(void *ud, uint16_t stream) {
  sfu_datachan *d = ud;
  if (d->have_chat && stream == d->chat) d->have_chat = false;
}

sfu_datachan *sfu_datachan_new(struct sfu_transport *t, uint16_t remote_port, uint32_t remote_max) {
  sfu_datachan *d = g_new0(sfu_datachan, 1);
  d->t = t;
  tp_sctp_config cfg = {.ctx = t->router->env->ctx,
                        .dtls_client = false, /* the server is always the DTLS server */
                        .remote_port = remote_port,
                        .max_message_size = SFU_DC_MAX_MESSAGE,
                        .remote_max_message_size = remote_max,
                        .log_name = NULL};
  tp_sctp_cbs cbs = {.send = send_packet,
                     .on_channel = on_channel,
                     .on_message = on_message,
                     .on_oversize = on_oversize,
                     .on_channel_closed = on_closed};
  char err[160];
  if (tp_sctp_new(&d->sctp, &cfg, &cbs, d, err, sizeof err) != 0) {
    g_warning("router %u: transport %u: no data channels: %s", t->router->id, t->id, err);
    g_free(d);
    return NULL;
  }
  tp_peer_set_app_data_cb(t->peer, on_app_data, d);
  if (t->connected) sfu_datachan_on_connected(d);
  return d;
}

void sfu_datachan_on_connected(sfu_datachan *d) {
  if (!d || d->started) return;
  d->started = true;
  tp_sctp_connect(d->sctp);
}

bool sfu_datachan_send(sfu_datachan *d, const char *text, size_t len) {
  if (!d || !d->have_chat) return false;
  return tp_sctp_send(d->sctp, d->chat, false, (const uint8_t *)text, len) == 0;
}

void sfu_datachan_free(sfu_datachan *d) {
  if (!d) return;
  tp_sctp_free(d->sctp);
  g_free(d);
}
