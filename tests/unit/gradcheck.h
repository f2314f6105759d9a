/* Finite-difference gradient checks shared by the op unit tests (elementwise, reduce, softmax, loss,
 * autograd graph, shape, resize, dropout, activation, pool, norm): the checked scalar is
 * L = sum(op(inputs) * w) for a fixed random w, so the analytic gradient comes from
 * wsss_backward_with(ctx, y, w) and the numeric one from central differences in double precision
 * (F64 inputs). Also F32-vs-F64 agreement, non-contiguous views of test data and index helpers.
 * Header-only, static inline. */
#ifndef WSSS_TEST_GRADCHECK_H
#define WSSS_TEST_GRADCHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "wsss/ops.h"

#define GC_MAX_IN 4

/* Largest errors seen, printed by gc_report: finite differences (abs error relative to
 * max(1, |numeric|)) and F32 vs F64 (abs error relative to max(1, |F64 value|)). */
static double g_gc_fd_err, g_gc_f32_err;

static inline void gc_track(double *m, const wsss_tensor *got, const wsss_tensor *want) {
    if (!wsss_tensor_same_shape(got, want)) return;
    for (int64_t i = 0; i < wsss_tensor_numel(want); i++) {
        double w = wsss_tensor_get(want, i), e = fabs(wsss_tensor_get(got, i) - w) / fmax(1.0, fabs(w));
        if (e > *m) *m = e;
    }
}

static inline void gc_report(const char *name) {
    printf("%s: max finite-difference error %.2e, max F32-vs-F64 error %.2e\n", name, g_gc_fd_err, g_gc_f32_err);
}

/* An op under test: builds its output from the inputs (arg carries op parameters). */
typedef wsss_tensor *(*gc_fn)(wsss_ctx *ctx, wsss_tensor **in, const void *arg);

static inline void gc_clear_grads(int n, wsss_tensor **in) {
    for (int i = 0; i < n; i++)
        if (in[i]->grad) {
            wsss_tensor_free(in[i]->grad);
            in[i]->grad = NULL;
        }
}

/* sum(out * w) of one forward pass without recording. */
static inline double gc_weighted_out(gc_fn f, wsss_tensor **in, const void *arg, const wsss_tensor *w) {
    wsss_ctx *ctx = test_ctx_no_grad();
    wsss_tensor *out = f(ctx, in, arg);
    double s = 0;
    int64_t n = wsss_tensor_numel(out);
    for (int64_t i = 0; i < n; i++) s += wsss_tensor_get(out, i) * wsss_tensor_get(w, i);
    wsss_ctx_free(ctx);
    return s;
}

/* Central differences (step eps) of sum(f(in) * w) w.r.t. every element of in[i]: a new F64 tensor
 * of in[i]'s shape. in[i] is changed during the call and restored. */
static inline wsss_tensor *gc_numeric(gc_fn f, wsss_tensor **in, const void *arg, const wsss_tensor *w, int i,
                                      double eps) {
    wsss_tensor *x = in[i], *num = wsss_tensor_new(WSSS_F64, x->ndim, x->shape);
    const int64_t cnt = wsss_tensor_numel(x);
    for (int64_t j = 0; j < cnt; j++) {
        double v = wsss_tensor_get(x, j);
        wsss_tensor_set(x, j, v + eps);
        double lp = gc_weighted_out(f, in, arg, w);
        wsss_tensor_set(x, j, v - eps);
        double lm = gc_weighted_out(f, in, arg, w);
        wsss_tensor_set(x, j, v);
        wsss_tensor_set(num, j, (lp - lm) / (2 * eps));
    }
    return num;
}

/* Analytic gradients (backward with a random upstream gradient w) of every input that requires
 * grad, compared with central differences of sum(out * w). Inputs are F64 persistent tensors or
 * views. |analytic - numeric| <= atol + rtol * |numeric| per element. Returns the max abs error. */
static inline double gradcheck(const char *what, gc_fn f, int n, wsss_tensor **in, const void *arg,
                        double atol, double rtol) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *out = f(ctx, in, arg);
    wsss_tensor *w = rand_tensor(WSSS_F64, out->ndim, out->shape, -1, 1, 0x5eed + (unsigned)n);
    gc_clear_grads(n, in);
    int rc = wsss_backward_with(ctx, out, w);
    CHECK(rc == WSSS_OK, "%s: backward failed: %s", what, wsss_error_msg());
    wsss_tensor *ana[GC_MAX_IN] = {0};
    for (int i = 0; i < n; i++) {
        if (!in[i]->requires_grad) continue;
        ana[i] = in[i]->grad ? wsss_tensor_clone(in[i]->grad) : wsss_tensor_new(WSSS_F64, in[i]->ndim, in[i]->shape);
    }
    wsss_ctx_free(ctx);
    gc_clear_grads(n, in);
    double maxerr = 0;
    const double eps = 1e-6;
    for (int i = 0; i < n; i++) {
        if (!ana[i]) continue;
        wsss_tensor *num = gc_numeric(f, in, arg, w, i, eps);
        char name[160];
        snprintf(name, sizeof name, "%s: d/d input %d", what, i);
        double e = check_close(name, ana[i], num, atol, rtol);
        gc_track(&g_gc_fd_err, ana[i], num);
        if (e > maxerr) maxerr = e;
        wsss_tensor_free(num);
        wsss_tensor_free(ana[i]);
    }
    wsss_tensor_free(w);
    return maxerr;
}

/* The same op in F32 and in F64 (inputs converted, same upstream gradient): outputs and input
 * gradients agree within atol + rtol * |F64 value|. Inputs are F64. */
static inline void f32_vs_f64(const char *what, gc_fn f, int n, wsss_tensor **in64, const void *arg,
                       double atol, double rtol) {
    wsss_tensor *in32[GC_MAX_IN];
    for (int i = 0; i < n; i++) {
        in32[i] = wsss_tensor_to_dtype(in64[i], WSSS_F32);
        in32[i]->requires_grad = in64[i]->requires_grad;
    }
    gc_clear_grads(n, in64);
    wsss_ctx *c64 = wsss_ctx_new(), *c32 = wsss_ctx_new();
    wsss_tensor *o64 = f(c64, in64, arg), *o32 = f(c32, in32, arg);
    wsss_tensor *w64 = rand_tensor(WSSS_F64, o64->ndim, o64->shape, -1, 1, 77);
    wsss_tensor *w32 = wsss_tensor_to_dtype(w64, WSSS_F32);
    CHECK(o32->dtype == WSSS_F32 && o64->dtype == WSSS_F64, "%s: output dtype", what);
    char name[160];
    snprintf(name, sizeof name, "%s: F32 vs F64 output", what);
    check_close(name, o32, o64, atol, rtol);
    gc_track(&g_gc_f32_err, o32, o64);
    CHECK(wsss_backward_with(c64, o64, w64) == WSSS_OK, "%s: backward f64", what);
    CHECK(wsss_backward_with(c32, o32, w32) == WSSS_OK, "%s: backward f32", what);
    for (int i = 0; i < n; i++) {
        if (!in64[i]->requires_grad) continue;
        snprintf(name, sizeof name, "%s: F32 vs F64 grad %d", what, i);
        if (in64[i]->grad && in32[i]->grad) {
            check_close(name, in32[i]->grad, in64[i]->grad, atol, rtol);
            gc_track(&g_gc_f32_err, in32[i]->grad, in64[i]->grad);
        } else {
            CHECK(0, "%s: missing gradient", name);
        }
    }
    wsss_ctx_free(c64);
    wsss_ctx_free(c32);
    gc_clear_grads(n, in64);
    for (int i = 0; i < n; i++) wsss_tensor_free(in32[i]);
    wsss_tensor_free(w64);
    wsss_tensor_free(w32);
}

/* A non-contiguous persistent view holding t's values. kind 0: the last two dims stored
 * transposed (ndim >= 2); kind 1: every other element of a twice-as-long last dim; kind 2: the
 * last dim stored reversed (negative stride). Frees with wsss_tensor_free. */
static inline wsss_tensor *noncontig_copy(const wsss_tensor *t, int kind) {
    int nd = t->ndim;
    int64_t bs[WSSS_MAX_DIMS];
    memcpy(bs, t->shape, sizeof bs);
    if (kind == 0) {
        bs[nd - 1] = t->shape[nd - 2];
        bs[nd - 2] = t->shape[nd - 1];
    } else if (kind == 1) {
        bs[nd - 1] *= 2;
    }
    wsss_tensor *base = wsss_tensor_new(t->dtype, nd, bs);
    wsss_tensor *v = wsss_tensor_header_like(base);
    memcpy(v->shape, t->shape, sizeof v->shape);
    if (kind == 0) {
        v->stride[nd - 1] = base->stride[nd - 2];
        v->stride[nd - 2] = base->stride[nd - 1];
    } else if (kind == 1) {
        v->stride[nd - 1] = 2;
    } else {
        v->stride[nd - 1] = -1;
        v->data = (char *)base->data + (size_t)(t->shape[nd - 1] - 1) * wsss_dtype_size(t->dtype);
    }
    wsss_tensor_free(base); /* the view keeps the buffer alive */
    wsss_tensor_copy_into(v, t);
    return v;
}

static inline wsss_tensor *rand_leaf(int ndim, const int64_t *shape, double lo, double hi, unsigned long long seed) {
    wsss_tensor *t = rand_tensor(WSSS_F64, ndim, shape, lo, hi, seed);
    t->requires_grad = 1;
    return t;
}

/* The shape/resize/dropout tests' variant: w drawn with the given seed, step 1e-5, tolerance 1e-7 abs +
 * 1e-6 rel; every input that requires grad must get a contiguous gradient of its shape (CHECKed);
 * gradients are zero-filled before and after. xs: persistent F64 tensors. Returns the max abs error
 * between analytic and numeric gradients (and counts one CHECK per input). */
static inline double gradcheck_seeded(const char *what, gc_fn f, const void *arg, int n, wsss_tensor **xs,
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
        wsss_tensor *num = gc_numeric(f, xs, arg, w, i, 1e-5);
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

/* gradcheck_seeded named by a printf-style case label ("flip dim %d", d). */
static inline double gradcheck_case(gc_fn f, const void *arg, int n, wsss_tensor **xs, unsigned long long seed,
                                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static inline double gradcheck_case(gc_fn f, const void *arg, int n, wsss_tensor **xs, unsigned long long seed,
                                    const char *fmt, ...) {
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return gradcheck_seeded(name, f, arg, n, xs, seed);
}

/* Row-major flat index of a multi-index into shape, and back. */
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

#endif
