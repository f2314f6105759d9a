/* Reference kernels for shape ops: strided copies (views made contiguous, view gradients),
 * the pad window copy, index_select and gather. Data movement is written once for any element
 * size; the scatter-add backward kernels come in float and double (shape_impl.h). */
#ifndef WSSS_BACKEND_REF_SHAPE_H
#define WSSS_BACKEND_REF_SHAPE_H

#include <stddef.h>
#include <stdint.h>

/* dst[i...] = src[i...] for every multi-index of `shape` (ndim 0..5); strides in elements (any
 * sign, 0 allowed for src), es = element size in bytes. dst and src must not overlap. */
void wsss_ref_copy_strided(size_t es, int ndim, const int64_t *shape, void *dst,
                           const int64_t *dst_stride, const void *src, const int64_t *src_stride);

/* Window copy between planes: for each of `planes` planes, src (sh, sw) element (y, x) goes to
 * dst (dh, dw) element (y + top, x + left) where that lies inside dst; other dst elements are
 * untouched. Constant pad forward uses (top, left); its backward swaps the roles and negates. */
void wsss_ref_pad2d_copy(size_t es, int64_t planes, int64_t sh, int64_t sw, const void *src,
                         int64_t dh, int64_t dw, void *dst, int64_t top, int64_t left);

/* index_select over contiguous data viewed as (outer, n_src, inner): y is (outer, n_idx, inner),
 * y[o][k][i] = x[o][idx[k]][i]. Indices must be in [0, n_src). */
void wsss_ref_index_select_fwd(size_t es, int64_t outer, int64_t n_src, int64_t inner,
                               const void *x, int64_t n_idx, const int64_t *idx, void *y);
/* dx (zeroed by caller) [o][idx[k]][i] += dy[o][k][i]; repeated indices accumulate. */
void wsss_ref_index_select_bwd_f32(int64_t outer, int64_t n_src, int64_t inner, const float *dy,
                                   int64_t n_idx, const int64_t *idx, float *dx);
void wsss_ref_index_select_bwd_f64(int64_t outer, int64_t n_src, int64_t inner, const double *dy,
                                   int64_t n_idx, const int64_t *idx, double *dx);

/* torch.gather on contiguous data: x has shape xshape, index and y have shape ishape (same ndim,
 * ishape[d] <= xshape[d] for d != dim); y[m] = x[m with m[dim] replaced by index[m]]. */
void wsss_ref_gather_fwd(size_t es, int ndim, int dim, const int64_t *xshape, const void *x,
                         const int64_t *ishape, const int64_t *index, void *y);
/* Scatter-add: dx (zeroed by caller, xshape)[... index[m] ...] += dy[m]. */
void wsss_ref_gather_bwd_f32(int ndim, int dim, const int64_t *xshape, float *dx,
                             const int64_t *ishape, const int64_t *index, const float *dy);
void wsss_ref_gather_bwd_f64(int ndim, int dim, const int64_t *xshape, double *dx,
                             const int64_t *ishape, const int64_t *index, const double *dy);

#endif
