/* oneDNN 2-D convolution kernels (F32) on plain N,C,H,W activations and O,I,KH,KW weights.
 * Same geometry and contracts as the reference kernels in backend/ref/conv.h. Primitives are
 * created with format_tag any (so oneDNN picks its fast blocked layouts) and cached per shape;
 * plain tensors are reordered in and out inside each call. */
#ifndef WSSS_BACKEND_DNNL_CONV_H
#define WSSS_BACKEND_DNNL_CONV_H

#include "backend/ref/conv.h"

/* y = conv(x, w) + b (b used iff g->has_bias). */
void wsss_dnnl_conv2d_fwd(const wsss_conv_geom *g, const float *x, const float *w, const float *b,
                          float *y);
void wsss_dnnl_conv2d_bwd_data(const wsss_conv_geom *g, const float *dy, const float *w, float *dx);
/* dw, and db when g->has_bias (db must then be non-NULL); both overwritten. */
void wsss_dnnl_conv2d_bwd_weights(const wsss_conv_geom *g, const float *x, const float *dy,
                                  float *dw, float *db);

#endif
