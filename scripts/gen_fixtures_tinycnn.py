"""Reference for tests/train/test_tiny_cnn.c: a tiny CNN (conv-BN-ReLU-maxpool x2, GAP, linear,
BCE-with-logits) trained 10 steps from fixed weights with SGD (Nesterov, 4 parameter groups) and
with AdamW. Stores the initial state_dict, the 10 batches and every step's loss.

Run: /usr/bin/python3 scripts/gen_fixtures_tinycnn.py  (writes tests/fixtures/tinycnn.safetensors)"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

STEPS, BATCH, CLASSES, SIZE = 10, 4, 5, 16


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, CLASSES)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(x.mean(dim=(2, 3)))


def groups(model):
    """1x/2x/10x/20x groups as the WSSS methods use: backbone weights, backbone biases,
    new (head) weights, new biases."""
    g = {0: [], 1: [], 2: [], 3: []}
    for name, p in model.named_parameters():
        head = name.startswith("fc.")
        bias = name.endswith("bias")
        g[(2 if head else 0) + (1 if bias else 0)].append(p)
    return g


def train(model, opt_name, xs, ys):
    g = groups(model)
    if opt_name == "sgd":
        base, wd = 0.01, 5e-4
        opt = torch.optim.SGD([
            {"params": g[0], "lr": base, "weight_decay": wd},
            {"params": g[1], "lr": 2 * base, "weight_decay": 0},
            {"params": g[2], "lr": 10 * base, "weight_decay": wd},
            {"params": g[3], "lr": 20 * base, "weight_decay": 0},
        ], lr=base, momentum=0.9, nesterov=True)
    else:
        base, wd = 1e-3, 1e-2
        opt = torch.optim.AdamW([
            {"params": g[0], "lr": base, "weight_decay": wd},
            {"params": g[1], "lr": 2 * base, "weight_decay": 0},
            {"params": g[2], "lr": 10 * base, "weight_decay": wd},
            {"params": g[3], "lr": 20 * base, "weight_decay": 0},
        ], lr=base)
    losses = []
    for x, y in zip(xs, ys):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=torch.float64)


def main():
    torch.manual_seed(1234)
    torch.set_num_threads(1)
    model = TinyCNN()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    xs = torch.randn(STEPS, BATCH, 3, SIZE, SIZE)
    ys = (torch.rand(STEPS, BATCH, CLASSES) < 0.4).float()
    out = {"init." + k: v for k, v in init.items()}
    out["x"] = xs
    out["y"] = ys
    for opt_name in ("sgd", "adamw"):
        model.load_state_dict(init)
        out["loss_" + opt_name] = train(model, opt_name, xs, ys)
        for k, v in model.state_dict().items():
            out[f"final_{opt_name}.{k}"] = v.clone()
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tinycnn.safetensors")
    st_io.save(path, out, {"torch": torch.__version__})
    print("losses sgd:", out["loss_sgd"].tolist())
    print("losses adamw:", out["loss_adamw"].tolist())


if __name__ == "__main__":
    main()
