/* Label-free background threshold: Otsu on the pooled max-map histogram (cam_threshold.h). */
#include "wsss/cam_threshold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/cam.h"
#include "wsss/error.h"
#include "wsss/run_layout.h"
#include "wsss/tensor.h"

void wsss_cam_hist_add(wsss_cam_hist *h, const float *maps, int n_maps, int64_t n) {
    if (n_maps <= 0) return;
    for (int64_t i = 0; i < n; i++) {
        float mx = maps[i];
        for (int m = 1; m < n_maps; m++)
            if (maps[(int64_t)m * n + i] > mx) mx = maps[(int64_t)m * n + i];
        int b = mx > 0 ? (int)(mx * WSSS_CAM_HIST_BINS) : 0; /* also NaN -> 0 */
        if (b >= WSSS_CAM_HIST_BINS) b = WSSS_CAM_HIST_BINS - 1;
        h->bins[b]++;
    }
    h->n_images++;
}

void wsss_cam_hist_merge(wsss_cam_hist *dst, const wsss_cam_hist *src) {
    for (int b = 0; b < WSSS_CAM_HIST_BINS; b++) dst->bins[b] += src->bins[b];
    dst->n_images += src->n_images;
}

int wsss_cam_hist_otsu(const wsss_cam_hist *h) {
    double total = 0, sum = 0;
    for (int b = 0; b < WSSS_CAM_HIST_BINS; b++) {
        total += (double)h->bins[b];
        sum += (double)h->bins[b] * (b + 0.5);
    }
    if (total <= 0) return -1;
    int best = -1;
    double best_var = 0, w0 = 0, s0 = 0;
    for (int j = 1; j < WSSS_CAM_HIST_BINS; j++) {
        w0 += (double)h->bins[j - 1];
        s0 += (double)h->bins[j - 1] * (j - 0.5);
        const double w1 = total - w0;
        if (w0 <= 0 || w1 <= 0) continue;
        const double m0 = s0 / w0, m1 = (sum - s0) / w1;
        const double var = w0 * w1 * (m0 - m1) * (m0 - m1); /* between-class variance x total^2 */
        if (var > best_var) {
            best_var = var;
            best = j;
        }
    }
    return best;
}

int wsss_cam_hist_from_files(wsss_cam_hist *h, const char *cam_dir, char *const *ids, int64_t n, int num_classes) {
    int64_t bad = -1;
    char msg[1024] = "";
#pragma omp parallel
    {
        wsss_cam_hist mine;
        memset(&mine, 0, sizeof mine);
#pragma omp for schedule(dynamic, 8)
        for (int64_t i = 0; i < n; i++) {
            int64_t b;
#pragma omp atomic read
            b = bad;
            if (b >= 0 && b < i) continue;
            char *path = wsss_run_file(cam_dir, ids[i], ".safetensors");
            wsss_tensor *maps = NULL;
            int *classes = NULL, nm = 0;
            if (wsss_cam_load(path, num_classes, &maps, &classes, &nm) == WSSS_OK) {
                wsss_cam_hist_add(&mine, wsss_f32(maps), nm, maps->shape[1] * maps->shape[2]);
            } else {
#pragma omp critical(cam_hist_err)
                if (bad < 0 || i < bad) {
                    bad = i;
                    snprintf(msg, sizeof msg, "%s", wsss_error_msg());
                }
            }
            if (maps) wsss_tensor_free(maps);
            free(classes);
            free(path);
        }
#pragma omp critical(cam_hist_merge)
        wsss_cam_hist_merge(h, &mine);
    }
    if (bad >= 0) return wsss_error_set("%s", msg);
    return WSSS_OK;
}
