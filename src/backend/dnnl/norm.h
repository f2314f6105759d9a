/* oneDNN batch normalization (F32, contiguous N,C,H,W) forward and backward. oneDNN computes
 * batch mean and biased variance but never touches running statistics: the op does that.
 * weight/bias may be NULL (affine off). */
#ifndef WSSS_BACKEND_DNNL_NORM_H
#define WSSS_BACKEND_DNNL_NORM_H

#include <stdint.h>

/* use_global = 0: training forward, mean/var (C each) receive the batch mean and biased
 * variance. use_global = 1: mean/var are inputs (running statistics). Returns 0, or -1 if
 * oneDNN has no implementation (nothing written). */
int wsss_dnnl_bn_fwd(int64_t n, int64_t c, int64_t h, int64_t w, const float *x, const float *weight,
                     const float *bias, float *mean, float *var, int use_global, double eps, float *y);

/* Gradients given dy; mean/var as in the forward (batch statistics when use_global = 0, then dx
 * includes the paths through them). has_bias must match the forward. dx, dweight, dbias may be
 * NULL when not wanted. Returns 0 or -1 as above. */
int wsss_dnnl_bn_bwd(int64_t n, int64_t c, int64_t h, int64_t w, const float *x, const float *dy,
                     const float *mean, const float *var, const float *weight, int has_bias,
                     int use_global, double eps, float *dx, float *dweight, float *dbias);

#endif
