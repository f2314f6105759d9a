"""Parity fixtures for batch norm, pooling and activations (tests/parity/test_normpool_parity.c).

Run with Debian's python (has torch):  /usr/bin/python3 scripts/gen_fixtures_normpool.py
Writes tests/fixtures/normpool_{bn,pool,act}.safetensors. Deterministic (fixed seeds).

Inputs are drawn as float32 and every reference is computed by PyTorch in float64 from those
exact values, then stored as F64: the C test runs its F32 backends on the float32 inputs and its
F64 reference path on the same values, so both are compared with an accurate PyTorch result.
Each case stores "<case>/params" (F64) describing the configuration, so the C side needs no table.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
BN_MODES = {"train": 0, "eval": 1, "frozen": 2}
POOL_KINDS = {"max": 0, "avg": 1, "global": 2}
ACTS = {"relu": 0, "leaky_relu": 1, "elu": 2, "sigmoid": 3, "tanh": 4}


def f32(t):
    """float32-representable values, kept in float64 for the reference computation."""
    return t.float().double()


def rand(g, shape, lo, hi):
    return f32(torch.rand(shape, generator=g, dtype=torch.float64) * (hi - lo) + lo)


def distinct(g, shape, scale=0.05):
    """All-distinct values (a shuffled ramp), so max pooling has no ties."""
    n = 1
    for s in shape:
        n *= s
    perm = torch.randperm(n, generator=g).double()
    return f32((perm - n / 2) * scale).reshape(shape)


def gen_bn(g):
    out = {}
    cases = [  # name, shape, mode, affine, momentum, eps
        ("bn_train_a", (3, 5, 7, 9), "train", True, 0.1, 1e-5),
        ("bn_train_b", (1, 5, 6, 5), "train", True, 0.1, 1e-5),
        ("bn_train_noaff", (2, 3, 4, 4), "train", False, 0.3, 1e-3),
        ("bn_train_1x1", (4, 5, 1, 1), "train", True, 0.1, 1e-5),
        ("bn_eval_a", (3, 5, 7, 9), "eval", True, 0.1, 1e-5),
        ("bn_eval_noaff", (2, 3, 4, 4), "eval", False, 0.1, 1e-5),
        ("bn_frozen_a", (3, 5, 7, 9), "frozen", True, 0.1, 1e-5),
        ("bn_frozen_b", (1, 5, 6, 5), "frozen", True, 0.1, 1e-5),
    ]
    for name, shape, mode, affine, mom, eps in cases:
        c = shape[1]
        x = rand(g, shape, -2, 3).requires_grad_(True)
        w = rand(g, (c,), 0.5, 1.5) if affine else None
        b = rand(g, (c,), -0.5, 0.5) if affine else None
        rm0 = rand(g, (c,), -0.3, 0.3)
        rv0 = rand(g, (c,), 0.5, 2.0)
        gy = rand(g, shape, -1, 1)
        if affine and mode != "frozen":
            w.requires_grad_(True)
            b.requires_grad_(True)
        rm, rv = rm0.clone(), rv0.clone()
        y = F.batch_norm(x, rm, rv, w, b, training=(mode == "train"), momentum=mom, eps=eps)
        y.backward(gy)
        p = f"{name}/"
        out[p + "params"] = torch.tensor([BN_MODES[mode], int(affine), mom, eps], dtype=torch.float64)
        out[p + "x"] = x.detach()
        out[p + "grad_y"] = gy
        out[p + "running_mean_in"] = rm0
        out[p + "running_var_in"] = rv0
        out[p + "y"] = y.detach()
        out[p + "grad_x"] = x.grad
        out[p + "running_mean"] = rm
        out[p + "running_var"] = rv
        if affine:
            out[p + "weight"] = w.detach()
            out[p + "bias"] = b.detach()
            if mode != "frozen":
                out[p + "grad_weight"] = w.grad
                out[p + "grad_bias"] = b.grad
    return out


def gen_pool(g):
    out = {}
    cases = [  # name, kind, shape, kernel, stride, padding, ceil_mode, count_include_pad
        ("max_k3s2p1", "max", (3, 5, 7, 9), 3, 2, 1, 0, 1),
        ("max_k3s2p1_ceil", "max", (1, 5, 6, 5), 3, 2, 1, 1, 1),
        ("max_k2s2_ceil", "max", (3, 1, 8, 11), 2, 2, 0, 1, 1),
        ("max_k3s1p1", "max", (1, 1, 7, 7), 3, 1, 1, 0, 1),
        ("max_k2p1_ceil", "max", (3, 5, 9, 7), 2, 0, 1, 1, 1),
        ("avg_k3s2p1_incl", "avg", (3, 5, 7, 9), 3, 2, 1, 0, 1),
        ("avg_k3s2p1_excl", "avg", (3, 5, 7, 9), 3, 2, 1, 0, 0),
        ("avg_k3s2p1_ceil_incl", "avg", (1, 5, 6, 5), 3, 2, 1, 1, 1),
        ("avg_k3s2p1_ceil_excl", "avg", (1, 5, 6, 5), 3, 2, 1, 1, 0),
        ("avg_k2s2_ceil_incl", "avg", (3, 1, 7, 11), 2, 2, 0, 1, 1),
        ("avg_k3s1p1_incl", "avg", (1, 5, 9, 7), 3, 1, 1, 0, 1),
        ("global", "global", (3, 5, 7, 9), 0, 0, 0, 0, 1),
        ("global_1x1", "global", (2, 3, 1, 1), 0, 0, 0, 0, 1),
    ]
    for name, kind, shape, k, s, pad, ceil, cip in cases:
        x = (distinct(g, shape) if kind == "max" else rand(g, shape, -2, 2)).requires_grad_(True)
        if kind == "max":
            y = F.max_pool2d(x, k, s if s else None, pad, ceil_mode=bool(ceil))
        elif kind == "avg":
            y = F.avg_pool2d(x, k, s if s else None, pad, ceil_mode=bool(ceil),
                             count_include_pad=bool(cip))
        else:
            y = F.adaptive_avg_pool2d(x, 1)
        gy = rand(g, tuple(y.shape), -1, 1)
        y.backward(gy)
        p = f"{name}/"
        out[p + "params"] = torch.tensor([POOL_KINDS[kind], k, s, pad, ceil, cip], dtype=torch.float64)
        out[p + "x"] = x.detach()
        out[p + "grad_y"] = gy
        out[p + "y"] = y.detach()
        out[p + "grad_x"] = x.grad
    # Ties: small integers, so windows hold equal maxima; PyTorch's CPU kernel sends the gradient
    # to the first maximum in scan order. Checked against the reference backend.
    for name, shape, k, s, pad, ceil in [("ties_max_k3s2p1_ceil", (2, 3, 7, 6), 3, 2, 1, 1),
                                         ("ties_max_k2", (1, 2, 6, 6), 2, 2, 0, 0)]:
        x = torch.randint(0, 3, shape, generator=g).double().requires_grad_(True)
        y = F.max_pool2d(x, k, s, pad, ceil_mode=bool(ceil))
        gy = rand(g, tuple(y.shape), -1, 1)
        y.backward(gy)
        p = f"{name}/"
        out[p + "params"] = torch.tensor([POOL_KINDS["max"], k, s, pad, ceil, 1], dtype=torch.float64)
        out[p + "x"] = x.detach()
        out[p + "grad_y"] = gy
        out[p + "y"] = y.detach()
        out[p + "grad_x"] = x.grad
    return out


def gen_act(g):
    out = {}
    cases = [("relu", "relu", 0.0), ("leaky_relu", "leaky_relu", 0.1), ("elu", "elu", 1.0),
             ("elu_a0.5", "elu", 0.5), ("sigmoid", "sigmoid", 0.0), ("tanh", "tanh", 0.0)]
    shape = (3, 5, 7, 9)
    for name, kind, alpha in cases:
        x = rand(g, shape, -4, 4)
        x.view(-1)[::17] = 0.0  # exact zeros: PyTorch's derivative at the kink
        x.requires_grad_(True)
        if kind == "relu":
            y = F.relu(x)
        elif kind == "leaky_relu":
            y = F.leaky_relu(x, alpha)
        elif kind == "elu":
            y = F.elu(x, alpha)
        elif kind == "sigmoid":
            y = torch.sigmoid(x)
        else:
            y = torch.tanh(x)
        gy = rand(g, shape, -1, 1)
        y.backward(gy)
        p = f"{name}/"
        out[p + "params"] = torch.tensor([ACTS[kind], alpha], dtype=torch.float64)
        out[p + "x"] = x.detach()
        out[p + "grad_y"] = gy
        out[p + "y"] = y.detach()
        out[p + "grad_x"] = x.grad
    return out


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(20240611)
    os.makedirs(OUT, exist_ok=True)
    meta = {"generator": "scripts/gen_fixtures_normpool.py", "torch": torch.__version__}
    for fname, fn in [("normpool_bn", gen_bn), ("normpool_pool", gen_pool), ("normpool_act", gen_act)]:
        tensors = fn(g)
        path = os.path.join(OUT, fname + ".safetensors")
        st_io.save(path, tensors, meta)
        print(f"{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
