/* oneDNN pooling kernels (F32, contiguous N,C,H,W) with PyTorch's semantics, geometry from
 * src/backend/ref/pool.h. ceil_mode is expressed through a larger right/bottom padding.
 * Average pooling with count_include_pad divides by kh*kw in oneDNN but by the window clipped to
 * the padded input in PyTorch; the two differ only for windows that ceil_mode lets run past the
 * right/bottom padding, and those outputs (and their gradients) are rescaled here. */
#ifndef WSSS_BACKEND_DNNL_POOL_H
#define WSSS_BACKEND_DNNL_POOL_H

#include <stddef.h>

#include "backend/ref/pool.h"
#include "wsss/autograd.h"

/* Bytes of the workspace a max-pool training forward writes and its backward reads; 0 if
 * oneDNN cannot run this configuration (then use the reference kernels for both passes). */
size_t wsss_dnnl_maxpool_ws_bytes(const wsss_pool_geom *g);

/* is_max: max pooling, else average (g->count_include_pad). ws: NULL for inference, else a
 * buffer of wsss_dnnl_maxpool_ws_bytes (max only). Return 0, or -1 if oneDNN has no
 * implementation (nothing written; use the reference kernel). */
int wsss_dnnl_pool_fwd(const wsss_pool_geom *g, int is_max, const float *x, float *y, void *ws);
/* dx = gradient of the forward given dy (overwritten). Max pooling needs the forward's ws. */
int wsss_dnnl_pool_bwd(const wsss_pool_geom *g, int is_max, const float *dy, const void *ws, float *dx);

/* ---- layout-aware variants (blocked-layout contexts) ----
 * x in any layout; y in the primitive's layout for it. *aux receives a ctx-owned U8 tensor the
 * backward needs (the forward's source layout, and for max pooling the workspace); pass want_aux
 * = 0 without a backward. NULL when not available (e.g. average windows needing PyTorch's
 * rescale): use the plain path. */
wsss_tensor *wsss_dnnl_pool_fwd_t(wsss_ctx *ctx, const wsss_pool_geom *g, int is_max, wsss_tensor *x,
                                  int want_aux, wsss_tensor **aux);
/* dx in the forward source's layout, from gy in any layout. */
wsss_tensor *wsss_dnnl_pool_bwd_t(wsss_ctx *ctx, const wsss_pool_geom *g, int is_max,
                                  const wsss_tensor *aux, wsss_tensor *gy);

#endif
