/* oneDNN eltwise kernels for the activations of src/backend/ref/activation.h (F32, contiguous,
 * treated as a flat 1-D array). Same contract as the reference kernels: the backward takes the
 * forward output when wsss_act_bwd_uses_dst(kind, alpha), else the forward input. */
#ifndef WSSS_BACKEND_DNNL_ELTWISE_H
#define WSSS_BACKEND_DNNL_ELTWISE_H

#include <stdint.h>

#include "backend/ref/activation.h"

/* Return 0 on success, -1 if oneDNN has no implementation (caller falls back to the reference). */
int wsss_dnnl_act_forward(wsss_act_kind k, double alpha, const float *x, float *y, int64_t n);
int wsss_dnnl_act_backward(wsss_act_kind k, double alpha, const float *s, const float *dy, float *dx,
                           int64_t n);

#endif
