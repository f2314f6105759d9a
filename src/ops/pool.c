/* Pooling ops: max, average (PyTorch's ceil_mode and divisor rules) and global average.
 * Max pooling saves where each output's maximum came from: oneDNN's workspace when the forward
 * ran on oneDNN (its backward needs exactly that), else the reference kernel's arg-max indices. */
#include "backend/dnnl/pool.h"
#include "backend/ref/pool.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

typedef struct pool_attrs {
    wsss_pool_geom g;
    int used_dnnl; /* forward ran on oneDNN; the backward must too (max: workspace format) */
} pool_attrs;

static int use_dnnl(const wsss_tensor *x) {
    return x->dtype == WSSS_F32 && wsss_get_backend() == WSSS_BACKEND_DNNL;
}

static void pool_geom(const char *op, const wsss_tensor *x, wsss_pool2d_params p, wsss_pool_geom *g) {
    WSSS_ASSERT(x->ndim == 4, "pooling input must be N,C,H,W");
    WSSS_ASSERT(x->dtype == WSSS_F32 || x->dtype == WSSS_F64, "pooling input must be F32 or F64");
    WSSS_ASSERT(p.kernel[0] >= 1 && p.kernel[1] >= 1, "pooling kernel must be positive");
    WSSS_ASSERT(p.stride[0] >= 0 && p.stride[1] >= 0, "pooling stride must be >= 0 (0 = kernel)");
    /* PyTorch: padding at most half the kernel, so no window lies entirely in padding */
    WSSS_ASSERT(p.padding[0] >= 0 && p.padding[1] >= 0 && 2 * p.padding[0] <= p.kernel[0] &&
                    2 * p.padding[1] <= p.kernel[1],
                "pooling padding must be in [0, kernel/2]");
    g->n = x->shape[0];
    g->c = x->shape[1];
    g->h = x->shape[2];
    g->w = x->shape[3];
    g->kh = p.kernel[0];
    g->kw = p.kernel[1];
    g->sh = p.stride[0] ? p.stride[0] : p.kernel[0];
    g->sw = p.stride[1] ? p.stride[1] : p.kernel[1];
    g->ph = p.padding[0];
    g->pw = p.padding[1];
    g->ceil_mode = p.ceil_mode != 0;
    g->count_include_pad = p.count_include_pad != 0;
    g->oh = wsss_pool_out_size(g->h, g->kh, g->sh, g->ph, g->ceil_mode);
    g->ow = wsss_pool_out_size(g->w, g->kw, g->sw, g->pw, g->ceil_mode);
    if (g->oh < 1 || g->ow < 1) {
        char s[64];
        fprintf(stderr, "%s: input %s is too small for kernel %dx%d, padding %d,%d\n", op,
                wsss_shape_str(x, s, sizeof s), g->kh, g->kw, g->ph, g->pw);
        WSSS_ASSERT(0, "pooling output would be empty");
    }
}

/* ---------------- layout-aware path (blocked input in a blocked-layout context) ---------------- */

typedef struct pool_layout_attrs {
    wsss_pool_geom g;
    int is_max;
} pool_layout_attrs;

static void pool_backward_layout(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    if (!wsss_node_input_needs_grad(node, 0)) return;
    const pool_layout_attrs *a = node->attrs;
    wsss_tensor *dx = wsss_dnnl_pool_bwd_t(ctx, &a->g, a->is_max, node->saved[0], (wsss_tensor *)gy);
    wsss_grad_accumulate_release(ctx, node->inputs[0], dx);
}

/* NULL when the plain path must be used. */
static wsss_tensor *pool_layout(wsss_ctx *ctx, const char *name, wsss_tensor *x, const wsss_pool_geom *g,
                                int is_max) {
    if (!(x->layout && use_dnnl(x) && wsss_ctx_blocked(ctx))) return NULL;
    int need = wsss_needs_grad(ctx, 1, &x);
    wsss_tensor *aux = NULL;
    wsss_tensor *y = wsss_dnnl_pool_fwd_t(ctx, g, is_max, x, need, &aux);
    if (!y) return NULL;
    wsss_node *n = wsss_record(ctx, name, pool_backward_layout, y, 1, &x, sizeof(pool_layout_attrs));
    if (n) {
        n->flags |= WSSS_NODE_BLOCKED_GRAD;
        pool_layout_attrs *a = n->attrs;
        a->g = *g;
        a->is_max = is_max;
        wsss_node_save(n, aux);
    }
    return y;
}

/* One pooling call: its geometry, then either the oneDNN layout path's output y, or (y NULL) the
 * contiguous input xc for the plain kernels. */
typedef struct pool_call {
    wsss_pool_geom g;
    wsss_tensor *y;
    const wsss_tensor *xc;
} pool_call;

/* Both poolings' start; returns whether the layout path produced pc->y. */
static int pool_start(wsss_ctx *ctx, const char *name, wsss_tensor *x, wsss_pool2d_params p, int is_max,
                      pool_call *pc) {
    WSSS_ASSERT(ctx != NULL, "pooling needs a context");
    pool_geom(name, x, p, &pc->g);
    pc->y = pool_layout(ctx, name, x, &pc->g, is_max);
    pc->xc = pc->y ? NULL : wsss_ctx_contiguous(ctx, x);
    return pc->y != NULL;
}

static wsss_tensor *pool_out(wsss_ctx *ctx, const wsss_tensor *x, const wsss_pool_geom *g) {
    int64_t s[4] = {g->n, g->c, g->oh, g->ow};
    return wsss_ctx_tensor(ctx, x->dtype, 4, s);
}

/* ---------------- max ---------------- */

static void maxpool_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    if (!wsss_node_input_needs_grad(node, 0)) return;
    const pool_attrs *a = node->attrs;
    wsss_tensor *x = node->inputs[0];
    wsss_tensor *dx = wsss_ctx_tensor(ctx, x->dtype, 4, x->shape);
    const wsss_tensor *aux = node->saved[0];
    if (a->used_dnnl) {
        int rc = wsss_dnnl_pool_bwd(&a->g, 1, wsss_f32(gy), aux->data, wsss_f32(dx));
        WSSS_ASSERT(rc == 0, "oneDNN max pooling backward unavailable after its forward ran");
    } else if (x->dtype == WSSS_F64) {
        wsss_ref_maxpool_bwd_f64(&a->g, aux->data, wsss_f64(gy), wsss_f64(dx));
    } else {
        wsss_ref_maxpool_bwd_f32(&a->g, aux->data, wsss_f32(gy), wsss_f32(dx));
    }
    wsss_grad_accumulate_release(ctx, x, dx);
}

wsss_tensor *wsss_maxpool2d(wsss_ctx *ctx, wsss_tensor *x, wsss_pool2d_params p) {
    pool_call pc;
    if (pool_start(ctx, "maxpool2d", x, p, 1, &pc)) return pc.y;
    wsss_tensor *y = pool_out(ctx, x, &pc.g), *aux = NULL;
    int need = wsss_needs_grad(ctx, 1, &x), dnnl = 0;
    if (use_dnnl(x)) {
        if (!need) {
            dnnl = wsss_dnnl_pool_fwd(&pc.g, 1, wsss_f32(pc.xc), wsss_f32(y), NULL) == 0;
        } else {
            size_t wsb = wsss_dnnl_maxpool_ws_bytes(&pc.g);
            if (wsb) {
                int64_t s = (int64_t)wsb;
                aux = wsss_ctx_tensor(ctx, WSSS_U8, 1, &s);
                dnnl = wsss_dnnl_pool_fwd(&pc.g, 1, wsss_f32(pc.xc), wsss_f32(y), aux->data) == 0;
                if (!dnnl) {
                    wsss_ctx_release(ctx, aux);
                    aux = NULL;
                }
            }
        }
    }
    if (!dnnl) {
        int64_t *idx = NULL;
        if (need) {
            aux = wsss_ctx_tensor(ctx, WSSS_I64, 4, y->shape);
            idx = aux->data;
        }
        if (x->dtype == WSSS_F64) wsss_ref_maxpool_fwd_f64(&pc.g, wsss_f64(pc.xc), wsss_f64(y), idx);
        else wsss_ref_maxpool_fwd_f32(&pc.g, wsss_f32(pc.xc), wsss_f32(y), idx);
    }
    wsss_node *n = wsss_record(ctx, "maxpool2d", maxpool_backward, y, 1, &x, sizeof(pool_attrs));
    if (n) {
        pool_attrs *a = n->attrs;
        a->g = pc.g;
        a->used_dnnl = dnnl;
        wsss_node_save(n, aux);
    }
    return y;
}

/* ---------------- average ---------------- */

static void avgpool_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    if (!wsss_node_input_needs_grad(node, 0)) return;
    const pool_attrs *a = node->attrs;
    wsss_tensor *x = node->inputs[0];
    wsss_tensor *dx = wsss_ctx_tensor(ctx, x->dtype, 4, x->shape);
    if (x->dtype == WSSS_F64) {
        wsss_ref_avgpool_bwd_f64(&a->g, wsss_f64(gy), wsss_f64(dx));
    } else if (!a->used_dnnl || wsss_dnnl_pool_bwd(&a->g, 0, wsss_f32(gy), NULL, wsss_f32(dx)) != 0) {
        wsss_ref_avgpool_bwd_f32(&a->g, wsss_f32(gy), wsss_f32(dx));
    }
    wsss_grad_accumulate_release(ctx, x, dx);
}

wsss_tensor *wsss_avgpool2d(wsss_ctx *ctx, wsss_tensor *x, wsss_pool2d_params p) {
    pool_call pc;
    if (pool_start(ctx, "avgpool2d", x, p, 0, &pc)) return pc.y;
    wsss_tensor *y = pool_out(ctx, x, &pc.g);
    int dnnl = use_dnnl(x) && wsss_dnnl_pool_fwd(&pc.g, 0, wsss_f32(pc.xc), wsss_f32(y), NULL) == 0;
    if (!dnnl) {
        if (x->dtype == WSSS_F64) wsss_ref_avgpool_fwd_f64(&pc.g, wsss_f64(pc.xc), wsss_f64(y));
        else wsss_ref_avgpool_fwd_f32(&pc.g, wsss_f32(pc.xc), wsss_f32(y));
    }
    wsss_node *n = wsss_record(ctx, "avgpool2d", avgpool_backward, y, 1, &x, sizeof(pool_attrs));
    if (n) {
        pool_attrs *a = n->attrs;
        a->g = pc.g;
        a->used_dnnl = dnnl;
    }
    return y;
}

/* ---------------- global average ---------------- */

static void global_avgpool_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    if (!wsss_node_input_needs_grad(node, 0)) return;
    wsss_tensor *x = node->inputs[0];
    int64_t planes = x->shape[0] * x->shape[1], hw = x->shape[2] * x->shape[3];
    wsss_tensor *dx = wsss_ctx_tensor(ctx, x->dtype, 4, x->shape);
    if (x->dtype == WSSS_F64) wsss_ref_global_avgpool_bwd_f64(planes, hw, wsss_f64(gy), wsss_f64(dx));
    else wsss_ref_global_avgpool_bwd_f32(planes, hw, wsss_f32(gy), wsss_f32(dx));
    wsss_grad_accumulate_release(ctx, x, dx);
}

/* A plain reduction over each plane: memory-bound, so the reference loop is as fast as oneDNN. */
wsss_tensor *wsss_global_avgpool(wsss_ctx *ctx, wsss_tensor *x) {
    WSSS_ASSERT(ctx != NULL, "global_avgpool needs a context");
    WSSS_ASSERT(x->ndim == 4, "global_avgpool input must be N,C,H,W");
    WSSS_ASSERT(x->dtype == WSSS_F32 || x->dtype == WSSS_F64, "global_avgpool input must be F32 or F64");
    WSSS_ASSERT(x->shape[2] * x->shape[3] > 0, "global_avgpool of an empty plane");
    if (x->layout) {
        /* blocked input: one oneDNN average pool over the whole plane instead of converting x */
        wsss_pool_geom g = {.n = x->shape[0], .c = x->shape[1], .h = x->shape[2], .w = x->shape[3],
                            .oh = 1, .ow = 1, .kh = (int)x->shape[2], .kw = (int)x->shape[3],
                            .sh = 1, .sw = 1, .count_include_pad = 1};
        wsss_tensor *yl = pool_layout(ctx, "global_avgpool", x, &g, 0);
        /* the N,C,1,1 result feeds reshape/linear/losses: hand it over plain (it is tiny) */
        if (yl) return wsss_tensor_plain(yl);
    }
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    int64_t s[4] = {x->shape[0], x->shape[1], 1, 1};
    wsss_tensor *y = wsss_ctx_tensor(ctx, x->dtype, 4, s);
    int64_t planes = s[0] * s[1], hw = x->shape[2] * x->shape[3];
    if (x->dtype == WSSS_F64) wsss_ref_global_avgpool_fwd_f64(planes, hw, wsss_f64(xc), wsss_f64(y));
    else wsss_ref_global_avgpool_fwd_f32(planes, hw, wsss_f32(xc), wsss_f32(y));
    wsss_record(ctx, "global_avgpool", global_avgpool_backward, y, 1, &x, 0);
    return y;
}
