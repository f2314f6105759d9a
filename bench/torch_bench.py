#!/usr/bin/python3
"""PyTorch side of `make bench`: one workload per process, so the peak RSS is per workload.

Usage: /usr/bin/python3 bench/torch_bench.py WORKLOAD [RUNS]
Prints one line `result {json}` with the median seconds per run, the speed (images/s or GFLOP/s),
the peak RSS of this process and the run times. bench/bench_models.c does the same for wsss with
the same shapes, batch sizes, warm-up and run counts; bench/compare.py prints the table.

Both sides: 2 threads, float32, inputs and labels drawn once before timing, warm-up runs excluded,
median of RUNS timed runs. Training steps are SGD (momentum 0.9, weight decay) on a BCE loss
(binary_cross_entropy_with_logits against 0/1 labels over 20 classes).

train_aff_r50_b8_448 is one AffinityNet training step (PSA, refinement.md section b.3/b.4) as wsss
train-aff takes it: torchvision's ResNet-50 with dilation [F, T, T] (output stride 8), BN in eval
mode with its affine frozen, conv1/bn1/layer1 frozen; layer2/3/4 into PSA's head (1x1 no-bias convs
512->64, 1024->128, 2048->256 + ELU, concatenated, 1x1 448->448 + ELU); the affinities
exp(-mean_c |f_i - f_j|) of the 34 radius-5 offsets by slicing; batch 8 at 448 (56 x 56 cells); PSA's
balanced loss against the pair labels bench_models.c uses (aff_pair_masks); plain SGD (momentum 0,
weight decay 5e-4, lr 0.1, head at x10). Prints the first and last step's loss to stderr.

train_eader_r50_r18_b8_224 is one EADER localizer step (specs/eader.md section 2-5) as wsss train-cls
--method eader takes it, written the way a PyTorch user would: torchvision's ResNet-50 localizer (GAP +
fc to 20 classes) and ResNet-18 adversary, both in train mode, the adversary's parameters with
requires_grad False (it is not trained in this step, and no gradient of it is wasted); batch 8 at 224,
the 12 (image, class) pairs of eader_labels; Grad-CAM with the fc weights detached, bilinear upsampling,
min-max, sigmoid(100 (A - 0.5)), erased copies through the adversary, L_loc + 1e-5 L_reg + 0.05 L_am,
backward, SGD (momentum 0.9, weight decay 1e-4, lr 0.01) on the localizer."""
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

THREADS = 2
NUM_CLASSES = 20


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class VGG16DeepLab(nn.Module):
    """The co-attention classifier's backbone + CAM head (specs/mcis.md section 2): VGG16 convs,
    pool4 3x3 s1 p1, conv5 dilation 2, no pool5; extra_convs 3 x (3x3 512->512 + ReLU);
    extra_last_conv 1x1 512->20 with bias; GAP gives the class scores."""

    def __init__(self):
        super().__init__()
        cfg = [(3, 64), (64, 64), 'M', (64, 128), (128, 128), 'M', (128, 256), (256, 256), (256, 256),
               'M', (256, 512), (512, 512), (512, 512), 'P4', (512, 512, 2), (512, 512, 2), (512, 512, 2)]
        layers = []
        for c in cfg:
            if c == 'M':
                layers.append(nn.MaxPool2d(2, 2))
            elif c == 'P4':
                layers.append(nn.MaxPool2d(3, 1, 1))
            else:
                d = c[2] if len(c) == 3 else 1
                layers += [nn.Conv2d(c[0], c[1], 3, padding=d, dilation=d), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.extra_convs = nn.Sequential(*[m for _ in range(3) for m in
                                           (nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(inplace=True))])
        self.extra_last_conv = nn.Conv2d(512, NUM_CLASSES, 1, bias=True)

    def forward(self, x):
        cam = self.extra_last_conv(self.extra_convs(self.features(x)))
        return cam.mean(dim=(2, 3))


def train_flops(model, x):
    """2 * multiply-adds of every conv/linear in the forward, times 3 for a training step (forward,
    gradient w.r.t. the input, gradient w.r.t. the weights), minus the input gradient where the
    input needs none (the first layer, layers behind frozen ones) and the weight gradient of frozen
    layers."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            macs = out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            macs = out.numel() * m.in_features
        total[0] += 2 * macs * (1 + int(inp[0].requires_grad) + int(m.weight.requires_grad))

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.enable_grad():
        model(x)
    for h in hs:
        h.remove()
    return total[0]


# PSA's 34 radius-5 offsets (dy, dx), in its order (wsss_rw_offsets)
RW_OFFSETS = [(0, dx) for dx in range(1, 5)]
RW_OFFSETS += [(dy, dx) for dy in range(1, 5) for dx in range(-4, 5) if dx * dx + dy * dy < 25]


def rw_pairs_of(t):
    """[N, C, h, w] -> (from [N, C, P], to [N, C, 34, P]): from cells rows 0..h-5, columns 4..w-5
    (row-major), pair k = offset * P + from cell, as wsss_rw_pairs."""
    n, c, h, w = t.shape
    fr = t[:, :, 0:h - 4, 4:w - 4]
    to = torch.stack([t[:, :, dy:dy + h - 4, 4 + dx:w - 4 + dx] for dy, dx in RW_OFFSETS], 2)
    return fr.reshape(n, c, -1), to.reshape(n, c, len(RW_OFFSETS), -1)


class AffNetR50(nn.Module):
    """AffinityNet on ResNet-50 at output stride 8 (wsss_affnet_build/forward): [N, 34, P] affinities."""

    def __init__(self):
        super().__init__()
        m = torchvision.models.resnet50(replace_stride_with_dilation=[False, True, True])
        self.stem = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = m.layer1, m.layer2, m.layer3, m.layer4
        self.f8_3 = nn.Conv2d(512, 64, 1, bias=False)
        self.f8_4 = nn.Conv2d(1024, 128, 1, bias=False)
        self.f8_5 = nn.Conv2d(2048, 256, 1, bias=False)
        self.f9 = nn.Conv2d(448, 448, 1, bias=False)
        for c in (self.f8_3, self.f8_4, self.f8_5):
            nn.init.kaiming_normal_(c.weight)
        nn.init.xavier_uniform_(self.f9.weight, gain=4)
        for p in list(self.stem.parameters()) + list(self.layer1.parameters()):
            p.requires_grad = False
        for mod in self.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.requires_grad = False
                mod.bias.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        for mod in self.modules():  # frozen BN: running statistics in training too
            if isinstance(mod, nn.BatchNorm2d):
                mod.eval()
        return self

    def forward(self, x):
        x3 = self.layer2(self.layer1(self.stem(x)))
        x4 = self.layer3(x3)
        x5 = self.layer4(x4)
        f = torch.cat([F.elu(self.f8_3(x3)), F.elu(self.f8_4(x4)), F.elu(self.f8_5(x5))], 1)
        f = F.elu(self.f9(f))
        n, c, h, w = f.shape
        ff = f[:, :, 0:h - 4, 4:w - 4]
        return torch.stack([torch.exp(-torch.mean(torch.abs(f[:, :, dy:dy + h - 4, 4 + dx:w - 4 + dx] - ff), dim=1))
                            .reshape(n, -1) for dy, dx in RW_OFFSETS], 1)


def aff_pair_masks(n, h, w):
    """Float masks (bg-positive, fg-positive, negative) [n, 34, P] of the pairs of bench_models.c's
    cell labels (aff_cell_label: an integer hash, 255 for about 1 in 10 cells, else 0, 1 or 2) by
    wsss_aff_pair_labels' rule; pairs with a 255 cell are in none."""
    k = torch.arange(n * h * w, dtype=torch.int64)
    u = (k * 2654435761) & 0xffffffff
    u = u ^ (u >> 16)
    r = u % 20
    cells = torch.where(r < 2, torch.full_like(r, 255), r % 3).reshape(n, 1, h, w)
    a, b = rw_pairs_of(cells)
    a = a.unsqueeze(2)
    valid = (a != 255) & (b != 255)
    bg = valid & (a == b) & (a == 0)
    fg = valid & (a == b) & (a != 0)
    neg = valid & (a != b)
    return [m.squeeze(1).float() for m in (bg, fg, neg)]


def aff_loss(aff, bg, fg, neg):
    """PSA's loss: L_bg/4 + L_fg/4 + L_neg/2, each mean over its pairs (count + 1e-5)."""
    bg_loss = torch.sum(-bg * torch.log(aff + 1e-5)) / (bg.sum() + 1e-5)
    fg_loss = torch.sum(-fg * torch.log(aff + 1e-5)) / (fg.sum() + 1e-5)
    neg_loss = torch.sum(-neg * torch.log(1. + 1e-5 - aff)) / (neg.sum() + 1e-5)
    return bg_loss / 4 + fg_loss / 4 + neg_loss / 2


def time_runs(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def eader_labels(batch):
    """image b: class b mod 20, and for even b also (b + 7) mod 20 (bench_models.c's eader_labels)"""
    y = torch.zeros(batch, NUM_CLASSES)
    for b in range(batch):
        y[b, b % NUM_CLASSES] = 1
        if b % 2 == 0:
            y[b, (b + 7) % NUM_CLASSES] = 1
    return y


def eader_step_fn(loc, adv, x, y, opt, losses):
    body = nn.Sequential(loc.conv1, loc.bn1, loc.relu, loc.maxpool, loc.layer1, loc.layer2, loc.layer3, loc.layer4)
    classes = [[c for c in range(y.shape[1]) if y[b, c] > 0] for b in range(y.shape[0])]
    pairs = [(b, cl[r]) for r in range(max(map(len, classes))) for b, cl in enumerate(classes) if len(cl) > r]
    b_idx, c_idx = torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])
    n = len(pairs)

    def step():
        opt.zero_grad(set_to_none=True)
        feats = body(x)
        z = loc.fc(feats.mean(dim=(2, 3)))
        loss_loc = F.binary_cross_entropy(torch.sigmoid(z), y)
        u = F.relu(torch.einsum("nc,nchw->nhw", loc.fc.weight.detach()[c_idx], feats[b_idx]))[:, None]
        up = F.interpolate(u, size=x.shape[2:], mode="bilinear", align_corners=False).flatten(1)
        lo, hi = up.min(dim=1, keepdim=True).values, up.max(dim=1, keepdim=True).values
        rng = hi - lo
        a = ((up - lo) / (rng + (rng == 0).float())).view(n, 1, *x.shape[2:])
        m = torch.sigmoid(100 * (a - 0.5))
        q = torch.sigmoid(adv(x[b_idx] * (1 - m)))
        loss = loss_loc + 1e-5 * a.mean() + 0.05 * q[torch.arange(n), c_idx].mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return step


def train_step_fn(model, x, y, opt):
    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
    return step


def run(workload, runs):
    torch.manual_seed(0)
    base_rss = rss_mb()
    res = {"side": "torch", "workload": workload}
    if workload == "train_resnet50_b8_224":
        batch = 8
        model = torchvision.models.resnet50(num_classes=NUM_CLASSES).train()
        x = torch.randn(batch, 3, 224, 224)
        y = (torch.rand(batch, NUM_CLASSES) < 0.3).float()
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
        res["flops_per_run"] = train_flops(model, x)
        ts = time_runs(train_step_fn(model, x, y, opt), 2, runs)
    elif workload == "train_resnet18_b64_64":
        batch = 64
        model = torchvision.models.resnet18(num_classes=NUM_CLASSES).train()
        x = torch.randn(batch, 3, 64, 64)
        y = (torch.rand(batch, NUM_CLASSES) < 0.3).float()
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
        res["flops_per_run"] = train_flops(model, x)
        ts = time_runs(train_step_fn(model, x, y, opt), 2, runs)
    elif workload == "train_vgg16d_b5_256":
        batch = 5
        model = VGG16DeepLab().train()
        x = torch.randn(batch, 3, 256, 256)
        y = (torch.rand(batch, NUM_CLASSES) < 0.3).float()
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True, weight_decay=5e-4)
        res["flops_per_run"] = train_flops(model, x)
        ts = time_runs(train_step_fn(model, x, y, opt), 1, runs)
    elif workload == "train_aff_r50_b8_448":
        batch = 8
        model = AffNetR50().train()
        x = torch.randn(batch, 3, 448, 448)
        bg, fg, neg = aff_pair_masks(batch, 56, 56)
        head = [p for mod in (model.f8_3, model.f8_4, model.f8_5, model.f9) for p in mod.parameters()]
        head_ids = {id(p) for p in head}
        backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
        # train-aff's groups: backbone weights x1, head weights x10 (no trainable biases: BN frozen)
        opt = torch.optim.SGD([{"params": backbone}, {"params": head, "lr": 1.0}], lr=0.1, momentum=0,
                              weight_decay=5e-4)
        res["flops_per_run"] = train_flops(model, x[:1]) * batch  # linear in the batch; saves a forward
        kind = (bg + 2 * fg + 3 * neg).flatten().long()
        print("torch_bench.py: train_aff_r50_b8_448 pairs: %d bg, %d fg, %d neg, %d ignored, order checksum %d"
              % (bg.sum(), fg.sum(), neg.sum(), int((kind == 0).sum()),
                 int(((torch.arange(kind.numel()) % 997) * kind).sum())), file=sys.stderr)
        losses = []

        def step():
            opt.zero_grad(set_to_none=True)
            loss = aff_loss(model(x), bg, fg, neg)
            loss.backward()
            opt.step()
            losses.append(loss.item())

        ts = time_runs(step, 1, runs)
        print("torch_bench.py: train_aff_r50_b8_448 loss: first step %.6f, last step %.6f (%d steps)"
              % (losses[0], losses[-1], len(losses)), file=sys.stderr)
    elif workload == "train_eader_r50_r18_b8_224":
        batch = 8
        loc = torchvision.models.resnet50(num_classes=NUM_CLASSES).train()
        adv = torchvision.models.resnet18(num_classes=NUM_CLASSES).train().requires_grad_(False)
        x = torch.randn(batch, 3, 224, 224)
        y = eader_labels(batch)
        opt = torch.optim.SGD(loc.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        losses = []
        ts = time_runs(eader_step_fn(loc, adv, x, y, opt, losses), 1, runs)
        print("torch_bench.py: train_eader_r50_r18_b8_224 loss: first step %.6f, last step %.6f (%d steps)"
              % (losses[0], losses[-1], len(losses)), file=sys.stderr)
    elif workload == "infer_resnet50os8_b1_448":
        batch = 1
        m = torchvision.models.resnet50(replace_stride_with_dilation=[False, True, True]).eval()
        body = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4)
        x = torch.randn(batch, 3, 448, 448)

        def fwd():
            with torch.no_grad():
                f = body(x)
            assert f.shape == (1, 2048, 56, 56)

        ts = time_runs(fwd, 2, runs)
    elif workload == "rw_500x375":
        # PSA's infer_aff: the dense n x n affinity matrix, ** beta, column-normalised, squared
        # log2(t) = 8 times, seeds times it; affinities and seeds from bench_models.c's formulas
        batch, h, w, c = 1, 47, 63, 21
        n = h * w
        offsets = RW_OFFSETS
        cells = [(y, x) for y in range(0, h - 4) for x in range(4, w - 4)]
        fr = torch.tensor([y * w + x for (dy, dx) in offsets for (y, x) in cells])
        to = torch.tensor([(y + dy) * w + x + dx for (dy, dx) in offsets for (y, x) in cells])
        k = torch.arange(len(fr), dtype=torch.float64)
        aff = (0.5 + 0.45 * torch.sin(0.37 * k) ** 2).float()
        i = torch.arange(n, dtype=torch.float64)
        v = torch.stack([0.5 + 0.5 * torch.cos(0.11 * i + ch) for ch in range(c)]).float()

        def walk():
            with torch.no_grad():
                a = torch.eye(n)
                a[fr, to] = aff
                a[to, fr] = aff
                t = torch.pow(a, 8)
                t = t / torch.sum(t, dim=0, keepdim=True)
                for _ in range(8):
                    t = torch.matmul(t, t)
                torch.matmul(v, t)

        ts = time_runs(walk, 1, runs)
    elif workload == "peak":
        # one large 3x3 convolution (forward): what the hardware does on the most favourable layer
        batch = 8
        conv = nn.Conv2d(256, 256, 3, padding=1, bias=False)
        x = torch.randn(batch, 256, 56, 56)
        res["flops_per_run"] = 2 * batch * 256 * 56 * 56 * 256 * 9

        def fwd():
            with torch.no_grad():
                conv(x)

        ts = time_runs(fwd, 2, runs)
    else:
        sys.exit("torch_bench.py: unknown workload %r" % workload)
    med = statistics.median(ts)
    res["batch"] = batch
    res["median_s"] = med
    res["times_s"] = ts
    res["images_per_s"] = batch / med
    if "flops_per_run" in res:
        res["gflops"] = res["flops_per_run"] / med / 1e9
    res["peak_rss_mb"] = rss_mb()
    res["base_rss_mb"] = base_rss
    dnnl = re.search(r"MKL-DNN v([0-9.]+)", torch.__config__.show())
    try:  # Debian's package version (torch.__version__ of Debian's 1.13.1 build reads 1.13.0a0)
        deb = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        deb = "?"
    res["version"] = "torch %s (Debian python3-torch %s, oneDNN %s, %d threads)" % (
        torch.__version__, deb, dnnl.group(1) if dnnl else "?", torch.get_num_threads())
    print("result " + json.dumps(res), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    torch.set_num_threads(THREADS)
    run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5)
