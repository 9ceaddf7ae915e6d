#!/usr/bin/env bash
# Smoke test of the load generator: a meeting of 3 (everyone publishes audio
# and video, everyone subscribes) for 4 s against the real server; fails unless
# every join succeeded and every expected stream (3 x 2 x 2 = 12) arrived.
# Usage (ctest does this): bash tests/sh/test_bench_smoke.sh <sfu-binary> <source-dir>
set -uo pipefail
sfu=${1:?usage: test_bench_smoke.sh <sfu-binary> <source-dir>}
src=${2:?usage: test_bench_smoke.sh <sfu-binary> <source-dir>}
bench=$(dirname "$sfu")/sfu-bench
if [[ ! -x $bench ]]; then
  echo "FAIL: $bench not built"
  exit 1
fi
if ! command -v ffmpeg >/dev/null; then
  media=$(dirname "$(dirname "$sfu")")/bench-media
  if [[ ! -f $media/clip-1000k.ivf ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg >/dev/null 2>&1 || true
    fi
    if ! command -v ffmpeg >/dev/null; then
      echo "SKIP: ffmpeg is missing and cannot be installed (the bench needs it to make its clip)"
      exit 77
    fi
  fi
fi
out=$(mktemp /tmp/bench-smoke.XXXXXX.json)
trap 'rm -f "$out"' EXIT
SFU_BIN=$sfu BENCH_BIN=$bench SERVER_CORE=0 BENCH_CORE=$(( $(nproc) > 1 ? 1 : 0 )) \
  timeout 120 bash "$src/bench/run.sh" meeting --per-room 3 --duration 4 --warmup 1 --ramp 10 --json-out "$out"
rc=$?
if [[ $rc != 0 ]]; then
  echo "FAIL: sfu-bench exited with $rc"
  exit 1
fi
# The JSON report (jansson, indented): pick the numbers with sed.
field() { tr -d '\n ' < "$out" | sed -n "s/.*\"$1\":{\([^}]*\)}.*/\1/p" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"; }
ok=$(field joins ok); failed=$(field joins failed)
delivered=$(field streams delivered); expected=$(field streams expected)
echo "joins ok $ok, failed $failed; streams delivered $delivered of $expected expected"
if [[ $ok == 3 && $failed == 0 && $expected == 12 && $delivered == 12 ]]; then
  echo "PASS"
  exit 0
fi
echo "FAIL: not every join succeeded or not every expected stream was delivered"
exit 1
