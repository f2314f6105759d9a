/* oneDNN pooling forward/backward on plain NCHW memory (see pool.h for the semantics mapping). */
#include "backend/dnnl/pool.h"

#include <stdlib.h>
#include <string.h>

#include "backend/dnnl/dnnl_common.h"
#include "backend/dnnl/tensor_md.h"
#include "wsss/error.h"

typedef struct pool_arg {
    const wsss_pool_geom *g;
    dnnl_alg_kind_t alg;
    dnnl_prop_kind_t prop; /* forward kinds; backward pds use the forward_training one as hint */
    dnnl_dims_t pad_r; /* [0] bottom, [1] right; full dnnl_dims_t as the API reads */
    dnnl_memory_desc_t src, dst; /* forward layouts: plain NCHW, or x's layout and format any */
} pool_arg;

/* Right/bottom padding that makes oneDNN's floor rule give PyTorch's output size. Returns 0 if
 * no padding does (then oneDNN is not used). */
static int right_pad(const wsss_pool_geom *g, dnnl_dim_t *pr) {
    const int64_t in[2] = {g->h, g->w}, out[2] = {g->oh, g->ow};
    const int k[2] = {g->kh, g->kw}, s[2] = {g->sh, g->sw}, p[2] = {g->ph, g->pw};
    for (int i = 0; i < 2; i++) {
        int64_t need = (out[i] - 1) * s[i] + k[i] - in[i] - p[i];
        pr[i] = need > p[i] ? need : p[i];
        if ((in[i] + p[i] + pr[i] - k[i]) / s[i] + 1 != out[i] || pr[i] >= k[i]) return 0;
    }
    return 1;
}

static dnnl_alg_kind_t alg_of(const wsss_pool_geom *g, int is_max) {
    if (is_max) return dnnl_pooling_max;
    return g->count_include_pad ? dnnl_pooling_avg_include_padding : dnnl_pooling_avg_exclude_padding;
}

static void mds(const wsss_pool_geom *g, dnnl_memory_desc_t *src, dnnl_memory_desc_t *dst) {
    int64_t sd[4] = {g->n, g->c, g->h, g->w}, dd[4] = {g->n, g->c, g->oh, g->ow};
    wsss_dnnl_md_tag(src, 4, sd, dnnl_nchw);
    wsss_dnnl_md_tag(dst, 4, dd, dnnl_nchw);
}

static void pool_key(wsss_dnnl_key *k, const char *op, const pool_arg *a) {
    const wsss_pool_geom *g = a->g;
    wsss_dnnl_key_init(k, op);
    int64_t v[16] = {a->alg, a->prop, g->n, g->c, g->h, g->w, g->oh, g->ow, g->kh, g->kw,
                     g->sh, g->sw, g->ph, g->pw, a->pad_r[0], a->pad_r[1]};
    wsss_dnnl_key_i64s(k, 16, v);
    wsss_dnnl_key_md(k, &a->src);
    wsss_dnnl_key_md(k, &a->dst);
}

static dnnl_status_t make_fwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const pool_arg *a = arg;
    const wsss_pool_geom *g = a->g;
    dnnl_dims_t st = {g->sh, g->sw}, ker = {g->kh, g->kw}, pl = {g->ph, g->pw};
    dnnl_pooling_desc_t d;
    dnnl_status_t s = dnnl_pooling_forward_desc_init(&d, a->prop, a->alg, &a->src, &a->dst, st, ker, pl, a->pad_r);
    return wsss_dnnl_pd_create(s, pd, &d, NULL);
}

static const wsss_dnnl_prim *get_fwd(const pool_arg *a) {
    wsss_dnnl_key k;
    pool_key(&k, "pool_fwd", a);
    return wsss_dnnl_cache_get(&k, make_fwd_pd, a, NULL);
}

/* The destination layout is the one the forward chose (its hint). */
static dnnl_status_t make_bwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const pool_arg *a = arg;
    const wsss_pool_geom *g = a->g;
    const wsss_dnnl_prim *hint = get_fwd(a);
    if (!hint) return dnnl_unimplemented;
    dnnl_memory_desc_t dst = *wsss_dnnl_arg_md(hint, DNNL_ARG_DST);
    dnnl_dims_t st = {g->sh, g->sw}, ker = {g->kh, g->kw}, pl = {g->ph, g->pw};
    dnnl_pooling_desc_t d;
    dnnl_status_t s = dnnl_pooling_backward_desc_init(&d, a->alg, &a->src, &dst, st, ker, pl, a->pad_r);
    return wsss_dnnl_pd_create(s, pd, &d, hint);
}

static const wsss_dnnl_prim *get_bwd(const pool_arg *a) {
    wsss_dnnl_key k;
    pool_key(&k, "pool_bwd", a);
    return wsss_dnnl_cache_get(&k, make_bwd_pd, a, NULL);
}

static int setup(pool_arg *a, const wsss_pool_geom *g, int is_max, dnnl_prop_kind_t prop) {
    memset(a, 0, sizeof *a);
    a->g = g;
    a->alg = alg_of(g, is_max);
    a->prop = prop;
    return right_pad(g, a->pad_r);
}

/* setup for plain NCHW buffers. */
static int setup_plain(pool_arg *a, const wsss_pool_geom *g, int is_max, dnnl_prop_kind_t prop) {
    if (!setup(a, g, is_max, prop)) return 0;
    mds(g, &a->src, &a->dst);
    return 1;
}

/* Whether PyTorch's divisor differs from oneDNN's kh*kw somewhere: only count_include_pad
 * windows clipped by ceil_mode differ. */
static int avg_rescale_needed(const wsss_pool_geom *g, int is_max) {
    if (is_max || !g->count_include_pad) return 0;
    return !((g->oh - 1) * g->sh - g->ph + g->kh <= g->h + g->ph &&
             (g->ow - 1) * g->sw - g->pw + g->kw <= g->w + g->pw);
}

/* Factor PyTorch's divisor differs from oneDNN's kh*kw by, per output position (NULL if it is 1
 * everywhere). */
static float *avg_rescale(const wsss_pool_geom *g, int is_max) {
    if (!avg_rescale_needed(g, is_max)) return NULL;
    float *f = wsss_xmalloc((size_t)(g->oh * g->ow) * sizeof *f);
    for (int64_t oh = 0; oh < g->oh; oh++)
        for (int64_t ow = 0; ow < g->ow; ow++)
            f[oh * g->ow + ow] = (float)((double)(g->kh * g->kw) / (double)wsss_pool_avg_divisor(g, oh, ow));
    return f;
}

static void apply_rescale(const wsss_pool_geom *g, const float *f, float *y) {
    const int64_t planes = g->n * g->c, ohw = g->oh * g->ow;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t i = 0; i < ohw; i++) y[p * ohw + i] *= f[i];
}

size_t wsss_dnnl_maxpool_ws_bytes(const wsss_pool_geom *g) {
    pool_arg a;
    if (!setup_plain(&a, g, 1, dnnl_forward_training)) return 0;
    const wsss_dnnl_prim *p = get_fwd(&a);
    if (!p) return 0;
    const dnnl_memory_desc_t *ws = wsss_dnnl_pd_md(p, dnnl_query_workspace_md);
    return wsss_dnnl_md_is_zero(ws) ? 0 : wsss_dnnl_md_bytes(ws);
}

/* The backward's execution (both variants): ws is the forward's workspace (max pooling only). */
static void run_bwd(const wsss_dnnl_prim *p, int is_max, const dnnl_memory_desc_t *dymd, const void *dy,
                    const dnnl_memory_desc_t *dxmd, void *dx, const void *ws) {
    wsss_dnnl_bufs b = {0};
    wsss_dnnl_bufs_add(&b, DNNL_ARG_DIFF_DST, dymd, dy);
    wsss_dnnl_bufs_add(&b, DNNL_ARG_DIFF_SRC, dxmd, dx);
    if (is_max) wsss_dnnl_bufs_add(&b, DNNL_ARG_WORKSPACE, wsss_dnnl_pd_md(p, dnnl_query_workspace_md), ws);
    wsss_dnnl_bufs_execute(p, &b);
}

int wsss_dnnl_pool_fwd(const wsss_pool_geom *g, int is_max, const float *x, float *y, void *ws) {
    pool_arg a;
    if (!setup_plain(&a, g, is_max, ws ? dnnl_forward_training : dnnl_forward_inference)) return -1;
    const wsss_dnnl_prim *p = get_fwd(&a);
    if (!p) return -1;
    wsss_dnnl_bufs b = {0};
    wsss_dnnl_bufs_add(&b, DNNL_ARG_SRC, &a.src, x);
    wsss_dnnl_bufs_add(&b, DNNL_ARG_DST, &a.dst, y);
    if (ws) {
        const dnnl_memory_desc_t *wmd = wsss_dnnl_pd_md(p, dnnl_query_workspace_md);
        WSSS_ASSERT(!wsss_dnnl_md_is_zero(wmd), "max pooling forward without a workspace");
        wsss_dnnl_bufs_add(&b, DNNL_ARG_WORKSPACE, wmd, ws);
    }
    wsss_dnnl_bufs_execute(p, &b);
    float *f = avg_rescale(g, is_max);
    if (f) {
        apply_rescale(g, f, y);
        free(f);
    }
    return 0;
}

int wsss_dnnl_pool_bwd(const wsss_pool_geom *g, int is_max, const float *dy, const void *ws, float *dx) {
    pool_arg a;
    if (!setup_plain(&a, g, is_max, dnnl_forward_training)) return -1;
    const wsss_dnnl_prim *p = get_bwd(&a);
    if (!p) return -1;
    float *f = avg_rescale(g, is_max), *dys = NULL;
    if (f) { /* d(y*f)/dy: scale the incoming gradient the same way */
        size_t n = (size_t)(g->n * g->c * g->oh * g->ow);
        dys = wsss_dnnl_buf(n * sizeof *dys, 0);
        memcpy(dys, dy, n * sizeof *dys);
        apply_rescale(g, f, dys);
        dy = dys;
    }
    WSSS_ASSERT(!is_max || ws != NULL, "max pooling backward needs the forward workspace");
    run_bwd(p, is_max, &a.dst, dy, &a.src, dx, ws);
    free(dys);
    free(f);
    return 0;
}

/* ---------------- layout-aware variants ---------------- */

static void dst_any(const wsss_pool_geom *g, dnnl_memory_desc_t *dst) {
    int64_t dd[4] = {g->n, g->c, g->oh, g->ow};
    wsss_dnnl_md_any(dst, 4, dd);
}

/* aux layout: [workspace, padded to 64 bytes][source memory descriptor] */
static size_t ws_padded(size_t ws) { return (ws + 63) / 64 * 64; }

wsss_tensor *wsss_dnnl_pool_fwd_t(wsss_ctx *ctx, const wsss_pool_geom *g, int is_max, wsss_tensor *x,
                                  int want_aux, wsss_tensor **aux) {
    if (avg_rescale_needed(g, is_max)) return NULL;
    pool_arg m;
    if (!setup(&m, g, is_max, (want_aux && is_max) ? dnnl_forward_training : dnnl_forward_inference))
        return NULL;
    wsss_dnnl_tensor_md(&m.src, x);
    dst_any(g, &m.dst);
    const wsss_dnnl_prim *p = get_fwd(&m);
    if (!p) return NULL;
    if (want_aux) { /* the backward builds its primitive with a forward_training hint */
        pool_arg t = m;
        t.prop = dnnl_forward_training;
        if (!get_fwd(&t)) return NULL;
    }
    const dnnl_memory_desc_t *ymd = wsss_dnnl_arg_md(p, DNNL_ARG_DST);
    int64_t ys[4] = {g->n, g->c, g->oh, g->ow};
    wsss_tensor *y = wsss_dnnl_new_tensor(ctx, 4, ys, ymd);
    size_t wsb = 0;
    const dnnl_memory_desc_t *wmd = NULL;
    if (want_aux && is_max) {
        wmd = wsss_dnnl_pd_md(p, dnnl_query_workspace_md);
        WSSS_ASSERT(!wsss_dnnl_md_is_zero(wmd), "max pooling forward without a workspace");
        wsb = wsss_dnnl_md_bytes(wmd);
    }
    wsss_tensor *a = NULL;
    if (want_aux) {
        int64_t nb = (int64_t)(ws_padded(wsb) + sizeof(dnnl_memory_desc_t));
        a = wsss_ctx_tensor(ctx, WSSS_U8, 1, &nb);
        memcpy((char *)a->data + ws_padded(wsb), &m.src, sizeof m.src);
    }
    wsss_dnnl_bufs b = {0};
    wsss_dnnl_bufs_add(&b, DNNL_ARG_SRC, &m.src, wsss_dnnl_tensor_ptr(x));
    wsss_dnnl_bufs_add(&b, DNNL_ARG_DST, ymd, wsss_dnnl_tensor_ptr(y));
    if (wmd) wsss_dnnl_bufs_add(&b, DNNL_ARG_WORKSPACE, wmd, a->data);
    wsss_dnnl_bufs_execute(p, &b);
    if (aux) *aux = a;
    return y;
}

wsss_tensor *wsss_dnnl_pool_bwd_t(wsss_ctx *ctx, const wsss_pool_geom *g, int is_max,
                                  const wsss_tensor *aux, wsss_tensor *gy) {
    pool_arg m;
    int ok = setup(&m, g, is_max, dnnl_forward_training);
    WSSS_ASSERT(ok, "pooling backward geometry changed since the forward");
    size_t total = (size_t)aux->shape[0];
    WSSS_ASSERT(total >= sizeof m.src, "pooling backward: bad aux tensor");
    const char *base = aux->data;
    memcpy(&m.src, base + total - sizeof m.src, sizeof m.src);
    dst_any(g, &m.dst);
    const wsss_dnnl_prim *p = get_bwd(&m);
    WSSS_ASSERT(p != NULL, "oneDNN pooling backward unavailable after its forward ran");
    const dnnl_memory_desc_t *dymd = wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_DST);
    const dnnl_memory_desc_t *dxmd = wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_SRC);
    wsss_tensor *gyd = wsss_dnnl_as_md(ctx, gy, dymd);
    int64_t xs[4] = {g->n, g->c, g->h, g->w};
    wsss_tensor *dx = wsss_dnnl_new_tensor(ctx, 4, xs, dxmd);
    run_bwd(p, is_max, dymd, wsss_dnnl_tensor_ptr(gyd), dxmd, wsss_dnnl_tensor_ptr(dx), base);
    if (gyd != gy) wsss_ctx_release(ctx, gyd);
    return dx;
}
