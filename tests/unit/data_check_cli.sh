#!/usr/bin/env bash
# `wsss data check` end to end: a small VOC-format dataset written by PIL (JPEG images, palette PNG
# masks), its summary, and broken variants (exit codes, messages naming files, --skip-bad).
# Usage: bash data_check_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"

# Dataset: 4 train images (2 non-square), 4 classes (classes.txt), masks with 255; 2 val images.
tiny_voc_py "$TMP/ds" <<'EOF'
import sys
import numpy as np
import tiny_voc
root = sys.argv[1]
tiny_voc.start(root, ["cat", "dog", "bird"])
# id: (w, h, values painted in vertical bands)
spec = {"a": (30, 20, [0, 1, 2]), "b": (20, 30, [0, 2, 255]), "c": (24, 24, [3]), "d": (26, 18, [0]),
        "e": (16, 16, [1, 3]), "f": (16, 16, [0, 2])}
for k, (w, h, vals) in spec.items():
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = np.arange(w)[None, :] * 8
    rgb[..., 1] = np.arange(h)[:, None] * 8
    m = np.array([[vals[x * len(vals) // w] for x in range(w)] for _ in range(h)], np.uint8)
    tiny_voc.save(root, k, rgb, m, quality=90)
tiny_voc.write_split(root, "train", ["a", "b", "c", "d"])
tiny_voc.write_split(root, "val", ["e", "f"])
EOF

out="$TMP/out.txt"
"$WSSS" data check --help >"$out" 2>&1
check "--help exits 0" test $? -eq 0
check "--help lists --skip-bad" has "$out" "--skip-bad"

"$WSSS" data check "$TMP/ds" >"$out" 2>&1
check "good dataset exits 0" test $? -eq 0
check "image count" has "$out" "images       4 listed and found, 0 skipped at open, 0 failed to load"
check "class count" has "$out" "classes      4 (including background)"
check "labels from masks" has "$out" "labels       from masks"
check "cat count" grep -qE "^ +1 cat +1$" "$out"
check "dog count" grep -qE "^ +2 dog +2$" "$out"
check "bird count" grep -qE "^ +3 bird +1$" "$out"
check "0 labels: 1 image" grep -qE "^ +0 1$" "$out"
check "1 label: 2 images" grep -qE "^ +1 2$" "$out"
check "2 labels: 1 image" grep -qE "^ +2 1$" "$out"
check "no problems" has "$out" "problems     0"

"$WSSS" data check "$TMP/ds" --split val >"$out" 2>&1
check "val split exits 0" test $? -eq 0
check "val has 2 images" has "$out" "images       2 listed"

# labels from cls_labels.txt that agree with the masks
printf 'a 1 2\nb 2\nc 3\nd\n' >"$TMP/ds/cls_labels.txt"
"$WSSS" data check "$TMP/ds" >"$out" 2>&1
check "cls_labels.txt consistent exits 0" test $? -eq 0
check "labels from file" has "$out" "labels       from cls_labels.txt"
# ... and one that disagrees
printf 'a 1 2\nb 1\nc 3\nd\n' >"$TMP/ds/cls_labels.txt"
"$WSSS" data check "$TMP/ds" >"$out" 2>&1
check "disagreeing labels exit 1" test $? -eq 1
check "disagreement named" has "$out" "labels of id 'b' (1) differ from the classes in its mask"
rm "$TMP/ds/cls_labels.txt"

# two broken samples: a missing image and a mask class out of range
cp -r "$TMP/ds" "$TMP/bad"
rm "$TMP/bad/JPEGImages/b.jpg"
/usr/bin/python3 -c "
import numpy as np; from PIL import Image
Image.fromarray(np.full((24, 24), 9, np.uint8), 'P').save('$TMP/bad/SegmentationClass/c.png')"
"$WSSS" data check "$TMP/bad" >"$out" 2>&1
check "broken dataset exits 1" test $? -eq 1
check "missing image named" has "$out" "error: $TMP/bad/JPEGImages/b.jpg: image of id 'b'"
check "bad class named" has "$out" "$TMP/bad/SegmentationClass/c.png: mask value 9"
"$WSSS" data check "$TMP/bad" --skip-bad >"$out" 2>&1
check "--skip-bad exits 0" test $? -eq 0
check "--skip-bad warns" has "$out" "warning: $TMP/bad/JPEGImages/b.jpg"
check "--skip-bad counts" has "$out" "2 problems, bad samples skipped"
check "--skip-bad summary" has "$out" "images       2 listed and found, 2 skipped at open"

# fatal problems and usage errors
"$WSSS" data check "$TMP/nope" >"$out" 2>&1
check "missing root exits 1" test $? -eq 1
check "missing root named" has "$out" "$TMP/nope: dataset root not found"
: >"$TMP/bad/ImageSets/Segmentation/empty.txt"
"$WSSS" data check "$TMP/bad" --split empty --skip-bad >"$out" 2>&1
check "empty list exits 1 even with --skip-bad" test $? -eq 1
check "empty list named" has "$out" "empty.txt: no ids (empty list file)"
"$WSSS" data check "$TMP/ds" --bogus >"$out" 2>&1
check "unknown option exits 2" test $? -eq 2
"$WSSS" data check >"$out" 2>&1
check "missing ROOT exits 2" test $? -eq 2
"$WSSS" data check "$TMP/ds" --masks maybe >"$out" 2>&1
check "bad --masks exits 2" test $? -eq 2

cli_summary data_check_cli
