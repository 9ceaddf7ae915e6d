#!/usr/bin/env bash
# The test command: installs what the tests need, builds, runs every test
# (unit, shell, headless Chromium) and then the unit tests again under
# ASan + UBSan + LeakSanitizer. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
conf/deps.sh test
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

jobs=$(nproc)
echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
(cd build && ctest -LE churn --output-on-failure --timeout 300)

echo "== sanitizer build (ASan + UBSan + LSan): unit tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSFU_SANITIZE=ON -DSFU_BROWSER_TESTS=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/../tests/lsan.supp" ctest -L unit --output-on-failure --timeout 300)

echo "== sanitizer build: the server under hostile and everyday signaling (reports must be empty)"
# The ASan server writes any ASan/UBSan/LSan report to a file; the tests run it, stop it with SIGTERM
# (so LeakSanitizer runs at exit), and then no report may exist.
reports=$PWD/build-asan/san-reports
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan" UBSAN_OPTIONS="print_stacktrace=1:log_path=$reports/ubsan"
# The churn test drives the server with the normal build's sfu-bench: it is the server under test.
(cd build-asan && SFU_BENCH="$PWD/../build/bin/sfu-bench" \
  ctest -R '^test_(admin|config|tls_reload|churn|counters|fd_limit|listen|config_hostile)$' --output-on-failure --timeout 900)
node tests/e2e/test_protocol.mjs build-asan/bin/sfu "$PWD"
node tests/e2e/test_limits.mjs build-asan/bin/sfu "$PWD"
node tests/e2e/test_http_hostile.mjs build-asan/bin/sfu "$PWD"
unset ASAN_OPTIONS UBSAN_OPTIONS
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

echo "== all tests passed in $(( $(date +%s) - start )) s"
