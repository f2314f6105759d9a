"""Fixture for tests/parity/test_safetensors_interop.c: a safetensors file written from torch by
scripts/st_io.py with every dtype, 0-d / empty / 5-d / odd shapes, a transposed (non-contiguous)
tensor, special float values, a non-ASCII name and metadata. Values follow simple formulas the C
test recomputes exactly (IEEE-exact operations only).

It also stores, as the U8 tensor "pyfile", the raw bytes of a second file written by st_io.save
(no metadata) so the C test can check that its writer produces the same bytes.

Run: /usr/bin/python3 scripts/gen_st_interop.py  (writes tests/fixtures/st_interop.safetensors)
"""
import math
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "st_interop.safetensors")


def tensors():
    t = {}
    # float32: (i - 50) / 3 computed in float32 (correctly rounded division)
    t["f32.odd"] = ((torch.arange(105, dtype=torch.float32) - 50) / 3).reshape(3, 5, 7)
    t["f32.special"] = torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 2.0 ** -149,
                                     3.4028234663852886e38, 2.0 ** -126], dtype=torch.float32)
    # float64, 5 dims: i / 3 - 1
    t["f64.five"] = (torch.arange(12, dtype=torch.float64) / 3 - 1).reshape(2, 1, 3, 1, 2)
    t["f64.scalar"] = torch.tensor(math.pi, dtype=torch.float64)
    t["u8.img"] = ((torch.arange(60, dtype=torch.int64) * 37) % 256).to(torch.uint8).reshape(4, 3, 5)
    t["i32.lab"] = torch.cat([torch.tensor([-2 ** 31, 2 ** 31 - 1, -1, 0, 255], dtype=torch.int32),
                              torch.arange(6, dtype=torch.int32) * -7919])
    t["i64.big"] = torch.tensor([[2 ** 62 + 1, -2 ** 63, 2 ** 63 - 1],
                                 [-1, 0, 12345678901234567]], dtype=torch.int64)
    t["bn.num_batches_tracked"] = torch.tensor(1234, dtype=torch.int64)
    t["empty.f32"] = torch.zeros(0, 4, dtype=torch.float32)
    t["empty.i64"] = torch.zeros(3, 0, 2, dtype=torch.int64)
    # non-contiguous in torch: arange(10).reshape(2, 5).t() -> element [r][c] = c * 5 + r
    tr = torch.arange(10, dtype=torch.float32).reshape(2, 5).t()
    assert not tr.is_contiguous()
    t["t.transposed"] = tr
    t["name with spaces/\u00e9\u20ac"] = torch.tensor([7, 8, 9], dtype=torch.int32)
    return t


def main():
    t = tensors()
    # second file: a subset without metadata, embedded byte for byte
    subset = {k: t[k] for k in ["f32.odd", "i64.big", "u8.img", "f64.scalar", "empty.f32", "i32.lab"]}
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "sub.safetensors")
        st_io.save(p, subset)
        with open(p, "rb") as f:
            raw = f.read()
    t["pyfile"] = torch.tensor(list(raw), dtype=torch.uint8)
    meta = {"format": "pt", "note": "line1\nquote\" \u00e9", "generator": "gen_st_interop.py"}
    st_io.save(OUT, t, meta)
    # self-check with the reference reader
    back = st_io.load(OUT)
    for k, v in t.items():
        v = v.contiguous()
        assert back[k].dtype == v.dtype and back[k].shape == v.shape, k
        assert torch.equal(back[k], v) or (v.is_floating_point() and
                                           torch.equal(torch.isnan(back[k]), torch.isnan(v))), k
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(t)} tensors)")


if __name__ == "__main__":
    main()
