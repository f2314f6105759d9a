/* Reference batch-normalisation kernels on contiguous N,C,H,W data (hw = H*W), float and double.
 * weight/bias may be NULL (affine off: scale 1, shift 0). Sums are accumulated in double. */
#ifndef WSSS_BACKEND_REF_NORM_H
#define WSSS_BACKEND_REF_NORM_H

#include <stdint.h>

/* Per-channel batch mean and biased variance (divisor n*hw), two-pass. */
void wsss_ref_bn_stats_f32(int64_t n, int64_t c, int64_t hw, const float *x, float *mean, float *var);
void wsss_ref_bn_stats_f64(int64_t n, int64_t c, int64_t hw, const double *x, double *mean,
                           double *var);

/* y = (x - mean) / sqrt(var + eps) * weight + bias. */
void wsss_ref_bn_fwd_f32(int64_t n, int64_t c, int64_t hw, const float *x, const float *mean,
                         const float *var, const float *weight, const float *bias, double eps,
                         float *y);
void wsss_ref_bn_fwd_f64(int64_t n, int64_t c, int64_t hw, const double *x, const double *mean,
                         const double *var, const double *weight, const double *bias, double eps,
                         double *y);

/* Gradients given dy. batch_stats != 0: mean/var are the batch statistics of x, so dx includes
 * the paths through them; otherwise they are constants (running statistics). dx, dweight,
 * dbias may each be NULL (not wanted); they are overwritten, not accumulated. */
void wsss_ref_bn_bwd_f32(int64_t n, int64_t c, int64_t hw, const float *x, const float *dy,
                         const float *mean, const float *var, const float *weight, double eps,
                         int batch_stats, float *dx, float *dweight, float *dbias);
void wsss_ref_bn_bwd_f64(int64_t n, int64_t c, int64_t hw, const double *x, const double *dy,
                         const double *mean, const double *var, const double *weight, double eps,
                         int batch_stats, double *dx, double *dweight, double *dbias);

#endif
