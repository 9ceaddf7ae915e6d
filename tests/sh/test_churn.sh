#!/usr/bin/env bash
# Churn: 1,000 join / publish / subscribe / leave cycles by real WebRTC peers (sfu-bench: real
# ICE, DTLS and SRTP), 20 participants at a time in 10 rooms of 2, then the server must be back
# where it started: no participants, rooms or consumers in /metrics, joins == leaves, no file
# descriptors (sockets, UDP ports) left over, resident memory near its warm start, and a clean
# exit on SIGTERM (under the ASan build, LeakSanitizer then checks every allocation).
# Usage: bash test_churn.sh <sfu-binary> <source-dir>   (CHURN_PASSES=50 passes of 20 cycles)
set -uo pipefail
SFU=$(readlink -f "${1:?usage: test_churn.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage}")
BENCH=${SFU_BENCH:-$(dirname "$SFU")/sfu-bench}
PASSES=${CHURN_PASSES:-50}
[ -x "$BENCH" ] || { echo "FAIL: $BENCH not built"; exit 1; }
command -v ffmpeg >/dev/null || { echo "FAIL: ffmpeg needed for the bench's media (conf/deps.sh test)"; exit 1; }
tmp=$(mktemp -d /tmp/sfu-churn-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && { kill -KILL "$pid" && wait "$pid"; } 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

sed -e 's/^addrs =.*/addrs = 127.0.0.1/' -e 's/^messages_per_sec =.*/messages_per_sec = 1000/' \
  -e 's/^joins_per_sec_per_ip =.*/joins_per_sec_per_ip = 100000/' -e 's/^level =.*/level = warning/' \
  "$SRC/conf/sfu.conf" >"$tmp/sfu.conf"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$SFU" --config "$tmp/sfu.conf" --port "$port" 2>"$tmp/server.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
fds() { ls "/proc/$pid/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
settle() { # until no participant is left (bounded)
  for _ in $(seq 100); do [ "$(metric sfu_participants)" = 0 ] && break; sleep 0.1; done
  sleep 1
}
bench() { # PASSES
  timeout 900 "$BENCH" --preset rooms --rooms 10 --per-room 2 --duration 1 --warmup 0 --ramp 200 \
    --repeat "$1" --server "ws://127.0.0.1:$port/ws" --server-pid "$pid" >"$tmp/bench.out" 2>&1
}

# Warm up (allocator pools, lazily made state), then take the baseline.
bench 2 || { fail "warm-up bench run failed"; tail -20 "$tmp/bench.out"; }
settle
fd0=$(fds) rss0=$(rss_kb)
echo "baseline after 40 cycles: $fd0 fds, $rss0 kB RSS"
t0=$(date +%s)
if bench $((PASSES - 2)); then ok "$((PASSES * 20)) cycles, every stream delivered in every pass"; else
  fail "bench reported failures"; grep -E "joins|streams|failed" "$tmp/bench.out" | head -20
fi
settle
fd1=$(fds) rss1=$(rss_kb)
echo "after $((PASSES * 20)) cycles ($(( $(date +%s) - t0 )) s): $fd1 fds, $rss1 kB RSS"
[ "$(metric sfu_participants)" = 0 ] && [ "$(metric sfu_rooms)" = 0 ] && [ "$(metric sfu_subscriptions)" = 0 ] &&
  [ "$(metric sfu_publishers)" = 0 ] && ok "no participants, rooms, publishers or consumers left" ||
  fail "left over: $(curl -s "http://127.0.0.1:$port/metrics" | grep -E '^sfu_(participants|rooms|publishers|subscriptions) ')"
joins=$(metric sfu_joins_total) leaves=$(metric sfu_leaves_total)
[ "$joins" = "$leaves" ] && [ "${joins%.*}" -ge $((PASSES * 20)) ] && ok "joins == leaves == $joins" ||
  fail "joins $joins, leaves $leaves"
[ "$fd1" -le "$((fd0 + 2))" ] && ok "file descriptors back: $fd0 -> $fd1" || fail "fds grew: $fd0 -> $fd1 ($(ls -l /proc/$pid/fd | tail -5))"
# Allow the allocator some slack, not growth per cycle: +15 % or +8 MB.
limit=$((rss0 + rss0 * 15 / 100 > rss0 + 8192 ? rss0 + rss0 * 15 / 100 : rss0 + 8192))
[ "$rss1" -le "$limit" ] && ok "RSS near its start: $rss0 -> $rss1 kB" || fail "RSS grew: $rss0 -> $rss1 kB (limit $limit)"

kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] && ok "clean exit on SIGTERM (LeakSanitizer, in an ASan build, found nothing)" ||
  { fail "exit status $rc"; tail -30 "$tmp/server.log"; }
if [ $fails -ne 0 ]; then echo "test_churn: $fails failure(s)"; exit 1; fi
echo "test_churn: all passed"
