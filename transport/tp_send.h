/* tp_send: batched sends for the media thread. Packets sent during one
 * main-loop wake-up are queued in the sender's own buffers and leave
 * together when the loop is about to sleep again (a GSource whose prepare
 * runs before every poll), or earlier when the queue is full:
 *  - TP_SEND_MMSG: one sendmmsg per peer socket (the packets of a video
 *    frame to one subscriber go in one system call);
 *  - TP_SEND_URING: one io_uring_enter for every queued packet of every
 *    socket (a fan-out of one packet to N subscribers is one system call).
 * A system call costs about 1 µs on our machines, the largest single cost of
 * a forwarded packet after the kernel's own UDP work (STACK-NOTES.md).
 * Nothing here allocates, locks or logs per packet; a failed send is
 * counted in the peer's send_errors (a full socket buffer drops the packet,
 * as one MSG_DONTWAIT sendto does).
 * Thread: every call on the thread that iterates the GMainContext given to
 * tp_sender_new. Ownership: the sender owns its buffers; peers borrow the
 * sender (it must outlive every tp_peer configured with it). */
#ifndef TP_SEND_H
#define TP_SEND_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct tp_sender tp_sender;

typedef enum {
  TP_SEND_DIRECT = 0, /* no sender: one sendto per packet (the peer's default) */
  TP_SEND_MMSG,
  TP_SEND_URING,
} tp_send_mode;

/* "direct", "mmsg", "uring" -> mode; -EINVAL for anything else. */
int tp_send_mode_parse(const char *s, tp_send_mode *out);
const char *tp_send_mode_name(tp_send_mode m);

/* mode MMSG or URING (DIRECT: -EINVAL, use no sender). URING falls back to
 * MMSG when io_uring cannot be set up here (a seccomp filter, an old kernel,
 * kernel.io_uring_disabled), logged once; tp_sender_mode says which. The
 * flush source is attached to ctx (borrowed, must outlive the sender). */
int tp_sender_new(tp_sender **out, GMainContext *ctx, tp_send_mode mode, char *err, size_t errlen);
/* Sends what is queued, then frees. NULL is fine. */
void tp_sender_free(tp_sender *s);
tp_send_mode tp_sender_mode(const tp_sender *s);

/* Sends everything queued now. Runs by itself once per main-loop wake-up;
 * call it to flush at a point of your own (e.g. the end of a batch). */
void tp_sender_flush(tp_sender *s);

/* The buffer the next queued packet will occupy (*cap bytes, room for the
 * SRTP trailer included). Writing a packet straight into it and passing it
 * to tp_peer_send_rtp/rtcp saves the copy; it stays valid until the next
 * send or flush on this sender. Flushes first if the queue is full. */
uint8_t *tp_sender_buf(tp_sender *s, size_t *cap);

typedef struct {
  uint64_t packets;  /* queued */
  uint64_t flushes;  /* flushes that sent something */
  uint64_t syscalls; /* sendmmsg / io_uring_enter calls */
  uint64_t errors;   /* packets the kernel refused */
} tp_sender_stats;
const tp_sender_stats *tp_sender_get_stats(const tp_sender *s);

/* Per-socket settings for media sends on fd (an IPv4 or IPv6 UDP socket):
 * IPv4 datagrams leave with DF set (IP_PMTUDISC_PROBE: no path-MTU state,
 * no local fragmentation). Without DF the kernel draws an IP ID per
 * datagram from a shared hashed table (__ip_select_ident: 4 % of the
 * server's CPU in the webinar profile); WebRTC packets stay below 1250
 * bytes, under any real path MTU. Best effort: errors are ignored. */
void tp_send_tune_socket(int fd);

/* ---- for tp_peer (transport/ only) ---- */

/* Per-peer link in the current batch; zeroed by the peer at creation. */
typedef struct {
  uint32_t gen;
  int head, tail;
} tp_send_link;

/* Queues the packet in the buffer tp_sender_buf returned (len bytes) for
 * fd/addr (both borrowed until the next flush: a peer flushes before it
 * changes or closes them). errors counts its failures. */
void tp_sender_commit(tp_sender *s, tp_send_link *link, int fd, const struct sockaddr_storage *addr,
                      socklen_t addrlen, size_t len, uint64_t *errors);

/* The peer's fd, address or error counter is about to go: sends its
 * queued packets now (the whole batch), if it has any. */
void tp_sender_release(tp_sender *s, tp_send_link *link);

#endif
