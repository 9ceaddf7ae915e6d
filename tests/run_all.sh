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
(cd build && ctest --output-on-failure --timeout 300)

echo "== sanitizer build (ASan + UBSan + LSan): unit tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSFU_SANITIZE=ON -DSFU_BROWSER_TESTS=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/../tests/lsan.supp" ctest -L unit --output-on-failure --timeout 300)

echo "== all tests passed in $(( $(date +%s) - start )) s"
