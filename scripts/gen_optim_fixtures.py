"""Reference for tests/parity/test_optim_parity.c: torch.optim.SGD / AdamW (foreach=False) on a few
random float32 parameters fed a fixed sequence of 5 random gradients; stores the parameters after
every step and the final optimizer state.

Configurations (name: optimizer, groups (lr multiplier, weight decay), base lr per step):
  sgd_plain      SGD lr 0.1, one group
  sgd_momentum   SGD momentum 0.9, dampening 0.1
  sgd_nesterov   SGD momentum 0.9, Nesterov, weight decay 1e-2
  sgd_groups     SGD momentum 0.9 Nesterov, 4 groups 1x/2x/10x/20x with wd 5e-4/0/5e-4/0,
                 poly lr (power 0.9, max_iter 10); parameter p4 has no gradient at step 2
  adamw          AdamW lr 1e-2, wd 1e-2
  adamw_groups   AdamW amsgrad, 2 groups 1x (wd 1e-2) / 10x (wd 0), poly lr; parameter p3 has no
                 gradient at step 1 (so its bias correction uses its own, smaller step count)
The group lr is base_lr(t) * multiplier (computed in that order, as the C code does).

Keys: init.p<i>, grad<k>.p<i> (k = 0..4; a NO_GRAD pair is set to None in torch), <cfg>.step<k>.p<i>,
      <cfg>.state.p<i>.<buffer>, <cfg>.lr (base lr per step, F64).

Run: /usr/bin/python3 scripts/gen_optim_fixtures.py  (writes tests/fixtures/optim.safetensors)"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

SHAPES = [(3, 4), (17,), (2, 3, 3, 3), (8,), (5, 7)]
STEPS = 5
GROUP_OF = [0, 1, 2, 3, 2]  # group index of each parameter for 4-group configs
NO_GRAD = {(2, 4)}          # (step, param) pairs without a gradient in sgd_groups


def poly(base, t, max_iter=10, power=0.9):
    return base * (1.0 - t / max_iter) ** power


CONFIGS = {
    "sgd_plain": dict(opt="sgd", kw=dict(), groups=[(1.0, 0.0)], lr=lambda t: 0.1),
    "sgd_momentum": dict(opt="sgd", kw=dict(momentum=0.9, dampening=0.1), groups=[(1.0, 0.0)],
                         lr=lambda t: 0.05),
    "sgd_nesterov": dict(opt="sgd", kw=dict(momentum=0.9, nesterov=True), groups=[(1.0, 1e-2)],
                         lr=lambda t: 0.05),
    "sgd_groups": dict(opt="sgd", kw=dict(momentum=0.9, nesterov=True),
                       groups=[(1.0, 5e-4), (2.0, 0.0), (10.0, 5e-4), (20.0, 0.0)],
                       lr=lambda t: poly(0.01, t), no_grad=NO_GRAD),
    "adamw": dict(opt="adamw", kw=dict(), groups=[(1.0, 1e-2)], lr=lambda t: 1e-2),
    "adamw_groups": dict(opt="adamw", kw=dict(amsgrad=True), groups=[(1.0, 1e-2), (10.0, 0.0)],
                         lr=lambda t: poly(1e-3, t), group_of=[0, 1, 0, 1, 0], no_grad={(1, 3)}),
}


def run(name, cfg, init, grads, out):
    params = [p.clone().requires_grad_(True) for p in init]
    ngroups = len(cfg["groups"])
    group_of = cfg.get("group_of", GROUP_OF if ngroups == 4 else [0] * len(params))
    pg = [{"params": [p for p, g in zip(params, group_of) if g == gi], "lr": 0.0,
           "weight_decay": wd} for gi, (_, wd) in enumerate(cfg["groups"])]
    if cfg["opt"] == "sgd":
        opt = torch.optim.SGD(pg, lr=0.0, foreach=False, **cfg["kw"])
    else:
        opt = torch.optim.AdamW(pg, lr=0.0, foreach=False, **cfg["kw"])
    lrs = []
    for t in range(STEPS):
        base = cfg["lr"](t)
        lrs.append(base)
        for gi, (mult, _) in enumerate(cfg["groups"]):
            opt.param_groups[gi]["lr"] = base * mult
        for i, p in enumerate(params):
            p.grad = None if (t, i) in cfg.get("no_grad", ()) else grads[t][i].clone()
        opt.step()
        for i, p in enumerate(params):
            out[f"{name}.step{t}.p{i}"] = p.detach().clone()
    for i, p in enumerate(params):
        for k, v in opt.state[p].items():
            if torch.is_tensor(v) and k != "step":
                out[f"{name}.state.p{i}.{k}"] = v.clone()
    out[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float64)


def main():
    torch.manual_seed(20240611)
    torch.set_num_threads(1)
    init = [torch.randn(s) for s in SHAPES]
    grads = [[torch.randn(s) * 0.5 for s in SHAPES] for _ in range(STEPS)]
    out = {f"init.p{i}": p for i, p in enumerate(init)}
    for t in range(STEPS):
        for i in range(len(SHAPES)):
            out[f"grad{t}.p{i}"] = grads[t][i]
    for name, cfg in CONFIGS.items():
        run(name, cfg, init, grads, out)
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "optim.safetensors")
    st_io.save(path, out, {"torch": torch.__version__, "generator": "scripts/gen_optim_fixtures.py"})
    print(f"wrote {len(out)} tensors to {path}")


if __name__ == "__main__":
    main()
