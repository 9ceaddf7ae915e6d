/* sig_webroot: lws file operations that open static files only beneath the
 * web root. lws's file mount opens "<root>/<uri>" with a plain open(), which
 * follows any symlink: one inside the root pointing at /etc would be served.
 * Here the path below the root is opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) against a descriptor of the root, so neither "..",
 * an absolute symlink nor a relative one that climbs out resolves; symlinks
 * that stay inside the root still work. Kernels without openat2 (before 5.6)
 * fall back to comparing the resolved path with the root's. */
#define G_LOG_DOMAIN "ws"
#include "sig_ws_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct sig_webroot {
  struct lws_plat_file_ops ops; /* first: lws hands us &ops */
  int root_fd;
  char *root; /* as configured (lws builds paths from it) */
  char *real; /* realpath of root, for the fallback */
};

static int open_beneath(const sig_webroot *w, const char *rel) {
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, w->root_fd, rel, &how, sizeof how);
  if (fd >= 0 || errno != ENOSYS) return fd;
  char *full = g_build_filename(w->root, rel, NULL);
  char *real = realpath(full, NULL);
  g_free(full);
  size_t n = strlen(w->real);
  bool inside = real && !strncmp(real, w->real, n) && (real[n] == '/' || real[n] == '\0');
  fd = inside ? open(real, O_RDONLY | O_CLOEXEC) : -1;
  if (!inside) errno = EXDEV;
  free(real);
  return fd;
}

static lws_fop_fd_t wr_open(const struct lws_plat_file_ops *fops, const char *filename, const char *vpath,
                            lws_fop_flags_t *flags) {
  (void)vpath;
  const sig_webroot *w = (const sig_webroot *)fops;
  size_t n = strlen(w->root);
  if ((*flags & LWS_FOP_FLAGS_MASK) != O_RDONLY || strncmp(filename, w->root, n) != 0 ||
      (filename[n] != '/' && filename[n] != '\0'))
    return NULL;
  const char *rel = filename + n;
  while (*rel == '/')
    rel++;
  int fd = open_beneath(w, *rel ? rel : ".");
  if (fd < 0) {
    if (errno == EXDEV || errno == ELOOP) g_debug("refused a path leading out of the web root: %s", rel);
    return NULL;
  }
  struct stat st;
  lws_fop_fd_t f = fstat(fd, &st) == 0 ? calloc(1, sizeof *f) : NULL;
  if (!f) {
    close(fd);
    return NULL;
  }
  f->fd = fd;
  f->fops = fops;
  f->flags = *flags;
  f->len = (lws_filepos_t)st.st_size;
  return f;
}

static int wr_close(lws_fop_fd_t *f) {
  int fd = (*f)->fd;
  free(*f);
  *f = NULL;
  return close(fd);
}

static lws_fileofs_t wr_seek_cur(lws_fop_fd_t f, lws_fileofs_t off) {
  if (off > 0 && off > (lws_fileofs_t)f->len - (lws_fileofs_t)f->pos) off = (lws_fileofs_t)(f->len - f->pos);
  if ((lws_fileofs_t)f->pos + off < 0) off = -(lws_fileofs_t)f->pos;
  off_t r = lseek(f->fd, off, SEEK_CUR);
  if (r >= 0) f->pos = (lws_filepos_t)r;
  return r;
}

static int wr_read(lws_fop_fd_t f, lws_filepos_t *amount, uint8_t *buf, lws_filepos_t len) {
  ssize_t n = read(f->fd, buf, len);
  *amount = n > 0 ? (lws_filepos_t)n : 0;
  if (n < 0) return -1;
  f->pos += (lws_filepos_t)n;
  return 0;
}

static int wr_write(lws_fop_fd_t f, lws_filepos_t *amount, uint8_t *buf, lws_filepos_t len) {
  (void)f, (void)buf, (void)len;
  *amount = 0;
  return -1; /* read only */
}

int sig_webroot_new(sig_webroot **out, const char *root, char *err, size_t errlen) {
  sig_webroot *w = g_new0(sig_webroot, 1);
  w->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  w->real = realpath(root, NULL);
  if (w->root_fd < 0 || !w->real) {
    snprintf(err, errlen, "web root %s: %s", root, g_strerror(errno));
    sig_webroot_free(w);
    return -ENOENT;
  }
  w->root = g_strdup(root);
  w->ops.open = wr_open;
  w->ops.close = wr_close;
  w->ops.seek_cur = wr_seek_cur;
  w->ops.read = wr_read;
  w->ops.write = wr_write;
  *out = w;
  return 0;
}

const struct lws_plat_file_ops *sig_webroot_fops(sig_webroot *w) {
  return &w->ops;
}

void sig_webroot_free(sig_webroot *w) {
  if (!w) return;
  if (w->root_fd >= 0) close(w->root_fd);
  free(w->real);
  g_free(w->root);
  g_free(w);
}
