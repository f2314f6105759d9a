/* MCIS co-attention and contrastive co-attention (specs/mcis.md §2-§3) over the head features of an
 * image pair, composed from differentiable ops so the backward pass is autograd's.
 *
 * For a pair batch F1 (B,C,h1,w1), F2 (B,C,h2,w2), flattened to F_k (B,C,N_k):
 *   S = F1ᵀ Wᵀ F2 (B,N1,N2); A = softmax of S over image-1 positions, B = softmax over image-2
 *   positions; Z1 = F2·B on image 1's grid, Z2 = F1·A on image 2's grid;
 *   co_map_k = W_co·Z_k, co_k = GAP(co_map_k);
 *   gate_k = σ(w_gᵀ Z_k); cco_map_k = W_co·(F_k ⊙ (1 − gate_k)), cco_k = GAP(cco_map_k).
 *
 * Parameters, named as the reference implementation (GuoleiSun/MCIS_wsss, Classifier/models/vgg.py,
 * class CoattentionModel) so a converted checkpoint (scripts/pth_to_safetensors.py drops the
 * DataParallel "module.") loads one-to-one:
 *   W    <prefix>extra_linear_e.weight    C,C      nn.Linear(C, C, bias=False) applied to F_kᵀ
 *                                                  (rows: positions), so S = (F1ᵀ Wᵀ) F2
 *   W_co <prefix>extra_gate.weight        K,C,1,1  nn.Conv2d(C, K, 1, bias=False): the classifier
 *                                                  shared by the co-attention and contrastive maps
 *   w_g  <prefix>extra_gate_merge.weight  1,C,1,1  nn.Conv2d(C, 1, 1, bias=False): the gate
 * The reference leaves all three at PyTorch's default init, U(±1/√C). */
#ifndef WSSS_COATTENTION_H
#define WSSS_COATTENTION_H

#include "wsss/nn.h"

typedef struct wsss_coattention {
    wsss_linear_layer affinity; /* W */
    wsss_conv classifier;       /* W_co */
    wsss_conv gate;             /* w_g */
    int64_t channels, num_classes;
} wsss_coattention;

/* Registers the three weights (zero until reset) under prefix (NULL or "" for the reference's
 * top level) in optimizer group `group` (WSSS_GROUP_NEW in MCIS). */
void wsss_coattention_init(wsss_coattention *m, wsss_params *ps, const char *prefix, wsss_dtype dt,
                           int64_t channels, int64_t num_classes, int group);
/* PyTorch's default init U(±1/√C), drawn for W, W_co, w_g in that order (rng NULL = global). */
void wsss_coattention_reset_parameters(wsss_coattention *m, wsss_rng *rng);

/* Results for images 1 and 2 of each pair (index k-1), all ctx-owned. */
typedef struct wsss_coattention_out {
    wsss_tensor *co_map[2];  /* B,K,h_k,w_k  co-attention class maps */
    wsss_tensor *co[2];      /* B,K          their spatial means (logits) */
    wsss_tensor *gate[2];    /* B,1,h_k,w_k  σ(w_gᵀ Z_k) */
    wsss_tensor *cco_map[2]; /* B,K,h_k,w_k  contrastive class maps */
    wsss_tensor *cco[2];     /* B,K */
} wsss_coattention_out;

/* f1, f2: B,C,h_k,w_k of the module's dtype (spatial sizes may differ; either may be in a blocked
 * layout). Everything is differentiable w.r.t. f1, f2 and the three weights. */
void wsss_coattention_forward(wsss_ctx *ctx, const wsss_coattention *m, wsss_tensor *f1, wsss_tensor *f2,
                              wsss_coattention_out *out);

#endif
