#!/usr/bin/env bash
# End-to-end: the quick demo profile (WSSS_QUICK=1 scripts/demo.sh: two-class Fashion-Scenes, every
# network from scratch) runs every stage, prints its five result lines in the documented format,
# writes the report, and every mIoU is well above what predicting all background scores on the same
# ground truth (IoU_bg / number of classes, computed here from each stage's confusion matrix): by at
# least MARGIN. The margins are printed. Measured on a 2-core machine with the item-pool scenes
# (spec "Item pools"): cam 0.40, pseudo 0.38, seg 0.34, supervised 0.57 against an all-background
# 0.28, so the weakest (seg, from-scratch maps) clears it by 0.06. MARGIN 0.05 still fails a stage
# that predicts (nearly) all background or noise; it was 0.08 on the earlier scenes (seg 0.43), and
# the pretrained-backbone demo (issue 12) is what should raise these numbers, not this test.
# Usage: bash demo_quick.sh <path-to-wsss> <tmpdir>
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../cli_test_lib.sh"
export WSSS_PROGRESS=0
start=$(date +%s)
WSSS_QUICK=1 DEMO_DIR="$TMP/demo" bash "$HERE/../../scripts/demo.sh" "$WSSS" >"$TMP/stdout" 2>"$TMP/stderr"
rc=$?
echo "quick demo: exit $rc in $(($(date +%s) - start)) s"
if [ "$rc" != 0 ]; then
    tail -40 "$TMP/stderr"
    exit 1
fi
tail -8 "$TMP/stdout"
RUN="$TMP/demo/run"
out="$TMP/stdout"
check "cam_miou line" grep -qE '^cam_miou [01]\.[0-9]{4} thr 0\.[0-9]{2}$' "$out"
check "pseudo_miou line" grep -qE '^pseudo_miou [01]\.[0-9]{4}$' "$out"
check "seg_miou line" grep -qE '^seg_miou [01]\.[0-9]{4}$' "$out"
check "supervised_miou line" grep -qE '^supervised_miou [01]\.[0-9]{4}$' "$out"
check "the last line is the report" test "$(tail -1 "$out" | awk '{ print $1 }')" = report
report=$(grep -E '^report ' "$out" | awk '{ print $2 }')
check "report written" has "$report" "eval-seg"
check "every stage logged" test -f "$RUN/logs/train-cls.jsonl" -a -f "$RUN/logs/train-seg.jsonl" -a \
    -f "$RUN/logs/train-seg-gt.jsonl" -a -f "$RUN/logs/eval-seg.jsonl"
check "report samples: image, CAM, pseudo label, prediction, ground truth" test -n "$(ls "$RUN"/samples/*_pred.png)" \
    -a -n "$(ls "$RUN"/samples/*_pseudo.png)" -a -n "$(ls "$RUN"/samples/*_cam.png)"
# mIoU of each stage against its all-background baseline, from the stage's metrics JSON
MARGIN=0.05
above_background() { # above_background LINE_NAME METRICS_FILE
    local v
    v=$(grep -E "^$1 " "$out" | tail -1 | awk '{ print $2 }')
    /usr/bin/python3 - "$2" "$v" "$1" "$MARGIN" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
conf = d["confusion"]
total = sum(sum(r) for r in conf)
baseline = sum(conf[0]) / total / d["num_classes"]  # all background: IoU_bg = GT background fraction
v, need = float(sys.argv[2]), float(sys.argv[4])
print("%s %.4f, all-background %.4f, margin %+.4f (need %+.2f)" % (sys.argv[3], v, baseline, v - baseline, need))
sys.exit(0 if v >= baseline + need else 1)
EOF
}
check "cam_miou well above all-background" above_background cam_miou "$RUN/metrics/cam.json"
check "pseudo_miou well above all-background" above_background pseudo_miou "$RUN/metrics/pseudo.json"
check "seg_miou well above all-background" above_background seg_miou "$RUN/metrics/eval-seg.json"
check "supervised_miou well above all-background" above_background supervised_miou "$RUN/metrics/eval-seg-gt.json"
cli_summary demo_quick
