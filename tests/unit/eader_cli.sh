#!/usr/bin/env bash
# `wsss train-cls --method eader` (method_eader.c, specs/eader.md) on a tiny Fashion-Scenes set: a
# short run alternates the localizer and the adversary in blocks of 2 steps across an epoch
# boundary (the JSONL's phases and per-network losses), the recipe fills the options not given,
# the checkpoint holds both networks and the phase; stopped in the middle of an adversary block and
# resumed, it writes the same bytes as the uninterrupted run (localizer model and adversary); the
# model file is an ordinary classifier (the localizer's tensors only, method eader) that `wsss cam`
# and eval-cam read (--protocol eader too), also from the checkpoint; --frozen-bn keeps the localizer's batch norm at its
# backbone file's values through the phases; --adversary-weights loads a torchvision-named
# backbone. Bad input exits before any training: unknown or segmentation --adversary-arch, another
# pooling or loss, adversary options without eader (exit 2), adversary weights that do not fit or
# a missing file, a size that leaves the adversary a 1x1 map (exit 1, nothing trained).
# --method mcis+eader: MCIS's classifier as the localizer (pairs, co-attention terms in the
# localizer's steps, its model file and maps), stop + resume exact, its refusals.
# Usage: bash eader_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
export WSSS_THREADS=1 WSSS_PROGRESS=0

D="$TMP/ds"
check "a tiny dataset" rc_is 0 "$WSSS" data fashion-scenes --out "$D" --train 12 --val 4 --size 40 --quiet

st_names() { # the tensor names of a safetensors file, sorted, one a line
    /usr/bin/python3 -c "
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
h = json.loads(b[8:8 + struct.unpack('<Q', b[:8])[0]])
print('\n'.join(sorted(k for k in h if k != '__metadata__')))" "$1"
}
# the phases of the step records and that both networks' losses are logged in each
phases_are() { # phases_are LOG WANT (e.g. LLAALL)
    /usr/bin/python3 - "$@" <<'EOF'
import json, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if "phase" in r]
got = "".join(r["phase"][0].upper() for r in recs)
ok = got == sys.argv[2] and all("loss_localizer" in r and "loss_adversary" in r and r["pairs"] > 0 for r in recs)
if not ok:
    print("--- phases %s (want %s), records %r" % (got, sys.argv[2], recs[:2]))
sys.exit(0 if ok else 1)
EOF
}
# the batch norm affine tensors of two files are equal (WANT 1: frozen through the run) or all
# differ (WANT 0: trained)
same_bn() { # same_bn A B WANT
    /usr/bin/python3 - "$@" <<'EOF'
import json, struct, sys
def tensors(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items()}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
keys = [k for k in a if ".bn" in k or k.startswith("bn1.") or ".downsample.1." in k]
keys = [k for k in keys if k.endswith(".weight") or k.endswith(".bias")]
same = [k for k in keys if a[k] == b.get(k)]
ok = keys and len(same) == (len(keys) if sys.argv[3] == "1" else 0)
if not ok:
    print("--- %d of %d batch norm tensors equal, want %s" % (len(same), len(keys), "all" if sys.argv[3] == "1" else "none"))
sys.exit(0 if ok else 1)
EOF
}

# ---- 12 images, batch 4: 3 steps an epoch; 2 epochs in blocks of 2: L L A | A L L ----
EADER=(--method eader --data "$D" --arch resnet18 --epochs 2 --batch 4 --size 40 --block-steps 2 --quiet)
R="$TMP/full"
check "train-cls --method eader: 2 epochs" rc_is 0 "$WSSS" train-cls "${EADER[@]}" --run "$R"
check "phases in blocks of 2 across the epoch boundary, both losses logged" phases_are "$R/logs/train-cls.jsonl" LLAALL
check "epoch records with each network's mean loss" has "$R/logs/train-cls.jsonl" '"epoch_loss_adversary"'
S="$R/cls/ckpt/state.json"
check "checkpoint: the localizer and the adversary" json_is "$S" '[p["name"] for p in j["parts"]]' \
    "['localizer', 'adversary']"
check "checkpoint: 4 localizer and 2 adversary steps" json_is "$S" '[p["steps"] for p in j["parts"]]' "[4, 2]"
check "checkpoint: the last step was the localizer's" json_is "$S" 'j["phase"]' 1
check "checkpoint: the adversary's files" test -f "$R/cls/ckpt/part-adversary.safetensors"
for kv in "lr 0.01" "lr_policy constant" "momentum 0.9" "weight_decay 0.0001" "bias_decay 1" "bias_lr_mult 1.0" \
    "head_lr_mult 1.0" "loss bce" "rrc_min 0.08" "hflip 0.5" "alpha 0.05" "beta 1e-05" "reg mean" \
    "adversary_arch resnet18" "mask_slope 100.0" "mask_center 0.5" "block_steps 2" "arch resnet18" "size 40"; do
    set -- $kv
    check "stored: $1 = $2" json_is "$S" "json.loads(j[\"config\"])[\"$1\"]" "$2"
done
M="$R/cls/model.safetensors"
check "the model file says eader" st_is "$M" 'm.get("method")' eader
# the tensor names of a plain resnet18 classifier, from a one-step cam run
check "a plain classifier for its tensor names" rc_is 0 "$WSSS" train-cls --data "$D" --arch resnet18 --epochs 1 \
    --batch 12 --size 40 --run "$TMP/plain" --quiet
check "the model file holds the localizer alone (a resnet18 classifier's tensor names)" diff <(st_names "$M") \
    <(st_names "$TMP/plain/cls/model.safetensors")

# ---- stopped in the middle of an adversary block (after step 3 of L L A A), resumed ----
R2="$TMP/resumed"
check "interrupted after 3 of 6 steps: exit 130" rc_is 130 "$WSSS" train-cls "${EADER[@]}" --run "$R2" --stop-after 3
check "the stop checkpoint: mid adversary block" json_is "$R2/cls/ckpt/state.json" '(j["step"], j["phase"])' "(3, 2)"
check "--resume with another block length: exit 2" rc_is 2 "$WSSS" train-cls --resume "$R2/cls/ckpt" --block-steps 3
check "resumed to the end" rc_is 0 "$WSSS" train-cls --resume "$R2/cls/ckpt" --quiet
check "stop + resume == uninterrupted: the localizer (bytes)" cmp "$M" "$R2/cls/model.safetensors"
check "stop + resume == uninterrupted: the adversary (bytes)" cmp "$R/cls/ckpt/part-adversary.safetensors" \
    "$R2/cls/ckpt/part-adversary.safetensors"
check "stop + resume == uninterrupted: the adversary's optimizer (bytes)" cmp \
    "$R/cls/ckpt/part-adversary.optim.safetensors" "$R2/cls/ckpt/part-adversary.optim.safetensors"

# ---- the localizer's maps, downstream unchanged ----
check "cam on the eader model" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --quiet
check "a map per image" test "$(ls "$R/cams" | grep -c safetensors)" -eq 12
check "eval-cam reads them" rc_is 0 "$WSSS" eval-cam --data "$D" --run "$R"
check "eval-cam --protocol eader" rc_is 0 "$WSSS" eval-cam --data "$D" --run "$R" --protocol eader --brief --quiet
check "its mIoU and foreground scores printed" has "$TMP/out" "cam_miou_eader "
check "its foreground precision/recall printed" has "$TMP/out" "fg_precision "
check "its metrics file" json_is "$R/metrics/cam_eader.json" '(j["kind"], j["stage"])' "('segmentation', 'cam-eader')"
check "--protocol eader with --thresholds: exit 2" rc_is 2 "$WSSS" eval-cam --data "$D" --run "$R" \
    --protocol eader --thresholds 10
check "cam from the checkpoint (the localizer in model.safetensors)" rc_is 0 "$WSSS" cam --data "$D" --run "$R" \
    --model "$R/cls/ckpt" --out "$TMP/cams_ckpt" --quiet
check "checkpoint maps == final-model maps (bytes)" diff -r "$R/cams" "$TMP/cams_ckpt"

# ---- backbone weights for both networks; the localizer's frozen BN stays frozen through the phases ----
W="$M" # a torchvision-named resnet18 state_dict (its fc is ignored)
R3="$TMP/frozen"
check "--frozen-bn --backbone-weights --adversary-weights" rc_is 0 "$WSSS" train-cls "${EADER[@]}" --run "$R3" \
    --epochs 1 --block-steps 1 --frozen-bn --backbone-weights "$W" --adversary-weights "$W"
check "the localizer's batch norm is its backbone file's after L A L" same_bn "$W" "$R3/cls/model.safetensors" 1
check "the adversary's batch norm trained (not frozen)" same_bn "$W" "$R3/cls/ckpt/part-adversary.safetensors" 0

# ---- bad input ----
check "--adversary-arch nope: exit 2" rc_is 2 "$WSSS" train-cls "${EADER[@]}" --run "$TMP/x" --adversary-arch resnet19
check "the option named" has "$TMP/out" "wsss train-cls: --adversary-arch: "
check "--adversary-arch a segmentation model: exit 2" rc_is 2 "$WSSS" train-cls "${EADER[@]}" --run "$TMP/x" \
    --adversary-arch resnet18-largefov
check "the arch named" has "$TMP/out" "--adversary-arch resnet18-largefov: --method eader needs a classifier"
check "--arch a segmentation model: exit 2" rc_is 2 "$WSSS" train-cls "${EADER[@]}" --run "$TMP/x" \
    --arch resnet50-aspp
check "--pool gmp: exit 2" rc_is 2 "$WSSS" train-cls "${EADER[@]}" --run "$TMP/x" --pool gmp
check "the pooling named" has "$TMP/out" "--pool gmp: --method eader's Grad-CAM is the CAM only for GAP"
check "--loss mlsm: exit 2" rc_is 2 "$WSSS" train-cls "${EADER[@]}" --run "$TMP/x" --loss mlsm
check "--adversary-weights without eader: exit 2" rc_is 2 "$WSSS" train-cls --data "$D" --run "$TMP/x" \
    --adversary-weights "$W"
check "its message" has "$TMP/out" "--adversary-weights: only --method eader or mcis+eader trains an adversary"
check "nothing written for bad settings" test ! -e "$TMP/x"
check "adversary weights of another arch: exit 1" rc_is 1 "$WSSS" train-cls "${EADER[@]}" --run "$TMP/y" \
    --adversary-arch resnet34 --adversary-weights "$W"
check "the option, the arch and the file named" has "$TMP/out" "--adversary-weights: backbone weights for resnet34: $W"
check "a missing adversary weights file: exit 1" rc_is 1 "$WSSS" train-cls "${EADER[@]}" --run "$TMP/y" \
    --adversary-weights "$TMP/none.safetensors"
check "the file named" has "$TMP/out" "$TMP/none.safetensors"
check "--size 32: the adversary's 1x1 map refused: exit 1" rc_is 1 "$WSSS" train-cls "${EADER[@]}" --run "$TMP/y" \
    --size 32
check "the size named" has "$TMP/out" "--size 32 leaves the adversary resnet18 a 1x1 last feature map"
check "nothing trained for refused weights or size" test ! -e "$TMP/y/cls/ckpt"

# ---- mcis+eader: MCIS's co-attention classifier as the localizer (pairs, its recipe, its maps) ----
ME=(--method mcis+eader --data "$D" --arch resnet18 --epochs 1 --batch 4 --size 40 --lr-steps "" --block-steps 1 \
    --contrastive-from 0 --quiet)
R4="$TMP/mcis_eader"
check "train-cls --method mcis+eader: L A L" rc_is 0 "$WSSS" train-cls "${ME[@]}" --run "$R4"
check "mcis+eader phases" phases_are "$R4/logs/train-cls.jsonl" LAL
check "the co-attention terms logged in the localizer's steps" has "$R4/logs/train-cls.jsonl" '"co":'
check "the model file says mcis+eader" st_is "$R4/cls/model.safetensors" 'm.get("method")' mcis+eader
check "the model holds the co-attention" st_is "$R4/cls/model.safetensors" '"extra_linear_e.weight" in h' True
check "the adversary in the checkpoint" test -f "$R4/cls/ckpt/part-adversary.safetensors"
check "stored: MCIS's recipe (Nesterov)" json_is "$R4/cls/ckpt/state.json" 'json.loads(j["config"])["nesterov"]' 1
R5="$TMP/mcis_eader_resumed"
check "mcis+eader stopped after 2 steps: exit 130" rc_is 130 "$WSSS" train-cls "${ME[@]}" --run "$R5" --stop-after 2
check "resumed" rc_is 0 "$WSSS" train-cls --resume "$R5/cls/ckpt" --quiet
check "mcis+eader stop + resume == uninterrupted (bytes)" cmp "$R4/cls/model.safetensors" "$R5/cls/model.safetensors"
check "cam on the mcis+eader model: the co-attention maps" rc_is 0 "$WSSS" cam --data "$D" --run "$R4" --size 40 \
    --quiet
check "the maps are MCIS's" has "$R4/logs/cam.jsonl" '"maps":"mcis+eader"'
check "--method mcis+eader --loss bce: exit 2 (MCIS's soft margin)" rc_is 2 "$WSSS" train-cls "${ME[@]}" \
    --run "$TMP/z" --loss bce
check "--method mcis+eader --adversary-arch nope: exit 2" rc_is 2 "$WSSS" train-cls "${ME[@]}" --run "$TMP/z" \
    --adversary-arch nope

cli_summary eader_cli
