"""Reference semantic masks of a small COCO annotation file, for tests/unit/test_coco.c; written from
the COCO format's published definition and the rules of include/wsss/coco.h, not from the C code
under test, and by other algorithms:
  polygons  per pixel, the crossing-parity test at the pixel centre (x + 0.5, y + 0.5), vectorised
            over the whole image (the C code fills spans between sorted crossings row by row): an
            edge (xa, ya) -> (xb, yb) counts when (ya > py) != (yb > py) and
            px < xa + (py - ya) * (xb - xa) / (yb - ya); odd = inside; an annotation's polygons united;
  RLE       counts of alternating 0/1 runs, 0s first, laid out in column-major (Fortran) order;
            COCO's compressed string decoded per its definition (chars - 48, 5 bits each, 0x20 =
            more, 0x10 of the last = negative, from index 3 on a delta from counts[i - 2]); an
            encoder of the same definition writes the strings, and the decoder must invert it;
  overlaps  non-crowd annotations painted in file order (later over earlier), then crowds as 255
            only where the mask is still 0.
Categories have non-contiguous ids listed out of order (90, 3, 7): classes follow the id order.

The cases: hand-made polygons (concave, a bowtie, a pentagram whose centre the even-odd rule leaves
out, edges and vertices exactly on pixel centres, parts outside the image, a two-point polygon, a
sub-pixel one, two polygons in one annotation), RLE lists and strings (crowd and not, a crowd
around an object), an image without annotations, and random polygons with COCO-like coordinates
(two decimals) on a larger image.

tests/unit/coco_cli.sh imports semantic_mask to check the mask cache of the folder it writes.

Run: /usr/bin/python3 scripts/gen_fixtures_coco.py
Writes tests/fixtures/coco_raster.json (the annotation file) and tests/fixtures/coco_raster.safetensors
(U8 "mask.<id>" [height, width] per image; metadata "ids")."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402

HERE = os.path.dirname(__file__)
OUT_JSON = os.path.join(HERE, "..", "tests", "fixtures", "coco_raster.json")
OUT_ST = os.path.join(HERE, "..", "tests", "fixtures", "coco_raster.safetensors")
CATEGORIES = [{"id": 90, "name": "zebra"}, {"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}]
CLASS_OF = {c: k + 1 for k, c in enumerate(sorted(c["id"] for c in CATEGORIES))}


# ---- the reference rules

def polygon_region(coords, w, h):
    xs, ys = coords[0::2], coords[1::2]
    n = len(xs)
    px = np.arange(w, dtype=np.float64)[None, :] + 0.5
    py = np.arange(h, dtype=np.float64)[:, None] + 0.5
    px, py = np.broadcast_to(px, (h, w)), np.broadcast_to(py, (h, w))
    inside = np.zeros((h, w), bool)
    for k in range(n):
        xa, ya, xb, yb = xs[k], ys[k], xs[(k + 1) % n], ys[(k + 1) % n]
        cond = (ya > py) != (yb > py)
        with np.errstate(all="ignore"):
            xc = xa + (py - ya) * (xb - xa) / (yb - ya)
        inside ^= cond & (px < xc)
    return inside


def rle_string_decode(s):
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_string_encode(counts):
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            ch = x & 0x1F
            x >>= 5
            done = (x == 0 and not ch & 0x10) or (x == -1 and ch & 0x10)
            out.append(chr((ch if done else ch | 0x20) + 48))
            if done:
                break
    s = "".join(out)
    assert rle_string_decode(s) == list(counts), "the encoder and the decoder disagree"
    return s


def rle_region(seg, w, h):
    assert seg["size"] == [h, w]
    counts = seg["counts"]
    if isinstance(counts, str):
        counts = rle_string_decode(counts)
    assert sum(counts) == h * w and min(counts) >= 0
    flat = np.zeros(h * w, bool)
    p = 0
    for j, c in enumerate(counts):
        if j % 2:
            flat[p:p + c] = True
        p += c
    return flat.reshape((h, w), order="F")


def region(seg, w, h):
    if isinstance(seg, dict):
        return rle_region(seg, w, h)
    out = np.zeros((h, w), bool)
    for poly in seg:
        out |= polygon_region(poly, w, h)
    return out


def semantic_mask(image, anns, class_of=None):
    """class_of: category id -> class (default: the fixture's categories in id order)."""
    class_of = class_of or CLASS_OF
    w, h = image["width"], image["height"]
    mask = np.zeros((h, w), np.uint8)
    for a in anns:
        if not a.get("iscrowd", 0):
            mask[region(a["segmentation"], w, h)] = class_of[a["category_id"]]
    for a in anns:
        if a.get("iscrowd", 0):
            mask[region(a["segmentation"], w, h) & (mask == 0)] = 255
    return mask


# ---- the cases

def counts_of(region_mask):
    """RLE counts (0s first, column-major) of a boolean mask."""
    flat = region_mask.reshape(-1, order="F").astype(np.int8)
    counts, cur, run = [], 0, 0
    for v in flat:
        if v == cur:
            run += 1
        else:
            counts.append(run)
            cur, run = v, 1
    counts.append(run)
    return counts


def disk(w, h, cx, cy, r):
    yy, xx = np.mgrid[0:h, 0:w]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def build():
    images, anns = [], []

    def add_image(name, w, h):
        images.append({"id": 1000 + len(images), "file_name": name + ".jpg", "width": w, "height": h,
                       "license": 1})
        return images[-1]["id"]

    def add(image_id, cat, seg, crowd=0):
        anns.append({"id": 500 + len(anns), "image_id": image_id, "category_id": cat, "segmentation": seg,
                     "area": 0.0, "bbox": [0, 0, 0, 0], "iscrowd": crowd})

    i = add_image("poly", 37, 29)
    add(i, 3, [[2, 2, 20, 2, 20, 12, 11, 6, 2, 12]])                      # concave ("M" shape)
    add(i, 7, [[22, 1, 35, 14, 35, 1, 22, 14]])                           # bowtie
    add(i, 90, [[10.5, 14.5, 16.5, 27.5, 2.5, 19.5, 18.5, 19.5, 4.5, 27.5]])  # pentagram, centre out
    add(i, 3, [[24.5, 16.5, 30.5, 16.5, 30.5, 22.5, 24.5, 22.5]])          # edges on pixel centres
    add(i, 7, [[28, 20, 45, 20, 45, 40, 28, 40], [-5, -3, 1.2, -3, 1.2, 30, -5, 30]])  # two, partly outside
    add(i, 90, [[33.2, 25.1, 33.7, 25.2, 33.4, 25.8]])                      # sub-pixel triangle
    add(i, 3, [[5, 5, 9, 9]])                                              # two points
    add(i, 90, [[12.25, 3.75, 14.75, 3.75, 14.75, 8.25]])                  # over the concave one

    i = add_image("rle", 23, 17)
    add(i, 7, [[3, 3, 12, 3, 12, 10, 3, 10]])                                         # an object...
    add(i, 90, {"counts": counts_of(disk(23, 17, 8, 7, 6)), "size": [17, 23]}, crowd=1)  # ...in a crowd
    add(i, 3, {"counts": rle_string_encode(counts_of(disk(23, 17, 17, 9, 5))), "size": [17, 23]})
    add(i, 7, {"counts": rle_string_encode(counts_of(disk(23, 17, 20, 2, 3))), "size": [17, 23]}, crowd=1)

    add_image("empty", 10, 8)

    i = add_image("overlap", 30, 20)
    add(i, 3, [[0, 0, 30, 0, 30, 20, 0, 20]], crowd=1)                     # a crowd first in the file
    add(i, 90, [[5, 5, 15, 5, 15, 15, 5, 15]])                             # an object inside it
    add(i, 7, [[10, 8, 25, 8, 25, 12, 10, 12]])                            # later object over the first

    rng = np.random.RandomState(7)
    i = add_image("random", 61, 47)
    for k in range(14):
        n = rng.randint(3, 12)
        cx, cy = rng.uniform(-5, 66), rng.uniform(-5, 52)
        ang = np.sort(rng.uniform(0, 2 * np.pi, n)) if k % 3 else rng.uniform(0, 2 * np.pi, n)  # some self-crossing
        rad = rng.uniform(3, 20, n)
        pts = []
        for a, r in zip(ang, rad):
            pts += [round(float(cx + r * np.cos(a)), 2), round(float(cy + r * np.sin(a)), 2)]
        add(i, [90, 3, 7][k % 3], [pts], crowd=int(k % 5 == 4))

    return {"info": {"description": "wsss COCO rasteriser fixture"}, "licenses": [],
            "images": images, "annotations": anns, "categories": CATEGORIES}


def main():
    doc = build()
    with open(OUT_JSON, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    doc = json.load(open(OUT_JSON))  # the masks of exactly what was written
    tensors, ids = {}, []
    for im in doc["images"]:
        stem = im["file_name"].rsplit(".", 1)[0]
        anns = [a for a in doc["annotations"] if a["image_id"] == im["id"]]
        m = semantic_mask(im, anns)
        tensors["mask." + stem] = torch.from_numpy(m.copy())
        ids.append(stem)
        print("%-8s %dx%d: %s" % (stem, im["width"], im["height"],
                                  ", ".join("%d:%d" % (v, (m == v).sum()) for v in np.unique(m))))
    st_io.save(OUT_ST, tensors, {"ids": " ".join(ids)})


if __name__ == "__main__":
    main()
