#!/usr/bin/python3
"""systemd's watchdog side for tests/sh/test_watchdog.sh (not a test itself).

Plays NOTIFY_SOCKET for the real server and checks docs/deploy.md's promise: WATCHDOG=1 every 500 ms while
both threads work, and none once either hangs, so systemd (WatchdogSec=30) kills and restarts a server
whose signaling or media thread is stuck. A thread is made to hang by stopping only it: ptrace
PTRACE_SEIZE + PTRACE_INTERRUPT on its thread id (the rest of the process runs on), PTRACE_DETACH resumes it.
Prints "ok: ..." / "FAIL: ..." lines; exit status 1 on any failure. Every wait is bounded.
Usage: watchdog_probe.py SFU CONFIG PORT
"""
import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
fails = 0


def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails += 1


def ptrace(req, tid):
    if libc.ptrace(req, tid, None, None) != 0:
        raise OSError(ctypes.get_errno(), f"ptrace({req:#x}, {tid})")


def freeze(tid):
    ptrace(PTRACE_SEIZE, tid)
    ptrace(PTRACE_INTERRUPT, tid)
    os.waitpid(tid, WALL)  # the thread is stopped now


def thaw(tid):
    ptrace(PTRACE_DETACH, tid)


class Notify:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []  # (time, text)

    def pump(self, secs):
        end = time.monotonic() + secs
        while (left := end - time.monotonic()) > 0:
            if select.select([self.sock], [], [], left)[0]:
                self.msgs.append((time.monotonic(), self.sock.recv(4096).decode()))

    def last_watchdog(self):
        return max((t for t, m in self.msgs if "WATCHDOG=1" in m), default=None)

    def wait_for(self, text, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if any(text in m for _, m in self.msgs):
                return True
            self.pump(0.1)
        return False

    def watchdogs_within(self, secs):
        """Watch for secs; the WATCHDOG=1 messages seen meanwhile."""
        t0 = time.monotonic()
        self.pump(secs)
        return sum(1 for t, m in self.msgs if t >= t0 and "WATCHDOG=1" in m)


def hang(n, proc, tid, label, quiet_after):
    """Stops thread tid: pings must end within quiet_after s and stay away; resumed, they come back."""
    n.pump(0)
    freeze(tid)
    t0 = time.monotonic()
    try:
        n.pump(quiet_after)
        last = n.last_watchdog() or t0
        extra = n.watchdogs_within(2.0)
        check(extra == 0 and last - t0 <= quiet_after,
              f"{label} hangs: WATCHDOG=1 stops ({last - t0:.1f} s after the hang; none in the next 2 s: {extra})")
    finally:
        thaw(tid)
    check(proc.poll() is None, f"{label}: the server still runs (systemd, not the server, ends it)")
    check(n.watchdogs_within(2.0) >= 2, f"{label} resumed: WATCHDOG=1 again every 500 ms")


def main():
    sfu, conf, port = sys.argv[1:4]
    d = tempfile.mkdtemp(prefix="sfu-watchdog-")
    n = Notify(os.path.join(d, "notify"))
    env = dict(os.environ, NOTIFY_SOCKET=n.sock.getsockname(), WATCHDOG_USEC="30000000")
    log = open(os.path.join(d, "server.log"), "w+")
    proc = subprocess.Popen([sfu, "--config", conf, "--port", port], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        check(n.wait_for("READY=1", 10), "READY=1")
        check(n.watchdogs_within(2.0) >= 3, "WATCHDOG=1 every 500 ms while both threads work")
        # The signaling thread (the process's main thread): the media thread sees its heartbeat stop
        # and stops pinging after 5 s.
        hang(n, proc, proc.pid, "signaling thread", 6.5)
        media = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task")
                 if open(f"/proc/{proc.pid}/task/{t}/comm").read().strip() == "media"]
        check(len(media) == 1, f"one thread named media: {media}")
        if media:
            hang(n, proc, media[0], "media thread", 1.5)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(10)
        check(rc == 0, f"SIGTERM: exit {rc}")
        reports = os.environ.get("SFU_SAN_REPORTS")
        if reports and os.path.isdir(reports):
            found = [f for f in os.listdir(reports) if f.endswith(f".{proc.pid}")]
            check(not found, f"no sanitizer report for the server ({found})")
    except Exception as e:  # noqa: BLE001 - any error is a failure with its reason
        check(False, f"{type(e).__name__}: {e}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if fails:
            log.seek(0)
            print("--- server log (tail)\n" + "".join(log.readlines()[-20:]))
    sys.exit(1 if fails else 0)


main()
