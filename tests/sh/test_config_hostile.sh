#!/usr/bin/env bash
# A config file that sets nothing or cannot be read never replaces the running config: an empty
# file (0 bytes, or only blank lines and comments) is refused by --check-config and at start-up
# (exit 78, with the reason); on SIGHUP an empty, missing or unreadable file is refused with the
# reason in the log and the running config stays (the admin API, which an empty file would turn
# off, keeps answering); a good file then reloads.
# Usage: bash test_config_hostile.sh <sfu-binary> <source-dir>. Loopback only; every wait bounded.
set -uo pipefail
SFU=$(readlink -f "${1:?usage: test_config_hostile.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage: test_config_hostile.sh <sfu-binary> <source-dir>}")
tmp=$(mktemp -d /tmp/sfu-cfghostile-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null; for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
  chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
TOKEN=admin-token-0123456789abcdef

for what in empty blank; do
  desc="a 0-byte file"
  if [ $what = empty ]; then : >"$tmp/$what.conf"; else desc="a file of blank lines and a comment"; printf '\n  \n# only a comment\n\t\n' >"$tmp/$what.conf"; fi
  out=$("$SFU" --check-config "$tmp/$what.conf" 2>&1); rc=$?
  [ $rc = 78 ] && grep -q "empty" <<<"$out" && ok "--check-config on $desc: 78 ($out)" || fail "--check-config on $desc: $rc $out"
  out=$(timeout 10 "$SFU" --config "$tmp/$what.conf" --port 1 2>&1); rc=$?
  [ $rc = 78 ] && ok "start-up with $desc: 78" || fail "start-up with $desc: $rc $out"
done

conf="$tmp/sfu.conf"
sed "s/^admin_token =.*/admin_token = $TOKEN/" "$SRC/conf/sfu.conf" >"$tmp/good.conf"
cp "$tmp/good.conf" "$conf"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$SFU" --config "$conf" --port "$port" 2>"$tmp/server.log" &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
admin() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Authorization: Bearer $TOKEN" "$base/admin/rooms"; }
[ "$(admin)" = 200 ] || fail "admin API not on at start ($(admin))"
hup() { # WHAT PATTERN: SIGHUP, wait for the next "SIGHUP:" line
  local n
  n=$(grep -c 'SIGHUP' "$tmp/server.log")
  kill -HUP "$pid"
  for _ in $(seq 50); do [ "$(grep -c 'SIGHUP' "$tmp/server.log")" -gt "$n" ] && break; sleep 0.1; done
  sleep 0.2
  if tail -n +$((n + 1)) <(grep 'SIGHUP' "$tmp/server.log") | grep -q "keeping the running config.*$2"; then
    ok "SIGHUP with $1: refused: $(grep 'keeping the running config' "$tmp/server.log" | tail -1 | sed 's/.*keeping/keeping/')"
  else
    fail "SIGHUP with $1 was not refused with '$2': $(grep SIGHUP "$tmp/server.log" | tail -2)"
  fi
  [ "$(admin)" = 200 ] && ok "  the running config stays (admin API still on)" || fail "  the admin API answered $(admin) after $1"
  [ "$(curl -s --max-time 2 "$base/healthz")" = ok ] || fail "  /healthz after $1"
}
: >"$conf"
hup "an empty file" "empty"
printf '# nothing here\n\n' >"$conf"
hup "only a comment" "empty"
rm -f "$conf"
hup "no file" "cannot read config file"
mkdir "$conf"
hup "a directory in its place" "cannot read config file"
rmdir "$conf"
if [ "$(id -u)" != 0 ]; then # root reads any file: chmod proves nothing there
  cp "$tmp/good.conf" "$conf"; chmod 000 "$conf"
  hup "an unreadable file" "cannot read config file"
  chmod 644 "$conf"
fi
cp "$tmp/good.conf" "$conf"
sed -i 's/^admin_token =.*/admin_token =/' "$conf"
kill -HUP "$pid"
for _ in $(seq 50); do [ "$(admin)" = 404 ] && break; sleep 0.1; done
[ "$(admin)" = 404 ] && ok "a good file reloads (admin API off as it now says)" || fail "a good file did not reload: admin $(admin)"

if [ $fails -ne 0 ]; then
  echo "--- server log (tail)"; tail -20 "$tmp/server.log"
  echo "test_config_hostile: $fails failure(s)"; exit 1
fi
echo "test_config_hostile: all passed"
