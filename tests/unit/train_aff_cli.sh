#!/usr/bin/env bash
# `wsss train-aff` (train_aff.h) on a tiny VOC folder whose PSA-style label maps (0 sure background,
# class id sure foreground, 255 uncertain) the test writes itself: a run finishes and writes the
# affinity model (metadata, log with the pair statistics and the low-storage note); --stop-after +
# --resume gives the bytes of an uninterrupted run; with backbone weights the frozen conv1/layer1
# and every BN come out unchanged while layer2 and the head train; bad input (no label folder, a
# crop that is not a multiple of 8 or too small, an unknown backbone, backbone weights that do not
# fit) fails before training with a message naming it.
# Usage: bash train_aff_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
export WSSS_THREADS=1 WSSS_PROGRESS=0

tiny_voc_py "$TMP/ds" "$TMP/labels" <<'EOF'
import os, sys
import numpy as np
from PIL import Image
import tiny_voc
root, labels = sys.argv[1], sys.argv[2]
tiny_voc.start(root, ["red", "green"])
os.makedirs(labels)
rng = np.random.RandomState(2)
ids = []
for i in range(6):
    h, w = (64, 80) if i % 2 else (72, 64)
    rgb = (rng.rand(h, w, 3) * 60 + 90).astype(np.uint8)
    m = np.zeros((h, w), np.uint8)
    c = 1 + i % 2
    y0, x0 = rng.randint(4, h - 28), rng.randint(4, w - 28)
    rgb[y0:y0 + 24, x0:x0 + 24] = (220, 30, 30) if c == 1 else (30, 200, 40)
    m[y0:y0 + 24, x0:x0 + 24] = c
    # PSA's labels: the object's core sure, a 4-pixel uncertain band on both sides of its edge
    lab = np.zeros((h, w), np.uint8)
    lab[max(0, y0 - 4):y0 + 28, max(0, x0 - 4):x0 + 28] = 255
    lab[y0 + 4:y0 + 20, x0 + 4:x0 + 20] = c
    k = "im%d" % i
    ids.append(k)
    tiny_voc.save(root, k, rgb, m)
    p = Image.fromarray(lab, "P")
    p.putpalette([(j * 37) % 256 for j in range(768)])
    p.save(os.path.join(labels, k + ".png"))
tiny_voc.write_split(root, "train", ids)
EOF
D="$TMP/ds"

# st_py FILE CODE: runs CODE with `meta` and `tensors` (name -> (dtype, shape, bytes)) of a safetensors FILE
st_py() {
    /usr/bin/python3 - "$@" <<'EOF'
import json, struct, sys
def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    return meta, {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in h.items()}
meta, tensors = read(sys.argv[1])
exec(sys.argv[2])
EOF
}

# ---- no label folder: the message says what to run ----
R="$TMP/run"
AFF=(--data "$D" --arch resnet18 --crop 72 --batch 2 --epochs 2 --lr 0.01)
check "no RUN/pseudo: exit 1" rc_is 1 "$WSSS" train-aff "${AFF[@]}" --run "$R" --quiet
check "no RUN/pseudo: named, with the remedy" has "$TMP/out" \
    "wsss train-aff: $R/pseudo: no such mask folder (run wsss pseudo --bg psa first, or --labels DIR)"
check "no --labels folder: exit 1" rc_is 1 "$WSSS" train-aff "${AFF[@]}" --run "$R" --labels "$TMP/nope" --quiet
check "no --labels folder: named" has "$TMP/out" "wsss train-aff: $TMP/nope: no such mask folder"
check "nothing trained" test ! -e "$R/aff"

# ---- a run on RUN/pseudo (6 images, batch 2: 3 steps an epoch) ----
mkdir -p "$R" && cp -r "$TMP/labels" "$R/pseudo"
check "train-aff" rc_is 0 "$WSSS" train-aff "${AFF[@]}" --run "$R"
check "the status line names the label rule" has "$TMP/out" \
    "labels $R/pseudo (argmax maps, 8x8 block majority (refinement.md b.1 low-storage option))"
check "the status line: the grid and the frozen layers" has "$TMP/out" "crop 72: 9x9 cells, 170 pairs each"
check "model written" test -f "$R/aff/model.safetensors"
check "checkpoint written" test -f "$R/aff/ckpt/state.json"
check "model metadata" st_py "$R/aff/model.safetensors" '
ok = meta == {"wsss_model": "affinity", "arch": "resnet18",
              "labels": "argmax maps, 8x8 block majority (refinement.md b.1 low-storage option)"}
ok = ok and tensors["f9.weight"][1] == [448, 448, 1, 1] and "layer4.1.conv2.weight" in tensors
sys.exit(0 if ok else print(meta, sorted(tensors)[:5]) or 1)'
L="$R/logs/train-aff.jsonl"
check "the start record carries the note" has "$L" \
    '"note":"labels: argmax maps, 8x8 block majority (refinement.md b.1 low-storage option)"'
check "pair statistics in every step record" \
    /usr/bin/python3 - "$L" <<'EOF'
import json, sys
steps = [r for r in map(json.loads, open(sys.argv[1])) if "loss" in r and r.get("event") != "epoch"]
ok = len(steps) == 6 and all(r["bg_pairs"] > 0 and r["neg_pairs"] > 0 and 0 < r["aff_bg"] <= 1 for r in steps)
sys.exit(0 if ok else print(steps) or 1)
EOF

# ---- interrupted + resumed == uninterrupted (bytes) ----
R2="$TMP/run2"
mkdir -p "$R2" && cp -r "$TMP/labels" "$R2/pseudo"
check "train-aff --stop-after 4: exit 130" rc_is 130 "$WSSS" train-aff "${AFF[@]}" --run "$R2" --quiet --stop-after 4
check "interrupted: the checkpoint named" has "$TMP/out" \
    "wsss train-aff: interrupted; checkpoint saved in $R2/aff/ckpt (continue with --resume $R2/aff/ckpt)"
check "no final model yet" test ! -e "$R2/aff/model.safetensors"
check "train-aff --resume" rc_is 0 "$WSSS" train-aff --resume "$R2/aff/ckpt" --quiet
check "resumed == uninterrupted (bytes)" cmp "$R/aff/model.safetensors" "$R2/aff/model.safetensors"
check "the resumed run logged its resume" has "$R2/logs/train-aff.jsonl" '"event":"resume","step":4'
check "train-aff --resume --crop 80: refused" rc_is 2 "$WSSS" train-aff --resume "$R2/aff/ckpt" --crop 80
check "--crop: stored and given value" has "$TMP/out" "--crop 80: the run in $R2/aff/ckpt was started with 72"

# ---- backbone weights: the frozen layers and BN keep them, the rest trains ----
st_py "$R/aff/model.safetensors" '
import json, struct
keep = {k: v for k, v in tensors.items() if not k.startswith(("f8_", "f9."))}
order = sorted(keep)
head, blob, off = {}, b"", 0
for k in order:
    d, s, b = keep[k]
    head[k] = {"dtype": d, "shape": s, "data_offsets": [off, off + len(b)]}
    blob += b
    off += len(b)
h = json.dumps(head).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open(sys.argv[3], "wb").write(struct.pack("<Q", len(h)) + h + blob)' "$TMP/backbone.safetensors"
R3="$TMP/run3"
check "train-aff --backbone-weights" rc_is 0 "$WSSS" train-aff "${AFF[@]}" --run "$R3" --labels "$TMP/labels" \
    --backbone-weights "$TMP/backbone.safetensors" --quiet
check "conv1, layer1 and BN as loaded; layer2..4 and the head trained" st_py "$R3/aff/model.safetensors" '
_, start = read(sys.argv[3])
frozen = [k for k in start if k.startswith(("conv1.", "layer1.")) or ".bn" in k or k.startswith("bn1.")
          or ".downsample.1." in k]
trained = [k for k in start if k.endswith("conv2.weight") and k.startswith(("layer2.", "layer3.", "layer4."))]
same = [k for k in frozen if tensors[k][2] != start[k][2]]
moved = [k for k in trained if tensors[k][2] != start[k][2]]
ok = len(frozen) > 20 and not same and len(moved) == len(trained) == 6
sys.exit(0 if ok else print("changed:", same, "moved:", moved) or 1)' "$TMP/backbone.safetensors"

# ---- bad settings and inputs: refused before any training ----
B="$TMP/bad"
check "--crop 100: exit 2" rc_is 2 "$WSSS" train-aff --data "$D" --run "$B" --labels "$TMP/labels" --crop 100
check "--crop 100: not a multiple of 8" has "$TMP/out" "wsss train-aff: --crop 100: not a multiple of 8"
check "--crop 64: exit 2" rc_is 2 "$WSSS" train-aff --data "$D" --run "$B" --labels "$TMP/labels" --crop 64
check "--crop 64: too small" has "$TMP/out" "wsss train-aff: --crop 64: out of range (expected 72..8192)"
check "--arch resnet19: exit 2" rc_is 2 "$WSSS" train-aff --data "$D" --run "$B" --labels "$TMP/labels" --arch resnet19
check "--arch resnet19: named with the choices" has "$TMP/out" \
    "wsss train-aff: --arch resnet19: expected resnet18, resnet34, resnet50, resnet101 or resnet152"
check "resnet18 weights for resnet34: exit 1" rc_is 1 "$WSSS" train-aff --data "$D" --run "$B" --labels "$TMP/labels" \
    --arch resnet34 --crop 72 --backbone-weights "$TMP/backbone.safetensors" --quiet
check "resnet18 weights for resnet34: the file and a missing tensor named" has "$TMP/out" "backbone.safetensors"
check "resnet18 weights for resnet34: a missing tensor named" has "$TMP/out" "layer1.2.conv1.weight"
check "an affinity model as backbone weights: exit 1" rc_is 1 "$WSSS" train-aff --data "$D" --run "$B" \
    --labels "$TMP/labels" --arch resnet18 --crop 72 --backbone-weights "$R/aff/model.safetensors" --quiet
check "an affinity model as backbone weights: its head named" has "$TMP/out" "f8_3.weight"
check "nothing written for bad input" test ! -e "$B/aff"

cli_summary train_aff_cli
