#!/usr/bin/env bash
# `wsss train-cls --method mcis` (method.h, specs/mcis.md §2-§5) on a tiny Fashion-Scenes set: two
# short epochs run (the contrastive terms off in epoch 0 and counted in epoch 1 with
# --contrastive-from 1), the recipe's defaults fill the options not given and a given one wins,
# the model file says mcis and carries the co-attention tensors under the reference names, 2N steps
# equal N + --resume + N byte for byte; `wsss cam` makes the test-time co-attention maps (§6: 8-bit
# levels, the settings logged, the same seed the same bytes; eval-cam reads them) or, with
# --basic-cam, the basic head's; vgg16-deeplab takes the head too;
# --extra-data appends ImageFolder and VOC folders (an unknown class named with its folder);
# bad input (unknown method, segmentation arch, other pooling) exits 2 before any work.
# Usage: bash mcis_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
export WSSS_THREADS=1 WSSS_PROGRESS=0

D="$TMP/ds"
check "a tiny dataset" rc_is 0 "$WSSS" data fashion-scenes --out "$D" --train 12 --val 2 --size 32 --quiet

# the safetensors header of a model file (metadata and tensor names)
header_has() { # header_has FILE TEXT
    /usr/bin/python3 - "$@" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
h = b[8:8 + struct.unpack("<Q", b[:8])[0]].decode()
ok = sys.argv[2] in h
if not ok:
    print("--- %s header lacks %s: %s" % (sys.argv[1], sys.argv[2], h[:400]))
sys.exit(0 if ok else 1)
EOF
}
# contrast is 0 in every step record of epoch 0 and positive in some record of epoch 1
contrast_from_epoch1() {
    /usr/bin/python3 - "$1" <<'EOF'
import json, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if "contrast" in r]
e0 = [r["contrast"] for r in recs if r["epoch"] == 0]
e1 = [r["contrast"] for r in recs if r["epoch"] == 1]
ok = e0 and e1 and all(v == 0 for v in e0) and any(v > 0 for v in e1)
if not ok:
    print("--- contrast by epoch: %r / %r" % (e0, e1))
sys.exit(0 if ok else 1)
EOF
}

# every map file: values k/255, some positive
maps_are_levels() {
    /usr/bin/python3 - "$1" <<'EOF'
import glob, json, struct, sys
import numpy as np
pos = 0
for f in glob.glob(sys.argv[1] + "/*.safetensors"):
    b = open(f, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])["cams"]
    s, e = h["data_offsets"]
    v = np.frombuffer(b[8 + n + s:8 + n + e], dtype=np.float32) * 255
    if v.size and (abs(v - np.round(v)).max() > 1e-3 or v.min() < 0 or v.max() > 255):
        print("--- %s: not 8-bit levels" % f)
        sys.exit(1)
    pos += int((v > 0).sum())
sys.exit(0 if pos > 0 else 1)
EOF
}

# ---- 12 images, batch 4: 3 steps an epoch, 2 epochs ----
MCIS=(--method mcis --data "$D" --arch resnet18-os8 --epochs 2 --batch 4 --size 32 --lr-steps 1 --contrastive-from 1 --quiet)
R="$TMP/full"
check "train-cls --method mcis: 2 epochs" rc_is 0 "$WSSS" train-cls "${MCIS[@]}" --run "$R"
check "model written" test -f "$R/cls/model.safetensors"
check "the model file says mcis" header_has "$R/cls/model.safetensors" '"method":"mcis"'
for t in extra_linear_e.weight extra_gate.weight extra_gate_merge.weight; do
    check "the model holds $t" header_has "$R/cls/model.safetensors" "\"$t\""
done
check "6 steps logged with the loss terms" json_is "$R/cls/ckpt/state.json" 'j["step"]' 6
check "contrastive terms from epoch 1 only" contrast_from_epoch1 "$R/logs/train-cls.jsonl"
CFG="$R/cls/ckpt/state.json"
check "stored: method mcis" json_is "$CFG" 'json.loads(j["config"])["method"]' mcis
# the recipe (§5) for what was not given; what was given wins
for kv in "lr 0.001" "nesterov 1" "bias_decay 1" "weight_decay 0.0005" "head_lr_mult 10.0" "jitter 0.3" \
    "hflip 0.0" "rrc_min 1.0" "lr_policy step" "lr_gamma 0.1" "map_epoch 10" "batch 4" "size 32" "lr_steps 1" \
    "arch resnet18-os8"; do
    set -- $kv
    check "stored: $1 = $2" json_is "$CFG" "json.loads(j[\"config\"])[\"$1\"]" "$2"
done

R2="$TMP/resumed"
check "interrupted after 2 of 6 steps: exit 130" rc_is 130 "$WSSS" train-cls "${MCIS[@]}" --run "$R2" --stop-after 2
check "--resume with another method: exit 2" rc_is 2 "$WSSS" train-cls --resume "$R2/cls/ckpt" --method cam
check "--method: stored and given value" has "$TMP/out" "--method cam: the run in $R2/cls/ckpt was started with mcis"
check "resumed to the end" rc_is 0 "$WSSS" train-cls --resume "$R2/cls/ckpt" --quiet
check "2N steps == N + resume + N (model bytes)" cmp "$R/cls/model.safetensors" "$R2/cls/model.safetensors"

# --map-epoch: the model after epoch index 0 kept, the run going on exactly
R5="$TMP/kept"
check "--map-epoch 0: the run in two legs" rc_is 0 "$WSSS" train-cls "${MCIS[@]}" --run "$R5" --map-epoch 0
check "the final model as without it (bytes)" cmp "$R/cls/model.safetensors" "$R5/cls/model.safetensors"
R6="$TMP/one_epoch"
check "a 1-epoch run" rc_is 0 "$WSSS" train-cls "${MCIS[@]}" --run "$R6" --epochs 1
check "the kept model == the 1-epoch run's model (bytes)" cmp "$R6/cls/model.safetensors" \
    "$R5/cls/model_e0.safetensors"

# ---- test-time co-attention maps (§6) ----
check "cam on the mcis model" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --size 32 --quiet
check "a map per image" test "$(ls "$R/cams" | grep -c safetensors)" -eq 12
check "the co-attention maps, their settings logged" has "$R/logs/cam.jsonl" '"maps":"mcis","size":32,"related":3,"seed":0'
check "maps are 8-bit levels in [0,1], not all zero" maps_are_levels "$R/cams"
check "the same seed again" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --size 32 --out "$TMP/cams_again" --quiet
check "the same seed: the same bytes" diff -r "$R/cams" "$TMP/cams_again"
check "eval-cam reads them" rc_is 0 "$WSSS" eval-cam --data "$D" --run "$R"
check "--basic-cam: the basic head's maps" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --basic-cam --out "$TMP/basic" \
    --quiet
check "--basic-cam logged" has "$R/logs/cam.jsonl" '"maps":"cam"'
check "cam from the last checkpoint (its config says mcis)" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --size 32 \
    --model "$R/cls/ckpt" --out "$TMP/cams_ckpt" --quiet
check "checkpoint maps == final-model maps (bytes)" diff -r "$R/cams" "$TMP/cams_ckpt"
/usr/bin/python3 - "$R/cls/model.safetensors" "$TMP/bad_method.safetensors" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["__metadata__"]["method"] = "nope"
t = json.dumps(h, separators=(",", ":")).encode()
t += b" " * ((8 - len(t) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
EOF
check "cam --model with an unknown method: exit 1" rc_is 1 "$WSSS" cam --data "$D" --run "$R" \
    --model "$TMP/bad_method.safetensors" --out "$TMP/y" --quiet
check "the file and the method named" has "$TMP/out" \
    "wsss cam: $TMP/bad_method.safetensors: method \"nope\" (expected cam, mcis, eader or mcis+eader)"

# ---- the paper's backbone: the co-attention on extra_convs ----
R3="$TMP/vgg"
check "vgg16-deeplab --method mcis: 1 short epoch" rc_is 0 "$WSSS" train-cls --method mcis --data "$D" --run "$R3" \
    --arch vgg16-deeplab --epochs 1 --batch 5 --size 16 --lr-steps "" --quiet
check "vgg: every image an x1, the last batch smaller (5 + 5 + 2)" has "$R3/logs/train-cls.jsonl" \
    '"steps_per_epoch":3'
check "vgg model: basic head and co-attention" header_has "$R3/cls/model.safetensors" '"extra_linear_e.weight"'
check "vgg model: the CAM head" header_has "$R3/cls/model.safetensors" '"extra_last_conv.weight"'

# ---- extra data (the paper's settings 2 and 3): an ImageFolder and a VOC folder appended ----
FO="$TMP/fo"
D2="$TMP/ds2"
check "an ImageFolder of single-label images" rc_is 0 "$WSSS" data fashion-objects --out "$FO" --train 20 --val 2 \
    --size 32 --quiet
check "a second VOC folder" rc_is 0 "$WSSS" data fashion-scenes --out "$D2" --train 4 --val 1 --size 32 --seed 1 --quiet
EXTRA=(--method mcis --data "$D" --arch resnet18 --epochs 1 --batch 4 --size 32 --lr-steps "" --quiet)
check "--extra-data an ImageFolder" rc_is 0 "$WSSS" train-cls "${EXTRA[@]}" --run "$TMP/x1" --extra-data "$FO"
check "12 + 20 images: 8 steps" has "$TMP/x1/logs/train-cls.jsonl" '"steps_per_epoch":8'
check "--extra-data both kinds" rc_is 0 "$WSSS" train-cls "${EXTRA[@]}" --run "$TMP/x2" --extra-data "$FO,$D2"
check "12 + 20 + 4 images: 9 steps" has "$TMP/x2/logs/train-cls.jsonl" '"steps_per_epoch":9'
cp -r "$FO" "$TMP/fo_bad" && mkdir "$TMP/fo_bad/train/sofa" && cp "$(ls "$FO"/train/coat/* | head -1)" "$TMP/fo_bad/train/sofa/"
check "an extra class folder the dataset lacks: exit 1" rc_is 1 "$WSSS" train-cls "${EXTRA[@]}" --run "$TMP/x3" \
    --extra-data "$TMP/fo_bad"
check "the folder and the class named" has "$TMP/out" \
    "wsss train-cls: $TMP/fo_bad/train: class 'sofa' is not a class of $D (expected one of: T-shirt/top, Trouser"
printf '# the extra set calls it sofa\nsofa = Coat\n' >"$TMP/map.txt"
check "--class-map maps it" rc_is 0 "$WSSS" train-cls "${EXTRA[@]}" --run "$TMP/x5" --extra-data "$TMP/fo_bad" \
    --class-map "$TMP/map.txt" --batch 3
check "12 + 21 images: 11 steps of 3" has "$TMP/x5/logs/train-cls.jsonl" '"steps_per_epoch":11'
printf 'sofa = Armchair\n' >"$TMP/map_bad.txt"
check "a map line naming no class of the dataset: exit 1" rc_is 1 "$WSSS" train-cls "${EXTRA[@]}" --run "$TMP/x6" \
    --extra-data "$TMP/fo_bad" --class-map "$TMP/map_bad.txt"
check "the map file and line named" has "$TMP/out" "$TMP/map_bad.txt:1: expected 'extra class = class of $D'"
check "--class-map without --extra-data: exit 2" rc_is 2 "$WSSS" train-cls "${EXTRA[@]}" --run "$TMP/x7" \
    --class-map "$TMP/map.txt"
cp -r "$D2" "$TMP/ds_bad" && /usr/bin/python3 -c "
import sys; p = sys.argv[1] + '/classes.txt'; names = open(p).read().split(chr(10))
open(p, 'w').write(chr(10).join([names[0]] + ['other%d' % i if n else n for i, n in enumerate(names[1:])]))" "$TMP/ds_bad"
check "an extra VOC class the dataset lacks: exit 1" rc_is 1 "$WSSS" train-cls "${EXTRA[@]}" --run "$TMP/x4" \
    --extra-data "$TMP/ds_bad"
check "the folder and the class named" has "$TMP/out" "$TMP/ds_bad: class 'other"
check "nothing written for a refused map" test ! -e "$TMP/x7"

# ---- bad input: exit 2, the option and the value named, nothing written ----
check "--method nope: exit 2" rc_is 2 "$WSSS" train-cls --method nope --data "$D" --run "$TMP/x"
check "--method named once" grep -qx "wsss train-cls: --method nope: expected cam, mcis, eader or mcis+eader" "$TMP/out"
check "--method mcis on a segmentation arch: exit 2" rc_is 2 "$WSSS" train-cls "${MCIS[@]}" --run "$TMP/x" \
    --arch resnet18-largefov
check "the arch named" has "$TMP/out" "wsss train-cls: --arch resnet18-largefov: --method mcis puts its co-attention"
check "--method mcis --pool gmp: exit 2" rc_is 2 "$WSSS" train-cls "${MCIS[@]}" --run "$TMP/x" --pool gmp
check "the pooling named" has "$TMP/out" "wsss train-cls: --pool gmp: --method mcis scores classes by GAP"
R4="$TMP/plain"
check "the recipe's Nesterov and bias decay turned off" rc_is 130 "$WSSS" train-cls "${MCIS[@]}" --run "$R4" \
    --nesterov 0 --bias-decay 0 --stop-after 1
check "stored: nesterov 0" json_is "$R4/cls/ckpt/state.json" 'json.loads(j["config"])["nesterov"]' 0
check "stored: bias_decay 0" json_is "$R4/cls/ckpt/state.json" 'json.loads(j["config"])["bias_decay"]' 0
check "--method mcis with the recipe's lr steps beyond a 3-epoch run: exit 2" rc_is 2 "$WSSS" train-cls \
    --method mcis --data "$D" --run "$TMP/x" --epochs 3
check "--lr-steps named" has "$TMP/out" 'wsss train-cls: --lr-steps "5,10": expected'
check "nothing written for bad input" test ! -e "$TMP/x"

cli_summary mcis_cli
