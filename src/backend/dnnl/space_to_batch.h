/* Space-to-batch for dilated convolutions: a 3x3 convolution with dilation d and padding d on an
 * H x W map (H, W multiples of d) equals an undilated one with padding 1 on the d*d sub-maps of
 * every d-th pixel, stacked along the batch; undilated, oneDNN's Winograd kernels apply. Inputs
 * are F32 with channels a multiple of 16, in any layout (converted first); results are in
 * oneDNN's nChw16c layout. */
#ifndef WSSS_BACKEND_DNNL_SPACE_TO_BATCH_H
#define WSSS_BACKEND_DNNL_SPACE_TO_BATCH_H

#include "wsss/autograd.h"

/* x: N,C,H,W -> N*d*d, C, H/d, W/d; sub-map (r, s) of image n (the pixels h % d == r,
 * w % d == s) is batch entry (n * d + r) * d + s. */
wsss_tensor *wsss_dnnl_space_to_batch(wsss_ctx *ctx, wsss_tensor *x, int d);
/* The inverse: y: N*d*d, C, H', W' -> N, C, H'*d, W'*d. */
wsss_tensor *wsss_dnnl_batch_to_space(wsss_ctx *ctx, wsss_tensor *y, int d);

#endif
