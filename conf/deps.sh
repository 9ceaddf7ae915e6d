#!/usr/bin/env bash
# Installs what building, running and testing the SFU needs, from Debian's
# packages (and playwright-core and puppeteer-core from the npm registry for the browser tests).
# Usage: conf/deps.sh build|test     (idempotent; skips apt when all present)
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config libnice-dev libsrtp2-dev libssl-dev libwebsockets-dev
  libjansson-dev libglib2.0-dev libsystemd-dev libusrsctp-dev liburing-dev)
# systemd: systemd-analyze for tests/sh/test_systemd_unit.sh (offline; no running systemd needed).
# python3: tests/sh/watchdog_probe.py (systemd's notify socket, a thread stopped with ptrace).
TEST_PKGS=(libcmocka-dev libclang-rt-14-dev chromium firefox-esr ffmpeg clang iproute2 curl procps systemd nftables coturn
  python3)

want=("${BUILD_PKGS[@]}")
[ "${1:-build}" = test ] && want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
