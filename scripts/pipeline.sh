# The pipeline's steps as shell functions, sourced by scripts/demo.sh and scripts/results.sh so the
# demo and the results table run the same commands:
#   - the datasets and the pretrained backbone, each made once and reused while the settings that
#     made it are unchanged (a stamp file records them; an interrupted step has no stamp and reruns);
#   - the weakly-supervised stages and the fully-supervised upper bound, each one `wsss` command,
#     printed before it runs, its output on the terminal and in a log, its wall and CPU time kept.
# The caller sets WSSS (the binary) and the settings of pipeline_profile, then calls the functions.

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

# pipeline_profile quick|full: the settings of a profile; DEMO_<NAME> overrides setting <NAME>.
# Full: the default Fashion-Scenes (5,000 train / 1,000 val scenes, ten classes). The scenes are
# generated at their native 128x128; the networks see them at half size (the classifier resizes to
# 64x64, train-seg rescales by 0.4-0.6 and crops 64, CAMs and test-time inference use scales around
# 0.5); masks and scores stay at 128x128. The backbone is pretrained once on Fashion-Objects (the
# ImageNet stand-in: single-label, items disjoint from the scenes') and given to the classifier as
# --backbone-weights, as torchvision weights would be on VOC; the pseudo labels use `wsss pseudo`'s
# default background (the label-free threshold). The segmentation backbone starts from the
# classifier's (trained on image labels only): measured on the ground truth, two epochs reach val
# mIoU 0.224 from it against 0.169 from the pretrained backbone (DEMO_SEG_INIT=pretrained). The
# network is DeepLab v3+ (width 128, ASPP rates 1/2/3: the 64-px crops leave a 4x4 map at output
# stride 16), whose decoder predicts at stride 4: on the ground truth from seed 0's classifier, val
# mIoU 0.318 after two epochs and 0.365 after four, against 0.224 and 0.272 for the 4x4 logits of
# LargeFOV (0.305 after eight), for 1.5x the time per step.
# Quick (a smoke test of every stage, LargeFOV for speed): two classes with distinct shapes (Trouser, Bag), no
# distractors, everything from scratch (PRE_EPOCHS=0): a two-class pretraining that fits its budget
# made worse maps than none (measured: cam 0.29 against 0.40). From scratch the classifier's maps are
# broad, so its pseudo labels take the background as 1 - max.
pipeline_profile() {
    if [ "$1" = quick ]; then
        local train=1000 val=100 classes=2,9 distractors=0 cls_epochs=8 pre_epochs=0 obj_train=0
        local pseudo="--bg pow --alpha 1"
        local seg_arch=resnet18-os16-largefov seg_hidden=256 seg_dil=3
    else
        local train=5000 val=1000 classes=all distractors=3 cls_epochs=4 pre_epochs=1 obj_train=30000
        local pseudo=""
        local seg_arch=resnet18-deeplabv3plus seg_hidden=128 seg_dil=1
    fi
    TRAIN=${DEMO_TRAIN:-$train}
    VAL=${DEMO_VAL:-$val}
    CLASSES=${DEMO_CLASSES:-$classes}
    DISTRACTORS=${DEMO_DISTRACTORS:-$distractors}
    OBJ_TRAIN=${DEMO_OBJ_TRAIN:-$obj_train}
    OBJ_VAL=${DEMO_OBJ_VAL:-2000}
    PRE_ARCH=${DEMO_PRE_ARCH:-resnet18}
    PRE_SIZE=${DEMO_PRE_SIZE:-64}
    PRE_EPOCHS=${DEMO_PRE_EPOCHS:-$pre_epochs}
    PRE_BATCH=${DEMO_PRE_BATCH:-64}
    PRE_LR=${DEMO_PRE_LR:-0.002}
    PRE_WD=${DEMO_PRE_WD:-0.05}
    CLS_ARCH=${DEMO_CLS_ARCH:-resnet18-os16}
    CLS_SIZE=${DEMO_CLS_SIZE:-64}
    CLS_EPOCHS=${DEMO_CLS_EPOCHS:-$cls_epochs}
    CLS_BATCH=${DEMO_CLS_BATCH:-16}
    CLS_LR=${DEMO_CLS_LR:-0.001}
    CLS_POOL=${DEMO_CLS_POOL:-gap}
    CAM_SCALES=${DEMO_CAM_SCALES:-0.5,0.75}
    read -r -a PSEUDO_ARGS <<<"${DEMO_PSEUDO:-$pseudo}"
    SEG_ARCH=${DEMO_SEG_ARCH:-$seg_arch}
    SEG_HIDDEN=${DEMO_SEG_HIDDEN:-$seg_hidden}
    SEG_DIL=${DEMO_SEG_DIL:-$seg_dil}
    SEG_SCALE=${DEMO_SEG_SCALE:-0.4,0.6}
    SEG_CROP=${DEMO_SEG_CROP:-64}
    SEG_EPOCHS=${DEMO_SEG_EPOCHS:-2}
    SEG_GT_EPOCHS=${DEMO_SEG_GT_EPOCHS:-$SEG_EPOCHS}
    SEG_BATCH=${DEMO_SEG_BATCH:-16}
    SEG_LR=${DEMO_SEG_LR:-0.001}
    EVAL_SCALES=${DEMO_EVAL_SCALES:-0.5}
    # PSA's refinement (REFINE=rw, results rows "rw"): AffinityNet on the classifier's backbone at
    # about 96 px (scenes x0.7-0.8, crop 96: a 12x12 cell grid), PSA's SGD (lr 0.1, momentum 0)
    AFF_ARCH=${DEMO_AFF_ARCH:-resnet18}
    AFF_SCALE=${DEMO_AFF_SCALE:-0.7,0.8}
    AFF_CROP=${DEMO_AFF_CROP:-96}
    AFF_EPOCHS=${DEMO_AFF_EPOCHS:-2}
    AFF_BATCH=${DEMO_AFF_BATCH:-16}
    SEG_INIT=${DEMO_SEG_INIT:-cls}
}

# cached DIR STAMP COMMAND...: run COMMAND (which writes DIR) unless DIR/.stamp holds STAMP.
cached() {
    local dir="$1" stamp="$2"
    shift 2
    if [ "$(cat "$dir/.stamp" 2>/dev/null || true)" = "$stamp" ]; then
        echo "== reusing $dir ($stamp)" >&2
        return 0
    fi
    rm -rf "$dir"
    echo "== $*" >&2
    "$@" || return
    echo "$stamp" >"$dir/.stamp"
}

# make_datasets CACHE: CACHE/fashion-scenes and CACHE/fashion-objects (sets DATA and OBJECTS)
make_datasets() {
    DATA="$1/fashion-scenes"
    OBJECTS="$1/fashion-objects"
    local gen=(--out "$DATA" --train "$TRAIN" --val "$VAL" --max-distractors "$DISTRACTORS" --quiet)
    local obj=(--out "$OBJECTS" --train "$OBJ_TRAIN" --val "$OBJ_VAL" --max-distractors "$DISTRACTORS" --quiet)
    if [ "$CLASSES" != all ]; then
        gen+=(--classes "$CLASSES")
        obj+=(--classes "$CLASSES")
    fi
    cached "$DATA" "train=$TRAIN val=$VAL seed=0 size=128 classes=$CLASSES distractors=$DISTRACTORS" \
        "$WSSS" data fashion-scenes "${gen[@]}"
    [ "$PRE_EPOCHS" = 0 ] ||
        cached "$OBJECTS" "train=$OBJ_TRAIN val=$OBJ_VAL seed=0 size=64 classes=$CLASSES distractors=$DISTRACTORS" \
            "$WSSS" data fashion-objects "${obj[@]}"
}

# pretrain_backbone CACHE: the backbone pretrained on OBJECTS (sets BACKBONE; empty when PRE_EPOCHS
# is 0: from scratch)
pretrain_backbone() {
    local dir="$1/pretrain"
    BACKBONE=""
    [ "$PRE_EPOCHS" != 0 ] || return 0
    BACKBONE="$dir/pretrain/backbone.safetensors"
    cached "$dir" "$(cat "$OBJECTS/.stamp") arch=$PRE_ARCH size=$PRE_SIZE epochs=$PRE_EPOCHS batch=$PRE_BATCH lr=$PRE_LR wd=$PRE_WD" \
        "$WSSS" pretrain --data "$OBJECTS" --run "$dir" --arch "$PRE_ARCH" --size "$PRE_SIZE" --epochs "$PRE_EPOCHS" \
        --batch "$PRE_BATCH" --optim adamw --lr "$PRE_LR" --weight-decay "$PRE_WD" --log-every 20
}

# stage NAME COMMAND...: print the command, run it with its output on the terminal and appended to
# RUN/pipeline.log, record its wall time in TIMES and CPU time in CPUS; a failure stops the script
# with the stage's exit code.
TIMES=()
CPUS=()
stage() {
    local name="$1"
    shift
    echo "== $name: $*" >&2
    local t c rc=0
    t=$(now)
    times >"$RUN/.times"
    c=$(cpu_seconds)
    "$@" 2> >(tee -a "$RUN/pipeline.log" >&2) | tee -a "$RUN/pipeline.log" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "stage $name failed (exit $rc); see the messages above" >&2
        exit "$rc"
    fi
    TIMES+=("$name $(elapsed "$t")")
    times >"$RUN/.times"
    CPUS+=("$name $(awk -v a="$c" -v b="$(cpu_seconds)" 'BEGIN { printf "%.0f", b - a }')")
}
# user + system CPU seconds of this shell's finished children: the second line of `times`, written
# to RUN/.times by the caller itself (in a pipe or $(...) `times` would report a subshell's)
cpu_seconds() {
    awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } print s }' "$RUN/.times"
}
# last_line NAME: the last line of RUN/pipeline.log that starts with NAME (empty when none)
last_line() { { grep -E "^$1 " "$RUN/pipeline.log" || true; } | tail -1; }

# weakly_supervised RUN SEED [REFINE]: classifier, CAMs, CAM mIoU (threshold sweep on the train ground
# truth: an analysis number, not used by the later stages, and the label-free threshold's), pseudo
# labels (REFINE crf, the default: `wsss pseudo`'s CRF labelling; rw: PSA's la/ha labels, AffinityNet,
# random walk), segmentation network on them, its val mIoU.
weakly_supervised() {
    RUN="$1"
    local seed="$2" refine="${3:-crf}" init=()
    mkdir -p "$RUN"
    [ -z "$BACKBONE" ] || init=(--backbone-weights "$BACKBONE")
    stage train-cls "$WSSS" train-cls --data "$DATA" --run "$RUN" --arch "$CLS_ARCH" --size "$CLS_SIZE" --rrc-min 1 \
        --epochs "$CLS_EPOCHS" --batch "$CLS_BATCH" --optim adamw --lr "$CLS_LR" --weight-decay 0.0001 \
        --pool "$CLS_POOL" "${init[@]}" --seed "$seed" --log-every 5
    stage cam "$WSSS" cam --data "$DATA" --run "$RUN" --scales "$CAM_SCALES" --samples 8
    stage eval-cam "$WSSS" eval-cam --data "$DATA" --run "$RUN" --brief --quiet
    if [ "$refine" = rw ]; then
        stage pseudo-psa "$WSSS" pseudo --data "$DATA" --run "$RUN" --bg psa --out "$RUN/aff_labels" --brief --quiet
        stage train-aff "$WSSS" train-aff --data "$DATA" --run "$RUN" --labels "$RUN/aff_labels" --arch "$AFF_ARCH" \
            --backbone-weights "$RUN/cls/model.safetensors" --scale-min "${AFF_SCALE%,*}" --scale-max "${AFF_SCALE#*,}" \
            --crop "$AFF_CROP" --batch "$AFF_BATCH" --epochs "$AFF_EPOCHS" --seed "$seed" --log-every 10
        stage pseudo "$WSSS" pseudo --data "$DATA" --run "$RUN" --refine rw --brief --quiet
    else
        stage pseudo "$WSSS" pseudo --data "$DATA" --run "$RUN" "${PSEUDO_ARGS[@]}" --brief --quiet
    fi
    stage train-seg "$WSSS" train-seg "${SEG_ARGS[@]}" --run "$RUN" --epochs "$SEG_EPOCHS" --seed "$seed" \
        --backbone-weights "$(seg_init "$RUN")"
    stage eval-seg "$WSSS" eval-seg --data "$DATA" --run "$RUN" --scales "$EVAL_SCALES" --brief
}

# supervised RUN SEED: the upper bound, the same segmentation network and recipe on the ground truth
# (its backbone is RUN's classifier unless SEG_INIT=pretrained, so weakly_supervised RUN runs first)
supervised() {
    RUN="$1"
    local seed="$2"
    mkdir -p "$RUN"
    stage train-seg-gt "$WSSS" train-seg "${SEG_ARGS[@]}" --run "$RUN" --gt --epochs "$SEG_GT_EPOCHS" --seed "$seed" \
        --backbone-weights "$(seg_init "$RUN")"
    stage eval-seg-gt "$WSSS" eval-seg --data "$DATA" --run "$RUN" --gt --scales "$EVAL_SCALES" --brief
}

# seg_init RUN: the segmentation network's backbone weights: RUN's classifier, or with
# SEG_INIT=pretrained the pretrained backbone (the classifier's when there is none)
seg_init() {
    if [ "$SEG_INIT" = pretrained ] && [ -n "$BACKBONE" ]; then echo "$BACKBONE"; else echo "$1/cls/model.safetensors"; fi
}

# the segmentation recipe shared by both (after pipeline_profile and make_datasets/pretrain_backbone)
seg_args() {
    SEG_ARGS=(--data "$DATA" --arch "$SEG_ARCH" --hidden "$SEG_HIDDEN" --head-dilation "$SEG_DIL"
        --scale-min "${SEG_SCALE%,*}" --scale-max "${SEG_SCALE#*,}" --crop "$SEG_CROP" --batch "$SEG_BATCH"
        --optim adamw --lr "$SEG_LR" --weight-decay 0.0001 --head-lr-mult 1 --bn train --log-every 10)
}
