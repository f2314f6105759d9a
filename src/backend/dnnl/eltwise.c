/* oneDNN eltwise forward/backward for the activations. Each activation maps to one algorithm,
 * the *_use_dst_for_bwd variant where the backward is expressed in the output, so forward and
 * backward agree on what is saved (see wsss_act_bwd_uses_dst). */
#include "backend/dnnl/eltwise.h"

#include <string.h>

#include "backend/dnnl/dnnl_common.h"
#include "backend/dnnl/tensor_md.h"
#include "wsss/error.h"

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

typedef struct elt_arg {
    dnnl_alg_kind_t alg;
    float alpha;
    dnnl_memory_desc_t md;
} elt_arg;

static void elt_key(wsss_dnnl_key *k, const char *op, const elt_arg *a) {
    wsss_dnnl_key_init(k, op);
    wsss_dnnl_key_i64(k, a->alg);
    wsss_dnnl_key_f64(k, a->alpha);
    wsss_dnnl_key_md(k, &a->md);
}

static dnnl_status_t make_fwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const elt_arg *a = arg;
    dnnl_eltwise_desc_t d;
    dnnl_status_t st = dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, a->alg, &a->md,
                                                      a->alpha, 0.f);
    return wsss_dnnl_pd_create(st, pd, &d, NULL);
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
    dnnl_eltwise_desc_t d;
    dnnl_status_t st = dnnl_eltwise_backward_desc_init(&d, a->alg, &a->md, &a->md, a->alpha, 0.f);
    return wsss_dnnl_pd_create(st, pd, &d, fwd);
}

static int zero_preserving(wsss_act_kind k) {
    return k == WSSS_ACT_RELU || k == WSSS_ACT_LEAKY_RELU || k == WSSS_ACT_ELU || k == WSSS_ACT_TANH;
}

/* The primitive's settings for activation k over data of layout md. */
static void arg_init(elt_arg *a, wsss_act_kind k, double alpha, const dnnl_memory_desc_t *md) {
    memset(a, 0, sizeof *a);
    a->alg = act_alg(k, alpha);
    a->alpha = (k == WSSS_ACT_RELU || k == WSSS_ACT_SIGMOID || k == WSSS_ACT_TANH) ? 0.f : (float)alpha;
    a->md = *md;
}

static const wsss_dnnl_prim *get_bwd(const elt_arg *a) {
    wsss_dnnl_key k;
    elt_key(&k, "eltwise_bwd", a);
    return wsss_dnnl_cache_get(&k, make_bwd_pd, a, NULL);
}

static void run_fwd(const wsss_dnnl_prim *p, const dnnl_memory_desc_t *md, const void *x, void *y) {
    wsss_dnnl_bufs b = {0};
    wsss_dnnl_bufs_add(&b, DNNL_ARG_SRC, md, x);
    wsss_dnnl_bufs_add(&b, DNNL_ARG_DST, md, y);
    wsss_dnnl_bufs_execute(p, &b);
}

/* s: the forward's input, or its output where the backward is expressed in it (wsss_act_bwd_uses_dst) */
static void run_bwd(const wsss_dnnl_prim *p, wsss_act_kind k, double alpha, const dnnl_memory_desc_t *md,
                    const void *s, const void *dy, void *dx) {
    wsss_dnnl_bufs b = {0};
    wsss_dnnl_bufs_add(&b, wsss_act_bwd_uses_dst(k, alpha) ? DNNL_ARG_DST : DNNL_ARG_SRC, md, s);
    wsss_dnnl_bufs_add(&b, DNNL_ARG_DIFF_DST, md, dy);
    wsss_dnnl_bufs_add(&b, DNNL_ARG_DIFF_SRC, md, dx);
    wsss_dnnl_bufs_execute(p, &b);
}

/* ---------------- plain buffers: n values as one 1-D tensor ---------------- */

/* The primitive for n values as one 1-D tensor (forward or backward), its settings in *a. */
static const wsss_dnnl_prim *plain_prim(elt_arg *a, wsss_act_kind k, double alpha, int64_t n, int backward) {
    dnnl_memory_desc_t md;
    wsss_dnnl_md_tag(&md, 1, &n, dnnl_a);
    arg_init(a, k, alpha, &md);
    return backward ? get_bwd(a) : get_fwd(a);
}

int wsss_dnnl_act_forward(wsss_act_kind k, double alpha, const float *x, float *y, int64_t n) {
    if (n == 0) return 0;
    elt_arg a;
    const wsss_dnnl_prim *p = plain_prim(&a, k, alpha, n, 0);
    if (!p) return -1;
    run_fwd(p, &a.md, x, y);
    return 0;
}

int wsss_dnnl_act_backward(wsss_act_kind k, double alpha, const float *s, const float *dy, float *dx,
                           int64_t n) {
    if (n == 0) return 0;
    elt_arg a;
    const wsss_dnnl_prim *p = plain_prim(&a, k, alpha, n, 1);
    if (!p) return -1;
    run_bwd(p, k, alpha, &a.md, s, dy, dx);
    return 0;
}

/* ---------------- layout-aware variants: tensors in oneDNN's layouts ---------------- */

/* The same for a tensor in oneDNN's layouts; NULL for an empty tensor or an activation that does
 * not keep 0 at 0 (the padding of blocked layouts must stay zero). */
static const wsss_dnnl_prim *tensor_prim(elt_arg *a, wsss_act_kind k, double alpha, const wsss_tensor *t,
                                         int backward) {
    if (!zero_preserving(k) || wsss_tensor_numel(t) == 0) return NULL;
    dnnl_memory_desc_t md;
    wsss_dnnl_tensor_md(&md, t);
    arg_init(a, k, alpha, &md);
    return backward ? get_bwd(a) : get_fwd(a);
}

wsss_tensor *wsss_dnnl_act_forward_t(wsss_ctx *ctx, wsss_act_kind k, double alpha, wsss_tensor *x) {
    elt_arg a;
    const wsss_dnnl_prim *p = tensor_prim(&a, k, alpha, x, 0);
    if (!p) return NULL;
    wsss_tensor *y = wsss_dnnl_new_tensor(ctx, x->ndim, x->shape, &a.md);
    run_fwd(p, &a.md, wsss_dnnl_tensor_ptr(x), wsss_dnnl_tensor_ptr(y));
    return y;
}

wsss_tensor *wsss_dnnl_act_backward_t(wsss_ctx *ctx, wsss_act_kind k, double alpha, wsss_tensor *s,
                                      wsss_tensor *gy, int inplace) {
    elt_arg a;
    const wsss_dnnl_prim *p = tensor_prim(&a, k, alpha, s, 1);
    if (!p) return NULL;
    wsss_tensor *gys = wsss_dnnl_as_md(ctx, gy, &a.md);
    /* in place when allowed and gy already has s's layout (oneDNN eltwise supports it) */
    wsss_tensor *dx = (inplace && gys == gy) ? gy : wsss_dnnl_new_tensor(ctx, s->ndim, s->shape, &a.md);
    run_bwd(p, k, alpha, &a.md, wsss_dnnl_tensor_ptr(s), wsss_dnnl_tensor_ptr(gys), wsss_dnnl_tensor_ptr(dx));
    if (gys != gy) wsss_ctx_release(ctx, gys);
    return dx;
}
