"""PyTorch reference tensors for tests/parity/test_eader_step_parity.c: one EADER localizer step
and one adversary step (specs/eader.md §2-§4), written from the spec's formulas, not from the C
code under test.

Networks (tiny, with batch norm in training mode in both, as §2 and §5 have it):
  localizer  conv1 3->6 3x3 pad 1 (no bias before batch norm, as a ResNet's), bn1, ReLU, conv2 6->8 3x3 stride 2 pad 1, ReLU (the feature map
             F the head reads), fc = GAP + Linear 8->K (logits z)
  adversary  conv1 3->5 3x3 stride 2 pad 1 (no bias), bn1, ReLU, fc = GAP + Linear 5->K
The step, for the positive (b, c) of the labels in round-major order (every image's first class,
then every image's second, ...):
  u = relu(W[c].detach() . F_b)               Grad-CAM = the bias-free CAM, weights stop-gradient
  U = F.interpolate(u, (H, W), bilinear, align_corners=False)
  i*, j* = the FIRST minimum / maximum of U in row-major order (found with nonzero, not with
           torch.min's own tie rule); lo = U[i*], hi = U[j*] by gather (the gradient reaches them)
  A = (U - lo) / (hi - lo), divided by 1 instead when hi - lo == 0
  M = sigmoid(omega (A - sigma0)), x~ = x_b * (1 - M), q = sigmoid(adversary(x~))
  L_loc = BCELoss(sigmoid(z), y), L_reg = mean(A) (reg sum: mean(A) * H * W), L_am = mean_n q[n, c_n],
  L_adv = BCELoss(q, y_b)
  localizer step: L_loc + beta L_reg (beta > 0) + alpha L_am, gradients of the localizer's
  parameters; adversary step: L_adv with A detached, gradients of the adversary's parameters.
A batch without a positive pair gives L = L_loc and an adversary loss of 0 without a graph.

Cases (metadata "cases"; "<case>": "alpha beta reg_sum"; "<case>.ties": what the tie case holds):
  multi  3 images, several classes per image (N = 6), input 11x9 (feature map 6x5: a non-integer
         upsampling factor), the default alpha 0.05, beta 1e-5, reg mean
  tie    2 images at 12x10 (factor 2), class 0's fc row all negative so its maps are constant
         (hi - lo = 0, divided by 1), and a map whose maximum and minimum are each attained at
         several pixels (first occurrence), found by a seeded search
  sum    alpha 0.5, beta 1e-3, reg sum, an image without labels (N = 3)
  empty  no labels at all: no pair, no erased image
The network cases cannot tell tied pixels apart: ties from a symmetric interpolation of one cell or
from translated copies send the same parameter gradients whichever pixel takes them. So the rule
itself is checked on hand-made maps ("minmax": metadata "minmax" = "N H W"): minmax.u (N,1,H,W;
map 0 with its maximum at three pixels and its minimum at two, map 1 constant, map 2 with a tied
maximum and a negative minimum), an upstream gradient minmax.g, and in float64 A = minmax.a and
dL/dU = minmax.du of sum(A * g), through the first-occurrence gathers above.

Stored per case: the float64 weights (<case>.loc.<name>, <case>.adv.<name>), x, labels; in float64
(.f64) and float32 (.f32, from the float64 values rounded): A, q, the terms [loc, reg, am, adv],
both losses, the gradient of every localizer parameter after the localizer step and of every
adversary parameter after the adversary step, and both networks' batch norm running statistics
after the localizer step's forward.

Run: /usr/bin/python3 scripts/gen_fixtures_eader.py
Writes tests/fixtures/eader_step.safetensors."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "eader_step.safetensors")


class Localizer(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, k)

    def forward(self, x):
        f = F.relu(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return self.fc(f.mean(dim=(2, 3))), f


class Adversary(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 5, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(5)
        self.fc = nn.Linear(5, k)

    def forward(self, x):
        return self.fc(F.relu(self.bn1(self.conv1(x))).mean(dim=(2, 3)))


def pairs_round_major(y):
    classes = [[c for c in range(y.shape[1]) if y[b, c] > 0.5] for b in range(y.shape[0])]
    rounds = max((len(c) for c in classes), default=0)
    return [(b, classes[b][r]) for r in range(rounds) for b in range(y.shape[0]) if len(classes[b]) > r]


def first_index(rows, target):
    """per row, the first (row-major) position where rows == target[row]"""
    return torch.stack([(r == t).nonzero()[0, 0] for r, t in zip(rows, target)])


def upsampled_maps(feat, weight, pairs, h, w):
    u = torch.stack([F.relu((weight[c].detach()[:, None, None] * feat[b]).sum(0)) for b, c in pairs])
    return F.interpolate(u[:, None], size=(h, w), mode="bilinear", align_corners=False)


def attention(feat, weight, pairs, h, w):
    up = upsampled_maps(feat, weight, pairs, h, w)
    flat = up.reshape(len(pairs), -1)
    i_lo = first_index(flat.detach(), flat.detach().min(dim=1).values)
    i_hi = first_index(flat.detach(), flat.detach().max(dim=1).values)
    lo, hi = flat.gather(1, i_lo[:, None]), flat.gather(1, i_hi[:, None])
    rng = hi - lo
    a = (flat - lo) / (rng + (rng == 0).to(rng.dtype))
    return a.reshape(up.shape)


def eader_step(loc, adv, x, y, alpha, beta, reg_sum, adversary_step, omega=100.0, sigma0=0.5):
    bce = nn.BCELoss()
    z, feat = loc(x)
    loss_loc = bce(torch.sigmoid(z), y)
    pairs = pairs_round_major(y)
    out = {"terms": [loss_loc, 0.0, 0.0, 0.0]}
    if not pairs:
        out["loss"] = torch.zeros((), dtype=x.dtype) if adversary_step else loss_loc
        return out
    h, w = x.shape[2:]
    a = attention(feat, loc.fc.weight, pairs, h, w)
    if adversary_step:
        a = a.detach()
    reg = a.mean() * (h * w if reg_sum else 1)
    m = torch.sigmoid(omega * (a - sigma0))
    img = torch.tensor([b for b, _ in pairs])
    q = torch.sigmoid(adv(x[img] * (1 - m)))
    am = torch.stack([q[n, c] for n, (_, c) in enumerate(pairs)]).mean()
    loss_adv = bce(q, y[img])
    out.update(a=a, q=q, terms=[loss_loc, reg, am, loss_adv])
    if adversary_step:
        out["loss"] = loss_adv
    else:
        loss = loss_loc + (beta * reg if beta > 0 else 0) + alpha * am
        out["loss"] = loss
    return out


def map_ties(loc, x, y):
    """(constant maps, maps with a tied max, maps with a tied min) of the step's attention"""
    with torch.no_grad():
        _, feat = loc(x)
        up = upsampled_maps(feat, loc.fc.weight, pairs_round_major(y), *x.shape[2:])
    flat = up.reshape(up.shape[0], -1)
    lo, hi = flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values
    const = int((hi == lo).sum())
    tied_hi = int((((flat == hi).sum(1) > 1) & (hi[:, 0] > lo[:, 0])).sum())
    tied_lo = int((((flat == lo).sum(1) > 1) & (hi[:, 0] > lo[:, 0])).sum())
    return const, tied_hi, tied_lo


def make_case(name, seed, b, k, size, labels, alpha, beta, reg_sum, tie=False):
    for attempt in range(5000):
        torch.manual_seed(seed + attempt)
        loc, adv = Localizer(k).double(), Adversary(k).double()
        with torch.no_grad():  # BN affine away from its initial 1 / 0, so its gradients are exercised
            for bn in (loc.bn1, adv.bn1):
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.3, 0.3)
            if tie:
                loc.fc.weight[0] = -loc.fc.weight[0].abs() - 0.1  # class 0: W.F < 0 everywhere
                loc.fc.weight[1] -= 0.25  # class 1: few positive cells, isolated peaks
        x = torch.rand((b, 3) + size, dtype=torch.float64) * 4 - 2
        y = torch.tensor(labels, dtype=torch.float64)
        if not tie:
            break
        const, tied_hi, tied_lo = map_ties(loc, x, y)
        if const >= 1 and tied_hi >= 1 and tied_lo >= 1:
            break
    else:
        raise RuntimeError("no tie case found")
    tensors, meta = {}, {name: f"{alpha!r} {beta!r} {int(reg_sum)}"}
    if tie:
        meta[f"{name}.ties"] = f"{const} constant maps, {tied_hi} with a tied max, {tied_lo} with a tied min"
    for key, v in loc.state_dict().items():
        tensors[f"{name}.loc.{key}"] = v
    for key, v in adv.state_dict().items():
        tensors[f"{name}.adv.{key}"] = v
    tensors[f"{name}.x"], tensors[f"{name}.labels"] = x, y
    for dt, sfx in ((torch.float64, "f64"), (torch.float32, "f32")):
        for adversary_step in (0, 1):
            lo_net, ad_net = Localizer(k).to(dt), Adversary(k).to(dt)
            lo_net.load_state_dict({key: v.to(v.dtype if v.dtype == torch.int64 else dt)
                                    for key, v in loc.state_dict().items()})
            ad_net.load_state_dict({key: v.to(v.dtype if v.dtype == torch.int64 else dt)
                                    for key, v in adv.state_dict().items()})
            out = eader_step(lo_net, ad_net, x.to(dt), y.to(dt), alpha, beta, reg_sum, adversary_step)
            step = "adv" if adversary_step else "loc"
            if out["loss"].requires_grad:
                out["loss"].backward()
            tensors[f"{name}.{step}.loss.{sfx}"] = out["loss"].detach().reshape(1).double()
            net = ad_net if adversary_step else lo_net
            for pname, p in net.named_parameters():
                g = p.grad if p.grad is not None else torch.zeros_like(p)
                tensors[f"{name}.{step}.grad.{pname}.{sfx}"] = g
            if not adversary_step:
                tensors[f"{name}.terms.{sfx}"] = torch.tensor([float(t) for t in out["terms"]], dtype=torch.float64)
                if "a" in out:
                    tensors[f"{name}.A.{sfx}"] = out["a"].detach()
                    tensors[f"{name}.q.{sfx}"] = out["q"].detach()
                for prefix, n in (("loc", lo_net), ("adv", ad_net)):
                    tensors[f"{name}.loc.running_mean.{prefix}.{sfx}"] = n.bn1.running_mean.clone()
                    tensors[f"{name}.loc.running_var.{prefix}.{sfx}"] = n.bn1.running_var.clone()
    return tensors, meta


def minmax_case():
    u = torch.tensor([[[0.0, 2.0, 0.5, 2.0], [1.0, 0.0, 2.0, 0.25], [0.75, 1.5, 0.5, 1.25]],
                      [[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]],
                      [[0.3, -1.0, 0.7, 0.2], [0.7, 0.1, -0.5, 0.6], [0.4, 0.0, 0.7, -0.2]]],
                     dtype=torch.float64)[:, None]
    g = torch.linspace(-1.0, 1.3, u.numel(), dtype=torch.float64).reshape(u.shape) ** 3
    uu = u.clone().requires_grad_(True)
    flat = uu.reshape(u.shape[0], -1)
    i_lo = first_index(flat.detach(), flat.detach().min(dim=1).values)
    i_hi = first_index(flat.detach(), flat.detach().max(dim=1).values)
    lo, hi = flat.gather(1, i_lo[:, None]), flat.gather(1, i_hi[:, None])
    rng = hi - lo
    a = ((flat - lo) / (rng + (rng == 0).to(rng.dtype))).reshape(u.shape)
    (a * g).sum().backward()
    return {"minmax.u": u, "minmax.g": g, "minmax.a": a.detach(), "minmax.du": uu.grad}, {
        "minmax": " ".join(str(d) for d in (u.shape[0], u.shape[2], u.shape[3]))}


def main():
    cases = [
        ("multi", 11, 3, 4, (11, 9), [[1, 0, 1, 0], [0, 1, 1, 1], [1, 0, 0, 0]], 0.05, 1e-5, False, False),
        ("tie", 21, 2, 3, (12, 10), [[1, 1, 0], [1, 0, 1]], 0.05, 1e-5, False, True),
        ("sum", 31, 3, 4, (11, 9), [[0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1]], 0.5, 1e-3, True, False),
        ("empty", 41, 2, 3, (10, 10), [[0, 0, 0], [0, 0, 0]], 0.05, 1e-5, False, False),
    ]
    tensors, meta = {}, {}
    for c in cases:
        t, m = make_case(*c)
        tensors.update(t)
        meta.update(m)
    t, m = minmax_case()
    tensors.update(t)
    meta.update(m)
    meta["cases"] = ";".join(c[0] for c in cases)
    st_io.save(OUT, tensors, meta)
    print(f"{OUT}: {len(cases)} cases, {os.path.getsize(OUT)} bytes; tie case: {meta['tie.ties']}")


if __name__ == "__main__":
    main()
