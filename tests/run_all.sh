#!/usr/bin/env bash
# The test command: installs what the tests need, builds, runs every test
# (unit, shell, headless Chromium) and then the unit tests again under
# ASan + UBSan + LeakSanitizer. Exits non-zero on any failure, and on any test that was skipped
# (exit 77: it could not run its real check here) unless SFU_ALLOW_SKIP=1; CI never sets it.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
skipped=()

# run_ctest ARGS...: ctest with ARGS; its skipped tests are added to $skipped.
run_ctest() {
  local log rc=0
  log=$(mktemp)
  ctest "$@" 2>&1 | tee "$log" || rc=$?
  while read -r name; do skipped+=("$name"); done < <(awk '/\*\*\*Skipped/ {for (i = 1; i <= NF; i++) if ($i ~ /^#[0-9]+:$/) print $(i + 1)}' "$log")
  rm -f "$log"
  return "$rc"
}

# run_test NAME COMMAND...: one test outside ctest; exit 77 counts as skipped.
run_test() {
  local name=$1 rc=0
  shift
  "$@" || rc=$?
  [ "$rc" = 77 ] && { skipped+=("$name"); return 0; }
  return "$rc"
}
conf/deps.sh test
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

jobs=$(nproc)
echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
# (test_churn here bounds resident memory in the normal build; the ASan pass below checks its leaks.)
run_ctest --test-dir build --output-on-failure --timeout 300

echo "== sanitizer build (ASan + UBSan + LSan): unit tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSFU_SANITIZE=ON -DSFU_BROWSER_TESTS=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" run_ctest --test-dir build-asan -L unit --output-on-failure --timeout 300

echo "== sanitizer build: the server under hostile and everyday signaling (reports must be empty)"
# The ASan server writes any ASan/UBSan/LSan report to a file (name ending in .PID); each test stops its
# servers with SIGTERM (so LeakSanitizer runs at exit) and fails on a non-zero exit status or a report for
# their pid (tests/sh/lib.sh stop_server, tests/e2e/harness.mjs Run.finish via SFU_SAN_REPORTS); the
# directory must still be empty at the end.
reports=$PWD/build-asan/san-reports
rm -rf "$reports" && mkdir -p "$reports"
export SFU_SAN_REPORTS=$reports
export ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan" UBSAN_OPTIONS="print_stacktrace=1:log_path=$reports/ubsan"
# The churn test drives the server with the normal build's sfu-bench: it is the server under test.
SFU_BENCH="$PWD/build/bin/sfu-bench" \
  run_ctest --test-dir build-asan -R '^test_(admin|config|tls_reload|churn|counters|fd_limit|listen|config_hostile)$' \
  --output-on-failure --timeout 900
run_test e2e_test_protocol_asan node tests/e2e/test_protocol.mjs build-asan/bin/sfu "$PWD"
run_test e2e_test_limits_asan node tests/e2e/test_limits.mjs build-asan/bin/sfu "$PWD"
run_test e2e_test_http_hostile_asan node tests/e2e/test_http_hostile.mjs build-asan/bin/sfu "$PWD"
run_test e2e_test_reach_proto_asan node tests/e2e/test_reach_proto.mjs build-asan/bin/sfu "$PWD"
run_test e2e_test_answer_hostile_asan node tests/e2e/test_answer_hostile.mjs build-asan/bin/sfu "$PWD"
run_test e2e_test_reload_live_asan node tests/e2e/test_reload_live.mjs build-asan/bin/sfu "$PWD"
unset ASAN_OPTIONS UBSAN_OPTIONS SFU_SAN_REPORTS
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitizer reports from the server:"; head -60 "$reports"/*; exit 1
fi

echo "== fuzzing (bounded): each libFuzzer target ${FUZZ_SECONDS:=30} s under ASan + UBSan"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFU_FUZZ=ON -DSFU_SANITIZE=ON \
  -DSFU_BROWSER_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzzers
fuzz_failed=()
for bin in build-fuzz/fuzz/fuzz_*; do
  t=${bin##*/fuzz_}
  exe=$PWD/$bin
  out=$PWD/build-fuzz/fuzz-run/$t   # a copy of the corpus: new inputs never land in the repo
  rm -rf "$out" && mkdir -p "$out" && cp -r "tests/fuzz/corpus/$t" "$out/corpus"
  t0=$(date +%s)
  if (cd "$out" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$exe" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$out/" corpus >log.txt 2>&1); then
    echo "   fuzz_$t: ok in $(( $(date +%s) - t0 )) s ($(grep -o 'corp: [0-9]*' "$out/log.txt" | tail -1))"
  else
    fuzz_failed+=("$t")
    echo "   fuzz_$t: FAILED; reproducer: $(ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null)"
    grep -m1 -A25 -E '^==[0-9]+==|runtime error|check failed|ERROR: libFuzzer' "$out/log.txt" || tail -25 "$out/log.txt"
    echo "   (replay: $bin REPRODUCER; full log: $out/log.txt)"
  fi
done
[ ${#fuzz_failed[@]} -eq 0 ] || { echo "== fuzzers found crashes: ${fuzz_failed[*]}"; exit 1; }

if [ ${#skipped[@]} -gt 0 ]; then
  if [ "${SFU_ALLOW_SKIP:-0}" = 1 ]; then
    echo "== skipped (allowed by SFU_ALLOW_SKIP=1): ${skipped[*]}"
  else
    echo "== ${#skipped[@]} test(s) skipped: ${skipped[*]}"
    echo "   a skipped test checked nothing; fix what it needs (see its SKIP line), or set SFU_ALLOW_SKIP=1 to accept"
    exit 1
  fi
fi
echo "== all tests passed in $(( $(date +%s) - start )) s"
