/* oneDNN eltwise forward/backward for the activations. Each activation maps to one algorithm,
 * the *_use_dst_for_bwd variant where the backward is expressed in the output, so forward and
 * backward agree on what is saved (see wsss_act_bwd_uses_dst). */
#include "backend/dnnl/eltwise.h"

#include <string.h>

#include "backend/dnnl/dnnl_common.h"
#include "backend/dnnl/tensor_md.h"
#include "wsss/error.h"

typedef struct elt_arg {
    dnnl_alg_kind_t alg;
    float alpha;
    int64_t n;
} elt_arg;

static dnnl_alg_kind_t act_alg(wsss_act_kind k, double alpha) {
    int dst = wsss_act_bwd_uses_dst(k, alpha);
    switch (k) {
    case WSSS_ACT_RELU: return dnnl_eltwise_relu_use_dst_for_bwd; /* alpha 0 */
    case WSSS_ACT_LEAKY_RELU: return dnnl_eltwise_relu;           /* alpha = slope */
    case WSSS_ACT_ELU: return dst ? dnnl_eltwise_elu_use_dst_for_bwd : dnnl_eltwise_elu;
    case WSSS_ACT_SIGMOID: return dnnl_eltwise_logistic_use_dst_for_bwd;
    case WSSS_ACT_TANH: return dnnl_eltwise_tanh_use_dst_for_bwd;
    }
    WSSS_ASSERT(0, "unknown activation");
    return dnnl_alg_kind_undef;
}

static void elt_key(wsss_dnnl_key *k, const char *op, const elt_arg *a) {
    wsss_dnnl_key_init(k, op);
    wsss_dnnl_key_i64(k, a->alg);
    wsss_dnnl_key_f64(k, a->alpha);
    wsss_dnnl_key_i64(k, a->n);
}

static dnnl_status_t make_fwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const elt_arg *a = arg;
    dnnl_memory_desc_t md;
    wsss_dnnl_md_tag(&md, 1, &a->n, dnnl_a);
    dnnl_eltwise_desc_t d;
    dnnl_status_t st = dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, a->alg, &md,
                                                      a->alpha, 0.f);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &d, wsss_dnnl_attr(), wsss_dnnl_engine(), NULL);
}

static const wsss_dnnl_prim *get_fwd(const elt_arg *a) {
    wsss_dnnl_key k;
    elt_key(&k, "eltwise_fwd", a);
    return wsss_dnnl_cache_get(&k, make_fwd_pd, a, NULL);
}

static dnnl_status_t make_bwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const elt_arg *a = arg;
    const wsss_dnnl_prim *fwd = get_fwd(a);
    if (!fwd) return dnnl_unimplemented;
    dnnl_memory_desc_t md;
    wsss_dnnl_md_tag(&md, 1, &a->n, dnnl_a);
    dnnl_eltwise_desc_t d;
    dnnl_status_t st = dnnl_eltwise_backward_desc_init(&d, a->alg, &md, &md, a->alpha, 0.f);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &d, wsss_dnnl_attr(), wsss_dnnl_engine(), fwd->pd);
}

int wsss_dnnl_act_forward(wsss_act_kind k, double alpha, const float *x, float *y, int64_t n) {
    if (n == 0) return 0;
    elt_arg a = {act_alg(k, alpha), (float)alpha, n};
    if (k == WSSS_ACT_RELU || k == WSSS_ACT_SIGMOID || k == WSSS_ACT_TANH) a.alpha = 0.f;
    const wsss_dnnl_prim *p = get_fwd(&a);
    if (!p) return -1;
    dnnl_memory_desc_t md;
    wsss_dnnl_md_tag(&md, 1, &n, dnnl_a);
    dnnl_memory_t ms = wsss_dnnl_mem_wrap(&md, x), md_ = wsss_dnnl_mem_wrap(&md, y);
    wsss_dnnl_args args = {0};
    wsss_dnnl_args_add(&args, DNNL_ARG_SRC, ms);
    wsss_dnnl_args_add(&args, DNNL_ARG_DST, md_);
    wsss_dnnl_execute(p, &args);
    wsss_dnnl_mem_free(ms);
    wsss_dnnl_mem_free(md_);
    return 0;
}

int wsss_dnnl_act_backward(wsss_act_kind k, double alpha, const float *s, const float *dy, float *dx,
                           int64_t n) {
    if (n == 0) return 0;
    elt_arg a = {act_alg(k, alpha), (float)alpha, n};
    if (k == WSSS_ACT_RELU || k == WSSS_ACT_SIGMOID || k == WSSS_ACT_TANH) a.alpha = 0.f;
    wsss_dnnl_key key;
    elt_key(&key, "eltwise_bwd", &a);
    const wsss_dnnl_prim *p = wsss_dnnl_cache_get(&key, make_bwd_pd, &a, NULL);
    if (!p) return -1;
    dnnl_memory_desc_t md;
    wsss_dnnl_md_tag(&md, 1, &n, dnnl_a);
    dnnl_memory_t ms = wsss_dnnl_mem_wrap(&md, s), mdy = wsss_dnnl_mem_wrap(&md, dy),
                  mdx = wsss_dnnl_mem_wrap(&md, dx);
    wsss_dnnl_args args = {0};
    wsss_dnnl_args_add(&args, wsss_act_bwd_uses_dst(k, alpha) ? DNNL_ARG_DST : DNNL_ARG_SRC, ms);
    wsss_dnnl_args_add(&args, DNNL_ARG_DIFF_DST, mdy);
    wsss_dnnl_args_add(&args, DNNL_ARG_DIFF_SRC, mdx);
    wsss_dnnl_execute(p, &args);
    wsss_dnnl_mem_free(ms);
    wsss_dnnl_mem_free(mdy);
    wsss_dnnl_mem_free(mdx);
    return 0;
}

/* ---------------- layout-aware variants ---------------- */

typedef struct elt_md_arg {
    dnnl_alg_kind_t alg;
    float alpha;
    dnnl_memory_desc_t md;
} elt_md_arg;

static void elt_md_key(wsss_dnnl_key *k, const char *op, const elt_md_arg *a) {
    wsss_dnnl_key_init(k, op);
    wsss_dnnl_key_i64(k, a->alg);
    wsss_dnnl_key_f64(k, a->alpha);
    wsss_dnnl_key_md(k, &a->md);
}

static dnnl_status_t make_md_fwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const elt_md_arg *a = arg;
    dnnl_eltwise_desc_t d;
    dnnl_status_t st = dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, a->alg, &a->md,
                                                      a->alpha, 0.f);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &d, wsss_dnnl_attr(), wsss_dnnl_engine(), NULL);
}

static const wsss_dnnl_prim *get_md_fwd(const elt_md_arg *a) {
    wsss_dnnl_key k;
    elt_md_key(&k, "eltwise_md_fwd", a);
    return wsss_dnnl_cache_get(&k, make_md_fwd_pd, a, NULL);
}

static dnnl_status_t make_md_bwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const elt_md_arg *a = arg;
    const wsss_dnnl_prim *fwd = get_md_fwd(a);
    if (!fwd) return dnnl_unimplemented;
    dnnl_eltwise_desc_t d;
    dnnl_status_t st = dnnl_eltwise_backward_desc_init(&d, a->alg, &a->md, &a->md, a->alpha, 0.f);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &d, wsss_dnnl_attr(), wsss_dnnl_engine(), fwd->pd);
}

static int zero_preserving(wsss_act_kind k) {
    return k == WSSS_ACT_RELU || k == WSSS_ACT_LEAKY_RELU || k == WSSS_ACT_ELU || k == WSSS_ACT_TANH;
}

static void md_arg_init(elt_md_arg *a, wsss_act_kind k, double alpha, const wsss_tensor *t) {
    memset(a, 0, sizeof *a);
    a->alg = act_alg(k, alpha);
    a->alpha = (k == WSSS_ACT_RELU || k == WSSS_ACT_SIGMOID || k == WSSS_ACT_TANH) ? 0.f : (float)alpha;
    wsss_dnnl_tensor_md(&a->md, t);
}

wsss_tensor *wsss_dnnl_act_forward_t(wsss_ctx *ctx, wsss_act_kind k, double alpha, wsss_tensor *x) {
    if (!zero_preserving(k) || wsss_tensor_numel(x) == 0) return NULL;
    elt_md_arg a;
    md_arg_init(&a, k, alpha, x);
    const wsss_dnnl_prim *p = get_md_fwd(&a);
    if (!p) return NULL;
    wsss_tensor *y = wsss_dnnl_new_tensor(ctx, x->ndim, x->shape, &a.md);
    dnnl_memory_t ms = wsss_dnnl_mem_wrap(&a.md, wsss_dnnl_tensor_ptr(x));
    dnnl_memory_t md_ = wsss_dnnl_mem_wrap(&a.md, wsss_dnnl_tensor_ptr(y));
    wsss_dnnl_args args = {0};
    wsss_dnnl_args_add(&args, DNNL_ARG_SRC, ms);
    wsss_dnnl_args_add(&args, DNNL_ARG_DST, md_);
    wsss_dnnl_execute(p, &args);
    wsss_dnnl_mem_free(ms);
    wsss_dnnl_mem_free(md_);
    return y;
}

wsss_tensor *wsss_dnnl_act_backward_t(wsss_ctx *ctx, wsss_act_kind k, double alpha, wsss_tensor *s,
                                      wsss_tensor *gy, int inplace) {
    if (!zero_preserving(k) || wsss_tensor_numel(s) == 0) return NULL;
    elt_md_arg a;
    md_arg_init(&a, k, alpha, s);
    wsss_dnnl_key key;
    elt_md_key(&key, "eltwise_md_bwd", &a);
    const wsss_dnnl_prim *p = wsss_dnnl_cache_get(&key, make_md_bwd_pd, &a, NULL);
    if (!p) return NULL;
    wsss_tensor *gys = wsss_dnnl_as_md(ctx, gy, &a.md);
    /* in place when allowed and gy already has s's layout (oneDNN eltwise supports it) */
    wsss_tensor *dx = (inplace && gys == gy) ? gy : wsss_dnnl_new_tensor(ctx, s->ndim, s->shape, &a.md);
    dnnl_memory_t ms = wsss_dnnl_mem_wrap(&a.md, wsss_dnnl_tensor_ptr(s));
    dnnl_memory_t mdy = wsss_dnnl_mem_wrap(&a.md, wsss_dnnl_tensor_ptr(gys));
    dnnl_memory_t mdx = wsss_dnnl_mem_wrap(&a.md, wsss_dnnl_tensor_ptr(dx));
    wsss_dnnl_args args = {0};
    wsss_dnnl_args_add(&args, wsss_act_bwd_uses_dst(k, alpha) ? DNNL_ARG_DST : DNNL_ARG_SRC, ms);
    wsss_dnnl_args_add(&args, DNNL_ARG_DIFF_DST, mdy);
    wsss_dnnl_args_add(&args, DNNL_ARG_DIFF_SRC, mdx);
    wsss_dnnl_execute(p, &args);
    wsss_dnnl_mem_free(ms);
    wsss_dnnl_mem_free(mdy);
    wsss_dnnl_mem_free(mdx);
    if (gys != gy) wsss_ctx_release(ctx, gys);
    return dx;
}
