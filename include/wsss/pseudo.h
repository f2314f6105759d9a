/* Pseudo labels from localisation maps (stage 4 of the pipeline, `wsss pseudo`).
 *
 * Input per image: the 8-bit RGB image and the maps A_c in [0,1] of its labelled classes (cam.h
 * files). A background score is put in front of the maps, the stack [bg; A_c...] goes through the
 * dense CRF (crf.h, PSA unary U = -log(clip(p, 1e-5, 1)) on the unnormalised stack, PSA kernel
 * parameters by default: Gaussian 3/3, bilateral 80/13/10, 10 iterations), and the label is the
 * argmax, mapped back to class ids. Background modes:
 *
 *  - WSSS_PSEUDO_BG_PSA (default): PSA's low/high-background pair (refinement.md §b.1/b.2):
 *    la = CRF argmax with bg = (1 - max_c A_c)^alpha_low (4: background inflated),
 *    ha = CRF argmax with bg = (1 - max_c A_c)^alpha_high (32: background shrunk);
 *    label = la; where la is background: 255 (uncertain); where ha is background: 0.
 *    Foreground is kept only where even the inflated background loses, background only where
 *    even the shrunk background wins; the band in between is 255.
 *  - WSSS_PSEUDO_BG_POW: one stack with bg = (1 - max_c A_c)^alpha; dense labels.
 *  - WSSS_PSEUDO_BG_CONST: bg = a constant threshold t (the CAM evaluation's rule); dense labels.
 *  - WSSS_PSEUDO_BG_OTSU: CONST with t chosen without ground truth, Otsu's threshold of the split's
 *    max-map histogram (cam_threshold.h). t is a property of the whole split, so the caller sets
 *    `threshold` before labelling (`wsss pseudo` does, and makes this its default mode); per image
 *    it is labelled as CONST.
 *
 * In the POW and CONST modes, pixels whose CRF probability of their label is below min_conf become
 * 255 (min_conf 0 = never). Without the CRF (crf = 0) the argmax is taken on the stack itself and
 * the "probability" is the stack value normalised by the pixel's sum. Images without labelled
 * classes are all background. Labels are 0 (background), the class ids, or 255. */
#ifndef WSSS_PSEUDO_H
#define WSSS_PSEUDO_H

#include "wsss/config_table.h"
#include "wsss/crf.h"
#include "wsss/image.h"

typedef enum { WSSS_PSEUDO_BG_PSA = 0, WSSS_PSEUDO_BG_POW, WSSS_PSEUDO_BG_CONST, WSSS_PSEUDO_BG_OTSU } wsss_pseudo_bg;

typedef struct wsss_pseudo_opts {
    wsss_pseudo_bg bg;
    double alpha_low, alpha_high; /* PSA mode: 4, 32 */
    double alpha;                 /* POW mode: 8 */
    double threshold;             /* CONST mode: 0.2; OTSU: set by the caller */
    int crf;                      /* 1 */
    wsss_crf_params crf_params;   /* PSA preset */
    double min_conf;              /* POW/CONST: 255 below this CRF probability (0 = off) */
} wsss_pseudo_opts;

void wsss_pseudo_opts_default(wsss_pseudo_opts *o);
/* The words of the modes: psa, pow, const, otsu. */
extern const wsss_choice wsss_pseudo_bg_choices[];
const char *wsss_pseudo_bg_name(wsss_pseudo_bg bg);

/* Label one image. rgb: H x W RGB; maps: n planes of H*W floats (CHW), classes[k] the id of plane k;
 * out: allocated 1-channel H x W labels. Errors: bad options/sizes (message). */
int wsss_pseudo_label(const wsss_pseudo_opts *o, const wsss_image *rgb, const float *maps, int n, const int *classes,
                      wsss_image *out);

/* PSA's two CRF score stacks (refinement.md §b.1; AffinityNet's training labels): Q of
 * [(1 - max)^alpha_low; maps] into la and of [(1 - max)^alpha_high; maps] into ha, each n + 1 planes of
 * H*W (channel 0 background, then the maps' order); without the CRF the stacks normalised per pixel.
 * The PSA mode's labels are their argmaxes combined as above. Errors as wsss_pseudo_label. */
int wsss_pseudo_psa_stacks(const wsss_pseudo_opts *o, const wsss_image *rgb, const float *maps, int n, float *la,
                           float *ha);

#endif
