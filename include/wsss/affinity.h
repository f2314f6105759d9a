/* AffinityNet's training targets and loss (refinement.md §b.2, §b.3), on PSA's radius-5 pairs
 * (random_walk.h).
 *
 * Cell labels of a training crop, from its two CRF score stacks pooled to the feature grid (channel
 * 0 background, then the image's classes): label = argmax la; 255 where that is the background
 * (la's background is inflated, so its foreground is sure and its background is not); 0 where
 * argmax ha is the background (ha's background is shrunk, so its background is sure); 255 where no
 * score exists (the max over all channels of both stacks is below 1e-5: padding). Labels are the
 * stacks' channel indices: only equality matters.
 *
 * Low-storage cell labels (refinement.md §b.1's option, what `wsss train-aff` trains on): from one
 * label map already combined by the rule above at pixel level (`wsss pseudo --bg psa`: 0 sure
 * background, class id sure foreground, 255 uncertain or padding), each 8 x 8 block takes the most
 * frequent value of its pixels instead of the argmaxes of average-pooled stacks. A deviation from
 * PSA's pooling: a block mixing classes gets its majority instead of the argmax of mean scores.
 *
 * Pair labels: bg-positive when both cells are 0, fg-positive when equal and non-zero, negative
 * when different; a pair with a 255 cell is ignored.
 *
 * Loss over a batch: L = L_bg/4 + L_fg/4 + L_neg/2, L_bg = sum_bgpos -log(a + 1e-5) / count_bg,
 * L_fg likewise, L_neg = sum_neg -log(1 + 1e-5 - a) / count_neg, count_X = (number of X pairs) + 1e-5. */
#ifndef WSSS_AFFINITY_H
#define WSSS_AFFINITY_H

#include <stdint.h>

#include "wsss/autograd.h"

enum { WSSS_AFF_IGNORE = 0, WSSS_AFF_BG = 1, WSSS_AFF_FG = 2, WSSS_AFF_NEG = 3 };

/* la, ha: L planes of hw floats each; out: hw cell labels. */
void wsss_aff_cell_labels(const float *la, const float *ha, int L, int64_t hw, uint8_t *out);

/* labels: an H x W label map (H, W multiples of stride); cells: the (H / stride) x (W / stride) grid,
 * each cell the most frequent value among its stride x stride pixels, 255 counted as a value like
 * any other (a block that is mostly padding or uncertain is 255), ties to the smaller value. */
void wsss_aff_cell_labels_from_map(const uint8_t *labels, int H, int W, int stride, uint8_t *cells);

/* pair[k] for the wsss_rw_num_pairs(h, w) pairs of an h x w grid of cell labels, pair order as
 * wsss_rw_pairs. */
void wsss_aff_pair_labels(const uint8_t *cells, int h, int w, uint8_t *pair);

/* The loss (0-dim) of affinities aff (any shape, e.g. wsss_pair_affinity's [N, 34, P]) with one
 * pair label each, in aff's element order. */
wsss_tensor *wsss_aff_loss(wsss_ctx *ctx, wsss_tensor *aff, const uint8_t *pair_labels);

#endif
