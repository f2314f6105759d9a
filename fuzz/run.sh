#!/usr/bin/env bash
# Runs each libFuzzer harness for a fixed time on its committed seed corpus and prints its executions
# and crashes; fails if any harness crashed (or leaked, hung or ran out of memory).
# Usage: bash fuzz/run.sh BUILD_DIR SECONDS [HARNESS...]   (default: every BUILD_DIR/fuzz/fuzz_*)
# New inputs go to BUILD_DIR/fuzz/work/<name>/ (the committed corpus is only read); a crashing input
# is saved as BUILD_DIR/fuzz/artifacts/<name>/crash-* (add it to fuzz/corpus/<name>/ once fixed).
set -u
build="$1"
seconds="$2"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -gt 0 ]; then names=("$@"); else
    names=()
    for f in "$build"/fuzz/fuzz_*; do [ -x "$f" ] && names+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
[ ${#names[@]} -gt 0 ] || { echo "fuzz: no harnesses in $build/fuzz (build them first)"; exit 1; }
# a small quarantine: the parsers allocate many small nodes, and a 256 MB quarantine turns that into
# page faults (~1.5x slower) for little extra use-after-free detection
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
failed=0
summary=""
for name in "${names[@]}"; do
    bin="$build/fuzz/fuzz_$name"
    seeds="$here/corpus/$name"
    [ -x "$bin" ] || { echo "fuzz: $bin not built"; exit 1; }
    [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds"; exit 1; }
    work="$build/fuzz/work/$name" art="$build/fuzz/artifacts/$name"
    mkdir -p "$work" "$art"
    dict=()
    [ -f "$here/dict/$name.dict" ] && dict=(-dict="$here/dict/$name.dict")
    log="$build/fuzz/$name.log"
    echo "fuzz: $name for ${seconds}s (log $log)"
    "$bin" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=0
    if [ "$rc" -ne 0 ]; then
        crashes=1
        failed=1
        echo "fuzz: $name FAILED (exit $rc); the end of its log:"
        tail -40 "$log"
    fi
    summary+="$(printf '%-12s execs %12s  crashes %d' "$name" "${execs:-?}" "$crashes")"$'\n'
done
printf '%s' "$summary"
exit "$failed"
