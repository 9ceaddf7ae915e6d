#!/usr/bin/env bash
# The command line and the config file as an operator meets them: --check-config on the sample
# and on bad files (exit 78, exact "FILE:LINE: [group] key: reason" messages), --version, --help,
# bad usage (exit 64), a start refused on a bad config, SIGHUP reload with a good and a bad
# file, and SIGTERM drain with two WebSocket participants in a room.
# Usage: bash test_config.sh <sfu-binary> <source-dir>
# Talks to 127.0.0.1 only; every wait is bounded; the servers and clients it starts are killed
# on any exit.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lib_init config
SFU=$(readlink -f "${1:?usage: test_config.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage: test_config.sh <sfu-binary> <source-dir>}")
SAMPLE="$SRC/conf/sfu.conf"

command -v curl >/dev/null || { echo "FAIL: curl is needed"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node is needed (WebSocket clients)"; exit 1; }

# ---- helpers ----

# run NAME WANT_RC WANT_STDERR_FIRST_LINE ARGS...: run the binary (bounded), check status and
# the first line of stderr (exact; "-" = do not check). Leaves $tmp/out and $tmp/err.
run() {
  local name=$1 want_rc=$2 want_err=$3
  shift 3
  timeout 10 "$SFU" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$? first
  first=$(head -1 "$tmp/err")
  if [ "$rc" -ne "$want_rc" ]; then
    fail "$name: exit $rc, expected $want_rc (stderr: $(head -3 "$tmp/err"))"
  elif [ "$want_err" != "-" ] && [ "$first" != "$want_err" ]; then
    fail "$name: stderr"
    echo "    got:      $first"
    echo "    expected: $want_err"
  else
    ok "$name"
  fi
}

wait_log() { wait_for "$1" "$2" "${3:-5}"; }

healthz() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$port/healthz"; }

# WebSocket participants: node ws.mjs PORT ROOM N MODE; MODE once = join then leave,
# hold = stay until the server closes. Prints JOINED/ALL_JOINED/ERROR/CLOSED/ALL_CLOSED lines.
cat >"$tmp/ws.mjs" <<'EOF'
const [port, room, n, mode] = process.argv.slice(2);
const clients = [];
let joined = 0;
const out = (s) => console.log(s);
for (let i = 0; i < Number(n); i++) {
  const name = `c${i}`;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const c = { name, ws };
  clients.push(c);
  ws.onopen = () => ws.send(JSON.stringify({ type: 'join', room, name }));
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === 'joined') {
      out(`JOINED ${name} ${m.id}`);
      if (++joined === Number(n)) {
        out('ALL_JOINED');
        if (mode === 'once') setTimeout(() => clients.forEach((x) => x.ws.close()), 300);
      }
    } else if (m.type === 'error') {
      out(`ERROR ${name} ${m.code} ${m.message}`);
    }
  };
  ws.onerror = () => out(`WSERROR ${name}`);
  ws.onclose = (e) => {
    out(`CLOSED ${name} ${e.code}`);
    if (clients.every((x) => x.ws.readyState === WebSocket.CLOSED)) {
      out('ALL_CLOSED');
      process.exit(0);
    }
  };
}
setTimeout(() => { out('TIMEOUT'); process.exit(3); }, 20000);
EOF
# join_once ROOM: one participant joins and leaves (bounded).
join_once() {
  timeout 15 node "${NODE_WS[@]}" "$tmp/ws.mjs" "$port" "$1" 1 once >"$tmp/once.out" 2>&1
  grep -q '^ALL_JOINED$' "$tmp/once.out" || { echo "  (join failed: $(cat "$tmp/once.out"))"; return 1; }
}

# ---- 1. --check-config ----
run "--check-config on the sample" 0 "" --check-config "$SAMPLE"
[ "$(cat "$tmp/out")" = "$SAMPLE: OK" ] || fail "--check-config sample: stdout '$(cat "$tmp/out")'"

# bad files: content | expected message after "sfu: FILE"
bad_cases=(
  $'[server]\nprot = 1\n'
  ":2: [server] prot: unknown key (did you mean 'port'?)"
  $'# x\n[sever]\nport = 1\n'
  ":2: [sever]: unknown group (known: server, ice, turn, signaling, limits, log, metrics, auth)"
  $'[server]\nport = 65536\n'
  ":2: [server] port: '65536' is not a whole number from 1 to 65535"
  $'[ice]\nport_min = 5000\nport_max = 4000\n'
  ":3: [ice] port_max: port_min (5000) is greater than port_max (4000)"
  $'[server]\nport = 1\nport = 2\n'
  ":3: [server] port: key set twice (first on line 2)"
  $'[server]\nport 8080\n'
  ":2: syntax error: not a 'key = value' line, a [group] header or a # comment"
  $'[log]\nlevel = verbose\n'
  ":2: [log] level: 'verbose' is not a log level (error, warning, info, debug)"
  $'[log]\njson = maybe\n'
  ":2: [log] json: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)"
  $'[server]\nweb_root = /nonexistent/web\n'
  ":2: [server] web_root: '/nonexistent/web': No such file or directory"
  $'[ice]\nturn_urls = turn:h\n'
  ":2: [ice] turn_urls: turn_urls needs turn_username and turn_password"
  $'[ice]\nnat_public_ip = example.com\n'
  ":2: [ice] nat_public_ip: 'example.com': not an IPv4 or IPv6 address"
)
for ((i = 0; i < ${#bad_cases[@]}; i += 2)); do
  f="$tmp/bad$((i / 2)).conf"
  printf '%s' "${bad_cases[i]}" >"$f"
  run "--check-config bad$((i / 2)).conf${bad_cases[i + 1]%%:*}" 78 "sfu: $f${bad_cases[i + 1]}" --check-config "$f"
done

# A secret is never echoed.
printf '[metrics]\nadmin_token = hunter2hunter\n' >"$tmp/secret.conf"
run "--check-config short admin_token" 78 \
  "sfu: $tmp/secret.conf:2: [metrics] admin_token: value: too short (at least 16 characters)" --check-config "$tmp/secret.conf"
grep -q hunter2 "$tmp/err" "$tmp/out" && fail "the admin_token value appears in the output"

# The sample with one value broken: the line number is the sample's.
sed 's/^max_bitrate_kbps = 2500$/max_bitrate_kbps = 20/' "$SAMPLE" >"$tmp/sample-bad.conf"
line=$(grep -n '^max_bitrate_kbps = 20$' "$tmp/sample-bad.conf" | cut -d: -f1)
run "--check-config sample with a bad max_bitrate_kbps" 78 \
  "sfu: $tmp/sample-bad.conf:$line: [limits] max_bitrate_kbps: '20' is not a whole number from 30 to 1000000" \
  --check-config "$tmp/sample-bad.conf"

run "--check-config missing file" 78 "sfu: $tmp/none.conf: cannot read config file: No such file or directory" \
  --check-config "$tmp/none.conf"
run "--check-config on a directory" 78 "sfu: $tmp: cannot read config file: Is a directory" --check-config "$tmp"
run "--check-config with a bad --web-root" 78 "sfu: --web-root /nonexistent: No such file or directory" \
  --check-config "$SAMPLE" --web-root /nonexistent

# ---- 2. --version, --help, bad usage ----
run "--version" 0 "" --version
grep -Eq '^sfu [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "--version printed '$(cat "$tmp/out")'"
run "-V" 0 "" -V
run "--help" 0 "" --help
grep -q -- '--check-config FILE' "$tmp/out" && grep -q 'Exit status: 0 ok, 64 bad command line, 78 bad config.' "$tmp/out" ||
  fail "--help text lacks --check-config or the exit statuses"
run "-h" 0 "" -h
run "unknown option" 64 "sfu: unknown option '--bogus'" --bogus
grep -q '^Usage: ' "$tmp/err" || fail "bad usage does not print the usage"
run "--port 0" 64 "sfu: --port: '0' is not a port number (1-65535)" --port 0
run "--port without a value" 64 "sfu: --port needs a value" --port
run "--log-level loud" 64 "sfu: --log-level: 'loud' is not one of error, warning, info, debug" --log-level loud
run "stray argument" 64 "sfu: unexpected argument 'extra'" extra

# ---- 3. a start with a bad config is refused ----
bad_start=$((20000 + RANDOM % 20000))
run "start with a bad config" 78 "sfu: $tmp/bad0.conf:2: [server] prot: unknown key (did you mean 'port'?)" \
  --config "$tmp/bad0.conf" --port "$bad_start"
[ -s "$tmp/out" ] && fail "start with a bad config printed on stdout: $(cat "$tmp/out")"

# ---- 4. SIGHUP reload ----
conf="$tmp/live.conf"
cp "$SAMPLE" "$conf"
log="$tmp/reload.log"
if start_server "$SFU" "$log" --config "$conf"; then
  join_once r1 || fail "reload: first join"
  grep -q ' debug \[' "$log" && fail "reload: debug lines at log level info"

  # Good file: level debug. The next join logs debug lines.
  sed -i 's/^level = info$/level = debug/' "$conf"
  kill -HUP "$spid"
  if wait_log "$log" "info \[sfu\] SIGHUP: reloaded $conf \(log level debug\)$"; then
    ok "SIGHUP with a good file: reloaded (log level debug)"
    join_once r2 || fail "reload: join after the reload"
    wait_log "$log" ' debug \[' 3 && ok "log level debug takes effect (a debug line)" ||
      fail "no debug line after switching to debug"
  else
    fail "SIGHUP (level debug): no 'reloaded' line"
  fi

  # Good file: JSON lines.
  sed -i 's/^json = false$/json = true/' "$conf"
  kill -HUP "$spid"
  wait_log "$log" '^\{"ts":"[0-9T:.Z-]+","level":"info","domain":"sfu","msg":"SIGHUP: reloaded '"$conf"' \(log level debug\)"\}$' &&
    ok "SIGHUP with json = true: the server now logs JSON lines" || fail "no JSON 'reloaded' line after json = true"

  # Bad file: the running config stays (still debug, still JSON) and the server keeps serving.
  sed -i 's/^max_rooms = 1000$/max_rooms = lots/' "$conf"
  bad_line=$(grep -n '^max_rooms = lots$' "$conf" | cut -d: -f1)
  kill -HUP "$spid"
  if wait_log "$log" '^\{"ts":"[^"]+","level":"warning","domain":"sfu","msg":"SIGHUP: keeping the running config: '"$conf:$bad_line"': \[limits\] max_rooms: '"'lots'"' is not a whole number from 1 to 1000000"\}$'; then
    ok "SIGHUP with a bad file: the server says it keeps the running config (file, line, key, reason)"
  else
    fail "SIGHUP with a bad file: no 'keeping the running config' line"
  fi
  [ "$(healthz)" = 200 ] && ok "after the bad reload /healthz is 200" || fail "after the bad reload /healthz is $(healthz)"
  before=$(grep -c '"level":"debug"' "$log")
  join_once r3 && ok "after the bad reload a participant can still join" || fail "join after the bad reload"
  wait_log "$log" '"level":"debug"' 1
  [ "$(grep -c '"level":"debug"' "$log")" -gt "$before" ] && ok "old config in force: still debug, still JSON" ||
    fail "after the bad reload no JSON debug line"

  # The file disappears: kept too.
  mv "$conf" "$conf.gone"
  kill -HUP "$spid"
  wait_log "$log" '"msg":"SIGHUP: keeping the running config: '"$conf"': cannot read config file: No such file or directory"' &&
    ok "SIGHUP with the file gone: keeps the running config" || fail "SIGHUP with the file gone: no message"
  [ "$(healthz)" = 200 ] || fail "after SIGHUP with the file gone /healthz is $(healthz)"

  stop_server "reload server"
else
  fail "reload: server did not start"
fi

# ---- 5. SIGTERM drain with two participants ----
# docs/deploy.md: SIGTERM drains: every participant gets error shutting_down and a close, everything is
# closed within 5 s, exit 0.
log="$tmp/drain.log"
if start_server "$SFU" "$log" --config "$SAMPLE"; then
  node "${NODE_WS[@]}" "$tmp/ws.mjs" "$port" drain 2 hold >"$tmp/drain.out" 2>&1 &
  cpid=$!
  track "$cpid"
  if wait_log "$tmp/drain.out" '^ALL_JOINED$' 10; then
    wait_log "$log" 'room drain: p[0-9]+ \(c[01]\) joined .*; 2 here' 3 || fail "drain: the server does not show 2 participants"
    stop_server "SIGTERM with 2 participants"
    [ "$stop_ms" -le 5800 ] && ok "drain: over in $stop_ms ms (promised: within 5 s)" || fail "drain took $stop_ms ms (promised: within 5 s)"
    wait_until 5 bash -c "! kill -0 $cpid 2>/dev/null"
    for c in c0 c1; do
      grep -q "^ERROR $c shutting_down the server is shutting down$" "$tmp/drain.out" &&
        ok "drain: $c got error shutting_down" || fail "drain: $c got no 'shutting_down' error"
      grep -q "^CLOSED $c 1000$" "$tmp/drain.out" && ok "drain: $c's WebSocket closed normally (1000)" ||
        fail "drain: $c: $(grep "^CLOSED $c" "$tmp/drain.out" || echo 'no close')"
      e=$(grep -n "^ERROR $c shutting_down" "$tmp/drain.out" | cut -d: -f1)
      cl=$(grep -n "^CLOSED $c" "$tmp/drain.out" | cut -d: -f1)
      [ -n "$e" ] && [ -n "$cl" ] && [ "$e" -lt "$cl" ] || fail "drain: $c: the error does not come before the close"
    done
    grep -q 'info \[sfu\] stopping: draining participants$' "$log" && grep -q 'info \[sfu\] stopped$' "$log" ||
      fail "drain: no 'stopping'/'stopped' lines"
  else
    fail "drain: the two participants did not join: $(cat "$tmp/drain.out")"
  fi
  if [ $fails -ne 0 ]; then
    echo "--- clients"
    sed 's/^/  | /' "$tmp/drain.out"
    echo "--- server"
    tail -20 "$log" | sed 's/^/  | /'
  fi
else
  fail "drain: server did not start"
fi

finish
