/* Segmentation evaluation (refinement.md §d): a dataset-level confusion matrix, per-class IoU,
 * nan-mean mIoU, precision/recall, pixel accuracy, and the CAM background-threshold sweep.
 *
 * Conventions
 * - num_classes = K+1 classes including background (index 0); GT value 255 = ignore (skipped).
 * - Predictions are 0..num_classes-1, or 255 for "ignored" pseudo labels: those go to an extra
 *   "ignored" column that counts in the row sums (a false negative of the GT class) but is no class
 *   column (SEAM's counting, §d.3). Segmentation predictions never contain 255.
 * - IoU_c = C_cc / (row_c + col_c - C_cc) with row_c including the ignored column;
 *   mIoU = mean over classes whose denominator is > 0 (nan-mean). All scores are fractions in
 *   [0,1]; print them x100 with one decimal. Undefined values are NaN (JSON: null).
 * - Out-of-range values (GT or prediction >= num_classes and != 255) are user errors (WSSS_ERR).
 *
 * Metrics JSON (wsss_metrics_write_json, read by the report; all keys always present unless noted):
 *   { "kind": "segmentation" | "cam_sweep", "stage": S, "split": S, "num_images": N,
 *     "num_classes": K+1, "miou": f, "pixel_acc": f, "mean_acc": f, "frac_ignored": f,
 *     "valid_pixels": N,
 *     "classes": [ {"index": c, "name": S, "iou": f|null, "precision": f|null, "recall": f|null,
 *                   "gt_pixels": N, "pred_pixels": N}, ... ],
 *     "confusion": [[C_g0, C_g1, ..., C_gK, ignored_g], ...]      (rows = GT, last column = ignored)
 *     cam_sweep only: "best_threshold": t, "thresholds": [t...], "miou_per_threshold": [f...],
 *                     "fixed": {"0.15": f, "0.2": f, "0.3": f}   (thresholds inside the sweep),
 *                     "labelfree": {"rule": "otsu", "threshold": t, "miou": f} or null (labelfree_j)
 *   }  For cam_sweep the per-class scores and confusion are those at the best threshold. */
#ifndef WSSS_METRICS_H
#define WSSS_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "wsss/image.h"
#include "wsss/json.h"

/* ---- confusion matrix ---- */
typedef struct wsss_confusion {
    int num_classes;  /* K+1 */
    int64_t *m;       /* [num_classes][num_classes + 1]: rows GT, columns prediction, last = ignored */
    int64_t n_images; /* images added */
} wsss_confusion;

/* num_classes in 1..255. Returns WSSS_ERR for a bad count. */
int wsss_confusion_init(wsss_confusion *c, int num_classes);
void wsss_confusion_free(wsss_confusion *c);
void wsss_confusion_reset(wsss_confusion *c);
static inline int64_t wsss_confusion_at(const wsss_confusion *c, int gt, int pred_or_ignored_col) {
    return c->m[(int64_t)gt * (c->num_classes + 1) + pred_or_ignored_col];
}
/* Add one image's n pixels (gt and pred of the same length). Counts n_images once. On a bad value
 * nothing is added and the message names `what` (e.g. a file or id; may be NULL) and the pixel. */
int wsss_confusion_add(wsss_confusion *c, const uint8_t *gt, const uint8_t *pred, int64_t n, const char *what);
/* Same for two one-channel masks; their sizes must match. */
int wsss_confusion_add_masks(wsss_confusion *c, const wsss_image *gt, const wsss_image *pred, const char *what);
/* Read two mask PNGs (palette indices or grey values, wsss_image_read_mask) and add them. */
int wsss_confusion_add_files(wsss_confusion *c, const char *gt_path, const char *pred_path);
/* dst += src (same num_classes). */
void wsss_confusion_merge(wsss_confusion *dst, const wsss_confusion *src);

/* ---- scores ---- */
typedef struct wsss_seg_scores {
    int num_classes;
    double iou[256], precision[256], recall[256]; /* NaN when the denominator is 0 */
    int64_t gt_pixels[256];   /* row sums incl. ignored column */
    int64_t pred_pixels[256]; /* column sums */
    double miou;              /* nan-mean of iou (NaN if no class has a denominator) */
    int n_valid_classes;      /* classes entering the mean */
    double pixel_acc;         /* trace / valid pixels */
    double mean_acc;          /* nan-mean of recall */
    double frac_ignored;      /* ignored column / valid pixels */
    int64_t valid_pixels;     /* GT != 255 */
    int64_t ignored_pixels;
} wsss_seg_scores;

void wsss_confusion_scores(const wsss_confusion *c, wsss_seg_scores *s);

/* ---- CAM threshold sweep (§d.2) ----
 * Per image: the maps of its GT classes (values normally in [0,1]) at the mask's resolution. For
 * threshold t_j = j / denom (j = 0..n_thresholds-1; default 60 and 100: t = 0.00..0.59) the
 * prediction is argmax over [t_j; maps]: background unless the best map value is > t_j (a tie goes
 * to background, as argmax picks the first maximum; ties between maps go to the earlier map).
 * One pass per image: a pixel's best class and value fix its prediction for every t at once; the
 * sweep keeps a histogram over (gt, best class, first threshold index at which background wins). */
typedef struct wsss_cam_sweep {
    int num_classes, n_thresholds, denom;
    int64_t *hist;    /* [num_classes][num_classes][n_thresholds + 1] */
    int64_t n_images;
    int labelfree_j;  /* index of a threshold chosen without ground truth (cam_threshold.h), or -1 (init) */
} wsss_cam_sweep;

int wsss_cam_sweep_init(wsss_cam_sweep *s, int num_classes, int n_thresholds, int denom);
void wsss_cam_sweep_free(wsss_cam_sweep *s);
static inline double wsss_cam_sweep_threshold(const wsss_cam_sweep *s, int j) {
    return (double)j / (double)s->denom;
}
/* maps: n_maps planes of n floats each (CHW, contiguous); classes[k] = class id of plane k (1..K,
 * ascending by convention). n_maps may be 0 (everything is background). gt: n values. NaN map
 * values and out-of-range GT/class ids are errors naming `what`. */
int wsss_cam_sweep_add(wsss_cam_sweep *s, const float *maps, int n_maps, const int *classes, const uint8_t *gt,
                       int64_t n, const char *what);
void wsss_cam_sweep_merge(wsss_cam_sweep *dst, const wsss_cam_sweep *src);
/* Confusion matrix at threshold index j (out is initialised here; free it). */
void wsss_cam_sweep_confusion(const wsss_cam_sweep *s, int j, wsss_confusion *out);
/* mIoU for every threshold (miou[n_thresholds]) and the best index (first maximum; NaNs lose). */
int wsss_cam_sweep_best(const wsss_cam_sweep *s, double *miou);
/* 1 when threshold index j is the first or last of the sweep (with more than one threshold): a best
 * there may sit outside the range, so its mIoU is only a lower bound. */
int wsss_cam_sweep_best_at_edge(const wsss_cam_sweep *s, int j);

/* ---- printing and JSON ---- */
/* class_names: num_classes names, or NULL ("class <i>"). */
void wsss_seg_scores_print(FILE *out, const wsss_seg_scores *s, const char *const *class_names);
/* Row-normalised confusion matrix in percent (rows GT; with an "ign" column if any pixel was ignored). */
void wsss_confusion_print(FILE *out, const wsss_confusion *c, const char *const *class_names);
/* Threshold table (one line per 0.05 and the best) and the best threshold / mIoU line. */
void wsss_cam_sweep_print(FILE *out, const wsss_cam_sweep *s, const char *const *class_names);

/* The metrics JSON object described at the top. stage/split may be NULL (written as null). */
void wsss_metrics_json_segmentation(wsss_jw *w, const wsss_confusion *c, const char *const *class_names,
                                    const char *stage, const char *split);
void wsss_metrics_json_cam_sweep(wsss_jw *w, const wsss_cam_sweep *s, const char *const *class_names,
                                 const char *stage, const char *split);
/* Write a finished JSON text to path atomically (temporary file + rename), newline-terminated. */
int wsss_metrics_write_file(const char *path, const char *json_text);

#endif
