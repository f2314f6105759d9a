/* Resizing kernels on contiguous (planes, H, W) data with F.interpolate's exact index rules
 * (PyTorch 1.13 CPU): bilinear (align_corners both ways, forward and backward), nearest
 * (legacy 'nearest', forward and backward), bicubic (a = -0.75, forward).
 *
 * Two sets of kernels compute the same thing:
 *  - wsss_ref_resize_*_{f32,f64}: plain per-pixel loops that recompute the source index and
 *    weights for every output pixel; the oracle (and the only path for double);
 *  - wsss_tab_resize_*_f32: per-row/column index and weight tables built once, OpenMP over
 *    planes (rows for the forward). Same arithmetic in the same order, so they agree bitwise.
 * Backward kernels overwrite dx (zero it first, then scatter-add). */
#ifndef WSSS_BACKEND_REF_RESIZE_H
#define WSSS_BACKEND_REF_RESIZE_H

#include <stdint.h>

/* Source index of output column/row dst for nearest: PyTorch computes it in float (scale =
 * (float)in / out, floorf(dst * scale), clamped to in - 1), for every data type, which differs
 * from exact integer floor(dst * in / out) in rare cases (e.g. in 2, out 82, dst 41). */
int64_t wsss_resize_nearest_src(int64_t dst, int64_t in, int64_t out);

void wsss_ref_resize_bilinear_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                      int64_t oh, int64_t ow, float *y, int align_corners);
void wsss_ref_resize_bilinear_fwd_f64(int64_t planes, int64_t ih, int64_t iw, const double *x,
                                      int64_t oh, int64_t ow, double *y, int align_corners);
void wsss_ref_resize_bilinear_bwd_f32(int64_t planes, int64_t ih, int64_t iw, float *dx,
                                      int64_t oh, int64_t ow, const float *dy, int align_corners);
void wsss_ref_resize_bilinear_bwd_f64(int64_t planes, int64_t ih, int64_t iw, double *dx,
                                      int64_t oh, int64_t ow, const double *dy, int align_corners);

void wsss_ref_resize_nearest_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                     int64_t oh, int64_t ow, float *y);
void wsss_ref_resize_nearest_fwd_f64(int64_t planes, int64_t ih, int64_t iw, const double *x,
                                     int64_t oh, int64_t ow, double *y);
void wsss_ref_resize_nearest_bwd_f32(int64_t planes, int64_t ih, int64_t iw, float *dx,
                                     int64_t oh, int64_t ow, const float *dy);
void wsss_ref_resize_nearest_bwd_f64(int64_t planes, int64_t ih, int64_t iw, double *dx,
                                     int64_t oh, int64_t ow, const double *dy);

void wsss_ref_resize_bicubic_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                     int64_t oh, int64_t ow, float *y, int align_corners);
void wsss_ref_resize_bicubic_fwd_f64(int64_t planes, int64_t ih, int64_t iw, const double *x,
                                     int64_t oh, int64_t ow, double *y, int align_corners);

/* Table-driven float kernels (same contracts as above). */
void wsss_tab_resize_bilinear_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                      int64_t oh, int64_t ow, float *y, int align_corners);
void wsss_tab_resize_bilinear_bwd_f32(int64_t planes, int64_t ih, int64_t iw, float *dx,
                                      int64_t oh, int64_t ow, const float *dy, int align_corners);
void wsss_tab_resize_nearest_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                     int64_t oh, int64_t ow, float *y);
void wsss_tab_resize_nearest_bwd_f32(int64_t planes, int64_t ih, int64_t iw, float *dx,
                                     int64_t oh, int64_t ow, const float *dy);
void wsss_tab_resize_bicubic_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                     int64_t oh, int64_t ow, float *y, int align_corners);

#endif
