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
