/* Finite-difference gradient check shared by the shape/resize/dropout unit tests (header-only,
 * static functions). The checked scalar is L = sum(op(xs) * w) for a fixed random w, so the
 * analytic gradient comes from wsss_backward_with(ctx, y, w); the numeric one from central
 * differences in double precision (F64 inputs). */
#ifndef WSSS_TEST_GRADCHECK_SHAPE_H
#define WSSS_TEST_GRADCHECK_SHAPE_H

#include <string.h>

#include "test_util.h"
#include "wsss/autograd.h"

typedef wsss_tensor *(*gc_fn)(wsss_ctx *ctx, wsss_tensor **xs, const void *arg);

static inline double gc_loss(const wsss_tensor *y, const wsss_tensor *w) {
    double s = 0;
    const int64_t n = wsss_tensor_numel(y);
    for (int64_t i = 0; i < n; i++) s += wsss_tensor_get(y, i) * wsss_tensor_get(w, i);
    return s;
}

static inline double gc_eval(gc_fn f, const void *arg, wsss_tensor **xs, const wsss_tensor *w) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(ctx, 0);
    double l = gc_loss(f(ctx, xs, arg), w);
    wsss_ctx_free(ctx);
    return l;
}

/* xs: persistent F64 tensors; those with requires_grad are checked. Returns the max abs error
 * between analytic and numeric gradients (and counts one CHECK per input). */
static inline double gradcheck(const char *what, gc_fn f, const void *arg, int n, wsss_tensor **xs,
                        unsigned long long seed) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = f(ctx, xs, arg);
    wsss_tensor *w = rand_tensor(WSSS_F64, y->ndim, y->shape, -1, 1, seed);
    for (int i = 0; i < n; i++)
        if (xs[i]->grad) wsss_tensor_fill(xs[i]->grad, 0);
    CHECK(wsss_backward_with(ctx, y, w) == WSSS_OK, "%s: backward failed: %s", what, wsss_error_msg());
    double worst = 0;
    for (int i = 0; i < n; i++) {
        wsss_tensor *x = xs[i];
        if (!x->requires_grad) continue;
        CHECK(x->grad != NULL, "%s: input %d got no gradient", what, i);
        if (!x->grad) continue;
        CHECK(wsss_tensor_is_contiguous(x->grad) && wsss_tensor_same_shape(x->grad, x),
              "%s: gradient of input %d is not contiguous with the input's shape", what, i);
        wsss_tensor *num = wsss_tensor_new(WSSS_F64, x->ndim, x->shape);
        const double h = 1e-5;
        for (int64_t j = 0; j < wsss_tensor_numel(x); j++) {
            double v = wsss_tensor_get(x, j);
            wsss_tensor_set(x, j, v + h);
            double lp = gc_eval(f, arg, xs, w);
            wsss_tensor_set(x, j, v - h);
            double lm = gc_eval(f, arg, xs, w);
            wsss_tensor_set(x, j, v);
            wsss_tensor_set(num, j, (lp - lm) / (2 * h));
        }
        char name[160];
        snprintf(name, sizeof name, "%s: d/dx%d", what, i);
        double e = check_close(name, x->grad, num, 1e-7, 1e-6);
        if (e > worst) worst = e;
        wsss_tensor_free(num);
        wsss_tensor_fill(x->grad, 0);
    }
    wsss_tensor_free(w);
    wsss_ctx_free(ctx);
    return worst;
}

/* Row-major flat index of a multi-index into shape. */
static inline int64_t gc_flat(int ndim, const int64_t *shape, const int64_t *idx) {
    int64_t f = 0;
    for (int d = 0; d < ndim; d++) f = f * shape[d] + idx[d];
    return f;
}

static inline void gc_unflat(int ndim, const int64_t *shape, int64_t flat, int64_t *idx) {
    for (int d = ndim - 1; d >= 0; d--) {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
}

static inline wsss_tensor *gc_input(int ndim, const int64_t *shape, unsigned long long seed) {
    wsss_tensor *t = rand_tensor(WSSS_F64, ndim, shape, -2, 2, seed);
    t->requires_grad = 1;
    return t;
}

#endif
