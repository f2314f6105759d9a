"""PyTorch reference tensors for tests/parity/test_deeplabv3plus_parity.c: the DeepLab v3+ head
(issue 15) written from its definition, not from the C code under test.

ASPP: torchvision 0.14's own torchvision.models.segmentation.deeplabv3.ASPP (its module, so the
layout and names are torchvision's), rates 1/2/3 on a 3 x 4 map so that every dilation reaches
the border, width 8, its dropout set to 0 (dropout is random; the C test runs without it).
Decoder (DeepLab v3+, Chen et al. 2018): the stride-4 map projected to 4 channels (1x1 conv
without bias, BN, ReLU); the ASPP output upsampled bilinearly (align_corners=False) to the
stride-4 map's size (11 x 14: not a whole multiple); cat([low, aspp]) on channels; two 3x3 convs
(pad 1, no bias) each with BN + ReLU; a 1x1 conv with bias to 3 classes.
Every parameter and BN running statistic is random (not the initial values), in float64.
Train mode (batch statistics, N = 2): logits, the running statistics after the step, and the
gradients of sum(logits * R) (R random) w.r.t. both inputs and every parameter. Eval mode (the
updated running statistics): logits.
Also the shapes of torchvision's deeplabv3_resnet50 head ("tvshape.classifier.0.*", int64), so
the test can check that a resnet50-os8-deeplabv3plus carries the same ASPP names and shapes.

Run: /usr/bin/python3 scripts/gen_fixtures_deeplabv3plus.py
Writes tests/fixtures/deeplabv3plus.safetensors."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.segmentation import deeplabv3_resnet50
from torchvision.models.segmentation.deeplabv3 import ASPP

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "deeplabv3plus.safetensors")
N, C_IN, C_LOW, WIDTH, LOW_PROJ, CLASSES = 2, 6, 5, 8, 4, 3
RATES = [1, 2, 3]
H, W, HL, WL = 3, 4, 11, 14


def conv_bn(cin, cout, k):
    return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        setattr(self, "0", ASPP(C_IN, RATES, WIDTH))
        getattr(self, "0").project[3].p = 0.0
        self.low = nn.Sequential(*conv_bn(C_LOW, LOW_PROJ, 1))
        self.fuse = nn.Sequential(*conv_bn(LOW_PROJ + WIDTH, WIDTH, 3), *conv_bn(WIDTH, WIDTH, 3),
                                  nn.Conv2d(WIDTH, CLASSES, 1))

    def forward(self, x, low):
        a = getattr(self, "0")(x)
        low = self.low(low)
        a = F.interpolate(a, size=low.shape[2:], mode="bilinear", align_corners=False)
        return self.fuse(torch.cat([low, a], dim=1))


def main():
    torch.manual_seed(0)
    head = Head().double()
    with torch.no_grad():
        for name, t in head.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var") or (name.endswith(".weight") and t.dim() == 1):
                t.copy_(torch.rand_like(t) + 0.5)
            else:
                t.copy_(torch.randn_like(t) * 0.5)
    t = {"init." + k: v.clone() for k, v in head.state_dict().items()
         if not k.endswith("num_batches_tracked")}
    x = torch.randn(N, C_IN, H, W, dtype=torch.float64, requires_grad=True)
    low = torch.randn(N, C_LOW, HL, WL, dtype=torch.float64, requires_grad=True)
    r = torch.randn(N, CLASSES, HL, WL, dtype=torch.float64)
    head.train()
    logits = head(x, low)
    (logits * r).sum().backward()
    t.update({"x": x.detach(), "low": low.detach(), "r": r, "train.logits": logits.detach(),
              "grad.x": x.grad, "grad.low": low.grad})
    for k, p in head.named_parameters():
        t["grad." + k] = p.grad
    for k, v in head.state_dict().items():
        if k.endswith("running_mean") or k.endswith("running_var"):
            t["after." + k] = v.clone()
    head.eval()
    with torch.no_grad():
        t["eval.logits"] = head(x, low)
    tv = deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=False)
    for k, v in tv.state_dict().items():
        if k.startswith("classifier.0."):
            t["tvshape." + k] = torch.tensor(list(v.shape), dtype=torch.int64)
    st_io.save(OUT, {k: v.detach() for k, v in t.items()},
               {"shape": f"N {N} in {C_IN} low {C_LOW} width {WIDTH} rates {RATES} x {H}x{W} low {HL}x{WL}"})


if __name__ == "__main__":
    main()
