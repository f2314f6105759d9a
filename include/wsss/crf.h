/* Fully connected CRF with Gaussian edge potentials (Kraehenbuehl & Koltun 2011), DenseCRF2D
 * conventions, mean-field inference with permutohedral-lattice filtering (specs/refinement.md a).
 *
 * Layout: probability maps, unaries and outputs are channel-major, L x H x W floats (PyTorch CHW
 * order, like pydensecrf's (n_labels, n_pixels) arrays); images are 8-bit RGB, H x W x 3 (HWC).
 *
 * Typical use: wsss_crf_run(rgb, h, w, unary, L, &params, q) with params from wsss_crf_params_psa()
 * or _mcis(); or build a wsss_crf once per image (lattices are built once) and call
 * wsss_crf_inference several times, e.g. for PSA's low- and high-background stacks. */
#ifndef WSSS_CRF_H
#define WSSS_CRF_H

#include <stdint.h>

typedef struct wsss_crf_params {
    double gauss_sxy, gauss_compat;                   /* smoothness kernel, f = (x, y) / sxy */
    double bilat_sxy, bilat_srgb, bilat_compat;       /* appearance kernel, (x, y)/sxy, (R, G, B)/srgb */
    int iterations;                                   /* mean-field iterations T (0: softmax(-U)) */
} wsss_crf_params;

/* a.5 presets. PSA: Gaussian 3/3, bilateral 80/13/10, 10 iterations. MCIS: 3/1, 80/4/3, 1 iteration. */
wsss_crf_params wsss_crf_params_psa(void);
wsss_crf_params wsss_crf_params_mcis(void);
/* WSSS_ERR with a message naming the field unless sxy, srgb > 0, compat >= 0 (0 drops the kernel),
 * all finite, and 0 <= iterations <= 10000. */
int wsss_crf_params_check(const wsss_crf_params *p);

typedef struct wsss_crf wsss_crf;

/* A CRF over an h x w pixel grid with no pairwise kernels yet. NULL with a message on bad sizes. */
wsss_crf *wsss_crf_new(int h, int w);
void wsss_crf_free(wsss_crf *crf);
/* Pairwise Potts terms with weight compat (>= 0). Each builds its lattice and its symmetric
 * normalisation 1/sqrt(K*1 + 1e-20) now. */
int wsss_crf_add_gaussian(wsss_crf *crf, double sxy, double compat);
int wsss_crf_add_bilateral(wsss_crf *crf, const uint8_t *rgb_hwc, double sxy, double srgb, double compat);
/* Any kernel exp(-|f_i - f_j|^2 / 2): features are (h*w) x d floats, pixel-major (1 <= d <= 16). */
int wsss_crf_add_kernel(wsss_crf *crf, const float *features, int d, double compat);

/* Mean field: Q0 = softmax(-U); Q_t = softmax(-U + sum_m compat_m * Kn_m Q_{t-1}), where
 * Kn = D^-1/2 K D^-1/2 includes the self term. unary is L x h x w energies (finite), q receives
 * L x h x w probabilities (it may alias nothing). The result does not depend on the thread count. */
int wsss_crf_inference(wsss_crf *crf, const float *unary, int n_labels, int iterations, float *q);

/* Gaussian + bilateral CRF with params on one image: the usual one-call entry point. */
int wsss_crf_run(const uint8_t *rgb_hwc, int h, int w, const float *unary, int n_labels,
                 const wsss_crf_params *params, float *q);

/* Unaries (a.5) from L x n probability stacks; u may equal p.
 * PSA: U = -log(clip(p, 1e-5, 1)) on the unnormalised stack; p must not be NaN.
 * MCIS: p / sum_l p per pixel, values < 1e-4 set to 1e-4, U = -log; p finite, >= 0, positive sum. */
int wsss_crf_unary_psa(const float *p, int n_labels, int64_t n, float *u);
int wsss_crf_unary_mcis(const float *p, int n_labels, int64_t n, float *u);

/* labels[i] = argmax_l q[l*n + i] (first on ties); n_labels <= 256. */
int wsss_crf_argmax(const float *q, int n_labels, int64_t n, uint8_t *labels);

#endif
