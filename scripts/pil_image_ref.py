"""PIL reference decodes for tests/parity/test_pil_image.c.

Usage: /usr/bin/python3 scripts/pil_image_ref.py DIR

1. Writes PIL-encoded images into DIR: JPEG at several qualities and chroma subsamplings, progressive,
   grey and CMYK JPEGs, odd sizes; PNG in modes RGB, RGBA, L, LA, P (with and without transparency), 1.
2. Decodes every .jpg/.png in DIR (those plus the ones the C test wrote with wsss's encoder) with PIL:
   FILE.pil.rgb = Image.open(FILE).convert("RGB").tobytes(); for palette PNGs also FILE.pil.idx = the
   palette indices.
3. Writes DIR/manifest.txt: "name kind width height" per reference file (kind rgb or idx).
Deterministic (fixed seeds).
"""
import os
import sys

import numpy as np
from PIL import Image


def scene(w, h, seed):
    """Smooth colour gradients plus noise and a few hard edges: exercises DCT, upsampling, clipping."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        fx, fy, ph = rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3), rng.uniform(0, 6.28)
        img[..., c] = 128 + 100 * np.sin(fx * x + fy * y + ph)
    img += rng.normal(0, 12, img.shape)
    img[h // 3 : h // 2, w // 4 : w // 2] = [250, 10, 30]  # saturated block with sharp edges
    img[:, -3:] = 255
    return np.clip(img, 0, 255).astype(np.uint8)


def write_inputs(d):
    rgb = Image.fromarray(scene(67, 45, 1))  # odd, non-square: edge handling in upsampling
    for q in (50, 75, 95, 100):
        for ss in (0, 1, 2):  # 4:4:4, 4:2:2, 4:2:0
            rgb.save(os.path.join(d, "pil_q%d_s%d.jpg" % (q, ss)), quality=q, subsampling=ss)
    rgb.save(os.path.join(d, "pil_progressive.jpg"), quality=85, progressive=True)
    rgb.save(os.path.join(d, "pil_optimize.jpg"), quality=90, optimize=True)
    big = Image.fromarray(scene(160, 121, 2))
    big.save(os.path.join(d, "pil_big.jpg"), quality=92)
    grey = Image.fromarray(scene(53, 38, 3)[..., 0])
    grey.save(os.path.join(d, "pil_grey.jpg"), quality=90)
    rgb.convert("CMYK").save(os.path.join(d, "pil_cmyk.jpg"), quality=90)

    a = scene(29, 23, 4)
    Image.fromarray(a).save(os.path.join(d, "pil_rgb.png"))
    alpha = scene(29, 23, 5)[..., :1]
    Image.fromarray(np.concatenate([a, alpha], axis=2), "RGBA").save(os.path.join(d, "pil_rgba.png"))
    Image.fromarray(a[..., 1]).save(os.path.join(d, "pil_l.png"))
    Image.fromarray(np.stack([a[..., 2], alpha[..., 0]], axis=2), "LA").save(os.path.join(d, "pil_la.png"))
    Image.fromarray(a[..., 0] > 128).save(os.path.join(d, "pil_1.png"))
    rng = np.random.RandomState(6)
    idx = rng.randint(0, 21, size=(23, 29)).astype(np.uint8)
    idx[rng.rand(23, 29) < 0.1] = 255
    p = Image.fromarray(idx, "P")
    pal = rng.randint(0, 256, size=768).astype(np.uint8).tolist()
    p.putpalette(pal)
    p.save(os.path.join(d, "pil_p.png"))
    p.save(os.path.join(d, "pil_p_trns.png"), transparency=3)


def main():
    d = sys.argv[1]
    write_inputs(d)
    lines = []
    for name in sorted(os.listdir(d)):
        if not (name.endswith(".jpg") or name.endswith(".png")):
            continue
        im = Image.open(os.path.join(d, name))
        im.load()
        if im.mode == "P":
            idx = np.asarray(im, dtype=np.uint8)
            with open(os.path.join(d, name + ".pil.idx"), "wb") as f:
                f.write(idx.tobytes())
            lines.append("%s idx %d %d" % (name, im.width, im.height))
        with open(os.path.join(d, name + ".pil.rgb"), "wb") as f:
            f.write(im.convert("RGB").tobytes())
        lines.append("%s rgb %d %d" % (name, im.width, im.height))
    with open(os.path.join(d, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
