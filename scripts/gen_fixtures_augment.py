"""Fixtures for tests/parity/test_color_jitter_parity.c: torchvision 0.14 transforms on PIL images.

Run with Debian's python (torch + torchvision + PIL):  /usr/bin/python3 scripts/gen_fixtures_augment.py
Writes tests/fixtures/augment_pil.safetensors. Deterministic (seeded numpy generator).

Contents (images as U8 H,W,3; factors as F32 so the C side uses the exact same float32 values):
  in_<k>                       input images (k = 0: uniform noise 17x23, 1: smooth colour field 31x40,
                               2: a few flat colours incl. greys and saturated primaries, 12x12)
  <op>_<k>_<j> / <op>_f_<j>    F.adjust_<op>(in_k, f_j) for op in brightness, contrast, saturation, hue
  jit_<k>_<j>, jit_order_<j>, jit_factors_<j>
                               ColorJitter's forward body with a fixed permutation and factors
  resize_<k>_<h>x<w>           F.resize(in_k, [h, w]) (PIL bilinear, antialiased when shrinking)
  rrc_<k>, rrc_box_<k>         F.resized_crop(in_k, top, left, height, width, [size, size])
  nearest_<k>, mask_<k>        a label image resized with PIL NEAREST (mask_k is the input)
  norm_<k>                     F.normalize(F.to_tensor(in_k), ImageNet mean, std) as F32 3,H,W
Also writes tests/fixtures/augment_pil_hue.safetensors: a 128x128 image of random colours (wide
coverage of PIL's 8-bit HSV round trip) with adjust_hue at two factors and adjust_saturation at one.
"""
import os
import sys

import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

rng = np.random.default_rng(20240601)
out = {}


def pil(a):
    return Image.fromarray(np.ascontiguousarray(a, dtype=np.uint8), "RGB")


def u8(im):
    return torch.from_numpy(np.array(im, dtype=np.uint8).copy())


def f32(vals):
    return torch.tensor(np.array(vals, dtype=np.float32))


# inputs
noise = rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8)
yy, xx = np.mgrid[0:31, 0:40].astype(np.float64)
smooth = np.stack([128 + 120 * np.sin(xx / 7.0 + yy / 11.0), 128 + 120 * np.cos(yy / 5.0),
                   (xx * 6 + yy * 2) % 256], axis=-1)
smooth = np.clip(np.round(smooth), 0, 255).astype(np.uint8)
flat = np.zeros((12, 12, 3), dtype=np.uint8)
palette = [(0, 0, 0), (255, 255, 255), (128, 128, 128), (255, 0, 0), (0, 255, 0), (0, 0, 255),
           (255, 255, 0), (0, 255, 255), (255, 0, 255), (1, 2, 3), (250, 128, 7), (90, 200, 200)]
for i, c in enumerate(palette):
    flat[i, :] = c
inputs = [noise, smooth, flat]
for k, a in enumerate(inputs):
    out[f"in_{k}"] = torch.from_numpy(a.copy())

# single adjustments (factors cover blends inside and outside [0, 1] and both hue signs, edges)
factors = {
    "brightness": [0.0, 0.7, 0.8765, 1.0, 1.3, 2.1],
    "contrast": [0.0, 0.7, 0.93, 1.3, 1.77],
    "saturation": [0.0, 0.7, 1.12, 1.3, 2.5],
    "hue": [-0.5, -0.1, -0.0371, 0.0, 0.02, 0.1, 0.333, 0.5],
}
fns = {"brightness": F.adjust_brightness, "contrast": F.adjust_contrast,
       "saturation": F.adjust_saturation, "hue": F.adjust_hue}
for op, fs in factors.items():
    fs32 = [float(np.float32(f)) for f in fs]
    out[f"{op}_f"] = f32(fs32)
    for k, a in enumerate(inputs):
        for j, f in enumerate(fs32):
            out[f"{op}_{k}_{j}"] = u8(fns[op](pil(a), f))

# full ColorJitter bodies with random (torch-style) draws: brightness/contrast/saturation 0.3, hue 0.1
torch.manual_seed(5)
for j in range(6):
    order = torch.randperm(4)
    b = float(torch.empty(1).uniform_(0.7, 1.3))
    c = float(torch.empty(1).uniform_(0.7, 1.3))
    s = float(torch.empty(1).uniform_(0.7, 1.3))
    h = float(torch.empty(1).uniform_(-0.1, 0.1))
    out[f"jit_order_{j}"] = order.to(torch.int64)
    out[f"jit_factors_{j}"] = f32([b, c, s, h])
    for k, a in enumerate(inputs):
        im = pil(a)
        for fn in order.tolist():
            im = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue][fn](
                im, [b, c, s, h][fn])
        out[f"jit_{k}_{j}"] = u8(im)

# resizes: shrink, enlarge, mixed, and crops
sizes = [(8, 11), (40, 50), (13, 57), (31, 40)]
for k, a in enumerate(inputs[:2]):
    for (h, w) in sizes:
        out[f"resize_{k}_{h}x{w}"] = u8(F.resize(pil(a), [h, w], interpolation=F.InterpolationMode.BILINEAR))
boxes = [(2, 3, 11, 9, 16), (5, 4, 20, 30, 9)]  # top, left, height, width, size
for k, a in enumerate(inputs[:2]):
    t, l, h, w, s = boxes[k]
    out[f"rrc_box_{k}"] = torch.tensor([t, l, h, w, s], dtype=torch.int64)
    out[f"rrc_{k}"] = u8(F.resized_crop(pil(a), t, l, h, w, [s, s],
                                         interpolation=F.InterpolationMode.BILINEAR))

# nearest resizes of label images
for k, (h, w, oh, ow) in enumerate([(17, 23, 40, 9), (31, 40, 13, 29)]):
    m = rng.integers(0, 21, size=(h, w), dtype=np.uint8)
    out[f"mask_{k}"] = torch.from_numpy(m.copy())
    out[f"nearest_{k}"] = torch.from_numpy(
        np.array(Image.fromarray(m, "L").resize((ow, oh), Image.NEAREST), dtype=np.uint8))

# ToTensor + Normalize
for k, a in enumerate(inputs):
    out[f"norm_{k}"] = F.normalize(F.to_tensor(pil(a)), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])

many = rng.integers(0, 256, size=(128, 128, 3), dtype=np.uint8)
many[:8] = many[:8] // 64 * 64 + rng.integers(0, 2, size=(8, 128, 3), dtype=np.uint8)  # near-greys, ties
big = {"in": torch.from_numpy(many.copy()), "f": f32([0.1, -0.2345, 1.37])}
big["hue_0"] = u8(F.adjust_hue(pil(many), float(big["f"][0])))
big["hue_1"] = u8(F.adjust_hue(pil(many), float(big["f"][1])))
big["sat_2"] = u8(F.adjust_saturation(pil(many), float(big["f"][2])))
fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
st_io.save(os.path.join(fixtures, "augment_pil_hue.safetensors"), big,
           metadata={"generator": "scripts/gen_fixtures_augment.py"})

path = os.path.join(fixtures, "augment_pil.safetensors")
st_io.save(path, out, metadata={"generator": "scripts/gen_fixtures_augment.py",
                                "torchvision": __import__("torchvision").__version__,
                                "PIL": Image.__version__})
print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(out)} tensors)")
