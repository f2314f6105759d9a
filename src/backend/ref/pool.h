/* Reference 2-D pooling kernels (max, average, global average) on contiguous N,C,H,W data,
 * float and double, with PyTorch's semantics (window placement, ceil_mode, divisors, arg-max). */
#ifndef WSSS_BACKEND_REF_POOL_H
#define WSSS_BACKEND_REF_POOL_H

#include <stdint.h>

/* Everything a pooling kernel needs; filled by wsss_pool_geom_init (src/ops/pool.c). */
typedef struct wsss_pool_geom {
    int64_t n, c, h, w;  /* input */
    int64_t oh, ow;      /* output */
    int kh, kw, sh, sw, ph, pw;
    int ceil_mode;
    int count_include_pad;
} wsss_pool_geom;

/* PyTorch's pooling output size: floor or ceil of (in + 2p - k)/s, plus one; in ceil mode the
 * last window must start inside the input or the left padding. Returns <= 0 when the
 * configuration yields no output. */
int64_t wsss_pool_out_size(int64_t in, int k, int s, int p, int ceil_mode);

/* PyTorch's avg-pool divisor for output position (oh, ow): the window clipped to the padded
 * input [-p, in + p) when count_include_pad, else the window clipped to the input. */
int64_t wsss_pool_avg_divisor(const wsss_pool_geom *g, int64_t oh, int64_t ow);

/* Max pooling. idx (may be NULL) receives, per output, the flat h*W+w index of the arg-max in
 * its input plane: the first maximum in row-major scan order (NaN wins), as PyTorch's CPU kernel. */
void wsss_ref_maxpool_fwd_f32(const wsss_pool_geom *g, const float *x, float *y, int64_t *idx);
void wsss_ref_maxpool_fwd_f64(const wsss_pool_geom *g, const double *x, double *y, int64_t *idx);
/* dx = 0, then dx[idx] += dy. */
void wsss_ref_maxpool_bwd_f32(const wsss_pool_geom *g, const int64_t *idx, const float *dy, float *dx);
void wsss_ref_maxpool_bwd_f64(const wsss_pool_geom *g, const int64_t *idx, const double *dy,
                              double *dx);

/* Average pooling (padding counts as zeros; divisor from wsss_pool_avg_divisor). */
void wsss_ref_avgpool_fwd_f32(const wsss_pool_geom *g, const float *x, float *y);
void wsss_ref_avgpool_fwd_f64(const wsss_pool_geom *g, const double *x, double *y);
void wsss_ref_avgpool_bwd_f32(const wsss_pool_geom *g, const float *dy, float *dx);
void wsss_ref_avgpool_bwd_f64(const wsss_pool_geom *g, const double *dy, double *dx);

/* Global average pooling over planes of hw elements: y[p] = mean(x[p*hw .. p*hw+hw)). */
void wsss_ref_global_avgpool_fwd_f32(int64_t planes, int64_t hw, const float *x, float *y);
void wsss_ref_global_avgpool_fwd_f64(int64_t planes, int64_t hw, const double *x, double *y);
void wsss_ref_global_avgpool_bwd_f32(int64_t planes, int64_t hw, const float *dy, float *dx);
void wsss_ref_global_avgpool_bwd_f64(int64_t planes, int64_t hw, const double *dy, double *dx);

#endif
