/* Permutohedral lattice (Adams, Baek, Davis, Eurographics 2010) for Gaussian filtering over fixed
 * d-dimensional features: build once per kernel and image, then filter many V-channel signals.
 * Internal to the dense CRF; the exact steps are those of specs/refinement.md a.4. */
#ifndef WSSS_LATTICE_H
#define WSSS_LATTICE_H

#include <stdint.h>

#define WSSS_LATTICE_MAX_D 16

typedef struct wsss_lattice wsss_lattice;

/* Builds the lattice of n points with d features each (row-major n x d, 1 <= d <= MAX_D).
 * Returns NULL with an error message when a feature is not finite, when a feature is too large for
 * int32 lattice keys, or when n*(d+1) does not fit int32 indices. */
wsss_lattice *wsss_lattice_build(const float *features, int64_t n, int d);
void wsss_lattice_free(wsss_lattice *lat);

int64_t wsss_lattice_n_points(const wsss_lattice *lat); /* distinct lattice points M */
int wsss_lattice_dim(const wsss_lattice *lat);           /* d */

/* out_i (=|+=) gain * os_i * alpha * slice(blur(splat(is_j * in_j)))_i, where is/os are the optional
 * per-point input/output scales (NULL means 1). This approximates
 *   gain * os_i * sum_j c * exp(-|f_i - f_j|^2 / 2) * is_j * in_j
 * for some constant c (blur gain and slice constant; a normalised filter cancels it).
 * in and out have v values per point, rows in_stride / out_stride floats apart; they must not
 * overlap. The lattice keeps its work buffers, so a lattice is filtered by one caller at a time.
 * Results do not depend on the thread count (each output is summed in a fixed order). */
void wsss_lattice_filter(wsss_lattice *lat, const float *in, int64_t in_stride, const float *in_scale,
                         float *out, int64_t out_stride, const float *out_scale, int v, float gain,
                         int accumulate);

/* The same filter in phases, so a caller can consume each output row while it is hot:
 * splat_blur returns the blurred lattice values (owned by lat; they stay valid through the next splat
 * and blur, until the splat after that), and
 * slice_add adds gain * gain_scale_j * alpha * slice(...) of points p0 + j, j < count, to the rows
 * out + j * out_stride (gain_scale NULL means 1), with v as given to the splat. */
const float *wsss_lattice_splat_blur(wsss_lattice *lat, const float *in, int64_t in_stride,
                                     const float *in_scale, int v);
void wsss_lattice_slice_add(const wsss_lattice *lat, const float *blurred, int64_t p0, int64_t count, int v,
                            float gain, const float *gain_scale, float *out, int64_t out_stride);

/* The splat point by point, for an iterative filter that produces its next input while it slices
 * the last output (mean field): splat_begin returns zeroed lattice values for v values per point,
 * in a buffer other than the last blurred result, which stays valid; splat_add adds the rows of
 * points p0 + j, j < count (row j at in + j * in_stride, scaled by in_scale[j], NULL means 1), with
 * v as given to splat_begin; blur blurs them and returns the result, as splat_blur does. Adding the
 * points in increasing order, one call or many, gives splat_blur's bits. One thread at a time. */
float *wsss_lattice_splat_begin(wsss_lattice *lat, int v);
void wsss_lattice_splat_add(const wsss_lattice *lat, float *values, int64_t p0, int64_t count, const float *in,
                            int64_t in_stride, const float *in_scale, int v);
const float *wsss_lattice_blur(wsss_lattice *lat);

#endif
