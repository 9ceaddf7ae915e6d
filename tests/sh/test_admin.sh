#!/usr/bin/env bash
# The admin API as an operator uses it: off without a token (404), 401 without or with a wrong
# bearer token, GET /admin/rooms lists rooms and participants, POST .../participants/ID/remove
# and POST .../rooms/NAME/close remove people (they get error "removed", the others
# "participant-left"), unknown names are 404. Also /healthz and /metrics answer.
# Usage: bash test_admin.sh <sfu-binary> <source-dir>. Loopback only; every wait bounded.
set -uo pipefail
SFU=$(readlink -f "${1:?usage: test_admin.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage: test_admin.sh <sfu-binary> <source-dir>}")
tmp=$(mktemp -d /tmp/sfu-admin-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
NODE_WS=()
node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null || NODE_WS=(--experimental-websocket)

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
TOKEN=admin-token-0123456789abcdef
sed "s/^admin_token *=.*/admin_token = $TOKEN/; s/^# *admin_token *=.*/admin_token = $TOKEN/" \
  "$SRC/conf/sfu.conf" >"$tmp/sfu.conf"
grep -q "^admin_token = $TOKEN" "$tmp/sfu.conf" || printf '\n[metrics]\nadmin_token = %s\n' "$TOKEN" >>"$tmp/sfu.conf"
"$SFU" --config "$tmp/sfu.conf" --port "$port" 2>"$tmp/server.log" &
pids+=($!)
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

# A WebSocket participant: joins ROOM as NAME, writes every server message type (and error
# codes) to a file, stays until closed by the server or 30 s pass.
cat >"$tmp/client.mjs" <<'JS'
import fs from 'node:fs';
const [url, room, name, out] = process.argv.slice(2);
const ws = new WebSocket(url);
const log = (l) => fs.appendFileSync(out, l + '\n');
ws.onopen = () => ws.send(JSON.stringify({ type: 'join', room, name }));
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  log(m.type === 'error' ? `error ${m.code}` : m.type === 'joined' ? `joined ${m.id}` : m.type);
};
ws.onclose = () => { log('closed'); process.exit(0); };
setTimeout(() => process.exit(0), 30000);
JS
client() { node "${NODE_WS[@]}" "$tmp/client.mjs" "ws://127.0.0.1:$port/ws" "$1" "$2" "$tmp/$2.log" 2>/dev/null & pids+=($!); }
wait_for() { # FILE PATTERN: up to 10 s
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }

client r1 ann; client r1 bob; client r2 cid
for n in ann bob cid; do wait_for "$tmp/$n.log" '^joined' || fail "$n did not join"; done
ann_id=$(awk '/^joined/{print $2}' "$tmp/ann.log")

[ "$(code "$base/healthz")" = 200 ] && ok "/healthz 200" || fail "/healthz"
[ "$(code "$base/metrics")" = 200 ] && grep -q '^sfu_participants 3' "$tmp/body" && ok "/metrics counts 3 participants" \
  || { sleep 1; [ "$(code "$base/metrics")" = 200 ] && grep -q '^sfu_participants 3' "$tmp/body" && ok "/metrics counts 3 participants" || fail "/metrics: $(grep sfu_participants "$tmp/body")"; }
[ "$(code "$base/admin/rooms")" = 401 ] && ok "no token: 401" || fail "no token: not 401"
[ "$(code -H 'Authorization: Bearer wrong' "$base/admin/rooms")" = 401 ] && ok "wrong token: 401" || fail "wrong token: not 401"
AUTH=(-H "Authorization: Bearer $TOKEN")
if [ "$(code "${AUTH[@]}" "$base/admin/rooms")" = 200 ] && grep -q '"name":"r1"' "$tmp/body" &&
  grep -q '"name":"ann"' "$tmp/body" && grep -q '"name":"cid"' "$tmp/body"; then
  ok "GET /admin/rooms lists rooms and participants"
else
  fail "GET /admin/rooms: $(cat "$tmp/body")"
fi
[ "$(code -X POST "${AUTH[@]}" "$base/admin/participants/nobody/remove")" = 404 ] && ok "unknown participant: 404" || fail "unknown participant"
[ "$(code -X POST "${AUTH[@]}" "$base/admin/rooms/nowhere/close")" = 404 ] && ok "unknown room: 404" || fail "unknown room"
[ "$(code -X POST "$base/admin/participants/$ann_id/remove")" = 401 ] && ok "remove without token: 401" || fail "remove without token"

[ "$(code -X POST "${AUTH[@]}" "$base/admin/participants/$ann_id/remove")" = 200 ] || fail "remove ann: $(cat "$tmp/body")"
wait_for "$tmp/ann.log" '^error removed' && wait_for "$tmp/ann.log" '^closed' && ok "ann told 'removed' and closed" || fail "ann not removed: $(cat "$tmp/ann.log")"
wait_for "$tmp/bob.log" '^participant-left' && ok "bob sees ann leave" || fail "bob did not see ann leave"
grep -q '^participant-left' "$tmp/cid.log" && fail "cid (other room) saw a leave" || ok "other room unaffected"

[ "$(code -X POST "${AUTH[@]}" "$base/admin/rooms/r2/close")" = 200 ] || fail "close r2: $(cat "$tmp/body")"
wait_for "$tmp/cid.log" '^error removed' && wait_for "$tmp/cid.log" '^closed' && ok "closing r2 removed cid" || fail "cid not removed"
code "${AUTH[@]}" "$base/admin/rooms" >/dev/null
grep -q '"name":"r2"' "$tmp/body" && fail "r2 still listed" || ok "r2 gone from the listing"
grep -q '"name":"bob"' "$tmp/body" && ok "bob still listed in r1" || fail "bob missing"

# Without admin_token the API is off.
port2=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$SFU" --config "$SRC/conf/sfu.conf" --port "$port2" 2>"$tmp/server2.log" &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port2/healthz" >/dev/null && break; sleep 0.1; done
[ "$(code "${AUTH[@]}" "http://127.0.0.1:$port2/admin/rooms")" = 404 ] && ok "no admin_token configured: 404" || fail "admin API not off"

if [ $fails -ne 0 ]; then
  echo "--- server log (tail)"; tail -20 "$tmp/server.log"
  echo "test_admin: $fails failure(s)"; exit 1
fi
echo "test_admin: all passed"
