/* The run directory: where the pipeline stages read and write by default (each stage also takes
 * explicit paths, so stages compose on any dataset and any folder layout).
 *
 *   RUN/cls/ckpt/                  latest train-cls checkpoint (checkpoint.h directory; every epoch,
 *                                  and on Ctrl-C)
 *   RUN/cls/model.safetensors      final classifier (state_dict names; metadata "arch", "num_classes")
 *   RUN/cams/<id>.safetensors      localisation maps of one image (format below)
 *   RUN/cams_overlay/<id>.png      optional heat-map overlays (max over the image's classes)
 *   RUN/pseudo/<id>.png            pseudo labels: VOC palette PNG, 0..K, 255 = uncertain
 *   RUN/seg/ckpt/, RUN/seg/model.safetensors           segmentation net trained on pseudo labels
 *   RUN/seg_gt/ckpt/, RUN/seg_gt/model.safetensors     the same net on ground truth (upper bound)
 *   RUN/aff/ckpt/, RUN/aff/model.safetensors           PSA's AffinityNet trained on the pseudo labels
 *   RUN/pred/<id>.png              segmentation predictions (palette PNG, 0..K)
 *   RUN/logs/<stage>.jsonl         JSONL logs (runlog.h), RUN/metrics/<stage>.json (metrics.h),
 *   RUN/samples/...                report samples (report.h documents names)
 *
 * CAM file (RUN/cams/<id>.safetensors), written by `wsss cam`, read by eval-cam, pseudo and the
 * erasing/co-attention methods:
 *   "cams"    F32 [n, H, W]  one map per labelled foreground class of the image, at the image's
 *                            original size, normalised per class to max 1 (values in [0, 1]);
 *                            n may be 0 (an image without foreground labels)
 *   "classes" I32 [n]        the class ids (1..K, ascending) of the planes
 *   metadata  "id" (image id), "num_classes" (K+1, background included), "norm" ("max" or
 *             "minmax"), "scales" (e.g. "1,0.5,1.5,2"), "flip" ("1"/"0")
 */
#ifndef WSSS_RUN_LAYOUT_H
#define WSSS_RUN_LAYOUT_H

#define WSSS_RUN_CLS_CKPT "cls/ckpt"
#define WSSS_RUN_CLS_MODEL "cls/model.safetensors"
#define WSSS_RUN_CAMS "cams"
#define WSSS_RUN_CAMS_OVERLAY "cams_overlay"
#define WSSS_RUN_PSEUDO "pseudo"
#define WSSS_RUN_SEG_CKPT "seg/ckpt"
#define WSSS_RUN_SEG_MODEL "seg/model.safetensors"
#define WSSS_RUN_SEG_GT_CKPT "seg_gt/ckpt"
#define WSSS_RUN_SEG_GT_MODEL "seg_gt/model.safetensors"
#define WSSS_RUN_AFF_CKPT "aff/ckpt"
#define WSSS_RUN_AFF_MODEL "aff/model.safetensors"
#define WSSS_RUN_PRED "pred"
#define WSSS_RUN_LOGS "logs"
#define WSSS_RUN_METRICS "metrics"
#define WSSS_RUN_SAMPLES "samples"

/* Tensor and metadata names of a CAM file. */
#define WSSS_CAM_TENSOR "cams"
#define WSSS_CAM_CLASSES "classes"

/* "RUN/rel" (malloc'd). run may be NULL or "" (then rel itself). */
char *wsss_run_path(const char *run, const char *rel);
/* "RUN/rel/<name><ext>" (malloc'd), e.g. (run, "cams", id, ".safetensors"). */
char *wsss_run_file(const char *dir, const char *name, const char *ext);
/* "RUN/logs/<stage>.jsonl" and "RUN/metrics/<stage>.json" (malloc'd). */
char *wsss_run_log_path(const char *run, const char *stage);
char *wsss_run_metrics_path(const char *run, const char *stage);

#endif
