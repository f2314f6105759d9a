/* Saliency-guided pseudo labels (pseudo_saliency.h, specs/mcis.md §7.1), in double precision as
 * the reference's numpy. */
#include "wsss/pseudo_saliency.h"

#include <stdlib.h>

#include "wsss/error.h"

void wsss_saliency_label_opts_default(wsss_saliency_label_opts *o) {
    o->fg_thr = 0.3;
    o->conflict = 0.99;
    o->att_thr = 0.95;
    o->bg_thr = 32.0;
    o->min_fg = 0.01;
}

void wsss_pseudo_saliency(const wsss_saliency_label_opts *o, const float *maps, int n, const int *classes,
                          const uint8_t *sal, int64_t hw, uint8_t *out) {
    double *lo = wsss_xmalloc(sizeof(double) * (size_t)(2 * n + 1)), *den = lo + n;
    for (int k = 0; k < n; k++) {
        WSSS_ASSERT(classes[k] >= 1 && classes[k] < 255 && (k == 0 || classes[k] > classes[k - 1]),
                    "saliency labels: ascending class ids");
        const float *m = maps + (int64_t)k * hw;
        double mn = m[0], mx = m[0];
        for (int64_t i = 1; i < hw; i++) {
            if (m[i] < mn) mn = m[i];
            if (m[i] > mx) mx = m[i];
        }
        lo[k] = mn;
        den[k] = mx - mn + 1e-8;
    }
    int64_t fg = 0;
    for (int64_t i = 0; i < hw; i++) {
        double g = 1.0 - sal[i] / 255.0; /* channel 0, background */
        if (g < o->fg_thr) g = 0;
        double best = g;
        int label = 0, n_conf = g > o->conflict, strong = 0;
        for (int k = 0; k < n; k++) {
            double a = (maps[(int64_t)k * hw + i] - lo[k]) / den[k];
            strong |= a > o->att_thr;
            if (a < o->fg_thr) a = 0;
            n_conf += a > o->conflict;
            if (a > best) { /* strictly greater: ties stay with the lower index */
                best = a;
                label = classes[k];
            }
        }
        const double sal_att = strong && 255.0 > sal[i] ? 255.0 : sal[i];
        if (n_conf > 1 || (label == 0 && sal_att >= o->bg_thr)) label = 255;
        fg += label != 0 && label != 255;
        out[i] = (uint8_t)label;
    }
    if ((double)fg < o->min_fg * (double)hw)
        for (int64_t i = 0; i < hw; i++) out[i] = 255;
    free(lo);
}
