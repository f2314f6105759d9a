/* oneDNN batch normalization on plain NCHW memory, scale and shift as separate C-vectors
 * (dnnl_use_scale / dnnl_use_shift). */
#include "backend/dnnl/norm.h"

#include <stdlib.h>
#include <string.h>

#include "backend/dnnl/dnnl_common.h"
#include "backend/dnnl/tensor_md.h"
#include "wsss/error.h"

/* One primitive: the data layout (src = dst = diff), the dnnl_use_* / fuse flags, eps, direction. */
typedef struct bn_arg {
    dnnl_memory_desc_t md;
    unsigned flags;
    float eps;
    dnnl_prop_kind_t prop;
} bn_arg;

static void bn_key(wsss_dnnl_key *k, const char *op, const bn_arg *a) {
    wsss_dnnl_key_init(k, op);
    wsss_dnnl_key_md(k, &a->md);
    wsss_dnnl_key_i64(k, a->flags);
    wsss_dnnl_key_f64(k, a->eps);
    wsss_dnnl_key_i64(k, a->prop);
}

static dnnl_status_t make_fwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const bn_arg *a = arg;
    dnnl_batch_normalization_desc_t d;
    dnnl_status_t st = dnnl_batch_normalization_forward_desc_init(&d, a->prop, &a->md, a->eps, a->flags);
    return wsss_dnnl_pd_create(st, pd, &d, NULL);
}

static const wsss_dnnl_prim *get_fwd(const bn_arg *a) {
    wsss_dnnl_key k;
    bn_key(&k, "bnorm_fwd", a);
    return wsss_dnnl_cache_get(&k, make_fwd_pd, a, NULL);
}

static dnnl_status_t make_bwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const bn_arg *a = arg;
    bn_arg fa = *a; /* backward needs a training forward with the same flags as its hint */
    fa.prop = dnnl_forward_training;
    const wsss_dnnl_prim *hint = get_fwd(&fa);
    if (!hint) return dnnl_unimplemented;
    dnnl_batch_normalization_desc_t d;
    dnnl_status_t st =
        dnnl_batch_normalization_backward_desc_init(&d, a->prop, &a->md, &a->md, a->eps, a->flags);
    return wsss_dnnl_pd_create(st, pd, &d, hint);
}

static const wsss_dnnl_prim *get_bwd(const bn_arg *a) {
    wsss_dnnl_key k;
    bn_key(&k, "bnorm_bwd", a);
    return wsss_dnnl_cache_get(&k, make_bwd_pd, a, NULL);
}

static void arg_init(bn_arg *a, const dnnl_memory_desc_t *md, int has_w, int has_b, int use_global, int fuse_relu,
                     double eps) {
    memset(a, 0, sizeof *a);
    a->md = *md;
    a->flags = (use_global ? dnnl_use_global_stats : 0u) | (has_w ? dnnl_use_scale : 0u) |
               (has_b ? dnnl_use_shift : 0u) | (fuse_relu ? dnnl_fuse_norm_relu : 0u);
    a->eps = (float)eps;
}

/* The C-vector arguments of both directions: statistics, scale and shift (those given). */
static void add_channel_args(wsss_dnnl_bufs *e, const dnnl_memory_desc_t *cmd, const float *mean, const float *var,
                             const float *weight, const float *shift) {
    wsss_dnnl_bufs_add(e, DNNL_ARG_MEAN, cmd, mean);
    wsss_dnnl_bufs_add(e, DNNL_ARG_VARIANCE, cmd, var);
    if (weight) wsss_dnnl_bufs_add(e, DNNL_ARG_SCALE, cmd, weight);
    if (shift) wsss_dnnl_bufs_add(e, DNNL_ARG_SHIFT, cmd, shift);
}

/* A backward's run once its data arguments are in e: oneDNN writes every output its flags imply,
 * so unwanted parameter gradients get scratch space, one buffer each: in training mode the data
 * gradient is computed from the scale and shift gradients it has written, so a buffer shared by
 * both would corrupt it; oneDNN 2.6 checks for a SHIFT argument when dnnl_use_shift is set
 * although no gradient depends on it, so it gets zeros. */
static void run_bwd(const wsss_dnnl_prim *p, wsss_dnnl_bufs *e, int64_t c, const float *mean, const float *var,
                    const float *weight, int has_bias, int params, float *dweight, float *dbias) {
    float *tmp_scale = NULL, *tmp_shift = NULL, *zero_shift = NULL;
    if (params && weight && !dweight) tmp_scale = wsss_dnnl_buf((size_t)c * sizeof(float), 0);
    if (params && has_bias && !dbias) tmp_shift = wsss_dnnl_buf((size_t)c * sizeof(float), 0);
    if (has_bias) zero_shift = wsss_dnnl_buf((size_t)c * sizeof(float), 1);
    dnnl_memory_desc_t cmd;
    wsss_dnnl_md_tag(&cmd, 1, &c, dnnl_a);
    add_channel_args(e, &cmd, mean, var, weight, zero_shift);
    if (params && weight) wsss_dnnl_bufs_add(e, DNNL_ARG_DIFF_SCALE, &cmd, dweight ? dweight : tmp_scale);
    if (params && has_bias) wsss_dnnl_bufs_add(e, DNNL_ARG_DIFF_SHIFT, &cmd, dbias ? dbias : tmp_shift);
    wsss_dnnl_bufs_execute(p, e);
    free(tmp_scale);
    free(tmp_shift);
    free(zero_shift);
}

/* ---------------- plain NCHW buffers ---------------- */

int wsss_dnnl_bn_fwd(int64_t n, int64_t c, int64_t h, int64_t w, const float *x, const float *weight,
                     const float *bias, float *mean, float *var, int use_global, double eps, float *y) {
    dnnl_memory_desc_t dmd, cmd;
    wsss_dnnl_md_tag(&dmd, 4, (int64_t[]){n, c, h, w}, dnnl_nchw);
    wsss_dnnl_md_tag(&cmd, 1, &c, dnnl_a);
    bn_arg a;
    arg_init(&a, &dmd, weight != NULL, bias != NULL, use_global, 0, eps);
    a.prop = use_global ? dnnl_forward_inference : dnnl_forward_training;
    const wsss_dnnl_prim *p = get_fwd(&a);
    if (!p) return -1;
    wsss_dnnl_bufs e = {0};
    wsss_dnnl_bufs_add(&e, DNNL_ARG_SRC, &dmd, x);
    wsss_dnnl_bufs_add(&e, DNNL_ARG_DST, &dmd, y);
    add_channel_args(&e, &cmd, mean, var, weight, bias);
    wsss_dnnl_bufs_execute(p, &e);
    return 0;
}

int wsss_dnnl_bn_bwd(int64_t n, int64_t c, int64_t h, int64_t w, const float *x, const float *dy,
                     const float *mean, const float *var, const float *weight, int has_bias,
                     int use_global, double eps, float *dx, float *dweight, float *dbias) {
    WSSS_ASSERT(weight || !dweight, "bn backward: dweight without weight");
    WSSS_ASSERT(has_bias || !dbias, "bn backward: dbias without bias");
    dnnl_memory_desc_t dmd;
    wsss_dnnl_md_tag(&dmd, 4, (int64_t[]){n, c, h, w}, dnnl_nchw);
    bn_arg a;
    arg_init(&a, &dmd, weight != NULL, has_bias, use_global, 0, eps);
    const int params = dweight || dbias;
    a.prop = params ? dnnl_backward : dnnl_backward_data;
    const wsss_dnnl_prim *p = get_bwd(&a);
    if (!p) return -1;
    float *tmp_dx = dx ? NULL : wsss_dnnl_buf((size_t)(n * c * h * w) * sizeof(float), 0);
    wsss_dnnl_bufs e = {0};
    wsss_dnnl_bufs_add(&e, DNNL_ARG_SRC, &dmd, x);
    wsss_dnnl_bufs_add(&e, DNNL_ARG_DIFF_DST, &dmd, dy);
    wsss_dnnl_bufs_add(&e, DNNL_ARG_DIFF_SRC, &dmd, dx ? dx : tmp_dx);
    run_bwd(p, &e, c, mean, var, weight, has_bias, params, dweight, dbias);
    free(tmp_dx);
    return 0;
}

/* ---------------- layout-aware variants ---------------- */

wsss_tensor *wsss_dnnl_bn_fwd_t(wsss_ctx *ctx, wsss_tensor *x, const float *weight, const float *bias,
                                float *mean, float *var, int use_global, double eps, int fuse_relu,
                                int want_ws, wsss_tensor **ws) {
    WSSS_ASSERT(x->ndim == 4 && x->dtype == WSSS_F32, "bn: 4-D F32 input");
    dnnl_memory_desc_t md;
    wsss_dnnl_tensor_md(&md, x);
    bn_arg a;
    arg_init(&a, &md, weight != NULL, bias != NULL, use_global, fuse_relu, eps);
    /* the ReLU workspace only exists for forward_training */
    a.prop = (use_global && !(fuse_relu && want_ws)) ? dnnl_forward_inference : dnnl_forward_training;
    const wsss_dnnl_prim *p = get_fwd(&a);
    if (!p) return NULL;
    int64_t c = x->shape[1];
    dnnl_memory_desc_t cmd;
    wsss_dnnl_md_tag(&cmd, 1, &c, dnnl_a);
    wsss_tensor *y = wsss_dnnl_new_tensor(ctx, 4, x->shape, &a.md);
    wsss_tensor *w = NULL;
    if (fuse_relu && a.prop == dnnl_forward_training) { /* written even when nobody needs it */
        const dnnl_memory_desc_t *wmd = wsss_dnnl_pd_md(p, dnnl_query_workspace_md);
        WSSS_ASSERT(!wsss_dnnl_md_is_zero(wmd), "fused batch norm + ReLU without a workspace");
        int64_t nb = (int64_t)wsss_dnnl_md_bytes(wmd);
        w = wsss_ctx_tensor(ctx, WSSS_U8, 1, &nb);
    }
    wsss_dnnl_bufs e = {0};
    wsss_dnnl_bufs_add(&e, DNNL_ARG_SRC, &a.md, wsss_dnnl_tensor_ptr(x));
    wsss_dnnl_bufs_add(&e, DNNL_ARG_DST, &a.md, wsss_dnnl_tensor_ptr(y));
    add_channel_args(&e, &cmd, mean, var, weight, bias);
    if (w) wsss_dnnl_bufs_add(&e, DNNL_ARG_WORKSPACE, wsss_dnnl_pd_md(p, dnnl_query_workspace_md), w->data);
    wsss_dnnl_bufs_execute(p, &e);
    if (w && !want_ws) {
        wsss_ctx_release(ctx, w);
        w = NULL;
    }
    if (ws) *ws = w;
    return y;
}

wsss_tensor *wsss_dnnl_bn_bwd_t(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *gy, const float *mean,
                                const float *var, const float *weight, int has_bias, int use_global,
                                double eps, int fuse_relu, wsss_tensor *ws, int want_dx,
                                float *dweight, float *dbias, int *ok) {
    WSSS_ASSERT(weight || !dweight, "bn backward: dweight without weight");
    WSSS_ASSERT(has_bias || !dbias, "bn backward: dbias without bias");
    WSSS_ASSERT(!fuse_relu || ws, "fused batch norm + ReLU backward needs the workspace");
    dnnl_memory_desc_t md;
    wsss_dnnl_tensor_md(&md, x);
    bn_arg a;
    arg_init(&a, &md, weight != NULL, has_bias, use_global, fuse_relu, eps);
    int params = dweight || dbias;
    a.prop = params ? dnnl_backward : dnnl_backward_data;
    const wsss_dnnl_prim *p = get_bwd(&a);
    if (!p && !params && (weight || has_bias)) {
        /* some implementations (plain-layout fused ReLU) have no data-only backward: compute the
         * parameter gradients too and drop them */
        params = 1;
        a.prop = dnnl_backward;
        p = get_bwd(&a);
    }
    *ok = p != NULL;
    if (!p) return NULL;
    int64_t c = x->shape[1];
    wsss_tensor *gyx = wsss_dnnl_as_md(ctx, gy, &a.md);
    wsss_tensor *dx = wsss_dnnl_new_tensor(ctx, 4, x->shape, &a.md);
    wsss_dnnl_bufs e = {0};
    wsss_dnnl_bufs_add(&e, DNNL_ARG_SRC, &a.md, wsss_dnnl_tensor_ptr(x));
    wsss_dnnl_bufs_add(&e, DNNL_ARG_DIFF_DST, &a.md, wsss_dnnl_tensor_ptr(gyx));
    wsss_dnnl_bufs_add(&e, DNNL_ARG_DIFF_SRC, &a.md, wsss_dnnl_tensor_ptr(dx));
    if (fuse_relu) wsss_dnnl_bufs_add(&e, DNNL_ARG_WORKSPACE, wsss_dnnl_pd_md(p, dnnl_query_workspace_md), ws->data);
    run_bwd(p, &e, c, mean, var, weight, has_bias, params, dweight, dbias);
    if (gyx != gy) wsss_ctx_release(ctx, gyx);
    if (!want_dx) {
        wsss_ctx_release(ctx, dx);
        dx = NULL;
    }
    return dx;
}
