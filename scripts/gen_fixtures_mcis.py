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

Run: /usr/bin/python3 scripts/gen_fixtures_mcis.py
Writes tests/fixtures/mcis_coattention.safetensors."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "mcis_coattention.safetensors")
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


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
