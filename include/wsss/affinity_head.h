/* AffinityNet's head (refinement.md §b.3) on three feature maps of one resolution: PSA reads
 * ResNet-38's conv4, conv5 and conv6; wsss reads three stages of a zoo ResNet at output stride 8
 * (the spec's substitute). Each map is reduced by a bias-free 1x1 conv + ELU (PSA's widths 64, 128,
 * 256), the three are concatenated and a bias-free 1x1 conv of the concatenated width + ELU gives
 * the affinity features f (wsss_pair_affinity turns them into affinities). Tensor names as PSA's
 * module: f8_3, f8_4, f8_5 (the reducers), f9 (the merge). */
#ifndef WSSS_AFFINITY_HEAD_H
#define WSSS_AFFINITY_HEAD_H

#include "wsss/nn.h"

extern const int64_t wsss_affnet_psa_widths[3]; /* 64, 128, 256 */

typedef struct wsss_affnet_head {
    wsss_conv reduce[3]; /* f8_3, f8_4, f8_5 */
    wsss_conv merge;     /* f9 */
} wsss_affnet_head;

/* in[s]: channels of stage map s; width[s]: its reducer's output channels. Registered under
 * prefix + the names above (prefix may be NULL) in optimizer group `group`. */
void wsss_affnet_head_init(wsss_affnet_head *h, wsss_params *ps, const char *prefix, wsss_dtype dt,
                           const int64_t in[3], const int64_t width[3], int group);
/* PSA's initialisation: Kaiming-normal (fan in) reducers, Xavier-uniform merge with gain 4. */
void wsss_affnet_head_reset_parameters(wsss_affnet_head *h, wsss_rng *rng);
/* f (N, sum(width), h, w) from the three maps (N, in[s], h, w). */
wsss_tensor *wsss_affnet_head_forward(wsss_ctx *ctx, const wsss_affnet_head *h, wsss_tensor *const stages[3]);

#endif
