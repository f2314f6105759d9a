#!/usr/bin/env bash
# `wsss pseudo --refine rw` (pseudo_rw.h): PSA's random walk over the affinities of the net
# `wsss train-aff` trained, on a tiny VOC folder whose CAM files the test writes itself (soft maps
# around each object; sizes that are not multiples of 8, an image too small for any pair of the walk,
# an image without classes). Checked: one palette PNG per image with values in {0} and the image's
# classes (no 255; the image without classes all background), the same bytes again and with
# --aff-model naming the model; --refine crf writes what pseudo writes without --refine; bad input
# (no model, a file that is not an affinity model, --rw-* out of range, an unknown --refine word,
# CRF options with the walk and walk options without it) fails before anything is written, with a
# message naming the file or option.
# Usage: bash pseudo_rw_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
export WSSS_THREADS=1 WSSS_PROGRESS=0

R="$TMP/run"
tiny_voc_py "$TMP/ds" "$R/cams" <<'EOF'
import json, os, struct, sys
import numpy as np
import tiny_voc
root, cams = sys.argv[1], sys.argv[2]
tiny_voc.start(root, ["red", "green"])
os.makedirs(cams)
rng = np.random.RandomState(4)
colors = {1: (220, 30, 30), 2: (30, 200, 40)}

def save_cams(k, maps, classes):
    """A CAM file (run_layout.h): cams F32 [n, H, W], classes I32 [n]."""
    h, w = maps.shape[1:] if len(maps) else (0, 0)
    blobs = [np.ascontiguousarray(maps, np.float32).tobytes(), np.array(classes, np.int32).tobytes()]
    head = {"cams": {"dtype": "F32", "shape": list(maps.shape), "data_offsets": [0, len(blobs[0])]},
            "classes": {"dtype": "I32", "shape": [len(classes)],
                        "data_offsets": [len(blobs[0]), len(blobs[0]) + len(blobs[1])]},
            "__metadata__": {"id": k, "num_classes": "3", "norm": "max", "scales": "1", "flip": "0"}}
    h = json.dumps(head).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    open(os.path.join(cams, k + ".safetensors"), "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

ids = []
# (W, H, classes): sizes not multiples of 8; im4 is too small for a pair (a 3 x 4 grid); im5 has no class
for i, (w, h, cls) in enumerate([(75, 61, [1]), (80, 72, [2]), (69, 77, [1, 2]), (83, 66, [1, 2]),
                                  (30, 22, [2]), (72, 64, [])]):
    rgb = (rng.rand(h, w, 3) * 60 + 90).astype(np.uint8)
    m = np.zeros((h, w), np.uint8)
    maps = np.zeros((len(cls), h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    for j, c in enumerate(cls):
        s = min(h, w) // 3
        y0, x0 = rng.randint(0, h - s + 1), rng.randint(0, w - s + 1)
        rgb[y0:y0 + s, x0:x0 + s] = colors[c]
        m[y0:y0 + s, x0:x0 + s] = c
        d2 = (yy - (y0 + s / 2)) ** 2 + (xx - (x0 + s / 2)) ** 2
        a = np.exp(-d2 / (0.6 * s * s)) * (0.8 + 0.2 * rng.rand(h, w))
        maps[j] = a / a.max()
    k = "im%d" % i
    ids.append(k)
    tiny_voc.save(root, k, rgb, m)
    save_cams(k, maps, cls)
tiny_voc.write_split(root, "train", ids)
EOF
D="$TMP/ds"

# labels_ok DIR: one palette PNG per image, values in {0} and the classes of its CAM file
labels_ok() {
    /usr/bin/python3 - "$1" "$R/cams" <<'EOF'
import json, os, struct, sys
import numpy as np
from PIL import Image
out, cams = sys.argv[1], sys.argv[2]
bad = []
for i in range(6):
    k = "im%d" % i
    b = open(os.path.join(cams, k + ".safetensors"), "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    e = json.loads(b[8:8 + n])["classes"]
    cls = set(np.frombuffer(b[8 + n + e["data_offsets"][0]:8 + n + e["data_offsets"][1]], np.int32).tolist())
    p = os.path.join(out, k + ".png")
    if not os.path.exists(p):
        bad.append(k + ": missing")
        continue
    im = Image.open(p)
    v = set(np.unique(np.array(im)).tolist())
    if im.mode != "P" or not v <= {0} | cls or (cls and v == {0}) or (not cls and v != {0}):
        bad.append("%s: mode %s values %s classes %s" % (k, im.mode, sorted(v), sorted(cls)))
n_png = len([f for f in os.listdir(out) if f.endswith(".png")])
if n_png != 6:
    bad.append("%d PNGs" % n_png)
sys.exit(0 if not bad else print(bad) or 1)
EOF
}
same_labels() { # same_labels DIR_A DIR_B: the same files, byte for byte
    local f n=0
    for f in "$1"/*.png; do cmp -s "$f" "$2/$(basename "$f")" || { echo "--- differ: $f"; return 1; }; n=$((n + 1)); done
    [ "$n" = 6 ] && [ "$(ls "$2" | grep -c '\.png$')" = 6 ] || { echo "--- $n files"; return 1; }
}

# ---- bad input: refused before anything is written (a run folder of its own stays absent) ----
B="$TMP/bad"
BAD=(--data "$D" --run "$B" --cams "$R/cams" --quiet)
check "--refine rw without a model: exit 1" rc_is 1 "$WSSS" pseudo "${BAD[@]}" --refine rw
check "--refine rw without a model: named, with the remedy" has "$TMP/out" \
    "wsss pseudo: $B/aff/model.safetensors: no affinity model (run wsss train-aff first, or pass --aff-model FILE)"
check "--aff-model missing: exit 1" rc_is 1 "$WSSS" pseudo "${BAD[@]}" --refine rw --aff-model "$TMP/nope.safetensors"
check "--aff-model missing: named" has "$TMP/out" "wsss pseudo: $TMP/nope.safetensors: no affinity model"
check "--aff-model a CAM file: exit 1" rc_is 1 "$WSSS" pseudo "${BAD[@]}" --refine rw --aff-model "$R/cams/im0.safetensors"
check "--aff-model a CAM file: named, not an affinity model" has "$TMP/out" \
    "wsss pseudo: $R/cams/im0.safetensors: not a wsss affinity model"
for o in "--rw-beta 0" "--rw-steps -1" "--rw-steps 100001" "--rw-bg-power 0" "--rw-bg-power 1e9"; do
    check "--refine rw $o: exit 2" rc_is 2 "$WSSS" pseudo "${BAD[@]}" --refine rw $o
    check "--refine rw $o: out of range" has "$TMP/out" "wsss pseudo: $o: out of range"
done
check "--refine nope: exit 2" rc_is 2 "$WSSS" pseudo "${BAD[@]}" --refine nope
check "--refine nope: the words named" has "$TMP/out" "wsss pseudo: --refine nope: expected crf or rw"
check "--refine rw --bg psa: exit 2" rc_is 2 "$WSSS" pseudo "${BAD[@]}" --refine rw --bg psa
check "--refine rw --bg psa: refused, why" has "$TMP/out" \
    "wsss pseudo: --bg: not used with --refine rw (the random walk replaces the CRF labelling"
check "--refine rw --no-crf: exit 2" rc_is 2 "$WSSS" pseudo "${BAD[@]}" --refine rw --no-crf
check "--rw-beta without --refine rw: exit 2" rc_is 2 "$WSSS" pseudo "${BAD[@]}" --rw-beta 4
check "--rw-beta without --refine rw: refused" has "$TMP/out" "wsss pseudo: --rw-beta: only used with --refine rw"
check "nothing written for bad input" test ! -e "$B"

# ---- --refine crf is pseudo without --refine (bytes) ----
check "pseudo" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --out "$TMP/plain" --samples 0 --quiet
check "pseudo --refine crf" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --out "$TMP/crf" --refine crf --samples 0 --quiet
check "--refine crf == no --refine (bytes)" same_labels "$TMP/plain" "$TMP/crf"
check "pseudo log: refine crf" has "$R/logs/pseudo.jsonl" '"refine":"crf","bg":"otsu"'

# ---- train-aff on PSA's CRF pair, then the walk ----
check "pseudo --bg psa (train-aff's labels)" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --bg psa --samples 0 --quiet
check "train-aff" rc_is 0 "$WSSS" train-aff --data "$D" --run "$R" --arch resnet18 --crop 72 --batch 2 --epochs 1 \
    --lr 0.01 --quiet
check "pseudo --refine rw" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --refine rw --out "$TMP/rw"
check "pseudo --refine rw: the status line" has "$TMP/out" \
    "pseudo: random walk over the affinities of $R/aff/model.safetensors (resnet18; beta 8, 256 steps, background power 16)"
check "pseudo --refine rw: 6 labels written" has "$TMP/out" "pseudo: 6 labels written to $TMP/rw"
check "pseudo --refine rw: the mIoU line" grep -qE '^pseudo_miou [01]\.[0-9]{4} ignored 0\.0000$' "$TMP/out"
check "labels: palette PNGs, 0 and the image's classes, no 255" labels_ok "$TMP/rw"
check "pseudo log: refine rw and its settings" has "$R/logs/pseudo.jsonl" \
    "\"refine\":\"rw\",\"aff_model\":\"$R/aff/model.safetensors\",\"rw_beta\":8.0,\"rw_steps\":256,\"rw_bg_power\":16.0"
cp "$R/aff/model.safetensors" "$TMP/aff.safetensors"
check "pseudo --refine rw into RUN/pseudo, --aff-model" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --refine rw \
    --aff-model "$TMP/aff.safetensors" --quiet
check "RUN/pseudo: the same bytes again" same_labels "$TMP/rw" "$R/pseudo"
check "pseudo --refine rw --rw-steps 0 --rw-beta 2 --rw-bg-power 4" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" \
    --refine rw --rw-steps 0 --rw-beta 2 --rw-bg-power 4 --out "$TMP/rw0" --quiet
check "other walk settings: other labels" bash -c "! cmp -s '$TMP/rw/im2.png' '$TMP/rw0/im2.png'"
check "other walk settings: labels" labels_ok "$TMP/rw0"

cli_summary pseudo_rw_cli
