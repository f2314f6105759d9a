#!/usr/bin/env bash
# `wsss forward` end to end: formula weights written by the C side (test_models write), forward,
# output compared with the PyTorch fixture; --features; user errors (missing/truncated/mismatched
# weights, wrong input rank/channels/name, bad arch) exit non-zero with a message naming the file.
# If Debian's /usr/bin/python3 has torch, also: a torchvision resnet18 with the same formula weights,
# saved as a DataParallel checkpoint .pth, converted by scripts/pth_to_safetensors.py, gives the same
# output.
# Usage: bash forward_cli.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
HELPER="$(dirname "$WSSS")/../tests/test_models"
if [ ! -x "$HELPER" ]; then echo "FAIL: helper $HELPER not built (target test_models)"; exit 1; fi

out="$TMP/out.txt"
"$WSSS" forward --help >"$out" 2>&1
check "--help exits 0" test $? -eq 0
check "--help documents output" has "$out" "fc logits"

# resnet18 with a 5-class fc, weights and input from the formula of tests/model_weights.c
"$HELPER" write resnet18 5 "$TMP/r18.safetensors" "$TMP/x.safetensors" >"$out" 2>&1
check "helper writes weights" test $? -eq 0
"$WSSS" forward --arch resnet18 --num-classes 5 --weights "$TMP/r18.safetensors" --input "$TMP/x.safetensors" \
    --output "$TMP/y.safetensors" --features >"$out" 2>&1
check "forward exits 0" test $? -eq 0
check "forward reports the output" has "$out" "output [2, 5] = fc logits"
check "output equals PyTorch" "$HELPER" compare "$TMP/y.safetensors" output models_resnet18.safetensors output 1e-4
# resnet18's layer4 map at 64x64 is small enough for the fixture to hold it whole
check "features equal PyTorch" "$HELPER" compare "$TMP/y.safetensors" features models_resnet18.safetensors features 1e-4
"$WSSS" forward --arch resnet18 --num-classes 5 --weights "$TMP/r18.safetensors" --input "$TMP/x.safetensors" \
    --output "$TMP/y_ref.safetensors" --backend ref >"$out" 2>&1
check "ref backend exits 0" test $? -eq 0
check "ref backend equals PyTorch" "$HELPER" compare "$TMP/y_ref.safetensors" output models_resnet18.safetensors output 1e-4

# vgg16-deeplab with the MCIS CAM head: scores
"$HELPER" write vgg16-deeplab 5 "$TMP/vgg.safetensors" "$TMP/x.safetensors" >"$out" 2>&1
"$WSSS" forward --arch vgg16-deeplab --num-classes 5 --weights "$TMP/vgg.safetensors" --input "$TMP/x.safetensors" \
    --output "$TMP/yv.safetensors" >"$out" 2>&1
check "vgg forward exits 0" test $? -eq 0
check "vgg output equals PyTorch" "$HELPER" compare "$TMP/yv.safetensors" output models_vgg16_deeplab.safetensors output 1e-4

# ---- user errors: non-zero exit, message naming the file / tensors
expect_fail() { # expect_fail "what" "expected text" args...
    local what="$1" text="$2"
    shift 2
    "$WSSS" forward "$@" >"$out" 2>&1
    local rc=$?
    check "$what: non-zero exit" test $rc -ne 0
    check "$what: message" has "$out" "$text"
}
expect_fail "missing weights" "$TMP/none.safetensors" --arch resnet18 --num-classes 5 \
    --weights "$TMP/none.safetensors" --input "$TMP/x.safetensors" --output "$TMP/e.safetensors"
head -c 100000 "$TMP/r18.safetensors" >"$TMP/trunc.safetensors"
expect_fail "truncated weights" "$TMP/trunc.safetensors" --arch resnet18 --num-classes 5 \
    --weights "$TMP/trunc.safetensors" --input "$TMP/x.safetensors" --output "$TMP/e.safetensors"
expect_fail "class-count mismatch" "fc.weight" --arch resnet18 --num-classes 7 \
    --weights "$TMP/r18.safetensors" --input "$TMP/x.safetensors" --output "$TMP/e.safetensors"
expect_fail "wrong arch for the weights" "missing" --arch resnet34 --num-classes 5 \
    --weights "$TMP/r18.safetensors" --input "$TMP/x.safetensors" --output "$TMP/e.safetensors"
expect_fail "unknown arch" "resnet19" --arch resnet19 \
    --weights "$TMP/r18.safetensors" --input "$TMP/x.safetensors" --output "$TMP/e.safetensors"
expect_fail "wrong input name" "no tensor named \"image\"" --arch resnet18 --num-classes 5 --input-name image \
    --weights "$TMP/r18.safetensors" --input "$TMP/x.safetensors" --output "$TMP/e.safetensors"
# inputs of the wrong rank / channels: reuse weight tensors of suitable shapes as inputs
expect_fail "rank-1 input" "expected N,3,H,W" --arch resnet18 --num-classes 5 --input-name fc.bias \
    --weights "$TMP/r18.safetensors" --input "$TMP/r18.safetensors" --output "$TMP/e.safetensors"
expect_fail "64-channel input" "expected N,3,H,W" --arch resnet18 --num-classes 5 --input-name layer1.0.conv1.weight \
    --weights "$TMP/r18.safetensors" --input "$TMP/r18.safetensors" --output "$TMP/e.safetensors"
expect_fail "integer input" "expected F32" --arch resnet18 --num-classes 5 --input-name bn1.num_batches_tracked \
    --weights "$TMP/r18.safetensors" --input "$TMP/r18.safetensors" --output "$TMP/e.safetensors"
expect_fail "missing --weights" "--weights" --arch resnet18 --input "$TMP/x.safetensors" --output "$TMP/e.safetensors"
check "no output file after errors" test ! -e "$TMP/e.safetensors"

# ---- the .pth converter, when torch is available
if /usr/bin/python3 -c "import torch, torchvision" >/dev/null 2>&1; then
    /usr/bin/python3 - "$ROOT/scripts" "$TMP/r18.pth" <<'EOF' >"$out" 2>&1
import sys
sys.path.insert(0, sys.argv[1])
import torch
import gen_fixtures_models as g
m = g.resnet(18, 5)
g.fill_module(m)
sd = {"module." + k: v for k, v in m.state_dict().items()}
torch.save({"epoch": 1, "model": sd, "optimizer": {}}, sys.argv[2])
EOF
    check "write a .pth checkpoint" test $? -eq 0
    /usr/bin/python3 "$ROOT/scripts/pth_to_safetensors.py" "$TMP/r18.pth" "$TMP/conv.safetensors" >"$out" 2>&1
    check "converter exits 0" test $? -eq 0
    check "converter summary" has "$out" "122 tensors"
    "$WSSS" forward --arch resnet18 --num-classes 5 --weights "$TMP/conv.safetensors" --input "$TMP/x.safetensors" \
        --output "$TMP/yc.safetensors" >"$out" 2>&1
    check "forward on converted weights exits 0" test $? -eq 0
    check "converted weights equal PyTorch" "$HELPER" compare "$TMP/yc.safetensors" output models_resnet18.safetensors output 1e-4
else
    echo "SKIP: /usr/bin/python3 has no torch; converter not exercised"
fi

cli_summary forward_cli
