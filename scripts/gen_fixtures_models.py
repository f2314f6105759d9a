"""Reference fixtures for the model tests (tests/parity/test_models_parity.c, tests/unit/test_models.c,
tests/unit/forward_cli.sh).

Weights are far too big to commit, so both sides regenerate them from a formula (implemented again
in tests/model_weights.c): every value of the state_dict tensor named K is a function of
(K, element index) only, exact in float32:
    h = splitmix64 output number e+1 of the stream seeded with fnv1a64(K)   (uint64 arithmetic)
    u = ((h >> 40) - 2^23) / 2^23          24-bit, in [-1, 1)
    running_var          1 + (u + 1) / 4
    running_mean         u / 8
    1-D "*.weight" (BN)   1 + u / 8
    "*.bias"             u / 8
    num_batches_tracked  0
    other (>= 2-D)       u * float32(sqrt(3 / fan_in)),  fan_in = prod(shape[1:])
All multipliers are powers of two except the last, a single float32 product, so every step is
exactly rounded the same way in numpy and in C. The input image batch is 2u for the name "input".
models_keys.safetensors proves the generators agree (first values and sums of every tensor) and
records each arch's state_dict keys and shapes in order.

Reference values are computed by torch in float64 from those float32 values; the C side compares
its float32 results (and, on the reference backend, its float64 results) with them.

Run: /usr/bin/python3 scripts/gen_fixtures_models.py   (writes tests/fixtures/models_*.safetensors)"""
import math
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pth_to_safetensors  # noqa: E402
import st_io  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
M64 = (1 << 64) - 1
INPUT_SHAPE = (2, 3, 64, 64)
NUM_CLASSES = 5


# ----------------------------------------------------------------------------- weight formula
def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def hash_u(name, n):
    """u in [-1, 1) (float32, 24 bits) for elements 0..n-1 of tensor `name`."""
    with np.errstate(over="ignore"):
        e = np.arange(1, n + 1, dtype=np.uint64)
        z = np.uint64(fnv1a64(name)) + e * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    k = (z >> np.uint64(40)).astype(np.int64) - (1 << 23)
    return (k.astype(np.float32) / np.float32(1 << 23)).astype(np.float32)


def fill_value(name, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    u = hash_u(name, n)
    f32 = np.float32
    if name.endswith("num_batches_tracked"):
        return np.zeros(shape, np.int64)
    if name.endswith("running_var"):
        v = f32(1) + (u + f32(1)) / f32(4)
    elif name.endswith("running_mean"):
        v = u / f32(8)
    elif name.endswith(".weight") and len(shape) == 1:
        v = f32(1) + u / f32(8)
    elif name.endswith(".bias"):
        v = u / f32(8)
    else:
        fan_in = int(np.prod(shape[1:]))
        v = u * f32(math.sqrt(3.0 / fan_in))
    return v.astype(np.float32).reshape(shape)


def fill_module(module):
    sd = module.state_dict()
    new = {k: torch.from_numpy(fill_value(k, tuple(t.shape))) for k, t in sd.items()}
    module.load_state_dict(new)
    return new


def make_input():
    return torch.from_numpy((np.float32(2) * hash_u("input", int(np.prod(INPUT_SHAPE)))).reshape(INPUT_SHAPE))


# ----------------------------------------------------------------------------- models
def resnet(depth, num_classes=NUM_CLASSES, os_=32):
    dil = {32: [False, False, False], 16: [False, False, True], 8: [False, True, True]}[os_]
    return getattr(torchvision.models, f"resnet{depth}")(weights=None, num_classes=num_classes,
                                                         replace_stride_with_dilation=dil)


def resnet_features(r, x):
    x = r.maxpool(r.relu(r.bn1(r.conv1(x))))
    return r.layer4(r.layer3(r.layer2(r.layer1(x))))


class ResNetCls(nn.Module):
    """torchvision resnet; forward returns (logits, layer4 features)."""

    def __init__(self, depth, os_=32):
        super().__init__()
        self.r = resnet(depth, os_=os_)

    def state_dict_module(self):
        return self.r

    def forward(self, x):
        f = resnet_features(self.r, x)
        return self.r.fc(torch.flatten(self.r.avgpool(f), 1)), f


class ASPP(nn.Module):
    def __init__(self, cin, ncls, rates=(6, 12, 18, 24)):
        super().__init__()
        for i, r in enumerate(rates):
            self.add_module(f"c{i}", nn.Conv2d(cin, ncls, 3, 1, padding=r, dilation=r, bias=True))

    def forward(self, x):
        return sum(m(x) for m in self.children())


class LargeFOV(nn.Module):
    def __init__(self, cin, ncls, hidden=1024, dilation=12, hidden_bias=False):
        super().__init__()
        self.fc6 = nn.Conv2d(cin, hidden, 3, padding=dilation, dilation=dilation, bias=hidden_bias)
        self.fc7 = nn.Conv2d(hidden, hidden, 1, bias=hidden_bias)
        self.fc8 = nn.Conv2d(hidden, ncls, 1)

    def forward(self, x):
        return self.fc8(F.relu(self.fc7(F.relu(self.fc6(x)))))


class Seg(nn.Module):
    """backbone.* = torchvision resnet without fc, classifier.* = ASPP or LargeFOV."""

    def __init__(self, depth, os_, head, ncls=NUM_CLASSES):
        super().__init__()
        self.backbone = resnet(depth, os_=os_)
        del self.backbone.fc
        self.classifier = ASPP(2048, ncls) if head == "aspp" else LargeFOV(2048, ncls)

    def state_dict_module(self):
        return self

    def forward(self, x):
        f = resnet_features(self.backbone, x)
        return self.classifier(f), f


def vgg16_deeplab_features():
    f = torchvision.models.vgg16(weights=None).features[:30]  # drop pool5, keep indices/keys
    f[23] = nn.MaxPool2d(3, 1, 1)
    for i in (24, 26, 28):
        f[i].dilation, f[i].padding = (2, 2), (2, 2)
    return f


class VggCam(nn.Module):
    """vgg16-deeplab + the MCIS basic CAM head; forward returns (scores, extra_convs output)."""

    def __init__(self, ncls=NUM_CLASSES):
        super().__init__()
        self.features = vgg16_deeplab_features()
        self.extra_convs = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(True),
                                         nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(True),
                                         nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(True))
        self.extra_last_conv = nn.Conv2d(512, ncls, 1, bias=True)

    def state_dict_module(self):
        return self

    def forward(self, x):
        f = self.extra_convs(self.features(x))
        return self.extra_last_conv(f).mean(dim=(2, 3)), f


# ----------------------------------------------------------------------------- fixtures
def bn_modules(m):
    return [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]


def feature_slice(f):
    """Keep fixtures small: at most ~16k values of a feature map (leading channels)."""
    n, c, h, w = f.shape
    k = max(1, min(c, 8192 // (n * h * w)))
    return f[:, :k].contiguous()


def make_loss(loss_kind, y, out):
    if loss_kind == "mlsm":
        target = torch.tensor([[1, 0, 1, 0, 0], [0, 1, 1, 0, 1]], dtype=torch.float64)
        out["target"] = target.float()
        return F.multilabel_soft_margin_loss(y, target)
    h, w = y.shape[2:]
    k = hash_u("target", 2 * h * w)
    target = torch.from_numpy(((k + 1) * 3).astype(np.int64).clip(0, 5)).reshape(2, h, w)
    target[target == 5] = 255
    out["target"] = target
    return F.cross_entropy(y, target, ignore_index=255)


def grad_step(prefix, model, sdm, x, loss_kind, full_grads, bn_mode, out, meta):
    """One forward/backward with BN in bn_mode ("train": batch statistics; "eval": running
    statistics, affine trainable; "frozen": running statistics, affine without gradient)."""
    model.train()
    for b in bn_modules(model):
        b.train(bn_mode == "train")
        for p in b.parameters():
            p.requires_grad_(bn_mode != "frozen")
    model.zero_grad(set_to_none=True)
    y, _ = model(x)
    loss = make_loss(loss_kind, y, out)
    loss.backward()
    out[prefix + "output"] = y.detach().clone()
    out[prefix + "loss"] = loss.detach().reshape(())
    names, sums, sumsqs = [], [], []
    for name, p in sdm.named_parameters():
        if p.grad is None:
            continue
        g = p.grad.detach()
        names.append(name)
        sums.append(g.sum().item())
        sumsqs.append((g * g).sum().item())
        if name in full_grads:
            out[prefix + "grad." + name] = g.float()
    missing = [n for n in full_grads if prefix + "grad." + n not in out]
    assert not missing, f"{prefix}: no gradient for {missing}"
    out[prefix + "grad_sum"] = torch.tensor(sums, dtype=torch.float64)
    out[prefix + "grad_sumsq"] = torch.tensor(sumsqs, dtype=torch.float64)
    meta[prefix + "grad_names"] = ";".join(names)
    rnames, rsums = [], []
    for name, b in sdm.named_buffers():
        if bn_mode == "train" and (name.endswith("running_mean") or name.endswith("running_var")):
            rnames.append(name)
            rsums.append(b.sum().item())
    out[prefix + "run_sum"] = torch.tensor(rsums, dtype=torch.float64)
    meta[prefix + "run_names"] = ";".join(rnames)
    return loss.item(), len(names)


def model_fixture(tag, model, loss_kind, steps):
    """steps: [(prefix, bn_mode, full-gradient names)] run in order after the eval forward (a
    train-mode step moves the running statistics, so it comes last)."""
    sdm = model.state_dict_module()
    fill_module(sdm)
    model = model.double()
    x = make_input().double()
    out, meta = {}, {}
    model.eval()
    with torch.no_grad():
        y, f = model(x)
    out["output"] = y.clone()
    out["features"] = feature_slice(f).float()
    out["features_sum"] = f.sum().reshape(())
    out["features_sumsq"] = (f * f).sum().reshape(())
    info = []
    for prefix, bn_mode, names in steps:
        loss, n = grad_step(prefix, model, sdm, x, loss_kind, names, bn_mode, out, meta)
        info.append(f"{prefix}loss {loss:.6g} ({n} grads)")
    meta["steps"] = ";".join(f"{p}{m}" for p, m, _ in steps)
    path = os.path.join(OUT, f"models_{tag}.safetensors")
    st_io.save(path, out, meta)
    print(f"{path}: {os.path.getsize(path)} bytes, " + ", ".join(info))


def keys_fixture():
    """Every arch's state_dict keys/shapes in order, and first values + sums of the formula."""
    def vgg_plain():
        m = nn.Module()
        m.features = vgg16_deeplab_features()
        return m

    # (arch as the C zoo names it, its num_classes, torch module with the same state_dict)
    archs = [
        ("resnet18", 1000, lambda: resnet(18, 1000)),
        ("resnet34", 1000, lambda: resnet(34, 1000)),
        ("resnet50", 1000, lambda: resnet(50, 1000)),
        ("resnet101", 1000, lambda: resnet(101, 1000)),
        ("resnet152", 1000, lambda: resnet(152, 1000)),
        ("resnet50-os8", 0, lambda: Seg(50, 8, "aspp").backbone),
        ("resnet101-os8-largefov", 21, lambda: Seg(101, 8, "largefov", 21)),
        ("resnet50-os16-aspp", 21, lambda: Seg(50, 16, "aspp", 21)),
        ("vgg16-deeplab", 0, vgg_plain),
        ("vgg16-deeplab", 20, lambda: VggCam(20)),
    ]
    out, meta = {}, {}
    for arch, ncls, make in archs:
        m = make()
        tag = f"{arch}/{ncls}"
        sd = m.state_dict()
        keys, heads, sums = [], [], []
        for k, t in sd.items():
            v = fill_value(k, tuple(t.shape))
            keys.append(k + str(list(t.shape)).replace(" ", ""))
            flat = v.reshape(-1).astype(np.float64)
            heads.append(list(flat[:4]) + [0.0] * (4 - min(4, flat.size)))
            sums.append(float(flat.sum()))
        out[tag + ".heads"] = torch.tensor(heads, dtype=torch.float32)  # exact: float32 values
        out[tag + ".sums"] = torch.tensor(sums, dtype=torch.float64)
        meta[tag + ".keys"] = ";".join(keys)
    x = make_input()
    out["input.heads"] = x.reshape(-1)[:8].double()
    out["input.sum"] = x.double().sum().reshape(())
    path = os.path.join(OUT, "models_keys.safetensors")
    st_io.save(path, out, meta)
    print(f"{path}: {os.path.getsize(path)} bytes")


def heads_fixture():
    """Heads on a standalone input (small channel counts, the same code path as full size)."""
    torch.manual_seed(0)
    x = torch.randn(2, 8, 14, 14, dtype=torch.float64).float()
    heads = {
        "largefov": LargeFOV(8, 5, hidden=6, dilation=12, hidden_bias=False),
        "largefov_bias": LargeFOV(8, 5, hidden=6, dilation=12, hidden_bias=True),
        "aspp": ASPP(8, 5),
    }
    out = {"x": x}
    for tag, h in heads.items():
        sd = {k: torch.randn(t.shape, dtype=torch.float64).float() * 0.3 for k, t in h.state_dict().items()}
        h.load_state_dict(sd)
        h = h.double()
        xi = x.double().requires_grad_(True)
        y = h(xi)
        gy = torch.from_numpy(hash_u("gy_" + tag, y.numel()).reshape(y.shape)).double()
        (y * gy).sum().backward()
        for k, v in sd.items():
            out[f"{tag}.{k}"] = v
        out[f"{tag}.y"] = y.detach()
        out[f"{tag}.gy"] = gy.float()
        out[f"{tag}.grad.x"] = xi.grad
        for k, p in h.named_parameters():
            out[f"{tag}.grad.{k}"] = p.grad
    # CAM head with 2 extra convs (in 8, mid 6, 5 classes), scores = spatial mean of the CAM
    cam = nn.Module()
    cam.extra_convs = nn.Sequential(nn.Conv2d(8, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU())
    cam.extra_last_conv = nn.Conv2d(6, 5, 1)
    sd = {k: torch.randn(t.shape, dtype=torch.float64).float() * 0.3 for k, t in cam.state_dict().items()}
    cam.load_state_dict(sd)
    cam = cam.double()
    xi = x.double().requires_grad_(True)
    c = cam.extra_last_conv(cam.extra_convs(xi))
    s = c.mean(dim=(2, 3))
    (s * torch.arange(1, 6, dtype=torch.float64)).sum().backward()
    for k, v in sd.items():
        out["cam." + k] = v
    out["cam.cam"] = c.detach()
    out["cam.scores"] = s.detach()
    out["cam.grad.x"] = xi.grad
    for k, p in cam.named_parameters():
        out["cam.grad." + k] = p.grad
    path = os.path.join(OUT, "models_heads.safetensors")
    st_io.save(path, out)
    print(f"{path}: {os.path.getsize(path)} bytes")


def converter_selftest():
    """pth_to_safetensors on a DataParallel-style checkpoint dict equals the state_dict."""
    m = resnet(18, NUM_CLASSES)
    sd = fill_module(m)
    sd = m.state_dict()
    with tempfile.TemporaryDirectory() as d:
        pth, st = os.path.join(d, "m.pth"), os.path.join(d, "m.safetensors")
        torch.save({"epoch": 3, "state_dict": {"module." + k: v for k, v in sd.items()}}, pth)
        pth_to_safetensors.convert(pth, st)
        back = st_io.load(st)
    assert sorted(back) == sorted(sd), "converter changed the key set"
    for k, v in sd.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v), k
    print("converter self-test: ok")


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    keys_fixture()
    heads_fixture()
    converter_selftest()
    # Deep ResNets with batch-statistics BN at batch 2 are ill-conditioned in float32: PyTorch's own
    # float32 gradients differ from its float64 ones by up to ~25% (resnet50/101), as do ours. So
    # every ResNet also has an eval-BN step (running statistics, gradients to everything) whose
    # float32 gradients are well defined; the train-BN step is checked in float64 exactly.
    def r_steps(last):
        train = ["conv1.weight", "bn1.weight", "bn1.bias", "layer2.0.bn1.weight", "layer3.0.downsample.1.weight",
                 last + ".weight", last + ".bias", "fc.weight", "fc.bias"]
        evals = ["conv1.weight", "layer2.0.bn1.weight", "layer3.0.downsample.1.bias", last + ".weight", "fc.bias"]
        return [("evalbn.", "eval", evals), ("train.", "train", train)]

    model_fixture("resnet18", ResNetCls(18), "mlsm", r_steps("layer4.1.bn2"))
    model_fixture("resnet50", ResNetCls(50), "mlsm", r_steps("layer4.2.bn3"))
    model_fixture("resnet101", ResNetCls(101), "mlsm", r_steps("layer4.2.bn3"))
    model_fixture("resnet101_os16", ResNetCls(101, os_=16), "mlsm", r_steps("layer4.2.bn3"))
    model_fixture("resnet50_os8_aspp", Seg(50, 8, "aspp"), "ce",
                  [("train.", "frozen", ["backbone.conv1.weight", "backbone.layer1.0.conv1.weight",
                                         "backbone.layer1.0.conv3.weight", "classifier.c0.bias", "classifier.c3.bias"])])
    model_fixture("vgg16_deeplab", VggCam(), "mlsm",
                  [("train.", "train", ["features.0.weight", "features.0.bias", "features.14.bias", "features.28.bias",
                                        "extra_convs.0.bias", "extra_last_conv.weight", "extra_last_conv.bias"])])


if __name__ == "__main__":
    main()
