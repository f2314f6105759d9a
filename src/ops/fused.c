/* Fused elementwise ops for the layout-aware fast path: relu(a + b), the ResNet residual join.
 * F32 under oneDNN: one pass over both inputs in whatever layout they share (blocked or plain),
 * the output in that layout; the backward keeps only the output (gradient gy * (y > 0) to both
 * inputs). Otherwise (F64, the reference backend, broadcasting) the two ops composed. */
#include "backend/dnnl/tensor_md.h"
#include "core/kernel.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

#define PAR_MIN (1 << 15)

static void add_relu_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    wsss_tensor *y = node->saved[0];
    dnnl_memory_desc_t md;
    wsss_dnnl_tensor_md(&md, y);
    wsss_tensor *g = wsss_dnnl_as_md(ctx, (wsss_tensor *)gy, &md);
    /* mask in place when the pass is about to free gy anyway */
    int inplace = g == gy && wsss_grad_is_private(node, gy);
    wsss_tensor *dx = inplace ? g : wsss_dnnl_new_tensor(ctx, y->ndim, y->shape, &md);
    const float *ys = wsss_dnnl_tensor_ptr(y), *gs = wsss_dnnl_tensor_ptr(g);
    float *d = wsss_dnnl_tensor_ptr(dx);
    const int64_t n = (int64_t)(y->layout ? y->buf->nbytes / sizeof(float) : (size_t)wsss_tensor_numel(y));
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) d[i] = ys[i] > 0.f ? gs[i] : 0.f;
    if (g != gy) wsss_ctx_release(ctx, g);
    for (int i = 0; i < 2; i++)
        if (wsss_node_input_needs_grad(node, i)) wsss_grad_accumulate(ctx, node->inputs[i], dx);
    if (!inplace) wsss_ctx_release(ctx, dx);
}

wsss_tensor *wsss_add_relu(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b) {
    WSSS_ASSERT(ctx != NULL, "add_relu needs a context");
    if (!(a->dtype == WSSS_F32 && b->dtype == WSSS_F32 && wsss_get_backend() == WSSS_BACKEND_DNNL &&
          wsss_tensor_same_shape(a, b) && a->ndim >= 1))
        return wsss_relu(ctx, wsss_add(ctx, a, b));
    /* common layout: a blocked operand's, so only a plain one is converted */
    wsss_tensor *ak = a->layout ? a : (wsss_tensor *)wsss_ctx_contiguous(ctx, a);
    wsss_tensor *bk = b->layout ? b : (wsss_tensor *)wsss_ctx_contiguous(ctx, b);
    if (!wsss_ctx_blocked(ctx)) { /* plain results only */
        wsss_tensor_plain(ak);
        wsss_tensor_plain(bk);
    }
    dnnl_memory_desc_t md;
    wsss_dnnl_tensor_md(&md, ak->layout ? ak : bk);
    wsss_tensor *ac = wsss_dnnl_as_md(ctx, ak, &md), *bc = wsss_dnnl_as_md(ctx, bk, &md);
    wsss_tensor *y = wsss_dnnl_new_tensor(ctx, a->ndim, a->shape, &md);
    const float *as = wsss_dnnl_tensor_ptr(ac), *bs = wsss_dnnl_tensor_ptr(bc);
    float *ys = wsss_dnnl_tensor_ptr(y);
    /* blocked: every stored value including the zero padding (0 + 0 stays 0) */
    const int64_t n = (int64_t)(y->layout ? y->buf->nbytes / sizeof(float) : (size_t)wsss_tensor_numel(y));
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float v = as[i] + bs[i];
        ys[i] = v > 0.f ? v : 0.f;
    }
    if (ac != ak) wsss_ctx_release(ctx, ac);
    if (bc != bk) wsss_ctx_release(ctx, bc);
    wsss_tensor *in[2] = {a, b};
    wsss_node *node = wsss_record(ctx, "add_relu", add_relu_backward, y, 2, in, 0);
    if (node) {
        node->flags |= WSSS_NODE_BLOCKED_GRAD;
        wsss_node_save(node, y);
    }
    return y;
}
