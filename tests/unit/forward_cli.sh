#!/usr/bin/env bash
# `wsss forward` end to end: formula weights written by the C side (test_models write), forward,
# output compared with the PyTorch fixture; --features; user errors (missing/truncated/mismatched
# weights, wrong input rank/channels/name, bad arch) exit non-zero with a message naming the file.
# The README's route to ImageNet weights, scripts/pth_to_safetensors.py: a torchvision resnet18 with
# the same formula weights, saved as a bare state_dict .pth (as torchvision publishes them) and as a
# DataParallel checkpoint .pth, converted, gives the same output. Needs Debian's /usr/bin/python3
# with torch and torchvision (make deps-test installs them); without them the test fails.
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

# ---- the .pth converter (a declared test dependency: torch and torchvision)
if ! /usr/bin/python3 -c "import torch, torchvision" >"$out" 2>&1; then
    cat "$out"
    echo "FAIL: /usr/bin/python3 cannot import torch and torchvision, which this test needs to run"
    echo "      scripts/pth_to_safetensors.py (apt-get install python3-torch python3-torchvision, or make deps-test)"
    exit 1
fi
/usr/bin/python3 - "$ROOT/scripts" "$TMP/r18_state_dict.pth" "$TMP/r18_checkpoint.pth" <<'EOF' >"$out" 2>&1
import sys
sys.path.insert(0, sys.argv[1])
import torch
import gen_fixtures_models as g
m = g.resnet(18, 5)
g.fill_module(m)
torch.save(m.state_dict(), sys.argv[2])
sd = {"module." + k: v for k, v in m.state_dict().items()}
torch.save({"epoch": 1, "model": sd, "optimizer": {}}, sys.argv[3])
EOF
check "write the .pth files" test $? -eq 0
for kind in state_dict checkpoint; do
    /usr/bin/python3 "$ROOT/scripts/pth_to_safetensors.py" "$TMP/r18_$kind.pth" "$TMP/conv_$kind.safetensors" >"$out" 2>&1
    check "converter on a $kind .pth exits 0" test $? -eq 0
    check "converter on a $kind .pth: summary" has "$out" "122 tensors"
    "$WSSS" forward --arch resnet18 --num-classes 5 --weights "$TMP/conv_$kind.safetensors" --input "$TMP/x.safetensors" \
        --output "$TMP/yc_$kind.safetensors" >"$out" 2>&1
    check "forward on the converted $kind exits 0" test $? -eq 0
    check "converted $kind gives PyTorch's output" "$HELPER" compare "$TMP/yc_$kind.safetensors" output \
        models_resnet18.safetensors output 1e-4
done
# the converted file holds exactly the state_dict: same keys, dtypes (num_batches_tracked stays I64), values
# (read here with json + numpy, not with the converter's own writer module)
check "converted tensors equal the state_dict" /usr/bin/python3 - "$TMP/r18_state_dict.pth" \
    "$TMP/conv_checkpoint.safetensors" <<'EOF'
import json, struct, sys
import numpy as np
import torch
sd = torch.load(sys.argv[1], map_location="cpu")
raw = open(sys.argv[2], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = {k: v for k, v in json.loads(raw[8:8 + n]).items() if k != "__metadata__"}
np_dtype = {"F32": "<f4", "I64": "<i8"}
assert sorted(header) == sorted(sd), set(header) ^ set(sd)
bad = []
for k, e in header.items():
    b, end = e["data_offsets"]
    a = np.frombuffer(raw[8 + n + b:8 + n + end], dtype=np_dtype[e["dtype"]]).reshape(e["shape"])
    want = sd[k].numpy()
    if a.dtype != want.dtype or a.shape != want.shape or not np.array_equal(a, want):
        bad.append(k)
assert not bad, bad[:5]
assert header["bn1.num_batches_tracked"]["dtype"] == "I64"
print("converted: %d tensors equal the state_dict" % len(header))
EOF

cli_summary forward_cli
