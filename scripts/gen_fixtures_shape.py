"""PyTorch reference fixtures for the shape, resize and dropout-free data-movement ops.

Run with Debian's python (torch 1.13): /usr/bin/python3 scripts/gen_fixtures_shape.py
Writes tests/fixtures/shape_ops.safetensors and tests/fixtures/shape_resize.safetensors, read
by tests/parity/test_shape_parity.c.

Every case is a group of tensors named "<op>_<i>/<what>": the inputs (x or x0, x1, ..., index),
"cfg" (F64 parameters whose meaning depends on the op, listed below), the upstream gradient
"gy", the output "y" and the input gradients "gx" / "gx<i>" of L = sum(y * gy), all F32.
  concat:       cfg = [dim, n]
  pad:          cfg = [left, right, top, bottom, value]
  index_select: cfg = [dim]
  gather:       cfg = [dim]
  slice:        cfg = [dim, start, end, step]
  flip:         cfg = [dim]
  permute:      cfg = perm
  chain:        permute(0,2,3,1) -> slice(dim 2, 1:5:2) -> flip(1) -> reshape(-1, 6), cfg = []
  bilinear:     cfg = [oh, ow, align_corners]
  nearest:      cfg = [oh, ow]
  bicubic:      cfg = [oh, ow, align_corners]  (forward only: no gy/gx)
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures")

g = torch.Generator().manual_seed(20240611)


def rand(*shape):
    return (torch.rand(*shape, generator=g) * 4 - 2).float()


def cfg(*vals):
    return torch.tensor([float(v) for v in vals], dtype=torch.float64)


def run(tensors, name, fn, inputs, extra_cfg, backward=True, extra=None):
    """Evaluate y = fn(*inputs) and the gradients of sum(y * gy); store everything under name/."""
    xs = [x.clone().requires_grad_(backward) for x in inputs]
    y = fn(*xs)
    tensors[f"{name}/cfg"] = extra_cfg
    tensors[f"{name}/y"] = y.detach()
    if len(xs) == 1:
        tensors[f"{name}/x"] = inputs[0]
    else:
        for i, x in enumerate(inputs):
            tensors[f"{name}/x{i}"] = x
    if extra:
        for k, v in extra.items():
            tensors[f"{name}/{k}"] = v
    if backward:
        gy = rand(*y.shape)
        (y * gy).sum().backward()
        tensors[f"{name}/gy"] = gy
        if len(xs) == 1:
            tensors[f"{name}/gx"] = xs[0].grad
        else:
            for i, x in enumerate(xs):
                tensors[f"{name}/gx{i}"] = x.grad


def shape_ops():
    t = {}
    concat = [
        (0, [(2, 3, 4), (1, 3, 4)]),
        (1, [(2, 1, 3, 2), (2, 4, 3, 2), (2, 2, 3, 2)]),
        (3, [(1, 2, 3, 2), (1, 2, 3, 5)]),
        (-1, [(3, 2), (3, 1), (3, 4), (3, 2)]),
    ]
    for i, (dim, shapes) in enumerate(concat):
        run(t, f"concat_{i}", lambda *xs, d=dim: torch.cat(xs, d), [rand(*s) for s in shapes],
            cfg(dim, len(shapes)))

    pads = [(1, 2, 3, 0, 0.0), (-1, -2, 0, 1, 0.5), (2, -3, -2, 1, -1.0), (0, 0, 0, 0, 0.0),
            (-6, 1, 0, 0, 2.0)]
    for i, (l, r, tp, b, v) in enumerate(pads):
        run(t, f"pad_{i}", lambda x, p=(l, r, tp, b), v=v: F.pad(x, p, mode="constant", value=v),
            [rand(2, 3, 5, 6)], cfg(l, r, tp, b, v))

    for i, (dim, idx) in enumerate([(0, [3, 0, 3, 1]), (1, [4, 4, 0, 2, 4, 1, 3]), (2, [5]),
                                    (-1, [0, 1, 2, 3, 4, 5, 0])]):
        index = torch.tensor(idx, dtype=torch.int64)
        run(t, f"index_select_{i}", lambda x, d=dim, ix=index: torch.index_select(x, d, ix),
            [rand(4, 5, 6)], cfg(dim), extra={"index": index})

    for i, (dim, ishape) in enumerate([(0, (5, 3, 4)), (1, (2, 6, 5)), (2, (3, 2, 7)), (-1, (1, 4, 2))]):
        xshape = (3, 4, 5)
        index = torch.randint(0, xshape[dim], ishape, generator=g, dtype=torch.int64)
        run(t, f"gather_{i}", lambda x, d=dim, ix=index: torch.gather(x, d, ix), [rand(*xshape)],
            cfg(dim), extra={"index": index})

    slices = [(1, 1, 5, 1), (1, -3, 100, 2), (2, -100, 3, 2), (0, 1, 3, 1), (1, 2, -1, 3),
              (-1, 0, 4, 3), (1, 5, 2, 1)]
    for i, (dim, s, e, st) in enumerate(slices):
        def fn(x, dim=dim, s=s, e=e, st=st):
            idx = [slice(None)] * x.dim()
            idx[dim] = slice(s, e, st)
            return x[tuple(idx)]
        run(t, f"slice_{i}", fn, [rand(3, 7, 4)], cfg(dim, s, e, st))

    for i, dim in enumerate([0, 1, 2, 3, -1]):
        run(t, f"flip_{i}", lambda x, d=dim: torch.flip(x, [d]), [rand(2, 3, 4, 5)], cfg(dim))

    for i, perm in enumerate([(0, 2, 3, 1), (3, 1, 0, 2), (1, 0, 2, 3), (2, 3, 0, 1)]):
        run(t, f"permute_{i}", lambda x, p=perm: x.permute(*p), [rand(2, 3, 4, 5)], cfg(*perm))

    run(t, "chain_0", lambda x: torch.flip(x.permute(0, 2, 3, 1)[:, :, 1:5:2], [1]).reshape(-1, 6),
        [rand(2, 3, 4, 5)], cfg())
    return t


def shape_resize():
    t = {}
    # (N, C, H, W) -> (oh, ow): up, down, odd, non-square, exact factors, 1x1 in and out, same size
    sizes = [((2, 3, 5, 7), (11, 13)), ((1, 2, 8, 8), (4, 4)), ((2, 2, 7, 5), (3, 9)),
             ((1, 3, 6, 9), (12, 18)), ((2, 2, 9, 6), (4, 5)), ((1, 2, 1, 1), (3, 4)),
             ((1, 2, 4, 6), (1, 1)), ((1, 2, 13, 17), (31, 29)), ((1, 2, 3, 4), (3, 4)),
             ((1, 1, 20, 24), (7, 6))]
    bi = nn = bc = 0
    for shape, (oh, ow) in sizes:
        x = rand(*shape)
        for ac in (False, True):
            run(t, f"bilinear_{bi}",
                lambda x, oh=oh, ow=ow, ac=ac: F.interpolate(x, size=(oh, ow), mode="bilinear",
                                                             align_corners=ac),
                [x], cfg(oh, ow, int(ac)))
            bi += 1
            run(t, f"bicubic_{bc}",
                lambda x, oh=oh, ow=ow, ac=ac: F.interpolate(x, size=(oh, ow), mode="bicubic",
                                                             align_corners=ac),
                [x], cfg(oh, ow, int(ac)), backward=False)
            bc += 1
        run(t, f"nearest_{nn}",
            lambda x, oh=oh, ow=ow: F.interpolate(x, size=(oh, ow), mode="nearest"),
            [x], cfg(oh, ow))
        nn += 1
    # nearest where PyTorch's float index differs from exact floor(dst * in / out) (2 -> 82)
    run(t, f"nearest_{nn}", lambda x: F.interpolate(x, size=(3, 82), mode="nearest"),
        [rand(1, 2, 2, 2)], cfg(3, 82))
    return t


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, fn in (("shape_ops", shape_ops), ("shape_resize", shape_resize)):
        path = os.path.join(OUT, f"{name}.safetensors")
        st_io.save(path, fn(), metadata={"generator": "scripts/gen_fixtures_shape.py",
                                         "torch": torch.__version__})
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
