#!/usr/bin/env bash
# The systemd watchdog fires when a thread hangs (docs/deploy.md, "Start"): the server sends WATCHDOG=1
# every 500 ms only while both its signaling and its media thread work; one of them stopped (ptrace on
# that thread alone) ends the pings, so systemd's WatchdogSec kills and restarts it; resumed, the pings
# come back. The notify socket and the thread stops are in watchdog_probe.py (Debian's python3).
# Usage: bash test_watchdog.sh <sfu-binary> <source-dir>. Loopback only; every wait bounded.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lib_init watchdog
SFU=$(readlink -f "${1:?usage: test_watchdog.sh <sfu-binary> <source-dir>}")
SRC=$(readlink -f "${2:?usage: test_watchdog.sh <sfu-binary> <source-dir>}")
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 missing (conf/deps.sh test installs python3)"
# Stopping one thread needs ptrace on the server (our own child): Yama's level 3 forbids it.
[ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" != 3 ] || skip "ptrace disabled (kernel.yama.ptrace_scope = 3)"

for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 20000))
  port_free "$port" && break
done
timeout 60 /usr/bin/python3 "$(dirname "$0")/watchdog_probe.py" "$SFU" "$SRC/conf/sfu.conf" "$port"
rc=$?
[ $rc = 0 ] || fail "watchdog probe (exit $rc)"
finish
