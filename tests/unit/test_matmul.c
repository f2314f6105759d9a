/* matmul (2-D and batched, every transpose combination) and linear: oneDNN vs reference for the
 * output and both/all gradients, the reference against a naive loop, and double-precision
 * finite differences through the op API. */
#include <stdlib.h>
#include <string.h>

#include "backend/dnnl/dnnl_common.h"
#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

/* One op under test: matmul (a, b, flags) or linear (x=a, w=b, bias=c). */
typedef struct problem {
    int is_linear;
    int ta, tb;
    wsss_tensor *a, *b, *c, *r; /* F64 masters; r = upstream gradient */
} problem;

typedef struct result {
    wsss_tensor *y, *g[3];
} result;

static void free_result(result *r) {
    wsss_tensor_free(r->y);
    for (int i = 0; i < 3; i++) wsss_tensor_free(r->g[i]);
    memset(r, 0, sizeof *r);
}

static void free_problem(problem *p) {
    wsss_tensor_free(p->a);
    wsss_tensor_free(p->b);
    wsss_tensor_free(p->c);
    wsss_tensor_free(p->r);
}

static wsss_tensor *apply(wsss_ctx *ctx, const problem *p, wsss_tensor *a, wsss_tensor *b,
                          wsss_tensor *c) {
    return p->is_linear ? wsss_linear(ctx, a, b, c) : wsss_matmul(ctx, a, b, p->ta, p->tb);
}

static void run(const problem *p, wsss_backend be, wsss_dtype dt, result *out) {
    wsss_set_backend(be);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *a = grad_leaf(p->a, dt, 1), *b = grad_leaf(p->b, dt, 1), *c = grad_leaf(p->c, dt, 1);
    wsss_tensor *r = grad_leaf(p->r, dt, 0);
    wsss_tensor *y = apply(ctx, p, a, b, c);
    out->y = wsss_tensor_clone(y);
    CHECK(wsss_backward_with(ctx, y, r) == WSSS_OK, "backward: %s", wsss_error_msg());
    out->g[0] = take_grad(a);
    out->g[1] = take_grad(b);
    out->g[2] = take_grad(c);
    wsss_tensor_free(r);
    wsss_ctx_free(ctx);
    wsss_set_backend(WSSS_BACKEND_DNNL);
}

/* Stored element (i, j) of the operand's last two dims in batch bi, honouring a transpose. */
static double op_at(const wsss_tensor *t, int trans, int64_t bi, int64_t i, int64_t j) {
    int nd = t->ndim;
    int64_t R = t->shape[nd - 2], C = t->shape[nd - 1];
    int64_t r = trans ? j : i, c = trans ? i : j;
    return wsss_f64(t)[bi * R * C + r * C + c];
}

/* Naive triple loop in double (the oracle for the reference forward). */
static wsss_tensor *naive(const problem *p, const wsss_tensor *like) {
    wsss_tensor *y = wsss_tensor_new(WSSS_F64, like->ndim, like->shape);
    if (p->is_linear) {
        int64_t in = p->b->shape[1], out = p->b->shape[0], rows = wsss_tensor_numel(p->a) / in;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t o = 0; o < out; o++) {
                double s = p->c ? wsss_f64(p->c)[o] : 0;
                for (int64_t k = 0; k < in; k++)
                    s += wsss_f64(p->a)[i * in + k] * wsss_f64(p->b)[o * in + k];
                wsss_f64(y)[i * out + o] = s;
            }
        return y;
    }
    int nd = like->ndim;
    int64_t B = nd == 3 ? like->shape[0] : 1, M = like->shape[nd - 2], N = like->shape[nd - 1];
    int64_t K = p->a->shape[nd - 1 - p->ta];
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) s += op_at(p->a, p->ta, bi, i, k) * op_at(p->b, p->tb, bi, k, j);
                wsss_f64(y)[(bi * M + i) * N + j] = s;
            }
    return y;
}

/* loss = sum(op(a, b, c) * r) in double, no graph (for fd_check_sampled) */
static double loss_of(const void *arg) {
    const problem *p = arg;
    wsss_ctx *ctx = test_ctx_no_grad();
    wsss_tensor *y = apply(ctx, p, p->a, p->b, p->c);
    double s = 0;
    for (int64_t i = 0; i < wsss_tensor_numel(y); i++) s += wsss_f64(y)[i] * wsss_f64(p->r)[i];
    wsss_ctx_free(ctx);
    return s;
}

static double g_err[2][4]; /* [matmul, linear][y, g0, g1, g2] oneDNN vs reference */
static double g_fd_err;

static void check_problem(const problem *p, const char *desc) {
    char what[256];
    result r64, rf, dn;
    run(p, WSSS_BACKEND_REF, WSSS_F64, &r64);
    run(p, WSSS_BACKEND_REF, WSSS_F32, &rf);
    run(p, WSSS_BACKEND_DNNL, WSSS_F32, &dn);
    wsss_tensor *want = naive(p, r64.y);
    snprintf(what, sizeof what, "ref f64 vs naive loop, %s", desc);
    check_close_scaled(what, r64.y, want, 1e-13);
    wsss_tensor_free(want);
    const wsss_tensor *got[4] = {dn.y, dn.g[0], dn.g[1], dn.g[2]};
    const wsss_tensor *ref[4] = {rf.y, rf.g[0], rf.g[1], rf.g[2]};
    static const char *names[2][4] = {{"c", "da", "db", "-"}, {"y", "dx", "dw", "dbias"}};
    for (int k = 0; k < 4; k++) {
        if (!ref[k]) {
            CHECK(got[k] == NULL, "%s: unexpected gradient", desc);
            continue;
        }
        snprintf(what, sizeof what, "oneDNN vs ref %s, %s", names[p->is_linear][k], desc);
        double e = check_close_scaled(what, got[k], ref[k], 1e-5);
        if (e > g_err[p->is_linear][k]) g_err[p->is_linear][k] = e;
    }
    /* finite differences on the f64 reference path */
    problem q = *p;
    wsss_tensor *ts[3] = {q.a, q.b, q.c};
    for (int k = 0; k < 3; k++) {
        if (!ts[k]) continue;
        snprintf(what, sizeof what, "FD %s, %s", names[p->is_linear][k + 1], desc);
        double e = fd_check_sampled(what, loss_of, &q, ts[k], r64.g[k], 40);
        if (e > g_fd_err) g_fd_err = e;
    }
    free_result(&r64);
    free_result(&rf);
    free_result(&dn);
}

static void test_matmul_grid(void) {
    static const int64_t dims[][4] = {
        /* batch (0 = 2-D), m, k, n */
        {0, 5, 7, 3}, {0, 1, 9, 4}, {0, 13, 11, 6}, {0, 3, 1, 5}, {0, 17, 33, 19},
        {3, 5, 7, 3}, {1, 4, 6, 2}, {2, 9, 5, 11},
    };
    unsigned long long seed = 100;
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        for (int t = 0; t < 4; t++) {
            int64_t B = dims[d][0], M = dims[d][1], K = dims[d][2], N = dims[d][3];
            problem p = {0, t & 1, (t >> 1) & 1, NULL, NULL, NULL, NULL};
            int nd = B ? 3 : 2, o = nd - 2;
            int64_t as[3] = {B, 0, 0}, bs[3] = {B, 0, 0}, cs[3] = {B, M, N};
            as[o] = p.ta ? K : M;
            as[o + 1] = p.ta ? M : K;
            bs[o] = p.tb ? N : K;
            bs[o + 1] = p.tb ? K : N;
            if (!B) {
                cs[0] = M;
                cs[1] = N;
            }
            p.a = rand_tensor(WSSS_F64, nd, as, -1, 1, seed++);
            p.b = rand_tensor(WSSS_F64, nd, bs, -1, 1, seed++);
            p.r = rand_tensor(WSSS_F64, nd, cs, -1, 1, seed++);
            char desc[128];
            snprintf(desc, sizeof desc, "matmul %s b%lld m%lld k%lld n%lld ta%d tb%d",
                     B ? "3-D" : "2-D", (long long)B, (long long)M, (long long)K, (long long)N,
                     p.ta, p.tb);
            check_problem(&p, desc);
            free_problem(&p);
        }
    }
}

static void test_linear_grid(void) {
    static const int64_t dims[][5] = {
        /* leading dims (0 = absent), rows, in, out, bias */
        {0, 4, 7, 3, 1}, {0, 1, 9, 5, 1}, {0, 13, 11, 6, 0}, {0, 3, 64, 20, 1}, {2, 3, 5, 4, 1},
    };
    unsigned long long seed = 500;
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        int64_t lead = dims[d][0], rows = dims[d][1], in = dims[d][2], out = dims[d][3];
        problem p = {1, 0, 0, NULL, NULL, NULL, NULL};
        int64_t xs[3], ys[3], ws[2] = {out, in}, bs[1] = {out};
        int nd = lead ? 3 : 2;
        if (lead) {
            xs[0] = ys[0] = lead;
            xs[1] = ys[1] = rows;
            xs[2] = in;
            ys[2] = out;
        } else {
            xs[0] = ys[0] = rows;
            xs[1] = in;
            ys[1] = out;
        }
        p.a = rand_tensor(WSSS_F64, nd, xs, -1, 1, seed++);
        p.b = rand_tensor(WSSS_F64, 2, ws, -1, 1, seed++);
        p.c = dims[d][4] ? rand_tensor(WSSS_F64, 1, bs, -1, 1, seed++) : NULL;
        p.r = rand_tensor(WSSS_F64, nd, ys, -1, 1, seed++);
        char desc[128];
        snprintf(desc, sizeof desc, "linear lead%lld rows%lld in%lld out%lld%s", (long long)lead,
                 (long long)rows, (long long)in, (long long)out, dims[d][4] ? " bias" : "");
        check_problem(&p, desc);
        free_problem(&p);
    }
}

/* Only needed gradients; a transposed view as an operand equals the explicit transpose flag. */
static void test_selection_and_views(void) {
    int64_t as[2] = {4, 6}, bs[2] = {6, 5};
    wsss_tensor *a = rand_tensor(WSSS_F32, 2, as, -1, 1, 1), *b = rand_tensor(WSSS_F32, 2, bs, -1, 1, 2);
    b->requires_grad = 1;
    wsss_ctx *ctx = wsss_ctx_new();
    int64_t cs[2] = {4, 5};
    wsss_tensor *r = rand_tensor(WSSS_F32, 2, cs, -1, 1, 3);
    wsss_tensor *c = wsss_matmul(ctx, a, b, 0, 0);
    CHECK(wsss_backward_with(ctx, c, r) == WSSS_OK, "backward");
    CHECK(a->grad == NULL && b->grad != NULL, "only db expected");
    /* a^T stored as a (6,4) view with swapped strides == matmul(a_stored, b, trans_a=1) */
    wsss_tensor *at = wsss_tensor_header_like(a);
    at->shape[0] = 6;
    at->shape[1] = 4;
    at->stride[0] = 1;
    at->stride[1] = 6;
    wsss_tensor *c1 = wsss_matmul(ctx, at, a, 0, 0);   /* (6,4)x(4,6) */
    wsss_tensor *c2 = wsss_matmul(ctx, a, a, 1, 0);    /* same product via the flag */
    check_close_scaled("transposed view vs trans_a flag", c1, c2, 1e-6);
    wsss_ctx_set_grad_enabled(ctx, 0);
    c = wsss_matmul(ctx, a, b, 0, 0);
    CHECK(c->grad_fn == NULL, "no-grad mode must not record");
    wsss_ctx_free(ctx);
    wsss_tensor_destroy(at);
    wsss_tensor_free(a);
    wsss_tensor_free(b);
    wsss_tensor_free(r);
}

int main(void) {
    wsss_runtime_init();
    test_matmul_grid();
    test_linear_grid();
    test_selection_and_views();
    printf("oneDNN vs reference, max error / max|ref|: matmul c %.2e da %.2e db %.2e; "
           "linear y %.2e dx %.2e dw %.2e dbias %.2e\n",
           g_err[0][0], g_err[0][1], g_err[0][2], g_err[1][0], g_err[1][1], g_err[1][2], g_err[1][3]);
    printf("finite differences (f64 reference via the ops), max error / max|grad|: %.2e\n", g_fd_err);
    wsss_dnnl_cache_clear();
    return test_summary("test_matmul");
}
