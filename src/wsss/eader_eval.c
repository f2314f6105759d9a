/* EADER's attention-map labels and foreground scores (eader_eval.h, specs/eader.md §6). */
#include "wsss/eader_eval.h"

#include <math.h>
#include <stdlib.h>

#include "wsss/error.h"

int wsss_eader_eval_labels(const float *maps, int n_maps, const int *classes, int64_t n, uint8_t *pred,
                           const char *what) {
    for (int k = 0; k < n_maps; k++) {
        if (classes[k] < 1 || classes[k] > 254)
            return wsss_error_set("%s: class id %d of map %d (expected 1 to 254)", what ? what : "maps", classes[k], k);
        for (int64_t p = 0; p < n; p++)
            if (isnan(maps[(int64_t)k * n + p]))
                return wsss_error_set("%s: map %d has a NaN at pixel %lld", what ? what : "maps", k, (long long)p);
    }
    double *lo = wsss_xmalloc(sizeof(double) * (size_t)(n_maps ? n_maps : 1));
    double *range = wsss_xmalloc(sizeof(double) * (size_t)(n_maps ? n_maps : 1));
    for (int k = 0; k < n_maps; k++) {
        const float *m = maps + (int64_t)k * n;
        double mn = INFINITY, mx = -INFINITY;
        for (int64_t p = 0; p < n; p++) {
            if (m[p] < mn) mn = m[p];
            if (m[p] > mx) mx = m[p];
        }
        lo[k] = n ? mn : 0.0;
        range[k] = n && mx > mn ? mx - mn : 1.0;
    }
    for (int64_t p = 0; p < n; p++) {
        double best = WSSS_EADER_EVAL_BACKGROUND;
        int label = 0;
        for (int k = 0; k < n_maps; k++) {
            double a = ((double)maps[(int64_t)k * n + p] - lo[k]) / range[k];
            if (a < WSSS_EADER_EVAL_THRESHOLD) a = 0.0;
            if (a > best) { /* strictly larger: the first maximum wins */
                best = a;
                label = classes[k];
            }
        }
        pred[p] = (uint8_t)label;
    }
    free(lo);
    free(range);
    return WSSS_OK;
}

void wsss_eader_eval_foreground(const wsss_confusion *c, double *precision, double *recall) {
    int64_t both = 0, pred_fg = 0, gt_fg = 0;
    for (int g = 0; g < c->num_classes; g++)
        for (int q = 0; q <= c->num_classes; q++) {
            const int64_t v = wsss_confusion_at(c, g, q);
            const int pred_is_fg = q >= 1 && q < c->num_classes; /* the last column: ignored */
            if (pred_is_fg) pred_fg += v;
            if (g >= 1) gt_fg += v;
            if (g >= 1 && pred_is_fg) both += v;
        }
    *precision = pred_fg ? (double)both / (double)pred_fg : NAN;
    *recall = gt_fg ? (double)both / (double)gt_fg : NAN;
}
