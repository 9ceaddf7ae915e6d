#!/usr/bin/env bash
# Churn: join / publish / subscribe / leave cycles by real WebRTC peers (sfu-bench: real ICE, DTLS and
# SRTP), 20 participants at a time in 10 rooms of 2, then the server must be back where it started: no
# participants, rooms or consumers in /metrics, joins == leaves, no file descriptors (sockets, UDP ports)
# left over, and a clean exit on SIGTERM.
# Two runs in tests/run_all.sh, each measuring what it can measure:
#  - the normal build (500 cycles): resident memory back near its warm start;
#  - the ASan build (1,000 cycles): LeakSanitizer at exit finds nothing. Its resident memory is not
#    bounded here: ASan's quarantine keeps freed memory on purpose, so RSS would measure ASan.
# Usage: bash test_churn.sh <sfu-binary> <source-dir>   (CHURN_PASSES=N passes of 20 cycles)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lib_init churn
SFU=$(readlink -f "${1:?usage: test_churn.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage}")
BENCH=${SFU_BENCH:-$(dirname "$SFU")/sfu-bench}
asan=0
grep -q __asan_init "$SFU" && asan=1
PASSES=${CHURN_PASSES:-$((asan ? 50 : 25))}
[ -x "$BENCH" ] || { echo "FAIL: $BENCH not built"; exit 1; }
command -v ffmpeg >/dev/null || { echo "FAIL: ffmpeg needed for the bench's media (conf/deps.sh test)"; exit 1; }

sed -e 's/^addrs =.*/addrs = 127.0.0.1/' -e 's/^messages_per_sec =.*/messages_per_sec = 1000/' \
  -e 's/^joins_per_sec_per_ip =.*/joins_per_sec_per_ip = 100000/' -e 's/^level =.*/level = warning/' \
  "$SRC/conf/sfu.conf" >"$tmp/sfu.conf"
start_server "$SFU" "$tmp/server.log" --config "$tmp/sfu.conf" || { fail "server did not start"; finish; }
pid=$spid

fds() { ls "/proc/$pid/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
no_participants() { [ "$(metric sfu_participants)" = 0 ]; }
bench() { # PASSES
  timeout 900 "$BENCH" --preset rooms --rooms 10 --per-room 2 --duration 1 --warmup 0 --ramp 200 \
    --repeat "$1" --server "ws://127.0.0.1:$port/ws" --server-pid "$pid" >"$tmp/bench.out" 2>&1
}

# Warm up (allocator pools, lazily made state), then take the baseline.
bench 2 || { fail "warm-up bench run failed"; tail -20 "$tmp/bench.out"; }
wait_until 10 no_participants || fail "participants left after the warm-up: $(metric sfu_participants)"
fd0=$(fds) rss0=$(rss_kb)
echo "baseline after 40 cycles: $fd0 fds, $rss0 kB RSS"
t0=$(date +%s)
if bench $((PASSES - 2)); then ok "$((PASSES * 20)) cycles, every stream delivered in every pass"; else
  fail "bench reported failures"; grep -E "joins|streams|failed" "$tmp/bench.out" | head -20
fi
wait_until 10 no_participants || fail "participants left after the run: $(metric sfu_participants)"
fd1=$(fds) rss1=$(rss_kb)
echo "after $((PASSES * 20)) cycles ($(($(date +%s) - t0)) s): $fd1 fds, $rss1 kB RSS"
[ "$(metric sfu_participants)" = 0 ] && [ "$(metric sfu_rooms)" = 0 ] && [ "$(metric sfu_subscriptions)" = 0 ] &&
  [ "$(metric sfu_publishers)" = 0 ] && ok "no participants, rooms, publishers or consumers left" ||
  fail "left over: $(curl -s "$base/metrics" | grep -E '^sfu_(participants|rooms|publishers|subscriptions) ')"
joins=$(metric sfu_joins_total) leaves=$(metric sfu_leaves_total)
[ "$joins" = "$leaves" ] && [ "${joins%.*}" -ge $((PASSES * 20)) ] && ok "joins == leaves == $joins" ||
  fail "joins $joins, leaves $leaves"
# The last sockets close a moment after the last participant is gone: wait for them (bounded).
fds_back() { [ "$(fds)" -le "$((fd0 + 2))" ]; }
wait_until 5 fds_back && ok "file descriptors back: $fd0 -> $(fds)" || fail "fds grew: $fd0 -> $(fds) ($(ls -l /proc/$pid/fd | tail -5))"
if [ $asan = 1 ]; then
  echo "note: sanitizer build: resident memory is bounded by the normal build's run (ASan's quarantine holds freed memory)"
else
  # Allow the allocator some slack, not growth per cycle: +15 % or +8 MB.
  limit=$((rss0 + rss0 * 15 / 100 > rss0 + 8192 ? rss0 + rss0 * 15 / 100 : rss0 + 8192))
  [ "$rss1" -le "$limit" ] && ok "RSS near its start: $rss0 -> $rss1 kB" || fail "RSS grew: $rss0 -> $rss1 kB (limit $limit)"
fi

stop_server "churned server"
finish "$tmp/server.log"
