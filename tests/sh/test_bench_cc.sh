#!/usr/bin/env bash
# The load generator's simulated links (--link-kbps, issue 10): a publisher
# and two subscribers behind 300 kbit/s and 5 Mbit/s links for 4 s against
# the real server. The per-subscriber table must show the narrow link held to
# its rate (with drops: the publisher sends about 1 Mbit/s) and the wide one
# passing everything. Transport-cc feedback counts are printed, not judged,
# until the server offers the extension to subscribers.
# Usage (ctest does this): bash tests/sh/test_bench_cc.sh <sfu-binary> <source-dir>
set -uo pipefail
sfu=${1:?usage: test_bench_cc.sh <sfu-binary> <source-dir>}
src=${2:?usage: test_bench_cc.sh <sfu-binary> <source-dir>}
bench=$(dirname "$sfu")/sfu-bench
if [[ ! -x $bench ]]; then
  echo "FAIL: $bench not built"
  exit 1
fi
media=$(dirname "$(dirname "$sfu")")/bench-media
if ! command -v ffmpeg >/dev/null && [[ ! -f $media/clip-1000k.ivf ]]; then
  echo "SKIP: ffmpeg is missing (the bench needs it to make its clip)"
  exit 77
fi
out=$(mktemp /tmp/i10-bench-cc.XXXXXX)
trap 'rm -f "$out"' EXIT
SFU_BIN=$sfu BENCH_BIN=$bench SERVER_CORE=0 BENCH_CORE=$(( $(nproc) > 1 ? 1 : 0 )) \
  timeout 120 bash "$src/bench/run.sh" webinar --per-room 3 --duration 4 --warmup 1 --ramp 10 \
  --link-kbps 300-5000 >"$out" 2>&1
rc=$?
cat "$out"
if [[ $rc != 0 ]]; then
  echo "FAIL: sfu-bench exited with $rc"
  exit 1
fi
# Rows: name, link kbit/s, received kbit/s, % of link, drops %, feedbacks, video, since.
rows=$(awk '/simulated link/ {on = 1; next} on && $1 ~ /^sub/ {print} on && NF == 0 {exit}' "$out")
narrow=$(awk '$2 == 300' <<<"$rows")
wide=$(awk '$2 == 5000' <<<"$rows")
if [[ -z $narrow || -z $wide ]]; then
  echo "FAIL: the per-subscriber table lacks the 300 and 5000 kbit/s rows"
  exit 1
fi
read -r _ _ n_rx _ n_drop _ <<<"$narrow"
read -r _ _ w_rx _ w_drop _ <<<"$wide"
n_drop=${n_drop%\%}
w_drop=${w_drop%\%}
echo "narrow: received $n_rx kbit/s, drops $n_drop %; wide: received $w_rx kbit/s, drops $w_drop %"
if awk -v r="$n_rx" -v d="$n_drop" -v wr="$w_rx" -v wd="$w_drop" \
  'BEGIN { exit !(r <= 330 && d > 10 && wr >= 600 && wd < 1) }'; then
  echo "PASS"
  exit 0
fi
echo "FAIL: the narrow link should hold 300 kbit/s with drops, the wide one pass about 1 Mbit/s"
exit 1
