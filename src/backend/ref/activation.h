/* Reference elementwise activation kernels (relu, leaky_relu, elu, sigmoid, tanh), float and
 * double. The backward kernels take either the forward input or the forward output, whichever
 * the activation's derivative is expressed in (wsss_act_bwd_uses_dst), so that the op saves one
 * tensor and the oneDNN kernels (the *_use_dst_for_bwd algorithms) see the same thing. */
#ifndef WSSS_BACKEND_REF_ACTIVATION_H
#define WSSS_BACKEND_REF_ACTIVATION_H

#include <stdint.h>

typedef enum {
    WSSS_ACT_RELU = 0,
    WSSS_ACT_LEAKY_RELU, /* alpha = negative slope */
    WSSS_ACT_ELU,        /* alpha */
    WSSS_ACT_SIGMOID,
    WSSS_ACT_TANH
} wsss_act_kind;

/* Nonzero if the backward is computed from the output y rather than the input x.
 * leaky_relu keeps x (a negative slope would make the sign of y ambiguous); elu uses y only
 * for alpha >= 0, where y <= 0 exactly when x <= 0. */
static inline int wsss_act_bwd_uses_dst(wsss_act_kind k, double alpha) {
    switch (k) {
    case WSSS_ACT_RELU:
    case WSSS_ACT_SIGMOID:
    case WSSS_ACT_TANH: return 1;
    case WSSS_ACT_ELU: return alpha >= 0;
    default: return 0;
    }
}

/* y = f(x), n elements (y may alias x). */
void wsss_ref_act_forward_f32(wsss_act_kind k, double alpha, const float *x, float *y, int64_t n);
void wsss_ref_act_forward_f64(wsss_act_kind k, double alpha, const double *x, double *y, int64_t n);
/* dx = dy * f'(.), where s is y if wsss_act_bwd_uses_dst(k, alpha) else x. Matches PyTorch at
 * the kinks: relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha. */
void wsss_ref_act_backward_f32(wsss_act_kind k, double alpha, const float *s, const float *dy,
                               float *dx, int64_t n);
void wsss_ref_act_backward_f64(wsss_act_kind k, double alpha, const double *s, const double *dy,
                               double *dx, int64_t n);

#endif
