#!/usr/bin/env bash
# `wsss pretrain` end to end on tiny ImageFolders:
#  - Fashion-Objects (32 px): 2 epochs of resnet18 write a backbone whose tensor names and shapes
#    are torchvision resnet18's state_dict minus fc, and a head; train-cls --backbone-weights loads
#    it (strictly: resnet34 refuses it); val top-1/top-5 in the JSONL and on stderr;
#  - resume: stopped at the end of epoch 1 or mid-epoch and resumed gives the bytes of an
#    uninterrupted run; --resume refuses other settings;
#  - learning: on three colour classes the loss falls and val top-1 clears chance (1/3) by far;
#  - bad data (empty class folder, non-image file, corrupt image, a val class not in train, one class):
#    exit 1 naming the folder or file, --skip-bad goes on; bad settings exit 2.
# Usage: bash pretrain_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
export WSSS_THREADS=1 WSSS_PROGRESS=0
check "dataset-fashion-mnist installed (make deps)" test -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

FO="$TMP/fo"
check "fashion-objects: a tiny set" rc_is 0 "$WSSS" data fashion-objects --out "$FO" --train 40 --val 20 --size 32 --quiet

# ---- a backbone with torchvision's names, loadable by train-cls ----
PT=(--data "$FO" --arch resnet18 --epochs 2 --batch 8 --size 32 --lr 0.02)
R="$TMP/a"
check "pretrain 2 epochs: exit 0" rc_is 0 "$WSSS" pretrain "${PT[@]}" --run "$R" --head "$R/head.safetensors"
cp "$TMP/out" "$TMP/a.out"
check "banner" has "$TMP/a.out" "pretrain: resnet18, 40 images in 10 classes (val: 20), 2 epochs x 5 steps (batch 8)"
check "val scores printed every epoch" bash -c "grep -c '^pretrain: epoch [12]/2: train loss .*, top-1 .*, top-5 .* (20 images' '$TMP/a.out' | grep -qx 2"
check "backbone written" test -f "$R/pretrain/backbone.safetensors"
check "JSONL: val scores in both epoch records" bash -c \
    "grep '\"event\":\"epoch\"' '$R/logs/pretrain.jsonl' | grep '\"val_loss\"' | grep '\"val_top1\"' | grep -c '\"val_top5\"' | grep -qx 2"

/usr/bin/python3 - "$R/pretrain/backbone.safetensors" "$R/head.safetensors" >"$TMP/keys.out" 2>&1 <<'EOF'
import json, struct, sys
import torchvision
def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))
bb, head = header(sys.argv[1]), header(sys.argv[2])
meta = bb.pop("__metadata__", {})
want = {k: list(v.shape) for k, v in torchvision.models.resnet18().state_dict().items() if not k.startswith("fc.")}
got = {k: v["shape"] for k, v in bb.items()}
print("missing:", sorted(set(want) - set(got)), "unexpected:", sorted(set(got) - set(want)))
print("shape differs:", sorted(k for k in want if k in got and want[k] != got[k]))
assert got == want, "backbone != torchvision resnet18 state_dict minus fc"
assert meta.get("wsss_model") == "backbone" and meta.get("arch") == "resnet18" and meta.get("num_classes") == "10", meta
hmeta = head.pop("__metadata__", {})
assert {k: v["shape"] for k, v in head.items()} == {"fc.weight": [10, 512], "fc.bias": [10]}, head
assert hmeta.get("classes", "").split("\n")[:2] == ["ankle-boot", "bag"], hmeta
print("ok")
EOF
check "backbone names and shapes = torchvision resnet18 minus fc; head fc.* with the classes" bash -c \
    "tail -1 '$TMP/keys.out' | grep -qx ok || { cat '$TMP/keys.out'; false; }"

# a tiny VOC folder for train-cls
tiny_voc_py "$TMP/voc" <<'EOF'
import os, sys
import numpy as np
import tiny_voc
root = sys.argv[1]
tiny_voc.start(root, ["red", "green"], masks=False)
rng = np.random.RandomState(1)
ids = []
for i in range(4):
    rgb = (rng.rand(32, 32, 3) * 60 + 90).astype(np.uint8)
    rgb[8:20, 8:20] = (220, 30, 30) if i % 2 else (30, 200, 40)
    ids.append("im%d" % i)
    tiny_voc.save(root, ids[-1], rgb)
tiny_voc.write_split(root, "train", ids)
open(os.path.join(root, "cls_labels.txt"), "w").write("".join("%s %d\n" % (k, 1 + i % 2) for i, k in enumerate(ids)))
EOF
CLS=(train-cls --data "$TMP/voc" --epochs 1 --batch 2 --size 32 --quiet --backbone-weights "$R/pretrain/backbone.safetensors")
check "train-cls --arch resnet18-os16 --backbone-weights <pretrained>: exit 0" rc_is 0 "$WSSS" "${CLS[@]}" \
    --arch resnet18-os16 --run "$TMP/cls"
check "train-cls --arch resnet34 refuses it: exit 1" rc_is 1 "$WSSS" "${CLS[@]}" --arch resnet34 --run "$TMP/cls34"
check "... naming the missing tensors" has "$TMP/out" "layer1.2.conv1.weight"

# ---- resume: the end of epoch 1, and mid-epoch, give the uninterrupted bytes ----
for stop in 5 3; do
    B="$TMP/b$stop"
    check "stop after $stop steps: exit 130" rc_is 130 "$WSSS" pretrain "${PT[@]}" --run "$B" --head "$B/head.safetensors" \
        --stop-after "$stop"
    check "stop after $stop steps: the checkpoint named" has "$TMP/out" \
        "wsss pretrain: interrupted; checkpoint saved in $B/pretrain/ckpt (continue with --resume $B/pretrain/ckpt)"
    check "stop after $stop steps: no backbone yet" test ! -e "$B/pretrain/backbone.safetensors"
    check "--resume (stopped after $stop): exit 0" rc_is 0 "$WSSS" pretrain --resume "$B/pretrain/ckpt" --quiet
    check "resumed after $stop steps: the backbone's bytes equal the uninterrupted run's" \
        cmp "$B/pretrain/backbone.safetensors" "$R/pretrain/backbone.safetensors"
    check "resumed after $stop steps: the head's bytes too" cmp "$B/head.safetensors" "$R/head.safetensors"
done
check "the resumed run logged the resume" has "$TMP/b3/logs/pretrain.jsonl" '"event":"resume","step":3,"epoch":0'
check "--resume with another --lr: exit 2" rc_is 2 "$WSSS" pretrain --resume "$TMP/b5/pretrain/ckpt" --lr 0.5
check "... naming both values" has "$TMP/out" "wsss pretrain: --lr 0.5: the run in $TMP/b5/pretrain/ckpt was started with 0.02"

# ---- learning: three colour classes, val top-1 far above chance ----
/usr/bin/python3 - "$TMP/easy" <<'EOF' || { echo "FAIL: cannot build the easy set with /usr/bin/python3 + PIL"; exit 1; }
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
rng = np.random.RandomState(5)
colors = {"blue": (40, 40, 230), "green": (30, 200, 40), "red": (220, 30, 30)}
for split, n in (("train", 30), ("val", 10)):
    for name, col in colors.items():
        os.makedirs(os.path.join(root, split, name), exist_ok=True)
        for i in range(n):
            rgb = (rng.rand(32, 32, 3) * 80 + 80).astype(np.uint8)
            s = rng.randint(14, 22)
            y0, x0 = rng.randint(0, 32 - s), rng.randint(0, 32 - s)
            rgb[y0:y0 + s, x0:x0 + s] = col
            Image.fromarray(rgb).save(os.path.join(root, split, name, "%s_%02d.png" % (split, i)))
EOF
check "pretrain on the easy set: exit 0" rc_is 0 "$WSSS" pretrain --data "$TMP/easy" --run "$TMP/easyrun" --arch resnet18 \
    --epochs 4 --batch 10 --size 32 --lr 0.05 --quiet
/usr/bin/python3 - "$TMP/easyrun/logs/pretrain.jsonl" >"$TMP/learn.out" 2>&1 <<'EOF'
import json, sys
ep = [r for r in map(json.loads, open(sys.argv[1])) if r.get("event") == "epoch"]
print("epoch_loss", [round(r["epoch_loss"], 3) for r in ep], "val_top1", [r["val_top1"] for r in ep],
      "val_top5", [r["val_top5"] for r in ep])
assert len(ep) == 4
assert ep[-1]["epoch_loss"] < 0.7 * ep[0]["epoch_loss"], "the training loss did not fall by 30%"
assert ep[-1]["val_top1"] >= 0.8, "val top-1 below 0.8 (chance 1/3)"
assert all(r["val_top5"] == 1.0 for r in ep), "val_top5 is top-3 with 3 classes: always right"
print("ok")
EOF
check "loss falls, val top-1 >= 0.8 (chance 0.33)" bash -c "tail -1 '$TMP/learn.out' | grep -qx ok || { cat '$TMP/learn.out'; false; }"
cat "$TMP/learn.out" | head -1

# ---- bad data: the data layer's errors, or --skip-bad ----
bad_copy() { rm -rf "$TMP/bad" && cp -r "$TMP/easy" "$TMP/bad"; }
ONE=(--data "$TMP/bad" --run "$TMP/badrun" --epochs 1 --batch 30 --size 32 --quiet --no-val)
bad_copy
mkdir "$TMP/bad/train/yellow"
check "an empty class folder: exit 1" rc_is 1 "$WSSS" pretrain "${ONE[@]}"
check "... named, with the prefix" has "$TMP/out" "wsss pretrain: "
check "... the folder named" has "$TMP/out" "$TMP/bad/train/yellow"
bad_copy
echo "notes" >"$TMP/bad/train/red/readme.txt"
check "a non-image file: exit 1" rc_is 1 "$WSSS" pretrain "${ONE[@]}"
check "... the file named" has "$TMP/out" "$TMP/bad/train/red/readme.txt"
check "a non-image file with --skip-bad: exit 0" rc_is 0 "$WSSS" pretrain "${ONE[@]}" --skip-bad
check "... with a warning naming it" has "$TMP/out" "readme.txt"
bad_copy
head -c 300 /dev/urandom >"$TMP/bad/train/green/train_03.png"
check "a corrupt image: exit 1" rc_is 1 "$WSSS" pretrain "${ONE[@]}"
check "... the file named" has "$TMP/out" "$TMP/bad/train/green/train_03.png"
check "a corrupt image with --skip-bad: exit 0" rc_is 0 "$WSSS" pretrain "${ONE[@]}" --skip-bad
bad_copy
mv "$TMP/bad/val/blue" "$TMP/bad/val/cyan"
check "a val class not in train: exit 1" rc_is 1 "$WSSS" pretrain --data "$TMP/bad" --run "$TMP/badrun" --epochs 1 --quiet
check "... named, with the training classes" has "$TMP/out" \
    "$TMP/bad/val/cyan: no class folder of that name in $TMP/bad/train (its classes: blue, green, red)"
bad_copy
rm -rf "$TMP/bad/train/green" "$TMP/bad/train/red"
check "one class: exit 1" rc_is 1 "$WSSS" pretrain "${ONE[@]}"
check "... said so" has "$TMP/out" "one class folder (blue)"
check "a missing split: exit 1" rc_is 1 "$WSSS" pretrain --data "$TMP/easy" --split nope --run "$TMP/badrun" --quiet
check "... named" has "$TMP/out" "$TMP/easy/nope"

# ---- bad settings: exit 2, one prefix ----
check "--lr-policy step: exit 2" rc_is 2 "$WSSS" pretrain --data "$TMP/easy" --lr-policy step
check "... expected cosine or poly" has "$TMP/out" "wsss pretrain: --lr-policy step: expected cosine or poly"
check "--arch resnet50-aspp: exit 2" rc_is 2 "$WSSS" pretrain --data "$TMP/easy" --arch resnet50-aspp
check "... a segmentation model" has "$TMP/out" "wsss pretrain: --arch resnet50-aspp: a segmentation model"
check "--arch resnet19: exit 2" rc_is 2 "$WSSS" pretrain --data "$TMP/easy" --arch resnet19
check "... named" has "$TMP/out" "resnet19"
check "--optim adam: exit 2" rc_is 2 "$WSSS" pretrain --data "$TMP/easy" --optim adam
check "--label-smoothing 1: exit 2" rc_is 2 "$WSSS" pretrain --data "$TMP/easy" --label-smoothing 1
check "... the range" has "$TMP/out" "wsss pretrain: --label-smoothing 1: out of range (expected 0 <= F < 1)"

cli_summary pretrain_cli
