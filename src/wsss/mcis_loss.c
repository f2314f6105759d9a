/* The MCIS total loss (mcis.h, specs/mcis.md §4): the cross pair, the three self pairs and the
 * gated contrastive terms, composed from differentiable ops. */
#include "wsss/mcis.h"

#include <stdlib.h>

#include "wsss/error.h"
#include "wsss/ops.h"

/* [a;b] of two B,K label sets as a 2B,K tensor of dtype dt in ctx (b NULL: a alone, B,K). */
static wsss_tensor *stack_targets(wsss_ctx *ctx, wsss_dtype dt, const double *a, const double *b, int64_t n) {
    wsss_tensor *t = wsss_ctx_tensor(ctx, dt, 1, (int64_t[]){n * (b ? 2 : 1)});
    for (int64_t i = 0; i < n; i++) {
        wsss_tensor_set(t, i, a[i]);
        if (b) wsss_tensor_set(t, n + i, b[i]);
    }
    return t;
}

static wsss_tensor *as_rows(wsss_ctx *ctx, wsss_tensor *flat, int64_t k) {
    return wsss_reshape(ctx, flat, 2, (int64_t[]){wsss_tensor_numel(flat) / k, k});
}

/* ℓ([x;y], t) with t already stacked (y NULL: ℓ(x, t)) */
static wsss_tensor *margin(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *y, wsss_tensor *t) {
    wsss_tensor *rows = y ? wsss_concat(ctx, 2, (wsss_tensor *const[]){x, y}, 0) : x;
    return wsss_multilabel_soft_margin(ctx, rows, t);
}

static int any_positive(const double *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (v[i] > 0.5) return 1;
    return 0;
}

wsss_tensor *wsss_mcis_loss(wsss_ctx *ctx, wsss_mcis_forward_fn fwd, void *net, const wsss_coattention *co,
                            const wsss_mcis_views *v, const wsss_tensor *l1, const wsss_tensor *l2, int contrastive,
                            wsss_mcis_terms *terms) {
    WSSS_ASSERT(l1->ndim == 2 && wsss_tensor_same_shape(l1, l2), "mcis loss: labels B,K for both images");
    const int64_t B = l1->shape[0], K = l1->shape[1], n = B * K;
    WSSS_ASSERT(v->x1->shape[0] == B && v->x2->shape[0] == B, "mcis loss: one label row per pair");
    /* the label sets of §4 */
    double *lab = wsss_xmalloc(sizeof(double) * (size_t)(5 * n));
    double *a = lab, *b = lab + n, *common = lab + 2 * n, *u1 = lab + 3 * n, *u2 = lab + 4 * n;
    for (int64_t i = 0; i < n; i++) {
        a[i] = wsss_tensor_get(l1, i) > 0.5;
        b[i] = wsss_tensor_get(l2, i) > 0.5;
        common[i] = a[i] * b[i];
        u1[i] = a[i] - common[i];
        u2[i] = b[i] - common[i];
    }
    wsss_tensor *f1, *f2;
    wsss_tensor *s1 = fwd(net, ctx, v->x1, &f1); /* once for all four pairs */
    const wsss_dtype dt = s1->dtype;
    wsss_tensor *t_pair = as_rows(ctx, stack_targets(ctx, dt, a, b, n), K);
    wsss_tensor *t_common = as_rows(ctx, stack_targets(ctx, dt, common, common, n), K);
    wsss_tensor *t_self = as_rows(ctx, stack_targets(ctx, dt, a, a, n), K);

    wsss_mcis_terms tm = {0};
    wsss_tensor *s2 = fwd(net, ctx, v->x2, &f2);
    wsss_coattention_out cross;
    wsss_coattention_forward(ctx, co, f1, f2, &cross);
    wsss_tensor *basic = margin(ctx, s1, s2, t_pair), *co_term = margin(ctx, cross.co[0], cross.co[1], t_common);
    tm.basic = wsss_tensor_get(basic, 0);
    tm.co = wsss_tensor_get(co_term, 0);
    wsss_tensor *loss = wsss_add(ctx, basic, co_term);
    for (int t = 0; t < 3; t++) {
        wsss_tensor *ft;
        wsss_tensor *st = fwd(net, ctx, v->self[t], &ft);
        wsss_coattention_out self;
        wsss_coattention_forward(ctx, co, f1, ft, &self);
        wsss_tensor *sb = margin(ctx, s1, st, t_self), *sc = margin(ctx, self.co[0], self.co[1], t_self);
        tm.self_basic += wsss_tensor_get(sb, 0);
        tm.self_co += wsss_tensor_get(sc, 0);
        loss = wsss_add(ctx, loss, wsss_add(ctx, sb, sc));
    }
    if (contrastive) {
        const double *u[2] = {u1, u2};
        for (int k = 0; k < 2; k++) {
            if (!any_positive(u[k], n)) continue; /* the indicator is the batch's */
            tm.contrast_on[k] = 1;
            wsss_tensor *c = margin(ctx, cross.cco[k], NULL, as_rows(ctx, stack_targets(ctx, dt, u[k], NULL, n), K));
            tm.contrast += wsss_tensor_get(c, 0);
            loss = wsss_add(ctx, loss, c);
        }
    }
    free(lab);
    if (terms) *terms = tm;
    return loss;
}
