#!/usr/bin/env bash
# listen_addr is what the server binds, checked on the socket itself with `ss`: 127.0.0.1 binds
# 127.0.0.1 only, ::1 binds [::1] only (not 0.0.0.0, which exposed every IPv4 address), empty binds
# every address of both families; an address that is not on this host is refused at start-up (exit
# 78, the key named), by --check-config and on SIGHUP (the running server keeps its socket); a port
# already taken fails the start with a clear message.
# Usage: bash test_listen.sh <sfu-binary> <source-dir>. Loopback only; every wait bounded.
set -uo pipefail
SFU=$(readlink -f "${1:?usage: test_listen.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage: test_listen.sh <sfu-binary> <source-dir>}")
tmp=$(mktemp -d /tmp/sfu-listen-XXXXXX)
pid=
stop() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}
trap 'stop; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
command -v ss >/dev/null || { echo "SKIP: ss (iproute2) missing"; exit 77; }
ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128' || { echo "SKIP: no IPv6 loopback (::1) on this host"; exit 77; }
NOT_HERE=198.51.100.7 # TEST-NET-2: on no host
ip -o addr | grep -q " $NOT_HERE/" && { echo "SKIP: $NOT_HERE is an address of this host"; exit 77; }

freeport() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
conf() { sed -e "s/^listen_addr =.*/listen_addr = $1/" "$SRC/conf/sfu.conf" >"$tmp/sfu.conf"; }
start() { # ADDR: start on a fresh port, wait until the socket is listening
  conf "$1"
  port=$(freeport)
  "$SFU" --config "$tmp/sfu.conf" --port "$port" 2>"$tmp/server.log" &
  pid=$!
  for _ in $(seq 100); do ss -ltnH "sport = :$port" | grep -q LISTEN && return 0; sleep 0.1; done
  fail "nothing listens on port $port with listen_addr '$1'"; cat "$tmp/server.log"
}
bound() { ss -ltnH "sport = :$port" | awk '{print $4}' | sort | tr '\n' ' ' | sed 's/ $//'; }
get() { curl -s -g -o /dev/null -w '%{http_code}' --max-time 2 "http://$1:$port/healthz"; }

start 127.0.0.1
[ "$(bound)" = "127.0.0.1:$port" ] && ok "127.0.0.1 -> bound to $(bound)" || fail "127.0.0.1 -> bound to '$(bound)'"
[ "$(get 127.0.0.1)" = 200 ] && [ "$(get '[::1]')" = 000 ] && ok "answers on 127.0.0.1, not on ::1" || fail "127.0.0.1: v4 $(get 127.0.0.1), v6 $(get '[::1]')"
stop

start ::1
[ "$(bound)" = "[::1]:$port" ] && ok "::1 -> bound to $(bound)" || fail "::1 -> bound to '$(bound)' (want [::1]:$port only)"
[ "$(get '[::1]')" = 200 ] && [ "$(get 127.0.0.1)" = 000 ] && ok "answers on ::1, not on 127.0.0.1" || fail "::1: v6 $(get '[::1]'), v4 $(get 127.0.0.1)"
grep -q 'listening on' "$tmp/server.log" || fail "no 'listening on' line"

# SIGHUP with an address that is not on the host: refused with the reason, the socket stays.
sed -i "s/^listen_addr =.*/listen_addr = $NOT_HERE/" "$tmp/sfu.conf"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q 'keeping the running config' "$tmp/server.log" && break; sleep 0.1; done
grep 'keeping the running config' "$tmp/server.log" | grep -q "listen_addr.*not an address of this host" &&
  ok "SIGHUP with listen_addr = $NOT_HERE refused: $(grep -o 'listen_addr.*' "$tmp/server.log" | head -1)" ||
  fail "SIGHUP did not refuse listen_addr = $NOT_HERE: $(tail -3 "$tmp/server.log")"
[ "$(bound)" = "[::1]:$port" ] && [ "$(get '[::1]')" = 200 ] && ok "still serving on [::1]:$port" || fail "after the refused reload: '$(bound)'"
stop

start ''
case "$(bound)" in
"*:$port" | "[::]:$port") ok "empty -> bound to $(bound) (every address)" ;;
*) fail "empty -> bound to '$(bound)'" ;;
esac
[ "$(get 127.0.0.1)" = 200 ] && [ "$(get '[::1]')" = 200 ] && ok "empty: answers on IPv4 and IPv6" || fail "empty: v4 $(get 127.0.0.1), v6 $(get '[::1]')"
# The port taken: a second server fails at once and says why.
conf ''
"$SFU" --config "$tmp/sfu.conf" --port "$port" 2>"$tmp/second.log" &
p2=$!
for _ in $(seq 50); do kill -0 $p2 2>/dev/null || break; sleep 0.1; done
if kill -0 $p2 2>/dev/null; then kill -KILL $p2; fail "a second server on a taken port did not exit"; else
  wait $p2; rc=$?
  [ $rc -ne 0 ] && grep -q "Address already in use" "$tmp/second.log" && ok "port taken: exit $rc, '$(grep -o 'cannot listen.*' "$tmp/second.log")'" ||
    fail "port taken: exit $rc, $(cat "$tmp/second.log")"
fi
stop

# An address that is not on this host: a config error at start-up and for --check-config.
conf $NOT_HERE
"$SFU" --config "$tmp/sfu.conf" --port "$(freeport)" 2>"$tmp/bad.log" &
p3=$!
for _ in $(seq 50); do kill -0 $p3 2>/dev/null || break; sleep 0.1; done
kill -0 $p3 2>/dev/null && { kill -KILL $p3; fail "started with listen_addr = $NOT_HERE"; }
wait $p3; rc=$?
[ $rc = 78 ] && grep -q "listen_addr.*not an address of this host" "$tmp/bad.log" && ok "start-up with $NOT_HERE: exit 78, $(cat "$tmp/bad.log")" ||
  fail "start-up with $NOT_HERE: exit $rc, $(cat "$tmp/bad.log")"
"$SFU" --check-config "$tmp/sfu.conf" >/dev/null 2>&1; rc=$?
[ $rc = 78 ] && ok "--check-config: 78" || fail "--check-config with $NOT_HERE: exit $rc"

if [ $fails -ne 0 ]; then
  echo "--- server log (tail)"; tail -20 "$tmp/server.log"
  echo "test_listen: $fails failure(s)"; exit 1
fi
echo "test_listen: all passed"
