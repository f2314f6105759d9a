/* The MCIS training loss (specs/mcis.md §4) over any network that gives class scores and the
 * feature map the co-attention reads (coattention.h), so the zoo's classifiers and the tests' tiny
 * networks share it.
 *
 * Per step, for the jittered pair (x1, x2) with labels l1, l2 (multi-hot B,K), common labels
 * lc = l1 ∧ l2 and exclusive labels u_k = l_k ∧ ¬lc, and x1's un-jittered self views t
 * (hflip @r, @0.75r, @2r), with ℓ the multi-label soft margin averaged over rows and classes and
 * [a;b] the concatenation along the batch:
 *   L = ℓ([s1;s2],[l1;l2]) + ℓ([co1;co2],[lc;lc])                          cross pair P0
 *     + Σ_t ℓ([s1;s_t],[l1;l1]) + ℓ([co1_t;co2_t],[l1;l1])                 self pairs (x1, t)
 *     + contrastive·([any u1 ≠ 0]·ℓ(cco1,u1) + [any u2 ≠ 0]·ℓ(cco2,u2))  P0 only, indicator per batch
 * x1 goes through the network once: its features and scores serve all four pairs, and autograd
 * sums their gradients (exact: the network has no randomness, §4 "Efficiency"). */
#ifndef WSSS_MCIS_H
#define WSSS_MCIS_H

#include "wsss/coattention.h"

/* Class scores (B,K logits) of normalised images x (B,3,H,W) in training mode; *features
 * receives the map the co-attention reads (B,C,h,w). */
typedef wsss_tensor *(*wsss_mcis_forward_fn)(void *net, wsss_ctx *ctx, wsss_tensor *x, wsss_tensor **features);

typedef struct wsss_mcis_views {
    wsss_tensor *x1, *x2; /* the pair, B,3,r,r */
    wsss_tensor *self[3]; /* x1 un-jittered: hflip @r, @0.75r, @2r */
} wsss_mcis_views;

/* The terms of one step (values), for logs and tests. */
typedef struct wsss_mcis_terms {
    double basic, co;         /* cross pair */
    double self_basic, self_co; /* summed over the three self pairs */
    double contrast;          /* the contrastive terms that counted (0 when off) */
    int contrast_on[2];       /* the per-batch indicators [any u1], [any u2] (0 when off) */
} wsss_mcis_terms;

/* The total loss (0-dim, the scores' dtype) in ctx; l1, l2: F32 or F64 0/1 B,K; contrastive: the
 * epoch has the contrastive terms (mcis.md: from epoch index 2). terms may be NULL. */
wsss_tensor *wsss_mcis_loss(wsss_ctx *ctx, wsss_mcis_forward_fn fwd, void *net, const wsss_coattention *co,
                            const wsss_mcis_views *v, const wsss_tensor *l1, const wsss_tensor *l2, int contrastive,
                            wsss_mcis_terms *terms);

#endif
