/* test_notify: plays systemd's side of sd_notify(3) for the real server binary.
 *
 * A unix datagram socket in a temporary directory is the server's NOTIFY_SOCKET, as
 * systemd gives a Type=notify service. The test starts SFU_BINARY_DIR/bin/sfu on a free
 * port and checks the messages the unit (conf/sfu.service) relies on:
 *   READY=1 once it listens (the port accepts at once);
 *   WATCHDOG=1 every 500 ms (WatchdogSec=30);
 *   SIGHUP (ExecReload) -> RELOADING=1 then READY=1, with a good file and with a bad
 *     one (the old config stays; the service must still leave "reloading");
 *   SIGTERM -> STOPPING=1, then exit status 0;
 *   a bad config -> exit 78 and never READY=1.
 * Every wait is bounded (poll); the server is killed in teardown whatever happened.
 * In the sanitizer pass this drives the ASan-built server: LeakSanitizer findings in the
 * server make its exit status non-zero and fail the SIGTERM check (the log is printed). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define SFU_BIN SFU_BINARY_DIR "/bin/sfu"
#define SAMPLE SFU_SOURCE_DIR "/conf/sfu.conf"

/* Generous bounds: the sanitizer build starts slower. */
#define START_MS 20000
#define STEP_MS 5000
#define EXIT_MS 15000

typedef struct {
  char dir[64];
  char sock_path[128];
  char log_path[128];
  char conf_path[128];
  int fd;
  pid_t pid;
  unsigned port;
  int status; /* wait status once exited */
  bool exited;
  unsigned watchdogs; /* WATCHDOG=1 lines seen so far */
  char pending[4096]; /* the last datagram's lines not handed out yet */
  size_t pending_len;
} fixture;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static unsigned free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(s >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
  close(s);
  return ntohs(a.sin_port);
}

static bool port_accepts(unsigned port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bool ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
  close(s);
  return ok;
}

/* The server's log (stdout+stderr), last lines, for failure messages. */
static void dump_log(const fixture *f) {
  char *text = NULL;
  if (!g_file_get_contents(f->log_path, &text, NULL, NULL)) return;
  char **lines = g_strsplit(text, "\n", -1);
  guint n = g_strv_length(lines);
  print_error("--- server log (%s), last lines:\n", f->log_path);
  for (guint i = n > 40 ? n - 40 : 0; i < n; i++)
    if (lines[i][0]) print_error("  | %s\n", lines[i]);
  g_strfreev(lines);
  g_free(text);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->fd = -1;
  g_strlcpy(f->dir, "/tmp/sfu-notify-XXXXXX", sizeof f->dir);
  if (!mkdtemp(f->dir)) return -1;
  snprintf(f->sock_path, sizeof f->sock_path, "%s/notify", f->dir);
  snprintf(f->log_path, sizeof f->log_path, "%s/server.log", f->dir);
  snprintf(f->conf_path, sizeof f->conf_path, "%s/sfu.conf", f->dir);
  f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (f->fd < 0) return -1;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  g_strlcpy(a.sun_path, f->sock_path, sizeof a.sun_path);
  if (bind(f->fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->pid > 0 && !f->exited) {
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
  }
  if (f->fd >= 0) close(f->fd);
  unlink(f->sock_path);
  unlink(f->log_path);
  unlink(f->conf_path);
  rmdir(f->dir);
  free(f);
  return 0;
}

/* Starts the server with NOTIFY_SOCKET set: --config conf --port <free>. */
static void start(fixture *f, const char *conf) {
  struct stat st;
  if (stat(SFU_BIN, &st) != 0)
    fail_msg("%s: %s (build the sfu-server target first)", SFU_BIN, strerror(errno));
  f->port = free_port();
  char port[16];
  snprintf(port, sizeof port, "%u", f->port);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int log = open(f->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log < 0) _exit(127);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    setenv("NOTIFY_SOCKET", f->sock_path, 1);
    char *argv[] = {(char *)SFU_BIN, (char *)"--config", (char *)conf, (char *)"--port", port, NULL};
    execv(SFU_BIN, argv);
    _exit(127);
  }
  f->pid = pid;
}

/* Has the server exited? Reaps it. */
static bool reap(fixture *f) {
  if (f->exited) return true;
  int st;
  if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
    f->exited = true;
    f->status = st;
  }
  return f->exited;
}

/* Waits up to ms for the next notify line that is not ignorable (WATCHDOG=1, STATUS=,
 * MONOTONIC_USEC=; counted or dropped). Returns it in line, or false on timeout or when
 * the server exited with nothing more queued. */
static bool next_line(fixture *f, int ms, char *line, size_t len) {
  int64_t end = now_ms() + ms;
  for (;;) {
    /* Hand out queued lines first (a message may hold several). */
    while (f->pending_len) {
      char *nl = memchr(f->pending, '\n', f->pending_len);
      size_t n = nl ? (size_t)(nl - f->pending) : f->pending_len;
      char cur[512];
      g_strlcpy(cur, f->pending, n + 1 < sizeof cur ? n + 1 : sizeof cur);
      size_t used = nl ? n + 1 : n;
      memmove(f->pending, f->pending + used, f->pending_len - used);
      f->pending_len -= used;
      if (!strcmp(cur, "WATCHDOG=1")) {
        f->watchdogs++;
        continue;
      }
      if (!cur[0] || g_str_has_prefix(cur, "STATUS=") || g_str_has_prefix(cur, "MONOTONIC_USEC=")) continue;
      g_strlcpy(line, cur, len);
      return true;
    }
    int left = (int)(end - now_ms());
    if (left <= 0) return false;
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    int r = poll(&p, 1, left < 100 ? left : 100);
    if (r > 0) {
      ssize_t n = recv(f->fd, f->pending, sizeof f->pending - 1, 0);
      if (n > 0) f->pending_len = (size_t)n;
    } else if (r == 0 && reap(f)) {
      /* Exited: one last non-blocking look for queued datagrams. */
      ssize_t n = recv(f->fd, f->pending, sizeof f->pending - 1, MSG_DONTWAIT);
      if (n > 0)
        f->pending_len = (size_t)n;
      else
        return false;
    }
  }
}

/* The next significant line must be want, within ms. */
static void expect_line(fixture *f, const char *want, int ms, const char *when) {
  char line[512];
  if (!next_line(f, ms, line, sizeof line)) {
    dump_log(f);
    fail_msg("%s: no %s within %d ms%s", when, want, ms, f->exited ? " (the server exited)" : "");
  }
  if (strcmp(line, want) != 0) {
    dump_log(f);
    fail_msg("%s: got '%s', expected %s", when, line, want);
  }
}

/* Waits up to ms for the server to exit; returns its wait status, or fails. */
static int wait_exit(fixture *f, int ms) {
  int64_t end = now_ms() + ms;
  while (!reap(f)) {
    if (now_ms() >= end) {
      dump_log(f);
      fail_msg("the server did not exit within %d ms", ms);
    }
    usleep(20000);
  }
  return f->status;
}

static void write_conf(fixture *f, const char *text) {
  assert_true(g_file_set_contents(f->conf_path, text, -1, NULL));
}

static void test_lifecycle(void **state) {
  fixture *f = *state;
  char *sample = NULL;
  assert_true(g_file_get_contents(SAMPLE, &sample, NULL, NULL));
  write_conf(f, sample);
  start(f, f->conf_path);

  int64_t t0 = now_ms();
  expect_line(f, "READY=1", START_MS, "start");
  print_message("READY=1 after %lld ms\n", (long long)(now_ms() - t0));
  /* READY means serving: the port takes connections right away. */
  assert_true(port_accepts(f->port));

  /* Watchdog: every 500 ms, so at least 3 in 1.8 s; nothing else meanwhile. */
  unsigned w0 = f->watchdogs;
  char line[512];
  if (next_line(f, 1800, line, sizeof line)) fail_msg("unexpected '%s' while idle", line);
  if (f->watchdogs - w0 < 3) {
    dump_log(f);
    fail_msg("%u WATCHDOG=1 in 1.8 s, expected at least 3 (one every 500 ms)", f->watchdogs - w0);
  }

  /* Reload with a good file (log level debug). */
  char **parts = g_strsplit(sample, "level = info", 2);
  assert_int_equal(g_strv_length(parts), 2);
  char *debug = g_strjoinv("level = debug", parts);
  g_strfreev(parts);
  write_conf(f, debug);
  g_free(debug);
  assert_int_equal(kill(f->pid, SIGHUP), 0);
  expect_line(f, "RELOADING=1", STEP_MS, "SIGHUP (good file)");
  expect_line(f, "READY=1", STEP_MS, "SIGHUP (good file), after RELOADING=1");

  /* Reload with a bad file: the old config stays, and the service is ready again. */
  write_conf(f, "[server]\nport = 0\n");
  assert_int_equal(kill(f->pid, SIGHUP), 0);
  expect_line(f, "RELOADING=1", STEP_MS, "SIGHUP (bad file)");
  expect_line(f, "READY=1", STEP_MS, "SIGHUP (bad file), after RELOADING=1");
  assert_true(port_accepts(f->port));
  /* Still alive: the watchdog keeps coming. */
  w0 = f->watchdogs;
  if (next_line(f, 1200, line, sizeof line)) fail_msg("unexpected '%s' after the bad reload", line);
  assert_true(f->watchdogs > w0);

  /* Stop. */
  assert_int_equal(kill(f->pid, SIGTERM), 0);
  expect_line(f, "STOPPING=1", STEP_MS, "SIGTERM");
  int st = wait_exit(f, EXIT_MS);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    dump_log(f);
    if (WIFEXITED(st))
      fail_msg("after SIGTERM the server exited with status %d, expected 0", WEXITSTATUS(st));
    else
      fail_msg("after SIGTERM the server died of signal %d", WTERMSIG(st));
  }
  /* Nothing after STOPPING=1 but the watchdog. */
  if (next_line(f, 100, line, sizeof line)) fail_msg("unexpected '%s' after STOPPING=1", line);
  g_free(sample);
}

static void test_bad_config_never_ready(void **state) {
  fixture *f = *state;
  write_conf(f, "[server]\nprot = 8080\n");
  start(f, f->conf_path);
  int st = wait_exit(f, EXIT_MS);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 78) {
    dump_log(f);
    fail_msg("a bad config: wait status 0x%x, expected exit 78", st);
  }
  char line[512];
  if (next_line(f, 200, line, sizeof line)) fail_msg("a bad config: the server sent '%s'", line);
  char *log = NULL;
  assert_true(g_file_get_contents(f->log_path, &log, NULL, NULL));
  char *want =
      g_strdup_printf("sfu: %s:2: [server] prot: unknown key (did you mean 'port'?)\n", f->conf_path);
  assert_string_equal(log, want);
  g_free(want);
  g_free(log);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_config_never_ready, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
