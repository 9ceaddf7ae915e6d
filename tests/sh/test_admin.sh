#!/usr/bin/env bash
# The admin API as an operator uses it: off without a token (404), 401 without or with a wrong
# bearer token, GET /admin/rooms lists rooms and participants, POST .../participants/ID/remove
# and POST .../rooms/NAME/close remove people (they get error "removed", the others
# "participant-left" with reason "removed"), unknown names are 404. Also /healthz and /metrics answer.
# Then SIGHUP reloads what docs/deploy.md says it reloads: the admin token (the old one is refused, the
# new one works), the metrics switch (/metrics 404 when off) and the limits (a lowered
# max_participants_per_room refuses the next join with room_full).
# Usage: bash test_admin.sh <sfu-binary> <source-dir>. Loopback only; every wait bounded.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lib_init admin
SFU=$(readlink -f "${1:?usage: test_admin.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage: test_admin.sh <sfu-binary> <source-dir>}")

TOKEN=admin-token-0123456789abcdef
sed "s/^admin_token *=.*/admin_token = $TOKEN/" "$SRC/conf/sfu.conf" >"$tmp/sfu.conf"
grep -q "^admin_token = $TOKEN" "$tmp/sfu.conf" || { echo "FAIL: the sample config has no admin_token line"; exit 1; }
start_server "$SFU" "$tmp/server.log" --config "$tmp/sfu.conf" || { fail "server did not start"; finish; }

# A WebSocket participant: joins ROOM as NAME, writes every server message type (error codes, leave
# reasons) to a file, stays until closed by the server or 30 s pass.
cat >"$tmp/client.mjs" <<'JS'
import fs from 'node:fs';
const [url, room, name, out] = process.argv.slice(2);
const ws = new WebSocket(url);
const log = (l) => fs.appendFileSync(out, l + '\n');
ws.onopen = () => ws.send(JSON.stringify({ type: 'join', room, name }));
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  log(m.type === 'error' ? `error ${m.code}` : m.type === 'joined' ? `joined ${m.id}`
    : m.type === 'participant-left' ? `participant-left ${m.id} ${m.reason}` : m.type);
};
ws.onclose = () => { log('closed'); process.exit(0); };
setTimeout(() => process.exit(0), 30000);
JS
client() { node "${NODE_WS[@]}" "$tmp/client.mjs" "ws://127.0.0.1:$port/ws" "$1" "$2" "$tmp/$2.log" 2>/dev/null & track $!; }
code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
three() { [ "$(metric sfu_participants)" = 3 ]; }

client r1 ann; client r1 bob; client r2 cid
for n in ann bob cid; do wait_for "$tmp/$n.log" '^joined' || fail "$n did not join"; done
ann_id=$(awk '/^joined/{print $2}' "$tmp/ann.log")

[ "$(code "$base/healthz")" = 200 ] && ok "/healthz 200" || fail "/healthz"
wait_until 5 three && ok "/metrics counts 3 participants" || fail "/metrics: sfu_participants $(metric sfu_participants)"
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
wait_for "$tmp/bob.log" "^participant-left $ann_id removed$" && ok "bob sees ann leave with reason 'removed'" ||
  fail "bob did not see ann leave as removed: $(grep participant-left "$tmp/bob.log")"
grep -q '^participant-left' "$tmp/cid.log" && fail "cid (other room) saw a leave" || ok "other room unaffected"

[ "$(code -X POST "${AUTH[@]}" "$base/admin/rooms/r2/close")" = 200 ] || fail "close r2: $(cat "$tmp/body")"
wait_for "$tmp/cid.log" '^error removed' && wait_for "$tmp/cid.log" '^closed' && ok "closing r2 removed cid" || fail "cid not removed"
code "${AUTH[@]}" "$base/admin/rooms" >/dev/null
grep -q '"name":"r2"' "$tmp/body" && fail "r2 still listed" || ok "r2 gone from the listing"
grep -q '"name":"bob"' "$tmp/body" && ok "bob still listed in r1" || fail "bob missing"

# ---- SIGHUP: admin token, metrics switch, limits ----
TOKEN2=admin-token-after-reload-9876
sed -i -e "s/^admin_token = .*/admin_token = $TOKEN2/" -e 's/^enabled = true$/enabled = false/' \
  -e 's/^max_participants_per_room = .*/max_participants_per_room = 1/' "$tmp/sfu.conf"
kill -HUP "$spid"
wait_for "$tmp/server.log" "SIGHUP: reloaded" || fail "no 'SIGHUP: reloaded' line"
[ "$(code "${AUTH[@]}" "$base/admin/rooms")" = 401 ] && ok "SIGHUP: the old admin token is refused (401)" || fail "old token after reload: not 401"
[ "$(code -H "Authorization: Bearer $TOKEN2" "$base/admin/rooms")" = 200 ] && ok "SIGHUP: the new admin token works" ||
  fail "new token after reload: $(cat "$tmp/body")"
[ "$(code "$base/metrics")" = 404 ] && ok "SIGHUP: metrics off -> /metrics 404" || fail "/metrics after 'enabled = false': $(head -c 200 "$tmp/body")"
client r1 dan
wait_for "$tmp/dan.log" '^error room_full' && ok "SIGHUP: max_participants_per_room = 1 refuses a second participant (room_full)" ||
  fail "dan joined a room of 1 after the reload: $(cat "$tmp/dan.log")"
stop_server "admin server"

# Without admin_token the API is off.
start_server "$SFU" "$tmp/server2.log" --config "$SRC/conf/sfu.conf" || fail "second server did not start"
[ "$(code "${AUTH[@]}" "$base/admin/rooms")" = 404 ] && ok "no admin_token configured: 404" || fail "admin API not off"
stop_server "server without admin_token"
finish "$tmp/server.log"
