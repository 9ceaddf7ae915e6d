/* srv_token_cli: the `sfu token` subcommand. Main thread. */
#ifndef SRV_TOKEN_CLI_H
#define SRV_TOKEN_CLI_H

/* `sfu [--config FILE] token --room R --identity I [--ttl SECONDS] [--no-publish] [--no-subscribe]`:
 * prints the token on stdout (one line, nothing else) and a join URL hint
 * on stderr. argv[0] is "token". secret is the loaded config's jwt_secret (NULL: error, exit 78).
 * Returns the process exit status (0, 64 usage, 78 no secret). */
int srv_token_cli(int argc, char **argv, const char *secret);

#endif
