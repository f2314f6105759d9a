#!/usr/bin/python3
"""Table and ratio lines for the model benchmarks (bench/run.sh).

Usage: compare.py RESULTS  -- RESULTS holds `result {json}` lines from bench_models (side "wsss")
and torch_bench.py (side "torch"), one per workload and side. Prints a table, then one line per
workload:  ratio <workload> <wsss_speed / torch_speed>  and  memratio <workload> <wsss_peak_rss /
torch_peak_rss>. Speed is images/s for the model workloads; for `peak` it is the GFLOP/s of one
large 3x3 convolution (the table also shows the GFLOP/s of the whole ResNet-50 training step and
its fraction of that convolution's rate, the "efficiency")."""
import json
import sys

ORDER = ["train_resnet50_b8_224", "train_resnet18_b64_64", "train_vgg16d_b5_256", "train_aff_r50_b8_448",
         "train_eader_r50_r18_b8_224",
         "infer_resnet50os8_b1_448", "rw_500x375", "peak"]


def load(path):
    res = {}
    with open(path) as f:
        for line in f:
            if line.startswith("result "):
                r = json.loads(line[len("result "):])
                wl = r["workload"] + ("+" + r["variant"] if r.get("variant") else "")
                res[(r["side"], wl)] = r
    return res


def speed(r, wl):
    return r["gflops"] if wl == "peak" else r["images_per_s"]


def main():
    res = load(sys.argv[1])
    unit = {"peak": "GFLOP/s", "rw_500x375": "walk/s"}
    print("%-26s %12s %12s %7s %11s %11s %8s" % ("workload", "wsss", "torch", "ratio", "wsss RSS", "torch RSS", "memratio"))
    lines = []
    for wl in ORDER:
        w, t = res.get(("wsss", wl)), res.get(("torch", wl))
        if not w:
            print("%-26s (wsss result missing)" % wl)
            continue
        u = unit.get(wl, "img/s")
        ws = speed(w, wl)
        if t:
            ts = speed(t, wl)
            ratio, mem = ws / ts, w["peak_rss_mb"] / t["peak_rss_mb"]
            print("%-26s %6.2f %-5s %6.2f %-5s %7.3f %8.0f MB %8.0f MB %8.3f" % (
                wl, ws, u, ts, u, ratio, w["peak_rss_mb"], t["peak_rss_mb"], mem))
            lines.append("ratio %s %.3f" % (wl, ratio))
            lines.append("memratio %s %.3f" % (wl, mem))
        else:
            print("%-26s %6.2f %-5s %12s %7s %8.0f MB" % (wl, ws, u, "-", "-", w["peak_rss_mb"]))
    # optional variants (e.g. wsss with Winograd convolutions): informational, not ratio lines
    for (side, wl), r in sorted(res.items()):
        if side != "wsss" or "+" not in wl:
            continue
        base, variant = wl.split("+", 1)
        t = res.get(("torch", base))
        if t:
            print("# %s with %s: %.2f img/s, %.3f x torch, RSS %.0f MB (%.3f x torch)" % (
                base, variant, r["images_per_s"], r["images_per_s"] / t["images_per_s"], r["peak_rss_mb"],
                r["peak_rss_mb"] / t["peak_rss_mb"]))
    # the peak workload's second half: the ResNet-50 training step against the big convolution
    step_flops = None
    for side in ("torch", "wsss"):
        r = res.get((side, "train_resnet50_b8_224"))
        if r and r.get("flops_per_run"):
            step_flops = r["flops_per_run"]
            break
    if step_flops:
        print("ResNet-50 training step (b8 224): %.1f GFLOP (conv/linear multiply-adds x2, forward + "
              "both backward passes)" % (step_flops / 1e9))
        for side in ("wsss", "torch"):
            s, p = res.get((side, "train_resnet50_b8_224")), res.get((side, "peak"))
            if s and p:
                g = step_flops / s["median_s"] / 1e9
                print("  %-5s step %6.1f GFLOP/s, one 3x3 conv 8x256x56x56 %6.1f GFLOP/s: efficiency %3.0f%%"
                      % (side, g, p["gflops"], 100 * g / p["gflops"]))
    for side in ("wsss", "torch"):
        vs = sorted({r["version"] for (sd, _), r in res.items() if sd == side})
        for v in vs:
            print("%s: %s" % (side, v))
    for wl in ORDER:
        for side in ("wsss", "torch"):
            r = res.get((side, wl))
            if r:
                print("# %s %s run times (s): %s" % (side, wl, " ".join("%.3f" % x for x in r["times_s"])))
    for l in lines:
        print(l)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main()
