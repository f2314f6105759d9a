#!/usr/bin/env bash
# `make results`: the accuracy table every method is measured by. On the full Fashion-Scenes with the
# backbone pretrained on Fashion-Objects (scripts/pipeline.sh, the demo's full profile), it runs each
# method through the whole pipeline with fixed seeds (the CAM baseline with three, so a later gain
# can be read against the seed noise), the fully-supervised upper bound once, trained until its val
# mIoU stops rising, and writes docs/results.json (one object per row) and docs/results.md.
#
# Usage: scripts/results.sh [WSSS_BINARY]       (default build/bin/wsss)
# Environment:
#   RESULTS_DIR=DIR         datasets, backbone and runs (default results; reused like the demo's)
#   RESULTS_SEEDS="0 1 2"   seeds of the baseline row
#   RESULTS_SUPERVISED="4 8 12"  upper bound: train to the first count of epochs, evaluate, go on
#                           to the next (resuming) until val mIoU rises by less than 0.005 (an
#                           epoch of the DeepLab v3+ network is about 4 minutes here: twelve keep
#                           the whole run near the two-hour budget)
#   RESULTS_ROWS="cam-rw"   rows beyond the baseline (METHOD-REFINE, seed 0 each); cam-rw refines
#                           the CAMs with PSA's AffinityNet + random walk (default none)
#   RESULTS_OUT=DIR         where results.json and results.md go (default docs)
#   DEMO_<SETTING>          as for the demo (scripts/pipeline.sh)
set -euo pipefail

WSSS=${1:-build/bin/wsss}
if ! [ -x "$WSSS" ]; then
    echo "results: $WSSS is not an executable (build first: make build)" >&2
    exit 2
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/pipeline.sh"
pipeline_profile full
OUT=${RESULTS_DIR:-results}
SEEDS=${RESULTS_SEEDS:-0 1 2}
SUPERVISED=${RESULTS_SUPERVISED:-4 8 12}
DOCS=${RESULTS_OUT:-docs}
for extra in ${RESULTS_ROWS:-}; do
    case "$extra" in
    cam-rw) ;;
    *) echo "results: unknown row '$extra' in RESULTS_ROWS (known: cam-rw)" >&2; exit 2 ;;
    esac
done
COMMIT=$(git -C "$HERE/.." rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$HERE/.." status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    COMMIT="$COMMIT+changes"
fi
mkdir -p "$OUT" "$DOCS"
ROWS="$OUT/rows.jsonl"
: >"$ROWS"

t=$(now)
if [ "$PRE_EPOCHS" = 0 ]; then
    echo "results: the table is measured on a pretrained backbone (DEMO_PRE_EPOCHS must be at least 1)" >&2
    exit 2
fi
make_datasets "$OUT"
pretrain_backbone "$OUT"
PRETRAIN_SECONDS=$(elapsed "$t")
seg_args

# seconds_json: the TIMES entries ("stage seconds") as a JSON object, repeated stages summed
seconds_json() {
    printf '%s\n' "${TIMES[@]}" | awk '{ s[$1] += $2; if (!($1 in o)) { o[$1] = ++n; k[n] = $1 } }
        END { printf "{"; for (i = 1; i <= n; i++) printf "%s\"%s\": %d", (i > 1 ? ", " : ""), k[i], s[k[i]]; printf "}" }'
}
# upper_bound INIT: the fully-supervised upper bound from backbone weights INIT (sets SUPERVISED_MIOU,
# SUPERVISED_CURVE, SUPERVISED_SECONDS)
upper_bound() {
    local init="$1" e v rising best=0 done_epochs=0
    TIMES=()
    RUN="$OUT/supervised"
    rm -rf "$RUN"
    mkdir -p "$RUN"
    for e in $SUPERVISED; do
        if [ "$done_epochs" = 0 ]; then
            stage train-seg-gt "$WSSS" train-seg "${SEG_ARGS[@]}" --run "$RUN" --gt --epochs "$e" --seed 0 \
                --backbone-weights "$init"
        else
            stage train-seg-gt "$WSSS" train-seg --resume "$RUN/seg_gt/ckpt" --epochs "$e"
        fi
        stage eval-seg-gt "$WSSS" eval-seg --data "$DATA" --run "$RUN" --gt --scales "$EVAL_SCALES" --brief
        v=$(last_line supervised_miou | awk '{ print $2 }')
        echo "results: supervised after $e epochs: $v" >&2
        SUPERVISED_CURVE="${SUPERVISED_CURVE:-}${SUPERVISED_CURVE:+, }\"$e\": $v"
        done_epochs=$e
        rising=$(awk -v a="$v" -v b="$best" 'BEGIN { print (a - b >= 0.005) ? 1 : 0 }')
        best=$(awk -v a="$v" -v b="$best" 'BEGIN { print (a > b) ? a : b }')
        [ "$rising" = 1 ] || break
    done
    SUPERVISED_MIOU=$best
    SUPERVISED_SECONDS=$(seconds_json)
}

# row METHOD REFINE SEED: run the pipeline and append its row to ROWS
row() {
    local method="$1" refine="$2" seed="$3"
    TIMES=()
    rm -rf "$OUT/$method-$refine-seed$seed"
    weakly_supervised "$OUT/$method-$refine-seed$seed" "$seed" "$refine"
    local cam thr lf lf_thr pseudo seg
    read -r _ cam _ thr <<<"$(last_line cam_miou)"
    read -r _ lf _ lf_thr <<<"$(last_line cam_miou_labelfree)"
    pseudo=$(last_line pseudo_miou | awk '{ print $2 }')
    seg=$(last_line seg_miou | awk '{ print $2 }')
    printf '{"method": "%s", "refine": "%s", "seed": %d, "cam_miou": %s, "cam_thr": %s, "cam_miou_labelfree": %s, ' \
        "$method" "$refine" "$seed" "$cam" "$thr" "${lf:-null}" >>"$ROWS"
    printf '"cam_thr_labelfree": %s, ' "${lf_thr:-null}" >>"$ROWS"
    printf '"pseudo_miou": %s, "seg_miou": %s, "supervised_miou": %s, "seconds": %s, "commit": "%s"}\n' \
        "$pseudo" "$seg" "__SUPERVISED__" "$(seconds_json)" "$COMMIT" >>"$ROWS"
}
# the rows, and after the first the upper bound: its backbone starts from that row's classifier (as the
# rows' segmentation networks start from theirs), unless SEG_INIT=pretrained
first=1
for seed in $SEEDS; do
    row cam crf "$seed"
    if [ "$first" = 1 ]; then
        first=0
        upper_bound "$(seg_init "$OUT/cam-crf-seed$seed")"
    fi
done
for extra in ${RESULTS_ROWS:-}; do row "${extra%-*}" "${extra#*-}" 0; done
sed -i "s/__SUPERVISED__/$SUPERVISED_MIOU/" "$ROWS"

/usr/bin/python3 "$HERE/results_table.py" --rows "$ROWS" --out "$DOCS" --commit "$COMMIT" \
    --supervised-curve "{$SUPERVISED_CURVE}" --supervised-seconds "$SUPERVISED_SECONDS" \
    --pretrain-seconds "$PRETRAIN_SECONDS" --pretrain-log "$OUT/pretrain/logs/pretrain.jsonl" \
    --profile "scenes train=$TRAIN val=$VAL classes=$CLASSES; objects train=$OBJ_TRAIN; $(cat "$OUT/pretrain/.stamp")"
echo "results: wrote $DOCS/results.md and $DOCS/results.json" >&2
