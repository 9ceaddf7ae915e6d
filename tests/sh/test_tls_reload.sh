#!/usr/bin/env bash
# HTTPS with the config's certificate, and SIGHUP picking up a renewed certificate at the same
# paths (what certbot's renewal does) without dropping the server; a broken renewal (garbage
# key) keeps the old certificate and the server keeps serving.
# Usage: bash test_tls_reload.sh <sfu-binary> <source-dir>. Loopback only; bounded.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lib_init tls-reload
SFU=$(readlink -f "${1:?usage}")
SRC=$(readlink -f "${2:?usage}")
command -v openssl >/dev/null || { echo "FAIL: openssl CLI needed"; exit 1; }

mkcert() { # CN: a self-signed EC certificate at $tmp/cert.pem / key.pem
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
}
served_cn() { # the CN the server presents now
  echo | timeout 5 openssl s_client -connect "127.0.0.1:$port" -servername localhost 2>/dev/null |
    openssl x509 -noout -subject 2>/dev/null | sed -n 's/.*CN *= *//p'
}
mkcert first
sed -e "s|^tls_cert *=.*|tls_cert = $tmp/cert.pem|" -e "s|^tls_key *=.*|tls_key = $tmp/key.pem|" \
  "$SRC/conf/sfu.conf" >"$tmp/sfu.conf"
grep -q "^tls_cert = $tmp/cert.pem" "$tmp/sfu.conf" || { echo "FAIL: sample config has no tls_cert line to set"; exit 1; }
SCHEME=https start_server "$SFU" "$tmp/server.log" --config "$tmp/sfu.conf" || { fail "server did not start"; finish; }
pid=$spid
curl -skf "https://127.0.0.1:$port/healthz" >/dev/null && ok "HTTPS serves /healthz" || fail "no HTTPS"
[ "$(served_cn)" = first ] && ok "serves the configured certificate" || fail "CN '$(served_cn)', expected first"

mkcert renewed
kill -HUP "$pid"
is_renewed() { [ "$(served_cn)" = renewed ]; }
wait_until 5 is_renewed && ok "SIGHUP: renewed certificate served" || fail "after SIGHUP CN '$(served_cn)'"
grep -q "TLS certificate reloaded" "$tmp/server.log" && ok "reload logged" || fail "no reload log line"

echo garbage >"$tmp/key.pem"
kill -HUP "$pid"
wait_for "$tmp/server.log" "keeping the old TLS certificate"
grep -q "keeping the old TLS certificate" "$tmp/server.log" && ok "bad key refused, logged" || fail "bad key not reported"
[ "$(served_cn)" = renewed ] && ok "still serving the previous certificate" || fail "CN after a bad reload '$(served_cn)'"
kill -0 "$pid" 2>/dev/null && ok "server still running" || fail "server died"
stop_server "TLS server"
finish "$tmp/server.log"
