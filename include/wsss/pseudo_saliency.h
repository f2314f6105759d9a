/* The saliency-guided pseudo labels of OAA and MCIS (specs/mcis.md §7.1, the published recipe): per
 * image, the class maps min-max normalised, att_c = (m - min m) / (max m - min m + 1e-8), and a
 * saliency map sal (0..255, the same size):
 *   G[0] = 1 - sal/255 (background), G[c] = att_c for each labelled class c;
 *   sal_att = max(sal, 255 * [any att_c > att_thr]);
 *   G < fg_thr set to 0 on every channel; n_conf = channels with G > conflict;
 *   label = argmax G (ties to the lowest index: an all-zero pixel is background);
 *   255 where n_conf > 1; 255 where the label is background but sal_att >= bg_thr;
 *   all 255 when fewer than min_fg of the pixels are foreground.
 * bg_thr is on the 0..255 scale, fg_thr on the normalised maps: the reference's asymmetry, kept
 * (§10.8). No CRF. */
#ifndef WSSS_PSEUDO_SALIENCY_H
#define WSSS_PSEUDO_SALIENCY_H

#include <stdint.h>

typedef struct wsss_saliency_label_opts {
    double fg_thr;   /* 0.3 */
    double conflict; /* 0.99 */
    double att_thr;  /* 0.95 */
    double bg_thr;   /* 32 */
    double min_fg;   /* 0.01: the smallest foreground share of a labelled image */
} wsss_saliency_label_opts;

void wsss_saliency_label_opts_default(wsss_saliency_label_opts *o);

/* maps: n planes of hw floats (classes[k], ascending ids 1..254, is plane k's class); sal: hw
 * values 0..255; out: hw labels (0, a class id or 255). */
void wsss_pseudo_saliency(const wsss_saliency_label_opts *o, const float *maps, int n, const int *classes,
                          const uint8_t *sal, int64_t hw, uint8_t *out);

#endif
