/* sig_turn: short-lived TURN credentials from a secret shared with the TURN
 * server, the scheme of coturn's use-auth-secret / static-auth-secret
 * (the "TURN REST API" draft): username = "<expiry unix time>:<user>",
 * password = base64(HMAC-SHA1(secret, username)). The TURN server checks the
 * password with the same secret and refuses the username once its time has
 * passed; nothing is stored anywhere.
 * Pure: no globals, no logging, no clock (the caller passes the time), so
 * any thread may call it. Depends on GLib only. Buffers are the caller's. */
#ifndef SIG_TURN_H
#define SIG_TURN_H

#include <stddef.h>
#include <stdint.h>

/* HMAC-SHA1 (20 bytes) in base64: 28 characters and the NUL. */
#define SIG_TURN_PASSWORD_LEN 29

/* Fills username ("<now_unix + ttl_s>:<user>") and password. secret and user
 * must be non-empty; user must not contain ':' (coturn splits on it).
 * Returns 0, -EINVAL (bad argument) or -ENOSPC (a buffer is too small;
 * nothing useful is left in it). */
int sig_turn_credentials(const char *secret, const char *user, int64_t now_unix, unsigned ttl_s,
                         char *username, size_t username_len, char *password, size_t password_len);

#endif
