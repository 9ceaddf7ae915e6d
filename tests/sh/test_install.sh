#!/usr/bin/env bash
# The install rules and the Debian package, as an operator uses them.
#  A. The build under test (its dir's parent is the build dir), `cmake --install --prefix /usr`
#     into a DESTDIR: the exact file list, the unit naming /usr/bin/sfu and /etc/sfu/sfu.conf,
#     what the install says about the built-in web root; then the installed binary started
#     with the installed config serves the installed page (GET /) and /healthz.
#  B. A fresh build configured for packaging (-DSFU_INSTALL_LAYOUT=ON -DCMAKE_INSTALL_PREFIX=/usr,
#     only sfu-server built), `cpack -G DEB`: the .deb's files, conffiles, maintainer scripts
#     and Depends; its binary, unpacked, has /usr/share/sfu/web built in, and serves the
#     unpacked page. (Installing the .deb needs root and changes the machine: not done here;
#     docs/deploy.md.)
# Usage: bash test_install.sh <sfu-binary> <source-dir>
# Talks to 127.0.0.1 only; every wait is bounded; servers it starts are killed on any exit.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lib_init install
SFU=$(readlink -f "${1:?usage: test_install.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage: test_install.sh <sfu-binary> <source-dir>}")
BUILD=$(dirname "$(dirname "$SFU")")
# The steps' own time limits (install 60 + 60, configure 60, build 240, cpack 120 s) stay under the ctest
# timeout (tests/CMakeLists.txt: 600 s), so a step that hangs is named.

# serve_check LABEL BIN WEBDIR ARGS...: start BIN with ARGS; GET / must be WEBDIR/index.html
# (which carries a marker), /app.js the installed one, /healthz 200 "ok"; SIGTERM exit 0.
serve_check() {
  local label=$1 bin=$2 web=$3
  shift 3
  local log="$tmp/$label.log"
  if ! start_server "$bin" "$log" "$@"; then
    fail "$label: the installed server did not start"
    return
  fi
  curl -s --max-time 5 -o "$tmp/index.got" -w '%{http_code}' "$base/" >"$tmp/code"
  if [ "$(cat "$tmp/code")" = 200 ] && cmp -s "$tmp/index.got" "$web/index.html"; then
    ok "$label: GET / is the installed index.html"
  else
    fail "$label: GET / gave $(cat "$tmp/code"), not the installed index.html ($(grep -c 'installed copy' "$tmp/index.got") marker)"
  fi
  curl -s --max-time 5 -o "$tmp/app.got" "$base/app.js"
  cmp -s "$tmp/app.got" "$web/app.js" && ok "$label: GET /app.js is the installed one" || fail "$label: GET /app.js differs"
  local hz
  hz=$(curl -s --max-time 5 -w ' %{http_code}' "$base/healthz" | tr -d '\n')
  [ "$hz" = "ok 200" ] && ok "$label: /healthz 200 ok" || fail "$label: /healthz gave '$hz'"
  grep -q "listening on http://0.0.0.0:$port/ (web root $web)$" "$log" &&
    ok "$label: the server says it serves $web" || fail "$label: no 'listening ... (web root $web)' line: $(head -3 "$log")"
  stop_server "$label"
}

# The files an install puts under its root (prefix /usr), sorted.
expected_files() {
  printf '%s\n' etc/sfu/sfu.conf usr/bin/sfu usr/lib/systemd/system/sfu.service usr/share/doc/sfu/README.md \
    usr/share/doc/sfu/deploy.md
  (cd "$SRC/web" && find . -type f | sed 's#^\./#usr/share/sfu/web/#')
}

# check_tree LABEL ROOT: ROOT holds exactly the expected files, copied unchanged.
check_tree() {
  local label=$1 root=$2
  diff <(expected_files | sort) <(cd "$root" && find . -type f | sed 's#^\./##' | sort) >"$tmp/tree.diff" &&
    ok "$label: exactly the expected files" ||
    { fail "$label: file list differs (< expected, > installed):"; sed 's/^/  | /' "$tmp/tree.diff"; }
  [ -x "$root/usr/bin/sfu" ] || fail "$label: usr/bin/sfu is not executable"
  diff -r "$SRC/web" "$root/usr/share/sfu/web" >/dev/null && cmp -s "$SRC/conf/sfu.conf" "$root/etc/sfu/sfu.conf" &&
    ok "$label: web files and sfu.conf are the source's" || fail "$label: installed web files or sfu.conf differ"
  # Prefix /usr: the unit is conf/sfu.service unchanged (it is written for /usr/bin, /etc/sfu).
  cmp -s "$SRC/conf/sfu.service" "$root/usr/lib/systemd/system/sfu.service" &&
    grep -qx 'ExecStart=/usr/bin/sfu --config /etc/sfu/sfu.conf' "$root/usr/lib/systemd/system/sfu.service" &&
    ok "$label: the unit starts /usr/bin/sfu --config /etc/sfu/sfu.conf" || fail "$label: the installed unit differs"
  # Mark the installed page, to tell it from the source tree's in GET /.
  echo '<!-- installed copy -->' >>"$root/usr/share/sfu/web/index.html"
}

command -v curl >/dev/null || { echo "FAIL: curl is needed"; exit 1; }
[ -f "$BUILD/cmake_install.cmake" ] || { echo "FAIL: $BUILD is not a CMake build dir (no cmake_install.cmake)"; exit 1; }

# ---- A. the build under test, prefix /usr, into a DESTDIR ----
root="$tmp/a"
if DESTDIR="$root" timeout 60 cmake --install "$BUILD" --prefix /usr >"$tmp/a-install.log" 2>&1; then
  ok "A: DESTDIR=… cmake --install $BUILD --prefix /usr"
  check_tree A "$root"
  layout=$(sed -n 's/^SFU_INSTALL_LAYOUT:BOOL=//p' "$BUILD/CMakeCache.txt")
  if [ "$layout" = ON ]; then
    grep -q 'installing a development build' "$tmp/a-install.log" && fail "A: install layout build, yet a development-build warning"
  else
    # An operator installing a development build is told what it will serve.
    tr -s ' \n' ' ' <"$tmp/a-install.log" | grep -q "sfu: installing a development build: the binary's built-in web root is the source tree ($SRC/web), not /usr/share/sfu/web" &&
      ok "A: the install warns that this development build's built-in web root is $SRC/web" ||
      { fail "A: no development-build warning in the install output:"; sed 's/^/  | /' "$tmp/a-install.log"; }
  fi
  out=$(timeout 10 "$root/usr/bin/sfu" --check-config "$root/etc/sfu/sfu.conf" --web-root "$root/usr/share/sfu/web" 2>&1)
  [ "$out" = "$root/etc/sfu/sfu.conf: OK" ] && ok "A: the installed binary accepts the installed config" || fail "A: --check-config: $out"
  # DESTDIR relocates /usr/share/sfu/web, so the web root is given (as a unit drop-in would).
  serve_check A "$root/usr/bin/sfu" "$root/usr/share/sfu/web" --config "$root/etc/sfu/sfu.conf" --web-root "$root/usr/share/sfu/web"
  # docs/deploy.md: an install never overwrites an edited sfu.conf; the new sample goes beside it.
  sed -i 's/^max_rooms = .*/max_rooms = 7/' "$root/etc/sfu/sfu.conf"
  if DESTDIR="$root" timeout 60 cmake --install "$BUILD" --prefix /usr >"$tmp/a-reinstall.log" 2>&1; then
    grep -qx 'max_rooms = 7' "$root/etc/sfu/sfu.conf" && cmp -s "$SRC/conf/sfu.conf" "$root/etc/sfu/sfu.conf.new" &&
      ok "A: a second install keeps the edited sfu.conf and puts the new sample beside it (sfu.conf.new)" ||
      fail "A: second install: sfu.conf $(grep -c '^max_rooms = 7' "$root/etc/sfu/sfu.conf") edits kept, sfu.conf.new $( [ -f "$root/etc/sfu/sfu.conf.new" ] && echo present || echo missing)"
  else
    fail "A: the second cmake --install failed:"
    sed 's/^/  | /' "$tmp/a-reinstall.log"
  fi
else
  fail "A: cmake --install failed:"
  sed 's/^/  | /' "$tmp/a-install.log"
fi

# ---- B. a packaging build and its .deb ----
pb="$tmp/build-pkg"
if ! command -v cpack >/dev/null || ! command -v dpkg-deb >/dev/null || ! command -v dpkg-shlibdeps >/dev/null; then
  fail "B: cpack, dpkg-deb and dpkg-shlibdeps (dpkg-dev) are needed"
  finish
fi
gen=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$BUILD/CMakeCache.txt")
if ! timeout 60 cmake -S "$SRC" -B "$pb" -G "${gen:-Unix Makefiles}" -DCMAKE_BUILD_TYPE=Debug -DSFU_INSTALL_LAYOUT=ON \
  -DCMAKE_INSTALL_PREFIX=/usr -DSFU_BROWSER_TESTS=OFF >"$tmp/b-configure.log" 2>&1; then
  fail "B: configure failed:"
  tail -20 "$tmp/b-configure.log" | sed 's/^/  | /'
  finish
fi
if ! timeout 240 cmake --build "$pb" --target sfu-server -j"$(nproc)" >"$tmp/b-build.log" 2>&1; then
  fail "B: building sfu-server failed:"
  tail -20 "$tmp/b-build.log" | sed 's/^/  | /'
  finish
fi
ok "B: packaging build (SFU_INSTALL_LAYOUT=ON, prefix /usr) of sfu-server"
if (cd "$pb" && timeout 120 cpack -G DEB >"$tmp/b-cpack.log" 2>&1); then
  deb=$(ls "$pb"/sfu_*.deb 2>/dev/null | head -1)
else
  deb=""
fi
if [ -z "$deb" ]; then
  fail "B: cpack -G DEB made no .deb:"
  tail -20 "$tmp/b-cpack.log" | sed 's/^/  | /'
  finish
fi
ok "B: cpack -G DEB: $(basename "$deb")"
ver=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$pb/CMakeCache.txt")
[ "$(basename "$deb")" = "sfu_${ver}-1_$(dpkg --print-architecture).deb" ] || fail "B: unexpected package file name $(basename "$deb")"
info=$(dpkg-deb -f "$deb" Package Version Section Depends)
echo "$info" | grep -qx "Package: sfu" && echo "$info" | grep -qx "Version: ${ver}-1" && echo "$info" | grep -qx "Section: net" ||
  fail "B: control fields: $info"
deps=$(dpkg-deb -f "$deb" Depends)
for d in adduser libc6 libglib2.0-0 libnice10 libsrtp2-1 libssl3 libwebsockets17 libjansson4 libsystemd0; do
  echo "$deps" | grep -Eq "(^|, )$d( \(|,|$)" || fail "B: Depends lacks $d: $deps"
done
ok "B: Depends: $deps"
dpkg-deb -e "$deb" "$tmp/ctl"
[ "$(cat "$tmp/ctl/conffiles" 2>/dev/null)" = /etc/sfu/sfu.conf ] && ok "B: /etc/sfu/sfu.conf is a conffile" ||
  fail "B: conffiles: '$(cat "$tmp/ctl/conffiles" 2>/dev/null)'"
for s in postinst prerm postrm; do
  [ -x "$tmp/ctl/$s" ] && cmp -s "$tmp/ctl/$s" "$SRC/conf/debian/$s" || fail "B: maintainer script $s missing or not conf/debian/$s"
  sh -n "$tmp/ctl/$s" || fail "B: $s: shell syntax error"
done
grep -q 'adduser --system --group' "$tmp/ctl/postinst" && grep -q 'chmod 0750 /etc/sfu' "$tmp/ctl/postinst" &&
  ok "B: postinst creates the sfu user and makes /etc/sfu 0750 root:sfu" || fail "B: postinst lacks the user or the permissions"
dpkg-deb -x "$deb" "$tmp/b"
check_tree B "$tmp/b"
# The packaged binary's built-in web root is /usr/share/sfu/web.
if [ -d /usr/share/sfu/web ]; then
  echo "note: /usr/share/sfu/web exists on this machine (sfu installed?): built-in web root check skipped"
else
  out=$(timeout 10 "$tmp/b/usr/bin/sfu" --check-config "$tmp/b/etc/sfu/sfu.conf" 2>&1)
  rc=$?
  [ $rc = 78 ] && echo "$out" | grep -q "^sfu: web_root /usr/share/sfu/web\b.*No such file or directory" &&
    ok "B: the packaged binary's built-in web root is /usr/share/sfu/web" || fail "B: built-in web root: exit $rc, '$out'"
fi
serve_check B "$tmp/b/usr/bin/sfu" "$tmp/b/usr/share/sfu/web" --config "$tmp/b/etc/sfu/sfu.conf" --web-root "$tmp/b/usr/share/sfu/web"

finish
