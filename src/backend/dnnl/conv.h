/* oneDNN 2-D convolution kernels (F32) on plain N,C,H,W activations and O,I,KH,KW weights.
 * Same geometry and contracts as the reference kernels in backend/ref/conv.h. Primitives are
 * created with format_tag any (so oneDNN picks its fast blocked layouts) and cached per shape;
 * plain tensors are reordered in and out inside each call. */
#ifndef WSSS_BACKEND_DNNL_CONV_H
#define WSSS_BACKEND_DNNL_CONV_H

#include "backend/ref/conv.h"
#include "wsss/autograd.h"

/* y = conv(x, w) + b (b used iff g->has_bias). */
void wsss_dnnl_conv2d_fwd(const wsss_conv_geom *g, const float *x, const float *w, const float *b,
                          float *y);
void wsss_dnnl_conv2d_bwd_data(const wsss_conv_geom *g, const float *dy, const float *w, float *dx);
/* dw, and db when g->has_bias (db must then be non-NULL); both overwritten. */
void wsss_dnnl_conv2d_bwd_weights(const wsss_conv_geom *g, const float *x, const float *dy,
                                  float *dw, float *db);

/* ---- layout-aware variants (blocked-layout contexts, see wsss_ctx_set_blocked) ----
 * Tensors in any layout (plain contiguous or blocked); inputs are reordered only when the
 * primitive wants another layout, weights come from the per-context cache (reordered once per
 * context and weight version), outputs are created in the primitive's own layout. */

/* Returns y (relu(y) with post_relu: a fused eltwise post-op); *x_used receives x in the
 * primitive's source layout (x itself or a converted copy), which is what the backward pass
 * should keep. */
wsss_tensor *wsss_dnnl_conv2d_fwd_t(wsss_ctx *ctx, const wsss_conv_geom *g, wsss_tensor *x,
                                    wsss_tensor *w, wsss_tensor *b, int post_relu, int wino,
                                    wsss_tensor **x_used);
/* ---- inference (no graph, no backward) ----
 * Post-ops of an inference convolution, in this order: the sum adds what the output already
 * holds (a residual), the ReLU comes last. */
enum { WSSS_DNNL_POST_RELU = 1, WSSS_DNNL_POST_SUM = 2 };
/* relu?(conv(x, w * oc_scale) + b + sum?): w plain O,I,KH,KW F32 (no groups), scaled per output
 * channel by oc_scale (NULL: unscaled) and converted into the primitive's layout on the first
 * call, then kept by the context as a derived tensor of w keyed by the caller's key bytes (which
 * must identify the scale's source) and the layout. With consume_sum, and sum stored in the
 * output's layout and not shared, the result is written over sum and sum itself is returned;
 * otherwise sum is unchanged and a new tensor is returned. wino: oneDNN's Winograd kernel where
 * it has one, dilated 3x3 convolutions by space-to-batch (space_to_batch.h). */
wsss_tensor *wsss_dnnl_conv2d_infer_t(wsss_ctx *ctx, const wsss_conv_geom *g, int wino, wsss_tensor *x,
                                      wsss_tensor *w, const double *oc_scale, const void *key, size_t keylen,
                                      wsss_tensor *b, wsss_tensor *sum, int consume_sum, int relu);

/* Backward from gy: returns dx (NULL unless want_dx) in the primitive's layout; dw and db (plain
 * contiguous, may be NULL) are overwritten. x is the tensor the forward kept.
 * wino (both directions): Winograd F(4x4, 3x3) where oneDNN has it (3x3, stride 1, no dilation
 * or groups), direct convolution otherwise. */
wsss_tensor *wsss_dnnl_conv2d_bwd_t(wsss_ctx *ctx, const wsss_conv_geom *g, wsss_tensor *x,
                                    wsss_tensor *w, wsss_tensor *gy, int want_dx, wsss_tensor *dw,
                                    wsss_tensor *db, int wino);

#endif
