/* A background threshold for localisation maps without ground truth (issue: "a background threshold
 * without ground truth"): Otsu's method on the histogram of the per-pixel maximum over an image's
 * maps, pooled over a split.
 *
 * Why Otsu: the maps are a two-population mixture (object pixels near the top of each map,
 * background pixels near 0); the threshold that best separates the two populations (largest
 * between-class variance) needs nothing but the maps, has no parameter to tune, and moves with the
 * maps (broad from-scratch maps get a high threshold, peaky ImageNet-backbone maps a low one).
 * Images without labelled classes contribute nothing.
 *
 * The histogram has WSSS_CAM_HIST_BINS bins on [0, 1] (bin b = [b/100, (b+1)/100), values >= 1 in the
 * last, < 0 in the first), so the threshold lies on the same 0.01 grid as eval-cam's sweep and the
 * sweep can report the mIoU at exactly that threshold. A pixel is foreground when its maximum is
 * above the threshold, as in the sweep. */
#ifndef WSSS_CAM_THRESHOLD_H
#define WSSS_CAM_THRESHOLD_H

#include <stdint.h>

#define WSSS_CAM_HIST_BINS 100

typedef struct wsss_cam_hist {
    int64_t bins[WSSS_CAM_HIST_BINS];
    int64_t n_images; /* images with at least one map */
} wsss_cam_hist;

/* maps: n_maps planes of n floats (CHW); adds the per-pixel maximum (NaN counts as 0; wsss_cam_load
 * already rejects NaN files). n_maps = 0 adds nothing. */
void wsss_cam_hist_add(wsss_cam_hist *h, const float *maps, int n_maps, int64_t n);
void wsss_cam_hist_merge(wsss_cam_hist *dst, const wsss_cam_hist *src);
/* Otsu's threshold index j in 1..WSSS_CAM_HIST_BINS-1 (threshold j / 100): the split into bins < j
 * and >= j with the largest between-class variance (the first on ties). -1 when the histogram is
 * empty or holds a single bin (nothing to separate). */
int wsss_cam_hist_otsu(const wsss_cam_hist *h);

/* The histogram of the maps <cam_dir>/<id>.safetensors of ids[0..n) (files as wsss_cam_load reads
 * them), read in parallel. Errors: the first unreadable file in list order (message names it). */
int wsss_cam_hist_from_files(wsss_cam_hist *h, const char *cam_dir, char *const *ids, int64_t n, int num_classes);

#endif
