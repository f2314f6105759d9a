#!/usr/bin/env bash
# The whole pipeline on a tiny VOC-format dataset that is not Fashion-Scenes: 4 foreground classes
# (5 with background), non-square images of two sizes, a 255 border in the masks, image-level
# labels from cls_labels.txt. Runs every subcommand (data check, train-cls, cam, eval-cam, pseudo,
# train-seg on pseudo labels and on ground truth, eval-seg, segment, eval-masks, report), checks
# their outputs, that an interrupted train-seg resumed with --resume equals an uninterrupted run
# byte for byte, backbone weights from a file the test writes (the classifier's torchvision-named
# state_dict), and user errors (exit codes, messages naming the file).
# Usage: bash tiny_voc.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
export WSSS_THREADS=1 WSSS_PROGRESS=0
PY=/usr/bin/python3

# ---- the dataset (PIL only) ----
tiny_voc_py "$TMP/ds" <<'EOF'
import os, random, sys
from PIL import Image, ImageDraw
import tiny_voc
root = sys.argv[1]
tiny_voc.start(root, ["red", "green", "blue", "yellow"])
colors = {1: (220, 40, 40), 2: (40, 200, 60), 3: (50, 60, 230), 4: (230, 220, 40)}
rnd = random.Random(7)
ids, labels = [], []
for i in range(16):
    w, h = (48, 36) if i % 3 else (40, 52)
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            g = 90 + (x * 3 + y * 2) % 40 + rnd.randint(0, 25)
            px[x, y] = (g, g, g + 10)
    mask = Image.new("P", (w, h), 0)
    pal = [0] * 768
    for c, col in colors.items():
        pal[3 * c:3 * c + 3] = col
    pal[765:768] = (224, 224, 192)
    mask.putpalette(pal)
    di, dm = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    present = sorted(rnd.sample([1, 2, 3, 4], 1 + i % 2))
    for c in present:
        bw, bh = rnd.randint(12, 18), rnd.randint(12, 18)
        x0, y0 = rnd.randint(0, w - bw - 1), rnd.randint(0, h - bh - 1)
        box = (x0, y0, x0 + bw, y0 + bh)
        (di.ellipse if c % 2 else di.rectangle)(box, fill=colors[c])
        (dm.ellipse if c % 2 else dm.rectangle)(box, fill=c)
    dm.rectangle((0, 0, w - 1, h - 1), outline=255)  # a void border, as VOC has around objects
    k = "s%02d" % i
    ids.append(k)
    labels.append("%s %s" % (k, " ".join(str(c) for c in present)))
    img.save(os.path.join(root, "JPEGImages", k + ".jpg"), quality=95)
    mask.save(os.path.join(root, "SegmentationClass", k + ".png"))
open(os.path.join(root, "cls_labels.txt"), "w").write("\n".join(labels) + "\n")
tiny_voc.write_split(root, "train", ids[:12])
tiny_voc.write_split(root, "val", ids[12:])
EOF
D="$TMP/ds"
R="$TMP/run"

check "data check" rc_is 0 "$WSSS" data check "$D"

# ---- stages 1-4 ----
check "train-cls" rc_is 0 "$WSSS" train-cls --data "$D" --run "$R" --arch resnet18-os8 --epochs 2 --batch 4 \
    --size 32 --lr 0.01 --quiet
check "classifier" test -f "$R/cls/model.safetensors"
check "cam" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --scales 1,0.5 --samples 2 --quiet
n=$(ls "$R/cams" | grep -c '\.safetensors$')
check "12 CAM files (got $n)" test "$n" = 12
check "eval-cam" rc_is 0 "$WSSS" eval-cam --data "$D" --run "$R" --quiet
check "eval-cam final line" grep -qE '^cam_miou [01]\.[0-9]{4} thr 0\.[0-9]{2}$' "$TMP/out"
check "pseudo" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --quiet
check "pseudo final line" grep -qE '^pseudo_miou [01]\.[0-9]{4}' "$TMP/out"
n=$(ls "$R/pseudo" | grep -c '\.png$')
check "12 pseudo labels (got $n)" test "$n" = 12

# ---- stage 5: train-seg; interrupted + resumed == uninterrupted ----
SEG=(--data "$D" --arch resnet18-os8-largefov --hidden 16 --head-dilation 2 --epochs 2 --batch 4 --crop 40 --lr 0.005 --quiet)
check "train-seg --stop-after exits 130" rc_is 130 "$WSSS" train-seg "${SEG[@]}" --run "$R" --stop-after 2
check "checkpoint written" test -f "$R/seg/ckpt/state.json"
check "no final model yet" test ! -e "$R/seg/model.safetensors"
check "train-seg --resume" rc_is 0 "$WSSS" train-seg --resume "$R/seg/ckpt" --quiet
check "final model" test -f "$R/seg/model.safetensors"
mkdir -p "$TMP/run2" && cp -r "$R/pseudo" "$TMP/run2/pseudo"
check "uninterrupted train-seg" rc_is 0 "$WSSS" train-seg "${SEG[@]}" --run "$TMP/run2"
check "resumed == uninterrupted (bytes)" cmp -s "$R/seg/model.safetensors" "$TMP/run2/seg/model.safetensors"
check "train-seg log" has "$R/logs/train-seg.jsonl" '"pixel_acc"'
check "log has the resume event" has "$R/logs/train-seg.jsonl" '"event":"resume"'
check "train-seg --gt" rc_is 0 "$WSSS" train-seg "${SEG[@]}" --run "$R" --gt --scale-min 0.5 --scale-max 1.5
check "upper-bound model" test -f "$R/seg_gt/model.safetensors"
check "train-seg aspp, os16, frozen BN, backbone from the classifier file" rc_is 0 "$WSSS" train-seg --data "$D" \
    --run "$TMP/run3" --masks "$R/pseudo" --arch resnet18-os16-aspp --epochs 1 --batch 4 --crop 32 \
    --backbone-weights "$R/cls/model.safetensors" --quiet
check "aspp model" test -f "$TMP/run3/seg/model.safetensors"
check "train-seg deeplabv3plus" rc_is 0 "$WSSS" train-seg --data "$D" --run "$TMP/run4" --masks "$R/pseudo" \
    --arch resnet18-deeplabv3plus --hidden 16 --epochs 1 --batch 4 --crop 32 --quiet

# ---- stage 6: eval-seg, segment ----
check "eval-seg" rc_is 0 "$WSSS" eval-seg --data "$D" --run "$R" --scales 0.75,1,1.25 --batch 3
check "eval-seg final line" grep -qE '^seg_miou [01]\.[0-9]{4}$' "$TMP/out"
check "per-class table names the classes" has "$TMP/out" "yellow"
check "metrics/eval-seg.json" has "$R/metrics/eval-seg.json" '"confusion"'
n=$(ls "$R/pred" | grep -c '\.png$')
check "4 predictions (got $n)" test "$n" = 4
check "sample predictions" test -f "$R/samples/s00_pred.png" -a -f "$R/samples/s01_pred.png"
check "eval-seg --gt --crf" rc_is 0 "$WSSS" eval-seg --data "$D" --run "$R" --gt --crf --scales 1 --no-flip
check "eval-seg --gt final line" grep -qE '^supervised_miou [01]\.[0-9]{4}$' "$TMP/out"
check "metrics/eval-seg-gt.json" has "$R/metrics/eval-seg-gt.json" '"miou"'
check "eval-seg on the train split, first 5" rc_is 0 "$WSSS" eval-seg --data "$D" --run "$R" --split train \
    --limit 5 --no-pred --json "$TMP/train5.json" --samples 0 --brief --quiet
check "--limit" has "$TMP/train5.json" '"num_images": 5'
check "eval-seg of a checkpoint directory" rc_is 0 "$WSSS" eval-seg --data "$D" --run "$R" --model "$R/seg/ckpt" \
    --scales 0.75,1,1.25 --batch 3 --no-pred --json "$TMP/ckpt.json" --samples 0 --brief --quiet
check "checkpoint = final model (same mIoU as eval-seg above)" test "$(grep '"miou"' "$TMP/ckpt.json")" = \
    "$(grep '"miou"' "$R/metrics/eval-seg.json")"
# every head's checkpoint directory, the class count read from its own output layer
for run in run3 run4; do
    for m in seg/ckpt seg/model.safetensors; do
        check "eval-seg --model $run/$m" rc_is 0 "$WSSS" eval-seg --data "$D" --run "$TMP/$run" --model "$TMP/$run/$m" \
            --scales 1 --no-pred --json "$TMP/$run-${m%%/*}-${m##*/}.json" --samples 0 --brief --quiet
    done
    check "$run: checkpoint = final model" test "$(grep '"miou"' "$TMP/$run-seg-ckpt.json")" = \
        "$(grep '"miou"' "$TMP/$run-seg-model.safetensors.json")"
done
check "eval-masks on eval-seg's predictions" rc_is 0 "$WSSS" eval-masks --gt "$D/SegmentationClass" \
    --pred "$R/pred" --list "$D/ImageSets/Segmentation/val.txt" --json "$TMP/masks.json" --brief
# eval-seg scored the network's labels, eval-masks reads them back from the written PNGs: the same
# confusion matrix and so the same numbers, or the PNGs lost or changed a label
check "eval-masks agrees with eval-seg (confusion, mIoU, accuracies)" $PY - "$R/metrics/eval-seg.json" \
    "$TMP/masks.json" <<'EOF'
import json, sys
seg, masks = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("num_images", "num_classes", "confusion", "miou", "pixel_acc", "mean_acc", "valid_pixels")
diff = [k for k in keys if seg[k] != masks[k]]
print("eval-seg mIoU %.6f, eval-masks mIoU %.6f, %d images" % (seg["miou"], masks["miou"], masks["num_images"]))
assert seg["num_images"] == 4 and sum(map(sum, seg["confusion"])) > 0, seg["num_images"]
sys.exit("differ: " + ", ".join(diff) if diff else 0)
EOF
cp -r "$D" "$TMP/ds_nomask" && rm -rf "$TMP/ds_nomask/SegmentationClass"
check "eval-seg on a split without masks: predictions only" rc_is 0 "$WSSS" eval-seg --data "$TMP/ds_nomask" \
    --run "$R" --scales 1 --pred "$TMP/pnm" --json "$TMP/pnm.json" --samples 0 --quiet
check "predictions without masks" test -f "$TMP/pnm/s15.png" -a ! -e "$TMP/pnm.json"
cp "$D/JPEGImages/s12.jpg" "$TMP/a photo.jpg"
$PY -c "from PIL import Image; Image.open('$D/JPEGImages/s13.jpg').save('$TMP/b.png')"
check "segment" rc_is 0 "$WSSS" segment "$TMP/a photo.jpg" "$TMP/b.png" --out "$TMP/seg_out" --run "$R" --scales 1
check "segment outputs" test -f "$TMP/seg_out/a photo.png" -a -f "$TMP/seg_out/a photo_overlay.png" -a \
    -f "$TMP/seg_out/b.png" -a -f "$TMP/seg_out/b_overlay.png"
check "segment mask: palette, image size; overlay: RGB" $PY - "$TMP/seg_out" "$D/JPEGImages/s13.jpg" <<'EOF'
import sys
from PIL import Image
m, o, src = Image.open(sys.argv[1] + "/b.png"), Image.open(sys.argv[1] + "/b_overlay.png"), Image.open(sys.argv[2])
assert m.mode == "P" and m.size == src.size and max(m.getdata()) <= 4, (m.mode, m.size, src.size)
assert o.mode == "RGB" and o.size == src.size
EOF

# ---- report ----
check "report" rc_is 0 "$WSSS" report "$R"
check "report file" has "$R/report.html" "eval-seg"

# ---- user errors ----
check "train-seg: missing mask folder: exit 1" rc_is 1 "$WSSS" train-seg "${SEG[@]}" --run "$TMP/r5" \
    --masks "$TMP/nope"
check "missing mask folder named" has "$TMP/out" "$TMP/nope"
cp -r "$R/pseudo" "$TMP/badmasks"
$PY -c "
from PIL import Image
m = Image.open('$TMP/badmasks/s03.png'); m.putpixel((3, 3), 9); m.save('$TMP/badmasks/s03.png')"
check "train-seg: class id out of range: exit 1" rc_is 1 "$WSSS" train-seg "${SEG[@]}" --run "$TMP/r6" \
    --masks "$TMP/badmasks"
check "bad mask named" has "$TMP/out" "s03.png"
rm "$TMP/badmasks/s05.png"
check "train-seg: missing mask: exit 1" rc_is 1 "$WSSS" train-seg "${SEG[@]}" --run "$TMP/r6" --masks "$TMP/badmasks"
check "missing mask named" has "$TMP/out" "s05"
check "train-seg: unknown arch: exit 1" rc_is 1 "$WSSS" train-seg "${SEG[@]}" --run "$TMP/r7" --masks "$R/pseudo" \
    --arch resnet18-fcn
check "unknown arch named" has "$TMP/out" "resnet18-fcn"
check "train-seg: bad BN mode: exit 2" rc_is 2 "$WSSS" train-seg "${SEG[@]}" --run "$TMP/r7" --masks "$R/pseudo" \
    --bn sometimes
check "bad BN mode named" has "$TMP/out" "sometimes"
head -c 2000 "$R/cls/model.safetensors" >"$TMP/trunc.safetensors"
check "truncated backbone weights: exit 1" rc_is 1 "$WSSS" train-seg "${SEG[@]}" --run "$TMP/r8" \
    --masks "$R/pseudo" --backbone-weights "$TMP/trunc.safetensors"
check "truncated weights named" has "$TMP/out" "trunc.safetensors"
check "train-seg: bad flag value: exit 2" rc_is 2 "$WSSS" train-seg "${SEG[@]}" --epochs two
check "train-seg: unknown flag: exit 2" rc_is 2 "$WSSS" train-seg "${SEG[@]}" --epoch 2
check "train-seg: resume from a non-checkpoint: exit 1" rc_is 1 "$WSSS" train-seg --resume "$D" --quiet
check "eval-seg: classifier file is not a segmentation model: exit 1" rc_is 1 "$WSSS" eval-seg --data "$D" \
    --model "$R/cls/model.safetensors" --quiet
check "not a segmentation model named" has "$TMP/out" "model.safetensors"
check "eval-seg: bad scales: exit 2" rc_is 2 "$WSSS" eval-seg --data "$D" --run "$R" --scales 1,0
cp -r "$D" "$TMP/ds_bad"
echo "not a jpeg" >"$TMP/ds_bad/JPEGImages/s14.jpg"
check "eval-seg: corrupt image: exit 1" rc_is 1 "$WSSS" eval-seg --data "$TMP/ds_bad" --run "$R" --pred "$TMP/p9" \
    --json "$TMP/p9.json" --samples 0 --quiet
check "corrupt image named" has "$TMP/out" "s14.jpg"
check "eval-seg --skip-bad goes on" rc_is 0 "$WSSS" eval-seg --data "$TMP/ds_bad" --run "$R" --pred "$TMP/p9" \
    --json "$TMP/p9.json" --samples 0 --skip-bad --quiet
check "--skip-bad scored the 3 readable images" has "$TMP/p9.json" '"num_images": 3'
check "--skip-bad: no prediction for the corrupt image, one for the others" test ! -e "$TMP/p9/s14.png" -a \
    -f "$TMP/p9/s12.png" -a -f "$TMP/p9/s13.png" -a -f "$TMP/p9/s15.png"
check "segment: missing image: exit 1, others written" rc_is 1 "$WSSS" segment "$TMP/none.jpg" "$TMP/b.png" \
    --out "$TMP/seg2" --run "$R" --scales 1 --quiet
check "missing image named" has "$TMP/out" "none.jpg"
check "the readable image was still segmented" test -f "$TMP/seg2/b.png"
check "segment without images: exit 2" rc_is 2 "$WSSS" segment --out "$TMP/seg3" --run "$R"

cli_summary tiny_voc
