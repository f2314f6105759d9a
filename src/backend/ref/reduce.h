/* Reference reduction kernels (float and double), used by src/ops/reduce.c.
 *
 * A reduction sees its input as kept dims x reduced dims: output element o (row-major over the
 * kept dims) combines every element reached by stepping through the reduced dims. Strides are in
 * elements and may be anything (views need no copy). Sums accumulate in double and, when they
 * run on several threads, combine fixed-size blocks in a fixed order: results do not depend on
 * the thread count. */
#ifndef WSSS_BACKEND_REF_REDUCE_H
#define WSSS_BACKEND_REF_REDUCE_H

#include <stdint.h>

#include "wsss/tensor.h"

typedef struct wsss_reduce_geo {
    int nk, nr;                                          /* kept / reduced dim counts */
    int64_t kshape[WSSS_MAX_DIMS], kstride[WSSS_MAX_DIMS];
    int64_t rshape[WSSS_MAX_DIMS], rstride[WSSS_MAX_DIMS];
    int64_t nout, nred;                                  /* products of kshape / rshape */
} wsss_reduce_geo;

/* Geometry of reducing a tensor of `shape` with element `stride` over the dims in bitmask `dims`
 * (adjacent dims that are laid out contiguously are merged). */
void wsss_reduce_geo_init(wsss_reduce_geo *g, int ndim, const int64_t *shape, const int64_t *stride,
                          unsigned dims);

/* out[o] = scale * sum of the reduced elements (out contiguous, nout elements). */
void wsss_ref_sum_f32(const wsss_reduce_geo *g, const float *x, float *out, double scale);
void wsss_ref_sum_f64(const wsss_reduce_geo *g, const double *x, double *out, double scale);
/* gx[...] = scale * gout[o] for every element reduced into o (g describes gx's layout). */
void wsss_ref_sum_backward_f32(const wsss_reduce_geo *g, const float *gout, float *gx, double scale);
void wsss_ref_sum_backward_f64(const wsss_reduce_geo *g, const double *gout, double *gx, double scale);

/* Max (is_min = 0) or min over the reduced space (one dim for the per-dim ops, or everything):
 * value and the index of its first occurrence along the reduced space; NaN wins, as in PyTorch. */
void wsss_ref_argmax_f32(const wsss_reduce_geo *g, const float *x, float *out, int64_t *idx, int is_min);
void wsss_ref_argmax_f64(const wsss_reduce_geo *g, const double *x, double *out, int64_t *idx,
                         int is_min);
/* gx[o-th base + idx[o] * rstride] += gout[o] for a one-dim reduction (g describes gx, zeroed). */
void wsss_ref_argmax_backward_f32(const wsss_reduce_geo *g, const float *gout, const int64_t *idx, float *gx);
void wsss_ref_argmax_backward_f64(const wsss_reduce_geo *g, const double *gout, const int64_t *idx,
                                  double *gx);

/* Backward of a full max/min as PyTorch's (evenly_distribute_backward): the gradient is split
 * equally among all n contiguous elements equal to v (all NaNs if v is NaN). */
void wsss_ref_extreme_all_backward_f32(int64_t n, const float *x, float v, float gout, float *gx);
void wsss_ref_extreme_all_backward_f64(int64_t n, const double *x, double v, double gout, double *gx);

#endif
