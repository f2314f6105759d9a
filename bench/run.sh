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
# a COCO-size annotation file (~450 MB, generated into $TMP once): the reader's parse time and peak RSS
run coco_json "$BIN/bench_coco_json" "$TMP/coco"

# Data-parallel training (issue 16): ResNet-50 steps on a global batch of 8 at 224, 1 rank x 1 thread
# against 2 ranks x 1 thread under mpirun; the ratio of images/s (target >= 1.8 on 2 cores) and each
# side's allreduce seconds and bytes per step
if [ -x "$BIN/bench_dp" ] && command -v mpirun >/dev/null; then
  echo "== dp_resnet50_b8_224 (1 rank, then 2 ranks)" >&2
  MPIRUN=(mpirun --oversubscribe -np 2); [ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
  DP="$BIN/dp_raw.txt"
  WSSS_THREADS=1 "$BIN/bench_dp" 5 | tee "$DP" | tee -a "$OUT"
  WSSS_THREADS=1 "${MPIRUN[@]}" "$BIN/bench_dp" 5 | tee -a "$DP" | tee -a "$OUT"
  awk '$1 == "images_per_s" { v[$2] = $3 }
       END { if (v["dp_resnet50_b8_224_1rank"] > 0 && v["dp_resnet50_b8_224_2rank"] > 0)
               printf "ratio dp_resnet50_b8_224 %.3f\n", v["dp_resnet50_b8_224_2rank"] / v["dp_resnet50_b8_224_1rank"] }' \
    "$DP" | tee -a "$OUT"
else
  echo "# dp_resnet50_b8_224: bench_dp or mpirun missing (make deps-bench, built with MPI), skipped" | tee -a "$OUT"
fi

# Model workloads against Debian's PyTorch: wsss (bench_models) and torch (torch_bench.py), one
# process per workload and side so each peak RSS is the workload's own; same shapes, batch sizes,
# 2 threads, warm-up excluded, median of N runs. compare.py prints the table and, last, the
# `ratio <workload> <wsss/torch speed>` and `memratio <workload> <wsss/torch peak RSS>` lines.
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
RAW="$BIN/models_raw.txt"
: > "$RAW"
HAVE_TORCH=0
if "$PY" -c "import torch, torchvision" 2>/dev/null; then HAVE_TORCH=1
else echo "# $PY cannot import torch/torchvision: PyTorch side skipped (make deps-bench)" | tee -a "$OUT"; fi
for wl_runs in train_resnet50_b8_224:5 train_resnet18_b64_64:5 train_vgg16d_b5_256:3 train_aff_r50_b8_448:3 train_eader_r50_r18_b8_224:3 infer_resnet50os8_b1_448:5 rw_500x375:5 peak:5; do
  wl=${wl_runs%%:*}; n=${wl_runs##*:}
  if [ -x "$BIN/bench_models" ]; then
    echo "== $wl (wsss, $n runs)" >&2
    OMP_NUM_THREADS=2 "$BIN/bench_models" "$wl" "$n" >> "$RAW"
  fi
  if [ "$HAVE_TORCH" = 1 ]; then
    echo "== $wl (torch, $n runs)" >&2
    OMP_NUM_THREADS=2 "$PY" "$HERE/torch_bench.py" "$wl" "$n" >> "$RAW"
  fi
done
# informational: VGG with Winograd convolutions (opt-in for training in wsss; PyTorch computes
# direct ones), and inference with direct convolutions only (wsss cam --direct-conv)
if [ -x "$BIN/bench_models" ]; then
  echo "== train_vgg16d_b5_256 (wsss with Winograd, 3 runs)" >&2
  WSSS_BENCH_WINOGRAD=1 OMP_NUM_THREADS=2 "$BIN/bench_models" train_vgg16d_b5_256 3 >> "$RAW"
  echo "== infer_resnet50os8_b1_448 (wsss with direct convolutions, 5 runs)" >&2
  WSSS_BENCH_DIRECT=1 OMP_NUM_THREADS=2 "$BIN/bench_models" infer_resnet50os8_b1_448 5 >> "$RAW"
  echo "== rw_500x375 (wsss on one core, 5 runs)" >&2
  WSSS_BENCH_ONE_CORE=1 OMP_NUM_THREADS=1 "$BIN/bench_models" rw_500x375 5 >> "$RAW"
fi
if [ -x "$PY" ]; then "$PY" "$HERE/compare.py" "$RAW" | tee -a "$OUT"; fi

echo "results: $OUT" >&2
