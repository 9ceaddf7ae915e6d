#!/usr/bin/env bash
# Every metric the server declares a counter never goes down: not while a session runs, not when its
# participants leave. A real session (sfu-bench: real ICE, DTLS and SRTP peers, 2 publishers in one
# room) runs in a network namespace of its own whose nftables duplicates every UDP datagram sent to
# the server's ICE ports, so the server sees replayed SRTP and counts errors (sfu_srtp_errors_total
# must grow, or the check would prove nothing). /metrics is scraped before, during (every 0.3 s) and
# after the session and after its participants are gone; each sample of each counter family (and
# each histogram's _bucket, _sum and _count) must be >= the one before.
# Needs root (ip netns, nft with `dup`): otherwise exits 77 (skipped).
# Usage: bash test_counters.sh <sfu-binary> <source-dir>
set -uo pipefail
SFU=$(readlink -f "${1:?usage: test_counters.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage: test_counters.sh <sfu-binary> <source-dir>}")
BENCH=${SFU_BENCH:-$(dirname "$SFU")/sfu-bench}
[ -x "$BENCH" ] || { echo "FAIL: $BENCH not built"; exit 1; }
command -v ffmpeg >/dev/null || [ -f "$(dirname "$(dirname "$BENCH")")/bench-media/clip-1000k.ivf" ] ||
  { echo "SKIP: ffmpeg missing (the bench makes its clip with it)"; exit 77; }
ns=i14-ctr-$$
tmp=$(mktemp -d /tmp/sfu-counters-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null; for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null; }
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
if ! ip netns add "$ns" 2>/dev/null; then echo "SKIP: cannot make a network namespace (needs root)"; exit 77; fi
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
if ! in_ns nft -f - <<'NFT'
table ip i14 {
  chain out {
    type filter hook output priority 0;
    udp dport 41000-41200 dup to 127.0.0.1
  }
}
NFT
then echo "SKIP: nftables without the dup statement"; exit 77; fi

sed -e 's/^addrs =.*/addrs = 127.0.0.1/' -e 's/^port_min =.*/port_min = 41000/' -e 's/^port_max =.*/port_max = 41200/' \
  -e 's/^level =.*/level = warning/' "$SRC/conf/sfu.conf" >"$tmp/sfu.conf"
port=8080
ip netns exec "$ns" "$SFU" --config "$tmp/sfu.conf" --port $port 2>"$tmp/server.log" & # exec: $! is the server
pid=$!
scrape() { in_ns curl -s --max-time 3 "http://127.0.0.1:$port/metrics"; }
for _ in $(seq 100); do scrape >/dev/null && break; sleep 0.1; done

# One scrape -> lines "series value" for every counter sample (histograms: their three series).
counters() {
  scrape | awk '
    $1 == "#" && $2 == "TYPE" { type[$3] = $4; next }
    /^#/ || NF < 2 { next }
    { name = $1; sub(/\{.*/, "", name); base = name; sub(/_(bucket|sum|count)$/, "", base)
      if (type[name] == "counter" || (type[base] == "histogram" && name != base)) print $1, $2 }'
}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
samples=0
check() { # LABEL: compare this scrape with the last one
  counters >"$tmp/now"
  [ -s "$tmp/now" ] || { fail "$1: no counters in /metrics"; return; }
  samples=$((samples + 1))
  if [ -f "$tmp/last" ]; then
    awk -v what="$1" 'NR == FNR { last[$1] = $2; next }
      ($1 in last) && $2 + 0 < last[$1] + 0 { printf "FAIL: %s: %s went down from %s to %s\n", what, $1, last[$1], $2; bad = 1 }
      END { exit bad }' "$tmp/last" "$tmp/now" || fails=$((fails + 1))
    awk 'NR == FNR { now[$1] = 1; next } !($1 in now) { printf "FAIL: counter %s disappeared\n", $1; bad = 1 } END { exit bad }' \
      "$tmp/now" "$tmp/last" || fails=$((fails + 1))
  fi
  mv "$tmp/now" "$tmp/last"
}
metric() { awk -v m="$1" '$1 == m { print $2 }' "$tmp/last"; }

check "before the session"
timeout 120 ip netns exec "$ns" "$BENCH" --preset rooms --rooms 1 --per-room 2 --duration 3 --warmup 1 --ramp 10 \
  --server "ws://127.0.0.1:$port/ws" --server-pid "$pid" >"$tmp/bench.out" 2>&1 &
bench=$!
max_srtp=0
while kill -0 "$bench" 2>/dev/null; do
  check "during the session"
  s=$(metric sfu_srtp_errors_total); [ "${s%.*}" -gt "$max_srtp" ] 2>/dev/null && max_srtp=${s%.*}
  sleep 0.3
done
wait "$bench" || { echo "(the bench reported problems: duplicated packets are expected to cost it)"; tail -5 "$tmp/bench.out"; }
check "right after the session"
for _ in $(seq 100); do # until every participant has left (bounded)
  [ "$(scrape | awk '$1 == "sfu_participants" { print $2 }')" = 0 ] && break; sleep 0.1
done
check "after everyone left"
sleep 1
check "a second after"
after=$(metric sfu_srtp_errors_total)
echo "scrapes: $samples; sfu_srtp_errors_total: max during $max_srtp, after $after;" \
  "sfu_joins_total $(metric sfu_joins_total), sfu_leaves_total $(metric sfu_leaves_total)"
[ "$max_srtp" -gt 0 ] || fail "no SRTP errors during the session: the replays did not reach the server (nothing was tested)"
[ "$(metric sfu_joins_total)" = 2 ] || fail "sfu_joins_total is $(metric sfu_joins_total), not 2"
grep -q '^sfu_dtls_dropped_total ' <(scrape) || fail "no sfu_dtls_dropped_total in /metrics"
if [ $fails -ne 0 ]; then
  echo "--- server log (tail)"; tail -20 "$tmp/server.log"
  echo "test_counters: $fails failure(s)"; exit 1
fi
echo "test_counters: all passed"
