/* sig_sdp_parse: SDP text -> sig_sdp. Every field is bounds-checked; any
 * value that does not fit its array is an error naming the line. */
#include "sig_sdp.h"
#include "sig_sdp_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SDP_LINE_MAX 4096

typedef struct {
  char ice_ufrag[64], ice_pwd[128];
  char fp_alg[16], fingerprint[128];
  char setup[16];
  sig_sdp_dir dir;
  bool dir_set;
} sess_attrs;

typedef struct {
  sig_sdp *out;
  sig_sdp_media *m; /* current section, NULL at session level */
  bool dir_set[SIG_SDP_MAX_MEDIA];
  bool msid_set[SIG_SDP_MAX_MEDIA];
  bool bundle_seen, v_seen;
  sess_attrs sess;
  unsigned line;
  char *err;
  size_t errlen;
} parser;

sig_sdp *sig_sdp_new(void) {
  return calloc(1, sizeof(sig_sdp));
}

bool sig_sdp_is_token_char(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d || c == 0x2e ||
         (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x5e && c <= 0x7e);
}

bool sig_sdp_is_token(const char *s, size_t cap) {
  size_t n = 0;
  if (!s || !*s) return false;
  for (; s[n]; n++)
    if (n + 1 >= cap || !sig_sdp_is_token_char((unsigned char)s[n])) return false;
  return true;
}

__attribute__((format(printf, 2, 3))) static int fail(parser *p, const char *fmt, ...) {
  char msg[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (p->err && p->errlen) snprintf(p->err, p->errlen, "line %u: %s", p->line, msg);
  return -EINVAL;
}

/* Next space-separated word of *s (NUL-terminated in place), NULL if none. */
static char *next_word(char **s) {
  char *w = *s;
  while (*w == ' ')
    w++;
  if (!*w) return NULL;
  char *e = w;
  while (*e && *e != ' ')
    e++;
  if (*e) *e++ = '\0';
  *s = e;
  return w;
}

static char *rest(char *s) {
  while (*s == ' ')
    s++;
  return s;
}

/* Strict decimal, at most max. */
static bool parse_u32(const char *s, uint32_t max, uint32_t *out) {
  uint64_t v = 0;
  if (!s || !*s) return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > max) return false;
  }
  *out = (uint32_t)v;
  return true;
}

/* Copies a non-empty value into dst[cap] or fails naming it. */
static int copy_val(parser *p, char *dst, size_t cap, const char *src, const char *what) {
  size_t n = src ? strlen(src) : 0;
  if (n == 0) return fail(p, "empty %s", what);
  if (n >= cap) return fail(p, "%s too long (max %zu)", what, cap - 1);
  memcpy(dst, src, n + 1);
  return 0;
}

static int copy_word(parser *p, char *dst, size_t cap, const char *src, const char *what) {
  if (src && strchr(src, ' ')) return fail(p, "bad %s", what);
  return copy_val(p, dst, cap, src, what);
}

static sig_sdp_codec *find_codec(sig_sdp_media *m, uint32_t pt) {
  for (unsigned i = 0; i < m->ncodecs; i++)
    if (m->codecs[i].pt == pt) return &m->codecs[i];
  return NULL;
}

/* Names of the static payload types browsers still list. */
static void static_codec(sig_sdp_codec *c) {
  static const struct {
    uint8_t pt;
    const char *name;
  } tab[] = {{0, "PCMU"}, {8, "PCMA"}, {9, "G722"}, {13, "CN"}};
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (tab[i].pt == c->pt) {
      snprintf(c->name, sizeof c->name, "%s", tab[i].name);
      c->clock = 8000;
    }
}

/* ---- m= line ---- */

static bool is_proto(const char *s, size_t cap) {
  size_t n = 0;
  if (!*s) return false;
  for (; s[n]; n++)
    if (n + 1 >= cap || (s[n] != '/' && !sig_sdp_is_token_char((unsigned char)s[n]))) return false;
  return true;
}

static int on_fmt(parser *p, sig_sdp_media *m, const char *fmt, bool rtp) {
  uint32_t pt;
  if (!rtp) return sig_sdp_is_token(fmt, 64) ? 0 : fail(p, "bad format in m= line");
  if (!parse_u32(fmt, 0xffffffffu, &pt)) return fail(p, "bad payload type in m= line");
  if (pt > 127) return fail(p, "payload type %u out of range (> 127)", pt);
  if (find_codec(m, pt)) return fail(p, "duplicate payload type %u", pt);
  if (m->ncodecs >= SIG_SDP_MAX_CODECS) return fail(p, "too many codecs (max %d)", SIG_SDP_MAX_CODECS);
  sig_sdp_codec *c = &m->codecs[m->ncodecs++];
  c->pt = (uint8_t)pt;
  static_codec(c);
  return 0;
}

static int on_media_line(parser *p, char *v) {
  sig_sdp *out = p->out;
  if (out->nmedia >= SIG_SDP_MAX_MEDIA) return fail(p, "too many m= sections (max %d)", SIG_SDP_MAX_MEDIA);
  sig_sdp_media *m = &out->media[out->nmedia++];
  p->m = m;
  char *kind = next_word(&v), *port = next_word(&v), *proto = next_word(&v);
  if (!kind || !port || !proto) return fail(p, "bad m= line");
  if (!sig_sdp_is_token(kind, sizeof m->kind)) return fail(p, "bad m= media kind");
  strcpy(m->kind, kind);
  char *slash = strchr(port, '/');
  uint32_t u;
  if (slash) {
    *slash = '\0';
    if (!parse_u32(slash + 1, 65535, &u)) return fail(p, "bad m= port count");
  }
  if (!parse_u32(port, 65535, &u)) return fail(p, "bad m= port");
  m->port = (uint16_t)u;
  if (!is_proto(proto, sizeof m->proto)) return fail(p, "bad m= protocol");
  strcpy(m->proto, proto);
  bool rtp = strstr(proto, "RTP/") != NULL;
  char *fmt = next_word(&v);
  if (!fmt) return fail(p, "m= line has no formats");
  for (; fmt; fmt = next_word(&v))
    if (on_fmt(p, m, fmt, rtp)) return -EINVAL;
  return 0;
}

/* ---- attributes ---- */

static int on_rtpmap(parser *p, char *v) {
  char *pts = next_word(&v), *enc = next_word(&v);
  uint32_t pt, clock, ch = 0;
  if (!pts || !enc || !parse_u32(pts, 0xffffffffu, &pt)) return fail(p, "bad rtpmap");
  if (pt > 127) return fail(p, "bad rtpmap: payload type %u > 127", pt);
  char *name = enc, *clk = strchr(enc, '/');
  if (!clk) return fail(p, "bad rtpmap: no clock rate");
  *clk++ = '\0';
  char *chs = strchr(clk, '/');
  if (chs) *chs++ = '\0';
  if (!sig_sdp_is_token(name, sizeof p->m->codecs[0].name)) return fail(p, "bad rtpmap encoding name");
  if (!parse_u32(clk, 0xffffffffu, &clock) || clock == 0) return fail(p, "bad rtpmap clock rate");
  if (chs && (!parse_u32(chs, 255, &ch) || ch == 0)) return fail(p, "bad rtpmap channels");
  sig_sdp_codec *c = find_codec(p->m, pt);
  if (!c) return 0; /* not in the m= line: ignored */
  strcpy(c->name, name);
  c->clock = clock;
  c->channels = (uint8_t)ch;
  return 0;
}

static int on_fmtp(parser *p, char *v) {
  char *pts = next_word(&v);
  uint32_t pt;
  if (!pts || !parse_u32(pts, 127, &pt)) return fail(p, "bad fmtp");
  char *params = rest(v);
  sig_sdp_codec *c = find_codec(p->m, pt);
  if (strlen(params) >= sizeof c->fmtp) return fail(p, "fmtp too long (max %zu)", sizeof c->fmtp - 1);
  if (c) strcpy(c->fmtp, params);
  return 0;
}

static int add_fb(parser *p, sig_sdp_codec *c, const char *fb) {
  for (unsigned i = 0; i < c->nfb; i++)
    if (!strcmp(c->fb[i], fb)) return 0;
  if (c->nfb >= SIG_SDP_MAX_FB) return fail(p, "too many rtcp-fb for payload type %u", c->pt);
  strcpy(c->fb[c->nfb++], fb);
  return 0;
}

static int on_rtcp_fb(parser *p, char *v) {
  char *pts = next_word(&v), *fb = rest(v);
  uint32_t pt = 0;
  bool all = pts && !strcmp(pts, "*");
  if (!pts || !*fb || (!all && !parse_u32(pts, 127, &pt))) return fail(p, "bad rtcp-fb");
  if (strlen(fb) >= sizeof p->m->codecs[0].fb[0]) return fail(p, "rtcp-fb value too long");
  for (unsigned i = 0; i < p->m->ncodecs; i++) {
    sig_sdp_codec *c = &p->m->codecs[i];
    if ((all || c->pt == pt) && add_fb(p, c, fb)) return -EINVAL;
  }
  return 0;
}

static int on_extmap(parser *p, char *v) {
  sig_sdp_media *m = p->m;
  char *ids = next_word(&v), *uri = next_word(&v);
  uint32_t id;
  if (!ids || !uri) return fail(p, "bad extmap");
  char *dir = strchr(ids, '/');
  if (dir) {
    *dir++ = '\0';
    if (strcmp(dir, "sendrecv") && strcmp(dir, "sendonly") && strcmp(dir, "recvonly") &&
        strcmp(dir, "inactive"))
      return fail(p, "bad extmap direction");
  }
  if (!parse_u32(ids, 255, &id) || id == 0) return fail(p, "bad extmap id");
  if (strlen(uri) >= sizeof m->exts[0].uri) return fail(p, "extmap URI too long");
  for (unsigned i = 0; i < m->nexts; i++)
    if (m->exts[i].id == id) return fail(p, "duplicate extmap id %u", id);
  if (m->nexts >= SIG_SDP_MAX_EXT) return fail(p, "too many extmaps (max %d)", SIG_SDP_MAX_EXT);
  m->exts[m->nexts].id = (uint8_t)id;
  strcpy(m->exts[m->nexts++].uri, uri);
  return 0;
}

static int set_msid(parser *p, char *v) {
  sig_sdp_media *m = p->m;
  char *stream = next_word(&v), *track = next_word(&v);
  if (!stream) return fail(p, "bad msid");
  if (copy_val(p, m->msid_stream, sizeof m->msid_stream, stream, "msid stream id")) return -EINVAL;
  m->msid_track[0] = '\0';
  if (track && copy_val(p, m->msid_track, sizeof m->msid_track, track, "msid track id")) return -EINVAL;
  return 0;
}

static int on_msid(parser *p, char *v) {
  p->msid_set[p->m - p->out->media] = true;
  return set_msid(p, v);
}

static int on_ssrc(parser *p, char *v) {
  sig_sdp_media *m = p->m;
  char *ids = next_word(&v), *attr = rest(v);
  uint32_t ssrc;
  if (!ids || !parse_u32(ids, 0xffffffffu, &ssrc)) return fail(p, "bad ssrc");
  unsigned i = 0;
  while (i < m->nssrc && m->ssrcs[i] != ssrc)
    i++;
  if (i == m->nssrc) {
    if (m->nssrc >= SIG_SDP_MAX_SSRC) return fail(p, "too many ssrcs (max %d)", SIG_SDP_MAX_SSRC);
    m->ssrcs[m->nssrc++] = ssrc;
  }
  if (!strncmp(attr, "cname:", 6)) {
    char tmp[sizeof m->cname];
    if (copy_word(p, tmp, sizeof tmp, attr + 6, "cname")) return -EINVAL;
    if (!m->cname[0]) strcpy(m->cname, tmp);
  } else if (!strncmp(attr, "msid:", 5)) {
    /* a=ssrc:.. msid: only fills in for a missing a=msid; the first wins */
    char stream[sizeof m->msid_stream], track[sizeof m->msid_track];
    bool keep = p->msid_set[m - p->out->media] || m->msid_stream[0];
    memcpy(stream, m->msid_stream, sizeof stream);
    memcpy(track, m->msid_track, sizeof track);
    if (set_msid(p, attr + 5)) return -EINVAL;
    if (keep) {
      memcpy(m->msid_stream, stream, sizeof stream);
      memcpy(m->msid_track, track, sizeof track);
    }
  }
  return 0;
}

static int on_ssrc_group(parser *p, char *v) {
  char *sem = next_word(&v);
  if (!sem) return fail(p, "bad ssrc-group");
  if (strcmp(sem, "FID")) return 0;
  char *a = next_word(&v), *b = next_word(&v);
  uint32_t pri, rtx;
  if (!a || !b || !parse_u32(a, 0xffffffffu, &pri) || !parse_u32(b, 0xffffffffu, &rtx))
    return fail(p, "bad ssrc-group:FID");
  if (!p->m->fid_primary) {
    p->m->fid_primary = pri;
    p->m->fid_rtx = rtx;
  }
  return 0;
}

static int on_mid(parser *p, char *v) {
  sig_sdp_media *m = p->m;
  if (!v || !*v) return fail(p, "empty mid");
  if (strlen(v) >= sizeof m->mid) return fail(p, "mid too long (max %zu)", sizeof m->mid - 1);
  if (!sig_sdp_is_token(v, sizeof m->mid)) return fail(p, "bad mid");
  for (sig_sdp_media *o = p->out->media; o < m; o++)
    if (!strcmp(o->mid, v)) return fail(p, "duplicate mid '%s'", v);
  strcpy(m->mid, v);
  return 0;
}

/* foundation component transport priority address port typ type ...: the
 * port (field 6) must be 0..65535 (0 and 9 are what TCP active candidates
 * carry). A larger one would be truncated further down (70000 -> 4464). */
static bool candidate_port_ok(const char *v) {
  const char *f = v;
  for (int field = 0; field < 5; field++) {
    f = strchr(f, ' ');
    if (!f) return true; /* too short to tell: the transport judges it */
    while (*f == ' ')
      f++;
  }
  unsigned long port = 0;
  const char *d = f;
  while (isdigit((unsigned char)*f) && port <= 65535)
    port = port * 10 + (unsigned long)(*f++ - '0');
  return f > d && port <= 65535 && (*f == ' ' || *f == '\0');
}

static bool rid_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 15) return false; /* one-byte RTP header extension: at most 16 bytes */
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_') return false;
  return true;
}

/* a=rid:<id> <send|recv> [restrictions]: only our direction (send) counts. */
static int on_rid(parser *p, char *v) {
  sig_sdp_media *m = p->m;
  char *id = next_word(&v), *dir = next_word(&v);
  if (!id || !dir || !rid_ok(id) || (strcmp(dir, "send") && strcmp(dir, "recv"))) return fail(p, "bad rid");
  if (strcmp(dir, "send")) return 0;
  for (unsigned i = 0; i < m->nrids; i++)
    if (!strcmp(m->rids[i], id)) return fail(p, "duplicate rid '%s'", id);
  if (m->nrids >= SIG_SDP_MAX_RID) return fail(p, "too many rids (max %d)", SIG_SDP_MAX_RID);
  strcpy(m->rids[m->nrids++], id);
  return 0;
}

/* a=simulcast:send q;h;f [recv ...] (alternatives after "," are ignored;
 * "~" marks a paused layer). */
static int on_simulcast(parser *p, char *v) {
  sig_sdp_media *m = p->m;
  for (char *dir = next_word(&v); dir; dir = next_word(&v)) {
    char *list = next_word(&v);
    if (!list || (strcmp(dir, "send") && strcmp(dir, "recv"))) return fail(p, "bad simulcast");
    if (strcmp(dir, "send")) continue;
    m->nsim = 0;
    for (char *save = NULL, *l = strtok_r(list, ";", &save); l; l = strtok_r(NULL, ";", &save)) {
      char *comma = strchr(l, ',');
      if (comma) *comma = 0;
      bool paused = *l == '~';
      if (paused) l++;
      if (!rid_ok(l)) return fail(p, "bad simulcast rid");
      for (unsigned i = 0; i < m->nsim; i++)
        if (!strcmp(m->sim[i], l)) return fail(p, "rid '%s' twice in simulcast", l);
      if (m->nsim >= SIG_SDP_MAX_RID) return fail(p, "too many simulcast layers (max %d)", SIG_SDP_MAX_RID);
      m->sim_paused[m->nsim] = paused;
      strcpy(m->sim[m->nsim++], l);
    }
  }
  return 0;
}

static int on_candidate(parser *p, char *v) {
  sig_sdp_media *m = p->m;
  if (!v || !*v) return fail(p, "empty candidate");
  if (strlen(v) + 10 >= sizeof m->cand[0]) return fail(p, "candidate too long");
  if (!candidate_port_ok(v)) return fail(p, "candidate port out of range (0-65535)");
  if (m->ncand >= SIG_SDP_MAX_CAND) return fail(p, "too many candidates (max %d)", SIG_SDP_MAX_CAND);
  snprintf(m->cand[m->ncand++], sizeof m->cand[0], "candidate:%s", v);
  return 0;
}

static bool is_hex_fp(const char *s) {
  for (; *s; s++)
    if (!isxdigit((unsigned char)*s) && *s != ':') return false;
  return true;
}

/* Keeps one fingerprint; a sha-256 one wins over any other algorithm. A
 * non-sha-256 value too long for the array is kept as its algorithm only,
 * so the answer can reject it by name. */
static int on_fingerprint(parser *p, char *v, char *alg_out, char *fp_out) {
  char *alg = next_word(&v), *fp = next_word(&v);
  char alg_lc[16];
  if (!alg || !fp) return fail(p, "bad fingerprint");
  if (copy_word(p, alg_lc, sizeof alg_lc, alg, "fingerprint algorithm")) return -EINVAL;
  for (char *c = alg_lc; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  if (!is_hex_fp(fp)) return fail(p, "bad fingerprint value");
  bool sha256 = !strcmp(alg_lc, "sha-256");
  if (!strcmp(alg_out, "sha-256") && !sha256) return 0;
  if (strlen(fp) >= sizeof p->sess.fingerprint) {
    if (sha256) return fail(p, "fingerprint too long");
    fp = "";
  }
  strcpy(alg_out, alg_lc);
  strcpy(fp_out, fp);
  return 0;
}

static int on_transport_attr(parser *p, const char *name, char *v) {
  sig_sdp_media *m = p->m;
  char *ufrag = m ? m->ice_ufrag : p->sess.ice_ufrag, *pwd = m ? m->ice_pwd : p->sess.ice_pwd;
  char *alg = m ? m->fp_alg : p->sess.fp_alg, *fp = m ? m->fingerprint : p->sess.fingerprint;
  char *setup = m ? m->setup : p->sess.setup;
  if (!strcmp(name, "ice-ufrag")) return copy_word(p, ufrag, sizeof p->sess.ice_ufrag, v, "ice-ufrag");
  if (!strcmp(name, "ice-pwd")) return copy_word(p, pwd, sizeof p->sess.ice_pwd, v, "ice-pwd");
  if (!strcmp(name, "setup")) {
    if (v && *v && !sig_sdp_is_token(v, 64)) return fail(p, "bad setup");
    return copy_val(p, setup, sizeof p->sess.setup, v, "setup");
  }
  return v ? on_fingerprint(p, v, alg, fp) : fail(p, "bad fingerprint");
}

static int on_group(parser *p, char *v) {
  sig_sdp *out = p->out;
  char *sem = next_word(&v);
  if (!sem || strcmp(sem, "BUNDLE") || p->bundle_seen) return 0; /* only the first BUNDLE group */
  p->bundle_seen = true;
  for (char *mid = next_word(&v); mid; mid = next_word(&v)) {
    if (!sig_sdp_is_token(mid, sizeof out->bundle[0])) return fail(p, "bad BUNDLE mid");
    if (out->nbundle >= SIG_SDP_MAX_MEDIA) return fail(p, "too many BUNDLE mids (max %d)", SIG_SDP_MAX_MEDIA);
    strcpy(out->bundle[out->nbundle++], mid);
  }
  return 0;
}

static int on_direction(parser *p, sig_sdp_dir d) {
  if (p->m) {
    p->m->dir = d;
    p->dir_set[p->m - p->out->media] = true;
  } else {
    p->sess.dir = d;
    p->sess.dir_set = true;
  }
  return 0;
}

/* a=sctp-port:5000, a=max-message-size:262144 (RFC 8841). */
static int on_sctp_port(parser *p, char *v) {
  uint32_t u;
  if (!parse_u32(v, 65535, &u) || u == 0) return fail(p, "bad sctp-port");
  p->m->sctp_port = (uint16_t)u;
  return 0;
}

static int on_max_message_size(parser *p, char *v) {
  uint32_t u;
  if (!parse_u32(v, 0xffffffffu, &u)) return fail(p, "bad max-message-size");
  p->m->max_message_size = u;
  p->m->has_max_message_size = true;
  return 0;
}

typedef int (*attr_fn)(parser *, char *);

static const struct {
  const char *name;
  attr_fn fn;
  bool needs_value;
} media_attrs[] = {
    {"rtpmap", on_rtpmap, true},
    {"fmtp", on_fmtp, true},
    {"rtcp-fb", on_rtcp_fb, true},
    {"extmap", on_extmap, true},
    {"ssrc", on_ssrc, true},
    {"ssrc-group", on_ssrc_group, true},
    {"msid", on_msid, true},
    {"mid", on_mid, true},
    {"candidate", on_candidate, true},
    {"rid", on_rid, true},
    {"simulcast", on_simulcast, true},
    {"sctp-port", on_sctp_port, true},
    {"max-message-size", on_max_message_size, true},
};

static int on_attribute(parser *p, char *a) {
  char *v = strchr(a, ':');
  if (v) *v++ = '\0';
  static const char *const dirs[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
  for (int d = 0; d < 4; d++)
    if (!strcmp(a, dirs[d])) return on_direction(p, (sig_sdp_dir)d);
  if (!strcmp(a, "ice-ufrag") || !strcmp(a, "ice-pwd") || !strcmp(a, "fingerprint") || !strcmp(a, "setup"))
    return on_transport_attr(p, a, v);
  if (!p->m) return !strcmp(a, "group") && v ? on_group(p, v) : 0;
  if (!strcmp(a, "rtcp-mux")) p->m->rtcp_mux = true;
  if (!strcmp(a, "rtcp-rsize")) p->m->rtcp_rsize = true;
  if (!strcmp(a, "bundle-only")) p->m->bundle_only = true;
  for (size_t i = 0; i < sizeof media_attrs / sizeof media_attrs[0]; i++) {
    if (strcmp(a, media_attrs[i].name)) continue;
    if (!v) return fail(p, "a=%s without value", a);
    return media_attrs[i].fn(p, v);
  }
  return 0;
}

/* ---- lines ---- */

static int on_line(parser *p, char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) return fail(p, "control character in line");
  }
  if (n < 2 || s[1] != '=' || s[0] < 'a' || s[0] > 'z') return fail(p, "expected <type>=<value>");
  if (!p->v_seen) {
    if (strcmp(s, "v=0")) return fail(p, "expected v=0");
    p->v_seen = true;
    return 0;
  }
  switch (s[0]) {
  case 'v':
    return fail(p, "unexpected v= line");
  case 'm':
    return on_media_line(p, s + 2);
  case 'a':
    return on_attribute(p, s + 2);
  default:
    return 0; /* o= s= t= c= b= ... carry nothing we use */
  }
}

static void inherit_session(parser *p) {
  for (unsigned i = 0; i < p->out->nmedia; i++) {
    sig_sdp_media *m = &p->out->media[i];
    if (!m->ice_ufrag[0]) strcpy(m->ice_ufrag, p->sess.ice_ufrag);
    if (!m->ice_pwd[0]) strcpy(m->ice_pwd, p->sess.ice_pwd);
    if (!m->fp_alg[0]) {
      strcpy(m->fp_alg, p->sess.fp_alg);
      strcpy(m->fingerprint, p->sess.fingerprint);
    }
    if (!m->setup[0]) strcpy(m->setup, p->sess.setup);
    if (!p->dir_set[i] && p->sess.dir_set) m->dir = p->sess.dir;
  }
}

/* RFC 8839 5.4: ice-ufrag is 4 to 256 ice-chars, ice-pwd 22 to 256;
 * ice-char = ALPHA / DIGIT / "+" / "/". Checked where present (a missing
 * one is the answer writer's or the app's error to give). */
static const char *ice_cred_problem(const char *v, size_t min) {
  size_t n = strlen(v);
  if (!n) return NULL;
  if (n < min) return "too short";
  if (n > 256) return "too long";
  for (const char *c = v; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '+' && *c != '/')
      return "not made of ice-chars (A-Z a-z 0-9 + /)";
  return NULL;
}

static int check_ice_credentials(const sig_sdp *out, char *err, size_t errlen) {
  for (unsigned i = 0; i < out->nmedia; i++) {
    const sig_sdp_media *m = &out->media[i];
    const char *u = ice_cred_problem(m->ice_ufrag, 4), *w = ice_cred_problem(m->ice_pwd, 22);
    if (u || w) {
      if (err && errlen)
        snprintf(err, errlen, "m-section %u: ice-%s %s (RFC 8839: ufrag 4-256, pwd 22-256 characters)", i,
                 u ? "ufrag" : "pwd", u ? u : w);
      return -EINVAL;
    }
  }
  return 0;
}

int sig_sdp_check_answer_mids(const sig_sdp *answer, const char *const *offer_mids, size_t n, char *err,
                              size_t errlen) {
  if (answer->nmedia != n) {
    if (err && errlen)
      snprintf(err, errlen, "the answer has %u m-sections, the offer %zu", answer->nmedia, n);
    return -EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    const char *got = answer->media[i].mid, *want = offer_mids[i] ? offer_mids[i] : "";
    if (strcmp(got, want) != 0) {
      bool known = false;
      for (size_t j = 0; j < n && !known; j++)
        known = offer_mids[j] && !strcmp(got, offer_mids[j]);
      if (err && errlen)
        snprintf(err, errlen,
                 known ? "m-section %zu: mid '%s' is not this section's in the offer ('%s')"
                       : "m-section %zu: mid '%s' is not in the offer (expected '%s')",
                 i, got, want);
      return -EINVAL;
    }
  }
  return 0;
}

/* Every layer a=simulcast names must have its a=rid line. */
static int check_simulcast(parser *p) {
  for (unsigned i = 0; i < p->out->nmedia; i++) {
    const sig_sdp_media *m = &p->out->media[i];
    for (unsigned k = 0; k < m->nsim; k++) {
      bool found = false;
      for (unsigned r = 0; r < m->nrids && !found; r++)
        found = !strcmp(m->rids[r], m->sim[k]);
      if (!found) {
        if (p->err && p->errlen)
          snprintf(p->err, p->errlen, "section %u: a=simulcast names rid '%s' that has no a=rid line", i,
                   m->sim[k]);
        return -EINVAL;
      }
    }
  }
  return 0;
}

static int parse_error(char *err, size_t errlen, const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg);
  return -EINVAL;
}

int sig_sdp_parse(const char *text, size_t len, sig_sdp *out, char *err, size_t errlen) {
  if (!out) return parse_error(err, errlen, "no output");
  memset(out, 0, sizeof *out);
  if (!text || len == 0) return parse_error(err, errlen, "empty SDP");
  parser *p = calloc(1, sizeof *p);
  if (!p) return parse_error(err, errlen, "out of memory");
  char *buf = malloc(SDP_LINE_MAX + 1);
  if (!buf) {
    free(p);
    return parse_error(err, errlen, "out of memory");
  }
  p->out = out;
  p->err = err;
  p->errlen = errlen;
  int rc = 0;
  size_t pos = 0;
  while (pos < len && rc == 0) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
    p->line++;
    if (n && text[pos + n - 1] == '\r') n--;
    if (n > SDP_LINE_MAX) {
      rc = fail(p, "line too long (max %d)", SDP_LINE_MAX);
    } else if (n > 0) { /* blank lines (a trailing CRLF) are skipped */
      memcpy(buf, text + pos, n);
      buf[n] = '\0';
      rc = on_line(p, buf, n);
    }
    pos = end + 1;
  }
  if (rc == 0 && !p->v_seen) rc = parse_error(err, errlen, "empty SDP");
  if (rc == 0 && out->nmedia == 0) rc = parse_error(err, errlen, "no m= section");
  if (rc == 0) inherit_session(p);
  if (rc == 0) rc = check_ice_credentials(out, err, errlen);
  if (rc == 0) rc = check_simulcast(p);
  if (rc) memset(out, 0, sizeof *out);
  free(buf);
  free(p);
  return rc;
}
