#!/usr/bin/env bash
# `wsss eval-masks` end to end on PIL-written palette masks with a hand-computed mIoU, the ignored
# column, the metrics JSON, and user errors (missing prediction, bad class value, size mismatch).
# Usage: bash eval_masks_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"

# Two 4x2 images, 3 classes (hand-computed in the comments).
#   a: GT [0 0 1 1 / 0 0 1 255]  pred [0 1 1 1 / 0 0 1 0]  -> C00 3, C01 1, C11 3 (255 skipped)
#   b: GT [2 2 0 0 / 2 2 0 0]    pred [2 2 0 0 / 2 0 0 0]  -> C22 3, C20 1, C00 4
#   C = [[7,1,0],[0,3,0],[1,0,3]]: IoU0 = 7/9, IoU1 = 3/4, IoU2 = 3/4, mIoU = 75.9, pixel acc 13/15
# pseudo: as pred but b's pixel (1,0) is 255 -> C2,ign = 1, C22 = 2: IoU2 = 2/(4+2-2) = 1/2,
#   mIoU = (7/9 + 3/4 + 1/2)/3 = 67.6, ignored 1/15 = 6.7 %
/usr/bin/python3 - "$TMP" <<'EOF' || { echo "FAIL: cannot write masks with /usr/bin/python3 + PIL"; exit 1; }
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
def save(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    im = Image.fromarray(np.array(rows, np.uint8), "P")
    im.putpalette([(i * 53) % 256 for i in range(768)])
    im.save(path)
save(f"{root}/ds/SegmentationClass/a.png", [[0, 0, 1, 1], [0, 0, 1, 255]])
save(f"{root}/ds/SegmentationClass/b.png", [[2, 2, 0, 0], [2, 2, 0, 0]])
save(f"{root}/pred/a.png", [[0, 1, 1, 1], [0, 0, 1, 0]])
save(f"{root}/pred/b.png", [[2, 2, 0, 0], [2, 0, 0, 0]])
save(f"{root}/pseudo/a.png", [[0, 1, 1, 1], [0, 0, 1, 0]])
save(f"{root}/pseudo/b.png", [[2, 2, 0, 0], [255, 0, 0, 0]])
save(f"{root}/bad/a.png", [[0, 1, 1, 1], [0, 0, 1, 7]])
save(f"{root}/bad/b.png", [[2, 2, 0, 0], [2, 0, 0, 0]])
save(f"{root}/small/a.png", [[0, 1, 1], [0, 0, 1]])
save(f"{root}/small/b.png", [[2, 2, 0, 0], [2, 0, 0, 0]])
save(f"{root}/partial/a.png", [[0, 1, 1, 1], [0, 0, 1, 0]])
open(f"{root}/ds/classes.txt", "w").write("background\ncat\ndog\n\n")
open(f"{root}/list.txt", "w").write("# ids\nb extra-token\n\na\n")
EOF
GT="$TMP/ds/SegmentationClass"
out="$TMP/out.txt"
err="$TMP/err.txt"

"$WSSS" eval-masks --help >"$out" 2>&1
check "--help exits 0" test $? -eq 0
check "--help lists --json" has "$out" "--json FILE"

WSSS_PROGRESS=0 "$WSSS" eval-masks --gt "$GT" --pred "$TMP/pred" --json "$TMP/run/metrics/eval-seg.json" --stage eval-seg >"$out" 2>"$err"
check "eval exits 0" test $? -eq 0
check "mIoU 75.9" has "$out" "mIoU 75.9"
check "class names from ../classes.txt" grep -qE "^ +2 dog +75.0 " "$out"
check "background IoU 77.8" grep -qE "^ +0 background +77.8 +87.5 +87.5 +8 +8$" "$out"
check "pixel accuracy 86.7" has "$out" "pixel accuracy 86.7"
check "2 images" has "$out" "images 2"
check "confusion row 2" grep -qE "^ 2 dog +25.0 +0.0 +75.0$" "$out"
check "JSON written" test -s "$TMP/run/metrics/eval-seg.json"
check "JSON is valid with the numbers" /usr/bin/python3 - "$TMP/run/metrics/eval-seg.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
ok = (m["kind"] == "segmentation" and m["stage"] == "eval-seg" and m["num_images"] == 2 and m["num_classes"] == 3
      and abs(m["miou"] - (7 / 9 + 0.75 + 0.75) / 3) < 1e-12 and m["confusion"] == [[7, 1, 0, 0], [0, 3, 0, 0], [1, 0, 3, 0]]
      and [c["name"] for c in m["classes"]] == ["background", "cat", "dog"] and m["split"] is None)
sys.exit(0 if ok else 1)
EOF

WSSS_PROGRESS=0 "$WSSS" eval-masks --gt "$GT" --pred "$TMP/pseudo" --list "$TMP/list.txt" --json "$TMP/pseudo.json" >"$out" 2>"$err"
check "pseudo eval exits 0" test $? -eq 0
check "pseudo mIoU 67.6" has "$out" "mIoU 67.6"
check "ignored fraction" has "$out" "ignored (predicted 255) 6.7% of valid pixels"
check "ign column" grep -qE "^ 2 dog +25.0 +0.0 +50.0 +25.0$" "$out"
check "split from the list name" /usr/bin/python3 -c "import json,sys; m=json.load(open('$TMP/pseudo.json')); sys.exit(0 if m['split']=='list' and abs(m['frac_ignored']-1/15)<1e-12 else 1)"

"$WSSS" eval-masks --gt "$GT" --pred "$TMP/pred" --brief --num-classes 3 --classes "$TMP/ds/classes.txt" >"$out" 2>/dev/null
check "--brief" has "$out" "mIoU 75.9 (2 images, 3 classes with pixels)"

# errors
"$WSSS" eval-masks --gt "$GT" --pred "$TMP/partial" >"$out" 2>"$err"
check "missing prediction exits 1" test $? -eq 1
check "missing prediction named" has "$err" "partial/b.png: missing prediction"
check "no score on failure" bash -c "! grep -q mIoU '$out'"
"$WSSS" eval-masks --gt "$GT" --pred "$TMP/bad" >"$out" 2>"$err"
check "bad value exits 1" test $? -eq 1
check "bad value named" has "$err" "predicted value 7"
check "bad value file named" has "$err" "bad/a.png"
"$WSSS" eval-masks --gt "$GT" --pred "$TMP/small" >"$out" 2>"$err"
check "size mismatch exits 1" test $? -eq 1
check "size mismatch message" has "$err" "prediction is 3x2 but the ground truth"
"$WSSS" eval-masks --gt "$GT" --pred "$TMP/pred" --num-classes 5 >"$out" 2>"$err"
check "class count disagreeing with classes.txt exits 2" test $? -eq 2
"$WSSS" eval-masks --gt "$GT" >"$out" 2>"$err"
check "--pred required" test $? -eq 2
"$WSSS" eval-masks --gt "$TMP/nowhere" --pred "$TMP/pred" --num-classes 3 >"$out" 2>"$err"
check "missing GT folder exits 1" test $? -eq 1

cli_summary eval_masks_cli
