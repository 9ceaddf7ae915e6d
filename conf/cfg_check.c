/* cfg_check: value checkers used by the key table in cfg_load.c. */
#include "cfg_config.h"
#include "cfg_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *why, size_t n, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int fail(char *why, size_t n, const char *fmt, ...) {
  if (why && n) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

static bool is_ip(const char *v) {
  unsigned char buf[16];
  return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

int cfg_check_ip(const char *v, char *why, size_t n) {
  return is_ip(v) ? 0 : fail(why, n, "not an IPv4 or IPv6 address");
}

int cfg_check_listen_addr(const char *v, char *why, size_t n) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  if (inet_pton(AF_INET, v, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    sl = sizeof *s4;
  } else if (inet_pton(AF_INET6, v, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    sl = sizeof *s6;
  } else {
    return fail(why, n, "not an IPv4 or IPv6 address");
  }
  /* Port 0: tests the address only (the running server holds its port). */
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(why, n, "cannot make a socket of that family: %s", g_strerror(errno));
  int rc = bind(fd, (struct sockaddr *)&ss, sl) == 0 ? 0 : errno;
  close(fd);
  if (rc == EADDRNOTAVAIL) return fail(why, n, "not an address of this host (cannot bind it)");
  if (rc) return fail(why, n, "cannot bind it: %s", g_strerror(rc));
  return 0;
}

int cfg_check_dir(const char *path, char *why, size_t n) {
  struct stat st;
  if (stat(path, &st) != 0) {
    int e = errno;
    fail(why, n, "%s", g_strerror(e));
    return -e;
  }
  if (!S_ISDIR(st.st_mode)) {
    fail(why, n, "not a directory");
    return -ENOTDIR;
  }
  if (access(path, R_OK | X_OK) != 0) {
    int e = errno;
    fail(why, n, "%s", g_strerror(e));
    return -e;
  }
  return 0;
}

int cfg_check_web_root(const char *v, char *why, size_t n) {
  return cfg_check_dir(v, why, n) ? -EINVAL : 0;
}

int cfg_check_file(const char *v, char *why, size_t n) {
  int fd = open(v, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail(why, n, "cannot open: %s", g_strerror(errno));
  struct stat st;
  int rc = fstat(fd, &st);
  close(fd);
  if (rc != 0 || !S_ISREG(st.st_mode)) return fail(why, n, "not a regular file");
  return 0;
}

/* host[:port] as in RFC 7064/7065 (IPv6 in brackets); returns the rest. */
static const char *parse_hostport(const char *p, char *why, size_t n, int *rc) {
  *rc = 0;
  if (*p == '[') {
    const char *end = strchr(p, ']');
    char addr[64];
    if (!end || (size_t)(end - p - 1) >= sizeof addr) {
      *rc = fail(why, n, "bad IPv6 address in brackets");
      return p;
    }
    memcpy(addr, p + 1, (size_t)(end - p - 1));
    addr[end - p - 1] = '\0';
    unsigned char buf[16];
    if (inet_pton(AF_INET6, addr, buf) != 1) {
      *rc = fail(why, n, "bad IPv6 address in brackets");
      return p;
    }
    p = end + 1;
  } else {
    const char *h = p;
    while (g_ascii_isalnum(*p) || *p == '.' || *p == '-' || *p == '_')
      p++;
    if (p == h) {
      *rc = fail(why, n, "missing host");
      return p;
    }
  }
  if (*p == ':') {
    p++;
    unsigned long port = 0;
    const char *d = p;
    while (g_ascii_isdigit(*p) && port <= 65535)
      port = port * 10 + (unsigned long)(*p++ - '0');
    if (p == d || port < 1 || port > 65535 || g_ascii_isdigit(*p)) {
      *rc = fail(why, n, "bad port (1-65535)");
      return p;
    }
  }
  return p;
}

static int check_url(const char *v, const char *const schemes[], bool transport_param, char *why, size_t n) {
  const char *p = NULL;
  for (size_t i = 0; schemes[i] && !p; i++) {
    size_t l = strlen(schemes[i]);
    if (strncmp(v, schemes[i], l) == 0) p = v + l;
  }
  if (!p)
    return transport_param ? fail(why, n, "must start with turn: or turns:")
                           : fail(why, n, "must start with stun: or stuns:");
  int rc;
  p = parse_hostport(p, why, n, &rc);
  if (rc) return rc;
  if (*p == '\0') return 0;
  if (transport_param && (strcmp(p, "?transport=udp") == 0 || strcmp(p, "?transport=tcp") == 0)) return 0;
  return fail(why, n,
              transport_param ? "unexpected text after host[:port] (only ?transport=udp|tcp)"
                              : "unexpected text after host[:port]");
}

int cfg_check_stun(const char *v, char *why, size_t n) {
  static const char *const s[] = {"stun:", "stuns:", NULL};
  return check_url(v, s, false, why, n);
}

int cfg_check_turn(const char *v, char *why, size_t n) {
  static const char *const s[] = {"turn:", "turns:", NULL};
  return check_url(v, s, true, why, n);
}

int cfg_check_origin(const char *v, char *why, size_t n) {
  const char *p;
  if (g_str_has_prefix(v, "https://"))
    p = v + 8;
  else if (g_str_has_prefix(v, "http://"))
    p = v + 7;
  else
    return fail(why, n, "must start with http:// or https://");
  int rc;
  p = parse_hostport(p, why, n, &rc);
  if (rc) return rc;
  if (*p) return fail(why, n, "must be scheme://host[:port] with no path or trailing slash");
  return 0;
}

static int check_min_len(const char *v, size_t min, char *why, size_t n) {
  if (strlen(v) < min) return fail(why, n, "too short (at least %zu characters)", min);
  for (const char *p = v; *p; p++)
    if (g_ascii_iscntrl(*p) || *p == ' ')
      return fail(why, n, "must not contain spaces or control characters");
  return 0;
}

int cfg_check_token(const char *v, char *why, size_t n) {
  return check_min_len(v, 16, why, n);
}
int cfg_check_jwt_secret(const char *v, char *why, size_t n) {
  return check_min_len(v, 32, why, n);
}
int cfg_check_any(const char *v, char *why, size_t n) {
  (void)v, (void)why, (void)n;
  return 0;
}
