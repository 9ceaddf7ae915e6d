#!/usr/bin/env bash
# One command: build, start the server pinned to core 0, run sfu-bench pinned
# to core 1, print the report, stop the server.
#   bench/run.sh [preset] [sfu-bench options...]
#   bench/run.sh webinar --per-room 101 --duration 30
#   bench/run.sh webinar --ramp-mode --step 25
#   BENCH_JANUS=1 bench/run.sh meeting     (also Janus, see bench/run-janus.sh)
# Environment: BUILD_DIR (default <repo>/build), SERVER_CORE (0), BENCH_CORE (1),
# SFU_BIN (use this server binary, skip the build), BENCH_BIN, BENCH_NICE (e.g. -10),
# BENCH_SERVER_LOG (copy the server's log there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$src/build}
preset=meeting
if [[ $# -gt 0 && $1 != -* ]]; then preset=$1; shift; fi
if [[ $preset == janus ]]; then exec "$here/run-janus.sh" "$@"; fi

if [[ -z ${SFU_BIN:-} ]]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target sfu-server sfu-bench >/dev/null
fi
sfu=${SFU_BIN:-$build/bin/sfu}
bench=${BENCH_BIN:-$(dirname "$sfu")/sfu-bench}
server_core=${SERVER_CORE:-0}
bench_core=${BENCH_CORE:-1}
# BENCH_NICE=-10 runs both processes at a higher priority (root only): on a
# shared machine other jobs on the same cores otherwise starve them. Same
# value for both, so neither gets an edge over the other.
nice_cmd=()
if [[ -n ${BENCH_NICE:-} ]]; then nice_cmd=(nice -n "$BENCH_NICE"); fi

work=$(mktemp -d /tmp/sfu-bench.XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The sample configuration with the limits a load test needs: loopback ICE
# only, rooms as large as the scenario, no signaling rate limit in the way.
sed -e 's/^addrs =.*/addrs = 127.0.0.1/' \
    -e 's/^max_participants_per_room =.*/max_participants_per_room = 10000/' \
    -e 's/^max_publishers_per_room =.*/max_publishers_per_room = 10000/' \
    -e 's/^max_rooms =.*/max_rooms = 100000/' \
    -e 's/^messages_per_sec =.*/messages_per_sec = 1000/' \
    -e 's/^joins_per_sec_per_ip =.*/joins_per_sec_per_ip = 100000/' \
    -e 's/^max_websockets_per_ip =.*/max_websockets_per_ip = 0/' \
    -e 's/^level =.*/level = warning/' \
    "$src/conf/sfu.conf" > "$work/sfu.conf"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}
port=$(free_port)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(cd "$src" && exec "${nice_cmd[@]}" taskset -c "$server_core" "$sfu" --config "$work/sfu.conf" --port "$port") > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: the server died:" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "run.sh: no /healthz on port $port" >&2; exit 1; }

echo "run.sh: server pid $server_pid on port $port (core $server_core), bench on core $bench_core, preset $preset" >&2
rc=0
"${nice_cmd[@]}" taskset -c "$bench_core" "$bench" --preset "$preset" --server "ws://127.0.0.1:$port/ws" --server-pid "$server_pid" "$@" || rc=$?
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "run.sh: the server is gone after the run (crash?); its log:" >&2
  tail -50 "$work/server.log" >&2
  rc=1
fi
if [[ -n ${BENCH_SERVER_LOG:-} ]]; then cp "$work/server.log" "$BENCH_SERVER_LOG"; fi
exit $rc
