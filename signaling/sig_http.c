/* sig_http: the small HTTP API (/healthz, /metrics, /admin) on lws, and the
 * request-size limits every HTTP request is checked against.
 *
 * HTTP/1 requests are answered whole inside the callback that completes them
 * (headers for a request without a body, body completion otherwise) and the
 * transaction is finished there, so a pipelined request that lws parses next
 * never meets the previous one's unsent state, and answers go out in order.
 * (lws's rx flow control cannot hold the next request instead: on an HTTP/1
 * server connection it also holds back the writable callback.) A request with
 * a body closes the connection after its answer (see BODY_COMPLETION). A
 * request is answered exactly once, whichever callback comes first. */
#define G_LOG_DOMAIN "ws"
#include "sig_ws_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_BODY 65536       /* request bodies (admin POSTs need none) */
#define MAX_URI 8192         /* per request-line part (path, each query argument) */
#define MAX_FIELD 8192       /* per header field */
#define RESPONSE_HEADERS 768 /* room for our response headers */

typedef enum { M_GET, M_HEAD, M_POST, M_OTHER } method;

/* One HTTP API request; lws per-session storage of "sfu-api". */
typedef struct {
  unsigned char *buf; /* LWS_PRE + body, owned; HTTP/2 only, until written */
  size_t len;
  bool answered, sent, head, h2;
} http_pss;

size_t sig_http_pss_size(void) {
  return sizeof(http_pss);
}

/* ---- size limits ---- */

static struct lws_token_limits token_limits;

static gpointer init_limits(gpointer unused) {
  (void)unused;
  for (int t = 0; t < WSI_TOKEN_COUNT; t++)
    token_limits.token_limit[t] = MAX_FIELD;
  static const enum lws_token_indexes uris[] = {
      WSI_TOKEN_GET_URI, WSI_TOKEN_POST_URI,  WSI_TOKEN_OPTIONS_URI,
      WSI_TOKEN_PUT_URI, WSI_TOKEN_PATCH_URI, WSI_TOKEN_DELETE_URI,
      WSI_TOKEN_CONNECT, WSI_TOKEN_HEAD_URI,  WSI_TOKEN_HTTP_URI_ARGS};
  for (size_t i = 0; i < G_N_ELEMENTS(uris); i++)
    token_limits.token_limit[uris[i]] = MAX_URI;
  return NULL;
}

const struct lws_token_limits *sig_http_token_limits(void) {
  static GOnce once = G_ONCE_INIT;
  g_once(&once, init_limits, NULL);
  return &token_limits;
}

static bool is_uri_token(int t) {
  return t == WSI_TOKEN_GET_URI || t == WSI_TOKEN_POST_URI || t == WSI_TOKEN_OPTIONS_URI ||
         t == WSI_TOKEN_PUT_URI || t == WSI_TOKEN_PATCH_URI || t == WSI_TOKEN_DELETE_URI ||
         t == WSI_TOKEN_CONNECT || t == WSI_TOKEN_HEAD_URI || t == WSI_TOKEN_HTTP_URI_ARGS;
}

/* lws stops storing a token at its limit and skips the rest: a fragment
 * that reached the limit was longer than we accept. */
unsigned sig_http_check_size(struct lws *wsi) {
  const struct lws_token_limits *tl = sig_http_token_limits();
  for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
    if (!lws_hdr_total_length(wsi, (enum lws_token_indexes)t)) continue;
    for (int f = 0; f < 64; f++) {
      int n = lws_hdr_fragment_length(wsi, (enum lws_token_indexes)t, f);
      if (n <= 0) break;
      if (n >= tl->token_limit[t]) return is_uri_token(t) ? 414 : 431;
    }
  }
  return 0;
}

int sig_http_refuse(struct lws *wsi, unsigned status) {
  const char *why = status == 414 ? "request line too long" : "request header fields too large";
  char peer[64];
  sig_http_peer_ip(wsi, peer, sizeof peer);
  g_message("HTTP %u to %s: %s", status, peer, why);
  lws_return_http_status(wsi, status, why);
  return 1; /* lws closes once the answer is written */
}

void sig_http_peer_ip(struct lws *wsi, char *out, size_t outlen) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  g_strlcpy(out, "?", outlen);
  struct lws *nwsi = lws_get_network_wsi(wsi);
  int fd = lws_get_socket_fd(nwsi ? nwsi : wsi);
  if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) return;
  char buf[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a))
      inet_ntop(AF_INET, a->s6_addr + 12, buf, sizeof buf);
    else
      inet_ntop(AF_INET6, a, buf, sizeof buf);
  } else {
    return;
  }
  g_strlcpy(out, buf, outlen);
}

/* ---- the API ---- */

static method get_method(struct lws *wsi, char *uri, size_t urilen, bool *h2) {
  char *u = NULL;
  int ulen = 0, m = lws_http_get_uri_and_method(wsi, &u, &ulen);
  snprintf(uri, urilen, "%.*s", u && ulen > 0 ? ulen : 0, u ? u : "");
  *h2 = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COLON_PATH) > 0;
  if (m == LWSHUMETH_COLON_PATH) { /* the method only as a pseudo-header */
    char mm[16] = "";
    lws_hdr_copy(wsi, mm, sizeof mm, WSI_TOKEN_HTTP_COLON_METHOD);
    return !strcmp(mm, "GET") ? M_GET : !strcmp(mm, "HEAD") ? M_HEAD : !strcmp(mm, "POST") ? M_POST : M_OTHER;
  }
  return m == LWSHUMETH_GET ? M_GET : m == LWSHUMETH_HEAD ? M_HEAD : m == LWSHUMETH_POST ? M_POST : M_OTHER;
}

/* /healthz and /metrics are read-only; /admin has GET and POST requests. */
static const char *allowed(const char *uri, method m) {
  bool admin = g_str_has_prefix(uri, "/admin");
  if (m == M_GET || m == M_HEAD || (m == M_POST && admin)) return NULL;
  return admin ? "GET, HEAD, POST" : "GET, HEAD";
}

/* -1: none or unparsable (lws then expects a body up to 100 MB for
 * POST/PUT/PATCH); else the value. */
static long long content_length(struct lws *wsi) {
  char s[24] = "";
  if (lws_hdr_copy(wsi, s, sizeof s, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  return errno || *end || end == s || v < 0 ? -1 : v;
}

/* HTTP/1: the whole answer is written now (lws buffers what the socket
 * does not take), so nothing of this request is left when lws goes on to a
 * pipelined one. HTTP/2: headers now, body when the stream is writable.
 * close_after: no content-length and "connection: close". */
static int send_answer(struct lws *wsi, http_pss *h, unsigned status, const char *ctype, char *body,
                       const char *allow, bool close_after) {
  size_t n = body ? strlen(body) : 0, cap = LWS_PRE + RESPONSE_HEADERS + n;
  unsigned char *buf = malloc(cap);
  if (!buf) {
    free(body);
    return -1;
  }
  unsigned char *start = buf + LWS_PRE, *p = start, *end = start + RESPONSE_HEADERS - 1;
  lws_filepos_t clen = close_after ? LWS_ILLEGAL_HTTP_CONTENT_LEN : (lws_filepos_t)n;
  h->answered = true;
  int rc = -1;
  if (lws_add_http_common_headers(wsi, status, ctype, clen, &p, end) ||
      (allow && lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                            (const unsigned char *)allow, (int)strlen(allow), &p, end)))
    goto out;
  if (h->h2) { /* headers in their own frame; the body follows when writable */
    if (lws_finalize_write_http_header(wsi, start, &p, end)) goto out;
    memmove(buf + LWS_PRE, body ? body : "", n);
    h->buf = buf;
    buf = NULL;
    h->len = n;
    lws_callback_on_writable(wsi);
    rc = 0;
    goto out;
  }
  if (lws_finalize_http_header(wsi, &p, end)) goto out;
  if (!h->head && n) memcpy(p, body, n), p += n;
  h->sent = true;
  int len = (int)(p - start);
  if (lws_write(wsi, start, (size_t)len, LWS_WRITE_HTTP) != len) goto out;
  rc = close_after ? -1 : lws_http_transaction_completed(wsi) ? -1 : 0;
out:
  free(buf);
  free(body);
  return rc;
}

static char *text(const char *s) {
  return strdup(s);
}

static int answer(sig_ws *ws, struct lws *wsi, http_pss *h, bool close_after) {
  char uri[MAX_URI + 16], auth[512] = "";
  method m = get_method(wsi, uri, sizeof uri, &h->h2);
  h->head = m == M_HEAD;
  const char *allow = allowed(uri, m);
  if (allow) return send_answer(wsi, h, 405, "text/plain", text("method not allowed\n"), allow, close_after);
  lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
  int status = 404;
  const char *ctype = "text/plain";
  char *body = ws->cfg.on_http
                   ? ws->cfg.on_http(ws->http_ud, m == M_POST ? "POST" : "GET", uri, auth, &status, &ctype)
                   : NULL;
  if (!body) {
    status = 404;
    ctype = "text/plain";
    body = text("not found\n");
  }
  return send_answer(wsi, h, (unsigned)status, ctype, body, NULL, close_after);
}

static int on_request(sig_ws *ws, struct lws *wsi, http_pss *h) {
  free(h->buf);
  memset(h, 0, sizeof *h);
  char uri[MAX_URI + 16];
  method m = get_method(wsi, uri, sizeof uri, &h->h2);
  long long clen = content_length(wsi);
  if (clen > MAX_BODY)
    return send_answer(wsi, h, 413, "text/plain", text("request body too large\n"), NULL, true);
  /* A body (any method): answer once lws has read it (and close after, see
   * BODY_COMPLETION). POST, PUT and PATCH without a length make lws expect
   * up to 100 MB: answer now and close after. */
  if (clen > 0) return 0; /* BODY_COMPLETION answers */
  bool body_unknown = clen < 0 && (m == M_POST || lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) ||
                                   lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI));
  return answer(ws, wsi, h, body_unknown);
}

/* HTTP/2 only: the body of an answered stream. */
static int on_writeable(struct lws *wsi, http_pss *h) {
  if (!h->answered || h->sent || !h->buf) return 0;
  h->sent = true;
  int w = lws_write(wsi, h->buf + LWS_PRE, h->head ? 0 : h->len, LWS_WRITE_HTTP_FINAL);
  free(h->buf);
  h->buf = NULL;
  if (w < 0 || (!h->head && (size_t)w != h->len)) return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int sig_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  sig_ws *ws = lws_context_user(lws_get_context(wsi));
  http_pss *h = user;
  switch (reason) {
  case LWS_CALLBACK_HTTP:
    return on_request(ws, wsi, h) ? -1 : 0;
  case LWS_CALLBACK_HTTP_BODY:
    return 0; /* ignored; counted against MAX_BODY by lws's content-length */
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    /* HTTP/1: close after answering a request that had a body. lws 4.1
     * spins when a transaction ends here while a pipelined request waits in
     * its buffer (its loop over buffered input consumes nothing more). */
    return h->answered ? 0 : (answer(ws, wsi, h, !h->h2) ? -1 : 0);
  case LWS_CALLBACK_HTTP_WRITEABLE:
    return on_writeable(wsi, h);
  case LWS_CALLBACK_CLOSED_HTTP:
  case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    if (h) {
      free(h->buf);
      h->buf = NULL;
    }
    return 0;
  default:
    return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}
