/* Reductions: sum/mean over every dims bitmask (keepdim on and off) against a naive loop and
 * finite differences, F32 vs F64, views, the threaded paths, max/min over a dim (first index on
 * ties, NaN wins, as torch 1.13 on CPU) and max_all/min_all (ties share the gradient equally, as
 * torch.max(x)). */
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

typedef struct { int kind; unsigned dims; int keepdim; int dim; } red_arg;

static wsss_tensor *run_red(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    const red_arg *a = arg;
    switch (a->kind) {
    case 0: return wsss_sum(ctx, in[0], a->dims, a->keepdim);
    case 1: return wsss_mean(ctx, in[0], a->dims, a->keepdim);
    case 2: return wsss_sum_all(ctx, in[0]);
    case 3: return wsss_mean_all(ctx, in[0]);
    case 4: return wsss_max(ctx, in[0], a->dim, a->keepdim, NULL);
    case 5: return wsss_min(ctx, in[0], a->dim, a->keepdim, NULL);
    case 6: return wsss_max_all(ctx, in[0]);
    default: return wsss_min_all(ctx, in[0]);
    }
}

/* Naive sum/mean: output element for each input element by dropping reduced coordinates. */
static wsss_tensor *naive_sum(const wsss_tensor *x, unsigned dims, int mean) {
    int64_t oshape[WSSS_MAX_DIMS];
    int nd = 0;
    int64_t cnt = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (dims & (1u << d)) cnt *= x->shape[d];
        else oshape[nd++] = x->shape[d];
    }
    wsss_tensor *o = wsss_tensor_new(WSSS_F64, nd, oshape);
    int64_t n = wsss_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = i, oi = 0, m = 1;
        for (int d = x->ndim - 1; d >= 0; d--) {
            int64_t c = r % x->shape[d];
            r /= x->shape[d];
            if (!(dims & (1u << d))) {
                oi += c * m;
                m *= x->shape[d];
            }
        }
        wsss_tensor_set(o, oi, wsss_tensor_get(o, oi) + wsss_tensor_get(x, i));
    }
    if (mean)
        for (int64_t i = 0; i < wsss_tensor_numel(o); i++) wsss_tensor_set(o, i, wsss_tensor_get(o, i) / (double)cnt);
    return o;
}

static void expect_shape(const char *what, const wsss_tensor *t, int nd, const int64_t *s) {
    int ok = t->ndim == nd;
    for (int d = 0; ok && d < nd; d++) ok = t->shape[d] == s[d];
    char b[64];
    CHECK(ok, "%s: shape %s", what, wsss_shape_str(t, b, sizeof b));
}

static void test_sum_mean(void) {
    const int64_t s[4] = {2, 3, 4, 5};
    wsss_tensor *x = rand_leaf(4, s, -1, 1, 1);
    wsss_tensor *views[3];
    for (int k = 0; k < 3; k++) {
        views[k] = noncontig_copy(x, k);
        views[k]->requires_grad = 1;
    }
    for (unsigned dims = 0; dims < 16; dims++) {
        for (int kind = 0; kind < 2; kind++) {
            for (int keep = 0; keep < 2; keep++) {
                red_arg a = {kind, dims, keep, 0};
                char what[96];
                snprintf(what, sizeof what, "%s dims 0x%x keepdim %d", kind ? "mean" : "sum", dims, keep);
                wsss_ctx *ctx = wsss_ctx_new();
                wsss_tensor *out = run_red(ctx, &x, &a);
                int64_t es[4];
                int nd = 0;
                for (int d = 0; d < 4; d++) {
                    if (!(dims & (1u << d))) es[nd++] = s[d];
                    else if (keep) es[nd++] = 1;
                }
                expect_shape(what, out, nd, es);
                wsss_tensor *want = naive_sum(x, dims, kind);
                /* compare values (keepdim only inserts size-1 dims) */
                double maxe = 0;
                for (int64_t i = 0; i < wsss_tensor_numel(want); i++)
                    maxe = fmax(maxe, fabs(wsss_tensor_get(out, i) - wsss_tensor_get(want, i)));
                CHECK(maxe < 1e-14, "%s: value error %g", what, maxe);
                for (int k = 0; k < 3; k++) {
                    wsss_tensor *ov = run_red(ctx, &views[k], &a);
                    double e = 0;
                    for (int64_t i = 0; i < wsss_tensor_numel(want); i++)
                        e = fmax(e, fabs(wsss_tensor_get(ov, i) - wsss_tensor_get(want, i)));
                    CHECK(e < 1e-14, "%s view %d: value error %g", what, k, e);
                }
                wsss_tensor_free(want);
                wsss_ctx_free(ctx);
                gradcheck(what, run_red, 1, &x, &a, 1e-8, 1e-6);
                gradcheck(what, run_red, 1, &views[dims % 3], &a, 1e-8, 1e-6);
                f32_vs_f64(what, run_red, 1, &x, &a, 1e-6, 1e-5);
            }
        }
    }
    for (int kind = 2; kind < 4; kind++) {
        red_arg a = {kind, 0, 0, 0};
        const char *what = kind == 2 ? "sum_all" : "mean_all";
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *out = run_red(ctx, &x, &a);
        expect_shape(what, out, 0, NULL);
        wsss_tensor *want = naive_sum(x, 15, kind == 3);
        CHECK(fabs(wsss_tensor_get(out, 0) - wsss_tensor_get(want, 0)) < 1e-14, "%s value", what);
        wsss_tensor_free(want);
        wsss_ctx_free(ctx);
        gradcheck(what, run_red, 1, &x, &a, 1e-8, 1e-6);
        gradcheck(what, run_red, 1, &views[2], &a, 1e-8, 1e-6);
        f32_vs_f64(what, run_red, 1, &x, &a, 1e-6, 1e-5);
    }
    for (int k = 0; k < 3; k++) wsss_tensor_free(views[k]);
    wsss_tensor_free(x);
}

/* Threaded paths: many outputs (split over outputs) and few outputs with long reductions (split
 * into blocks); F32 results against a naive double sum. */
static void test_sum_large(void) {
    const int64_t s[3] = {7, 300, 97};
    wsss_tensor *x64 = rand_tensor(WSSS_F64, 3, s, -1, 1, 2);
    wsss_tensor *x32 = wsss_tensor_to_dtype(x64, WSSS_F32);
    wsss_tensor *x64r = wsss_tensor_to_dtype(x32, WSSS_F64); /* the F32 values exactly */
    const unsigned masks[] = {1, 2, 4, 3, 5, 6, 7};
    for (size_t k = 0; k < sizeof masks / sizeof masks[0]; k++) {
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *o64 = wsss_sum(ctx, x64, masks[k], 0), *o32 = wsss_mean(ctx, x32, masks[k], 1);
        wsss_tensor *w64 = naive_sum(x64, masks[k], 0), *w32 = naive_sum(x64r, masks[k], 1);
        char what[64];
        snprintf(what, sizeof what, "large sum mask %u", masks[k]);
        double m = 0;
        for (int64_t i = 0; i < wsss_tensor_numel(w64); i++) {
            m = fmax(m, fabs(wsss_tensor_get(o64, i) - wsss_tensor_get(w64, i)));
        }
        CHECK(m < 1e-10, "%s F64 error %g", what, m);
        m = 0;
        for (int64_t i = 0; i < wsss_tensor_numel(w32); i++)
            m = fmax(m, fabs(wsss_tensor_get(o32, i) - wsss_tensor_get(w32, i)) / (1e-3 + fabs(wsss_tensor_get(w32, i))));
        CHECK(m < 1e-5, "%s F32 mean rel error %g", what, m); /* double accumulation: only the final rounding */
        wsss_tensor_free(w64);
        wsss_tensor_free(w32);
        /* backward of the threaded path: every element gets its output's gradient */
        x32->requires_grad = 1;
        wsss_tensor *o = wsss_sum(ctx, x32, masks[k], 0);
        wsss_tensor *g = rand_tensor(WSSS_F32, o->ndim, o->shape, -1, 1, 9);
        wsss_backward_with(ctx, o, g);
        int ok = 1;
        for (int64_t i = 0; i < wsss_tensor_numel(x32); i++) {
            int64_t r = i, oi = 0, mm = 1;
            for (int d = 2; d >= 0; d--) {
                int64_t c = r % s[d];
                r /= s[d];
                if (!(masks[k] & (1u << d))) {
                    oi += c * mm;
                    mm *= s[d];
                }
            }
            ok &= wsss_tensor_get(x32->grad, i) == wsss_tensor_get(g, oi);
        }
        CHECK(ok, "%s backward broadcast", what);
        wsss_tensor_free(x32->grad);
        x32->grad = NULL;
        x32->requires_grad = 0;
        wsss_tensor_free(g);
        wsss_ctx_free(ctx);
    }
    wsss_tensor_free(x64);
    wsss_tensor_free(x32);
    wsss_tensor_free(x64r);
}

/* Naive arg-extreme along dim: first index wins ties, first NaN wins everything. */
static void naive_arg(const wsss_tensor *x, int dim, int is_min, double *val, int64_t *idx) {
    int64_t outer = 1, inner = 1, D = x->shape[dim];
    for (int d = 0; d < dim; d++) outer *= x->shape[d];
    for (int d = dim + 1; d < x->ndim; d++) inner *= x->shape[d];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double best = 0;
            int64_t bi = -1;
            for (int64_t k = 0; k < D; k++) {
                double v = wsss_tensor_get(x, (o * D + k) * inner + i);
                if (bi >= 0 && isnan(best)) break;
                if (bi < 0 || isnan(v) || (is_min ? v < best : v > best)) {
                    best = v;
                    bi = k;
                }
            }
            val[o * inner + i] = best;
            idx[o * inner + i] = bi;
        }
}

static void test_max_min(void) {
    const int64_t s[3] = {3, 4, 5};
    /* small integers: many ties */
    wsss_tensor *x = rand_tensor(WSSS_F64, 3, s, 0, 1, 3);
    for (int64_t i = 0; i < 60; i++) wsss_tensor_set(x, i, floor(wsss_tensor_get(x, i) * 3));
    wsss_tensor_set(x, 17, NAN);
    for (int is_min = 0; is_min < 2; is_min++)
        for (int dim = -3; dim < 3; dim++)
            for (int keep = 0; keep < 2; keep++) {
                int d = dim < 0 ? dim + 3 : dim;
                double val[60];
                int64_t idx[60];
                naive_arg(x, d, is_min, val, idx);
                wsss_ctx *ctx = wsss_ctx_new();
                x->requires_grad = 1;
                wsss_tensor *ind = NULL;
                wsss_tensor *out = is_min ? wsss_min(ctx, x, dim, keep, &ind) : wsss_max(ctx, x, dim, keep, &ind);
                int64_t es[3];
                int nd = 0;
                for (int k = 0; k < 3; k++)
                    if (k != d) es[nd++] = s[k];
                    else if (keep) es[nd++] = 1;
                expect_shape("max/min", out, nd, es);
                CHECK(ind && ind->dtype == WSSS_I64 && wsss_tensor_same_shape(ind, out), "indices tensor");
                int ok = 1;
                int64_t n = wsss_tensor_numel(out);
                for (int64_t i = 0; i < n; i++) {
                    double v = wsss_tensor_get(out, i);
                    ok &= (isnan(v) && isnan(val[i])) || v == val[i];
                    ok &= ((int64_t *)ind->data)[i] == idx[i];
                }
                CHECK(ok, "%s dim %d keepdim %d: values/indices (first index on ties, NaN wins)",
                      is_min ? "min" : "max", dim, keep);
                /* gradient goes to the arg index only */
                wsss_tensor *g = rand_tensor(WSSS_F64, out->ndim, out->shape, 1, 2, 4);
                wsss_backward_with(ctx, out, g);
                int64_t outer = 1, inner = 1;
                for (int k = 0; k < d; k++) outer *= s[k];
                for (int k = d + 1; k < 3; k++) inner *= s[k];
                wsss_tensor *want = wsss_tensor_new(WSSS_F64, 3, s);
                for (int64_t o = 0; o < outer; o++)
                    for (int64_t i = 0; i < inner; i++)
                        wsss_tensor_set(want, (o * s[d] + idx[o * inner + i]) * inner + i,
                                        wsss_tensor_get(g, o * inner + i));
                check_close("max/min gradient to the first arg index", x->grad, want, 0, 0);
                wsss_tensor_free(want);
                wsss_tensor_free(g);
                wsss_tensor_free(x->grad);
                x->grad = NULL;
                wsss_ctx_free(ctx);
            }
    /* finite differences where the extreme is unique */
    wsss_tensor *u = rand_leaf(3, s, -1, 1, 5);
    for (int kind = 4; kind < 8; kind++)
        for (int dim = 0; dim < 3; dim++) {
            red_arg a = {kind, 0, dim & 1, dim};
            char what[64];
            snprintf(what, sizeof what, "extreme kind %d dim %d", kind, dim);
            gradcheck(what, run_red, 1, &u, &a, 1e-8, 1e-6);
            f32_vs_f64(what, run_red, 1, &u, &a, 1e-6, 1e-6);
            wsss_tensor *v = noncontig_copy(u, dim);
            v->requires_grad = 1;
            gradcheck(what, run_red, 1, &v, &a, 1e-8, 1e-6);
            wsss_tensor_free(v);
        }
    wsss_tensor_free(u);
    wsss_tensor_free(x);
}

/* torch 1.13: x = [[1,3,3,0],[2,2,-1,2]]; x.max().backward() -> 0.5 at (0,1) and (0,2);
 * x.min().backward() -> 1 at (1,2); x.max(1) -> values [3,2], indices [1,0]. */
static void test_extreme_all_ties(void) {
    const int64_t s[2] = {2, 4};
    const double xv[8] = {1, 3, 3, 0, 2, 2, -1, 2};
    wsss_tensor *x = wsss_tensor_from_data(WSSS_F64, 2, s, xv);
    x->requires_grad = 1;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *m = wsss_max_all(ctx, x);
    CHECK(m->ndim == 0 && wsss_tensor_get(m, 0) == 3, "max_all value");
    wsss_backward(ctx, m);
    const double want_max[8] = {0, 0.5, 0.5, 0, 0, 0, 0, 0};
    wsss_tensor *w = wsss_tensor_from_data(WSSS_F64, 2, s, want_max);
    check_close("max_all ties share the gradient", x->grad, w, 0, 0);
    wsss_tensor_free(w);
    wsss_tensor_free(x->grad);
    x->grad = NULL;
    wsss_ctx_reset(ctx);
    wsss_tensor *mn = wsss_min_all(ctx, x);
    wsss_backward(ctx, mn);
    const double want_min[8] = {0, 0, 0, 0, 0, 0, 1, 0};
    w = wsss_tensor_from_data(WSSS_F64, 2, s, want_min);
    check_close("min_all gradient", x->grad, w, 0, 0);
    wsss_tensor_free(w);
    wsss_tensor_free(x->grad);
    x->grad = NULL;
    wsss_ctx_reset(ctx);
    wsss_tensor *ind;
    wsss_tensor *mx = wsss_max(ctx, x, 1, 0, &ind);
    CHECK(wsss_tensor_get(mx, 0) == 3 && wsss_tensor_get(mx, 1) == 2 && wsss_tensor_get(ind, 0) == 1 &&
              wsss_tensor_get(ind, 1) == 0, "max(1) values/indices");
    /* grad mode off: indices still returned on request, nothing recorded */
    wsss_ctx_set_grad_enabled(ctx, 0);
    ind = NULL;
    mx = wsss_min(ctx, x, 0, 1, &ind);
    CHECK(ind != NULL && mx->grad_fn == NULL && wsss_tensor_get(ind, 2) == 1, "min no-grad indices");
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* Large inputs: threaded max over a dim and the blocked max_all, F32, against the naive loop. */
static void test_extreme_large(void) {
    const int64_t s[3] = {5, 200, 70};
    wsss_tensor *x = rand_tensor(WSSS_F32, 3, s, -1, 1, 6);
    wsss_tensor_set(x, 30000, 5); /* a unique global max deep inside (block 3) */
    wsss_tensor_set(x, 50000, 5); /* and a later tie */
    for (int d = 0; d < 3; d++) {
        int64_t no = wsss_tensor_numel(x) / s[d];
        double *val = wsss_xmalloc((size_t)no * sizeof *val);
        int64_t *idx = wsss_xmalloc((size_t)no * sizeof *idx);
        naive_arg(x, d, 0, val, idx);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *ind;
        wsss_tensor *out = wsss_max(ctx, x, d, 0, &ind);
        int ok = 1;
        for (int64_t i = 0; i < no; i++) ok &= wsss_tensor_get(out, i) == val[i] && ((int64_t *)ind->data)[i] == idx[i];
        CHECK(ok, "large max dim %d", d);
        wsss_ctx_free(ctx);
        free(val);
        free(idx);
    }
    wsss_ctx *ctx = wsss_ctx_new();
    x->requires_grad = 1;
    wsss_tensor *m = wsss_max_all(ctx, x);
    CHECK(wsss_tensor_get(m, 0) == 5, "large max_all");
    wsss_backward(ctx, m);
    CHECK(wsss_tensor_get(x->grad, 30000) == 0.5f && wsss_tensor_get(x->grad, 50000) == 0.5f, "large max_all ties");
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* Results do not depend on the thread count (fixed summation order). */
static void test_thread_independence(void) {
    const int64_t s[2] = {3, 70001};
    wsss_tensor *x = rand_tensor(WSSS_F32, 2, s, -1, 1, 7);
    float r[2][4];
    int64_t ix[2];
    for (int k = 0; k < 2; k++) {
        wsss_set_threads(k + 1);
        wsss_ctx *ctx = wsss_ctx_new();
        r[k][0] = wsss_f32(wsss_sum_all(ctx, x))[0];
        r[k][1] = wsss_f32(wsss_mean(ctx, x, 2, 0))[2];
        r[k][2] = wsss_f32(wsss_mean(ctx, x, 1, 0))[7];
        wsss_tensor *ind;
        r[k][3] = wsss_f32(wsss_max(ctx, x, 1, 0, &ind))[1];
        ix[k] = ((int64_t *)ind->data)[1];
        wsss_ctx_free(ctx);
    }
    CHECK(memcmp(r[0], r[1], sizeof r[0]) == 0 && ix[0] == ix[1], "1 vs 2 threads: %.9g %.9g / %.9g %.9g",
          r[0][0], r[1][0], r[0][1], r[1][1]);
    wsss_set_threads(wsss_physical_cores());
    wsss_tensor_free(x);
}

int main(void) {
    test_thread_independence();
    test_sum_mean();
    test_sum_large();
    test_max_min();
    test_extreme_all_ties();
    test_extreme_large();
    gc_report("test_reduce");
    return test_summary("test_reduce");
}
