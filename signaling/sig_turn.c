/* sig_turn: TURN REST credentials; see sig_turn.h. GLib's HMAC and base64
 * (signaling/ links no OpenSSL). */
#include "sig_turn.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int sig_turn_credentials(const char *secret, const char *user, int64_t now_unix, unsigned ttl_s,
                         char *username, size_t username_len, char *password, size_t password_len) {
  if (username_len) username[0] = '\0';
  if (password_len) password[0] = '\0';
  if (!secret || !*secret || !user || !*user || strchr(user, ':') || now_unix < 0) return -EINVAL;
  int n = snprintf(username, username_len, "%" PRId64 ":%s", now_unix + (int64_t)ttl_s, user);
  if (n < 0 || (size_t)n >= username_len || password_len < SIG_TURN_PASSWORD_LEN) {
    if (username_len) username[0] = '\0';
    return -ENOSPC;
  }
  GHmac *h = g_hmac_new(G_CHECKSUM_SHA1, (const guchar *)secret, strlen(secret));
  g_hmac_update(h, (const guchar *)username, (gssize)n);
  guint8 digest[20];
  gsize dlen = sizeof digest;
  g_hmac_get_digest(h, digest, &dlen);
  g_hmac_unref(h);
  gchar *b64 = g_base64_encode(digest, dlen);
  g_strlcpy(password, b64, password_len);
  g_free(b64);
  return 0;
}
