/* bench_proc: the server process seen through /proc: its PID from the TCP
 * port it listens on, CPU time (utime + stime) and resident memory. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

/* Inode of a socket listening on port, from /proc/net/tcp{,6}; 0 = none. */
static unsigned long listen_inode(const char *table, unsigned port) {
  FILE *f = fopen(table, "r");
  if (!f) return 0;
  char line[512];
  unsigned long found = 0;
  if (!fgets(line, sizeof line, f)) line[0] = 0; /* header */
  while (!found && fgets(line, sizeof line, f)) {
    char local[128];
    unsigned st;
    unsigned long inode;
    /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
    if (sscanf(line, " %*d: %127s %*s %x %*s %*s %*s %*d %*d %lu", local, &st, &inode) != 3) continue;
    char *colon = strrchr(local, ':');
    if (!colon || st != 0x0A) continue; /* TCP_LISTEN */
    if ((unsigned)strtoul(colon + 1, NULL, 16) == port) found = inode;
  }
  fclose(f);
  return found;
}

int bench_proc_find_by_port(unsigned port) {
  unsigned long inode = listen_inode("/proc/net/tcp", port);
  if (!inode) inode = listen_inode("/proc/net/tcp6", port);
  if (!inode) return -1;
  char want[64];
  snprintf(want, sizeof want, "socket:[%lu]", inode);
  DIR *proc = opendir("/proc");
  if (!proc) return -1;
  int pid = -1;
  struct dirent *d;
  while (pid < 0 && (d = readdir(proc))) {
    int p = atoi(d->d_name);
    if (p <= 0 || p == getpid()) continue;
    char fddir[64];
    snprintf(fddir, sizeof fddir, "/proc/%d/fd", p);
    DIR *fds = opendir(fddir);
    if (!fds) continue;
    struct dirent *e;
    while ((e = readdir(fds))) {
      char path[384], target[128];
      snprintf(path, sizeof path, "%s/%s", fddir, e->d_name);
      ssize_t n = readlink(path, target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = 0;
      if (!strcmp(target, want)) {
        pid = p;
        break;
      }
    }
    closedir(fds);
  }
  closedir(proc);
  return pid;
}

double bench_proc_cpu_s(int pid) {
  char path[64], buf[1024];
  if (pid > 0)
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
  else
    snprintf(path, sizeof path, "/proc/self/stat");
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  /* comm may hold spaces: fields resume after the last ')'. utime and
   * stime are fields 14 and 15; after ")" comes field 3. */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long ut = 0, stt = 0;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2) return -1;
  return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

static long status_kb(int pid, const char *key) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long v = -1;
  size_t kl = strlen(key);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, kl) && line[kl] == ':') v = strtol(line + kl + 1, NULL, 10);
  fclose(f);
  return v;
}

long bench_proc_rss_kb(int pid) {
  return status_kb(pid, "VmRSS");
}
long bench_proc_hwm_kb(int pid) {
  return status_kb(pid, "VmHWM");
}

uint64_t bench_proc_udp_rcvbuf_errors(void) {
  FILE *f = fopen("/proc/net/snmp", "r");
  if (!f) return 0;
  char hdr[1024], val[1024];
  uint64_t v = 0;
  while (fgets(hdr, sizeof hdr, f)) {
    if (strncmp(hdr, "Udp: ", 5) != 0 || !fgets(val, sizeof val, f)) continue;
    /* Header and value lines: find the RcvbufErrors column. */
    char *hs, *vs, *h = strtok_r(hdr, " \n", &hs), *x = strtok_r(val, " \n", &vs);
    while (h && x) {
      if (!strcmp(h, "RcvbufErrors")) v = strtoull(x, NULL, 10);
      h = strtok_r(NULL, " \n", &hs);
      x = strtok_r(NULL, " \n", &vs);
    }
    break;
  }
  fclose(f);
  return v;
}

void bench_proc_grow_udp_buffers(int bytes) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int dfd = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    int fd = atoi(e->d_name);
    if (fd <= 2 || fd == dfd) continue;
    int type = 0, cur = 0;
    socklen_t l = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) != 0 || type != SOCK_DGRAM) continue;
    l = sizeof cur;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &l) == 0 && cur >= bytes) continue; /* reports 2x */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  closedir(d);
}

double bench_proc_runq_wait_s(int pid) {
  char path[64];
  snprintf(path, sizeof path, pid > 0 ? "/proc/%d/task" : "/proc/self/task", pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  unsigned long long total = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p2[384];
    snprintf(p2, sizeof p2, "%s/%s/schedstat", path, e->d_name);
    FILE *f = fopen(p2, "r");
    if (!f) continue;
    unsigned long long run = 0, wait = 0;
    if (fscanf(f, "%llu %llu", &run, &wait) == 2) total += wait;
    fclose(f);
  }
  closedir(d);
  return (double)total / 1e9;
}
