#!/usr/bin/env bash
# Stages 1-4 end to end on a tiny VOC folder written by PIL (3 classes, non-square images of
# different sizes): train-cls (interrupt with --stop-after + --resume gives the same bytes as an
# uninterrupted run), cam (maps, overlays, report samples), eval-cam, pseudo; backbone weights;
# user errors (exit codes, messages naming the file).
# Usage: bash cls_stages_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
export WSSS_THREADS=1 WSSS_PROGRESS=0

tiny_voc_py "$TMP/ds" <<'EOF'
import sys
import tiny_voc
tiny_voc.squares(sys.argv[1], 10, 8, ignore_corner=True)
EOF
D="$TMP/ds"
R="$TMP/run"
TRAIN=(--data "$D" --arch resnet18-os8 --epochs 3 --batch 4 --size 32 --lr 0.01 --quiet)

# train-cls: stop after 3 steps (mid-epoch 1), resume, compare with an uninterrupted run
check "train-cls --stop-after exits 130" rc_is 130 "$WSSS" train-cls "${TRAIN[@]}" --run "$R" --stop-after 3
check "checkpoint written" test -f "$R/cls/ckpt/state.json"
check "no final model yet" test ! -e "$R/cls/model.safetensors"
check "train-cls --resume" rc_is 0 "$WSSS" train-cls --resume "$R/cls/ckpt" --quiet
check "final model" test -f "$R/cls/model.safetensors"
check "uninterrupted run" rc_is 0 "$WSSS" train-cls "${TRAIN[@]}" --run "$TMP/run2"
check "resumed == uninterrupted (bytes)" cmp -s "$R/cls/model.safetensors" "$TMP/run2/cls/model.safetensors"
check "JSONL log" has "$R/logs/train-cls.jsonl" '"loss"'
check "log has the resume event" has "$R/logs/train-cls.jsonl" '"event":"resume"'

# cam: maps for every train image, overlays, report samples
check "cam" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --overlay --samples 2 --quiet
n=$(ls "$R/cams" | grep -c '\.safetensors$')
check "8 CAM files (got $n)" test "$n" = 8
check "overlay" test -f "$R/cams_overlay/img01.png"
check "samples" test -f "$R/samples/img00_image.png" -a -f "$R/samples/img00_cam.png" -a -f "$R/samples/img00_gt.png"
# cam --skip-existing: with one map deleted and the others dated in the past, it writes only the
# missing one (the same bytes as before) and leaves every other file untouched (bytes and mtime)
cp "$R/cams/img03.safetensors" "$TMP/img03.first"
rm "$R/cams/img03.safetensors"
touch -d "2001-01-01 00:00:00" "$R"/cams/*.safetensors
cp -a "$R/cams" "$TMP/cams_kept"
check "cam --skip-existing" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --skip-existing --samples 0
check "cam --skip-existing: one map written" has "$TMP/out" "cam: 1 maps written"
check "cam --skip-existing: the missing map again, same bytes" cmp "$R/cams/img03.safetensors" "$TMP/img03.first"
kept_untouched() {
    local f n=0
    for f in "$TMP"/cams_kept/*.safetensors; do
        local g="$R/cams/$(basename "$f")"
        cmp -s "$f" "$g" && [ "$(stat -c %Y "$f")" = "$(stat -c %Y "$g")" ] || { echo "--- rewritten: $g"; return 1; }
        n=$((n + 1))
    done
    [ "$n" = 7 ] || { echo "--- $n kept maps, expected 7"; return 1; }
}
check "cam --skip-existing: the 7 other maps untouched" kept_untouched
check "cam log" has "$R/logs/cam.jsonl" '"event":"end"'
check "cam from a checkpoint dir" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --model "$R/cls/ckpt" \
    --out "$TMP/cams_ckpt" --samples 0 --quiet
check "checkpoint maps == final-model maps (bytes)" cmp -s "$R/cams/img05.safetensors" "$TMP/cams_ckpt/img05.safetensors"
check "cam --direct-conv" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --direct-conv --out "$TMP/cams_direct" \
    --samples 0 --quiet
check "cam --direct-conv: maps" test -f "$TMP/cams_direct/img05.safetensors"
check "cam --direct-conv logged" has "$R/logs/cam.jsonl" '"direct_conv":1'

# eval-cam
check "eval-cam" rc_is 0 "$WSSS" eval-cam --data "$D" --run "$R"
check "eval-cam final line" grep -qE '^cam_miou [01]\.[0-9]{4} thr 0\.[0-9]{2}$' "$TMP/out"
check "metrics/cam.json" has "$R/metrics/cam.json" '"best_threshold"'
check "eval-cam label-free line" grep -qE '^cam_miou_labelfree [01]\.[0-9]{4} thr 0\.[0-9]{2}$' "$TMP/out"
# the label-free line is the sweep's mIoU at the label-free threshold, both as printed and in the JSON
check "label-free mIoU == the sweep's mIoU at its threshold" /usr/bin/python3 - "$R/metrics/cam.json" "$TMP/out" <<'EOF2'
import json, sys
m = json.load(open(sys.argv[1]))
lf = m["labelfree"]
j = m["thresholds"].index(lf["threshold"])
line = [l.split() for l in open(sys.argv[2]) if l.startswith("cam_miou_labelfree ")][0]
ok = lf["rule"] == "otsu" and lf["miou"] == m["miou_per_threshold"][j] and \
    abs(float(line[1]) - lf["miou"]) < 5e-5 and abs(float(line[3]) - lf["threshold"]) < 5e-3
sys.exit(0 if ok else 1)
EOF2
LF=$(awk '/^cam_miou_labelfree / { print $4 }' "$TMP/out")

# pseudo: default (the label-free threshold + CRF), the PSA pair, constant threshold without CRF
check "pseudo" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R"
check "pseudo: default background is otsu, at eval-cam's label-free threshold $LF" has "$TMP/out" \
    "background threshold $LF (Otsu"
check "pseudo log: bg otsu" has "$R/logs/pseudo.jsonl" '"bg":"otsu"'
check "pseudo --bg psa" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --bg psa --out "$TMP/ppsa" \
    --json "$TMP/ppsa.json" --quiet
check "pseudo --bg psa: labels" test -f "$TMP/ppsa/img05.png"
check "pseudo final line" grep -qE '^pseudo_miou [01]\.[0-9]{4} ignored [01]\.[0-9]{4}$' "$TMP/out"
n=$(ls "$R/pseudo" | grep -c '\.png$')
check "8 pseudo labels (got $n)" test "$n" = 8
check "metrics/pseudo.json" has "$R/metrics/pseudo.json" '"frac_ignored"'
check "pseudo sample" test -f "$R/samples/img00_pseudo.png"
check "pseudo --bg const --no-crf" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --bg const --bg-threshold 0.25 \
    --no-crf --out "$TMP/p2" --json "$TMP/p2.json" --quiet
n=$(ls "$TMP/p2" | grep -c '\.png$')
check "pseudo --bg const: 8 labels (got $n)" test "$n" = 8
check "pseudo --bg const without --min-conf leaves no pixel uncertain" /usr/bin/python3 -c \
    "import json, sys; m = json.load(open(sys.argv[1])); sys.exit(m['frac_ignored'] != 0 or m['num_images'] != 8)" \
    "$TMP/p2.json"
check "pseudo from the sweep threshold" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --bg-threshold-from-sweep \
    --out "$TMP/p3" --json "$TMP/p3.json" --quiet
T=$(/usr/bin/python3 -c "import json, sys; print(repr(json.load(open(sys.argv[1]))['best_threshold']))" \
    "$R/metrics/cam.json")
check "pseudo --bg const --bg-threshold $T (cam.json's best)" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" \
    --bg const --bg-threshold "$T" --out "$TMP/p3t" --json "$TMP/p3t.json" --quiet
check "--bg-threshold-from-sweep == --bg const --bg-threshold $T (bytes)" diff -r "$TMP/p3" "$TMP/p3t"

# pseudo --saliency: the saliency-guided recipe (docs/mcis.md) on graded random saliency maps, against a
# numpy reference written from its definition (pseudo_saliency.h); a missing map is an error naming it
mkdir -p "$D/sal"
/usr/bin/python3 - "$D" <<'EOF2'
import sys, numpy as np
from PIL import Image
root = sys.argv[1]
rng = np.random.default_rng(5)
for i in open(f"{root}/ImageSets/Segmentation/train.txt").read().split():
    w, h = Image.open(f"{root}/JPEGImages/{i}.jpg").size
    Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), "L").save(f"{root}/sal/{i}.png")
EOF2
check "pseudo --saliency" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --saliency sal --out "$TMP/psal" \
    --json "$TMP/psal.json" --quiet
check "pseudo --saliency log" has "$R/logs/pseudo.jsonl" '"bg":"saliency"'
check "pseudo --saliency == the recipe's numpy reference" /usr/bin/python3 - "$D" "$R/cams" "$TMP/psal" <<'EOF2'
import json, struct, sys, numpy as np
from PIL import Image
root, cams, out = sys.argv[1:4]
def load(path):  # safetensors: u64 header size, JSON header, little-endian data
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    dt = {"F32": "<f4", "I32": "<i4"}
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dt[v["dtype"]]).reshape(v["shape"])
            for k, v in json.loads(b[8:8 + n]).items() if k != "__metadata__"}
for i in open(f"{root}/ImageSets/Segmentation/train.txt").read().split():
    t = load(f"{cams}/{i}.safetensors")
    maps, classes = t["cams"].astype(np.float64), [int(c) for c in t["classes"]]
    sal = np.asarray(Image.open(f"{root}/sal/{i}.png"), dtype=np.float64)
    g = np.zeros((len(classes) + 1,) + sal.shape)
    g[0] = 1 - sal / 255
    for k, m in enumerate(maps):
        g[k + 1] = (m - m.min()) / (m.max() - m.min() + 1e-8)
    strong = (g[1:] > 0.95).any(axis=0) if classes else np.zeros(sal.shape, bool)
    sal_att = np.maximum(sal, 255.0 * strong)
    g[g < 0.3] = 0
    conflict = (g > 0.99).sum(axis=0) > 1
    lab = np.array([0] + classes, dtype=np.uint8)[g.argmax(axis=0)]
    lab[conflict] = 255
    lab[(lab == 0) & (sal_att >= 32)] = 255
    if ((lab != 0) & (lab != 255)).sum() < 0.01 * lab.size:
        lab[:] = 255
    got = np.asarray(Image.open(f"{out}/{i}.png"))
    if not np.array_equal(got, lab):
        print(i, "differs at", int((got != lab).sum()), "pixels")
        sys.exit(1)
EOF2
mv "$D/sal/img02.png" "$TMP/img02_sal.png"
check "pseudo --saliency: missing map: exit 1" rc_is 1 "$WSSS" pseudo --data "$D" --run "$R" --saliency sal \
    --out "$TMP/psal2" --quiet
check "pseudo --saliency: missing map named" has "$TMP/out" "sal/img02.png"
mv "$TMP/img02_sal.png" "$D/sal/img02.png"

# backbone weights: the trained classifier's file is a torchvision-named state_dict (its fc is ignored)
check "--backbone-weights" rc_is 0 "$WSSS" train-cls "${TRAIN[@]}" --epochs 1 --run "$TMP/run3" \
    --backbone-weights "$R/cls/model.safetensors" --frozen-bn
head -c 1000 "$R/cls/model.safetensors" >"$TMP/trunc.safetensors"
check "truncated weights: exit 1" rc_is 1 "$WSSS" train-cls "${TRAIN[@]}" --run "$TMP/run4" \
    --backbone-weights "$TMP/trunc.safetensors"
check "truncated weights: file named" has "$TMP/out" "trunc.safetensors"

# user errors
check "train-cls without --data: exit 2" rc_is 2 "$WSSS" train-cls --quiet
check "train-cls bad integer: exit 2" rc_is 2 "$WSSS" train-cls --data "$D" --epochs x
check "missing dataset: exit 1" rc_is 1 "$WSSS" train-cls --data "$TMP/nope" --run "$TMP/r5" --quiet
check "missing dataset named" has "$TMP/out" "$TMP/nope"
check "a 1x1 last map with one image a batch: exit 1" rc_is 1 "$WSSS" train-cls --data "$D" --arch resnet18 \
    --size 32 --batch 1 --epochs 1 --run "$TMP/r6" --quiet
check "a 1x1 last map: named" has "$TMP/out" "--size 32 leaves resnet18 a 1x1 last feature map"
check "the same with two images a batch trains" rc_is 0 "$WSSS" train-cls --data "$D" --arch resnet18 \
    --size 32 --batch 2 --epochs 1 --run "$TMP/r7" --quiet
check "train-seg: a 1x1 last map with one image a batch: exit 1" rc_is 1 "$WSSS" train-seg --data "$D" --gt \
    --arch resnet18-os16-largefov --bn train --crop 16 --batch 1 --epochs 1 --run "$TMP/r8" --quiet
# --nesterov and --bias-decay reach the optimizer: one SGD step each changes the weights it writes
# (Nesterov's first step is (1 + momentum) g; bias decay moves the biases), a repeat does not
differ() { ! cmp -s "$1" "$2"; }
for v in base: nesterov:"--nesterov 1" biasdecay:"--bias-decay 1" again:; do
    check "one step (${v%%:*})" rc_is 130 "$WSSS" train-cls "${TRAIN[@]}" --run "$TMP/opt_${v%%:*}" --stop-after 1 \
        --weight-decay 0.01 ${v#*:}
done
check "a repeated step writes the same weights" cmp -s "$TMP/opt_base/cls/ckpt/model.safetensors" \
    "$TMP/opt_again/cls/ckpt/model.safetensors"
check "--nesterov 1 changes the step" differ "$TMP/opt_base/cls/ckpt/model.safetensors" \
    "$TMP/opt_nesterov/cls/ckpt/model.safetensors"
check "--bias-decay 1 changes the step" differ "$TMP/opt_base/cls/ckpt/model.safetensors" \
    "$TMP/opt_biasdecay/cls/ckpt/model.safetensors"
check "unknown arch: exit 1" rc_is 1 "$WSSS" train-cls --data "$D" --arch resnet7 --run "$TMP/r5" --quiet
check "unknown arch named" has "$TMP/out" "resnet7"
check "resume from a non-checkpoint: exit 1" rc_is 1 "$WSSS" train-cls --resume "$D" --quiet
check "cam: missing model: exit 1" rc_is 1 "$WSSS" cam --data "$D" --model "$TMP/none.safetensors" --quiet
check "cam: missing model named" has "$TMP/out" "none.safetensors"
check "cam: bad scales: exit 2" rc_is 2 "$WSSS" cam --data "$D" --run "$R" --scales 1,-2
mv "$R/cams/img03.safetensors" "$TMP/img03.bak"
check "eval-cam: missing map: exit 1" rc_is 1 "$WSSS" eval-cam --data "$D" --run "$R"
check "eval-cam: missing map named" has "$TMP/out" "img03.safetensors"
echo "not a safetensors file" >"$R/cams/img03.safetensors"
check "pseudo: corrupt map: exit 1" rc_is 1 "$WSSS" pseudo --data "$D" --run "$R" --out "$TMP/p4" --quiet
check "pseudo: corrupt map named" has "$TMP/out" "img03.safetensors"
mv "$TMP/img03.bak" "$R/cams/img03.safetensors"
check "pseudo: bad mode: exit 2" rc_is 2 "$WSSS" pseudo --data "$D" --run "$R" --bg nope

cli_summary cls_stages_cli
