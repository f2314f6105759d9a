/* PSA's random walk on semantic affinities (refinement.md §b.2 pairs, §b.5 walk), sparse.
 *
 * Pairs: on an h x w feature grid, each "from" cell p (rows 0..h-5, columns 4..w-5) is paired with
 * p + o for the 34 offsets o of radius 5: (0, dx) for dx = 1..4 and (dy, dx) for dy = 1..4,
 * dx = -4..4 with dx^2 + dy^2 < 25. Pair k = o * n_from + f (offset-major, from cells row-major),
 * the order of PSA's pair tensors, so affinities computed for the pairs index the same way.
 *
 * Walk: the symmetric affinity matrix A (A_ij = A_ji = a for each pair, A_ii = 1, 0 elsewhere) is
 * raised elementwise to beta and normalised per column, T_ij = A^beta_ij / sum_i' A^beta_i'j, and
 * seeds v (C x n) propagate as v T^t. PSA squares the dense n x n T log2(t) times; here the sparse
 * T (at most 69 non-zeros a column) is applied t times, O(n * 69) memory, the same result. */
#ifndef WSSS_RANDOM_WALK_H
#define WSSS_RANDOM_WALK_H

#include <stdint.h>

#define WSSS_RW_RADIUS 5
#define WSSS_RW_OFFSETS 34

/* The 34 offsets (dy[k], dx[k]) in PSA's order. */
void wsss_rw_offsets(int dy[WSSS_RW_OFFSETS], int dx[WSSS_RW_OFFSETS]);

/* The from cells' window: rows [y0, y1) x columns [x0, x1) (rows 0..h-5, columns 4..w-5; empty,
 * all zero, when the grid is smaller than 5 x 9). */
void wsss_rw_from_window(int h, int w, int *y0, int *y1, int *x0, int *x1);

/* Number of pairs on an h x w grid: 34 * (h - 4) * (w - 8), 0 when the grid is too small for any
 * from cell. */
int64_t wsss_rw_num_pairs(int h, int w);

/* Pair k's cells (flat indices y * w + x) into from[k], to[k]; arrays of wsss_rw_num_pairs(h, w). */
void wsss_rw_pairs(int h, int w, int64_t *from, int64_t *to);

/* v (C x n, n = h * w, row-major cells) <- v T^t for the pair affinities aff (wsss_rw_num_pairs
 * values in [0, 1], pair order above), exponent beta. Accumulates in double. Errors: an affinity
 * outside [0, 1] or not finite, beta <= 0 or t < 0 (message). */
int wsss_rw_walk(int h, int w, const float *aff, double beta, int t, int channels, float *v);

/* PSA's pseudo labels from a walk (§b.5 steps 4-6). maps: n planes of H x W floats in [0, 1] (the
 * image's labelled classes, classes[k] the id of plane k); aff: the pair affinities on the feature
 * grid h x w = ceil(H / 8) x ceil(W / 8). Seeds: [(1 - max_k maps)^bg_pow; maps], zero-padded
 * bottom/right to 8h x 8w and average-pooled 8 x 8; walked (beta, t); upsampled bilinearly
 * (half-pixel centres) to 8h x 8w; argmax (first on ties), cropped to H x W, mapped to 0 (background)
 * or the class ids. out: H * W labels. PSA's values: beta 8, t 256, bg_pow 16. A grid too small for
 * any pair walks as the identity. Errors: bad sizes, n > 254, and wsss_rw_walk's (message). */
int wsss_rw_labels(int H, int W, const float *maps, int n, const int *classes, const float *aff, double beta, int t,
                   double bg_pow, uint8_t *out);
/* Its steps, for callers that look in between: the seeds v ((n + 1) x h x w, channel 0 the
 * background) and, from the walked seeds, the labels. */
int wsss_rw_seeds(int H, int W, const float *maps, int n, double bg_pow, float *v);
int wsss_rw_labels_from_walked(int H, int W, const float *walked, int n, const int *classes, uint8_t *out);

#endif
