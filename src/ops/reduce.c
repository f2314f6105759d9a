/* Reductions: output shapes (keepdim), autograd bookkeeping, dispatch to the reference kernels. */
#include <stdio.h>

#include "backend/ref/reduce.h"
#include "ops/op_inputs.h"
#include "wsss/error.h"
#include "wsss/ops.h"

static unsigned all_dims(int ndim) { return ndim >= 32 ? ~0u : (1u << ndim) - 1u; }

/* Output shape of reducing `dims`: size 1 there (keepdim) or dropped. Returns its ndim. */
static int reduced_shape(const wsss_tensor *x, unsigned dims, int keepdim, int64_t *shape) {
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (dims & (1u << d)) {
            if (keepdim) shape[nd++] = 1;
        } else {
            shape[nd++] = x->shape[d];
        }
    }
    return nd;
}

/* A backward's zeroed gradient of x and the geometry of the reduction over dims, laid over it. */
static wsss_tensor *grad_like(wsss_ctx *ctx, const wsss_tensor *x, unsigned dims, wsss_reduce_geo *g) {
    wsss_tensor *gx = wsss_ctx_tensor(ctx, x->dtype, x->ndim, x->shape);
    wsss_reduce_geo_init(g, gx->ndim, gx->shape, gx->stride, dims);
    return gx;
}

/* ---------------- sum / mean ---------------- */

typedef struct {
    unsigned dims;
    double scale;
} sum_attrs;

static void sum_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *gout) {
    const sum_attrs *at = n->attrs;
    wsss_tensor *x = n->inputs[0];
    wsss_reduce_geo g;
    wsss_tensor *gx = grad_like(ctx, x, at->dims, &g);
    if (x->dtype == WSSS_F32) wsss_ref_sum_backward_f32(&g, gout->data, gx->data, at->scale);
    else wsss_ref_sum_backward_f64(&g, gout->data, gx->data, at->scale);
    wsss_grad_accumulate_release(ctx, x, gx);
}

/* mean = sum scaled by 1 / (number of elements reduced into each output). */
static wsss_tensor *sum_impl(wsss_ctx *ctx, const char *name, wsss_tensor *x, unsigned dims,
                             int keepdim, int mean) {
    check_float(x, name);
    ensure_plain(ctx, x);
    WSSS_ASSERT((dims & ~all_dims(x->ndim)) == 0, "sum/mean: dims bitmask names a dim >= ndim");
    int64_t shape[WSSS_MAX_DIMS];
    int nd = reduced_shape(x, dims, keepdim, shape);
    wsss_tensor *out = wsss_ctx_tensor(ctx, x->dtype, nd, shape);
    wsss_reduce_geo g;
    wsss_reduce_geo_init(&g, x->ndim, x->shape, x->stride, dims);
    double scale = mean ? 1.0 / (double)g.nred : 1.0;
    if (x->dtype == WSSS_F32) wsss_ref_sum_f32(&g, x->data, out->data, scale);
    else wsss_ref_sum_f64(&g, x->data, out->data, scale);
    wsss_node *n = wsss_record(ctx, name, sum_backward, out, 1, &x, sizeof(sum_attrs));
    if (n) {
        sum_attrs *at = n->attrs;
        at->dims = dims;
        at->scale = scale;
    }
    return out;
}

wsss_tensor *wsss_sum(wsss_ctx *ctx, wsss_tensor *x, unsigned dims, int keepdim) {
    return sum_impl(ctx, "sum", x, dims, keepdim, 0);
}
wsss_tensor *wsss_mean(wsss_ctx *ctx, wsss_tensor *x, unsigned dims, int keepdim) {
    return sum_impl(ctx, "mean", x, dims, keepdim, 1);
}
wsss_tensor *wsss_sum_all(wsss_ctx *ctx, wsss_tensor *x) {
    return sum_impl(ctx, "sum_all", x, all_dims(x->ndim), 0, 0);
}
wsss_tensor *wsss_mean_all(wsss_ctx *ctx, wsss_tensor *x) {
    return sum_impl(ctx, "mean_all", x, all_dims(x->ndim), 0, 1);
}

/* ---------------- max / min over one dim ---------------- */

typedef struct { unsigned dims; } arg_attrs;

static void argmax_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *gout) {
    const arg_attrs *at = n->attrs;
    wsss_tensor *x = n->inputs[0];
    const wsss_tensor *idx = n->saved[0];
    wsss_reduce_geo g;
    wsss_tensor *gx = grad_like(ctx, x, at->dims, &g);
    if (x->dtype == WSSS_F32) wsss_ref_argmax_backward_f32(&g, gout->data, idx->data, gx->data);
    else wsss_ref_argmax_backward_f64(&g, gout->data, idx->data, gx->data);
    wsss_grad_accumulate_release(ctx, x, gx);
}

static wsss_tensor *extreme_dim(wsss_ctx *ctx, const char *name, wsss_tensor *x, int dim, int keepdim,
                                wsss_tensor **indices, int is_min) {
    check_float(x, name);
    ensure_plain(ctx, x);
    int nd0 = x->ndim > 0 ? x->ndim : 1; /* a 0-dim tensor accepts dim 0 / -1, as in PyTorch */
    if (dim < 0) dim += nd0;
    WSSS_ASSERT(dim >= 0 && dim < nd0, "max/min: dim out of range");
    unsigned dims = x->ndim > 0 ? 1u << dim : 0u;
    WSSS_ASSERT(x->ndim == 0 || x->shape[dim] > 0, "max/min: reduction over an empty dim");
    int64_t shape[WSSS_MAX_DIMS];
    int nd = reduced_shape(x, dims, keepdim, shape);
    wsss_tensor *out = wsss_ctx_tensor(ctx, x->dtype, nd, shape);
    int need_grad = wsss_needs_grad(ctx, 1, &x);
    wsss_tensor *idx = (indices || need_grad) ? wsss_ctx_tensor(ctx, WSSS_I64, nd, shape) : NULL;
    wsss_reduce_geo g;
    wsss_reduce_geo_init(&g, x->ndim, x->shape, x->stride, dims);
    int64_t *ip = idx ? idx->data : NULL;
    if (x->dtype == WSSS_F32) wsss_ref_argmax_f32(&g, x->data, out->data, ip, is_min);
    else wsss_ref_argmax_f64(&g, x->data, out->data, ip, is_min);
    wsss_node *n = wsss_record(ctx, name, argmax_backward, out, 1, &x, sizeof(arg_attrs));
    if (n) {
        ((arg_attrs *)n->attrs)->dims = dims;
        wsss_node_save(n, idx);
    }
    if (indices) *indices = idx;
    return out;
}

wsss_tensor *wsss_max(wsss_ctx *ctx, wsss_tensor *x, int dim, int keepdim, wsss_tensor **indices) {
    return extreme_dim(ctx, "max", x, dim, keepdim, indices, 0);
}
wsss_tensor *wsss_min(wsss_ctx *ctx, wsss_tensor *x, int dim, int keepdim, wsss_tensor **indices) {
    return extreme_dim(ctx, "min", x, dim, keepdim, indices, 1);
}

/* ---------------- max / min over everything ---------------- */

static void extreme_all_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *gout) {
    wsss_tensor *x = n->inputs[0];
    const wsss_tensor *xc = n->saved[0];
    wsss_tensor *gx = wsss_ctx_tensor(ctx, x->dtype, x->ndim, x->shape);
    int64_t cnt = wsss_tensor_numel(x);
    if (x->dtype == WSSS_F32)
        wsss_ref_extreme_all_backward_f32(cnt, xc->data, wsss_f32(n->output)[0], wsss_f32(gout)[0],
                                          gx->data);
    else
        wsss_ref_extreme_all_backward_f64(cnt, xc->data, wsss_f64(n->output)[0], wsss_f64(gout)[0],
                                          gx->data);
    wsss_grad_accumulate_release(ctx, x, gx);
}

/* Like torch.max(x): ties share the gradient equally (PyTorch's evenly_distribute_backward). */
static wsss_tensor *extreme_all(wsss_ctx *ctx, const char *name, wsss_tensor *x, int is_min) {
    check_float(x, name);
    ensure_plain(ctx, x);
    WSSS_ASSERT(wsss_tensor_numel(x) > 0, "max_all/min_all: empty tensor");
    wsss_tensor *out = wsss_ctx_tensor(ctx, x->dtype, 0, NULL);
    wsss_reduce_geo g;
    wsss_reduce_geo_init(&g, x->ndim, x->shape, x->stride, all_dims(x->ndim));
    if (x->dtype == WSSS_F32) wsss_ref_argmax_f32(&g, x->data, out->data, NULL, is_min);
    else wsss_ref_argmax_f64(&g, x->data, out->data, NULL, is_min);
    wsss_node *n = wsss_record(ctx, name, extreme_all_backward, out, 1, &x, 0);
    if (n) wsss_node_save(n, (wsss_tensor *)wsss_ctx_contiguous(ctx, x));
    return out;
}

wsss_tensor *wsss_max_all(wsss_ctx *ctx, wsss_tensor *x) { return extreme_all(ctx, "max_all", x, 0); }
wsss_tensor *wsss_min_all(wsss_ctx *ctx, wsss_tensor *x) { return extreme_all(ctx, "min_all", x, 1); }
