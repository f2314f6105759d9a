#!/usr/bin/env bash
# `wsss report` rendered by headless Chromium: a synthetic run directory (logs, metrics from
# `wsss eval-masks`, a CAM-sweep metrics file, sample images) -> report.html -> screenshot, which
# must show the tables, the SVG curves and the inlined images (checked on its pixels with PIL).
# Installs Debian's chromium when it is missing and we are root (CI); otherwise fails with a hint.
# Usage: bash report_chromium.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "report_chromium: installing chromium"
        (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >"$TMP/apt.log" 2>&1 ||
            { echo "FAIL: apt-get install chromium failed"; tail -20 "$TMP/apt.log"; exit 1; }
    else
        echo "FAIL: chromium is not installed (apt-get install chromium, or make deps-test)"
        exit 1
    fi
fi

RUN="$TMP/run"
/usr/bin/python3 - "$TMP" <<'EOF' || { echo "FAIL: cannot build the run directory with /usr/bin/python3 + PIL"; exit 1; }
import json, math, os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
run = f"{root}/run"
for d in ("logs", "metrics", "samples", "gt", "pred"):
    os.makedirs(f"{run}/{d}" if d in ("logs", "metrics", "samples") else f"{root}/{d}", exist_ok=True)

def voc_palette():
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal
PAL = voc_palette()

def save_mask(path, m):
    im = Image.fromarray(m.astype(np.uint8), "P")
    im.putpalette(PAL)
    im.save(path)

def jet(v):
    c = lambda x: np.clip(x, 0, 1)
    return np.stack([c(1.5 - abs(4 * v - 3)), c(1.5 - abs(4 * v - 2)), c(1.5 - abs(4 * v - 1))], -1)

W, H = 64, 48
yy, xx = np.mgrid[0:H, 0:W]
for k in range(4):
    cls = 1 + k % 3
    ident = f"img{k}"
    inside = (xx >= 10 + 3 * k) & (xx < 50) & (yy >= 8) & (yy < 40)
    rgb = np.stack([xx * 4, yy * 5, np.full_like(xx, 120)], -1).astype(np.float64)
    rgb[inside] = [230, 70 * cls % 256, 50]
    heat = np.exp(-(((xx - 30) / 14.0) ** 2 + ((yy - 24) / 10.0) ** 2))
    gt = np.where(inside, cls, 0)
    gt[:, 0] = 255
    pred = np.where(heat > 0.35, cls, 0)
    pseudo = np.where(heat > 0.5, cls, np.where(heat < 0.2, 0, 255))
    Image.fromarray(rgb.astype(np.uint8)).save(f"{run}/samples/{ident}_image.png")
    cam = 0.5 * rgb + 0.5 * 255 * jet(heat)
    Image.fromarray(np.round(cam).astype(np.uint8)).save(f"{run}/samples/{ident}_cam.png")
    save_mask(f"{run}/samples/{ident}_pseudo.png", pseudo)
    save_mask(f"{run}/samples/{ident}_pred.png", pred)
    save_mask(f"{run}/samples/{ident}_gt.png", gt)
    save_mask(f"{root}/gt/{ident}.png", gt)
    save_mask(f"{root}/pred/{ident}.png", pred)
open(f"{root}/classes.txt", "w").write("background\ncat\ndog\nbird\n")

with open(f"{run}/logs/train-cls.jsonl", "w") as f:
    for s in range(1, 301):
        f.write(json.dumps({"stage": "train-cls", "time": s * 0.1, "step": s, "epoch": (s - 1) // 100,
                            "loss": 0.7 * math.exp(-s / 80) + 0.05, "lr": 0.01 * (1 - (s - 1) / 300) ** 0.9}) + "\n")
with open(f"{run}/logs/train-seg.jsonl", "w") as f:
    for s in range(0, 200, 5):
        f.write(json.dumps({"stage": "train-seg", "step": s, "loss": 2 / (1 + s / 20), "lr": 2.5e-4 * (1 - s / 200)}) + "\n")

# a CAM-sweep metrics file in the metrics.h format (values made up, shape of a real sweep)
ts = [j / 100 for j in range(60)]
mi = [0.2 + 0.5 * math.exp(-((t - 0.31) / 0.15) ** 2) for t in ts]
best = max(range(60), key=lambda j: mi[j])
names = ["background", "cat", "dog", "bird"]
json.dump({"kind": "cam_sweep", "stage": "cam", "split": "train", "num_images": 4, "num_classes": 4,
           "miou": mi[best], "pixel_acc": 0.8, "mean_acc": 0.7, "frac_ignored": 0.0, "valid_pixels": 12000,
           "classes": [{"index": i, "name": n, "iou": 0.5 + 0.1 * i, "precision": None, "recall": None,
                        "gt_pixels": 1, "pred_pixels": 1} for i, n in enumerate(names)],
           "confusion": [[100 if g == p else 5 for p in range(5)] for g in range(4)],
           "best_threshold": ts[best], "thresholds": ts, "miou_per_threshold": mi,
           "fixed": {"0.15": mi[15], "0.2": mi[20], "0.3": mi[30]}}, open(f"{run}/metrics/cam.json", "w"), indent=1)
EOF

WSSS_PROGRESS=0 "$WSSS" eval-masks --gt "$TMP/gt" --pred "$TMP/pred" --classes "$TMP/classes.txt" \
    --stage eval-seg --split val --json "$RUN/metrics/eval-seg.json" >"$TMP/eval.txt" 2>&1
check "eval-masks writes the metrics" test $? -eq 0
"$WSSS" report "$RUN" >"$TMP/report.txt" 2>&1
check "wsss report exits 0" test $? -eq 0
check "report.html written" test -s "$RUN/report.html"

SHOT="$TMP/shot.png"
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$TMP/chromium-profile" --screenshot="$SHOT" --window-size=1200,3000 \
    "file://$(cd "$RUN" && pwd)/report.html" >"$TMP/chromium.log" 2>&1
check "chromium wrote a screenshot" test -s "$SHOT"

# The screenshot is not blank and shows what the page contains: many colours, the blue plot
# lines (#1f77b4), the IoU bars (#c6dbef), and the VOC class colours of the inlined masks
# (cat 128,0,0; dog 0,128,0; bird 128,128,0), drawn pixelated so they appear exactly.
check "screenshot shows the report" /usr/bin/python3 - "$SHOT" <<'EOF'
import sys
import numpy as np
from PIL import Image
im = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(np.int32)
h, w, _ = im.shape
flat = im.reshape(-1, 3)
colors = len(np.unique(flat[:, 0] * 65536 + flat[:, 1] * 256 + flat[:, 2]))
nonwhite = float(np.mean(np.any(flat < 245, axis=1)))
def near(rgb, tol=12):
    return int(np.sum(np.all(np.abs(flat - np.array(rgb)) <= tol, axis=1)))
res = {"size": (w, h), "colors": colors, "nonwhite": round(nonwhite, 3), "plot_blue": near((31, 119, 180), 30),
       "iou_bar": near((198, 219, 239), 4), "cat": near((128, 0, 0), 2), "dog": near((0, 128, 0), 2),
       "bird": near((128, 128, 0), 2)}
print("screenshot:", res)
ok = (w == 1200 and colors >= 200 and nonwhite > 0.03 and res["plot_blue"] > 300 and res["iou_bar"] > 200
      and res["cat"] > 500 and res["dog"] > 500 and res["bird"] > 500)
sys.exit(0 if ok else 1)
EOF

cli_summary report_chromium "(screenshot: $SHOT)"
