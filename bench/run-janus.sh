#!/usr/bin/env bash
# Our server and Janus VideoRoom under the same load, in one run, with the ratio.
#   bench/run-janus.sh [preset] [sfu-bench options...]
#
# Janus 1.1.2 never gathers ICE candidates on loopback interfaces, so the run
# happens inside a network namespace this script makes: a veth pair whose one
# end has 10.213.0.1/24 (the pair stays inside the namespace, nothing is routed
# out). Both servers and sfu-bench run in that namespace, both servers gather
# ICE on 10.213.0.1 only (ours via [ice] addrs, Janus via ice_enforce_list), and
# the bench uses 10.213.0.1 for its own candidates. Traffic to a local address
# goes through the kernel's loopback path either way, so both servers see the
# same network. Servers are pinned to core 0, the bench to core 1.
# Needs root, iproute2 and Debian's janus package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$src/build}
preset=meeting
if [[ $# -gt 0 && $1 != -* ]]; then preset=$1; shift; fi
command -v janus >/dev/null || { echo "run-janus.sh: janus is not installed (apt-get install janus)" >&2; exit 1; }
command -v ip >/dev/null || { echo "run-janus.sh: ip (iproute2) is missing" >&2; exit 1; }

if [[ -z ${SFU_BIN:-} ]]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target sfu-server sfu-bench >/dev/null
fi
sfu=${SFU_BIN:-$build/bin/sfu}
bench=${BENCH_BIN:-$(dirname "$sfu")/sfu-bench}
addr=10.213.0.1
# BENCH_NICE=-10: both servers and the bench at that priority (see run.sh).
nice_cmd=()
if [[ -n ${BENCH_NICE:-} ]]; then nice_cmd=(nice -n "$BENCH_NICE"); fi
ns=sfubench$$
work=$(mktemp -d /tmp/sfu-bench-janus.XXXXXX)
sfu_pid= janus_pid=
stop() {
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$sfu_pid"
  stop "$janus_pid"
  ip netns del "$ns" 2>/dev/null || true
  [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add bench0 type veth peer name bench1
ip -n "$ns" addr add "$addr/24" dev bench0
ip -n "$ns" link set bench0 up
ip -n "$ns" link set bench1 up
inns() { ip netns exec "$ns" "$@"; }

sed -e "s/^addrs =.*/addrs = $addr/" \
    -e 's/^max_participants_per_room =.*/max_participants_per_room = 10000/' \
    -e 's/^max_publishers_per_room =.*/max_publishers_per_room = 10000/' \
    -e 's/^max_rooms =.*/max_rooms = 100000/' \
    -e 's/^messages_per_sec =.*/messages_per_sec = 1000/' \
    -e 's/^joins_per_sec_per_ip =.*/joins_per_sec_per_ip = 100000/' \
    -e 's/^max_websockets_per_ip =.*/max_websockets_per_ip = 0/' \
    -e 's/^level =.*/level = warning/' \
    "$src/conf/sfu.conf" > "$work/sfu.conf"
mkdir -p "$work/janus"
libdir=$(dirname "$(dirname "$(dirname "$(dpkg -L janus 2>/dev/null | grep '/janus/plugins/libjanus_videoroom.so$' | head -1)")")")
[[ -d $libdir ]] || libdir=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for f in "$here"/janus/*.jcfg; do
  sed -e "s|@LIBDIR@|$libdir|g" -e "s|@IFACE@|bench0|g" -e "s|@LEVEL@|${JANUS_LOG_LEVEL:-3}|g" \
      -e "s|@PORT@|8188|g" "$f" > "$work/janus/$(basename "$f")"
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

(cd "$src" && exec ip netns exec "$ns" "${nice_cmd[@]}" taskset -c 0 "$sfu" --config "$work/sfu.conf" --port 8090) > "$work/sfu.log" 2>&1 &
sfu_pid=$!
(exec ip netns exec "$ns" "${nice_cmd[@]}" taskset -c 0 janus -F "$work/janus" -C "$work/janus/janus.jcfg" -o) > "$work/janus.log" 2>&1 &
janus_pid=$!
ready=
for _ in $(seq 150); do
  if inns curl -fsS "http://$addr:8090/healthz" >/dev/null 2>&1 && inns bash -c "exec 3<>/dev/tcp/$addr/8188" 2>/dev/null; then
    ready=1; break
  fi
  sleep 0.1
done
if [[ -z $ready ]]; then
  echo "run-janus.sh: a server did not start" >&2
  tail -n 20 "$work/sfu.log" "$work/janus.log" >&2
  exit 1
fi
echo "run-janus.sh: namespace $ns, sfu pid $sfu_pid, janus pid $janus_pid, both on core 0; bench on core 1" >&2
rc=0
inns "${nice_cmd[@]}" taskset -c 1 "$bench" --preset "$preset" --server "ws://$addr:8090/ws" --server-pid "$sfu_pid" \
  --janus "ws://$addr:8188/" --janus-pid "$janus_pid" --local-addr "$addr" --allow-addr "$addr" "$@" || rc=$?
for pid in "$sfu_pid" "$janus_pid"; do
  kill -0 "$pid" 2>/dev/null || { echo "run-janus.sh: server $pid is gone after the run" >&2; rc=1; }
done
if [[ -n ${BENCH_KEEP:-} ]]; then echo "run-janus.sh: logs kept in $work" >&2; fi
exit $rc
