/* fuzz_cfg: libFuzzer target for the config loader (cfg_load_data).
 * Build by hand (not wired into CMake):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iconf \
 *     -DSFU_WEB_ROOT_DEFAULT='"/nonexistent"' tests/fuzz/fuzz_cfg.c \
 *     conf/cfg_load.c conf/cfg_lines.c conf/cfg_check.c \
 *     $(pkg-config --cflags --libs glib-2.0) -o /tmp/fuzz_cfg
 *   /tmp/fuzz_cfg -max_total_time=30 /tmp/cfg-corpus tests/fuzz/corpus/cfg
 * Checks beyond "no crash": the result is 0 or -EINVAL, a failure leaves the
 * defaults, and the error text is NUL-terminated printable ASCII. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cfg_config c;
  char err[256];
  int rc = cfg_load_data((const char *)data, size, "fuzz.conf", &c, err, sizeof err);
  if (rc != 0 && rc != -EINVAL) abort();
  if (rc == 0 && err[0]) abort();
  if (rc != 0 && (!err[0] || c.port != 8080 || c.tls_cert)) abort();
  for (const char *p = err; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) abort();
  if (c.port < 1 || c.port > 65535 || c.port_min > c.port_max || !c.tls_cert != !c.tls_key) abort();
  cfg_clear(&c);
  return 0;
}
