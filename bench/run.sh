#!/usr/bin/env bash
# Run the benchmarks of a build: bash bench/run.sh BUILD_DIR
# Each benchmark prints result lines "<metric> <name> <value>" (and "# ..." comments); the lines
# are collected in BUILD_DIR/bench/results.txt. Add new benchmarks to the list below.
set -euo pipefail
BUILD=${1:?usage: bench/run.sh BUILD_DIR}
BIN="$BUILD/bench"
OUT="$BIN/results.txt"
[ -d "$BIN" ] || { echo "bench/run.sh: $BIN not found (build first: cmake --build $BUILD)" >&2; exit 2; }
: > "$OUT"

run() { # name, command...
  local name=$1; shift
  if [ ! -x "$1" ]; then echo "# $name: $1 not built, skipped" | tee -a "$OUT"; return 0; fi
  echo "== $name" >&2
  "$@" | tee -a "$OUT"
}

TMP=$(mktemp -d /tmp/wsss_bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

run loader "$BIN/bench_loader" "$TMP/loader"
run crf "$BIN/bench_crf"

echo "results: $OUT" >&2
