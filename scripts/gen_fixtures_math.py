"""PyTorch reference tensors for tests/parity/test_math_parity.c: elementwise ops (with
broadcasting in every direction), reductions, softmax and losses.

Every case stores its float64 inputs, a float64 upstream gradient, and torch's outputs and input
gradients computed twice: in float64 (suffix .f64) and in float32 from the inputs rounded to
float32 (suffix .f32). The metadata entry named after the case says which op it is and with which
parameters ("op p0 p1 ..."), so the C test needs no table of its own.

Run: /usr/bin/python3 scripts/gen_fixtures_math.py
Writes tests/fixtures/math_elementwise.safetensors, math_reduce.safetensors, math_softmax_loss.safetensors,
math_label_smoothing.safetensors."""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
gen = torch.Generator().manual_seed(1234)


def rand(*shape, lo=-1.0, hi=1.0):
    return torch.rand(tuple(shape), generator=gen, dtype=torch.float64) * (hi - lo) + lo


def randint(*shape, lo=0, hi=3):
    return torch.randint(lo, hi, shape, generator=gen).to(torch.float64)


class Fixture:
    def __init__(self):
        self.tensors, self.meta = {}, {}

    def case(self, name, spec, fn, inputs, grad_mask=None, extra=None):
        """fn(list of tensors in the run dtype) -> output (or (output, indices)).
        grad_mask[i]: whether input i gets a gradient (default all). extra: constant tensors
        (e.g. integer targets) stored as <name>.<key>, passed to fn as keyword arguments."""
        assert name not in self.meta
        self.meta[name] = spec
        grad_mask = grad_mask or [True] * len(inputs)
        extra = extra or {}
        for k, v in extra.items():
            self.tensors[f"{name}.{k}"] = v
        for i, x in enumerate(inputs):
            self.tensors[f"{name}.in{i}"] = x
        gout = None
        for dt, sfx in ((torch.float64, "f64"), (torch.float32, "f32")):
            xs = [x.to(dt).clone().requires_grad_(m) for x, m in zip(inputs, grad_mask)]
            res = fn(xs, **extra)
            out, idx = (res if isinstance(res, tuple) else (res, None))
            if gout is None:
                gout = rand(*out.shape)
                self.tensors[f"{name}.gout"] = gout
            out.backward(gout.to(dt))
            self.tensors[f"{name}.out.{sfx}"] = out.detach()
            if idx is not None:
                self.tensors[f"{name}.idx.{sfx}"] = idx
            for i, x in enumerate(xs):
                if grad_mask[i]:
                    self.tensors[f"{name}.grad{i}.{sfx}"] = x.grad

    def save(self, fname):
        path = os.path.join(OUT, fname)
        st_io.save(path, self.tensors, self.meta)
        print(f"{path}: {len(self.meta)} cases, {os.path.getsize(path)} bytes")


def elementwise():
    fx = Fixture()
    pairs = [  # (a shape, b shape): same, b broadcast, a broadcast, both, 0-dim, 5-D
        ((2, 3, 4), (2, 3, 4)),
        ((2, 3, 4), (4,)),
        ((4,), (2, 3, 4)),
        ((2, 3, 4), (3, 1)),
        ((1, 3, 1), (2, 1, 4)),
        ((), (2, 3)),
        ((2, 3), ()),
        ((2, 1, 3, 1, 2), (3, 4, 1)),
        ((2, 3, 1, 1), (1, 3, 4, 5)),
    ]
    ops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
    for op, f in ops.items():
        for k, (sa, sb) in enumerate(pairs):
            b = rand(*sb, lo=0.5, hi=1.5) if op == "div" else rand(*sb)
            fx.case(f"{op}_{k}", op, lambda xs, f=f: f(xs[0], xs[1]), [rand(*sa), b])
    x = rand(3, 5, lo=-2, hi=2)
    fx.case("add_scalar", "add_scalar 1.75", lambda xs: xs[0] + 1.75, [x])
    fx.case("mul_scalar", "mul_scalar -2.5", lambda xs: xs[0] * -2.5, [x])
    fx.case("rsub_scalar", "rsub_scalar 0.5", lambda xs: 0.5 - xs[0], [x])
    fx.case("neg", "neg", lambda xs: -xs[0], [x])
    fx.case("exp", "exp", lambda xs: xs[0].exp(), [x])
    fx.case("log", "log", lambda xs: xs[0].log(), [rand(3, 5, lo=0.05, hi=3)])
    # pow: exact zeros hit torch's gradient at 0 for p >= 1 (and p = 0)
    xz = rand(4, 5, lo=-2, hi=2)
    xz.view(-1)[::3] = 0.0
    for p in (2.0, 3.0, 1.0, 0.0):
        fx.case(f"pow_{p:g}", f"pow_scalar {p!r}", lambda xs, p=p: xs[0].pow(p), [xz])
    xp = rand(4, 5, lo=0.1, hi=3)
    for p in (0.5, -1.5, 2.5):
        fx.case(f"pow_{p:g}", f"pow_scalar {p!r}", lambda xs, p=p: xs[0].pow(p), [xp])
    fx.case("abs", "abs", lambda xs: xs[0].abs(), [xz])
    # clamp: values exactly on the bounds pass the gradient (torch.clamp)
    xc = rand(4, 5, lo=-1, hi=1)
    xc.view(-1)[:4] = torch.tensor([-0.5, 0.5, -0.5, 0.5], dtype=torch.float64)
    fx.case("clamp", "clamp -0.5 0.5", lambda xs: xs[0].clamp(-0.5, 0.5), [xc])
    fx.case("clamp_min", "clamp -0.5 inf", lambda xs: xs[0].clamp(min=-0.5), [xc])
    fx.case("clamp_max", "clamp -inf 0.5", lambda xs: xs[0].clamp(max=0.5), [xc])
    fx.save("math_elementwise.safetensors")


def reduce():
    fx = Fixture()
    x = rand(2, 3, 4, 3)
    for dims in (1, 2, 4, 8, 3, 6, 12, 5, 9, 10, 14, 15):
        ds = [d for d in range(4) if dims >> d & 1]
        for keep in (0, 1):
            fx.case(f"sum_{dims}_{keep}", f"sum {dims} {keep}",
                    lambda xs, ds=ds, keep=keep: xs[0].sum(dim=ds, keepdim=bool(keep)), [x])
            fx.case(f"mean_{dims}_{keep}", f"mean {dims} {keep}",
                    lambda xs, ds=ds, keep=keep: xs[0].mean(dim=ds, keepdim=bool(keep)), [x])
    fx.case("sum_all", "sum_all", lambda xs: xs[0].sum(), [x])
    fx.case("mean_all", "mean_all", lambda xs: xs[0].mean(), [x])
    # max/min over a dim: small integers so ties are common (first index wins on CPU)
    xt = randint(3, 4, 5, lo=0, hi=3)
    for name, f in (("max", torch.max), ("min", torch.min)):
        for dim in (0, 1, 2, -1):
            for keep in (0, 1):
                fx.case(f"{name}_{dim}_{keep}_ties", f"{name} {dim} {keep}",
                        lambda xs, f=f, dim=dim, keep=keep: tuple(f(xs[0], dim=dim, keepdim=bool(keep))), [xt])
        fx.case(f"{name}_1_0", f"{name} 1 0", lambda xs, f=f: tuple(f(xs[0], dim=1)), [x])
    # max_all/min_all: ties share the gradient (evenly_distribute_backward)
    fx.case("max_all_ties", "max_all", lambda xs: xs[0].max(), [xt])
    fx.case("min_all_ties", "min_all", lambda xs: xs[0].min(), [xt])
    fx.case("max_all", "max_all", lambda xs: xs[0].max(), [x])
    fx.case("min_all", "min_all", lambda xs: xs[0].min(), [x])
    fx.save("math_reduce.safetensors")


def softmax_loss():
    fx = Fixture()
    x = rand(2, 3, 4, 5, lo=-4, hi=4)
    for dim in (0, 1, 2, 3, -1):
        fx.case(f"softmax_{dim}", f"softmax {dim}", lambda xs, dim=dim: F.softmax(xs[0], dim=dim), [x])
        fx.case(f"log_softmax_{dim}", f"log_softmax {dim}",
                lambda xs, dim=dim: F.log_softmax(xs[0], dim=dim), [x])
    logits = rand(4, 6, lo=-5, hi=5)
    hard = (rand(4, 6, lo=0, hi=1) > 0.5).to(torch.float64)
    soft = rand(4, 6, lo=0, hi=1)
    fx.case("bce_with_logits", "bce_with_logits",
            lambda xs: F.binary_cross_entropy_with_logits(xs[0], xs[1]), [logits, hard], [True, False])
    fx.case("bce_with_logits_soft", "bce_with_logits",
            lambda xs: F.binary_cross_entropy_with_logits(xs[0], xs[1]), [logits, soft])
    # |x| up to 120: exp(-x) would overflow float32 in a naive formula. (Targets are random: with
    # confident correct predictions the mean is ~1e-7 and torch's log(exp(-m) + exp(-x - m)) form
    # rounds its terms to 0 where log1p keeps them, which is not a useful comparison.)
    big = rand(3, 4, lo=-120, hi=120)
    fx.case("bce_with_logits_big", "bce_with_logits",
            lambda xs: F.binary_cross_entropy_with_logits(xs[0], xs[1]), [big, hard[:3, :4].clone()],
            [True, False])
    fx.case("multilabel_soft_margin", "multilabel_soft_margin",
            lambda xs: F.multilabel_soft_margin_loss(xs[0], xs[1]), [logits, hard], [True, False])
    fx.case("multilabel_soft_margin_soft", "multilabel_soft_margin",
            lambda xs: F.multilabel_soft_margin_loss(xs[0], xs[1]), [logits, soft])
    probs = rand(4, 6, lo=0.02, hi=0.98)
    fx.case("bce_soft", "bce", lambda xs: F.binary_cross_entropy(xs[0], xs[1]), [probs, soft])
    # probabilities exactly 0 and 1 hit the -100 log clamp and the 1e-12 gradient floor
    p01 = probs.clone()
    p01.view(-1)[:8] = torch.tensor([0, 1, 0, 1, 0, 1, 1e-30, 1 - 1e-16], dtype=torch.float64)
    y01 = hard.clone()
    y01.view(-1)[:8] = torch.tensor([0, 1, 1, 0, 0.5, 0.5, 0, 1], dtype=torch.float64)
    fx.case("bce_clamp", "bce", lambda xs: F.binary_cross_entropy(xs[0], xs[1]), [p01, y01], [True, False])
    # cross entropy: N,C,H,W logits, N,H,W labels with some 255 (ignored) pixels
    lg = rand(2, 5, 6, 7, lo=-3, hi=3)
    t = torch.randint(0, 5, (2, 6, 7), generator=gen)
    t[torch.rand(2, 6, 7, generator=gen) < 0.2] = 255
    fx.case("cross_entropy2d", "cross_entropy2d 255",
            lambda xs, target: F.cross_entropy(xs[0], target, ignore_index=255), [lg], extra={"target": t})
    t2 = torch.randint(0, 5, (2, 6, 7), generator=gen)
    fx.case("cross_entropy2d_all_valid", "cross_entropy2d 255",
            lambda xs, target: F.cross_entropy(xs[0], target, ignore_index=255), [lg], extra={"target": t2})
    lg2 = rand(6, 4, lo=-3, hi=3)
    t3 = torch.tensor([0, 3, 255, 1, 2, 3])
    fx.case("cross_entropy_nc", "cross_entropy2d 255",
            lambda xs, target: F.cross_entropy(xs[0], target, ignore_index=255), [lg2], extra={"target": t3})
    fx.save("math_softmax_loss.safetensors")


def label_smoothing():
    """Single-label cross entropy with label smoothing (wsss_cross_entropy_smoothed)."""
    fx = Fixture()
    lg = rand(6, 5, lo=-4, hi=4)
    t = torch.tensor([0, 4, 2, 2, 1, 3])
    for eps in (0.0, 0.1, 0.3, 1.0):
        fx.case(f"cross_entropy_smoothed_{eps}", f"cross_entropy_smoothed {eps}",
                lambda xs, target, eps=eps: F.cross_entropy(xs[0], target, label_smoothing=eps), [lg],
                extra={"target": t})
    # confident logits (|x| up to 60): the log-softmax must stay finite
    big = rand(4, 10, lo=-60, hi=60)
    t2 = torch.tensor([9, 0, 5, 5])
    fx.case("cross_entropy_smoothed_big", "cross_entropy_smoothed 0.2",
            lambda xs, target: F.cross_entropy(xs[0], target, label_smoothing=0.2), [big], extra={"target": t2})
    fx.save("math_label_smoothing.safetensors")


if __name__ == "__main__":
    torch.set_num_threads(1)
    elementwise()
    reduce()
    softmax_loss()
    label_smoothing()
