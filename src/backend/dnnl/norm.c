/* oneDNN batch normalization on plain NCHW memory, scale and shift as separate C-vectors
 * (dnnl_use_scale / dnnl_use_shift). */
#include "backend/dnnl/norm.h"

#include <stdlib.h>
#include <string.h>

#include "backend/dnnl/dnnl_common.h"
#include "backend/dnnl/tensor_md.h"
#include "wsss/error.h"

typedef struct bn_arg {
    int64_t dims[4];
    unsigned flags;
    float eps;
    dnnl_prop_kind_t prop;
} bn_arg;

static void bn_key(wsss_dnnl_key *k, const char *op, const bn_arg *a) {
    wsss_dnnl_key_init(k, op);
    wsss_dnnl_key_i64s(k, 4, a->dims);
    wsss_dnnl_key_i64(k, a->flags);
    wsss_dnnl_key_f64(k, a->eps);
    wsss_dnnl_key_i64(k, a->prop);
}

static dnnl_status_t make_fwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const bn_arg *a = arg;
    dnnl_memory_desc_t md;
    wsss_dnnl_md_tag(&md, 4, a->dims, dnnl_nchw);
    dnnl_batch_normalization_desc_t d;
    dnnl_status_t st = dnnl_batch_normalization_forward_desc_init(&d, a->prop, &md, a->eps, a->flags);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &d, wsss_dnnl_attr(), wsss_dnnl_engine(), NULL);
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
    dnnl_memory_desc_t md;
    wsss_dnnl_md_tag(&md, 4, a->dims, dnnl_nchw);
    dnnl_batch_normalization_desc_t d;
    dnnl_status_t st =
        dnnl_batch_normalization_backward_desc_init(&d, a->prop, &md, &md, a->eps, a->flags);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &d, wsss_dnnl_attr(), wsss_dnnl_engine(), hint->pd);
}

static void init_arg(bn_arg *a, int64_t n, int64_t c, int64_t h, int64_t w, int has_w, int has_b,
                     int use_global, double eps) {
    a->dims[0] = n;
    a->dims[1] = c;
    a->dims[2] = h;
    a->dims[3] = w;
    a->flags = (use_global ? dnnl_use_global_stats : 0u) | (has_w ? dnnl_use_scale : 0u) |
               (has_b ? dnnl_use_shift : 0u);
    a->eps = (float)eps;
}

/* Small helper owning the memory objects of one execution. */
typedef struct bn_exec {
    wsss_dnnl_args args;
    dnnl_memory_t mems[WSSS_DNNL_MAX_ARGS];
    int n;
} bn_exec;

static void ex_add(bn_exec *e, int arg, const dnnl_memory_desc_t *md, const void *ptr) {
    dnnl_memory_t m = wsss_dnnl_mem_wrap(md, ptr);
    e->mems[e->n++] = m;
    wsss_dnnl_args_add(&e->args, arg, m);
}

static void ex_run(bn_exec *e, const wsss_dnnl_prim *p) {
    wsss_dnnl_execute(p, &e->args);
    for (int i = 0; i < e->n; i++) wsss_dnnl_mem_free(e->mems[i]);
}

int wsss_dnnl_bn_fwd(int64_t n, int64_t c, int64_t h, int64_t w, const float *x, const float *weight,
                     const float *bias, float *mean, float *var, int use_global, double eps, float *y) {
    bn_arg a;
    init_arg(&a, n, c, h, w, weight != NULL, bias != NULL, use_global, eps);
    a.prop = use_global ? dnnl_forward_inference : dnnl_forward_training;
    const wsss_dnnl_prim *p = get_fwd(&a);
    if (!p) return -1;
    dnnl_memory_desc_t dmd, cmd;
    wsss_dnnl_md_tag(&dmd, 4, a.dims, dnnl_nchw);
    wsss_dnnl_md_tag(&cmd, 1, &c, dnnl_a);
    bn_exec e = {0};
    ex_add(&e, DNNL_ARG_SRC, &dmd, x);
    ex_add(&e, DNNL_ARG_DST, &dmd, y);
    ex_add(&e, DNNL_ARG_MEAN, &cmd, mean);
    ex_add(&e, DNNL_ARG_VARIANCE, &cmd, var);
    if (weight) ex_add(&e, DNNL_ARG_SCALE, &cmd, weight);
    if (bias) ex_add(&e, DNNL_ARG_SHIFT, &cmd, bias);
    ex_run(&e, p);
    return 0;
}

int wsss_dnnl_bn_bwd(int64_t n, int64_t c, int64_t h, int64_t w, const float *x, const float *dy,
                     const float *mean, const float *var, const float *weight, int has_bias,
                     int use_global, double eps, float *dx, float *dweight, float *dbias) {
    bn_arg a;
    init_arg(&a, n, c, h, w, weight != NULL, has_bias, use_global, eps);
    WSSS_ASSERT(weight || !dweight, "bn backward: dweight without weight");
    WSSS_ASSERT(has_bias || !dbias, "bn backward: dbias without bias");
    int params = dweight || dbias;
    a.prop = params ? dnnl_backward : dnnl_backward_data;
    wsss_dnnl_key k;
    bn_key(&k, "bnorm_bwd", &a);
    const wsss_dnnl_prim *p = wsss_dnnl_cache_get(&k, make_bwd_pd, &a, NULL);
    if (!p) return -1;
    /* oneDNN writes every output its flags imply: give unwanted ones scratch space */
    float *tmp_dx = NULL, *tmp_c = NULL, *zero_shift = NULL;
    if (!dx) dx = tmp_dx = wsss_dnnl_buf((size_t)(n * c * h * w) * sizeof(float), 0);
    if (params && ((weight && !dweight) || (has_bias && !dbias)))
        tmp_c = wsss_dnnl_buf((size_t)c * sizeof(float), 0);
    /* oneDNN 2.6 checks for a SHIFT argument in the backward when dnnl_use_shift is set, although
     * no gradient depends on it; the value is irrelevant, so pass zeros */
    if (has_bias) zero_shift = wsss_dnnl_buf((size_t)c * sizeof(float), 1);
    dnnl_memory_desc_t dmd, cmd;
    wsss_dnnl_md_tag(&dmd, 4, a.dims, dnnl_nchw);
    wsss_dnnl_md_tag(&cmd, 1, &c, dnnl_a);
    bn_exec e = {0};
    ex_add(&e, DNNL_ARG_SRC, &dmd, x);
    ex_add(&e, DNNL_ARG_DIFF_DST, &dmd, dy);
    ex_add(&e, DNNL_ARG_MEAN, &cmd, mean);
    ex_add(&e, DNNL_ARG_VARIANCE, &cmd, var);
    ex_add(&e, DNNL_ARG_DIFF_SRC, &dmd, dx);
    if (weight) ex_add(&e, DNNL_ARG_SCALE, &cmd, weight);
    if (has_bias) ex_add(&e, DNNL_ARG_SHIFT, &cmd, zero_shift);
    if (params && weight) ex_add(&e, DNNL_ARG_DIFF_SCALE, &cmd, dweight ? dweight : tmp_c);
    if (params && has_bias) ex_add(&e, DNNL_ARG_DIFF_SHIFT, &cmd, dbias ? dbias : tmp_c);
    ex_run(&e, p);
    free(tmp_dx);
    free(tmp_c);
    free(zero_shift);
    return 0;
}

/* ---------------- layout-aware variants ---------------- */

typedef struct bn_md_arg {
    dnnl_memory_desc_t md; /* data layout (src = dst = diff) */
    unsigned flags;
    float eps;
    dnnl_prop_kind_t prop;
} bn_md_arg;

static void bn_md_key(wsss_dnnl_key *k, const char *op, const bn_md_arg *a) {
    wsss_dnnl_key_init(k, op);
    wsss_dnnl_key_md(k, &a->md);
    wsss_dnnl_key_i64(k, a->flags);
    wsss_dnnl_key_f64(k, a->eps);
    wsss_dnnl_key_i64(k, a->prop);
}

static dnnl_status_t make_md_fwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const bn_md_arg *a = arg;
    dnnl_batch_normalization_desc_t d;
    dnnl_status_t st = dnnl_batch_normalization_forward_desc_init(&d, a->prop, &a->md, a->eps, a->flags);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &d, wsss_dnnl_attr(), wsss_dnnl_engine(), NULL);
}

static const wsss_dnnl_prim *get_md_fwd(const bn_md_arg *a) {
    wsss_dnnl_key k;
    bn_md_key(&k, "bnorm_md_fwd", a);
    return wsss_dnnl_cache_get(&k, make_md_fwd_pd, a, NULL);
}

static dnnl_status_t make_md_bwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const bn_md_arg *a = arg;
    bn_md_arg fa = *a;
    fa.prop = dnnl_forward_training;
    const wsss_dnnl_prim *hint = get_md_fwd(&fa);
    if (!hint) return dnnl_unimplemented;
    dnnl_batch_normalization_desc_t d;
    dnnl_status_t st =
        dnnl_batch_normalization_backward_desc_init(&d, a->prop, &a->md, &a->md, a->eps, a->flags);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &d, wsss_dnnl_attr(), wsss_dnnl_engine(), hint->pd);
}

static unsigned md_flags(int has_w, int has_b, int use_global, int fuse_relu) {
    return (use_global ? dnnl_use_global_stats : 0u) | (has_w ? dnnl_use_scale : 0u) |
           (has_b ? dnnl_use_shift : 0u) | (fuse_relu ? dnnl_fuse_norm_relu : 0u);
}

wsss_tensor *wsss_dnnl_bn_fwd_t(wsss_ctx *ctx, wsss_tensor *x, const float *weight, const float *bias,
                                float *mean, float *var, int use_global, double eps, int fuse_relu,
                                int want_ws, wsss_tensor **ws) {
    WSSS_ASSERT(x->ndim == 4 && x->dtype == WSSS_F32, "bn: 4-D F32 input");
    bn_md_arg a;
    memset(&a, 0, sizeof a);
    wsss_dnnl_tensor_md(&a.md, x);
    a.flags = md_flags(weight != NULL, bias != NULL, use_global, fuse_relu);
    a.eps = (float)eps;
    /* the ReLU workspace only exists for forward_training */
    a.prop = (use_global && !(fuse_relu && want_ws)) ? dnnl_forward_inference : dnnl_forward_training;
    const wsss_dnnl_prim *p = get_md_fwd(&a);
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
    bn_exec e = {0};
    ex_add(&e, DNNL_ARG_SRC, &a.md, wsss_dnnl_tensor_ptr(x));
    ex_add(&e, DNNL_ARG_DST, &a.md, wsss_dnnl_tensor_ptr(y));
    ex_add(&e, DNNL_ARG_MEAN, &cmd, mean);
    ex_add(&e, DNNL_ARG_VARIANCE, &cmd, var);
    if (weight) ex_add(&e, DNNL_ARG_SCALE, &cmd, weight);
    if (bias) ex_add(&e, DNNL_ARG_SHIFT, &cmd, bias);
    if (w) ex_add(&e, DNNL_ARG_WORKSPACE, wsss_dnnl_pd_md(p, dnnl_query_workspace_md), w->data);
    ex_run(&e, p);
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
    bn_md_arg a;
    memset(&a, 0, sizeof a);
    wsss_dnnl_tensor_md(&a.md, x);
    a.flags = md_flags(weight != NULL, has_bias, use_global, fuse_relu);
    a.eps = (float)eps;
    int params = dweight || dbias;
    a.prop = params ? dnnl_backward : dnnl_backward_data;
    wsss_dnnl_key k;
    bn_md_key(&k, "bnorm_md_bwd", &a);
    const wsss_dnnl_prim *p = wsss_dnnl_cache_get(&k, make_md_bwd_pd, &a, NULL);
    if (!p && !params && (weight || has_bias)) {
        /* some implementations (plain-layout fused ReLU) have no data-only backward: compute the
         * parameter gradients too and drop them */
        params = 1;
        a.prop = dnnl_backward;
        bn_md_key(&k, "bnorm_md_bwd", &a);
        p = wsss_dnnl_cache_get(&k, make_md_bwd_pd, &a, NULL);
    }
    *ok = p != NULL;
    if (!p) return NULL;
    int64_t c = x->shape[1];
    wsss_tensor *gyx = wsss_dnnl_as_md(ctx, gy, &a.md);
    wsss_tensor *dx = wsss_dnnl_new_tensor(ctx, 4, x->shape, &a.md);
    float *tmp_c = NULL, *zero_shift = NULL;
    if (params && ((weight && !dweight) || (has_bias && !dbias)))
        tmp_c = wsss_dnnl_buf((size_t)c * sizeof(float), 0);
    if (has_bias) zero_shift = wsss_dnnl_buf((size_t)c * sizeof(float), 1); /* see wsss_dnnl_bn_bwd */
    dnnl_memory_desc_t cmd;
    wsss_dnnl_md_tag(&cmd, 1, &c, dnnl_a);
    bn_exec e = {0};
    ex_add(&e, DNNL_ARG_SRC, &a.md, wsss_dnnl_tensor_ptr(x));
    ex_add(&e, DNNL_ARG_DIFF_DST, &a.md, wsss_dnnl_tensor_ptr(gyx));
    ex_add(&e, DNNL_ARG_MEAN, &cmd, mean);
    ex_add(&e, DNNL_ARG_VARIANCE, &cmd, var);
    ex_add(&e, DNNL_ARG_DIFF_SRC, &a.md, wsss_dnnl_tensor_ptr(dx));
    if (weight) ex_add(&e, DNNL_ARG_SCALE, &cmd, weight);
    if (has_bias) ex_add(&e, DNNL_ARG_SHIFT, &cmd, zero_shift);
    if (params && weight) ex_add(&e, DNNL_ARG_DIFF_SCALE, &cmd, dweight ? dweight : tmp_c);
    if (params && has_bias) ex_add(&e, DNNL_ARG_DIFF_SHIFT, &cmd, dbias ? dbias : tmp_c);
    if (fuse_relu) ex_add(&e, DNNL_ARG_WORKSPACE, wsss_dnnl_pd_md(p, dnnl_query_workspace_md), ws->data);
    ex_run(&e, p);
    free(tmp_c);
    free(zero_shift);
    if (gyx != gy) wsss_ctx_release(ctx, gyx);
    if (!want_dx) {
        wsss_ctx_release(ctx, dx);
        dx = NULL;
    }
    return dx;
}
