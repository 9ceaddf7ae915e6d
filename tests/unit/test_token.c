/* test_token: room access tokens (sig_token.h): mint/verify round trip,
 * expiry, tampering, wrong secret, algorithm confusion, missing or bad
 * claims, garbage, permission defaults, and the `sfu token` command line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sig_token.h"
#include "srv_token_cli.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"
#define NOW ((int64_t)1700000000)

/* ---- helpers: hand-made JWTs ---------------------------------------------- */

static char *b64url(const void *data, size_t n) {
  gchar *b = g_base64_encode(data, n);
  for (char *p = b; *p; p++) {
    if (*p == '+') *p = '-';
    if (*p == '/') *p = '_';
  }
  char *eq = strchr(b, '=');
  if (eq) *eq = 0;
  return b;
}

/* header.payload.signature, signed with secret (NULL: sig_text used as is). */
static char *make_jwt(const char *header, const char *payload, const char *secret, const char *sig_text) {
  char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
  char *signing = g_strdup_printf("%s.%s", h, p);
  char *sig;
  if (secret) {
    unsigned char mac[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)signing, strlen(signing), mac,
         &len);
    sig = b64url(mac, len);
  } else {
    sig = g_strdup(sig_text);
  }
  char *t = g_strdup_printf("%s.%s", signing, sig);
  g_free(h);
  g_free(p);
  g_free(signing);
  g_free(sig);
  return t;
}

#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static int verify(const char *token, sig_token_claims *c, char *err, size_t errlen) {
  return sig_token_verify(SECRET, token, NOW, c, err, errlen);
}

/* Verifies a payload signed with SECRET under HS256. */
static int verify_payload(const char *payload, sig_token_claims *c, char *err, size_t errlen) {
  char *t = make_jwt(HS256, payload, SECRET, NULL);
  int rc = verify(t, c, err, errlen);
  g_free(t);
  return rc;
}

static sig_token_claims claims(const char *room, const char *id, bool pub, bool sub, int64_t exp) {
  sig_token_claims c;
  memset(&c, 0, sizeof c);
  g_strlcpy(c.room, room, sizeof c.room);
  g_strlcpy(c.identity, id, sizeof c.identity);
  c.can_publish = pub;
  c.can_subscribe = sub;
  c.exp = exp;
  return c;
}

/* ---- round trip and expiry -------------------------------------------------- */

static void test_round_trip(void **state) {
  (void)state;
  sig_token_claims in = claims("room-1.a_B", "ann \xc3\xa9", true, false, NOW + 60), out;
  char *t = sig_token_mint(SECRET, &in);
  assert_non_null(t);
  assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."), strlen(t));
  char err[128];
  assert_int_equal(verify(t, &out, err, sizeof err), 0);
  assert_string_equal(out.room, "room-1.a_B");
  assert_string_equal(out.identity, "ann \xc3\xa9");
  assert_true(out.can_publish);
  assert_false(out.can_subscribe);
  assert_int_equal(out.exp, NOW + 60);
  free(t);

  in = claims("r", "", false, true, NOW + 1); /* no identity: no "sub" */
  t = sig_token_mint(SECRET, &in);
  assert_non_null(t);
  assert_int_equal(verify(t, &out, err, sizeof err), 0);
  assert_string_equal(out.identity, "");
  assert_false(out.can_publish);
  assert_true(out.can_subscribe);
  free(t);
}

static void test_expired(void **state) {
  (void)state;
  sig_token_claims in = claims("r1", "ann", true, true, NOW), out;
  char *t = sig_token_mint(SECRET, &in);
  char err[128];
  assert_int_equal(sig_token_verify(SECRET, t, NOW, &out, err, sizeof err), -ETIMEDOUT); /* exp == now */
  assert_non_null(strstr(err, "expired"));
  assert_int_equal(sig_token_verify(SECRET, t, NOW + 3600, &out, err, sizeof err), -ETIMEDOUT);
  assert_int_equal(sig_token_verify(SECRET, t, NOW - 1, &out, err, sizeof err), 0);
  free(t);
  /* A non-integer NumericDate is allowed (RFC 7519). */
  assert_int_equal(verify_payload("{\"room\":\"r\",\"exp\":1700000000.5}", &out, err, sizeof err), 0);
  assert_int_equal(out.exp, NOW + 1); /* rounded up: the claims still verify at NOW once minted again */
  char *again = sig_token_mint(SECRET, &out);
  assert_int_equal(verify(again, &out, err, sizeof err), 0);
  assert_int_equal(sig_token_verify(SECRET, again, NOW + 1, &out, err, sizeof err), -ETIMEDOUT);
  free(again);
  assert_int_equal(verify_payload("{\"room\":\"r\",\"exp\":-1.5}", &out, err, sizeof err), -ETIMEDOUT);
  assert_int_equal(verify_payload("{\"room\":\"r\",\"exp\":1699999999.5}", &out, err, sizeof err),
                   -ETIMEDOUT);
  /* nbf in the future */
  assert_int_equal(
      verify_payload("{\"room\":\"r\",\"exp\":1800000000,\"nbf\":1700000100}", &out, err, sizeof err),
      -EINVAL);
}

/* ---- tampering and the wrong key -------------------------------------------- */

static void test_tampered_payload(void **state) {
  (void)state;
  sig_token_claims in = claims("r1", "ann", false, true, NOW + 60), out;
  char *t = sig_token_mint(SECRET, &in);
  char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
  /* Same signature over a payload that grants publishing / names another room. */
  const char *forged[] = {
      "{\"exp\":1700000060,\"pub\":true,\"room\":\"r1\",\"sub\":\"ann\",\"subscribe\":true}",
      "{\"exp\":1700000060,\"pub\":false,\"room\":\"r2\",\"sub\":\"ann\",\"subscribe\":true}"};
  for (size_t i = 0; i < 2; i++) {
    char *p = b64url(forged[i], strlen(forged[i]));
    char *f = g_strdup_printf("%.*s.%s%s", (int)(d1 - t), t, p, d2);
    char err[128] = "";
    assert_int_equal(verify(f, &out, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "signature"));
    assert_string_equal(out.room, ""); /* nothing filled */
    g_free(p);
    g_free(f);
  }
  /* One flipped character anywhere in header or payload. */
  for (char *c = t; c < d2; c++) {
    if (*c == '.') continue;
    char save = *c;
    *c = *c == 'A' ? 'B' : 'A';
    assert_int_equal(verify(t, &out, NULL, 0), -EINVAL);
    *c = save;
  }
  assert_int_equal(verify(t, &out, NULL, 0), 0);
  free(t);
}

static void test_tampered_signature(void **state) {
  (void)state;
  sig_token_claims in = claims("r1", "ann", true, true, NOW + 60), out;
  char *t = sig_token_mint(SECRET, &in);
  char *sig = strrchr(t, '.') + 1;
  size_t n = strlen(sig);
  assert_int_equal(n, 43);
  char err[128];
  for (size_t i = 0; i < n; i++) {
    char save = sig[i];
    sig[i] = save == 'A' ? 'B' : 'A';
    assert_int_equal(verify(t, &out, err, sizeof err), -EINVAL);
    sig[i] = save;
  }
  /* Truncated, extended, padded. */
  char *x = g_strdup_printf("%.*s", (int)strlen(t) - 1, t);
  assert_int_equal(verify(x, &out, err, sizeof err), -EINVAL);
  g_free(x);
  x = g_strdup_printf("%sA", t);
  assert_int_equal(verify(x, &out, err, sizeof err), -EINVAL);
  g_free(x);
  x = g_strdup_printf("%s=", t);
  assert_int_equal(verify(x, &out, err, sizeof err), -EINVAL);
  g_free(x);
  assert_int_equal(verify(t, &out, err, sizeof err), 0);
  free(t);
}

static void test_wrong_secret(void **state) {
  (void)state;
  sig_token_claims in = claims("r1", "ann", true, true, NOW + 60), out;
  char *t = sig_token_mint("another-secret-of-at-least-32-characters", &in);
  char err[128];
  assert_int_equal(verify(t, &out, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "signature"));
  /* A prefix of the right secret is not the secret. */
  assert_int_equal(sig_token_verify("0123456789abcdef", t, NOW, &out, err, sizeof err), -EINVAL);
  assert_int_equal(sig_token_verify(NULL, t, NOW, &out, err, sizeof err), -EINVAL);
  assert_int_equal(sig_token_verify("", t, NOW, &out, err, sizeof err), -EINVAL);
  free(t);
  /* Minting needs a secret too. */
  assert_null(sig_token_mint(NULL, &in));
  assert_null(sig_token_mint("", &in));
}

/* ---- algorithm confusion ---------------------------------------------------- */

static void test_alg(void **state) {
  (void)state;
  const char *pl = "{\"room\":\"r1\",\"sub\":\"ann\",\"exp\":1800000000}";
  const char *bad_headers[] = {
      "{\"alg\":\"none\",\"typ\":\"JWT\"}",
      "{\"alg\":\"None\"}",
      "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
      "{\"alg\":\"HS512\"}",
      "{\"alg\":\"hs256\"}",
      "{\"typ\":\"JWT\"}",
      "{\"alg\":null}",
      "{\"alg\":256}",
      "{\"alg\":\"HS256\",\"typ\":\"JWE\"}",
      "{\"alg\":\"HS256\",\"alg\":\"none\"}",
      "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
      "[\"HS256\"]",
      "\"HS256\"",
      "{}",
  };
  sig_token_claims out;
  char err[128];
  for (size_t i = 0; i < sizeof bad_headers / sizeof *bad_headers; i++) {
    /* Even correctly HMAC-signed with our secret: the header must say HS256. */
    char *t = make_jwt(bad_headers[i], pl, SECRET, NULL);
    assert_int_equal(verify(t, &out, err, sizeof err), -EINVAL);
    g_free(t);
  }
  /* The classic "none" token: empty signature. */
  char *t = make_jwt("{\"alg\":\"none\"}", pl, NULL, "");
  assert_int_equal(verify(t, &out, err, sizeof err), -EINVAL);
  g_free(t);
  t = make_jwt("{\"alg\":\"none\"}", pl, SECRET, NULL);
  assert_int_equal(verify(t, &out, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "none"));
  g_free(t);
  /* The same payload with HS256 is fine (the table above fails for the header alone). */
  t = make_jwt(HS256, pl, SECRET, NULL);
  assert_int_equal(verify(t, &out, err, sizeof err), 0);
  g_free(t);
  t = make_jwt("{\"alg\":\"HS256\"}", pl, SECRET, NULL); /* typ is optional */
  assert_int_equal(verify(t, &out, err, sizeof err), 0);
  g_free(t);
}

/* ---- claims ----------------------------------------------------------------- */

static void test_claims(void **state) {
  (void)state;
  sig_token_claims out;
  char err[128];
  struct {
    const char *payload;
    const char *why; /* substring of the reason */
  } bad[] = {
      {"{\"room\":\"r1\",\"sub\":\"ann\"}", "exp"},
      {"{\"room\":\"r1\",\"exp\":\"1800000000\"}", "exp"},
      {"{\"room\":\"r1\",\"exp\":null}", "exp"},
      {"{\"room\":\"r1\",\"exp\":1e300}", "exp"},
      {"{\"sub\":\"ann\",\"exp\":1800000000}", "room"},
      {"{\"room\":\"\",\"exp\":1800000000}", "room"},
      {"{\"room\":\"a b\",\"exp\":1800000000}", "room"},
      {"{\"room\":\"r/../x\",\"exp\":1800000000}", "room"},
      {"{\"room\":7,\"exp\":1800000000}", "room"},
      {"{\"room\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"exp\":1800000000}",
       "room"},
      {"{\"room\":\"r1\",\"sub\":\"\",\"exp\":1800000000}", "sub"},
      {"{\"room\":\"r1\",\"sub\":42,\"exp\":1800000000}", "sub"},
      {"{\"room\":\"r1\",\"sub\":\"a\\nb\",\"exp\":1800000000}", "sub"},
      {"{\"room\":\"r1\",\"sub\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\","
       "\"exp\":1800000000}",
       "sub"},
      {"{\"room\":\"r1\",\"pub\":\"yes\",\"exp\":1800000000}", "pub"},
      {"{\"room\":\"r1\",\"subscribe\":1,\"exp\":1800000000}", "subscribe"},
      {"{\"room\":\"r1\",\"room\":\"r2\",\"exp\":1800000000}", "payload"},
      {"[\"r1\"]", "payload"},
      {"not json", "payload"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    int rc = verify_payload(bad[i].payload, &out, err, sizeof err);
    if (rc != -EINVAL || !strstr(err, bad[i].why))
      fail_msg("payload %s: rc %d, err \"%s\" (want -EINVAL and \"%s\")", bad[i].payload, rc, err,
               bad[i].why);
  }
  /* 64-character room and identity are the maximum. */
  char room64[65], id64[65];
  memset(room64, 'r', 64);
  room64[64] = 0;
  memset(id64, 'i', 64);
  id64[64] = 0;
  char *pl = g_strdup_printf("{\"room\":\"%s\",\"sub\":\"%s\",\"exp\":1800000000}", room64, id64);
  assert_int_equal(verify_payload(pl, &out, err, sizeof err), 0);
  assert_string_equal(out.room, room64);
  assert_string_equal(out.identity, id64);
  g_free(pl);
  /* Mint refuses what verify would refuse. */
  sig_token_claims in = claims("a b", "ann", true, true, NOW + 60);
  assert_null(sig_token_mint(SECRET, &in));
  in = claims("", "ann", true, true, NOW + 60);
  assert_null(sig_token_mint(SECRET, &in));
  in = claims("r", "a\tb", true, true, NOW + 60);
  assert_null(sig_token_mint(SECRET, &in));
  memset(in.room, 'x', sizeof in.room); /* not terminated */
  assert_null(sig_token_mint(SECRET, &in));
}

static void test_permission_defaults(void **state) {
  (void)state;
  sig_token_claims out;
  char err[128];
  assert_int_equal(verify_payload("{\"room\":\"r1\",\"exp\":1800000000}", &out, err, sizeof err), 0);
  assert_true(out.can_publish);
  assert_true(out.can_subscribe);
  assert_string_equal(out.identity, "");
  assert_int_equal(
      verify_payload("{\"room\":\"r1\",\"exp\":1800000000,\"pub\":false}", &out, err, sizeof err), 0);
  assert_false(out.can_publish);
  assert_true(out.can_subscribe);
  assert_int_equal(verify_payload("{\"room\":\"r1\",\"exp\":1800000000,\"subscribe\":false,\"sub\":null}",
                                  &out, err, sizeof err),
                   0);
  assert_true(out.can_publish);
  assert_false(out.can_subscribe);
  /* Unknown claims are ignored (iat, iss, aud...). */
  assert_int_equal(verify_payload("{\"room\":\"r1\",\"exp\":1800000000,\"iat\":1,\"iss\":\"x\",\"aud\":[1]}",
                                  &out, err, sizeof err),
                   0);
}

/* ---- garbage ---------------------------------------------------------------- */

static void test_garbage(void **state) {
  (void)state;
  sig_token_claims out;
  char err[128];
  char *good = make_jwt(HS256, "{\"room\":\"r1\",\"exp\":1800000000}", SECRET, NULL);
  const char *bad[] = {
      "",
      "abc",
      "a.b",
      "a.b.c.d",
      "..",
      "a..c",
      ".b.c",
      "a.b.",
      "!!!.xx.yy",
      "eyJ.eyJ.abc",
      "eyJhbGciOiJIUzI1NiJ9.e30.\xff\xfe",
      "eyJhbGciOiJIUzI1NiJ9.e30.AAAA AAAA",
      "eyJhbGciOiJIUzI1NiJ9.e30.A",  /* impossible base64 length */
      "eyJhbGciOiJIUzI1NiJ9.e30.AB", /* non-canonical trailing bits */
      "eyJhbGciOiJIUzI1NiJ9=.e30.AAAA",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (verify(bad[i], &out, err, sizeof err) != -EINVAL) fail_msg("accepted \"%s\"", bad[i]);
  }
  assert_int_equal(verify(NULL, &out, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "missing"));
  /* Huge: a valid token with padding claims beyond 4096 characters. */
  GString *big = g_string_new("{\"room\":\"r1\",\"exp\":1800000000,\"x\":\"");
  for (int i = 0; i < 5000; i++)
    g_string_append_c(big, 'x');
  g_string_append(big, "\"}");
  char *t = make_jwt(HS256, big->str, SECRET, NULL);
  assert_int_equal(verify(t, &out, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "long"));
  g_free(t);
  g_string_free(big, TRUE);
  /* 1 MB of dots and letters without a terminator problem. */
  char *huge = g_malloc(1 << 20);
  memset(huge, 'A', (1 << 20) - 1);
  huge[(1 << 20) - 1] = 0;
  huge[100] = huge[200] = '.';
  assert_int_equal(verify(huge, &out, err, sizeof err), -EINVAL);
  g_free(huge);
  /* A header that is base64 of non-JSON / bad UTF-8. */
  t = make_jwt("\xff\xfe{", "{\"room\":\"r1\",\"exp\":1800000000}", SECRET, NULL);
  assert_int_equal(verify(t, &out, err, sizeof err), -EINVAL);
  g_free(t);
  /* err may be NULL or tiny. */
  assert_int_equal(verify("x", &out, NULL, 0), -EINVAL);
  char tiny[4];
  assert_int_equal(verify("x", &out, tiny, sizeof tiny), -EINVAL);
  assert_int_equal(strlen(tiny), 3);
  assert_int_equal(verify(good, NULL, NULL, 0), 0);
  g_free(good);
}

/* ---- the command line ------------------------------------------------------- */

typedef struct {
  int rc;
  char out[8192], err[8192];
} cli_result;

static void read_fd_file(FILE *f, char *buf, size_t cap) {
  fflush(f);
  rewind(f);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = 0;
}

/* Runs sig_token_cli with stdout and stderr captured in temporary files. */
static cli_result run_cli(const char *secret, const char *args) {
  static cli_result r;
  memset(&r, 0, sizeof r);
  char **argv = NULL;
  int argc = 0;
  char *line = g_strdup_printf("token %s", args);
  g_assert(g_shell_parse_argv(line, &argc, &argv, NULL));
  g_free(line);
  FILE *fo = tmpfile(), *fe = tmpfile();
  assert_non_null(fo);
  assert_non_null(fe);
  fflush(stdout);
  fflush(stderr);
  int so = dup(1), se = dup(2);
  dup2(fileno(fo), 1);
  dup2(fileno(fe), 2);
  r.rc = srv_token_cli(argc, argv, secret);
  fflush(stdout);
  fflush(stderr);
  dup2(so, 1);
  dup2(se, 2);
  close(so);
  close(se);
  read_fd_file(fo, r.out, sizeof r.out);
  read_fd_file(fe, r.err, sizeof r.err);
  fclose(fo);
  fclose(fe);
  g_strfreev(argv);
  return r;
}

static void test_cli_usage_errors(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      "--room r1",
      "--identity ann",
      "--room --identity ann",
      "--room r1 --identity",
      "--room 'a b' --identity ann",
      "--room r1 --identity ''",
      "--room r1 --identity ann --ttl",
      "--room r1 --identity ann --ttl abc",
      "--room r1 --identity ann --ttl -5",
      "--room r1 --identity ann --ttl 99999999999999999999999",
      "--room r1 --identity ann --bogus",
      "--room r1 --identity ann extra",
      "--roomy r1 --identity ann",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cli_result r = run_cli(SECRET, bad[i]);
    if (r.rc != 64 || r.out[0] || !strstr(r.err, "usage:"))
      fail_msg("args \"%s\": rc %d, stdout \"%s\", stderr \"%s\"", bad[i], r.rc, r.out, r.err);
  }
  cli_result r = run_cli(NULL, "--room r1 --identity ann");
  assert_int_equal(r.rc, 78);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "jwt_secret"));
  r = run_cli(SECRET, "--help");
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.out, "usage:"));
}

static void test_cli_mint(void **state) {
  (void)state;
  cli_result r = run_cli(SECRET, "--room r1 --identity 'ann b&c'");
  assert_int_equal(r.rc, 0);
  size_t n = strlen(r.out);
  assert_true(n > 20);
  assert_int_equal(r.out[n - 1], '\n');
  assert_null(strchr(r.out, ' '));
  r.out[n - 1] = 0;
  assert_null(strchr(r.out, '\n')); /* exactly one line */
  sig_token_claims c;
  char err[128];
  int64_t now = time(NULL);
  assert_int_equal(sig_token_verify(SECRET, r.out, now, &c, err, sizeof err), 0);
  assert_string_equal(c.room, "r1");
  assert_string_equal(c.identity, "ann b&c");
  assert_true(c.can_publish);
  assert_true(c.can_subscribe);
  assert_true(c.exp >= now + 3590 && c.exp <= now + 3610);
  char *hint = g_strdup_printf("join URL: http://HOST:PORT/?room=r1&name=ann%%20b%%26c&token=%s\n", r.out);
  assert_non_null(strstr(r.err, hint));
  g_free(hint);

  r = run_cli(SECRET, "--room=r2 --identity=bob --ttl=120 --no-publish");
  assert_int_equal(r.rc, 0);
  r.out[strcspn(r.out, "\n")] = 0;
  assert_int_equal(sig_token_verify(SECRET, r.out, now, &c, err, sizeof err), 0);
  assert_string_equal(c.room, "r2");
  assert_false(c.can_publish);
  assert_true(c.can_subscribe);
  assert_true(c.exp >= now + 110 && c.exp <= now + 130);

  r = run_cli(SECRET, "--no-subscribe --identity bob --room r3");
  assert_int_equal(r.rc, 0);
  r.out[strcspn(r.out, "\n")] = 0;
  assert_int_equal(sig_token_verify(SECRET, r.out, now, &c, err, sizeof err), 0);
  assert_true(c.can_publish);
  assert_false(c.can_subscribe);

  r = run_cli(SECRET, "--room r1 --identity ann --ttl 0");
  assert_int_equal(r.rc, 0);
  r.out[strcspn(r.out, "\n")] = 0;
  assert_int_equal(sig_token_verify(SECRET, r.out, time(NULL), &c, err, sizeof err), -ETIMEDOUT);
  /* Signed with this secret only. */
  assert_int_equal(
      sig_token_verify("another-secret-of-at-least-32-characters", r.out, now, &c, err, sizeof err), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_expired),
      cmocka_unit_test(test_tampered_payload), cmocka_unit_test(test_tampered_signature),
      cmocka_unit_test(test_wrong_secret),     cmocka_unit_test(test_alg),
      cmocka_unit_test(test_claims),           cmocka_unit_test(test_permission_defaults),
      cmocka_unit_test(test_garbage),          cmocka_unit_test(test_cli_usage_errors),
      cmocka_unit_test(test_cli_mint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
