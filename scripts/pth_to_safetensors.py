"""Convert a PyTorch .pth file (a state_dict, or a checkpoint dict holding one under "state_dict" or
"model") to safetensors with the same key names, for `wsss forward --weights` and model loading.

  /usr/bin/python3 scripts/pth_to_safetensors.py IN.pth OUT.safetensors [--strip PREFIX] [--add-prefix PREFIX]

- "module." prefixes (nn.DataParallel / DistributedDataParallel) are removed;
- every tensor is written contiguous, in its own dtype (num_batches_tracked stays I64);
  float16/bfloat16 become float32 (wsss reads F32/F64/U8/I32/I64), bool becomes U8;
- --strip PREFIX removes PREFIX from every key that has it; --add-prefix PREFIX prepends PREFIX
  (e.g. "backbone." to put ImageNet ResNet weights under a segmentation model's backbone);
- non-tensor entries are reported and skipped.
Run with Debian's /usr/bin/python3 (it has torch)."""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402


def extract_state_dict(obj, path):
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if not isinstance(obj, dict):
        raise SystemExit(f"{path}: expected a state_dict or a checkpoint dict, got {type(obj).__name__}")
    for key in ("state_dict", "model", "model_state_dict", "net"):
        inner = obj.get(key)
        if isinstance(inner, torch.nn.Module):
            return inner.state_dict()
        if isinstance(inner, dict) and any(torch.is_tensor(v) for v in inner.values()):
            return inner
    return obj


def convert(src, dst, strip=None, add_prefix=None, verbose=False):
    obj = torch.load(src, map_location="cpu")
    sd = extract_state_dict(obj, src)
    out, skipped = {}, []
    for key, value in sd.items():
        if not torch.is_tensor(value):
            skipped.append(key)
            continue
        name = key
        while name.startswith("module."):
            name = name[len("module."):]
        if strip and name.startswith(strip):
            name = name[len(strip):]
        if add_prefix:
            name = add_prefix + name
        t = value.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.float()
        elif t.dtype == torch.bool:
            t = t.to(torch.uint8)
        elif t.dtype in (torch.int8, torch.int16):
            t = t.to(torch.int32)
        if name in out:
            raise SystemExit(f"{src}: two entries map to the key {name!r}")
        out[name] = t.contiguous()
    if not out:
        raise SystemExit(f"{src}: no tensors found")
    st_io.save(dst, out)
    if verbose:
        n = sum(t.numel() for t in out.values())
        print(f"{dst}: {len(out)} tensors, {n} values" + (f"; skipped non-tensor entries {skipped}" if skipped else ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", metavar="IN.pth")
    ap.add_argument("dst", metavar="OUT.safetensors")
    ap.add_argument("--strip", metavar="PREFIX", help="remove PREFIX from keys that start with it")
    ap.add_argument("--add-prefix", metavar="PREFIX", help="prepend PREFIX to every key")
    a = ap.parse_args()
    convert(a.src, a.dst, a.strip, a.add_prefix, verbose=True)


if __name__ == "__main__":
    main()
