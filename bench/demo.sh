#!/usr/bin/env bash
# How long `callcsv demo` takes on SQLite (release build, 50 000 calls): REPS runs
# (default 3), each on a fresh data dir; prints every run and the median.
#
#   bench/run.sh demo      (or bench/demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/callcsv
WORK=$(mktemp -d /tmp/callcsv-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
times=()
for i in $(seq 1 "$REPS"); do
    start=$(date +%s.%N)
    env -u CALLCSV_DATABASE_URL CALLCSV_DATA_DIR="$WORK/$i" CALLCSV_LOG=warn "$BIN" demo >"$WORK/$i.out"
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    times+=("$t")
    printf 'run %d: %.1f s (%s)\n' "$i" "$t" "$(grep -o '[0-9]* calls over' "$WORK/$i.out")"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'callcsv demo on SQLite: median %.1f s of %d runs\n' "$median" "$REPS"
