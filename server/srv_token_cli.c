/* srv_token_cli: `sfu token ...`, minting a room access token from the
 * command line with the config's jwt_secret. Main thread, before anything
 * starts. */
#include "srv_token_cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sig_proto.h"
#include "sig_token.h"

#define TTL_MAX 315360000LL /* ten years */
#define EX_OK 0
#define EX_USAGE 64
#define EX_CONFIG 78

static void cli_usage(FILE *f) {
  fprintf(f, "usage: sfu [--config FILE] token --room ROOM --identity NAME [--ttl SECONDS] [--no-publish] "
             "[--no-subscribe]\n"
             "  Prints a room access token (JWT HS256 signed with [auth] jwt_secret) on stdout\n"
             "  and a join URL hint on stderr. --ttl defaults to 3600 seconds.\n"
             "  Exit status: 0 ok, 64 bad usage, 78 no jwt_secret in the config.\n");
}

/* "--opt value" or "--opt=value": the value, or NULL (then *missing is set
 * when the option matched without a value). */
static const char *opt_value(const char *name, int argc, char **argv, int *i, bool *matched) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  *matched = false;
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') {
    *matched = true;
    return a + n + 1;
  }
  if (a[n] != 0) return NULL;
  *matched = true;
  if (*i + 1 >= argc) return NULL;
  return argv[++*i];
}

static bool parse_ttl(const char *s, long long *out) {
  if (!s || !*s) return false;
  long long v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    v = v * 10 + (*p - '0');
    if (v > TTL_MAX) return false;
  }
  *out = v;
  return true;
}

static void url_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~')
      fputc(c, f);
    else
      fprintf(f, "%%%02X", c);
  }
}

int srv_token_cli(int argc, char **argv, const char *secret) {
  const char *room = NULL, *identity = NULL, *ttl_s = NULL;
  bool no_pub = false, no_sub = false;
  for (int i = 1; i < argc; i++) {
    bool m;
    const char *v;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      cli_usage(stdout);
      return EX_OK;
    } else if (!strcmp(argv[i], "--no-publish")) {
      no_pub = true;
    } else if (!strcmp(argv[i], "--no-subscribe")) {
      no_sub = true;
    } else if ((v = opt_value("--room", argc, argv, &i, &m)) || m) {
      if (!v) goto missing;
      room = v;
    } else if ((v = opt_value("--identity", argc, argv, &i, &m)) || m) {
      if (!v) goto missing;
      identity = v;
    } else if ((v = opt_value("--ttl", argc, argv, &i, &m)) || m) {
      if (!v) goto missing;
      ttl_s = v;
    } else {
      fprintf(stderr, "sfu token: unknown argument \"%s\"\n", argv[i]);
      cli_usage(stderr);
      return EX_USAGE;
    }
    continue;
  missing:
    fprintf(stderr, "sfu token: %s needs a value\n", argv[i]);
    cli_usage(stderr);
    return EX_USAGE;
  }
  const char *why = NULL;
  long long ttl = 3600;
  if (!room)
    why = "--room is required";
  else if (!sig_proto_room_name_ok(room))
    why = "--room must be 1-64 characters of A-Z a-z 0-9 _ . -";
  else if (!identity)
    why = "--identity is required";
  else if (!sig_proto_display_name_ok(identity))
    why = "--identity must be 1-64 bytes without control characters";
  else if (ttl_s && !parse_ttl(ttl_s, &ttl))
    why = "--ttl must be a whole number of seconds, 0 to 315360000";
  if (why) {
    fprintf(stderr, "sfu token: %s\n", why);
    cli_usage(stderr);
    return EX_USAGE;
  }
  if (!secret || !*secret) {
    fprintf(stderr, "sfu token: no jwt_secret in the config ([auth] jwt_secret; pass --config FILE)\n");
    return EX_CONFIG;
  }
  sig_token_claims c;
  memset(&c, 0, sizeof c);
  snprintf(c.room, sizeof c.room, "%s", room);
  snprintf(c.identity, sizeof c.identity, "%s", identity);
  c.can_publish = !no_pub;
  c.can_subscribe = !no_sub;
  c.exp = (int64_t)time(NULL) + ttl;
  char *tok = sig_token_mint(secret, &c);
  if (!tok) {
    fprintf(stderr, "sfu token: cannot make the token\n");
    return 1;
  }
  printf("%s\n", tok);
  fflush(stdout);
  fprintf(stderr, "join URL: http://HOST:PORT/?room=%s&name=", room);
  url_escape(stderr, identity);
  fprintf(stderr, "&token=%s\n(expires in %lld s; publish %s, subscribe %s)\n", tok, ttl,
          no_pub ? "no" : "yes", no_sub ? "no" : "yes");
  free(tok);
  return EX_OK;
}
