/* Elementwise ops: broadcasting in every direction, finite-difference gradients in double, F32 vs
 * F64 agreement, non-contiguous inputs, the large-tensor (multi-threaded) paths against a naive
 * loop, and PyTorch's gradient conventions at kinks (pow at 0, abs at 0, clamp at its bounds). */
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "wsss/ops.h"

typedef struct { int op; double p0, p1; } ew_arg;

static wsss_tensor *run_binary(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    switch (((const ew_arg *)arg)->op) {
    case 0: return wsss_add(ctx, in[0], in[1]);
    case 1: return wsss_sub(ctx, in[0], in[1]);
    case 2: return wsss_mul(ctx, in[0], in[1]);
    default: return wsss_div(ctx, in[0], in[1]);
    }
}
static const char *const k_bin[] = {"add", "sub", "mul", "div"};

static wsss_tensor *run_unary(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    const ew_arg *a = arg;
    switch (a->op) {
    case 0: return wsss_neg(ctx, in[0]);
    case 1: return wsss_exp(ctx, in[0]);
    case 2: return wsss_log(ctx, in[0]);
    case 3: return wsss_pow_scalar(ctx, in[0], a->p0);
    case 4: return wsss_abs(ctx, in[0]);
    case 5: return wsss_clamp(ctx, in[0], a->p0, a->p1);
    case 6: return wsss_add_scalar(ctx, in[0], a->p0);
    case 7: return wsss_mul_scalar(ctx, in[0], a->p0);
    default: return wsss_rsub_scalar(ctx, in[0], a->p0);
    }
}

/* Naive broadcast evaluation (the oracle for the fast paths): out and both input gradients of
 * sum(out * w), computed element by element with multi-indices. */
static double bin_f(int op, double x, double y) {
    return op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y;
}
static void naive_binary(int op, const wsss_tensor *a, const wsss_tensor *b, const wsss_tensor *w,
                         wsss_tensor *out, wsss_tensor *ga, wsss_tensor *gb) {
    int nd = out->ndim;
    int64_t n = wsss_tensor_numel(out);
    wsss_tensor_fill(ga, 0);
    wsss_tensor_fill(gb, 0);
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[WSSS_MAX_DIMS], r = i, ia = 0, ib = 0, ma = 1, mb = 1;
        for (int d = nd - 1; d >= 0; d--) {
            idx[d] = r % out->shape[d];
            r /= out->shape[d];
        }
        for (int d = nd - 1; d >= 0; d--) {
            int da = d - (nd - a->ndim), db = d - (nd - b->ndim);
            if (da >= 0) {
                ia += (a->shape[da] == 1 ? 0 : idx[d]) * ma;
                ma *= a->shape[da];
            }
            if (db >= 0) {
                ib += (b->shape[db] == 1 ? 0 : idx[d]) * mb;
                mb *= b->shape[db];
            }
        }
        double x = wsss_tensor_get(a, ia), y = wsss_tensor_get(b, ib), g = wsss_tensor_get(w, i);
        wsss_tensor_set(out, i, bin_f(op, x, y));
        double dx = op == 2 ? y : op == 3 ? 1 / y : 1;
        double dy = op == 0 ? 1 : op == 1 ? -1 : op == 2 ? x : -x / (y * y);
        wsss_tensor_set(ga, ia, wsss_tensor_get(ga, ia) + g * dx);
        wsss_tensor_set(gb, ib, wsss_tensor_get(gb, ib) + g * dy);
    }
}

/* run_binary(in) and its input gradients (upstream w: uniform in [-1, 1) from seed, in[0]'s dtype)
 * against naive_binary: the output within atol = rtol = tol_out, grad a within tol_a, grad b within
 * atol_b / rtol_b; reported as "<what> out", "<what> grad a", "<what> grad b". */
static void check_vs_naive(const char *what, wsss_tensor **in, const ew_arg *arg, unsigned long long seed,
                           double tol_out, double tol_a, double atol_b, double rtol_b) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *out = run_binary(ctx, in, arg);
    wsss_tensor *w = rand_tensor(in[0]->dtype, out->ndim, out->shape, -1, 1, seed);
    wsss_tensor *no = wsss_tensor_new(WSSS_F64, out->ndim, out->shape);
    wsss_tensor *ga = wsss_tensor_new(WSSS_F64, in[0]->ndim, in[0]->shape);
    wsss_tensor *gb = wsss_tensor_new(WSSS_F64, in[1]->ndim, in[1]->shape);
    naive_binary(arg->op, in[0], in[1], w, no, ga, gb);
    wsss_backward_with(ctx, out, w);
    char name[160];
    snprintf(name, sizeof name, "%s out", what);
    check_close(name, out, no, tol_out, tol_out);
    snprintf(name, sizeof name, "%s grad a", what);
    check_close(name, in[0]->grad, ga, tol_a, tol_a);
    snprintf(name, sizeof name, "%s grad b", what);
    check_close(name, in[1]->grad, gb, atol_b, rtol_b);
    wsss_ctx_free(ctx);
    wsss_tensor_free(w);
    wsss_tensor_free(no);
    wsss_tensor_free(ga);
    wsss_tensor_free(gb);
}

typedef struct { int na, nb; int64_t sa[5], sb[5]; } shape_pair;

static const shape_pair k_pairs[] = {
    {3, 3, {2, 3, 4}, {2, 3, 4}},          /* same shape */
    {3, 1, {2, 3, 4}, {4}},                /* b broadcast over leading dims */
    {1, 3, {4}, {2, 3, 4}},                /* a broadcast over leading dims */
    {3, 2, {2, 3, 4}, {3, 1}},             /* b broadcast inside */
    {3, 3, {1, 3, 1}, {2, 1, 4}},          /* both broadcast */
    {0, 2, {0}, {2, 3}},                   /* 0-dim a */
    {2, 0, {2, 3}, {0}},                   /* 0-dim b */
    {5, 3, {2, 1, 3, 1, 2}, {3, 4, 1}},    /* 5-D, both broadcast */
    {2, 2, {5, 1}, {1, 5}},                /* outer product */
    {3, 3, {2, 3, 4}, {1, 1, 1}},          /* scalar-like */
    {4, 4, {2, 3, 1, 1}, {1, 3, 4, 5}},    /* channel-wise, as a per-channel scale */
};

static void test_binary_fd(void) {
    for (size_t k = 0; k < sizeof k_pairs / sizeof k_pairs[0]; k++) {
        const shape_pair *p = &k_pairs[k];
        for (int op = 0; op < 4; op++) {
            ew_arg arg = {op, 0, 0};
            wsss_tensor *in[2];
            in[0] = rand_leaf(p->na, p->sa, -1.5, 1.5, 100 + k);
            in[1] = rand_leaf(p->nb, p->sb, 0.5, 1.5, 200 + k); /* away from 0 for div */
            char what[96];
            snprintf(what, sizeof what, "%s pair %zu", k_bin[op], k);
            gradcheck(what, run_binary, 2, in, &arg, 1e-8, 1e-6);
            f32_vs_f64(what, run_binary, 2, in, &arg, 1e-5, 1e-5);
            /* naive oracle for forward and gradients */
            snprintf(what, sizeof what, "%s pair %zu naive", k_bin[op], k);
            check_vs_naive(what, in, &arg, 5, 1e-14, 1e-12, 1e-12, 1e-12);
            wsss_tensor_free(in[0]);
            wsss_tensor_free(in[1]);
        }
    }
}

/* Views (transposed, strided, reversed) give the same values and gradients as contiguous data,
 * and their gradients are finite-difference correct. */
static void test_binary_views(void) {
    const int64_t sa[3] = {2, 3, 4}, sb[2] = {3, 4};
    for (int kind = 0; kind < 3; kind++) {
        for (int op = 0; op < 4; op++) {
            ew_arg arg = {op, 0, 0};
            wsss_tensor *c[2] = {rand_leaf(3, sa, -1, 1, 11), rand_leaf(2, sb, 0.5, 1.5, 12)};
            wsss_tensor *v[2] = {noncontig_copy(c[0], kind), noncontig_copy(c[1], kind)};
            v[0]->requires_grad = v[1]->requires_grad = 1;
            CHECK(!wsss_tensor_is_contiguous(v[0]) && !wsss_tensor_is_contiguous(v[1]), "views");
            /* separate contexts: a second backward in one context would rerun the first graph */
            wsss_ctx *ctx = wsss_ctx_new(), *ctx2 = wsss_ctx_new();
            wsss_tensor *oc = run_binary(ctx, c, &arg), *ov = run_binary(ctx2, v, &arg);
            wsss_tensor *w = rand_tensor(WSSS_F64, oc->ndim, oc->shape, -1, 1, 3);
            wsss_backward_with(ctx, oc, w);
            wsss_backward_with(ctx2, ov, w);
            char what[96];
            snprintf(what, sizeof what, "%s view kind %d out", k_bin[op], kind);
            check_close(what, ov, oc, 0, 0);
            snprintf(what, sizeof what, "%s view kind %d grads", k_bin[op], kind);
            check_close(what, v[0]->grad, c[0]->grad, 0, 0);
            check_close(what, v[1]->grad, c[1]->grad, 0, 0);
            wsss_ctx_free(ctx);
            wsss_ctx_free(ctx2);
            snprintf(what, sizeof what, "%s view kind %d", k_bin[op], kind);
            gradcheck(what, run_binary, 2, v, &arg, 1e-8, 1e-6);
            /* one operand a view, the other broadcast along the view's transposed dims */
            wsss_tensor *mix[2] = {v[0], c[1]};
            gradcheck(what, run_binary, 2, mix, &arg, 1e-8, 1e-6);
            wsss_tensor_free(w);
            for (int i = 0; i < 2; i++) {
                wsss_tensor_free(c[i]);
                wsss_tensor_free(v[i]);
            }
        }
    }
}

/* Big enough for the threaded paths (> 32768 elements), including gradients summed over
 * broadcast dims where the threads split a kept dim. */
static void test_binary_large(void) {
    const int64_t sa[4] = {3, 16, 40, 30}, sbs[4][4] = {{3, 16, 40, 30}, {1, 16, 1, 1}, {30}, {3, 1, 40, 1}};
    const int nbs[4] = {4, 4, 1, 4};
    for (int k = 0; k < 4; k++) {
        for (int op = 0; op < 4; op++) {
            ew_arg arg = {op, 0, 0};
            for (int dt = 0; dt < 2; dt++) {
                wsss_tensor *in[2] = {rand_leaf(4, sa, -1, 1, 21), rand_leaf(nbs[k], sbs[k], 0.5, 1.5, 22)};
                if (dt == 0)
                    for (int i = 0; i < 2; i++) {
                        wsss_tensor *t = wsss_tensor_to_dtype(in[i], WSSS_F32);
                        t->requires_grad = 1;
                        wsss_tensor_free(in[i]);
                        in[i] = t;
                    }
                double tol = dt == 0 ? 1e-5 : 1e-12;
                char what[96];
                snprintf(what, sizeof what, "large %s case %d %s", k_bin[op], k, dt ? "F64" : "F32");
                check_vs_naive(what, in, &arg, 23, tol, tol, dt == 0 ? 1e-3 : 1e-10, tol); /* b: long f32 sums */
                wsss_tensor_free(in[0]);
                wsss_tensor_free(in[1]);
            }
        }
    }
}

static void test_unary_fd(void) {
    struct { ew_arg a; double lo, hi; const char *name; } cases[] = {
        {{0, 0, 0}, -2, 2, "neg"},
        {{1, 0, 0}, -2, 2, "exp"},
        {{2, 0, 0}, 0.3, 3, "log"},
        {{3, 2, 0}, -2, 2, "pow 2"},
        {{3, 3, 0}, -2, 2, "pow 3"},
        {{3, 1, 0}, -2, 2, "pow 1"},
        {{3, 0.5, 0}, 0.3, 3, "pow 0.5"},
        {{3, -1.5, 0}, 0.3, 3, "pow -1.5"},
        {{3, 2.5, 0}, 0.3, 3, "pow 2.5"},
        {{4, 0, 0}, 0.1, 2, "abs +"},
        {{4, 0, 0}, -2, -0.1, "abs -"},
        {{5, -0.5, 0.5}, -1, 1, "clamp"},
        {{5, -INFINITY, 0.25}, -1, 1, "clamp max only"},
        {{5, -0.25, INFINITY}, -1, 1, "clamp min only"},
        {{6, 1.75, 0}, -2, 2, "add_scalar"},
        {{7, -2.5, 0}, -2, 2, "mul_scalar"},
        {{8, 0.5, 0}, -2, 2, "rsub_scalar"},
    };
    const int64_t s[3] = {2, 3, 5};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        wsss_tensor *x = rand_leaf(3, s, cases[k].lo, cases[k].hi, 300 + k);
        if (cases[k].a.op == 5) /* keep clamp inputs away from the kinks */
            for (int64_t i = 0; i < wsss_tensor_numel(x); i++) {
                double v = wsss_tensor_get(x, i);
                if (fabs(v - cases[k].a.p0) < 1e-3 || fabs(v - cases[k].a.p1) < 1e-3) wsss_tensor_set(x, i, v + 0.01);
            }
        gradcheck(cases[k].name, run_unary, 1, &x, &cases[k].a, 1e-8, 1e-6);
        f32_vs_f64(cases[k].name, run_unary, 1, &x, &cases[k].a, 1e-5, 1e-5);
        for (int kind = 0; kind < 3; kind++) {
            wsss_tensor *v = noncontig_copy(x, kind);
            v->requires_grad = 1;
            char what[96];
            snprintf(what, sizeof what, "%s view %d", cases[k].name, kind);
            gradcheck(what, run_unary, 1, &v, &cases[k].a, 1e-8, 1e-6);
            wsss_tensor_free(v);
        }
        wsss_tensor_free(x);
    }
    /* the large path */
    const int64_t big[2] = {300, 130};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        wsss_tensor *x = rand_leaf(2, big, cases[k].lo, cases[k].hi, 400 + k);
        char what[96];
        snprintf(what, sizeof what, "large %s", cases[k].name);
        f32_vs_f64(what, run_unary, 1, &x, &cases[k].a, 1e-5, 1e-5);
        wsss_tensor_free(x);
    }
}

/* grad of the op at the given points, upstream gradient 1 */
static void grad_at(int op, double p0, double p1, int n, const double *xs, double *g, double *y) {
    int64_t s[1] = {n};
    wsss_tensor *x = wsss_tensor_from_data(WSSS_F64, 1, s, xs);
    x->requires_grad = 1;
    wsss_ctx *ctx = wsss_ctx_new();
    ew_arg a = {op, p0, p1};
    wsss_tensor *out = run_unary(ctx, &x, &a);
    wsss_tensor *w = wsss_ctx_tensor(ctx, WSSS_F64, 1, s);
    wsss_tensor_fill(w, 1);
    wsss_backward_with(ctx, out, w);
    for (int i = 0; i < n; i++) {
        g[i] = wsss_tensor_get(x->grad, i);
        if (y) y[i] = wsss_tensor_get(out, i);
    }
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* Values torch 1.13 gives (checked with /usr/bin/python3): x = [0, 0, -1, 2]
 * pow 0 -> [0,0,0,0]; pow 1 -> [1,1,1,1]; pow 2 -> [0,0,-2,4]; pow 3 -> [0,0,3,12];
 * abs -> [0,0,-1,1]; clamp(0, 2) -> [1,1,0,1]; clamp(min=0) -> [1,1,0,1]. */
static void test_kinks(void) {
    const double x[4] = {0, 0, -1, 2};
    double g[4], y[4];
    const struct { int op; double p0, p1; double want[4]; const char *name; } cases[] = {
        {3, 0, 0, {0, 0, 0, 0}, "pow 0"},
        {3, 1, 0, {1, 1, 1, 1}, "pow 1"},
        {3, 2, 0, {0, 0, -2, 4}, "pow 2"},
        {3, 3, 0, {0, 0, 3, 12}, "pow 3"},
        {4, 0, 0, {0, 0, -1, 1}, "abs"},
        {5, 0, 2, {1, 1, 0, 1}, "clamp [0,2]"},
        {5, 0, INFINITY, {1, 1, 0, 1}, "clamp min 0"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        grad_at(cases[k].op, cases[k].p0, cases[k].p1, 4, x, g, y);
        int ok = 1;
        for (int i = 0; i < 4; i++) ok &= g[i] == cases[k].want[i];
        CHECK(ok, "%s grad at kinks: got [%g %g %g %g]", cases[k].name, g[0], g[1], g[2], g[3]);
    }
    /* pow 0.5 at 0 is +inf in torch; pow with p = 0 gives 1 everywhere (0^0 = 1) */
    grad_at(3, 0.5, 0, 1, x, g, y);
    CHECK(isinf(g[0]) && g[0] > 0 && y[0] == 0, "pow 0.5 at 0: grad %g", g[0]);
    grad_at(3, 0, 0, 4, x, g, y);
    CHECK(y[0] == 1 && y[2] == 1 && y[3] == 1, "pow 0 values");
    /* clamp forward with NaN keeps NaN */
    double xn[3] = {NAN, -5, 5};
    grad_at(5, -1, 1, 3, xn, g, y);
    CHECK(isnan(y[0]) && y[1] == -1 && y[2] == 1, "clamp values %g %g %g", y[0], y[1], y[2]);
}

/* An operand used twice and operands without requires_grad. */
static void test_grad_flags(void) {
    const int64_t s[2] = {3, 4};
    wsss_tensor *x = rand_leaf(2, s, -1, 1, 51);
    wsss_tensor *c = rand_tensor(WSSS_F64, 2, s, -1, 1, 52); /* constant */
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *sq = wsss_mul(ctx, x, x);
    wsss_tensor *w = wsss_ctx_tensor(ctx, WSSS_F64, 2, s);
    wsss_tensor_fill(w, 1);
    wsss_backward_with(ctx, sq, w);
    int ok = 1;
    for (int i = 0; i < 12; i++) ok &= fabs(wsss_tensor_get(x->grad, i) - 2 * wsss_tensor_get(x, i)) < 1e-15;
    CHECK(ok, "d(x*x)/dx = 2x");
    wsss_ctx_reset(ctx);
    wsss_tensor_free(x->grad);
    x->grad = NULL;
    wsss_tensor *p = wsss_mul(ctx, x, c);
    CHECK(p->grad_fn != NULL, "recorded when one input requires grad");
    wsss_tensor *q = wsss_mul(ctx, c, c);
    CHECK(q->grad_fn == NULL && !q->requires_grad, "constants record nothing");
    w = wsss_ctx_tensor(ctx, WSSS_F64, 2, s);
    wsss_tensor_fill(w, 1);
    wsss_backward_with(ctx, p, w);
    CHECK(c->grad == NULL, "constant got a gradient");
    check_close("d(x*c)/dx = c", x->grad, c, 0, 0);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_tensor_free(c);
}

int main(void) {
    test_binary_fd();
    test_binary_views();
    test_binary_large();
    test_unary_fd();
    test_kinks();
    test_grad_flags();
    gc_report("test_elementwise");
    return test_summary("test_elementwise");
}
