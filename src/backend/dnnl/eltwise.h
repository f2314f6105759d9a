/* oneDNN eltwise kernels for the activations of src/backend/ref/activation.h (F32, contiguous,
 * treated as a flat 1-D array). Same contract as the reference kernels: the backward takes the
 * forward output when wsss_act_bwd_uses_dst(kind, alpha), else the forward input. */
#ifndef WSSS_BACKEND_DNNL_ELTWISE_H
#define WSSS_BACKEND_DNNL_ELTWISE_H

#include <stdint.h>

#include "backend/ref/activation.h"
#include "wsss/autograd.h"

/* Return 0 on success, -1 if oneDNN has no implementation (caller falls back to the reference). */
int wsss_dnnl_act_forward(wsss_act_kind k, double alpha, const float *x, float *y, int64_t n);
int wsss_dnnl_act_backward(wsss_act_kind k, double alpha, const float *s, const float *dy, float *dx,
                           int64_t n);

/* Layout-aware variants (blocked-layout contexts): x in any layout, y in x's layout; the backward
 * takes the saved tensor s (x or y, see wsss_act_bwd_uses_dst) and gy in any layout, dx in s's
 * layout. NULL when oneDNN has no implementation. Only for activations with f(0) = 0, so the zero
 * padding of blocked layouts stays zero. */
wsss_tensor *wsss_dnnl_act_forward_t(wsss_ctx *ctx, wsss_act_kind k, double alpha, wsss_tensor *x);
/* inplace: gy may be overwritten (see wsss_grad_is_private); then dx is gy itself when gy is in
 * s's layout. */
wsss_tensor *wsss_dnnl_act_backward_t(wsss_ctx *ctx, wsss_act_kind k, double alpha, wsss_tensor *s,
                                      wsss_tensor *gy, int inplace);

#endif
