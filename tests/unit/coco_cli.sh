#!/usr/bin/env bash
# COCO-format datasets through the CLI, on a folder this test writes with PIL (annotations/
# instances_{train,val}.json, train/ and val/ JPEGs): 3 categories with non-contiguous ids listed
# out of order, objects drawn in the images and annotated as polygons, uncompressed and compressed
# RLE, a crowd over an object, and an image without annotations.
#   - `wsss data check`: the summary (classes in id order, labels from the annotations, per-class
#     counts from the JSON), and each broken file (bad JSON, an annotation of a missing image, an
#     image file missing, an odd polygon, RLE counts that do not sum to h*w, an unknown category):
#     exit 1 and a message naming the file, the annotation id and the problem; --skip-bad: exit 0;
#   - the mask cache equal to the Python reference (scripts/gen_fixtures_coco.py), reused, and
#     `wsss data coco-masks --out DIR` with the stages pointed at it (--coco-masks);
#   - train-cls -> cam -> eval-cam -> pseudo -> train-seg -> eval-seg with tiny settings, eval-seg
#     also by --coco-annotations/--coco-images alone; the label-free image gets an all-background
#     pseudo label.
# Usage: bash coco_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
export WSSS_THREADS=1 WSSS_PROGRESS=0
PY=/usr/bin/python3
SCRIPTS="$TESTS_DIR/../scripts"

# ---- the dataset ----
"$PY" - "$TMP/coco" "$SCRIPTS" <<'EOF' || { echo "FAIL: cannot write the COCO folder with $PY + PIL"; exit 1; }
import json, os, random, sys
import numpy as np
from PIL import Image, ImageDraw
root = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from gen_fixtures_coco import rle_string_encode, counts_of
cats = [{"id": 9, "name": "blue"}, {"id": 1, "name": "red"}, {"id": 5, "name": "green"}]
colors = {1: (220, 40, 40), 5: (40, 200, 60), 9: (50, 60, 230)}
rnd = random.Random(3)
for split, n in (("train", 10), ("val", 4)):
    os.makedirs(os.path.join(root, split), exist_ok=True)
    images, anns = [], []
    for i in range(n):
        w, h = (48, 36) if i % 3 else (40, 44)
        arr = np.zeros((h, w, 3), np.uint8)
        arr[:] = (110, 110, 120)
        arr += np.array([[(x * 3 + y * 2) % 30 for x in range(w)] for y in range(h)], np.uint8)[:, :, None]
        img = Image.fromarray(arr)
        draw = ImageDraw.Draw(img)
        iid = 100 * (split == "val") + i + 1
        images.append({"id": iid, "file_name": "%s_%02d.jpg" % (split, i), "width": w, "height": h})
        if split == "train" and i == 9:  # no annotations
            img.save(os.path.join(root, split, images[-1]["file_name"]), quality=95)
            continue
        for c in sorted(rnd.sample([1, 5, 9], 1 + i % 2)):
            bw, bh = rnd.randint(12, 18), rnd.randint(12, 18)
            x0, y0 = rnd.randint(0, w - bw - 1), rnd.randint(0, h - bh - 1)
            if c == 9 and i % 4 == 1:  # an RLE object, compressed every other time
                yy, xx = np.mgrid[0:h, 0:w]
                disk = (xx - x0 - bw / 2) ** 2 + (yy - y0 - bh / 2) ** 2 <= (bw / 2) ** 2
                arr2 = np.array(img)
                arr2[disk] = colors[c]
                img = Image.fromarray(arr2)
                draw = ImageDraw.Draw(img)
                counts = counts_of(disk)
                seg = {"counts": rle_string_encode(counts) if i % 8 == 1 else counts, "size": [h, w]}
            else:
                pts = [x0, y0, x0 + bw, y0, x0 + bw, y0 + bh, x0 + bw // 2, y0 + bh - 4, x0, y0 + bh]
                draw.polygon(list(zip(pts[0::2], pts[1::2])), fill=colors[c])
                seg = [[float(v) for v in pts]]
            anns.append({"id": 1000 * (split == "val") + len(anns) + 1, "image_id": iid, "category_id": c,
                         "segmentation": seg, "area": 1.0, "bbox": [x0, y0, bw, bh], "iscrowd": 0})
        if i == 2:  # a crowd over the whole left third, around what is there
            m = np.zeros((h, w), bool)
            m[:, : w // 3] = True
            anns.append({"id": 1000 * (split == "val") + len(anns) + 1, "image_id": iid, "category_id": 1,
                         "segmentation": {"counts": counts_of(m), "size": [h, w]}, "area": 1.0,
                         "bbox": [0, 0, w // 3, h], "iscrowd": 1})
        img.save(os.path.join(root, split, images[-1]["file_name"]), quality=95)
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    doc = {"info": {"year": 2024}, "licenses": [], "images": images, "annotations": anns, "categories": cats}
    json.dump(doc, open(os.path.join(root, "annotations", "instances_%s.json" % split), "w"))
    # the summary data check must print: images per class, from the annotations
    per = {c["id"]: len({a["image_id"] for a in anns if a["category_id"] == c["id"]}) for c in cats}
    open(os.path.join(root, "expected_%s.txt" % split), "w").write(
        "".join("%d %s %d\n" % (k + 1, name, per[cid]) for k, (cid, name) in
                enumerate(sorted((c["id"], c["name"]) for c in cats))))
EOF
D="$TMP/coco"
ANN="$D/annotations/instances_train.json"
out="$TMP/out.txt"

# ---- data check ----
"$WSSS" data check "$D" >"$out" 2>&1
check "data check exits 0" test $? -eq 0
check "10 images" has "$out" "images       10 listed and found, 0 skipped at open, 0 failed to load"
check "classes: background + 3" has "$out" "classes      4 (including background)"
check "labels from the annotations" has "$out" "labels       from COCO annotations"
check "masks of every image" has "$out" "masks        10 of 10 images"
check "no problems" has "$out" "problems     0"
while read -r k name count; do
    check "class $k is $name (id order), in $count images" grep -qE "^ +$k $name +$count$" "$out"
done <"$D/expected_train.txt"
check "one image without labels" grep -qE "^ +0 1$" "$out"
check "the cache beside the annotations" test -f "$D/annotations/instances_train.masks/wsss_coco_masks.json"
check "no leftover of the build" bash -c "! ls '$D/annotations' | grep -q tmp-"

# the cached masks are the reference's
same_as_reference() { # same_as_reference ANNOTATIONS MASK_DIR
    "$PY" - "$1" "$2" "$SCRIPTS" <<'EOF'
import json, os, sys
import numpy as np
from PIL import Image
sys.path.insert(0, sys.argv[3])
from gen_fixtures_coco import semantic_mask
doc = json.load(open(sys.argv[1]))
class_of = {cid: k + 1 for k, cid in enumerate(sorted(c["id"] for c in doc["categories"]))}
bad = 0
for im in doc["images"]:
    want = semantic_mask(im, [a for a in doc["annotations"] if a["image_id"] == im["id"]], class_of)
    p = Image.open(os.path.join(sys.argv[2], im["file_name"].rsplit(".", 1)[0] + ".png"))
    got = np.array(p)
    if p.mode != "P" or got.shape != want.shape or (got != want).any():
        print("--- %s differs from the reference (mode %s)" % (im["file_name"], p.mode))
        bad += 1
sys.exit(1 if bad else 0)
EOF
}
check "train masks = the Python reference" same_as_reference "$ANN" "$D/annotations/instances_train.masks"
check "a crowd is in the masks" "$PY" -c "
import numpy as np, PIL.Image as I, sys
m = np.array(I.open('$D/annotations/instances_train.masks/train_02.png'))
sys.exit(0 if (m == 255).any() and (m[:, :m.shape[1] // 3] != 0).all() else 1)"
t0=$(stat -c %Y.%N "$D/annotations/instances_train.masks/train_03.png")
touch -d "2001-01-01" "$D/annotations/instances_train.masks/train_03.png"
check "data check again" rc_is 0 "$WSSS" data check "$D"
check "the cache is reused" test "$(stat -c %Y "$D/annotations/instances_train.masks/train_03.png")" = \
    "$(date -d 2001-01-01 +%s)"
check "no ROOT, no --coco-annotations: exit 2" rc_is 2 "$WSSS" data check
check "no ROOT: named" has "$TMP/out" "missing ROOT"

# ---- broken files: exit 1, file + annotation id + problem; --skip-bad exit 0 ----
broken() { # broken NAME PYTHON_EDIT EXPECTED_TEXT...
    local name="$1" edit="$2"
    shift 2
    rm -rf "$TMP/b_$name" && cp -r "$D" "$TMP/b_$name" && rm -rf "$TMP/b_$name/annotations/instances_train.masks"
    local f="$TMP/b_$name/annotations/instances_train.json"
    "$PY" -c "import json, sys; d = json.load(open('$f')); $edit; json.dump(d, open('$f', 'w'))" ||
        { echo "FAIL: edit $name"; return 1; }
    "$WSSS" data check "$TMP/b_$name" >"$out" 2>&1
    local rc=$?
    check "$name: exit 1 (got $rc)" test $rc -eq 1
    local t
    for t in "$@"; do check "$name: names '$t'" has "$out" "$t"; done
    "$WSSS" data check "$TMP/b_$name" --skip-bad >"$out" 2>&1
    check "$name: --skip-bad exits 0" test $? -eq 0
    check "$name: --skip-bad counts one problem" has "$out" "problems     1 (bad samples skipped"
}
F="/annotations/instances_train.json"
broken missing_image "d['annotations'].append({'id': 777, 'image_id': 4242, 'category_id': 1, 'segmentation': [[1, 1, 5, 1, 5, 5]]})" \
    "$TMP/b_missing_image$F: annotation 777: image_id 4242 is not in images"
broken odd_polygon "d['annotations'][3]['segmentation'][0].append(7.5); d['annotations'][3]['id'] = 778" \
    "$TMP/b_odd_polygon$F: annotation 778: segmentation[0] has 11 coordinates (an odd number; expected x,y pairs)"
broken rle_sum "a = [a for a in d['annotations'] if isinstance(a['segmentation'], dict) and isinstance(a['segmentation']['counts'], list)][0]; a['segmentation']['counts'][-1] += 3; a['id'] = 779" \
    "$TMP/b_rle_sum$F: annotation 779: RLE counts sum to" "expected height x width ="
broken category "d['annotations'][0]['category_id'] = 4; d['annotations'][0]['id'] = 780" \
    "$TMP/b_category$F: annotation 780: category_id 4 is not in categories"
rm -rf "$TMP/b_json" && cp -r "$D" "$TMP/b_json" && rm -rf "$TMP/b_json/annotations/instances_train.masks"
head -c 3000 "$ANN" >"$TMP/b_json$F"
check "bad JSON: exit 1" rc_is 1 "$WSSS" data check "$TMP/b_json"
check "bad JSON: the file" has "$TMP/out" "error: $TMP/b_json$F: annotation"
check "bad JSON: the byte" has "$TMP/out" "JSON error at byte 3000: "
rm -rf "$TMP/b_file" && cp -r "$D" "$TMP/b_file" && rm "$TMP/b_file/train/train_04.jpg"
check "image file missing: exit 1" rc_is 1 "$WSSS" data check "$TMP/b_file"
check "image file missing: named" has "$TMP/out" "$TMP/b_file/train/train_04.jpg: image of id 'train_04'"

# ---- the cache elsewhere: data coco-masks --out, stages with --coco-masks ----
check "data coco-masks --out" rc_is 0 "$WSSS" data coco-masks --data "$D" --split val --out "$TMP/valmasks"
check "data coco-masks summary" has "$TMP/out" "images       4 with a mask, 0 skipped (problems)"
check "val masks = the Python reference" same_as_reference "$D/annotations/instances_val.json" "$TMP/valmasks"
check "no default val cache was made" test ! -e "$D/annotations/instances_val.masks"
check "data coco-masks on a VOC folder: exit 1" rc_is 1 "$WSSS" data coco-masks --data "$TMP/b_json/train"

# ---- the pipeline ----
R="$TMP/run"
check "train-cls" rc_is 0 "$WSSS" train-cls --data "$D" --run "$R" --arch resnet18-os8 --epochs 2 --batch 4 \
    --size 32 --lr 0.01 --quiet
check "cam" rc_is 0 "$WSSS" cam --data "$D" --run "$R" --samples 0 --quiet
n=$(ls "$R/cams" | grep -c '\.safetensors$')
check "10 CAM files (got $n)" test "$n" = 10
check "eval-cam" rc_is 0 "$WSSS" eval-cam --data "$D" --run "$R" --quiet
check "eval-cam final line" grep -qE '^cam_miou [01]\.[0-9]{4} thr 0\.[0-9]{2}$' "$TMP/out"
check "pseudo" rc_is 0 "$WSSS" pseudo --data "$D" --run "$R" --quiet
check "pseudo final line" grep -qE '^pseudo_miou [01]\.[0-9]{4}' "$TMP/out"
check "the label-free image: an all-background pseudo label" "$PY" -c "
import numpy as np, PIL.Image as I, sys
sys.exit(0 if (np.array(I.open('$R/pseudo/train_09.png')) == 0).all() else 1)"
check "train-seg" rc_is 0 "$WSSS" train-seg --data "$D" --run "$R" --arch resnet18-os8-largefov --epochs 2 \
    --batch 4 --crop 32 --hidden 32 --optim adamw --lr 0.001 --quiet
check "eval-seg" rc_is 0 "$WSSS" eval-seg --data "$D" --split val --run "$R" --scales 1 --coco-masks "$TMP/valmasks"
check "eval-seg final line" grep -qE '^seg_miou [01]\.[0-9]{4}$' "$TMP/out"
cp "$R/metrics/eval-seg.json" "$TMP/by_root.json"
check "eval-seg by the files alone" rc_is 0 "$WSSS" eval-seg --coco-annotations "$D/annotations/instances_val.json" \
    --coco-images "$D/val" --coco-masks "$TMP/valmasks" --run "$R" --scales 1
check "the same mIoU either way" test "$(grep -o '"miou":[^,]*' "$R/metrics/eval-seg.json")" = \
    "$(grep -o '"miou":[^,]*' "$TMP/by_root.json")"
check "--coco-annotations without images: exit 1, named" rc_is 1 "$WSSS" eval-seg \
    --coco-annotations "$D/annotations/instances_val.json" --run "$R"
check "the missing images named" has "$TMP/out" "--coco-images"

cli_summary coco_cli
