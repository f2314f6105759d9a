/* Reference loss kernels (float and double), used by src/ops/loss.c. Forward kernels return the
 * SUM of the per-element losses (accumulated in double, in fixed blocks combined in order, so
 * the result does not depend on the thread count); the op divides by the element count.
 * Backward kernels write gradients already multiplied by `scale` (= upstream gradient / count). */
#ifndef WSSS_BACKEND_REF_LOSS_H
#define WSSS_BACKEND_REF_LOSS_H

#include <stdint.h>

#include "wsss/tensor.h"

/* sum of max(x,0) - x*y + log1p(exp(-|x|)) (BCE with logits, stable form) */
double wsss_ref_bce_logits_f32(int64_t n, const float *x, const float *y);
double wsss_ref_bce_logits_f64(int64_t n, const double *x, const double *y);
/* sum of -(y * logsigmoid(x) + (1 - y) * logsigmoid(-x)) (multilabel soft margin terms) */
double wsss_ref_soft_margin_f32(int64_t n, const float *x, const float *y);
double wsss_ref_soft_margin_f64(int64_t n, const double *x, const double *y);
/* Both losses above have d/dx = sigmoid(x) - y and d/dy = -x; gx / gy may be NULL. */
void wsss_ref_logits_loss_backward_f32(int64_t n, const float *x, const float *y, double scale,
                                       float *gx, float *gy);
void wsss_ref_logits_loss_backward_f64(int64_t n, const double *x, const double *y, double scale,
                                       double *gx, double *gy);

/* sum of (y - 1) * max(log(1 - p), -100) - y * max(log(p), -100) (BCE on probabilities) */
double wsss_ref_bce_f32(int64_t n, const float *p, const float *y);
double wsss_ref_bce_f64(int64_t n, const double *p, const double *y);
/* As PyTorch: gp = scale * (p - y) / max((1 - p) * p, 1e-12f) (the float constant, also for
 * double); gy = scale * (log(1 - p) - log(p))
 * (unclamped: infinite at p = 0 or 1). gp / gy may be NULL. */
void wsss_ref_bce_backward_f32(int64_t n, const float *p, const float *y, double scale, float *gp,
                               float *gy);
void wsss_ref_bce_backward_f64(int64_t n, const double *p, const double *y, double scale, double *gp,
                               double *gy);

/* Cross entropy over logits seen as outer x c x inner (N, C, H*W), target outer x inner of dtype
 * tdt (I64, I32 or U8). Returns the sum of -log_softmax(x)[target] over positions whose target is
 * not `ignore`, and their count in *nvalid. A target outside [0, c) that is not `ignore` asserts. */
double wsss_ref_cross_entropy_f32(int64_t outer, int64_t c, int64_t inner, const float *x,
                                  const void *target, wsss_dtype tdt, int64_t ignore, int64_t *nvalid);
double wsss_ref_cross_entropy_f64(int64_t outer, int64_t c, int64_t inner, const double *x,
                                  const void *target, wsss_dtype tdt, int64_t ignore, int64_t *nvalid);
/* gx = scale * (softmax(x) - onehot(target)) at valid positions, 0 at ignored ones. */
void wsss_ref_cross_entropy_backward_f32(int64_t outer, int64_t c, int64_t inner, const float *x,
                                         const void *target, wsss_dtype tdt, int64_t ignore,
                                         double scale, float *gx);
void wsss_ref_cross_entropy_backward_f64(int64_t outer, int64_t c, int64_t inner, const double *x,
                                         const void *target, wsss_dtype tdt, int64_t ignore,
                                         double scale, double *gx);

#endif
