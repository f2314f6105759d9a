#!/usr/bin/python3
"""PyTorch reference values for the conv2d / matmul / linear parity tests.

Run with Debian's Python (it has torch): /usr/bin/python3 scripts/gen_fixtures_conv.py
Writes tests/fixtures/conv_0.safetensors, conv_1.safetensors (conv configs split in two to keep
each file small) and tests/fixtures/matmul.safetensors. Tensor names are "<c|m><index>.<name>"
with a global config index; "<prefix>params" holds the integer parameters.

Inputs are float32 (so the C tests can use them exactly); outputs and gradients are computed by
PyTorch in float64 from those same values and stored as F64, i.e. they are the exact answers
the float32 kernels are measured against. Upstream gradients ("gy") are random, so every
gradient is d(sum(out * gy)) / d(input). Deterministic: fixed seed, CPU, no threads involved.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures")

# n, cin, h, w, cout, (kh, kw), (sh, sw), (ph, pw), (dh, dw), groups, bias
CONV = [
    (1, 3, 7, 9, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),     # odd sizes, same padding
    (3, 3, 13, 11, 5, (3, 3), (2, 2), (0, 0), (1, 1), 1, True),   # stride 2, batch 3
    (1, 4, 13, 11, 6, (3, 3), (1, 1), (2, 2), (2, 2), 1, False),  # dilation 2, padding 2
    (2, 5, 7, 9, 7, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),     # 1x1
    (2, 6, 9, 7, 4, (1, 1), (2, 2), (0, 0), (1, 1), 1, False),  # 1x1 stride 2 shortcut
    (2, 4, 7, 9, 6, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),     # groups 2
    (1, 6, 13, 11, 6, (3, 3), (2, 2), (1, 1), (1, 1), 6, True),   # depthwise stride 2
    (2, 3, 9, 11, 5, (3, 5), (2, 1), (1, 2), (2, 1), 1, True),   # asymmetric everything
    (1, 3, 11, 9, 8, (7, 7), (2, 2), (3, 3), (1, 1), 1, False),  # 7x7/2 stem
    (1, 16, 7, 7, 16, (3, 3), (1, 1), (2, 2), (2, 2), 1, True),   # atrous 3x3, DeepLab style
    (1, 17, 5, 7, 19, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),   # awkward channel counts
]

# kind, shapes, trans_a, trans_b, bias: matmul shapes are the stored a and b shapes;
# linear shapes are x and w.
MATMUL = [
    ("matmul", (5, 7), (7, 3), 0, 0, False),
    ("matmul", (7, 5), (7, 3), 1, 0, False),
    ("matmul", (5, 7), (3, 7), 0, 1, False),
    ("matmul", (7, 5), (3, 7), 1, 1, False),
    ("matmul", (1, 9), (9, 4), 0, 0, False),
    ("matmul", (3, 4, 6), (3, 6, 5), 0, 0, False),
    ("matmul", (3, 6, 4), (3, 6, 5), 1, 0, False),
    ("matmul", (2, 4, 6), (2, 5, 6), 0, 1, False),
    ("matmul", (2, 6, 4), (2, 5, 6), 1, 1, False),
    ("linear", (4, 7), (3, 7), 0, 0, True),
    ("linear", (13, 11), (6, 11), 0, 0, False),
    ("linear", (2, 3, 5), (4, 5), 0, 0, True),
    ("linear", (1, 64), (20, 64), 0, 0, True),
]


def rand(*shape):
    return (torch.rand(*shape, dtype=torch.float32) * 2 - 1)


def grads(out, inputs, gy):
    torch.autograd.backward(out, gy)
    return [t.grad for t in inputs]


def conv_fixtures(first, last):
    t = {}
    for i in range(first, last):
        n, cin, h, w, cout, k, s, p, d, g, bias = CONV[i]
        x = rand(n, cin, h, w)
        wt = rand(cout, cin // g, *k)
        b = rand(cout) if bias else None
        x64 = x.double().requires_grad_()
        w64 = wt.double().requires_grad_()
        b64 = b.double().requires_grad_() if bias else None
        y = F.conv2d(x64, w64, b64, stride=s, padding=p, dilation=d, groups=g)
        gy = rand(*y.shape)
        ins = [x64, w64] + ([b64] if bias else [])
        gs = grads(y, ins, gy.double())
        pre = f"c{i}."
        t[pre + "params"] = torch.tensor([s[0], s[1], p[0], p[1], d[0], d[1], g, int(bias)],
                                         dtype=torch.int64)
        t[pre + "x"], t[pre + "w"], t[pre + "gy"] = x, wt, gy
        t[pre + "y"], t[pre + "dx"], t[pre + "dw"] = y.detach(), gs[0], gs[1]
        if bias:
            t[pre + "b"], t[pre + "db"] = b, gs[2]
    return t, {"first": first, "count": last - first}


def matmul_fixtures():
    t = {}
    for i, (kind, sa, sb, ta, tb, bias) in enumerate(MATMUL):
        a, b = rand(*sa), rand(*sb)
        a64, b64 = a.double().requires_grad_(), b.double().requires_grad_()
        bias_t = rand(sb[0]) if bias else None
        bias64 = bias_t.double().requires_grad_() if bias else None
        if kind == "linear":
            y = F.linear(a64, b64, bias64)
        else:
            y = torch.matmul(a64.transpose(-1, -2) if ta else a64, b64.transpose(-1, -2) if tb else b64)
        gy = rand(*y.shape)
        ins = [a64, b64] + ([bias64] if bias else [])
        gs = grads(y, ins, gy.double())
        pre = f"m{i}."
        t[pre + "params"] = torch.tensor([int(kind == "linear"), ta, tb, int(bias)], dtype=torch.int64)
        t[pre + "a"], t[pre + "b"], t[pre + "gy"] = a, b, gy
        t[pre + "y"], t[pre + "da"], t[pre + "db"] = y.detach(), gs[0], gs[1]
        if bias:
            t[pre + "bias"], t[pre + "dbias"] = bias_t, gs[2]
    return t, {"first": 0, "count": len(MATMUL)}


def main():
    torch.manual_seed(20240601)
    os.makedirs(OUT, exist_ok=True)
    meta = {"generator": "scripts/gen_fixtures_conv.py", "torch": torch.__version__}
    half = (len(CONV) + 1) // 2
    jobs = (("conv_0.safetensors", lambda: conv_fixtures(0, half)),
            ("conv_1.safetensors", lambda: conv_fixtures(half, len(CONV))),
            ("matmul.safetensors", matmul_fixtures))
    for name, fn in jobs:
        tensors, m = fn()
        path = os.path.join(OUT, name)
        st_io.save(path, tensors, {**meta, **m})
        print(f"{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
