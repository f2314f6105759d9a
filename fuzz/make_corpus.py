#!/usr/bin/python3
"""Writes the fuzzers' seed corpus (fuzz/corpus/<harness>/): small valid and near-valid files.

Run with Debian's python (PIL, numpy): /usr/bin/python3 fuzz/make_corpus.py. The output is committed;
crashers found later are added next to these files by hand (named crash-<what>)."""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(harness, name, data):
    d = os.path.join(ROOT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def json_seeds():
    state = {
        "format": "wsss-checkpoint", "version": 1, "step": 12, "epoch": 3, "lr": 0.0049,
        "lr_schedule": {"kind": "poly", "base_lr": 0.01, "gamma": 0.1, "milestones": [4, 8], "power": 0.9,
                        "max_iter": 40},
        "rng": {"s": ["0x0123456789abcdef", "0xfedcba9876543210", "0x0000000000000001", "0x8000000000000000"],
                "spare_bits": "0x3ff0000000000000", "has_spare": True},
        "data_position": [3, 0],
        "config": json.dumps({"stage": "train-cls", "arch": "resnet18-os16", "epochs": 6, "lr": 0.05,
                              "data": "data/voc", "backbone_weights": None}),
        "timestamp": "2024-01-02T03:04:05Z", "has_optimizer": True,
    }
    put("json", "state.json", json.dumps(state, indent=2))
    put("json", "cls_config.json", state["config"])
    put("json", "seg_config.json", json.dumps({"stage": "train-seg", "arch": "deeplab-v2-resnet101",
                                               "crop": 321, "lr": 0.001, "gt": 0, "pseudo": None}))
    put("json", "strings.json", r'["", "a\"b\\c\/d\b\f\n\r\t", "\u0041\u00e9\u20ac", "\ud83d\ude00", "raw é € 😀", "a\u0000b"]')
    put("json", "numbers.json", "[0, -0, 1, -1, 9223372036854775807, -9223372036854775808, 9223372036854775808, "
                                "1.5, -2.25e-3, 1E+308, 4.9e-324, 123456789012345678901234567890]")
    put("json", "literals.json", '{"t": true, "f": false, "n": null, "o": {}, "a": [], "nested": {"k": [1, {"x": null}]}}')
    put("json", "deep.json", "[" * 64 + "]" * 64)
    put("json", "too_deep.json", "[" * 65 + "]" * 65)
    put("json", "dup_key.json", '{"a": 1, "b": 2, "a": 3}')
    put("json", "truncated.json", '{"format": "wsss-checkpoint", "version": 1, "st')
    put("json", "bad_escape.json", r'"\ud800\u0041"')


def st_file(tensors, meta=None, pad=True):
    """tensors: list of (name, dtype, shape, bytes); returns safetensors bytes."""
    header, off, blobs = {}, 0, []
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def safetensors_seeds():
    f32 = np.arange(6, dtype=np.float32).tobytes()
    put("safetensors", "f32.safetensors", st_file([("w", "F32", [2, 3], f32)], {"arch": "resnet18-os16"}))
    put("safetensors", "all_dtypes.safetensors", st_file([
        ("a", "F32", [2], np.array([1.5, -2], np.float32).tobytes()),
        ("b", "F64", [1], np.array([3.25], np.float64).tobytes()),
        ("c", "U8", [3], bytes([0, 7, 255])),
        ("d", "I32", [2], np.array([-5, 70000], np.int32).tobytes()),
        ("e", "I64", [2], np.array([-1, 1 << 40], np.int64).tobytes()),
    ]))
    put("safetensors", "scalar_empty.safetensors", st_file([
        ("s", "F32", [], np.array([7], np.float32).tobytes()),
        ("z", "F32", [0, 4], b""),
    ], {"k": "v", "n": ""}))
    put("safetensors", "cam.safetensors", st_file([
        ("cams", "F32", [1, 2, 2], np.array([0, 0.5, 1, 0.25], np.float32).tobytes()),
        ("classes", "I32", [1], np.array([3], np.int32).tobytes()),
    ], {"id": "img00", "num_classes": "4", "norm": "max", "scales": "1", "flip": "1"}))
    put("safetensors", "unsupported_dtype.safetensors", st_file([("h", "F16", [2], b"\0\0\0\0")]))
    overlap = b'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}'
    put("safetensors", "overlap.safetensors", struct.pack("<Q", len(overlap)) + overlap + b"xyz")
    put("safetensors", "truncated.safetensors", st_file([("w", "F32", [2, 3], f32)])[:-5])
    put("safetensors", "huge_header_len.safetensors", struct.pack("<Q", (1 << 64) - 1) + b"{}")


def img_bytes(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def png_seeds():
    rng = np.random.RandomState(1)
    rgb = Image.fromarray((rng.rand(5, 7, 3) * 255).astype(np.uint8))
    put("png", "rgb.png", img_bytes(rgb, "PNG"))
    put("png", "rgba.png", img_bytes(rgb.convert("RGBA"), "PNG"))
    grey = Image.fromarray((rng.rand(4, 6) * 255).astype(np.uint8))
    put("png", "grey.png", img_bytes(grey, "PNG"))
    put("png", "grey_alpha.png", img_bytes(grey.convert("LA"), "PNG"))
    put("png", "grey16.png", img_bytes(Image.fromarray((rng.rand(3, 5) * 200).astype(np.uint16)), "PNG"))
    put("png", "grey16_big.png", img_bytes(Image.fromarray((rng.rand(3, 5) * 60000).astype(np.uint16)), "PNG"))
    put("png", "bilevel.png", img_bytes(grey.convert("1"), "PNG"))
    m = Image.fromarray(np.array([[0, 1, 2, 255], [3, 0, 255, 1]], np.uint8), "P")
    m.putpalette([(j * 37) % 256 for j in range(768)])
    put("png", "palette_mask.png", img_bytes(m, "PNG"))
    put("png", "palette_4bit.png", img_bytes(m, "PNG", bits=4))
    put("png", "palette_trns.png", img_bytes(m, "PNG", transparency=0))
    put("png", "interlaced.png", interlaced_png(np.asarray(rgb)))
    put("png", "truncated.png", img_bytes(rgb, "PNG")[:60])


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def interlaced_png(rgb):
    """An Adam7-interlaced 8-bit RGB PNG (PIL does not write interlaced files)."""
    h, w, _ = rgb.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b"\0" + row.tobytes()  # filter type 0
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) +
            png_chunk(b"IEND", b""))


def jpeg_seeds():
    rng = np.random.RandomState(2)
    rgb = Image.fromarray((rng.rand(12, 17, 3) * 255).astype(np.uint8))
    put("jpeg", "rgb420.jpg", img_bytes(rgb, "JPEG", quality=90))
    put("jpeg", "rgb444.jpg", img_bytes(rgb, "JPEG", quality=90, subsampling=0))
    put("jpeg", "progressive.jpg", img_bytes(rgb, "JPEG", quality=80, progressive=True))
    put("jpeg", "grey.jpg", img_bytes(rgb.convert("L"), "JPEG", quality=90))
    put("jpeg", "cmyk.jpg", img_bytes(rgb.convert("CMYK"), "JPEG", quality=90))
    put("jpeg", "restart.jpg", img_bytes(rgb, "JPEG", quality=70, restart_marker_blocks=1)
        if _supports_restart() else img_bytes(rgb, "JPEG", quality=70))
    put("jpeg", "truncated.jpg", img_bytes(rgb, "JPEG", quality=90)[:-40])


def _supports_restart():
    try:
        img_bytes(Image.new("RGB", (8, 8)), "JPEG", restart_marker_blocks=1)
        return True
    except Exception:
        return False


def list_seeds():
    # classes.txt \0 list \0 cls_labels.txt (see fuzz_lists.c)
    put("lists", "voc_defaults", "\0a\nb\nc\n2007_000032\n\0a 1 15\nb 3\nc 20 2\n2007_000032 12\n")
    put("lists", "own_classes", "background\nred\ngreen\nblue\n\0a\nJPEGImages/b.png extra\n  c  \r\nimg00\n\0"
                                "a 1,2\nb\t3\nc 1 1\nimg00 2\n")
    put("lists", "no_cls_labels", "background\nx\n\0a\nb\nmissing\n")
    put("lists", "bad_cls_lines", "\0a\nb\nc\n\0a 0\nb x\nc 21\na 2\n")
    put("lists", "crlf", "background\r\ncat\r\n\r\n\0a\r\nb\r\n\0a 1\r\nb 1\r\n")


def coco_seeds():
    cats = [{"id": 90, "name": "zebra"}, {"id": 3, "name": "cat"}]
    images = [{"id": 1, "file_name": "a.jpg", "width": 12, "height": 9},
              {"id": 2, "file_name": "sub/b.png", "width": 7, "height": 5},
              {"id": 3, "file_name": "c.jpg", "width": 4, "height": 4}]
    anns = [{"id": 10, "image_id": 1, "category_id": 3, "iscrowd": 0,
             "segmentation": [[1, 1, 10.5, 1, 10.5, 7.25, 1, 7.25], [0, 0, 3, 0, 0, 3]]},
            {"id": 11, "image_id": 1, "category_id": 90, "iscrowd": 1,
             "segmentation": {"counts": [0, 45, 63], "size": [9, 12]}},
            {"id": 12, "image_id": 2, "category_id": 90, "segmentation": {"counts": "555M=", "size": [5, 7]}},
            {"id": 13, "image_id": 2, "category_id": 3, "segmentation": [[2, 0, 6, 4, 6, 0, 2, 4]], "area": 3.5}]
    good = {"info": {}, "images": images, "annotations": anns, "categories": cats}
    put("coco", "good.json", json.dumps(good))
    bad = json.loads(json.dumps(good))
    bad["annotations"][0]["segmentation"][0].append(3)        # odd polygon
    bad["annotations"][2]["segmentation"]["counts"] = "5555"   # RLE sum
    bad["annotations"][3]["category_id"] = 4                   # unknown category
    bad["annotations"].append({"id": 14, "image_id": 99, "category_id": 3, "segmentation": []})
    put("coco", "bad_annotations.json", json.dumps(bad))
    put("coco", "truncated.json", json.dumps(good)[:300])
    put("coco", "rle_string", "ooooo0Mh0T3")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        ROOT = sys.argv[1]
    json_seeds()
    safetensors_seeds()
    png_seeds()
    jpeg_seeds()
    list_seeds()
    coco_seeds()
