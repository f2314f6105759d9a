"""PyTorch reference tensors for tests/parity/test_coattention_parity.c: the MCIS co-attention and
contrastive co-attention of specs/mcis.md §3, written from the spec's formulas (einsum), not from
the module under test.

The three weights live in a torch module whose attributes carry the reference implementation's
names (extra_linear_e: nn.Linear(C, C, bias=False); extra_gate: nn.Conv2d(C, K, 1, bias=False);
extra_gate_merge: nn.Conv2d(C, 1, 1, bias=False)), default-initialised, so the stored names and
shapes are its state_dict's.

Every case stores float64 inputs F1, F2 (non-negative, as ReLU features) and weights, one float64
upstream gradient per output, and the outputs and the gradients of
sum over outputs of sum(out * gout) w.r.t. F1, F2 and the weights, computed in float64 (suffix .f64)
and in float32 from the inputs rounded to float32 (suffix .f32). Metadata: "cases" lists the case
names; each case's entry is "B C K h1 w1 h2 w2".

The second fixture is one full MCIS training step (§4) on a tiny backbone (tests/parity/
test_mcis_step_parity.c): "features.0" conv 3->6 3x3 pad 1 + ReLU, "features.2" conv 6->8 3x3
stride 2 pad 1 + ReLU (the feature map F), "head" 1x1 conv 8->K with bias (the CAM), basic score =
GAP of the CAM; the co-attention weights under the reference names. The loss is computed as the
reference does it, four Siamese passes that each run x1 through the backbone again: the cross pair
(x1, x2) and the self pairs (x1, flip), (x1, small), (x1, large), then the §4 total with
MultiLabelSoftMarginLoss on torch.cat'ed rows, the contrastive terms gated per batch. Stored: the
float64 weights and inputs, per case the labels l1, l2 and the flag (metadata "<case>":
"contrastive"), and in float64 and float32 the loss, its terms and the gradient of every parameter.

The third fixture is the test-time aggregation of §6 (tests/parity/test_mcis_maps_parity.c) on
fixed random pair maps, written from the spec: M1 = co_map1 of (I, flip I), M2 = its co_map2
flipped back, M3 / M4 = the co_map2 of (I, I@0.75r) / (I, I@2r) resized bicubically (a = -0.75,
align_corners=False, no antialias) to I's grid, M5 = the cross maps; norm(m) = relu(m) /
(max + 1e-8) * 255; M1 always, Mk when sigmoid(mean) > 0.1; / 5, truncated to 8 bits; resized to
the image bicubically, rounded, saturated, / 255. Float32 throughout, as the reference's numpy.

The fourth is the saliency-guided pseudo labels of §7.1 (tests/unit/test_pseudo_saliency.c) on
random 8-bit maps and near-binary saliency, written from the spec's steps on the full K+1-channel
stack (numpy's argmax: ties to the lowest index).

Run: /usr/bin/python3 scripts/gen_fixtures_mcis.py
Writes tests/fixtures/mcis_coattention.safetensors, mcis_step.safetensors, mcis_maps.safetensors
and mcis_saliency.safetensors."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "mcis_coattention.safetensors")
OUT_MAPS = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "mcis_maps.safetensors")
OUT_SAL = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "mcis_saliency.safetensors")
OUT_STEP = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "mcis_step.safetensors")
OUTPUTS = ["co_map1", "co_map2", "co1", "co2", "gate1", "gate2", "cco_map1", "cco_map2", "cco1", "cco2"]
gen = torch.Generator().manual_seed(2020)


class CoattentionWeights(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.extra_linear_e = nn.Linear(c, c, bias=False)
        self.extra_gate = nn.Conv2d(c, k, 1, bias=False)
        self.extra_gate_merge = nn.Conv2d(c, 1, 1, bias=False)


def coattention(f1, f2, w, w_co, w_g):
    """§3 steps 1-6; returns the outputs in OUTPUTS order."""
    b, c = f1.shape[:2]
    x1, x2 = f1.reshape(b, c, -1), f2.reshape(b, c, -1)
    s = torch.einsum("nai,ba,nbj->nij", x1, w, x2)          # S = F1ᵀ Wᵀ F2
    a = torch.softmax(s, dim=1)                             # over image-1 positions i
    bm = torch.softmax(s, dim=2).transpose(1, 2)            # B[j, i], over image-2 positions j
    z1 = torch.einsum("nji,ncj->nci", bm, x2).reshape(f1.shape)   # Z1 = F2·B
    z2 = torch.einsum("nij,nci->ncj", a, x1).reshape(f2.shape)    # Z2 = F1·A
    out = {}
    for k, (f, z) in enumerate(((f1, z1), (f2, z2)), 1):
        co_map = F.conv2d(z, w_co)
        gate = torch.sigmoid(F.conv2d(z, w_g))
        cco_map = F.conv2d(f * (1 - gate), w_co)
        out[f"co_map{k}"], out[f"co{k}"] = co_map, co_map.mean(dim=(2, 3))
        out[f"gate{k}"] = gate
        out[f"cco_map{k}"], out[f"cco{k}"] = cco_map, cco_map.mean(dim=(2, 3))
    return [out[n] for n in OUTPUTS]


def case(tensors, meta, name, b, c, k, size1, size2):
    meta[name] = f"{b} {c} {k} {size1[0]} {size1[1]} {size2[0]} {size2[1]}"
    weights = CoattentionWeights(c, k).double()
    params = dict(weights.state_dict())
    inputs = {"f1": torch.rand((b, c) + size1, generator=gen, dtype=torch.float64) * 2,
              "f2": torch.rand((b, c) + size2, generator=gen, dtype=torch.float64) * 2}
    inputs.update(params)
    for key, v in inputs.items():
        tensors[f"{name}.{key}"] = v
    gouts = None
    for dt, sfx in ((torch.float64, "f64"), (torch.float32, "f32")):
        xs = {key: v.to(dt).clone().requires_grad_(True) for key, v in inputs.items()}
        outs = coattention(xs["f1"], xs["f2"], xs["extra_linear_e.weight"], xs["extra_gate.weight"],
                           xs["extra_gate_merge.weight"])
        if gouts is None:
            gouts = [torch.rand(o.shape, generator=gen, dtype=torch.float64) * 2 - 1 for o in outs]
            for n, g in zip(OUTPUTS, gouts):
                tensors[f"{name}.gout.{n}"] = g
        torch.autograd.backward(outs, [g.to(dt) for g in gouts])
        for n, o in zip(OUTPUTS, outs):
            tensors[f"{name}.{n}.{sfx}"] = o.detach()
        for key, x in xs.items():
            tensors[f"{name}.grad.{key}.{sfx}"] = x.grad


class TinyMcis(nn.Module):
    """The tiny backbone + basic CAM head + co-attention weights of the step fixture."""

    def __init__(self, k):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Conv2d(8, k, 1)
        self.extra_linear_e = nn.Linear(8, 8, bias=False)
        self.extra_gate = nn.Conv2d(8, k, 1, bias=False)
        self.extra_gate_merge = nn.Conv2d(8, 1, 1, bias=False)

    def branch(self, x):
        f = self.features(x)
        return f, self.head(f).mean(dim=(2, 3))

    def pair(self, xa, xb):
        """One Siamese pass as the reference runs it: both images through the backbone."""
        fa, sa = self.branch(xa)
        fb, sb = self.branch(xb)
        outs = coattention(fa, fb, self.extra_linear_e.weight, self.extra_gate.weight,
                           self.extra_gate_merge.weight)
        o = dict(zip(OUTPUTS, outs))
        return sa, sb, o


def mcis_step_loss(net, views, l1, l2, contrastive):
    """§4 total loss; returns (loss, [basic, co, self_basic, self_co, contrast])."""
    crit = nn.MultiLabelSoftMarginLoss()
    lc = l1 * l2
    u1, u2 = l1 - lc, l2 - lc
    s1, s2, o = net.pair(views["x1"], views["x2"])
    basic = crit(torch.cat([s1, s2]), torch.cat([l1, l2]))
    co = crit(torch.cat([o["co1"], o["co2"]]), torch.cat([lc, lc]))
    self_basic, self_co = 0, 0
    for v in ("flip", "small", "large"):
        s1t, st, ot = net.pair(views["x1"], views[v])
        self_basic = self_basic + crit(torch.cat([s1t, st]), torch.cat([l1, l1]))
        self_co = self_co + crit(torch.cat([ot["co1"], ot["co2"]]), torch.cat([l1, l1]))
    contrast = 0
    if contrastive:
        if u1.sum() > 0:
            contrast = contrast + crit(o["cco1"], u1)
        if u2.sum() > 0:
            contrast = contrast + crit(o["cco2"], u2)
    loss = basic + co + self_basic + self_co + contrast
    return loss, [basic, co, self_basic, self_co, contrast]


STEP_TERMS = ["basic", "co", "self_basic", "self_co", "contrast"]


def step_fixture():
    torch.manual_seed(13)
    k, b = 4, 2
    g = torch.Generator().manual_seed(2021)
    net = TinyMcis(k).double()
    tensors, meta = {}, {}
    for name, v in net.state_dict().items():
        tensors[name] = v
    x1 = torch.rand((b, 3, 8, 8), generator=g, dtype=torch.float64) * 4 - 2
    views = {"x1": x1, "x2": torch.rand((b, 3, 8, 8), generator=g, dtype=torch.float64) * 4 - 2,
             "flip": torch.flip(x1, [3]),
             "small": torch.rand((b, 3, 6, 6), generator=g, dtype=torch.float64) * 4 - 2,
             "large": torch.rand((b, 3, 16, 16), generator=g, dtype=torch.float64) * 4 - 2}
    for name, v in views.items():
        tensors[f"view.{name}"] = v
    cases = [  # name, l1, l2, contrastive
        ("both_sides", [[1, 1, 0, 0], [0, 0, 1, 0]], [[1, 0, 0, 0], [0, 0, 1, 1]], 1),
        ("indicator0", [[1, 1, 0, 0], [0, 0, 1, 0]], [[1, 0, 0, 0], [0, 0, 1, 0]], 1),
        ("off", [[1, 1, 0, 0], [0, 0, 1, 0]], [[1, 0, 0, 0], [0, 0, 1, 1]], 0),
    ]
    for cs, l1, l2, contrastive in cases:
        meta[cs] = str(contrastive)
        l1, l2 = torch.tensor(l1, dtype=torch.float64), torch.tensor(l2, dtype=torch.float64)
        tensors[f"{cs}.l1"], tensors[f"{cs}.l2"] = l1, l2
        for dt, sfx in ((torch.float64, "f64"), (torch.float32, "f32")):
            n = TinyMcis(k).to(dt)
            n.load_state_dict({key: v.to(dt) for key, v in net.state_dict().items()})
            loss, terms = mcis_step_loss(n, {key: v.to(dt) for key, v in views.items()}, l1.to(dt), l2.to(dt),
                                         contrastive)
            loss.backward()
            tensors[f"{cs}.loss.{sfx}"] = loss.detach().reshape(1)
            tensors[f"{cs}.terms.{sfx}"] = torch.tensor([float(t) for t in terms], dtype=torch.float64)
            for name, p in n.named_parameters():
                # unused (the gate without the contrastive terms): no gradient, stored as zeros
                tensors[f"{cs}.grad.{name}.{sfx}"] = p.grad if p.grad is not None else torch.zeros_like(p)
    meta["cases"] = ";".join(c[0] for c in cases)
    st_io.save(OUT_STEP, tensors, meta)
    print(f"{OUT_STEP}: {len(cases)} cases, {os.path.getsize(OUT_STEP)} bytes")


def aggregate(flip1, flip2, small2, large2, cross, classes, out_h, out_w):
    """§6 aggregation of one image's pair maps for its classes (1-based), in float32."""
    h, w = flip1.shape[2:]
    m2 = torch.flip(flip2, [3])
    m3 = F.interpolate(small2, size=(h, w), mode="bicubic", align_corners=False)
    m4 = F.interpolate(large2, size=(h, w), mode="bicubic", align_corners=False)

    def norm(m):
        r = torch.relu(m)
        return r / (r.max() + 1e-8) * 255

    accs = []
    for j, c in enumerate(classes):
        ms = [flip1[0, c - 1], m2[0, c - 1], m3[0, c - 1], m4[0, c - 1], cross[j]]
        acc = norm(ms[0])
        for m in ms[1:]:
            if torch.sigmoid(m.mean()) > 0.1:
                acc = acc + norm(m)
        accs.append(torch.floor(acc / 5))  # numpy's astype(uint8) of non-negative values
    big = F.interpolate(torch.stack(accs)[None], size=(out_h, out_w), mode="bicubic", align_corners=False)
    return (torch.round(big).clamp(0, 255) / 255)[0]


def maps_fixture():
    g = torch.Generator().manual_seed(2022)
    k = 5
    tensors, meta = {}, {}
    cases = [  # name, grid (h, w), small grid, large grid, classes, output (H, W)
        ("up", (4, 4), (3, 3), (8, 8), [1, 3, 4], (37, 29)),
        ("down", (6, 5), (4, 4), (12, 10), [2, 5], (4, 3)),
        ("one_class", (4, 6), (3, 4), (8, 12), [3], (20, 30)),
    ]
    for cs, grid, small, large, classes, out in cases:
        meta[cs] = " ".join(str(v) for v in (*out, *classes))

        def maps(shape):
            # planes shifted per channel: some means far below 0 (gates closed), some above
            m = torch.rand(shape, generator=g) * 6 - 3
            shift = (torch.rand(shape[:-2] + (1, 1), generator=g) * 8 - 6)
            return (m + shift).float()
        p = {"flip1": maps((1, k) + grid), "flip2": maps((1, k) + grid), "small2": maps((1, k) + small),
             "large2": maps((1, k) + large), "cross": maps((len(classes),) + grid)}
        p["flip1"][0, classes[0] - 1] = -torch.rand(grid, generator=g)  # an all-negative M1 adds nothing
        for key, v in p.items():
            tensors[f"{cs}.{key}"] = v
        tensors[f"{cs}.maps"] = aggregate(p["flip1"], p["flip2"], p["small2"], p["large2"], p["cross"], classes,
                                          *out)
    meta["cases"] = ";".join(c[0] for c in cases)
    st_io.save(OUT_MAPS, tensors, meta)
    print(f"{OUT_MAPS}: {len(cases)} cases, {os.path.getsize(OUT_MAPS)} bytes")


def saliency_labels(maps, classes, sal, k):
    """§7.1 steps 1-8 for one image: maps (n, H, W) float64, sal (H, W) 0..255, k foreground classes."""
    fg_thr, conflict, att_thr, bg_thr = 0.3, 0.99, 0.95, 32
    h, w = sal.shape
    att = torch.stack([(m - m.min()) / (m.max() - m.min() + 1e-8) for m in maps]) if len(classes) else None
    g = torch.zeros((k + 1, h, w), dtype=torch.float64)
    g[0] = 1 - sal / 255
    for j, c in enumerate(classes):
        g[c] = att[j]
    strong = (att > att_thr).any(dim=0) if len(classes) else torch.zeros((h, w), dtype=torch.bool)
    sal_att = torch.maximum(sal, 255.0 * strong)
    g[g < fg_thr] = 0
    n_conf = (g > conflict).sum(dim=0)
    label = torch.from_numpy(g.numpy().argmax(axis=0))
    label[n_conf > 1] = 255
    label[(label == 0) & (sal_att >= bg_thr)] = 255
    if ((label >= 1) & (label <= k)).sum() < 0.01 * h * w:
        label[:] = 255
    return label.to(torch.uint8)


def saliency_fixture():
    g = torch.Generator().manual_seed(2023)
    k = 6
    tensors, meta = {}, {}
    cases = [  # name, classes, H, W, saliency kind
        ("binary", [2, 5], 17, 23, "binary"),
        ("soft", [1, 3, 6], 20, 16, "soft"),
        ("conflict", [2, 4], 12, 12, "conflict"),
        ("tiny_fg", [3], 30, 30, "tiny"),
    ]
    for cs, classes, h, w, kind in cases:
        maps = torch.floor(torch.rand((len(classes), h, w), generator=g) * 256).clamp(max=255) / 255
        if kind == "conflict":  # two classes at their maximum on the same pixels
            maps[:, 3:6, 3:6] = 1.0
        if kind == "binary":
            sal = (torch.rand((h, w), generator=g) > 0.5).double() * 255
        elif kind == "tiny":  # salient only on one pixel, maps everywhere weak: almost no foreground
            sal = torch.zeros((h, w), dtype=torch.float64)
            sal[0, 0] = 255
            maps = maps * 0.2
            maps[0, 1, 1] = 1.0
        else:
            sal = torch.floor(torch.rand((h, w), generator=g) * 256).clamp(max=255).double()
        meta[cs] = " ".join(str(c) for c in classes)
        tensors[f"{cs}.maps"] = maps.float()
        tensors[f"{cs}.sal"] = sal.to(torch.uint8)
        tensors[f"{cs}.labels"] = saliency_labels(maps.float().double(), classes, sal, k)
    meta["cases"] = ";".join(c[0] for c in cases)
    st_io.save(OUT_SAL, tensors, meta)
    print(f"{OUT_SAL}: {len(cases)} cases, {os.path.getsize(OUT_SAL)} bytes")


def main():
    torch.manual_seed(7)  # the default init of the weight modules
    tensors, meta = {}, {}
    case(tensors, meta, "same_b1", 1, 8, 5, (4, 4), (4, 4))
    case(tensors, meta, "same_b3", 3, 8, 5, (3, 3), (3, 3))
    case(tensors, meta, "diff_b3", 3, 16, 5, (4, 4), (3, 5))
    case(tensors, meta, "up_b1", 1, 8, 5, (4, 4), (8, 8))
    case(tensors, meta, "down_b2", 2, 8, 5, (6, 6), (2, 3))
    meta["cases"] = ";".join(n for n in meta)
    st_io.save(OUT, tensors, meta)
    print(f"{OUT}: {len(meta) - 1} cases, {os.path.getsize(OUT)} bytes")
    step_fixture()
    maps_fixture()
    saliency_fixture()


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
