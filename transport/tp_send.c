/* tp_send: the queue, the flush source and the two batch back-ends.
 *
 * The queue is an array of entries in the order packets were sent; entry i
 * uses buffer i. For sendmmsg the entries of one peer are chained (the
 * peer's tp_send_link, valid for one batch generation), so a flush walks
 * each peer's chain once and the order within a peer is kept. For io_uring
 * every entry is one IORING_OP_SENDMSG with MSG_DONTWAIT: the kernel then
 * fails a send on a full buffer at once (-EAGAIN) instead of parking it,
 * so every submission completes inside io_uring_enter and the buffers are
 * free again when it returns. */
#define _GNU_SOURCE /* sendmmsg */
#define G_LOG_DOMAIN "tp"

#include "tp_send.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "tp_peer.h"

#ifdef TP_HAVE_LIBURING
#include <liburing.h>
#endif

#define SLOTS 256
#define SLOT_BYTES 1536 /* TP_MTU + TP_SRTP_TRAILER_MAX, rounded up */

_Static_assert(SLOT_BYTES >= TP_MTU + TP_SRTP_TRAILER_MAX, "slot too small");

typedef struct {
  int fd;
  int next; /* next entry of the same peer, -1 = last */
  const struct sockaddr_storage *addr;
  socklen_t addrlen;
  uint32_t len;
  uint64_t *errors;
} entry;

typedef struct {
  GSource src;
  tp_sender *s;
} flush_source;

struct tp_sender {
  tp_send_mode mode;
  GSource *src;
  int n;        /* queued entries */
  uint32_t gen; /* batch generation, never 0 */
  int nheads;   /* peers with entries in this batch */
  int heads[SLOTS];
  entry q[SLOTS];
  struct iovec iov[SLOTS];
  struct mmsghdr mm[SLOTS];
  tp_sender_stats stats;
#ifdef TP_HAVE_LIBURING
  struct io_uring ring;
#endif
  _Alignas(64) uint8_t buf[SLOTS][SLOT_BYTES];
};

int tp_send_mode_parse(const char *s, tp_send_mode *out) {
  static const char *const names[] = {"direct", "mmsg", "uring"};
  for (int i = 0; s && i < 3; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = (tp_send_mode)i;
      return 0;
    }
  return -EINVAL;
}

const char *tp_send_mode_name(tp_send_mode m) {
  return m == TP_SEND_MMSG ? "mmsg" : m == TP_SEND_URING ? "uring" : "direct";
}

/* ---- flush ---- */

static void fill_msg(tp_sender *s, int i, struct msghdr *m) {
  entry *e = &s->q[i];
  s->iov[i].iov_base = s->buf[i];
  s->iov[i].iov_len = e->len;
  *m = (struct msghdr){
      .msg_name = (void *)e->addr, .msg_namelen = e->addrlen, .msg_iov = &s->iov[i], .msg_iovlen = 1};
}

/* One peer's chain: sendmmsg from where the last call stopped; an entry
 * the kernel refuses is counted and skipped. */
static void flush_chain(tp_sender *s, int head) {
  int k = 0, fd = s->q[head].fd;
  for (int i = head; i >= 0; i = s->q[i].next)
    fill_msg(s, i, &s->mm[k++].msg_hdr);
  int done = 0, idx = head;
  while (done < k) {
    s->stats.syscalls++;
    int r = sendmmsg(fd, &s->mm[done], (unsigned)(k - done), MSG_DONTWAIT);
    if (r < 0) r = 0;
    for (int j = 0; j < r; j++)
      idx = s->q[idx].next;
    done += r;
    if (done < k) { /* entry idx failed */
      (*s->q[idx].errors)++;
      s->stats.errors++;
      idx = s->q[idx].next;
      done++;
    }
  }
}

static void flush_mmsg(tp_sender *s) {
  for (int h = 0; h < s->nheads; h++)
    flush_chain(s, s->heads[h]);
}

#ifdef TP_HAVE_LIBURING
static void flush_uring(tp_sender *s) {
  for (int i = 0; i < s->n; i++) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring); /* ring has SLOTS entries: never NULL */
    fill_msg(s, i, &s->mm[i].msg_hdr);
    io_uring_prep_sendmsg(sqe, s->q[i].fd, &s->mm[i].msg_hdr, MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, (uint64_t)i);
  }
  s->stats.syscalls++;
  int r = io_uring_submit_and_wait(&s->ring, (unsigned)s->n);
  if (r < 0) { /* the ring itself failed: nothing was sent */
    s->stats.errors += (uint64_t)s->n;
    for (int i = 0; i < s->n; i++)
      (*s->q[i].errors)++;
    return;
  }
  struct io_uring_cqe *cqe;
  unsigned head, seen = 0;
  io_uring_for_each_cqe(&s->ring, head, cqe) {
    if (cqe->res < 0) {
      (*s->q[cqe->user_data].errors)++;
      s->stats.errors++;
    }
    seen++;
  }
  io_uring_cq_advance(&s->ring, seen);
}
#endif

void tp_sender_flush(tp_sender *s) {
  if (!s || s->n == 0) return;
  s->stats.flushes++;
#ifdef TP_HAVE_LIBURING
  if (s->mode == TP_SEND_URING)
    flush_uring(s);
  else
#endif
    flush_mmsg(s);
  s->n = 0;
  s->nheads = 0;
  if (++s->gen == 0) s->gen = 1;
}

/* ---- queue ---- */

uint8_t *tp_sender_buf(tp_sender *s, size_t *cap) {
  if (s->n == SLOTS) tp_sender_flush(s);
  *cap = SLOT_BYTES;
  return s->buf[s->n];
}

void tp_sender_commit(tp_sender *s, tp_send_link *link, int fd, const struct sockaddr_storage *addr,
                      socklen_t addrlen, size_t len, uint64_t *errors) {
  int i = s->n++;
  s->q[i] =
      (entry){.fd = fd, .next = -1, .addr = addr, .addrlen = addrlen, .len = (uint32_t)len, .errors = errors};
  s->stats.packets++;
  if (link->gen != s->gen) {
    link->gen = s->gen;
    link->head = link->tail = i;
    s->heads[s->nheads++] = i;
  } else {
    s->q[link->tail].next = i;
    link->tail = i;
  }
}

void tp_sender_release(tp_sender *s, tp_send_link *link) {
  if (s && link->gen == s->gen && s->n > 0) tp_sender_flush(s);
}

const tp_sender_stats *tp_sender_get_stats(const tp_sender *s) {
  return &s->stats;
}

tp_send_mode tp_sender_mode(const tp_sender *s) {
  return s->mode;
}

void tp_send_tune_socket(int fd) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 || ss.ss_family != AF_INET) return;
  int v = IP_PMTUDISC_PROBE;
  (void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof v);
}

/* ---- the source: flush before the loop sleeps ---- */

static gboolean src_prepare(GSource *src, gint *timeout) {
  *timeout = -1;
  tp_sender_flush(((flush_source *)src)->s);
  return FALSE;
}

static gboolean src_dispatch(GSource *src, GSourceFunc cb, gpointer ud) {
  (void)src;
  (void)cb;
  (void)ud;
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs src_funcs = {.prepare = src_prepare, .dispatch = src_dispatch};

int tp_sender_new(tp_sender **out, GMainContext *ctx, tp_send_mode mode, char *err, size_t errlen) {
  *out = NULL;
  if (!ctx || (mode != TP_SEND_MMSG && mode != TP_SEND_URING)) {
    snprintf(err, errlen, "tp_sender needs a context and mode mmsg or uring");
    return -EINVAL;
  }
  tp_sender *s = g_malloc0(sizeof *s);
  s->gen = 1;
  s->mode = mode;
  if (mode == TP_SEND_URING) {
#ifdef TP_HAVE_LIBURING
    int rc = io_uring_queue_init(SLOTS, &s->ring, 0);
    if (rc < 0) {
      g_message("io_uring unavailable (%s): sends batched with sendmmsg", g_strerror(-rc));
      s->mode = TP_SEND_MMSG;
    }
#else
    g_message("built without liburing: sends batched with sendmmsg");
    s->mode = TP_SEND_MMSG;
#endif
  }
  /* Prepare runs for every source of a higher priority than the first one
   * found ready, so the highest priority makes it run on every wake-up. */
  s->src = g_source_new(&src_funcs, sizeof(flush_source));
  ((flush_source *)s->src)->s = s;
  g_source_set_priority(s->src, G_MININT);
  g_source_set_name(s->src, "tp_sender flush");
  g_source_attach(s->src, ctx);
  *out = s;
  return 0;
}

void tp_sender_free(tp_sender *s) {
  if (!s) return;
  tp_sender_flush(s);
  g_message("sends (%s): %" G_GUINT64_FORMAT " packets in %" G_GUINT64_FORMAT
            " system calls (%" G_GUINT64_FORMAT " flushes), %" G_GUINT64_FORMAT " refused",
            tp_send_mode_name(s->mode), s->stats.packets, s->stats.syscalls, s->stats.flushes,
            s->stats.errors);
  g_source_destroy(s->src);
  g_source_unref(s->src);
#ifdef TP_HAVE_LIBURING
  if (s->mode == TP_SEND_URING) io_uring_queue_exit(&s->ring);
#endif
  g_free(s);
}
