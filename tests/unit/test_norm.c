/* Batch norm: oneDNN vs reference in every mode (outputs, all gradients, running statistics),
 * running-statistic updates by hand, eval/frozen semantics, double-precision finite differences
 * of the reference kernels through the op. */
#include <string.h>

#include "gradcheck.h"
#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

static const char *const k_mode[3] = {"train", "eval", "frozen"};

typedef struct bn_case {
    wsss_tensor *x, *w, *b, *rm, *rv; /* persistent; w/b may be NULL */
} bn_case;

typedef struct bn_result {
    wsss_tensor *y, *dx, *dw, *db, *rm, *rv; /* persistent copies; grads NULL if none */
} bn_result;

static wsss_tensor *clone_or_null(const wsss_tensor *t) { return t ? wsss_tensor_clone(t) : NULL; }

static void result_free(bn_result *r) {
    FREE_TENSORS(r->y, r->dx, r->dw, r->db, r->rm, r->rv);
}

/* One forward + backward with upstream gradient g on copies of the case tensors. */
static bn_result run(const bn_case *c, wsss_bn_mode mode, const wsss_tensor *g) {
    wsss_tensor *x = wsss_tensor_clone(c->x), *w = clone_or_null(c->w), *b = clone_or_null(c->b);
    wsss_tensor *rm = wsss_tensor_clone(c->rm), *rv = wsss_tensor_clone(c->rv);
    x->requires_grad = 1;
    if (w) w->requires_grad = 1;
    if (b) b->requires_grad = 1;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = wsss_batchnorm2d(ctx, x, w, b, rm, rv, mode, 0.1, 1e-5);
    CHECK(wsss_backward_with(ctx, y, g) == WSSS_OK, "backward: %s", wsss_error_msg());
    bn_result r = {wsss_tensor_clone(y), clone_or_null(x->grad), w ? clone_or_null(w->grad) : NULL,
                   b ? clone_or_null(b->grad) : NULL, rm, rv};
    wsss_ctx_free(ctx);
    FREE_TENSORS(x, w, b);
    return r;
}

static bn_case make_case(wsss_dtype dt, const int64_t s[4], int affine, unsigned long long seed) {
    bn_case c;
    int64_t cs[1] = {s[1]};
    c.x = rand_tensor(dt, 4, s, -2, 3, seed);
    c.w = affine ? rand_tensor(dt, 1, cs, 0.5, 1.5, seed + 1) : NULL;
    c.b = affine ? rand_tensor(dt, 1, cs, -0.5, 0.5, seed + 2) : NULL;
    c.rm = rand_tensor(dt, 1, cs, -0.3, 0.3, seed + 3);
    c.rv = rand_tensor(dt, 1, cs, 0.5, 2.0, seed + 4);
    return c;
}

static void case_free(bn_case *c) {
    FREE_TENSORS(c->x, c->w, c->b, c->rm, c->rv);
}

static double cmp(const char *what, const wsss_tensor *got, const wsss_tensor *want, double atol,
                  double rtol) {
    if (!got || !want) {
        CHECK((got == NULL) == (want == NULL), "%s: gradient presence differs", what);
        return 0;
    }
    return check_close(what, got, want, atol, rtol);
}

static void test_dnnl_vs_ref(void) {
    const int64_t shapes[][4] = {{1, 1, 5, 7}, {3, 5, 7, 9}, {3, 5, 1, 1}, {1, 5, 11, 13},
                                 {2, 3, 33, 17}};
    double maxe[3] = {0, 0, 0};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int affine = 0; affine <= 1; affine++)
            for (int mode = 0; mode < 3; mode++) {
                bn_case c = make_case(WSSS_F32, shapes[s], affine, 10 * s + affine);
                wsss_tensor *g = rand_tensor(WSSS_F32, 4, shapes[s], -1, 1, 500 + s);
                wsss_set_backend(WSSS_BACKEND_REF);
                bn_result r = run(&c, mode, g);
                wsss_set_backend(WSSS_BACKEND_DNNL);
                bn_result d = run(&c, mode, g);
                char what[128];
                const char *pre = k_mode[mode];
                double e = 0, t;
#define CMP(field, name)                                                                       \
    snprintf(what, sizeof what, "%s shape#%zu affine%d %s", pre, s, affine, name);             \
    t = cmp(what, d.field, r.field, 2e-5, 2e-5);                                               \
    if (t > e) e = t;
                CMP(y, "y");
                CMP(dx, "dx");
                CMP(dw, "dweight");
                CMP(db, "dbias");
                CMP(rm, "running_mean");
                CMP(rv, "running_var");
#undef CMP
                if (e > maxe[mode]) maxe[mode] = e;
                result_free(&r);
                result_free(&d);
                wsss_tensor_free(g);
                case_free(&c);
            }
    printf("  oneDNN vs ref max abs err: train %.2e, eval %.2e, frozen %.2e\n", maxe[0], maxe[1],
           maxe[2]);
}

/* Running statistics by hand: one channel, values 1,2,3,4 (mean 2.5, biased var 1.25, unbiased
 * 5/3); running 0.5 / 2.0, momentum 0.1 -> 0.9*0.5 + 0.1*2.5 = 0.7, 0.9*2 + 0.1*5/3. Output
 * uses the biased variance: (1 - 2.5)/sqrt(1.25 + 1e-5). */
static void test_running_stats(void) {
    for (int b = 0; b < 2; b++) {
        wsss_set_backend(b ? WSSS_BACKEND_DNNL : WSSS_BACKEND_REF);
        int64_t s[4] = {2, 1, 1, 2}, cs[1] = {1};
        float xv[4] = {1, 2, 3, 4};
        wsss_tensor *x = wsss_tensor_from_data(WSSS_F32, 4, s, xv);
        wsss_tensor *rm = wsss_tensor_new(WSSS_F32, 1, cs), *rv = wsss_tensor_new(WSSS_F32, 1, cs);
        wsss_tensor_fill(rm, 0.5);
        wsss_tensor_fill(rv, 2.0);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = wsss_batchnorm2d(ctx, x, NULL, NULL, rm, rv, WSSS_BN_TRAIN, 0.1, 1e-5);
        CHECK(fabs(wsss_tensor_get(rm, 0) - 0.7) < 1e-6, "running_mean %.8g (backend %d)",
              wsss_tensor_get(rm, 0), b);
        CHECK(fabs(wsss_tensor_get(rv, 0) - (1.8 + 0.5 / 3)) < 1e-6, "running_var %.8g (backend %d)",
              wsss_tensor_get(rv, 0), b);
        CHECK(fabs(wsss_tensor_get(y, 0) + 1.5 / sqrt(1.25 + 1e-5)) < 1e-6, "train output %.8g",
              wsss_tensor_get(y, 0));
        /* a second step moves them again from the new values */
        wsss_batchnorm2d(ctx, x, NULL, NULL, rm, rv, WSSS_BN_TRAIN, 0.5, 1e-5);
        CHECK(fabs(wsss_tensor_get(rm, 0) - (0.5 * 0.7 + 0.5 * 2.5)) < 1e-6, "second update %.8g",
              wsss_tensor_get(rm, 0));
        /* eval and frozen leave them alone and normalise with them */
        float rm0 = wsss_f32(rm)[0], rv0 = wsss_f32(rv)[0];
        for (int m = WSSS_BN_EVAL; m <= WSSS_BN_FROZEN; m++) {
            y = wsss_batchnorm2d(ctx, x, NULL, NULL, rm, rv, m, 0.1, 1e-5);
            CHECK(wsss_f32(rm)[0] == rm0 && wsss_f32(rv)[0] == rv0, "%s changed running stats",
                  k_mode[m]);
            double want = (4 - (double)rm0) / sqrt((double)rv0 + 1e-5);
            CHECK(fabs(wsss_tensor_get(y, 3) - want) < 1e-5, "%s output %.8g vs %.8g", k_mode[m],
                  wsss_tensor_get(y, 3), want);
        }
        /* train without running statistics (track_running_stats=False) */
        y = wsss_batchnorm2d(ctx, x, NULL, NULL, NULL, NULL, WSSS_BN_TRAIN, 0.1, 1e-5);
        CHECK(fabs(wsss_tensor_get(y, 3) - 1.5 / sqrt(1.25 + 1e-5)) < 1e-6, "untracked train output");
        wsss_ctx_free(ctx);
        FREE_TENSORS(x, rm, rv);
    }
}

/* Frozen: no weight/bias gradients even though they require grad; dx equals eval's. */
static void test_frozen(void) {
    for (int b = 0; b < 2; b++) {
        wsss_set_backend(b ? WSSS_BACKEND_DNNL : WSSS_BACKEND_REF);
        int64_t s[4] = {3, 5, 4, 3};
        bn_case c = make_case(WSSS_F32, s, 1, 99);
        wsss_tensor *g = rand_tensor(WSSS_F32, 4, s, -1, 1, 98);
        bn_result e = run(&c, WSSS_BN_EVAL, g), f = run(&c, WSSS_BN_FROZEN, g);
        CHECK(f.dw == NULL && f.db == NULL, "frozen mode produced weight/bias gradients");
        CHECK(e.dw != NULL && e.db != NULL, "eval mode must produce weight/bias gradients");
        check_close("frozen dx == eval dx", f.dx, e.dx, 1e-6, 1e-6); /* other oneDNN pass */
        check_close("frozen y == eval y", f.y, e.y, 0, 0);
        /* eval: dx = g * w / sqrt(rv + eps) by hand */
        wsss_tensor *want = wsss_tensor_new(WSSS_F32, 4, s);
        for (int64_t i = 0; i < wsss_tensor_numel(want); i++) {
            int64_t ch = (i / 12) % 5;
            wsss_tensor_set(want, i, wsss_tensor_get(g, i) * wsss_tensor_get(c.w, ch) /
                                         sqrt(wsss_tensor_get(c.rv, ch) + 1e-5));
        }
        check_close("eval dx by hand", e.dx, want, 1e-6, 1e-5);
        wsss_tensor_free(want);
        result_free(&e);
        result_free(&f);
        wsss_tensor_free(g);
        case_free(&c);
    }
}

typedef struct bn_fd_arg {
    wsss_tensor *rm, *rv;
    int mode;
} bn_fd_arg;

static wsss_tensor *bn_fn(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    const bn_fd_arg *a = arg;
    return wsss_batchnorm2d(ctx, in[0], in[1], in[2], a->rm, a->rv, a->mode, 0.1, 1e-5);
}

/* Finite differences of L = sum(g * bn(x, w, b)) w.r.t. every element of x, w and b (F64). In
 * train mode the running statistics are left out, so repeated forwards see the same function. */
static void test_finite_differences(void) {
    wsss_set_backend(WSSS_BACKEND_REF);
    int64_t s[4] = {2, 3, 3, 2};
    for (int mode = 0; mode < 3; mode++)
        for (int affine = 0; affine <= 1; affine++) {
            bn_case c = make_case(WSSS_F64, s, affine, 700 + mode * 2 + affine);
            wsss_tensor *g = rand_tensor(WSSS_F64, 4, s, -1, 1, 800 + mode);
            wsss_tensor *rm = mode == WSSS_BN_TRAIN ? NULL : c.rm, *rv = mode == WSSS_BN_TRAIN ? NULL : c.rv;
            wsss_tensor *ins[3] = {c.x, c.w, c.b};
            for (int i = 0; i < 3; i++)
                if (ins[i]) ins[i]->requires_grad = 1;
            wsss_ctx *ctx = wsss_ctx_new();
            wsss_tensor *y = wsss_batchnorm2d(ctx, c.x, c.w, c.b, rm, rv, mode, 0.1, 1e-5);
            wsss_backward_with(ctx, y, g);
            const bn_fd_arg arg = {rm, rv, mode};
            double maxerr = 0;
            for (int i = 0; i < 3; i++) {
                if (!ins[i]) continue;
                int expect_grad = !(mode == WSSS_BN_FROZEN && i > 0);
                CHECK((ins[i]->grad != NULL) == expect_grad, "%s input %d gradient presence",
                      k_mode[mode], i);
                if (!ins[i]->grad) continue;
                wsss_tensor *fd = gc_numeric(bn_fn, ins, &arg, g, i, 1e-6);
                char what[96];
                snprintf(what, sizeof what, "%s affine%d fd d%s", k_mode[mode], affine,
                         i == 0 ? "x" : i == 1 ? "weight" : "bias");
                double e = check_close(what, ins[i]->grad, fd, 1e-8, 1e-6);
                if (e > maxerr) maxerr = e;
                wsss_tensor_free(fd);
            }
            printf("  %-6s affine%d fd max abs err %.2e\n", k_mode[mode], affine, maxerr);
            wsss_ctx_free(ctx);
            wsss_tensor_free(g);
            case_free(&c);
        }
}

/* A channel-sliced (non-contiguous) input: same result as its contiguous copy. */
static void test_view(void) {
    wsss_set_backend(WSSS_BACKEND_DNNL);
    int64_t s[4] = {2, 4, 3, 3};
    wsss_tensor *base = rand_tensor(WSSS_F32, 4, s, -1, 1, 5);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *v = wsss_ctx_adopt(ctx, wsss_tensor_header_like(base));
    v->shape[1] = 2;
    v->data = (float *)base->data + 9; /* channels 1..2 */
    wsss_tensor *vc = wsss_tensor_clone(v);
    wsss_tensor *y1 = wsss_batchnorm2d(ctx, v, NULL, NULL, NULL, NULL, WSSS_BN_TRAIN, 0.1, 1e-5);
    wsss_tensor *y2 = wsss_batchnorm2d(ctx, vc, NULL, NULL, NULL, NULL, WSSS_BN_TRAIN, 0.1, 1e-5);
    check_close("bn of a channel slice", y1, y2, 0, 0);
    wsss_ctx_free(ctx);
    wsss_tensor_free(vc);
    wsss_tensor_free(base);
}

/* dx of batch statistics with the affine parameters constant (requires_grad 0: a network that
 * is not trained this step, EADER's adversary in a localizer step, still passes gradients): oneDNN,
 * plain and blocked, fused with ReLU or not, against the reference. oneDNN computes dx from the
 * scale and shift gradients it writes, which once shared one scratch buffer here. */
static void test_constant_affine_train(void) {
    const int64_t s[4] = {3, 5, 7, 6};
    bn_case c = make_case(WSSS_F32, s, 1, 77);
    wsss_tensor *g = rand_tensor(WSSS_F32, 4, s, -1, 1, 78);
    for (int relu = 0; relu <= 1; relu++)
        for (int blocked = 0; blocked <= 1; blocked++) {
            wsss_tensor *dx[2];
            for (int dnnl = 0; dnnl <= 1; dnnl++) {
                wsss_set_backend(dnnl ? WSSS_BACKEND_DNNL : WSSS_BACKEND_REF);
                wsss_tensor *x = wsss_tensor_clone(c.x), *rm = wsss_tensor_clone(c.rm), *rv = wsss_tensor_clone(c.rv);
                x->requires_grad = 1; /* c.w and c.b: requires_grad 0 */
                wsss_ctx *ctx = wsss_ctx_new();
                wsss_ctx_set_blocked(ctx, blocked);
                wsss_tensor *y = relu ? wsss_batchnorm2d_relu(ctx, x, c.w, c.b, rm, rv, WSSS_BN_TRAIN, 0.1, 1e-5)
                                      : wsss_batchnorm2d(ctx, x, c.w, c.b, rm, rv, WSSS_BN_TRAIN, 0.1, 1e-5);
                CHECK(wsss_backward_with(ctx, y, g) == WSSS_OK, "backward: %s", wsss_error_msg());
                CHECK(!c.w->grad && !c.b->grad, "constant affine parameters got a gradient");
                dx[dnnl] = clone_or_null(x->grad);
                wsss_ctx_free(ctx);
                FREE_TENSORS(x, rm, rv);
            }
            char what[96];
            snprintf(what, sizeof what, "train, constant affine, relu %d, blocked %d: dx", relu, blocked);
            cmp(what, dx[1], dx[0], 2e-5, 2e-5);
            FREE_TENSORS(dx[0], dx[1]);
        }
    wsss_tensor_free(g);
    case_free(&c);
}

int main(void) {
    wsss_runtime_init();
    test_dnnl_vs_ref();
    test_constant_affine_train();
    test_running_stats();
    test_frozen();
    test_finite_differences();
    test_view();
    wsss_set_backend(WSSS_BACKEND_DNNL);
    return test_summary("test_norm");
}
