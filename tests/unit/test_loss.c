/* Losses: finite differences (inputs and soft targets), F32 vs F64, views, hand-computed values
 * including BCE's -100 clamp and PyTorch's 1e-12f gradient floor at p = 0 / 1 (numbers from
 * torch 1.13), cross entropy with ignored pixels, every target dtype, and no valid pixel. */
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "wsss/ops.h"

typedef struct { int kind; } loss_arg;

static wsss_tensor *run_pair(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    switch (((const loss_arg *)arg)->kind) {
    case 0: return wsss_bce_with_logits(ctx, in[0], in[1]);
    case 1: return wsss_multilabel_soft_margin(ctx, in[0], in[1]);
    default: return wsss_bce(ctx, in[0], in[1]);
    }
}
static const char *const k_names[] = {"bce_with_logits", "multilabel_soft_margin", "bce"};

static void test_pair_fd(void) {
    const int64_t s[2] = {4, 5};
    for (int kind = 0; kind < 3; kind++) {
        loss_arg a = {kind};
        wsss_tensor *in[2];
        in[0] = kind == 2 ? rand_leaf(2, s, 0.05, 0.95, 1) : rand_leaf(2, s, -4, 4, 1);
        in[1] = rand_leaf(2, s, 0, 1, 2); /* soft targets, so d/dtarget is checked too */
        gradcheck(k_names[kind], run_pair, 2, in, &a, 1e-8, 1e-6);
        f32_vs_f64(k_names[kind], run_pair, 2, in, &a, 1e-6, 1e-5);
        for (int k = 0; k < 3; k++) {
            wsss_tensor *v[2] = {noncontig_copy(in[0], k), noncontig_copy(in[1], (k + 1) % 3)};
            v[0]->requires_grad = v[1]->requires_grad = 1;
            gradcheck(k_names[kind], run_pair, 2, v, &a, 1e-8, 1e-6);
            wsss_tensor_free(v[0]);
            wsss_tensor_free(v[1]);
        }
        /* only the input requires grad: the target gets nothing */
        in[1]->requires_grad = 0;
        gradcheck(k_names[kind], run_pair, 2, in, &a, 1e-8, 1e-6);
        CHECK(in[1]->grad == NULL, "%s: constant target got a gradient", k_names[kind]);
        wsss_tensor_free(in[0]);
        wsss_tensor_free(in[1]);
    }
}

static double loss_value(int kind, wsss_dtype dt, int n, const double *x, const double *y, double *gx) {
    int64_t s[1] = {n};
    wsss_tensor *a = wsss_tensor_from_data(WSSS_F64, 1, s, x), *b = wsss_tensor_from_data(WSSS_F64, 1, s, y);
    wsss_tensor *ta = wsss_tensor_to_dtype(a, dt), *tb = wsss_tensor_to_dtype(b, dt);
    ta->requires_grad = 1;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *in[2] = {ta, tb};
    loss_arg la = {kind};
    wsss_tensor *l = run_pair(ctx, in, &la);
    CHECK(l->ndim == 0 && l->dtype == dt, "%s: 0-dim result of the input dtype", k_names[kind]);
    double v = wsss_tensor_get(l, 0);
    wsss_backward(ctx, l);
    for (int i = 0; i < n; i++) gx[i] = wsss_tensor_get(ta->grad, i);
    wsss_ctx_free(ctx);
    wsss_tensor_free(a);
    wsss_tensor_free(b);
    wsss_tensor_free(ta);
    wsss_tensor_free(tb);
    return v;
}

static void test_pair_values(void) {
    double g[6];
    for (int dt = 0; dt < 2; dt++) {
        wsss_dtype t = dt ? WSSS_F64 : WSSS_F32;
        /* logits 0: log 2 for any target; gradient (0.5 - y) / n */
        const double x0[2] = {0, 0}, y0[2] = {1, 0.25};
        for (int kind = 0; kind < 2; kind++) {
            double v = loss_value(kind, t, 2, x0, y0, g);
            CHECK(fabs(v - log(2.0)) < 1e-7 && fabs(g[0] + 0.25) < 1e-7 && fabs(g[1] - 0.125) < 1e-7,
                  "%s at 0: %g grads %g %g", k_names[kind], v, g[0], g[1]);
        }
        /* huge logits stay finite: x = 100, y = 0 costs 100; x = -100, y = 0 costs ~0 */
        const double xh[2] = {100, -100}, yh[2] = {0, 0};
        for (int kind = 0; kind < 2; kind++) {
            double v = loss_value(kind, t, 2, xh, yh, g);
            CHECK(fabs(v - 50) < 1e-5 && fabs(g[0] - 0.5) < 1e-7 && fabs(g[1]) < 1e-7, "%s huge logits: %g", k_names[kind], v);
        }
        /* torch 1.13, binary_cross_entropy(p, t, reduction='none') with
         * p = [0, 1, 0, 1, 0.5, 1e-30], t = [0, 1, 1, 0, 0.3, 0]:
         * loss [0, 0, 100, 100, 0.6931, 0], d/dp [0, 0, -1e12, 1e12, 0.8, 1e-18] (sum) */
        const double p[6] = {0, 1, 0, 1, 0.5, dt ? 1e-30 : 1e-30}, y[6] = {0, 1, 1, 0, 0.3, 0};
        double v = loss_value(2, t, 6, p, y, g);
        CHECK(fabs(v - (200 + log(2.0)) / 6) < 1e-5, "bce clamp value %g", v);
        const double want[6] = {0, 0, -1e12, 1e12, 0.8, 1e-18};
        int ok = 1;
        for (int i = 0; i < 6; i++) ok &= fabs(g[i] - want[i] / 6) <= 1e-6 * fabs(want[i] / 6) + 1e-12;
        CHECK(ok, "bce grads at 0/1 (%s): %g %g %g %g %g %g", dt ? "F64" : "F32", g[0], g[1], g[2], g[3], g[4], g[5]);
    }
    /* multilabel soft margin equals BCE with logits mathematically */
    const int64_t s[2] = {3, 7};
    wsss_tensor *x = rand_tensor(WSSS_F64, 2, s, -6, 6, 3), *y = rand_tensor(WSSS_F64, 2, s, 0, 1, 4);
    wsss_ctx *ctx = wsss_ctx_new();
    double a = wsss_tensor_get(wsss_bce_with_logits(ctx, x, y), 0);
    double b = wsss_tensor_get(wsss_multilabel_soft_margin(ctx, x, y), 0);
    CHECK(fabs(a - b) < 1e-14, "bce_with_logits %.17g vs multilabel %.17g", a, b);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_tensor_free(y);
}

/* ---------------- cross entropy ---------------- */

typedef struct { const wsss_tensor *target; int ignore; } ce_arg;

static wsss_tensor *run_ce(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    const ce_arg *a = arg;
    return wsss_cross_entropy2d(ctx, in[0], a->target, a->ignore);
}

static wsss_tensor *rand_labels(wsss_dtype dt, int nd, const int64_t *s, int c, double p_ignore,
                                unsigned long long seed) {
    wsss_tensor *u = rand_tensor(WSSS_F64, nd, s, 0, 1, seed), *t = wsss_tensor_new(dt, nd, s);
    for (int64_t i = 0; i < wsss_tensor_numel(u); i++) {
        double r = wsss_tensor_get(u, i);
        wsss_tensor_set(t, i, r < p_ignore ? 255 : floor((r - p_ignore) / (1 - p_ignore) * c));
    }
    wsss_tensor_free(u);
    return t;
}

/* naive: mean over valid pixels of logsumexp - x[target], and its gradient */
static double naive_ce(const wsss_tensor *x, const wsss_tensor *t, int ignore, wsss_tensor *gx) {
    int64_t N = x->shape[0], C = x->shape[1], P = wsss_tensor_numel(x) / (N * C), nv = 0;
    double sum = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < P; p++)
            if ((int)wsss_tensor_get(t, n * P + p) != ignore) nv++;
    wsss_tensor_fill(gx, 0);
    for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < P; p++) {
            int tg = (int)wsss_tensor_get(t, n * P + p);
            if (tg == ignore) continue;
            double m = -INFINITY, s = 0;
            for (int64_t c = 0; c < C; c++) m = fmax(m, wsss_tensor_get(x, (n * C + c) * P + p));
            for (int64_t c = 0; c < C; c++) s += exp(wsss_tensor_get(x, (n * C + c) * P + p) - m);
            sum += m + log(s) - wsss_tensor_get(x, (n * C + tg) * P + p);
            for (int64_t c = 0; c < C; c++) {
                int64_t j = (n * C + c) * P + p;
                wsss_tensor_set(gx, j, (exp(wsss_tensor_get(x, j) - m) / s - (c == tg)) / (double)nv);
            }
        }
    return nv ? sum / (double)nv : 0;
}

static void test_ce(void) {
    const int64_t s[4] = {2, 3, 3, 4}, ts[3] = {2, 3, 4};
    wsss_tensor *x = rand_leaf(4, s, -3, 3, 5);
    wsss_tensor *t64 = rand_labels(WSSS_I64, 3, ts, 3, 0.2, 6);
    wsss_tensor *gx = wsss_tensor_new(WSSS_F64, 4, s);
    double want = naive_ce(x, t64, 255, gx);
    const wsss_dtype tdts[3] = {WSSS_I64, WSSS_I32, WSSS_U8};
    for (int k = 0; k < 3; k++) {
        wsss_tensor *t = wsss_tensor_to_dtype(t64, tdts[k]);
        ce_arg a = {t, 255};
        char what[64];
        snprintf(what, sizeof what, "cross_entropy2d target %s", wsss_dtype_name(tdts[k]));
        gradcheck(what, run_ce, 1, &x, &a, 1e-8, 1e-6);
        f32_vs_f64(what, run_ce, 1, &x, &a, 1e-6, 1e-5);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *l = wsss_cross_entropy2d(ctx, x, t, 255);
        CHECK(l->ndim == 0 && fabs(wsss_tensor_get(l, 0) - want) < 1e-14, "%s value %g vs %g", what, wsss_tensor_get(l, 0), want);
        wsss_backward(ctx, l);
        check_close(what, x->grad, gx, 1e-15, 1e-13);
        wsss_tensor_free(x->grad);
        x->grad = NULL;
        wsss_ctx_free(ctx);
        wsss_tensor_free(t);
    }
    /* non-contiguous logits (stored N,H,W,C) and target */
    {
        wsss_tensor *base = wsss_tensor_new(WSSS_F64, 4, (int64_t[]){2, 3, 4, 3});
        wsss_tensor *v = wsss_tensor_header_like(base);
        memcpy(v->shape, s, sizeof s);
        v->stride[0] = 36; v->stride[1] = 1; v->stride[2] = 12; v->stride[3] = 3;
        wsss_tensor_free(base);
        wsss_tensor_copy_into(v, x);
        v->requires_grad = 1;
        wsss_tensor *tv = noncontig_copy(t64, 0);
        ce_arg a = {tv, 255};
        gradcheck("cross_entropy2d views", run_ce, 1, &v, &a, 1e-8, 1e-6);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *l = wsss_cross_entropy2d(ctx, v, tv, 255);
        CHECK(fabs(wsss_tensor_get(l, 0) - want) < 1e-14, "views value");
        wsss_ctx_free(ctx);
        wsss_tensor_free(v);
        wsss_tensor_free(tv);
    }
    /* uniform logits: log C at every valid pixel; all pixels ignored: 0 and zero gradient */
    {
        wsss_tensor *z = wsss_tensor_new(WSSS_F32, 4, s);
        z->requires_grad = 1;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *l = wsss_cross_entropy2d(ctx, z, t64, 255);
        CHECK(fabs(wsss_tensor_get(l, 0) - log(3.0)) < 1e-6, "uniform logits: %g", wsss_tensor_get(l, 0));
        wsss_ctx_reset(ctx);
        wsss_tensor *ign = wsss_tensor_new(WSSS_U8, 3, ts);
        wsss_tensor_fill(ign, 255);
        l = wsss_cross_entropy2d(ctx, z, ign, 255);
        CHECK(wsss_tensor_get(l, 0) == 0, "no valid pixel: loss %g (chosen: 0, PyTorch gives nan)", wsss_tensor_get(l, 0));
        CHECK(wsss_backward(ctx, l) == WSSS_OK, "backward with no valid pixel");
        int zero = 1;
        for (int64_t i = 0; i < wsss_tensor_numel(z); i++) zero &= wsss_tensor_get(z->grad, i) == 0;
        CHECK(zero, "no valid pixel: zero gradient");
        wsss_ctx_free(ctx);
        wsss_tensor_free(ign);
        wsss_tensor_free(z);
    }
    /* plain (N, C) logits with (N) targets */
    {
        const int64_t s2[2] = {5, 4}, t2s[1] = {5};
        wsss_tensor *x2 = rand_leaf(2, s2, -2, 2, 7);
        wsss_tensor *t2 = rand_labels(WSSS_I64, 1, t2s, 4, 0.2, 8);
        ce_arg a = {t2, 255};
        gradcheck("cross_entropy (N,C)", run_ce, 1, &x2, &a, 1e-8, 1e-6);
        wsss_tensor_free(x2);
        wsss_tensor_free(t2);
    }
    wsss_tensor_free(gx);
    wsss_tensor_free(t64);
    wsss_tensor_free(x);
}

/* Segmentation-sized input (threaded path), F32 and F64, against the naive double loop. */
static void test_ce_large(void) {
    const int64_t s[4] = {2, 21, 41, 33}, ts[3] = {2, 41, 33};
    wsss_tensor *x64 = rand_tensor(WSSS_F64, 4, s, -4, 4, 9);
    wsss_tensor *x32 = wsss_tensor_to_dtype(x64, WSSS_F32);
    wsss_tensor *x32d = wsss_tensor_to_dtype(x32, WSSS_F64);
    wsss_tensor *t = rand_labels(WSSS_U8, 3, ts, 21, 0.1, 10);
    wsss_tensor *gx = wsss_tensor_new(WSSS_F64, 4, s);
    for (int dt = 0; dt < 2; dt++) {
        wsss_tensor *x = dt ? x64 : x32;
        double want = naive_ce(dt ? x64 : x32d, t, 255, gx);
        x->requires_grad = 1;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *l = wsss_cross_entropy2d(ctx, x, t, 255);
        double tol = dt ? 1e-13 : 1e-6;
        CHECK(fabs(wsss_tensor_get(l, 0) - want) < tol * fabs(want), "large CE %s: %.10g vs %.10g", dt ? "F64" : "F32",
              wsss_tensor_get(l, 0), want);
        wsss_backward(ctx, l);
        check_close(dt ? "large CE grad F64" : "large CE grad F32", x->grad, gx, dt ? 1e-17 : 1e-9, dt ? 1e-12 : 1e-5);
        wsss_ctx_free(ctx);
    }
    wsss_tensor_free(gx);
    wsss_tensor_free(t);
    wsss_tensor_free(x64);
    wsss_tensor_free(x32);
    wsss_tensor_free(x32d);
}

/* Grad mode off: the result records nothing and temporaries (contiguous copies of views) are
 * released, so the context holds just the 0-dim result. */
static void test_no_grad_memory(void) {
    const int64_t s[4] = {2, 3, 4, 5}, ts[3] = {2, 4, 5};
    wsss_tensor *x = rand_leaf(4, s, -1, 1, 11);
    wsss_tensor *v = noncontig_copy(x, 0);
    v->requires_grad = 1;
    wsss_tensor *t = rand_labels(WSSS_I64, 3, ts, 3, 0.1, 12);
    wsss_ctx *ctx = test_ctx_no_grad();
    wsss_tensor *l = wsss_cross_entropy2d(ctx, v, t, 255);
    wsss_tensor *l2 = wsss_bce_with_logits(ctx, v, v);
    CHECK(l->grad_fn == NULL && l2->grad_fn == NULL && !l->requires_grad, "no-grad losses record nothing");
    CHECK(wsss_ctx_bytes(ctx) == 2 * sizeof(double), "no-grad: ctx holds %zu bytes, expected 16", wsss_ctx_bytes(ctx));
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_tensor_free(v);
    wsss_tensor_free(t);
}

int main(void) {
    test_pair_fd();
    test_pair_values();
    test_ce();
    test_ce_large();
    test_no_grad_memory();
    gc_report("test_loss");
    return test_summary("test_loss");
}
