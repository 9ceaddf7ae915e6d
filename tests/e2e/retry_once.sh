#!/bin/sh
# Runs a browser test whose bars are times on a shared machine (switch delays, freezes) and, if it fails,
# once more. Both attempts are in the log; a second failure fails the test. A skip (77) is not retried.
# Usage: retry_once.sh <command...>
"$@"
rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then exit "$rc"; fi
echo "retry_once: first attempt failed (exit $rc); once more" >&2
"$@"
