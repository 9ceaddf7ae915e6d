/* bench_janus: the Janus VideoRoom signaling adapter (stub for now). */
#include "bench.h"

void bench_janus_on_open(bench_peer *p) {
  bench_peer_fail(p, "Janus adapter not built yet");
}
void bench_janus_on_message(bench_peer *p, json_t *msg) {
  (void)p;
  (void)msg;
}
void bench_janus_tick(bench_peer *p, int64_t now_us) {
  (void)p;
  (void)now_us;
}
void bench_janus_leave(bench_peer *p) {
  (void)p;
}
