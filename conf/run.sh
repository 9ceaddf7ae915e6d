#!/usr/bin/env bash
# Installs dependencies, builds, and starts the server on the default config
# with the web page at http://localhost:8080/ (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
conf/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sfu-server
echo "open http://localhost:8080/?room=demo&name=ann in two or more tabs"
exec build/bin/sfu --config conf/sfu.conf "$@"
