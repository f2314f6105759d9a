"""PyTorch reference tensors for tests/parity/test_affinity_parity.c: AffinityNet's head, pair
affinities and loss (refinement.md §b.2, §b.3) and PSA's dense random walk (§b.5), written from the
spec, not from the C code under test.

Head: a torch module with PSA's attribute names (f8_3, f8_4, f8_5: bias-free 1x1 reducers; f9: the
bias-free 1x1 merge) at small widths (in 5/6/7 -> 3/4/5, merge 12), PSA's initialisation (Kaiming
normal, Xavier uniform gain 4). Three non-negative stage maps of 2 images on a 9 x 13 grid;
f = elu(f9(cat(elu(f8_3(s3)), elu(f8_4(s4)), elu(f8_5(s5))))).
Pairs: radius 5, the offsets (0, dx) dx = 1..4, then (dy, dx) dy = 1..4, dx = -4..4 with
dx^2 + dy^2 < 25; from cells rows 0..h-5, columns 4..w-5; aff[n, o, p] = exp(-mean_c |f_from - f_to|).
Labels: random cell labels (0, 1, 2 or 255) per image; pair labels 1 bg-positive (both 0), 2
fg-positive (equal, non-zero), 3 negative (different), 0 ignored (a 255 cell).
Loss: L_bg/4 + L_fg/4 + L_neg/2 with count + 1e-5 over the batch, -log(a + 1e-5) and
-log(1 + 1e-5 - a). Stored in float64: weights, stages, cell and pair labels (as float64), f, aff,
loss and the gradients of the loss w.r.t. the stages and the weights.

Walk: PSA's infer_aff on image 0's affinities rounded to float32: the dense matrix (a at (from, to)
and (to, from), 1 on the diagonal), ** beta (8), divided by its column sums, squared logt (8) times,
then seeds v (3 x n, random) times it. Stored: v, the walked seeds (float64).

Run: /usr/bin/python3 scripts/gen_fixtures_affinity.py
Writes tests/fixtures/affinity.safetensors."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "affinity.safetensors")
IN, WIDTH, H, W, N = (5, 6, 7), (3, 4, 5), 9, 13, 2


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.f8_3 = nn.Conv2d(IN[0], WIDTH[0], 1, bias=False)
        self.f8_4 = nn.Conv2d(IN[1], WIDTH[1], 1, bias=False)
        self.f8_5 = nn.Conv2d(IN[2], WIDTH[2], 1, bias=False)
        self.f9 = nn.Conv2d(sum(WIDTH), sum(WIDTH), 1, bias=False)
        for m in (self.f8_3, self.f8_4, self.f8_5):
            nn.init.kaiming_normal_(m.weight)
        nn.init.xavier_uniform_(self.f9.weight, gain=4)

    def forward(self, s3, s4, s5):
        r = [F.elu(self.f8_3(s3)), F.elu(self.f8_4(s4)), F.elu(self.f8_5(s5))]
        return F.elu(self.f9(torch.cat(r, dim=1)))


def pairs(h, w):
    offsets = [(0, dx) for dx in range(1, 5)]
    offsets += [(dy, dx) for dy in range(1, 5) for dx in range(-4, 5) if dx * dx + dy * dy < 25]
    assert len(offsets) == 34
    cells = [(y, x) for y in range(0, h - 4) for x in range(4, w - 4)]
    fr = torch.tensor([[y * w + x for (y, x) in cells] for _ in offsets])
    to = torch.tensor([[(y + dy) * w + x + dx for (y, x) in cells] for (dy, dx) in offsets])
    return fr, to  # [34, P]


def main():
    torch.manual_seed(15)
    head = Head().double()
    stages = [torch.rand(N, c, H, W, dtype=torch.float64, requires_grad=True) for c in IN]
    f = head(*stages)
    fr, to = pairs(H, W)
    flat = f.reshape(N, f.shape[1], H * W)
    aff = torch.exp(-torch.mean(torch.abs(flat[:, :, fr] - flat[:, :, to]), dim=1))  # [N, 34, P]
    g = torch.Generator().manual_seed(4)
    choices = torch.tensor([0, 1, 2, 255])
    cells = choices[torch.randint(0, 4, (N, H * W), generator=g)]
    a, b = cells[:, fr], cells[:, to]
    valid = (a != 255) & (b != 255)
    kind = torch.zeros_like(a)
    kind[valid & (a == b) & (a == 0)] = 1
    kind[valid & (a == b) & (a != 0)] = 2
    kind[valid & (a != b)] = 3

    def term(x, k):
        m = (kind == k).double()
        return torch.sum(-torch.log(x + 1e-5) * m) / (torch.sum(m) + 1e-5)

    loss = term(aff, 1) / 4 + term(aff, 2) / 4 + term(1 - aff, 3) / 2
    loss.backward()
    t = {"f8_3.weight": head.f8_3.weight, "f8_4.weight": head.f8_4.weight, "f8_5.weight": head.f8_5.weight,
         "f9.weight": head.f9.weight, "f": f, "aff": aff, "loss": loss, "cells": cells.double(),
         "pair_labels": kind.double()}
    for i, s in enumerate(stages):
        t[f"stage{i}"] = s
        t[f"grad.stage{i}"] = s.grad
    for name in ("f8_3", "f8_4", "f8_5", "f9"):
        t[f"grad.{name}.weight"] = getattr(head, name).weight.grad

    # PSA's dense walk on image 0
    n = H * W
    a32 = aff[0].detach().float().double()
    dense = torch.eye(n, dtype=torch.float64)
    dense[fr.reshape(-1), to.reshape(-1)] = a32.reshape(-1)
    dense[to.reshape(-1), fr.reshape(-1)] = a32.reshape(-1)
    trans = torch.pow(dense, 8)
    trans = trans / torch.sum(trans, dim=0, keepdim=True)
    for _ in range(8):
        trans = torch.matmul(trans, trans)
    v = torch.rand(3, n, dtype=torch.float64, generator=g).float().double()
    t["walk.v"] = v
    t["walk.out"] = torch.matmul(v, trans)
    st_io.save(OUT, {k: x.detach() for k, x in t.items()}, {"shape": f"N {N} H {H} W {W} in {IN} width {WIDTH}"})
    print(f"wrote {OUT}: loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
