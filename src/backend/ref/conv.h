/* Reference 2-D convolution kernels (forward, backward data, backward weights, bias gradient)
 * on contiguous N,C,H,W data and C_out,C_in/groups,KH,KW weights, float and double, with
 * torch.nn.functional.conv2d's semantics (zero padding, PyTorch dilation: 1 = dense). */
#ifndef WSSS_BACKEND_REF_CONV_H
#define WSSS_BACKEND_REF_CONV_H

#include <stdint.h>

/* Everything a convolution kernel needs; filled by wsss_conv_geom_init (src/ops/conv_geom.h). */
typedef struct wsss_conv_geom {
    int64_t n, cin, h, w; /* input */
    int64_t cout, kh, kw; /* weights: cout, cin/groups, kh, kw */
    int64_t oh, ow;       /* output */
    int sh, sw;           /* stride */
    int ph, pw;           /* zero padding, both sides */
    int dh, dw;           /* dilation, PyTorch convention (1 = dense) */
    int groups;
    int has_bias;
} wsss_conv_geom;

/* PyTorch's output size: floor((in + 2p - d*(k-1) - 1) / s) + 1 (<= 0: no output). */
int64_t wsss_conv_out_size(int64_t in, int64_t k, int s, int p, int d);

/* y = conv(x, w) (+ b per output channel when b != NULL); y is overwritten. */
void wsss_ref_conv2d_fwd_f32(const wsss_conv_geom *g, const float *x, const float *w,
                             const float *b, float *y);
void wsss_ref_conv2d_fwd_f64(const wsss_conv_geom *g, const double *x, const double *w,
                             const double *b, double *y);
/* dx = d(sum(y*dy))/dx; dx is overwritten. */
void wsss_ref_conv2d_bwd_data_f32(const wsss_conv_geom *g, const float *dy, const float *w,
                                  float *dx);
void wsss_ref_conv2d_bwd_data_f64(const wsss_conv_geom *g, const double *dy, const double *w,
                                  double *dx);
/* dw = d(sum(y*dy))/dw; dw is overwritten. */
void wsss_ref_conv2d_bwd_weights_f32(const wsss_conv_geom *g, const float *x, const float *dy,
                                     float *dw);
void wsss_ref_conv2d_bwd_weights_f64(const wsss_conv_geom *g, const double *x, const double *dy,
                                     double *dw);
/* db[c] = sum over n, oh, ow of dy[n, c]; db is overwritten. */
void wsss_ref_conv2d_bwd_bias_f32(const wsss_conv_geom *g, const float *dy, float *db);
void wsss_ref_conv2d_bwd_bias_f64(const wsss_conv_geom *g, const double *dy, double *db);

#endif
