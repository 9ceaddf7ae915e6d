/* bench_rx: batched receive for the simulated subscribers. Once a
 * subscriber's transport is connected, its UDP socket leaves libnice
 * (tp_peer_take_rx) for one epoll set watched by a single GSource; each
 * wake-up reads every ready socket with recvmmsg, 32 datagrams a call, and
 * hands them to tp_peer_receive. libnice reads one datagram per recvmsg and
 * goes through its locks and GLib layers for each: the profile had the
 * receive path at a fifth and GLib at another fifth of the bench's CPU. */
#define _GNU_SOURCE /* recvmmsg */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define BATCH 32
#define EVENTS 256
#define DGRAM 1600

typedef struct {
  GSource src;
  int epfd;
  gpointer tag;
} rx_source;

static rx_source *rx;
static uint8_t bufs[BATCH][DGRAM];
static struct iovec iov[BATCH];
static struct mmsghdr mm[BATCH];

/* Reads fd until it is empty (a short batch) or has given 8 batches (the
 * other sockets get their turn; level-triggered epoll comes back to it). */
static void drain(tp_peer *tp, int fd) {
  for (int round = 0; round < 8; round++) {
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){bufs[i], DGRAM};
      mm[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    for (int i = 0; i < n; i++)
      if (!(mm[i].msg_hdr.msg_flags & MSG_TRUNC)) tp_peer_receive(tp, bufs[i], mm[i].msg_len);
    if (n < BATCH) return;
  }
}

static gboolean rx_dispatch(GSource *src, GSourceFunc cb, gpointer ud) {
  (void)cb, (void)ud;
  rx_source *s = (rx_source *)src;
  struct epoll_event ev[EVENTS];
  int n = epoll_wait(s->epfd, ev, EVENTS, 0);
  for (int i = 0; i < n; i++) {
    bench_peer *p = ev[i].data.ptr;
    if (p->sub && p->rx_fd >= 0) drain(p->sub, p->rx_fd);
  }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs rx_funcs = {.dispatch = rx_dispatch};

int bench_rx_init(GMainContext *ctx) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return -errno;
  rx = (rx_source *)g_source_new(&rx_funcs, sizeof(rx_source));
  rx->epfd = epfd;
  rx->tag = g_source_add_unix_fd(&rx->src, epfd, G_IO_IN);
  g_source_set_name(&rx->src, "bench batched receive");
  g_source_attach(&rx->src, ctx);
  return 0;
}

void bench_rx_shutdown(void) {
  if (!rx) return;
  close(rx->epfd);
  g_source_destroy(&rx->src);
  g_source_unref(&rx->src);
  rx = NULL;
}

void bench_rx_add(bench_peer *p) {
  if (!rx || !p->sub || p->rx_fd >= 0) return;
  int fd = tp_peer_take_rx(p->sub);
  if (fd < 0) return; /* not a plain UDP pair: libnice keeps reading it */
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
  if (epoll_ctl(rx->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) p->rx_fd = fd;
}

void bench_rx_remove(bench_peer *p) {
  if (p->rx_fd < 0) return;
  if (rx) epoll_ctl(rx->epfd, EPOLL_CTL_DEL, p->rx_fd, NULL);
  p->rx_fd = -1;
}
