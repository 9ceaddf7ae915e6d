/* sig_listen: the HTTP/WebSocket listening socket, made and accepted here
 * rather than by lws, for two reasons:
 * - the bound address is exactly listen_addr (IPv4 or IPv6; empty = every
 *   address of both families), and a failed bind is an error at start-up;
 * - at the descriptor limit lws 4.1 logs and returns, leaving the socket
 *   readable, so its poll loop spins at full speed. Here one descriptor is
 *   held in reserve: at EMFILE it is released to accept the waiting
 *   connection, answer 503 (plain HTTP) and close it, so the queue drains and
 *   a new client is served as soon as a descriptor frees. Without a reserve,
 *   accepting pauses (POLLIN off) until a connection closes or 200 ms pass.
 * The condition is logged when it starts, then at most every 10 s, and when
 * it ends: a bounded number of lines whatever the load.
 * lws polls the socket as a raw file descriptor ("sfu-listen") and every
 * accepted socket is handed to lws as an HTTP connection of the vhost. */
#define _GNU_SOURCE /* accept4 */
#define G_LOG_DOMAIN "ws"
#include "sig_ws_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_WAKEUP 64
#define PAUSE_US (200 * 1000)
#define LOG_EVERY_US (10 * G_USEC_PER_SEC)

struct sig_listen {
  int fd;          /* owned until lws adopts it, then lws closes it */
  struct lws *wsi; /* raw-file wsi polling fd */
  int spare;       /* /dev/null held in reserve, -1 when lost */
  bool tls, paused, at_limit;
  lws_sorted_usec_list_t resume_sul;
  int64_t logged_at_us;
  uint64_t refused, refused_logged;
  char where[80];
};

static const char http_503[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "content-type: text/plain\r\n"
                               "content-length: 32\r\n"
                               "retry-after: 1\r\n"
                               "connection: close\r\n\r\n"
                               "server busy (descriptor limit)\r\n";

static int reserve(void) {
  return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void describe(char *out, size_t n, const struct sockaddr *sa) {
  char a[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const void *)sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
    snprintf(out, n, "[%s]:%u", a, ntohs(s6->sin6_port));
  } else {
    const struct sockaddr_in *s4 = (const void *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
    snprintf(out, n, "%s:%u", a, ntohs(s4->sin_port));
  }
}

/* One listening socket on addr (NULL = every address) and port. */
static int bind_one(int family, const char *addr, unsigned port, int *out, char *where, size_t wlen) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  if (family == AF_INET6) {
    struct sockaddr_in6 *s6 = (void *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    s6->sin6_addr = in6addr_any;
    if (addr && inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1) return -EINVAL;
    sl = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (void *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    s4->sin_addr.s_addr = htonl(INADDR_ANY);
    if (addr && inet_pton(AF_INET, addr, &s4->sin_addr) != 1) return -EINVAL;
    sl = sizeof *s4;
  }
  describe(where, wlen, (struct sockaddr *)&ss);
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1, v6only = 1;
  if (family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
    v6only = 0; /* "::" means every address, IPv4 included */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* Accepted sockets inherit it: without it Nagle holds the offer that
   * follows "joined" until the browser's delayed ACK (40 ms of every join). */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  *out = fd;
  return 0;
}

int sig_listen_open(sig_ws *ws, const char *addr, unsigned port, char *err, size_t errlen) {
  sig_listen *l = g_new0(sig_listen, 1);
  l->fd = l->spare = -1;
  ws->listen = l;
  int rc;
  if (addr && *addr) {
    unsigned char probe[16];
    int family = inet_pton(AF_INET, addr, probe) == 1 ? AF_INET : AF_INET6;
    rc = bind_one(family, addr, port, &l->fd, l->where, sizeof l->where);
  } else { /* both families; an IPv4-only host still gets IPv4 */
    rc = bind_one(AF_INET6, NULL, port, &l->fd, l->where, sizeof l->where);
    if (rc == -EAFNOSUPPORT || rc == -EADDRNOTAVAIL)
      rc = bind_one(AF_INET, NULL, port, &l->fd, l->where, sizeof l->where);
  }
  if (rc != 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", rc == -EINVAL ? addr : l->where,
             rc == -EINVAL ? "not an IP address" : g_strerror(-rc));
    return rc;
  }
  l->spare = reserve();
  l->tls = ws->cfg.tls_cert && ws->cfg.tls_key;
  g_debug("listening socket bound to %s", l->where);
  return 0;
}

int sig_listen_start(sig_ws *ws, char *err, size_t errlen) {
  sig_listen *l = ws->listen;
  lws_sock_file_fd_type u;
  u.filefd = l->fd;
  l->wsi = lws_adopt_descriptor_vhost(ws->vhost, LWS_ADOPT_RAW_FILE_DESC, u, "sfu-listen", NULL);
  if (!l->wsi) { /* lws closed the descriptor */
    l->fd = -1;
    snprintf(err, errlen, "cannot poll the listening socket");
    return -EIO;
  }
  return 0;
}

/* ---- the descriptor limit ---- */

static void log_limit(sig_listen *l, bool force) {
  int64_t now = g_get_monotonic_time();
  if (!force && now - l->logged_at_us < LOG_EVERY_US) return;
  uint64_t n = l->refused;
  if (!l->at_limit) {
    g_message("descriptors free again on %s: accepting connections (%llu refused at the limit)", l->where,
              (unsigned long long)(n - l->refused_logged));
  } else if (force) {
    struct rlimit rl = {0, 0};
    getrlimit(RLIMIT_NOFILE, &rl);
    g_warning("out of file descriptors (limit %llu): new connections on %s get 503 until one frees",
              (unsigned long long)rl.rlim_cur, l->where);
  } else {
    g_warning("still out of file descriptors: %llu connections refused in the last %d s",
              (unsigned long long)(n - l->refused_logged), (int)(LOG_EVERY_US / G_USEC_PER_SEC));
  }
  l->refused_logged = n;
  l->logged_at_us = now;
}

static void set_at_limit(sig_listen *l, bool at) {
  if (l->at_limit == at) return;
  l->at_limit = at;
  log_limit(l, true);
}

static void resume_cb(lws_sorted_usec_list_t *sul) {
  sig_listen *l = lws_container_of(sul, sig_listen, resume_sul);
  if (l->spare < 0) l->spare = reserve();
  if (l->paused && l->wsi) {
    l->paused = false;
    lws_rx_flow_control(l->wsi, 1);
  }
}

static void pause_accepting(sig_ws *ws, sig_listen *l) {
  if (!l->paused && l->wsi) {
    l->paused = true;
    lws_rx_flow_control(l->wsi, 0);
  }
  lws_sul_schedule(ws->ctx, 0, &l->resume_sul, resume_cb, PAUSE_US);
}

void sig_listen_fd_freed(sig_ws *ws) {
  sig_listen *l = ws->listen;
  if (l && l->wsi && (l->paused || l->spare < 0)) lws_sul_schedule(ws->ctx, 0, &l->resume_sul, resume_cb, 1);
}

/* Out of descriptors: spend the reserve on the oldest waiting connection. */
static bool refuse_one(sig_listen *l) {
  if (l->spare < 0) return false;
  close(l->spare);
  int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    if (!l->tls) {
      ssize_t w = send(fd, http_503, sizeof http_503 - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)w; /* best effort: the client learns why, or sees a close */
    }
    shutdown(fd, SHUT_RDWR);
    close(fd);
    l->refused++;
  }
  l->spare = reserve(); /* -1 if another thread took the slot meanwhile */
  return fd >= 0;
}

static void accept_some(sig_ws *ws, sig_listen *l) {
  for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      set_at_limit(l, false);
      lws_adopt_socket_vhost(ws->vhost, fd); /* on failure lws closes fd */
      continue;
    }
    switch (errno) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
      continue;
    case EAGAIN:
      return;
    case EMFILE:
    case ENFILE:
      set_at_limit(l, true);
      log_limit(l, false);
      if (refuse_one(l)) continue;
      pause_accepting(ws, l);
      return;
    default: /* ENOBUFS, ENOMEM: back off a little */
      g_warning("accept on %s: %s", l->where, g_strerror(errno));
      pause_accepting(ws, l);
      return;
    }
  }
}

int sig_listen_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  (void)user, (void)in, (void)len;
  sig_ws *ws = lws_context_user(lws_get_context(wsi));
  sig_listen *l = ws ? ws->listen : NULL;
  switch (reason) {
  case LWS_CALLBACK_RAW_RX_FILE:
    if (l && wsi == l->wsi) accept_some(ws, l);
    return 0;
  case LWS_CALLBACK_RAW_CLOSE_FILE:
    if (l && wsi == l->wsi) {
      l->wsi = NULL;
      l->fd = -1; /* closed by lws */
    }
    return 0;
  default:
    return 0;
  }
}

void sig_listen_free(sig_ws *ws) {
  sig_listen *l = ws->listen;
  if (!l) return;
  if (l->fd >= 0 && !l->wsi) close(l->fd); /* never adopted */
  if (l->spare >= 0) close(l->spare);
  g_free(l);
  ws->listen = NULL;
}
