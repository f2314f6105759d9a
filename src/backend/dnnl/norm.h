/* oneDNN batch normalization (F32, contiguous N,C,H,W) forward and backward. oneDNN computes
 * batch mean and biased variance but never touches running statistics: the op does that.
 * weight/bias may be NULL (affine off). */
#ifndef WSSS_BACKEND_DNNL_NORM_H
#define WSSS_BACKEND_DNNL_NORM_H

#include <stdint.h>

#include "wsss/autograd.h"

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

/* ---- layout-aware variants: x (4-D F32) in any layout, y and dx created in x's layout ----
 * fuse_relu: y = relu(bn(x)) with oneDNN's fused batch norm + ReLU; when want_ws, *ws receives
 * the ReLU workspace the backward needs (a ctx-owned U8 tensor). Return NULL (nothing written)
 * when oneDNN has no implementation. */
wsss_tensor *wsss_dnnl_bn_fwd_t(wsss_ctx *ctx, wsss_tensor *x, const float *weight, const float *bias,
                                float *mean, float *var, int use_global, double eps, int fuse_relu,
                                int want_ws, wsss_tensor **ws);
/* Returns dx in x's layout when want_dx (else NULL); dweight/dbias (C floats, may be NULL) are
 * overwritten. *ok = 0 if oneDNN has no implementation. */
wsss_tensor *wsss_dnnl_bn_bwd_t(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *gy, const float *mean,
                                const float *var, const float *weight, int has_bias, int use_global,
                                double eps, int fuse_relu, wsss_tensor *ws, int want_dx,
                                float *dweight, float *dbias, int *ok);

#endif
