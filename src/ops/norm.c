/* Batch normalisation (torch.nn.functional.batch_norm on N,C,H,W) in three modes:
 *  TRAIN:  normalise with the batch mean and biased variance; running_mean/var (if given) move
 *          towards the batch mean and the unbiased variance by `momentum`; the gradient flows
 *          through the batch statistics.
 *  EVAL:   normalise with the running statistics (constants); gradients to x, weight, bias.
 *  FROZEN: as EVAL, but weight and bias are constants even if they require grad (frozen BN in
 *          fine-tuned backbones).
 * The statistics used are copied into the graph, so later updates of the running buffers do not
 * change this node's backward. */
#include <math.h>

#include "backend/dnnl/norm.h"
#include "backend/ref/norm.h"
#include "ops/norm_sync.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

typedef struct bn_attrs {
    wsss_bn_mode mode;
    double eps;
    int used_dnnl;
    int has_weight, has_bias;
    int fuse_relu; /* layout-aware path: y = relu(bn(x)), saved[SAVED_WS] is the ReLU workspace */
} bn_attrs;

/* saved[] slots */
enum { SAVED_X = 0, SAVED_MEAN, SAVED_VAR, SAVED_WEIGHT, SAVED_WS };

static int use_dnnl(const wsss_tensor *x) {
    return x->dtype == WSSS_F32 && wsss_get_backend() == WSSS_BACKEND_DNNL;
}

static void check_vec(const char *what, const wsss_tensor *t, int64_t c) {
    if (!t) return;
    if (t->ndim != 1 || t->shape[0] != c) {
        char s[64];
        fprintf(stderr, "batchnorm2d: %s has shape %s, expected [%lld]\n", what,
                wsss_shape_str(t, s, sizeof s), (long long)c);
        WSSS_ASSERT(0, "batchnorm2d parameter shape mismatch");
    }
    WSSS_ASSERT(t->dtype == WSSS_F32 || t->dtype == WSSS_F64, "batchnorm2d vectors must be F32/F64");
}

/* Contiguous copy of a C-vector in dtype dt, owned by ctx (NULL stays NULL). */
static wsss_tensor *vec_copy(wsss_ctx *ctx, const wsss_tensor *t, wsss_dtype dt) {
    if (!t) return NULL;
    wsss_tensor *c = wsss_ctx_tensor(ctx, dt, 1, t->shape);
    wsss_tensor_copy_into(c, t);
    return c;
}

static void bn_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    const bn_attrs *a = node->attrs;
    wsss_tensor *x = node->inputs[0];
    const wsss_tensor *xs = node->saved[SAVED_X], *mean = node->saved[SAVED_MEAN],
                      *var = node->saved[SAVED_VAR], *w = node->saved[SAVED_WEIGHT];
    int64_t n = xs->shape[0], c = xs->shape[1], h = xs->shape[2], wd = xs->shape[3];
    int batch = a->mode == WSSS_BN_TRAIN;
    int want_x = wsss_node_input_needs_grad(node, 0);
    int want_w = a->mode != WSSS_BN_FROZEN && a->has_weight && wsss_node_input_needs_grad(node, 1);
    int want_b = a->mode != WSSS_BN_FROZEN && a->has_bias && wsss_node_input_needs_grad(node, 2);
    if (!want_x && !want_w && !want_b) return;
    wsss_tensor *dx = want_x ? wsss_ctx_tensor(ctx, xs->dtype, 4, xs->shape) : NULL;
    wsss_tensor *dw = want_w ? wsss_ctx_tensor(ctx, xs->dtype, 1, &c) : NULL;
    wsss_tensor *db = want_b ? wsss_ctx_tensor(ctx, xs->dtype, 1, &c) : NULL;
    if (xs->dtype == WSSS_F64) {
        wsss_ref_bn_bwd_f64(n, c, h * wd, wsss_f64(xs), wsss_f64(gy), wsss_f64(mean), wsss_f64(var),
                            w ? wsss_f64(w) : NULL, a->eps, batch, dx ? wsss_f64(dx) : NULL,
                            dw ? wsss_f64(dw) : NULL, db ? wsss_f64(db) : NULL);
    } else if (!a->used_dnnl ||
               wsss_dnnl_bn_bwd(n, c, h, wd, wsss_f32(xs), wsss_f32(gy), wsss_f32(mean),
                                wsss_f32(var), w ? wsss_f32(w) : NULL, a->has_bias, !batch,
                                a->eps, dx ? wsss_f32(dx) : NULL, dw ? wsss_f32(dw) : NULL,
                                db ? wsss_f32(db) : NULL) != 0) {
        wsss_ref_bn_bwd_f32(n, c, h * wd, wsss_f32(xs), wsss_f32(gy), wsss_f32(mean), wsss_f32(var),
                            w ? wsss_f32(w) : NULL, a->eps, batch, dx ? wsss_f32(dx) : NULL,
                            dw ? wsss_f32(dw) : NULL, db ? wsss_f32(db) : NULL);
    }
    wsss_grad_accumulate_release(ctx, x, dx);
    wsss_grad_accumulate_release(ctx, node->inputs[1], dw);
    wsss_grad_accumulate_release(ctx, node->inputs[2], db);
}

/* Running statistics move towards the batch statistics, as PyTorch: running = (1 - momentum) *
 * running + momentum * batch, with the unbiased variance (the kernels return the biased one). */
static void update_running(wsss_tensor *running_mean, wsss_tensor *running_var, const wsss_tensor *mean,
                           const wsss_tensor *var, int64_t m, double momentum) {
    const int64_t c = mean->shape[0];
    const double unbias = (double)m / (double)(m - 1);
    for (int64_t i = 0; i < c; i++) {
        double rm = wsss_tensor_get(running_mean, i), rv = wsss_tensor_get(running_var, i);
        double bm = wsss_tensor_get(mean, i), bv = wsss_tensor_get(var, i) * unbias;
        wsss_tensor_set(running_mean, i, (1 - momentum) * rm + momentum * bm);
        wsss_tensor_set(running_var, i, (1 - momentum) * rv + momentum * bv);
    }
}

/* ---------------- layout-aware oneDNN path (blocked contexts, and fused BN + ReLU) ------------ */

static void bn_backward_layout(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    const bn_attrs *a = node->attrs;
    wsss_tensor *xs = node->saved[SAVED_X], *mean = node->saved[SAVED_MEAN],
                *var = node->saved[SAVED_VAR], *w = node->saved[SAVED_WEIGHT];
    wsss_tensor *ws = a->fuse_relu ? node->saved[SAVED_WS] : NULL;
    const int64_t c = xs->shape[1];
    int want_x = wsss_node_input_needs_grad(node, 0);
    int want_w = a->mode != WSSS_BN_FROZEN && a->has_weight && wsss_node_input_needs_grad(node, 1);
    int want_b = a->mode != WSSS_BN_FROZEN && a->has_bias && wsss_node_input_needs_grad(node, 2);
    if (!want_x && !want_w && !want_b) return;
    wsss_tensor *dw = want_w ? wsss_ctx_tensor(ctx, WSSS_F32, 1, &c) : NULL;
    wsss_tensor *db = want_b ? wsss_ctx_tensor(ctx, WSSS_F32, 1, &c) : NULL;
    int ok = 0;
    wsss_tensor *dx = wsss_dnnl_bn_bwd_t(ctx, xs, (wsss_tensor *)gy, wsss_f32(mean), wsss_f32(var),
                                         w ? wsss_f32(w) : NULL, a->has_bias, a->mode != WSSS_BN_TRAIN,
                                         a->eps, a->fuse_relu, ws, want_x, dw ? wsss_f32(dw) : NULL,
                                         db ? wsss_f32(db) : NULL, &ok);
    WSSS_ASSERT(ok, "oneDNN batch norm backward unavailable after its forward ran");
    wsss_grad_accumulate_release(ctx, node->inputs[0], dx);
    wsss_grad_accumulate_release(ctx, node->inputs[1], dw);
    wsss_grad_accumulate_release(ctx, node->inputs[2], db);
}

/* The statistics a forward uses: fresh batch mean/var to compute (training), else copies of the
 * running statistics in dtype dt. */
static void stats_buffers(wsss_ctx *ctx, wsss_bn_mode mode, const wsss_tensor *running_mean,
                          const wsss_tensor *running_var, int64_t c, wsss_dtype dt, wsss_tensor **mean,
                          wsss_tensor **var) {
    if (mode == WSSS_BN_TRAIN) {
        *mean = wsss_ctx_tensor(ctx, dt, 1, &c);
        *var = wsss_ctx_tensor(ctx, dt, 1, &c);
    } else {
        *mean = vec_copy(ctx, running_mean, dt);
        *var = vec_copy(ctx, running_var, dt);
    }
}

/* F32 on oneDNN with x in any layout; y in x's layout. NULL if oneDNN has no implementation. */
static wsss_tensor *bn_layout(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *weight, wsss_tensor *bias,
                              wsss_tensor *running_mean, wsss_tensor *running_var, wsss_bn_mode mode,
                              double momentum, double eps, int fuse_relu) {
    const int64_t c = x->shape[1], m = x->shape[0] * x->shape[2] * x->shape[3];
    if (!x->layout) x = (wsss_tensor *)wsss_ctx_contiguous(ctx, x);
    wsss_tensor *wc = vec_copy(ctx, weight, WSSS_F32), *bc = vec_copy(ctx, bias, WSSS_F32);
    wsss_tensor *mean, *var;
    stats_buffers(ctx, mode, running_mean, running_var, c, WSSS_F32, &mean, &var);
    wsss_tensor *ins[3] = {x, weight, bias};
    int n_in = mode == WSSS_BN_FROZEN ? 1 : 3;
    int need = wsss_needs_grad(ctx, n_in, ins);
    wsss_tensor *ws = NULL;
    wsss_tensor *y = wsss_dnnl_bn_fwd_t(ctx, x, wc ? wsss_f32(wc) : NULL, bc ? wsss_f32(bc) : NULL,
                                        wsss_f32(mean), wsss_f32(var), mode != WSSS_BN_TRAIN, eps,
                                        fuse_relu, need, &ws);
    if (!y) return NULL;
    if (mode == WSSS_BN_TRAIN && running_mean) update_running(running_mean, running_var, mean, var, m, momentum);
    wsss_node *node = wsss_record(ctx, fuse_relu ? "batchnorm2d_relu" : "batchnorm2d",
                                  bn_backward_layout, y, n_in, ins, sizeof(bn_attrs));
    if (node) {
        node->flags |= WSSS_NODE_BLOCKED_GRAD;
        bn_attrs *a = node->attrs;
        a->mode = mode;
        a->eps = eps;
        a->used_dnnl = 1;
        a->has_weight = weight != NULL;
        a->has_bias = bias != NULL;
        a->fuse_relu = fuse_relu;
        wsss_node_save(node, x);
        wsss_node_save(node, mean);
        wsss_node_save(node, var);
        wsss_node_save(node, wc);
        wsss_node_save(node, ws);
    }
    return y;
}

static void bn_check(const wsss_tensor *x, wsss_tensor *weight, wsss_tensor *bias,
                     wsss_tensor *running_mean, wsss_tensor *running_var, wsss_bn_mode mode, double eps) {
    WSSS_ASSERT(x->ndim == 4, "batchnorm2d input must be N,C,H,W");
    WSSS_ASSERT(x->dtype == WSSS_F32 || x->dtype == WSSS_F64, "batchnorm2d input must be F32 or F64");
    WSSS_ASSERT(mode == WSSS_BN_TRAIN || mode == WSSS_BN_EVAL || mode == WSSS_BN_FROZEN,
                "batchnorm2d: bad mode");
    WSSS_ASSERT(eps > 0, "batchnorm2d: eps must be positive");
    const int64_t c = x->shape[1], m = x->shape[0] * x->shape[2] * x->shape[3];
    check_vec("weight", weight, c);
    check_vec("bias", bias, c);
    check_vec("running_mean", running_mean, c);
    check_vec("running_var", running_var, c);
    WSSS_ASSERT((running_mean == NULL) == (running_var == NULL),
                "batchnorm2d: give both running statistics or neither");
    if (mode == WSSS_BN_TRAIN)
        WSSS_ASSERT(m > 1, "batchnorm2d: training needs more than one value per channel");
    else
        WSSS_ASSERT(running_mean != NULL, "batchnorm2d: eval/frozen mode needs running statistics");
}

wsss_tensor *wsss_batchnorm2d_relu(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *weight,
                                   wsss_tensor *bias, wsss_tensor *running_mean,
                                   wsss_tensor *running_var, wsss_bn_mode mode, double momentum,
                                   double eps) {
    WSSS_ASSERT(ctx != NULL, "batchnorm2d_relu needs a context");
    bn_check(x, weight, bias, running_mean, running_var, mode, eps);
    if (mode == WSSS_BN_TRAIN && wsss_bn_sync_wanted(ctx))
        return wsss_relu(ctx, wsss_batchnorm2d_sync(ctx, x, weight, bias, running_mean, running_var, momentum, eps));
    if (use_dnnl(x) && (wsss_ctx_blocked(ctx) || !x->layout)) {
        wsss_tensor *y = bn_layout(ctx, x, weight, bias, running_mean, running_var, mode, momentum, eps, 1);
        if (y) return y;
    }
    return wsss_relu(ctx, wsss_batchnorm2d(ctx, x, weight, bias, running_mean, running_var, mode,
                                           momentum, eps));
}

wsss_tensor *wsss_batchnorm2d(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *weight, wsss_tensor *bias,
                              wsss_tensor *running_mean, wsss_tensor *running_var, wsss_bn_mode mode,
                              double momentum, double eps) {
    WSSS_ASSERT(ctx != NULL, "batchnorm2d needs a context");
    bn_check(x, weight, bias, running_mean, running_var, mode, eps);
    if (mode == WSSS_BN_TRAIN && wsss_bn_sync_wanted(ctx))
        return wsss_batchnorm2d_sync(ctx, x, weight, bias, running_mean, running_var, momentum, eps);
    if (use_dnnl(x) && wsss_ctx_blocked(ctx)) {
        wsss_tensor *y = bn_layout(ctx, x, weight, bias, running_mean, running_var, mode, momentum, eps, 0);
        if (y) return y;
    }
    const int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    const int64_t m = n * h * w; /* values per channel */

    const wsss_dtype dt = x->dtype;
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    wsss_tensor *wc = vec_copy(ctx, weight, dt), *bc = vec_copy(ctx, bias, dt);
    wsss_tensor *mean, *var;
    stats_buffers(ctx, mode, running_mean, running_var, c, dt, &mean, &var);
    wsss_tensor *y = wsss_ctx_tensor_like(ctx, x);
    const int global = mode != WSSS_BN_TRAIN;
    int dnnl = 0;
    if (use_dnnl(x))
        dnnl = wsss_dnnl_bn_fwd(n, c, h, w, wsss_f32(xc), wc ? wsss_f32(wc) : NULL,
                                bc ? wsss_f32(bc) : NULL, wsss_f32(mean), wsss_f32(var), global, eps,
                                wsss_f32(y)) == 0;
    if (!dnnl && dt == WSSS_F64) {
        if (!global) wsss_ref_bn_stats_f64(n, c, h * w, wsss_f64(xc), wsss_f64(mean), wsss_f64(var));
        wsss_ref_bn_fwd_f64(n, c, h * w, wsss_f64(xc), wsss_f64(mean), wsss_f64(var),
                            wc ? wsss_f64(wc) : NULL, bc ? wsss_f64(bc) : NULL, eps, wsss_f64(y));
    } else if (!dnnl) {
        if (!global) wsss_ref_bn_stats_f32(n, c, h * w, wsss_f32(xc), wsss_f32(mean), wsss_f32(var));
        wsss_ref_bn_fwd_f32(n, c, h * w, wsss_f32(xc), wsss_f32(mean), wsss_f32(var),
                            wc ? wsss_f32(wc) : NULL, bc ? wsss_f32(bc) : NULL, eps, wsss_f32(y));
    }

    if (mode == WSSS_BN_TRAIN && running_mean) update_running(running_mean, running_var, mean, var, m, momentum);

    /* FROZEN: weight and bias are not inputs of the node, so they never receive a gradient */
    wsss_tensor *ins[3] = {x, weight, bias};
    int n_in = mode == WSSS_BN_FROZEN ? 1 : 3;
    wsss_node *node = wsss_record(ctx, "batchnorm2d", bn_backward, y, n_in, ins, sizeof(bn_attrs));
    if (node) {
        bn_attrs *a = node->attrs;
        a->mode = mode;
        a->eps = eps;
        a->used_dnnl = dnnl;
        a->has_weight = weight != NULL;
        a->has_bias = bias != NULL;
        wsss_node_save(node, (wsss_tensor *)xc);
        wsss_node_save(node, mean);
        wsss_node_save(node, var);
        wsss_node_save(node, wc);
    }
    return y;
}
