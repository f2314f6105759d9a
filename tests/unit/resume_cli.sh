#!/usr/bin/env bash
# --resume DIR with other options, for train-cls and train-seg (tools/cli_train.c): --epochs,
# --log-every, --workers and --quiet apply (a longer run keeps a positive poly lr to its new end);
# any other option is refused with exit 2 naming it, the stored and the given value, and leaves the
# checkpoint alone unless it repeats the stored value; an interrupted run exits 130 with its
# checkpoint named; bad settings exit 2 with one prefix.
# Usage: bash resume_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
export WSSS_THREADS=1 WSSS_PROGRESS=0

tiny_voc_py "$TMP/ds" <<'EOF'
import sys
import numpy as np
import tiny_voc
root = sys.argv[1]
tiny_voc.start(root, ["red", "green"])
rng = np.random.RandomState(1)
ids = []
for i in range(6):
    rgb = (rng.rand(32, 32, 3) * 60 + 90).astype(np.uint8)
    m = np.zeros((32, 32), np.uint8)
    c = 1 + i % 2
    y0, x0 = rng.randint(0, 20), rng.randint(0, 20)
    rgb[y0:y0 + 12, x0:x0 + 12] = (220, 30, 30) if c == 1 else (30, 200, 40)
    m[y0:y0 + 12, x0:x0 + 12] = c
    k = "im%d" % i
    ids.append(k)
    tiny_voc.save(root, k, rgb, m)
tiny_voc.write_split(root, "train", ids)
EOF
D="$TMP/ds"

# the lr of the last step record of a JSONL log is > 0
last_lr_positive() {
    /usr/bin/python3 - "$1" <<'EOF'
import json, sys
lrs = [r["lr"] for r in map(json.loads, open(sys.argv[1])) if "lr" in r]
sys.exit(0 if lrs and lrs[-1] > 0 else 1)
EOF
}

# ---- train-cls (6 images, batch 2: 3 steps an epoch) ----
R="$TMP/cls"
CK="$R/cls/ckpt"
CLS=(--data "$D" --run "$R" --arch resnet18 --epochs 2 --batch 2 --size 32 --lr 0.01 --quiet)
check "train-cls interrupted: exit 130" rc_is 130 "$WSSS" train-cls "${CLS[@]}" --stop-after 1
check "train-cls interrupted: the checkpoint named" has "$TMP/out" \
    "wsss train-cls: interrupted; checkpoint saved in $CK (continue with --resume $CK)"
cp "$CK/state.json" "$TMP/state.json"

check "train-cls --resume with other settings: exit 2" rc_is 2 "$WSSS" train-cls --resume "$CK" --lr 0.02 --batch 3
check "--lr: stored and given value" has "$TMP/out" "wsss train-cls: --lr 0.02: the run in $CK was started with 0.01"
check "--batch: stored and given value" has "$TMP/out" "--batch 3: the run in $CK was started with 2"
check "what may change" has "$TMP/out" "only --epochs, --workers, --log-every and --quiet may change"
check "refused: the checkpoint untouched" cmp -s "$CK/state.json" "$TMP/state.json"
check "train-cls --resume --data elsewhere: exit 2" rc_is 2 "$WSSS" train-cls --resume "$CK" --data "$TMP/other"
check "--data: stored and given value" has "$TMP/out" "--data $TMP/other: the run in $CK was started with $D"
check "train-cls --resume --frozen-bn: exit 2" rc_is 2 "$WSSS" train-cls --resume "$CK" --frozen-bn
check "--frozen-bn named" has "$TMP/out" "--frozen-bn: the run in $CK was started without it"
check "train-cls --resume --model elsewhere: exit 2" rc_is 2 "$WSSS" train-cls --resume "$CK" --model "$TMP/m.st"
check "--model named" has "$TMP/out" "--model $TMP/m.st: the run in $CK was started with (unset)"
check "refused: still untouched" cmp -s "$CK/state.json" "$TMP/state.json"

check "train-cls --resume repeating the stored settings: goes on" rc_is 130 "$WSSS" train-cls --resume "$CK" \
    --data "$D" --lr 0.01 --batch 2 --arch resnet18 --stop-after 1
check "the checkpoint moved on" bash -c "! cmp -s '$CK/state.json' '$TMP/state.json'"
check "train-cls --resume with a new length, cadence, workers" rc_is 0 "$WSSS" train-cls --resume "$CK" \
    --epochs 3 --log-every 2 --workers 1 --quiet
check "the resumed run logged the new length" has "$R/logs/train-cls.jsonl" '"event":"resume","step":2,"epoch":0,"epochs":3'
check "the last epoch (3) was trained" has "$R/logs/train-cls.jsonl" '"event":"epoch","step":9,"epoch":3'
check "the poly lr is still positive in epoch 3" last_lr_positive "$R/logs/train-cls.jsonl"
check "the checkpoint stores the new length" grep -q 'epochs[^0-9]*3' "$CK/state.json"
check "model written" test -f "$R/cls/model.safetensors"

# bad settings: exit 2, one prefix, the option and the value
check "train-cls --loss nope: exit 2" rc_is 2 "$WSSS" train-cls --data "$D" --run "$TMP/x" --loss nope
check "--loss named once" grep -qx "wsss train-cls: --loss nope: expected mlsm or bce" "$TMP/out"
check "train-cls --lr-steps beyond the run: exit 2" rc_is 2 "$WSSS" train-cls --data "$D" --run "$TMP/x" \
    --lr-policy step --lr-steps 9 --epochs 2
check "--lr-steps named" has "$TMP/out" 'wsss train-cls: --lr-steps "9": expected'
check "nothing written for bad settings" test ! -e "$TMP/x"

# ---- train-seg on the ground truth (the same 3 steps an epoch) ----
R="$TMP/seg"
CK="$R/seg_gt/ckpt"
SEG=(--data "$D" --run "$R" --gt --arch resnet18-os8-largefov --hidden 8 --head-dilation 2 --epochs 2 --batch 2
    --crop 32 --lr 0.005 --quiet)
check "train-seg interrupted: exit 130" rc_is 130 "$WSSS" train-seg "${SEG[@]}" --stop-after 1
check "train-seg interrupted: the checkpoint named" has "$TMP/out" "wsss train-seg: interrupted; checkpoint saved in $CK"
cp "$CK/state.json" "$TMP/state.json"
check "train-seg --resume --crop 40: exit 2" rc_is 2 "$WSSS" train-seg --resume "$CK" --crop 40 --bn frozen
check "--crop: stored and given value" has "$TMP/out" "wsss train-seg: --crop 40: the run in $CK was started with 32"
check "--bn: stored and given value" has "$TMP/out" "--bn frozen: the run in $CK was started with auto"
check "refused: the checkpoint untouched" cmp -s "$CK/state.json" "$TMP/state.json"
check "train-seg --resume --gt (as stored) and a new length" rc_is 0 "$WSSS" train-seg --resume "$CK" --gt \
    --epochs 3 --quiet
check "the resumed run logged the new length" has "$R/logs/train-seg-gt.jsonl" '"event":"resume","step":1,"epoch":0,"epochs":3'
check "the poly lr is still positive in epoch 3" last_lr_positive "$R/logs/train-seg-gt.jsonl"
check "model written" test -f "$R/seg_gt/model.safetensors"

# DeepLab v3+ trains with dropout: its draws come from the trainer's checkpointed generator, so a
# stopped and resumed run writes the same model as an uninterrupted one
V3=(--data "$D" --gt --arch resnet18-deeplabv3plus --hidden 8 --head-dilation 1 --epochs 2 --batch 2 --crop 32
    --bn train --lr 0.005 --quiet)
check "v3+ uninterrupted: exit 0" rc_is 0 "$WSSS" train-seg "${V3[@]}" --run "$TMP/v3a"
check "v3+ interrupted: exit 130" rc_is 130 "$WSSS" train-seg "${V3[@]}" --run "$TMP/v3b" --stop-after 2
check "v3+ resumed: exit 0" rc_is 0 "$WSSS" train-seg --resume "$TMP/v3b/seg_gt/ckpt" --quiet
check "v3+ resumed = uninterrupted (bytes)" cmp -s "$TMP/v3a/seg_gt/model.safetensors" "$TMP/v3b/seg_gt/model.safetensors"

check "train-seg --bn sometimes: exit 2" rc_is 2 "$WSSS" train-seg --data "$D" --run "$TMP/y" --bn sometimes
check "--bn named once" grep -qx "wsss train-seg: --bn sometimes: expected auto, train or frozen" "$TMP/out"
check "train-seg --scale-min above --scale-max: exit 2" rc_is 2 "$WSSS" train-seg --data "$D" --run "$TMP/y" \
    --scale-min 2 --scale-max 1
check "--scale-max named" has "$TMP/out" "wsss train-seg: --scale-max 1: out of range (expected --scale-min <= F <= 4)"
check "nothing written for bad settings" test ! -e "$TMP/y"

cli_summary resume_cli
