#!/usr/bin/env bash
# The wsss demo: generate Fashion-Scenes, run the whole weakly-supervised pipeline on it (image-level
# labels in, segmentation model and masks out) and the fully-supervised upper bound, then print
#     cam_miou <v> thr <t>
#     pseudo_miou <v>
#     seg_miou <v>
#     supervised_miou <v>
#     report <path>
# (fractions in [0,1]). `make demo` runs it after installing the dependencies and building.
#
# Usage: scripts/demo.sh [WSSS_BINARY]          (default build/bin/wsss)
# Environment:
#   WSSS_QUICK=1     the reduced profile (1,000 two-class scenes, under 3 minutes; `make test` runs it)
#   DEMO_DIR=DIR     where the dataset and the run go (default demo, or demo-quick)
#   DEMO_<SETTING>   override a setting of the profile below, e.g. DEMO_TRAIN=2000 DEMO_SEG_EPOCHS=4
# Every stage is a separate `wsss` command reading and writing files in the run directory, so
# the printed commands can be re-run one by one; the dataset is reused when its settings match.
set -euo pipefail

WSSS=${1:-build/bin/wsss}
if ! [ -x "$WSSS" ]; then
    echo "demo: $WSSS is not an executable (build first: make build)" >&2
    exit 2
fi
QUICK=${WSSS_QUICK:-0}

# ---- profiles (documented in README.md, "The demo") ----
# Full: the default Fashion-Scenes (5,000 train / 1,000 val scenes, ten classes), about 17 minutes
# on 2 cores. The scenes are generated at their native 128x128; the networks see them at half size
# (the classifier resizes to 64x64, train-seg rescales by 0.4-0.6 and crops 64, CAMs and test-time
# inference use scales around 0.5), which buys four times as many training steps in the time
# budget; masks and scores stay at 128x128. Everything trains from scratch (no ImageNet weights
# here) with AdamW; the segmentation backbone starts from the classifier's.
if [ "$QUICK" = 1 ]; then
    # two classes with distinct shapes (Trouser, Bag), no distractors: a from-scratch classifier
    # learns them in ~500 steps; on the ten-class set its loss leaves the label prior only after
    # ~600 steps of 32 (the same in PyTorch), too late for a 3-minute budget
    P_TRAIN=1000 P_VAL=100 P_CLASSES=2,9 P_DISTRACTORS=0 P_CLS_EPOCHS=8 P_CLS_BATCH=16
    DEFAULT_DIR=demo-quick
else
    P_TRAIN=5000 P_VAL=1000 P_CLASSES=all P_DISTRACTORS=3 P_CLS_EPOCHS=12 P_CLS_BATCH=32
    DEFAULT_DIR=demo
fi
TRAIN=${DEMO_TRAIN:-$P_TRAIN}
CLASSES=${DEMO_CLASSES:-$P_CLASSES}
DISTRACTORS=${DEMO_DISTRACTORS:-$P_DISTRACTORS}
VAL=${DEMO_VAL:-$P_VAL}
CLS_ARCH=${DEMO_CLS_ARCH:-resnet18-os16}
CLS_SIZE=${DEMO_CLS_SIZE:-64}
CLS_EPOCHS=${DEMO_CLS_EPOCHS:-$P_CLS_EPOCHS}
CLS_BATCH=${DEMO_CLS_BATCH:-$P_CLS_BATCH}
CLS_LR=${DEMO_CLS_LR:-0.001}
CLS_POOL=${DEMO_CLS_POOL:-gap}
CAM_SCALES=${DEMO_CAM_SCALES:-0.5,0.75}
# The from-scratch classifier's maps are broad (its best CAM threshold is ~0.55-0.6, where PSA's
# ImageNet-backbone maps have ~0.2), so the pseudo labels take the background as 1 - max: PSA's
# powers (1 - max)^4 / ^32 would call most of the background object.
read -r -a PSEUDO_ARGS <<<"${DEMO_PSEUDO:---bg pow --alpha 1}"
SEG_ARCH=${DEMO_SEG_ARCH:-resnet18-os16-largefov}
SEG_HIDDEN=${DEMO_SEG_HIDDEN:-256}
SEG_DIL=${DEMO_SEG_DIL:-3}
SEG_SCALE=${DEMO_SEG_SCALE:-0.4,0.6}
SEG_CROP=${DEMO_SEG_CROP:-64}
SEG_EPOCHS=${DEMO_SEG_EPOCHS:-2}
SEG_BATCH=${DEMO_SEG_BATCH:-16}
SEG_LR=${DEMO_SEG_LR:-0.001}
EVAL_SCALES=${DEMO_EVAL_SCALES:-0.5}
OUT=${DEMO_DIR:-$DEFAULT_DIR}
DATA="$OUT/fashion-scenes"
RUN="$OUT/run"

T0=$(date +%s.%N)
TIMES=()
CPUS=()
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }
# stage NAME COMMAND...: print the command, run it (its output goes to the terminal and to
# RUN/demo.log), record the time; any failure stops the demo with the stage's exit code.
stage() {
    local name="$1"
    shift
    echo "== demo: $name: $*" >&2
    local t c
    t=$(now)
    times >"$RUN/.times"
    c=$(cpu_seconds)
    local rc=0
    "$@" 2> >(tee -a "$RUN/demo.log" >&2) | tee -a "$RUN/demo.log" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "demo: stage $name failed (exit $rc); see the messages above" >&2
        exit "$rc"
    fi
    TIMES+=("$name $(elapsed "$t")")
    times >"$RUN/.times"
    CPUS+=("$name $(awk -v a="$c" -v b="$(cpu_seconds)" 'BEGIN { printf "%.0f", b - a }')")
}
# user + system CPU seconds of this shell's finished children (`times` output written just before;
# its second line)
cpu_seconds() { awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } print s }' "$RUN/.times"; }
last_line() { grep -E "^$1 " "$RUN/demo.log" | tail -1; }

echo "demo: $([ "$QUICK" = 1 ] && echo "quick profile" || echo "full profile"): $TRAIN train / $VAL val scenes," \
    "classifier $CLS_ARCH x $CLS_EPOCHS epochs, segmentation $SEG_ARCH x $SEG_EPOCHS epochs, in $OUT" >&2
mkdir -p "$OUT"

# ---- data (reused when generated with the same settings) ----
STAMP="train=$TRAIN val=$VAL seed=0 size=128 classes=$CLASSES distractors=$DISTRACTORS"
t=$(now)
if [ "$(cat "$DATA/.demo-stamp" 2>/dev/null || true)" != "$STAMP" ]; then
    rm -rf "$DATA"
    GEN=(--out "$DATA" --train "$TRAIN" --val "$VAL" --max-distractors "$DISTRACTORS")
    [ "$CLASSES" = all ] || GEN+=(--classes "$CLASSES")
    echo "== demo: data: $WSSS data fashion-scenes ${GEN[*]}" >&2
    "$WSSS" data fashion-scenes "${GEN[@]}" --quiet
    echo "$STAMP" >"$DATA/.demo-stamp"
else
    echo "== demo: data: reusing $DATA ($STAMP)" >&2
fi
TIMES+=("data $(elapsed "$t")")

rm -rf "$RUN"
mkdir -p "$RUN"
# 1-4: classifier, CAMs, CAM mIoU (threshold sweep on the train ground truth: an analysis number,
# not used by the later stages), pseudo labels (background score + dense CRF)
stage train-cls "$WSSS" train-cls --data "$DATA" --run "$RUN" --arch "$CLS_ARCH" --size "$CLS_SIZE" --rrc-min 1 \
    --epochs "$CLS_EPOCHS" --batch "$CLS_BATCH" --optim adamw --lr "$CLS_LR" --weight-decay 0.0001 --pool "$CLS_POOL" \
    --log-every 5
stage cam "$WSSS" cam --data "$DATA" --run "$RUN" --scales "$CAM_SCALES" --samples 8
stage eval-cam "$WSSS" eval-cam --data "$DATA" --run "$RUN" --brief --quiet
stage pseudo "$WSSS" pseudo --data "$DATA" --run "$RUN" "${PSEUDO_ARGS[@]}" --brief --quiet
# 5-6: segmentation network on the pseudo labels; its backbone starts from the classifier's (the
# demo has no ImageNet weights; the classifier saw the same images with image-level labels only)
SEG=(--data "$DATA" --run "$RUN" --arch "$SEG_ARCH" --hidden "$SEG_HIDDEN" --head-dilation "$SEG_DIL"
    --scale-min "${SEG_SCALE%,*}" --scale-max "${SEG_SCALE#*,}" --crop "$SEG_CROP" --epochs "$SEG_EPOCHS"
    --batch "$SEG_BATCH" --optim adamw --lr "$SEG_LR" --weight-decay 0.0001 --head-lr-mult 1 --bn train
    --backbone-weights "$RUN/cls/model.safetensors" --log-every 10)
stage train-seg "$WSSS" train-seg "${SEG[@]}"
stage eval-seg "$WSSS" eval-seg --data "$DATA" --run "$RUN" --scales "$EVAL_SCALES" --brief
# the upper bound: the same network and recipe on the ground-truth masks
stage train-seg-gt "$WSSS" train-seg "${SEG[@]}" --gt
stage eval-seg-gt "$WSSS" eval-seg --data "$DATA" --run "$RUN" --gt --scales "$EVAL_SCALES" --brief
# 7: the report
stage report "$WSSS" report "$RUN"

cam=$(last_line cam_miou)
pseudo=$(last_line pseudo_miou | awk '{ print $1, $2 }')
seg=$(last_line seg_miou)
sup=$(last_line supervised_miou)
report_path="$RUN/report.html"
total=$(elapsed "$T0")
{
    echo
    echo "demo: stage times (s): ${TIMES[*]/%/,} total $total (excluding the build)"
    echo "demo: stage CPU times (s, user + system): ${CPUS[*]/%/,}"
    echo "$cam"
    echo "$pseudo"
    echo "$seg"
    echo "$sup"
    echo "report $report_path"
} | tee -a "$RUN/demo.log"
