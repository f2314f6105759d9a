/* softmax / log_softmax along every dim: finite differences, F32 vs F64, views, large inputs on
 * both kernel layouts (rows and strided blocks) against a naive double loop, stability for huge
 * logits, and hand-computed values. */
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "wsss/ops.h"

typedef struct { int is_log, dim; } sm_arg;

static wsss_tensor *run_sm(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    const sm_arg *a = arg;
    return a->is_log ? wsss_log_softmax(ctx, in[0], a->dim) : wsss_softmax(ctx, in[0], a->dim);
}

/* naive (log-)softmax in double along dim d of a tensor */
static wsss_tensor *naive_sm(const wsss_tensor *x, int d, int is_log) {
    wsss_tensor *y = wsss_tensor_new(WSSS_F64, x->ndim, x->shape);
    int64_t outer = 1, inner = 1, D = x->shape[d];
    for (int k = 0; k < d; k++) outer *= x->shape[k];
    for (int k = d + 1; k < x->ndim; k++) inner *= x->shape[k];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double m = -INFINITY, s = 0;
            for (int64_t k = 0; k < D; k++) m = fmax(m, wsss_tensor_get(x, (o * D + k) * inner + i));
            for (int64_t k = 0; k < D; k++) s += exp(wsss_tensor_get(x, (o * D + k) * inner + i) - m);
            for (int64_t k = 0; k < D; k++) {
                int64_t j = (o * D + k) * inner + i;
                double v = wsss_tensor_get(x, j) - m;
                wsss_tensor_set(y, j, is_log ? v - log(s) : exp(v) / s);
            }
        }
    return y;
}

static void test_fd(void) {
    const int64_t s[3] = {2, 3, 4};
    wsss_tensor *x = rand_leaf(3, s, -3, 3, 1);
    for (int is_log = 0; is_log < 2; is_log++)
        for (int dim = -1; dim < 3; dim++) {
            sm_arg a = {is_log, dim};
            char what[64];
            snprintf(what, sizeof what, "%s dim %d", is_log ? "log_softmax" : "softmax", dim);
            gradcheck(what, run_sm, 1, &x, &a, 1e-8, 1e-6);
            f32_vs_f64(what, run_sm, 1, &x, &a, 1e-6, 1e-5);
            wsss_ctx *ctx = wsss_ctx_new();
            wsss_tensor *y = run_sm(ctx, &x, &a);
            wsss_tensor *want = naive_sm(x, dim < 0 ? dim + 3 : dim, is_log);
            check_close(what, y, want, 1e-15, 1e-14);
            for (int kind = 0; kind < 3; kind++) {
                wsss_tensor *v = noncontig_copy(x, kind);
                v->requires_grad = 1;
                wsss_tensor *yv = run_sm(ctx, &v, &a);
                check_close(what, yv, want, 1e-15, 1e-14);
                gradcheck(what, run_sm, 1, &v, &a, 1e-8, 1e-6);
                wsss_tensor_free(v);
            }
            wsss_tensor_free(want);
            wsss_ctx_free(ctx);
        }
    wsss_tensor_free(x);
}

/* > 32768 elements; inner sizes 1 (rows) and 150 (blocks of 64 with a remainder). */
static void test_large(void) {
    const int64_t s[3] = {3, 21, 150};
    wsss_tensor *x = rand_leaf(3, s, -5, 5, 2);
    for (int is_log = 0; is_log < 2; is_log++)
        for (int dim = 0; dim < 3; dim++) {
            sm_arg a = {is_log, dim};
            char what[64];
            snprintf(what, sizeof what, "large %s dim %d", is_log ? "log_softmax" : "softmax", dim);
            f32_vs_f64(what, run_sm, 1, &x, &a, 1e-6, 1e-5);
            wsss_ctx *ctx = wsss_ctx_new();
            wsss_tensor *y = run_sm(ctx, &x, &a);
            wsss_tensor *want = naive_sm(x, dim, is_log);
            check_close(what, y, want, 1e-15, 1e-13);
            wsss_tensor_free(want);
            wsss_ctx_free(ctx);
        }
    wsss_tensor_free(x);
}

static void test_values(void) {
    /* softmax([0, ln 3]) = [1/4, 3/4]; huge logits do not overflow: softmax([1000, 1001]) =
     * [1, e] / (1 + e) */
    const int64_t s[2] = {2, 2};
    const float xv[4] = {0, (float)log(3.0), 1000, 1001};
    const double p1 = 1 / (1 + exp(1.0));
    wsss_tensor *x = wsss_tensor_from_data(WSSS_F32, 2, s, xv);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = wsss_softmax(ctx, x, 1), *ly = wsss_log_softmax(ctx, x, -1);
    for (int r = 0; r < 2; r++) {
        double p = r ? p1 : 0.25;
        CHECK(fabs(wsss_tensor_get(y, 2 * r) - p) < 1e-6 && fabs(wsss_tensor_get(y, 2 * r + 1) - (1 - p)) < 1e-6,
              "softmax row %d: %g %g", r, wsss_tensor_get(y, 2 * r), wsss_tensor_get(y, 2 * r + 1));
        CHECK(fabs(wsss_tensor_get(ly, 2 * r) - log(p)) < 1e-5 && fabs(wsss_tensor_get(ly, 2 * r + 1) - log(1 - p)) < 1e-5,
              "log_softmax row %d", r);
    }
    /* gradient of a softmax output summed is 0 (the outputs sum to 1) */
    x->requires_grad = 1;
    wsss_tensor *z = wsss_softmax(ctx, x, 1);
    wsss_tensor *g = wsss_ctx_tensor(ctx, WSSS_F32, 2, s);
    wsss_tensor_fill(g, 1);
    wsss_backward_with(ctx, z, g);
    double m = 0;
    for (int i = 0; i < 4; i++) m = fmax(m, fabs(wsss_tensor_get(x->grad, i)));
    CHECK(m < 1e-7, "d sum(softmax)/dx = 0, got %g", m);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

int main(void) {
    test_fd();
    test_large();
    test_values();
    gc_report("test_softmax");
    return test_summary("test_softmax");
}
