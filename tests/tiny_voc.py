"""Tiny VOC-layout datasets written by the shell CLI tests (tests/unit/*.sh): the folders,
classes.txt, JPEG images, palette masks and split lists. Their here-documents import it with
sys.path.insert(0, "<tests dir>"). Not a test itself: it lives outside the globbed test folders."""
import os

from PIL import Image


def start(root, classes, masks=True):
    """The folders (SegmentationClass only with masks) and classes.txt: background, then classes."""
    for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation") if masks else ("JPEGImages", "ImageSets/Segmentation"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    open(os.path.join(root, "classes.txt"), "w").write("".join(c + "\n" for c in ["background"] + list(classes)))


def save(root, k, rgb, mask=None, quality=95):
    """JPEGImages/<k>.jpg from an RGB uint8 array, and SegmentationClass/<k>.png from a class-id mask."""
    Image.fromarray(rgb).save(os.path.join(root, "JPEGImages", k + ".jpg"), quality=quality)
    if mask is not None:
        p = Image.fromarray(mask, "P")
        p.putpalette([(j * 37) % 256 for j in range(768)])
        p.save(os.path.join(root, "SegmentationClass", k + ".png"))


def write_split(root, name, ids):
    """ImageSets/Segmentation/<name>.txt listing ids."""
    open(os.path.join(root, "ImageSets/Segmentation", name + ".txt"), "w").write("".join(k + "\n" for k in ids))


def squares(root, n, n_train, ignore_corner=False):
    """n images of 3 classes (red, green, blue 12x12 squares, one or two classes an image, on noise;
    40x32 and 36x44 alternately), img00.. of which the first n_train form the train split and the
    rest (if any) the val split; ignore_corner marks mask pixel (0, 0) 255. Fixed seed: the same
    images every time."""
    import numpy as np
    start(root, ["red", "green", "blue"])
    rng = np.random.RandomState(0)
    colors = {1: (220, 30, 30), 2: (30, 200, 40), 3: (40, 40, 230)}
    ids = []
    for i in range(n):
        w, h = (40, 32) if i % 2 else (36, 44)
        rgb = (rng.rand(h, w, 3) * 60 + 90).astype(np.uint8)
        m = np.zeros((h, w), np.uint8)
        for c in sorted(rng.choice([1, 2, 3], size=1 + i % 2, replace=False)):
            y0, x0 = rng.randint(0, h - 12), rng.randint(0, w - 12)
            rgb[y0:y0 + 12, x0:x0 + 12] = colors[c]
            m[y0:y0 + 12, x0:x0 + 12] = c
        if ignore_corner:
            m[0, 0] = 255
        k = "img%02d" % i
        ids.append(k)
        save(root, k, rgb, m)
    write_split(root, "train", ids[:n_train])
    if n_train < n:
        write_split(root, "val", ids[n_train:])
