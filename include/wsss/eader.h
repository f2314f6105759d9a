/* EADER, end-to-end adversarial erasing (specs/eader.md §2-§4): one training step's attention
 * maps, soft masks, erased images and losses, over any localizer and adversary (callbacks), so the
 * zoo's classifiers and the tests' tiny networks share it.
 *
 * For the positive (image b, class c) pairs of the batch, in round-major order (every image's
 * first class, then every image's second class, ...), with F the feature map the localizer's head
 * reads (B,C,h,w) and W its class weights (K,C):
 *   u   = ReLU(sg(W[c]) · F_b)                  Grad-CAM of a GAP + linear head: the bias-free CAM
 *                                               with the weights stop-gradient (§2.2)
 *   U   = bilinear upsampling of u to the input size (half-pixel centres)
 *   A   = (U - U[i*]) / (U[j*] - U[i*]), or U - U[i*] when that is 0; i*, j* the first minimum and
 *         maximum in row-major order, and the gradient reaches them (§2.3)
 *   M   = σ(ω (A - σ0)),  x̃ = x_b ⊙ (1 - M),  q = σ(adversary(x̃))
 *   L_loc = BCE(σ(z), y) (probabilities, log clamped at -100, mean over B·K)
 *   L_reg = mean(A) over N·H·W, or with reg_sum the per-map sum averaged over the maps (= mean·H·W)
 *   L_am  = mean over the pairs of q[n, c_n]
 *   L_adv = BCE(q, y_b) over N·K (the full label of the source image, the erased class included)
 * The localizer's objective L_loc + β L_reg (when β > 0) + α L_am; the adversary's L_adv, with the
 * masks detached. A batch without any positive pair has no erased image: L_reg = L_am = L_adv = 0
 * and the adversary does not run. */
#ifndef WSSS_EADER_H
#define WSSS_EADER_H

#include <stdint.h>

#include "wsss/autograd.h"
#include "wsss/config_table.h"

typedef struct wsss_eader_opts {
    double alpha;       /* weight of L_am: 0.05 */
    double beta;        /* weight of L_reg: 1e-5 */
    int reg_sum;        /* 0: L_reg the mean (the reference), 1: the per-map sum (§9.3) */
    double mask_slope;  /* ω: 100 */
    double mask_center; /* σ0: 0.5 */
} wsss_eader_opts;

wsss_eader_opts wsss_eader_opts_default(void);
/* The words of reg_sum (--reg): mean (0), sum (1). */
extern const wsss_choice wsss_eader_reg_choices[];

/* The localizer in training mode: class logits B,K of x; *features the map its head reads
 * (B,C,h,w), *class_weight its class weights (K,C, or K,C,1,1 for a 1x1 conv head). */
typedef wsss_tensor *(*wsss_eader_localizer_fn)(void *net, wsss_ctx *ctx, wsss_tensor *x, wsss_tensor **features,
                                                wsss_tensor **class_weight);
/* The adversary in training mode: class logits N,K of x. */
typedef wsss_tensor *(*wsss_eader_adversary_fn)(void *net, wsss_ctx *ctx, wsss_tensor *x);

typedef struct wsss_eader_nets {
    wsss_eader_localizer_fn localize;
    void *localizer;
    wsss_eader_adversary_fn classify;
    void *adversary;
} wsss_eader_nets;

/* The positive pairs of a B,K 0/1 label matrix (round-major): *image (I64 N: the source image of
 * each pair) and *pair (I64 N: b·K + c), in ctx. Returns N (0: none, both NULL). */
int64_t wsss_eader_pairs(wsss_ctx *ctx, const wsss_tensor *labels, wsss_tensor **image, wsss_tensor **pair);

/* A of the pairs (N,1,H,W) from features (B,C,h,w) and class weights (K,C or K,C,1,1; detached
 * here), pair = b·K + c (I64 N). */
wsss_tensor *wsss_eader_attention(wsss_ctx *ctx, wsss_tensor *features, wsss_tensor *class_weight,
                                  const wsss_tensor *pair, int64_t height, int64_t width);
/* Each map of U (N,1,H,W) min-max normalised, differentiably (§2.3; a constant map gives zeros). */
wsss_tensor *wsss_eader_minmax(wsss_ctx *ctx, wsss_tensor *u);

/* The values of one step's terms. */
typedef struct wsss_eader_terms {
    double loc, reg, am, adv; /* L_loc, L_reg, L_am, L_adv */
    double localizer;         /* L_loc + β L_reg + α L_am */
    double adversary;         /* L_adv */
    int64_t pairs;            /* N */
} wsss_eader_terms;

/* The erasing half of a step on the localizer's outputs for x (features, class_weight, as the
 * localizer callback gives them; nets->classify is used, nets->localize is not): a localizer step
 * returns β L_reg (when β > 0) + α L_am, an adversary step L_adv (masks detached); NULL without a
 * positive pair. Fills terms' reg, am, adv and pairs. (MCIS + EADER adds this to MCIS's loss.) */
wsss_tensor *wsss_eader_erase(wsss_ctx *ctx, const wsss_eader_nets *nets, const wsss_eader_opts *o, wsss_tensor *x,
                              const wsss_tensor *labels, wsss_tensor *features, wsss_tensor *class_weight,
                              int adversary_step, wsss_eader_terms *terms);

/* One step's loss (0-dim, x's dtype) in ctx: the localizer's objective, or with adversary_step the
 * adversary's (masks detached). x: normalised images B,3,H,W; labels: B,K 0/1 (x's dtype or F32).
 * Both networks run in training mode in either step. terms may be NULL. */
wsss_tensor *wsss_eader_loss(wsss_ctx *ctx, const wsss_eader_nets *nets, const wsss_eader_opts *o, wsss_tensor *x,
                             const wsss_tensor *labels, int adversary_step, wsss_eader_terms *terms);

#endif
