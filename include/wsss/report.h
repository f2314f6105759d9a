/* `wsss report RUN_DIR`: one self-contained HTML page about a run (no external files or scripts:
 * images are inlined as base64 data URIs, curves are inline SVG).
 *
 * What the report reads (everything is optional; a missing piece is shown as "not run"):
 *   RUN_DIR/logs/<stage>.jsonl      stage logs written with runlog.h (loss*, lr, step, time, ...)
 *   RUN_DIR/metrics/<stage>.json    metrics JSON written with metrics.h (wsss_metrics_json_*):
 *                                   "kind", "split", "num_images", "miou", "pixel_acc",
 *                                   "frac_ignored", "classes" [{index, name, iou}], "confusion",
 *                                   cam_sweep: "best_threshold", "thresholds", "miou_per_threshold"
 *   RUN_DIR/samples/<id>_image.png  the input image (RGB)
 *   RUN_DIR/samples/<id>_cam.png    CAM heat-map overlay (overlay.h: wsss_overlay_heatmap)
 *   RUN_DIR/samples/<id>_pseudo.png pseudo label (VOC palette PNG, 255 = ignored)
 *   RUN_DIR/samples/<id>_pred.png   segmentation prediction (VOC palette PNG)
 *   RUN_DIR/samples/<id>_gt.png     ground truth (VOC palette PNG)
 *   (.jpg is accepted instead of .png for any of them; ids are sorted, at most max_samples shown)
 * Stages are listed in the pipeline order "train-cls", "cam", "affinity", "pseudo", "train-seg",
 * "eval-seg" (always shown, "not run" when absent), then any other stage found, alphabetically.
 *
 * The page: per-stage table (log summary, mIoU, threshold, pixel accuracy, ignored fraction),
 * per-class IoU table (classes x stages with metrics), CAM threshold-sweep curves, loss and lr
 * curves per stage, confusion matrices (collapsed), a class colour legend, and the sample grid
 * (image, CAM, pseudo label, prediction, ground truth). Unreadable files are listed under
 * "Problems" in the page instead of failing the report. */
#ifndef WSSS_REPORT_H
#define WSSS_REPORT_H

#include <stdint.h>

typedef struct wsss_report_opts {
    const char *out_path;     /* NULL: RUN_DIR/report.html */
    const char *title;        /* NULL: "wsss run <RUN_DIR>" */
    int max_samples;          /* rows of the sample grid (default 24) */
    int64_t max_image_bytes;  /* larger sample files are not inlined (default 4 MB) */
} wsss_report_opts;

void wsss_report_opts_default(wsss_report_opts *o);

/* Write the report (atomically: temporary file + rename). WSSS_ERR only if RUN_DIR is not a
 * readable directory or the output cannot be written. n_problems (may be NULL) receives the number
 * of unreadable pieces listed in the page. */
int wsss_report_write(const char *run_dir, const wsss_report_opts *opts, int *n_problems);

/* Standard base64 (RFC 4648, with padding) of n bytes; malloc'd, NUL-terminated. */
char *wsss_base64(const uint8_t *data, size_t n);

#endif
