#!/usr/bin/env bash
# Data-parallel training under Open MPI's mpirun, 2 ranks on localhost (docs/distributed.md):
#  - 10 steps of train-cls at 2 ranks (frozen BN) give the losses of one process with the same global
#    batch (relative difference <= 1e-5 at every step) and nearly the same model; with trained batch
#    norm, --sync-bn gives one process's losses (the first 4 steps) and no sync does not;
#  - train-seg (10 steps, every pixel valid) equals one process too; pretrain and the methods
#    (mcis, eader) run at 2 ranks;
#  - a checkpoint written at 2 ranks resumes at 1 and continues as the uninterrupted run; one written
#    at 1 resumes at 2;
#  - SIGTERM to one rank: every rank stops at the same step, rank 0 saves, exit 130, and it resumes;
#  - SIGKILL to one rank mid-epoch: mpirun ends the job within seconds naming the lost rank, the last
#    checkpoint is intact and resumes;
#  - a non-finite loss stops both ranks; a global batch that does not divide by the ranks and a
#    command that does not run distributed are refused;
#  - the same CLI built without MPI (wsss_nompi) refuses to run as one of several ranks.
# Usage: bash dp_cli.sh <path-to-wsss> <tmpdir> <path-to-wsss_nompi>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
NOMPI="$3"
export WSSS_THREADS=1 WSSS_PROGRESS=0
MPIRUN=(mpirun --oversubscribe -np 2)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
command -v mpirun >/dev/null || { echo "FAIL: mpirun not found (make deps-test installs openmpi-bin)"; exit 1; }

tiny_voc_py "$TMP/ds" <<'EOF'
import sys
import tiny_voc
tiny_voc.squares(sys.argv[1], 9, 9)
EOF
D="$TMP/ds"
# 9 images, global batch 4: two steps an epoch (the ninth image is dropped), 10 steps in 5 epochs
TRAIN=(--data "$D" --arch resnet18-os8 --epochs 5 --batch 4 --size 32 --lr 0.01 --frozen-bn --quiet)

# losses_match LOG_A LOG_B [FROM_STEP [TO_STEP]]: the same steps, losses within 1e-5 relative (prints the worst)
losses_match() {
    /usr/bin/python3 - "$@" <<'EOF'
import json, sys
def losses(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        if "loss" in r and "event" not in r:
            out[r["step"]] = r["loss"]  # a resumed run logs its steps once more: the last one counts
    return out
a, b = losses(sys.argv[1]), losses(sys.argv[2])
start = int(sys.argv[3]) if len(sys.argv) > 3 else 1
stop = int(sys.argv[4]) if len(sys.argv) > 4 else 1 << 60
steps = [s for s in sorted(a) if start <= s <= stop]
if not steps or [s for s in sorted(b) if start <= s <= stop] != steps:
    print("--- steps differ: %s / %s" % (sorted(a), sorted(b)))
    sys.exit(1)
worst = max(abs(a[s] - b[s]) / max(abs(a[s]), 1e-12) for s in steps)
print("    %d steps from %d, largest relative loss difference %.2e" % (len(steps), start, worst))
sys.exit(0 if worst <= 1e-5 else 1)
EOF
}
# models_close A B: every tensor within 1e-4 (absolute, plus relative to its largest value)
models_close() {
    /usr/bin/python3 - "$@" <<'EOF'
import json, struct, sys
import numpy as np
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    dt = {"F32": np.float32, "I64": np.int64, "F64": np.float64}
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dt[v["dtype"]]) for k, v in h.items()}
a, b = load(sys.argv[1]), load(sys.argv[2])
if sorted(a) != sorted(b):
    print("--- tensor names differ"); sys.exit(1)
worst = max(float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) / (1 + float(np.max(np.abs(a[k])))) for k in a if a[k].size)
print("    largest parameter difference %.2e" % worst)
sys.exit(0 if worst <= 1e-4 else 1)
EOF
}
not() { ! "$@"; }
# rank_pid MPIRUN_PID RANK: the pid of that rank (a child of mpirun, by its OMPI_COMM_WORLD_RANK)
rank_pid() {
    local p
    for p in $(pgrep -P "$1"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$p"; return 0; }
    done
    return 1
}
# wait_for FILE SECONDS: until FILE exists
wait_for() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do [ -e "$1" ] && return 0; sleep 0.1; done
    echo "--- $1 did not appear within $2 s"
    return 1
}

# ---- parity: 2 ranks x 2 images == 1 process x 4 images
check "1 process" rc_is 0 "$WSSS" train-cls "${TRAIN[@]}" --run "$TMP/one"
check "2 ranks" rc_is 0 "${MPIRUN[@]}" "$WSSS" train-cls "${TRAIN[@]}" --run "$TMP/two"
check "10 steps, same losses" losses_match "$TMP/one/logs/train-cls.jsonl" "$TMP/two/logs/train-cls.jsonl"
check "same model" models_close "$TMP/one/cls/model.safetensors" "$TMP/two/cls/model.safetensors"
check "the log says 2 ranks" has "$TMP/two/logs/train-cls.jsonl" '"ranks":2'
check "the log has the allreduce time" has "$TMP/two/logs/train-cls.jsonl" '"allreduce_s"'
n=$(grep -c '"event":"start"' "$TMP/two/logs/train-cls.jsonl")
check "rank 0 alone writes the log (start records: $n)" test "$n" = 1

# ---- threads per rank: the cores divided by the ranks on this machine, unless WSSS_THREADS or
# OMP_NUM_THREADS says otherwise
cores=$(env -u WSSS_THREADS -u OMP_NUM_THREADS "$WSSS" version | sed -n 's/^threads //p')
want=$((cores / 2 > 0 ? cores / 2 : 1))
check "threads: default at 2 ranks" rc_is 130 env -u WSSS_THREADS -u OMP_NUM_THREADS "${MPIRUN[@]}" "$WSSS" train-cls \
    "${TRAIN[@]}" --run "$TMP/thr" --stop-after 1
check "threads: $cores cores / 2 ranks = $want" has "$TMP/thr/logs/train-cls.jsonl" "\"threads\":$want,"
check "threads: OMP_NUM_THREADS=3 wins" rc_is 130 env -u WSSS_THREADS OMP_NUM_THREADS=3 "${MPIRUN[@]}" "$WSSS" train-cls \
    "${TRAIN[@]}" --run "$TMP/thr3" --stop-after 1
check "threads: 3 in the log" has "$TMP/thr3/logs/train-cls.jsonl" '"threads":3,'

# ---- trained batch norm: --sync-bn gives one process's losses, each rank's own statistics do not.
# Training BN on 2-image slices of 32x32 images is chaotic: two one-process runs that differ only in
# their thread count (reduction order) drift apart by 1e-4 from step 3 or 4, so the first 4 steps
# are compared (ResNet-18 at output stride 16; see docs/distributed.md for a stride-8 discrepancy
# on another tiny set).
BN=(--data "$D" --arch resnet18-os16 --epochs 2 --batch 4 --size 32 --lr 0.01 --quiet)
check "trained BN: 1 process" rc_is 0 "$WSSS" train-cls "${BN[@]}" --run "$TMP/bn1"
check "trained BN: 2 ranks --sync-bn" rc_is 0 "${MPIRUN[@]}" "$WSSS" train-cls "${BN[@]}" --sync-bn --run "$TMP/bn2"
check "--sync-bn: the losses of one process (4 steps)" losses_match "$TMP/bn1/logs/train-cls.jsonl" "$TMP/bn2/logs/train-cls.jsonl" 1 4
check "trained BN: 2 ranks without --sync-bn" rc_is 0 "${MPIRUN[@]}" "$WSSS" train-cls "${BN[@]}" --run "$TMP/bn3"
check "without --sync-bn the first loss differs (the check can fail)" not losses_match "$TMP/bn1/logs/train-cls.jsonl" \
    "$TMP/bn3/logs/train-cls.jsonl" 1 1
check "--sync-bn is stored in the checkpoint" json_is "$TMP/bn2/cls/ckpt/state.json" 'json.loads(j["config"])["sync_bn"]' 1

# ---- the other training commands at 2 ranks
# train-seg's loss is a mean over valid pixels: with every pixel valid (no rescale, crops inside the
# images) the ranks' halves weigh as one process's whole, so the losses agree
SEG=(--data "$D" --gt --arch resnet18-os8-largefov --hidden 8 --head-dilation 2 --epochs 3 --batch 4 --crop 32
    --scale-min 1 --scale-max 1 --lr 0.005 --bn frozen --quiet)
check "train-seg: 1 process" rc_is 0 "$WSSS" train-seg "${SEG[@]}" --run "$TMP/seg1"
check "train-seg: 2 ranks" rc_is 0 "${MPIRUN[@]}" "$WSSS" train-seg "${SEG[@]}" --run "$TMP/seg2"
check "train-seg: the losses of one process" losses_match "$TMP/seg1/logs/train-seg-gt.jsonl" "$TMP/seg2/logs/train-seg-gt.jsonl"
check "train-seg: the model" models_close "$TMP/seg1/seg_gt/model.safetensors" "$TMP/seg2/seg_gt/model.safetensors"
check "train-cls --method mcis: 2 ranks" rc_is 0 "${MPIRUN[@]}" "$WSSS" train-cls --method mcis --data "$D" --arch resnet18-os8 \
    --epochs 2 --batch 4 --size 32 --lr-steps 1 --contrastive-from 1 --quiet --run "$TMP/mcis"
check "mcis: the log says 2 ranks" has "$TMP/mcis/logs/train-cls.jsonl" '"ranks":2'
# EADER keeps an epoch's last, smaller batch: 9 images in batches of 4 leave 1, too few for 2 ranks
check "eader, a last batch of 1 at 2 ranks: refused" rc_is 1 "${MPIRUN[@]}" "$WSSS" train-cls --method eader --data "$D" \
    --arch resnet18 --epochs 1 --batch 4 --size 40 --block-steps 2 --quiet --run "$TMP/eader"
check "eader: the message" has "$TMP/out" "the last batch of an epoch holds 1 samples, fewer than the 2 ranks"
check "train-cls --method eader: 2 ranks" rc_is 0 "${MPIRUN[@]}" "$WSSS" train-cls --method eader --data "$D" --arch resnet18 \
    --epochs 1 --batch 6 --size 40 --block-steps 2 --quiet --run "$TMP/eader"
check "eader: the model" test -f "$TMP/eader/cls/model.safetensors"
check "fashion-objects for pretrain" rc_is 0 "$WSSS" data fashion-objects --out "$TMP/fo" --train 24 --val 8 --size 32 --quiet
check "pretrain: 2 ranks" rc_is 0 "${MPIRUN[@]}" "$WSSS" pretrain --data "$TMP/fo" --arch resnet18 --epochs 1 --batch 8 --size 32 \
    --run "$TMP/pre"
n=$(grep -c "epoch 1/1" "$TMP/out")
check "pretrain: rank 0 alone reports the epoch ($n lines)" test "$n" = 1
check "pretrain: the backbone" test -f "$TMP/pre/pretrain/backbone.safetensors"

# ---- a checkpoint of 2 ranks resumes at 1 (and one of 1 at 2)
check "2 ranks, stopped after 3 steps" rc_is 130 "${MPIRUN[@]}" "$WSSS" train-cls "${TRAIN[@]}" --run "$TMP/r21" --stop-after 3
check "the checkpoint holds the global position" json_is "$TMP/r21/cls/ckpt/state.json" 'j["data_position"]' '[1, 4]'
check "resumed at 1 rank" rc_is 0 "$WSSS" train-cls --resume "$TMP/r21/cls/ckpt" --quiet
check "2 -> 1: the losses of the uninterrupted run" losses_match "$TMP/one/logs/train-cls.jsonl" "$TMP/r21/logs/train-cls.jsonl"
check "2 -> 1: the model of the uninterrupted run" models_close "$TMP/one/cls/model.safetensors" "$TMP/r21/cls/model.safetensors"
check "1 process, stopped after 5 steps" rc_is 130 "$WSSS" train-cls "${TRAIN[@]}" --run "$TMP/r12" --stop-after 5
check "resumed at 2 ranks" rc_is 0 "${MPIRUN[@]}" "$WSSS" train-cls --resume "$TMP/r12/cls/ckpt" --quiet
check "1 -> 2: the losses of the uninterrupted run" losses_match "$TMP/one/logs/train-cls.jsonl" "$TMP/r12/logs/train-cls.jsonl"

# ---- SIGTERM to rank 1: both stop at one step, rank 0 saves, exit 130; then it resumes
LONG=(--data "$D" --arch resnet18-os8 --epochs 400 --batch 4 --size 32 --lr 0.01 --frozen-bn --quiet)
"${MPIRUN[@]}" "$WSSS" train-cls "${LONG[@]}" --run "$TMP/term" >"$TMP/term.out" 2>&1 &
mp=$!
check "SIGTERM: a first checkpoint" wait_for "$TMP/term/cls/ckpt/state.json" 60
pid=$(rank_pid "$mp" 1)
check "SIGTERM: rank 1 found" test -n "$pid"
kill -TERM "$pid"
wait "$mp"
rc=$?
check "SIGTERM to rank 1: mpirun exits 130 (got $rc)" test "$rc" = 130
check "SIGTERM: rank 0 saved" has "$TMP/term.out" "interrupted; checkpoint saved in $TMP/term/cls/ckpt"
check "SIGTERM: the log ends interrupted" has "$TMP/term/logs/train-cls.jsonl" '"event":"interrupted"'
step=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["step"])' "$TMP/term/cls/ckpt/state.json")
check "SIGTERM: the checkpoint is of the last logged step ($step)" has "$TMP/term/logs/train-cls.jsonl" "\"event\":\"interrupted\",\"step\":$step,"
check "SIGTERM: resumes (1 rank, to epoch $((step / 2 + 2)))" rc_is 0 "$WSSS" train-cls --resume "$TMP/term/cls/ckpt" \
    --epochs $((step / 2 + 2)) --quiet

# ---- SIGKILL to rank 1 mid-epoch: the job ends within seconds and names rank 1
"${MPIRUN[@]}" "$WSSS" train-cls "${LONG[@]}" --run "$TMP/kill" >"$TMP/kill.out" 2>&1 &
mp=$!
check "SIGKILL: a first checkpoint" wait_for "$TMP/kill/cls/ckpt/state.json" 60
sleep 0.3 # into the next epoch
pid=$(rank_pid "$mp" 1)
check "SIGKILL: rank 1 found" test -n "$pid"
kill -KILL "$pid"
t0=$(date +%s.%N)
for ((i = 0; i < 150; i++)); do kill -0 "$mp" 2>/dev/null || break; sleep 0.1; done
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')  # awk: a bare Debian has no bc
wait "$mp"
rc=$?
check "SIGKILL: mpirun ended within 15 s (took $secs s)" awk -v s="$secs" 'BEGIN { exit !(s < 15) }'
check "SIGKILL: non-zero exit (got $rc)" test "$rc" != 0
check "SIGKILL: the message names rank 1" has "$TMP/kill.out" "process rank 1"
check "SIGKILL: the checkpoint is intact (an epoch end)" json_is "$TMP/kill/cls/ckpt/state.json" 'j["step"] % 2' 0
step=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["step"])' "$TMP/kill/cls/ckpt/state.json")
check "SIGKILL: it resumes (1 rank, one more epoch)" rc_is 0 "$WSSS" train-cls --resume "$TMP/kill/cls/ckpt" \
    --epochs $((step / 2 + 1)) --quiet
check "SIGKILL: the resumed run wrote the model" test -f "$TMP/kill/cls/model.safetensors"

# ---- errors
check "a NaN loss on rank 1 at step 3 stops both ranks" rc_is 1 env WSSS_TEST_NAN_AT=1:3 "${MPIRUN[@]}" "$WSSS" \
    train-cls "${TRAIN[@]}" --run "$TMP/nan"
check "NaN: the message" has "$TMP/out" "wsss train-cls: the loss is not finite at step 3 (epoch 1)"
check "NaN: the checkpoint before it stays" json_is "$TMP/nan/cls/ckpt/state.json" 'j["step"]' 2
check "NaN: the log ends in the error" has "$TMP/nan/logs/train-cls.jsonl" '"event":"error","step":3'
check "NaN: rank 0's loss alone is finite (the hook is real)" rc_is 0 env WSSS_TEST_NAN_AT=1:3 "$WSSS" train-cls \
    "${TRAIN[@]}" --run "$TMP/nan1"
check "--batch 3 at 2 ranks is refused (exit 2)" rc_is 2 "${MPIRUN[@]}" "$WSSS" train-cls "${TRAIN[@]}" --batch 3 --run "$TMP/b3"
check "--batch 3: the message" has "$TMP/out" "wsss train-cls: --batch 3: the global batch must divide by the 2 ranks"
check "cam does not run as 2 ranks" rc_is 2 "${MPIRUN[@]}" "$WSSS" cam --data "$D" --run "$TMP/one" --quiet
check "cam: the message" has "$TMP/out" "wsss cam: runs as one process"

# ---- a build without MPI
check "no MPI: one process runs" rc_is 0 "$NOMPI" version
check "no MPI, OMPI_COMM_WORLD_SIZE=2: exit 2" rc_is 2 env OMPI_COMM_WORLD_SIZE=2 "$NOMPI" train-cls "${TRAIN[@]}" --run "$TMP/x"
check "no MPI: the message" has "$TMP/out" "wsss: built without MPI: this wsss cannot run as one of 2 ranks"
check "no MPI, PMI_SIZE=4: exit 2" rc_is 2 env PMI_SIZE=4 "$NOMPI" train-cls "${TRAIN[@]}" --run "$TMP/x"
check "no MPI, PMIX_RANK=1: exit 2" rc_is 2 env PMIX_RANK=1 "$NOMPI" version
check "no MPI, rank 0 of srun -n 2: exit 2" rc_is 2 env PMIX_RANK=0 SLURM_STEP_NUM_TASKS=2 "$NOMPI" version
check "no MPI, srun -n 1: runs" rc_is 0 env PMIX_RANK=0 SLURM_STEP_NUM_TASKS=1 "$NOMPI" version
check "no MPI under mpirun -np 2: refused" rc_is 2 "${MPIRUN[@]}" "$NOMPI" train-cls "${TRAIN[@]}" --run "$TMP/x"
check "no MPI under mpirun: the message" has "$TMP/out" "built without MPI"
check "no MPI: nothing trained" test ! -e "$TMP/x"

cli_summary dp_cli
