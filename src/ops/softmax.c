/* softmax / log_softmax along any dim: shape bookkeeping and autograd; kernels in
 * backend/ref/softmax.c. Backward reads only the saved output. */
#include <stdio.h>

#include "backend/ref/softmax.h"
#include "ops/op_inputs.h"
#include "wsss/error.h"
#include "wsss/ops.h"

typedef struct {
    int64_t outer, d, inner;
    int is_log;
} sm_attrs;

static void softmax_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *gout) {
    const sm_attrs *at = n->attrs;
    wsss_tensor *x = n->inputs[0];
    const wsss_tensor *y = n->saved[0];
    wsss_tensor *gx = wsss_ctx_tensor(ctx, x->dtype, x->ndim, x->shape);
    if (x->dtype == WSSS_F32)
        wsss_ref_softmax_backward_f32(at->outer, at->d, at->inner, y->data, gout->data, gx->data, at->is_log);
    else
        wsss_ref_softmax_backward_f64(at->outer, at->d, at->inner, y->data, gout->data, gx->data, at->is_log);
    wsss_grad_accumulate_release(ctx, x, gx);
}

static wsss_tensor *softmax_impl(wsss_ctx *ctx, const char *name, wsss_tensor *x, int dim, int is_log) {
    check_float(x, name);
    int nd = x->ndim > 0 ? x->ndim : 1; /* 0-dim: one element, dim 0 / -1 */
    if (dim < 0) dim += nd;
    WSSS_ASSERT(dim >= 0 && dim < nd, "softmax: dim out of range");
    int64_t outer = 1, d = x->ndim > 0 ? x->shape[dim] : 1, inner = 1;
    for (int i = 0; i < dim; i++) outer *= x->shape[i];
    for (int i = dim + 1; i < x->ndim; i++) inner *= x->shape[i];
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    wsss_tensor *out = wsss_ctx_tensor(ctx, x->dtype, x->ndim, x->shape);
    if (x->dtype == WSSS_F32) wsss_ref_softmax_f32(outer, d, inner, xc->data, out->data, is_log);
    else wsss_ref_softmax_f64(outer, d, inner, xc->data, out->data, is_log);
    drop_tmp(ctx, x, xc);
    wsss_node *n = wsss_record(ctx, name, softmax_backward, out, 1, &x, sizeof(sm_attrs));
    if (n) {
        *(sm_attrs *)n->attrs = (sm_attrs){outer, d, inner, is_log};
        wsss_node_save(n, out);
    }
    return out;
}

wsss_tensor *wsss_softmax(wsss_ctx *ctx, wsss_tensor *x, int dim) {
    return softmax_impl(ctx, "softmax", x, dim, 0);
}
wsss_tensor *wsss_log_softmax(wsss_ctx *ctx, wsss_tensor *x, int dim) {
    return softmax_impl(ctx, "log_softmax", x, dim, 1);
}
