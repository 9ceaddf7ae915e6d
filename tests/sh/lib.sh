# Shared by the shell tests (sourced, not a test itself: ctest runs tests/sh/test_*.sh).
#   . "$(dirname "$0")/lib.sh"; lib_init NAME
# gives: ok/fail counting, a temporary directory $tmp removed on exit, servers started on a free port
# (retried when another process takes it first) and stopped with SIGTERM with their exit status and
# sanitizer reports checked, bounded waits, skip (exit 77: ctest reports it as skipped, and
# tests/run_all.sh fails on it unless SFU_ALLOW_SKIP=1) and finish. Loopback only; every wait bounded.

SKIP_EXIT=77

# lib_init NAME: the test's name (for messages and the temporary directory).
lib_init() {
  LIB_NAME=$1
  fails=0
  LIB_PIDS=()
  tmp=$(mktemp -d "/tmp/sfu-$LIB_NAME-XXXXXX")
  trap lib_cleanup EXIT
  trap 'echo "$LIB_NAME: interrupted"; exit 1' TERM INT
  NODE_WS=()
  node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null || NODE_WS=(--experimental-websocket)
}

# Everything this test started is killed, whatever happened.
lib_cleanup() {
  local p
  for p in "${LIB_PIDS[@]}"; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null; done
  rm -rf "$tmp"
}

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# skip REASON: this test cannot run its real check here.
skip() {
  echo "SKIP $LIB_NAME: $*"
  exit $SKIP_EXIT
}

# finish [LOG]: exit 1 (after LOG's tail) if anything failed, else 0.
finish() {
  if [ "$fails" -ne 0 ]; then
    [ -n "${1:-}" ] && [ -f "$1" ] && { echo "--- $1 (tail)"; tail -30 "$1" | sed 's/^/  | /'; }
    echo "$LIB_NAME: $fails failure(s)"
    exit 1
  fi
  echo "$LIB_NAME: all passed"
  exit 0
}

# track PID: kill it on exit if it is still running.
track() { LIB_PIDS+=("$1"); }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for FILE ERE [SECONDS=10]: until a line of FILE matches.
wait_for() {
  local n=$((${3:-10} * 10))
  while [ $n -gt 0 ]; do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
    n=$((n - 1))
  done
  return 1
}

# wait_until SECONDS COMMAND...: until COMMAND succeeds.
wait_until() {
  local n=$(($1 * 10))
  shift
  while [ $n -gt 0 ]; do
    "$@" && return 0
    sleep 0.1
    n=$((n - 1))
  done
  return 1
}

# start_server BIN LOG ARGS...: start BIN ARGS --port P on a free port P; sets $port, $spid and $base
# (https:// when ARGS name a config with tls_cert set: SCHEME=https). Waits (10 s at most) until
# /healthz answers; a start that lost the race for its port is retried on another.
start_server() {
  local bin=$1 log=$2 attempt i scheme=${SCHEME:-http}
  shift 2
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    port_free "$port" || continue
    "$bin" "$@" --port "$port" >"$log" 2>&1 &
    spid=$!
    track "$spid"
    base="$scheme://127.0.0.1:$port"
    for i in $(seq 100); do
      curl -sk -o /dev/null --max-time 1 "$base/healthz" && return 0
      kill -0 "$spid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    grep -q "cannot listen" "$log" && continue
    echo "server did not start:"
    sed 's/^/  | /' "$log"
    spid=
    return 1
  done
  spid=
  return 1
}

# stop_server [LABEL]: SIGTERM the server $spid, wait up to 10 s; sets $stop_rc (124: still running, then
# killed) and $stop_ms. Fails the test unless it exited 0 and left no sanitizer report: the sanitizer pass
# of tests/run_all.sh sets SFU_SAN_REPORTS to the directory where ASan/UBSan/LSan write theirs (file names
# end in .PID); LeakSanitizer runs at that exit.
stop_server() {
  local label=${1:-server} n=100 t0 f
  [ -n "${spid:-}" ] || { fail "$label: no server to stop"; return; }
  t0=$(date +%s%N)
  kill -TERM "$spid" 2>/dev/null
  while kill -0 "$spid" 2>/dev/null && [ $n -gt 0 ]; do
    sleep 0.1
    n=$((n - 1))
  done
  if kill -0 "$spid" 2>/dev/null; then
    kill -KILL "$spid"
    wait "$spid" 2>/dev/null
    stop_rc=124
  else
    wait "$spid"
    stop_rc=$?
  fi
  stop_ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$stop_rc" = 0 ] && ok "$label: SIGTERM -> exit 0 in $stop_ms ms" ||
    fail "$label: SIGTERM -> exit $stop_rc after $stop_ms ms (124: still running after 10 s)"
  if [ -n "${SFU_SAN_REPORTS:-}" ]; then
    for f in "$SFU_SAN_REPORTS"/*."$spid"; do
      [ -e "$f" ] || continue
      fail "$label: sanitizer report $f:"
      head -40 "$f" | sed 's/^/  | /'
    done
  fi
  spid=
}

# metric NAME: the value of an unlabelled sample of $base/metrics.
metric() { curl -sk --max-time 3 "$base/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
