/* Reference softmax / log-softmax kernels (float and double), used by src/ops/softmax.c and by
 * the cross-entropy loss. The tensor is contiguous and seen as outer x d x inner, normalised
 * along d. Sums accumulate in double. */
#ifndef WSSS_BACKEND_REF_SOFTMAX_H
#define WSSS_BACKEND_REF_SOFTMAX_H

#include <stdint.h>

/* y = softmax(x) or log_softmax(x) (is_log) along d; max-subtracted, so no overflow. */
void wsss_ref_softmax_f32(int64_t outer, int64_t d, int64_t inner, const float *x, float *y, int is_log);
void wsss_ref_softmax_f64(int64_t outer, int64_t d, int64_t inner, const double *x, double *y,
                          int is_log);
/* From the forward output y: softmax gx = y * (gy - sum_d gy * y);
 * log_softmax gx = gy - exp(y) * sum_d gy. */
void wsss_ref_softmax_backward_f32(int64_t outer, int64_t d, int64_t inner, const float *y,
                                   const float *gy, float *gx, int is_log);
void wsss_ref_softmax_backward_f64(int64_t outer, int64_t d, int64_t inner, const double *y,
                                   const double *gy, double *gx, int is_log);

#endif
