"""PyTorch reference for PSA's random-walk pseudo labels of one image given its affinities
(refinement.md §b.5 steps 2-6), for tests/unit/test_pseudo_rw.c; written from the spec and PSA's
infer_aff.py, not from the C code under test.

Per case: an original size H x W that is not a multiple of 8 (zero padding matters), the maps A_c
of 2 labelled classes (soft blobs, max 1, as CAM files hold them) and random pair affinities on the
h x w = ceil(H / 8) x ceil(W / 8) grid (the radius-5 pairs of §b.2, offset-major; cells of one
region get affinities in [0.6, 1], cells of different regions [0, 0.3], so the walk keeps regions
apart and the labels have clear margins), stored in float32 as the C code takes them. In float64:
  seeds  [(1 - max_c A_c)^bg_pow; A_c] zero-padded bottom/right to 8h x 8w, avg_pool2d 8 x 8;
  walk   A = 1 on the diagonal, a at (from, to) and (to, from); T = A^beta / column sums;
         T^t by log2(t) squarings (PSA); walked = seeds (L x n) @ T^t;
  labels F.interpolate(walked, (8h, 8w), bilinear, align_corners=False), argmax over the channels
         (torch.argmax: the first maximum), cropped to H x W, channel k -> 0 or the k-th class id;
  margin (top1 - top2) / max |upsampled| per pixel of the crop: how far the pixel is from a tie.
Cases: "big" (61 x 99: a 8 x 13 grid, PSA's beta 8, t 256, bg_pow 16), "params" (the same image
with beta 3, t 16, bg_pow 4) and "small" (37 x 29: a 5 x 4 grid, too small for any pair: the walk
is the identity). Metadata "<case>.params": H W beta t bg_pow class ids.

Run: /usr/bin/python3 scripts/gen_fixtures_rw_pseudo.py
Writes tests/fixtures/rw_pseudo.safetensors."""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402
from gen_fixtures_affinity import pairs  # noqa: E402  (the §b.2 pair rule, offset-major)

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "rw_pseudo.safetensors")
CLASSES = (3, 11)


def blob_maps(H, W, g):
    """Two soft blobs, each normalised to max 1 (float32, as a CAM file)."""
    ys = torch.arange(H, dtype=torch.float64)[:, None]
    xs = torch.arange(W, dtype=torch.float64)[None, :]
    maps = []
    for cy, cx, s in ((0.3 * H, 0.3 * W, 0.18 * H), (0.7 * H, 0.75 * W, 0.2 * H)):
        m = torch.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * s * s))
        m = m * (0.8 + 0.2 * torch.rand(H, W, dtype=torch.float64, generator=g))
        maps.append(m / m.max())
    return torch.stack(maps).float()


def region_affinities(h, w, g):
    """Cells in 3 regions (left third, the rest split by a row); same region: [0.6, 1], else [0, 0.3]."""
    region = torch.zeros(h, w, dtype=torch.long)
    region[:, w // 3:] = 1
    region[h // 2:, w // 3:] = 2
    region = region.reshape(-1)
    fr, to = pairs(h, w)
    same = region[fr] == region[to]
    u = torch.rand(fr.shape, dtype=torch.float64, generator=g)
    return torch.where(same, 0.6 + 0.4 * u, 0.3 * u).float().reshape(-1), fr.reshape(-1), to.reshape(-1)


def reference(maps, aff, fr, to, H, W, beta, t, bg_pow):
    h, w = math.ceil(H / 8), math.ceil(W / 8)
    n = h * w
    m = maps.double()
    bg = (1 - torch.clamp(m.max(dim=0).values, min=0)) ** bg_pow
    stack = torch.cat([bg[None], m])  # [L, H, W]
    stack = F.pad(stack, (0, 8 * w - W, 0, 8 * h - H))
    seeds = F.avg_pool2d(stack[None], 8, 8)[0]  # [L, h, w]
    A = torch.eye(n, dtype=torch.float64)
    if fr.numel():
        A[fr, to] = aff.double()
        A[to, fr] = aff.double()
    T = A ** beta
    T = T / T.sum(dim=0, keepdim=True)
    steps = int(round(math.log2(t)))
    assert 2 ** steps == t, "the reference squares: t must be a power of 2"
    for _ in range(steps):
        T = T @ T
    L = seeds.shape[0]
    walked = (seeds.reshape(L, n) @ T).reshape(L, h, w)
    up = F.interpolate(walked[None], size=(8 * h, 8 * w), mode="bilinear", align_corners=False)[0]
    arg = torch.argmax(up, dim=0)[:H, :W]
    ids = torch.tensor((0,) + CLASSES, dtype=torch.uint8)
    top2 = torch.topk(up[:, :H, :W], 2, dim=0).values
    margin = (top2[0] - top2[1]) / up.abs().max()  # a pixel's distance from a tie, relative
    return seeds, walked, margin.float(), ids[arg]


def main():
    g = torch.Generator().manual_seed(21)
    tensors, meta, cases = {}, {}, []
    big_maps, (big_aff, big_fr, big_to) = blob_maps(61, 99, g), region_affinities(8, 13, g)
    small_maps = blob_maps(37, 29, g)
    small_aff, small_fr, small_to = torch.zeros(0), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    for name, H, W, maps, aff, fr, to, beta, t, bg_pow in (
            ("big", 61, 99, big_maps, big_aff, big_fr, big_to, 8, 256, 16),
            ("params", 61, 99, big_maps, big_aff, big_fr, big_to, 3, 16, 4),
            ("small", 37, 29, small_maps, small_aff, small_fr, small_to, 8, 256, 16)):
        seeds, walked, margin, labels = reference(maps, aff, fr, to, H, W, beta, t, bg_pow)
        tensors.update({f"{name}.maps": maps, f"{name}.aff": aff.float(), f"{name}.seeds": seeds,
                        f"{name}.walked": walked, f"{name}.margin": margin, f"{name}.labels": labels})
        meta[f"{name}.params"] = f"{H} {W} {beta} {t} {bg_pow} {CLASSES[0]} {CLASSES[1]}"
        cases.append(name)
        present = sorted(set(labels.reshape(-1).tolist()))
        print(f"{name}: {H}x{W}, {aff.numel()} pairs, labels present {present}, "
              f"smallest argmax margin {margin.min().item():.2g}")
    meta["cases"] = ";".join(cases)
    st_io.save(OUT, tensors, meta)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
