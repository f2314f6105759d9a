#!/usr/bin/env bash
# The wsss demo: generate Fashion-Scenes and Fashion-Objects, pretrain a backbone on the objects (the
# ImageNet stand-in), run the whole weakly-supervised pipeline on the scenes (image-level labels in,
# segmentation model and masks out) and the fully-supervised upper bound, then print
#     cam_miou <v> thr <t>
#     pseudo_miou <v>
#     seg_miou <v>
#     supervised_miou <v>
#     report <path>
# (fractions in [0,1]). `make demo` runs it after installing the dependencies and building.
#
# Usage: scripts/demo.sh [WSSS_BINARY]          (default build/bin/wsss)
# Environment:
#   WSSS_QUICK=1     the reduced profile (1,000 two-class scenes; `make test` runs it)
#   DEMO_DIR=DIR     where the datasets, the pretrained backbone and the run go (default demo, or demo-quick)
#   DEMO_<SETTING>   override a setting of the profile (scripts/pipeline.sh), e.g. DEMO_SEG_EPOCHS=4
# Every stage is a separate `wsss` command reading and writing files in the run directory, so
# the printed commands can be re-run one by one; the datasets and the pretrained backbone are
# reused when their settings match.
set -euo pipefail

WSSS=${1:-build/bin/wsss}
if ! [ -x "$WSSS" ]; then
    echo "demo: $WSSS is not an executable (build first: make build)" >&2
    exit 2
fi
QUICK=${WSSS_QUICK:-0}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/pipeline.sh"

# ---- the profile (scripts/pipeline.sh; documented in README.md, "The demo") ----
if [ "$QUICK" = 1 ]; then
    pipeline_profile quick
    OUT=${DEMO_DIR:-demo-quick}
else
    pipeline_profile full
    OUT=${DEMO_DIR:-demo}
fi
T0=$(now)
echo "demo: $([ "$QUICK" = 1 ] && echo "quick profile" || echo "full profile"): $TRAIN train / $VAL val scenes," \
    "$([ "$PRE_EPOCHS" = 0 ] && echo "from scratch" || echo "backbone $PRE_ARCH pretrained on Fashion-Objects"),"\
    "classifier $CLS_ARCH x $CLS_EPOCHS epochs, segmentation $SEG_ARCH x $SEG_EPOCHS epochs, in $OUT" >&2
mkdir -p "$OUT"

# ---- datasets and the pretrained backbone (reused when made with the same settings) ----
t=$(now)
make_datasets "$OUT"
TIMES+=("data $(elapsed "$t")")
t=$(now)
pretrain_backbone "$OUT"
TIMES+=("pretrain $(elapsed "$t")")
seg_args

# ---- the pipeline, then the upper bound and the report ----
rm -rf "$OUT/run"
weakly_supervised "$OUT/run" 0
supervised "$OUT/run" 0
stage report "$WSSS" report "$RUN"

cam=$(last_line cam_miou)
pseudo=$(last_line pseudo_miou | awk '{ print $1, $2 }')
seg=$(last_line seg_miou)
sup=$(last_line supervised_miou)
report_path="$RUN/report.html"
total=$(elapsed "$T0")
{
    echo
    echo "demo: stage times (s): ${TIMES[*]/%/,} total $total (excluding the build)"
    echo "demo: stage CPU times (s, user + system): ${CPUS[*]/%/,}"
    echo "$cam"
    echo "$pseudo"
    echo "$seg"
    echo "$sup"
    echo "report $report_path"
} | tee -a "$RUN/pipeline.log"
