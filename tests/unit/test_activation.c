/* Activations: oneDNN vs reference (forward and gradient), PyTorch's derivative at the kinks,
 * double-precision finite-difference gradients of the reference kernels, views, no-grad mode. */
#include <string.h>

#include "gradcheck.h"
#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

typedef enum { A_RELU, A_LEAKY, A_ELU, A_ELU_NEG, A_SIGMOID, A_TANH, A_COUNT } act_id;
static const char *const k_names[A_COUNT] = {"relu", "leaky_relu", "elu", "elu(alpha<0)", "sigmoid",
                                             "tanh"};

static wsss_tensor *apply(wsss_ctx *ctx, act_id a, wsss_tensor *x) {
    switch (a) {
    case A_RELU: return wsss_relu(ctx, x);
    case A_LEAKY: return wsss_leaky_relu(ctx, x, 0.2);
    case A_ELU: return wsss_elu(ctx, x, 1.3);
    case A_ELU_NEG: return wsss_elu(ctx, x, -0.5);
    case A_SIGMOID: return wsss_sigmoid(ctx, x);
    case A_TANH: return wsss_tanh(ctx, x);
    default: return NULL;
    }
}

/* Forward output and input gradient (given upstream g) on the current backend; persistent. */
static void run(act_id a, const wsss_tensor *x0, const wsss_tensor *g, wsss_tensor **y_out,
                wsss_tensor **dx_out) {
    wsss_tensor *x = wsss_tensor_clone(x0);
    x->requires_grad = 1;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = apply(ctx, a, x);
    CHECK(wsss_backward_with(ctx, y, g) == WSSS_OK, "%s backward: %s", k_names[a], wsss_error_msg());
    *y_out = wsss_tensor_clone(y);
    *dx_out = wsss_tensor_clone(x->grad);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

static void test_dnnl_vs_ref(void) {
    const int64_t shapes[][4] = {{1, 1, 1, 1}, {1, 5, 7, 9}, {3, 5, 9, 7}, {3, 1, 33, 31}};
    for (int a = 0; a < A_COUNT; a++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            wsss_tensor *x = rand_tensor(WSSS_F32, 4, shapes[s], -4, 4, 100 + s);
            wsss_tensor *g = rand_tensor(WSSS_F32, 4, shapes[s], -1, 1, 200 + s);
            wsss_tensor *yr, *dr, *yd, *dd;
            wsss_set_backend(WSSS_BACKEND_REF);
            run(a, x, g, &yr, &dr);
            wsss_set_backend(WSSS_BACKEND_DNNL);
            run(a, x, g, &yd, &dd);
            char what[96];
            snprintf(what, sizeof what, "%s fwd shape#%zu", k_names[a], s);
            check_close(what, yd, yr, 1e-6, 1e-5);
            snprintf(what, sizeof what, "%s grad shape#%zu", k_names[a], s);
            check_close(what, dd, dr, 1e-6, 1e-5);
            FREE_TENSORS(x, g, yr, dr, yd, dd);
        }
}

/* PyTorch: relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha; values by hand. */
static void test_kinks(void) {
    int64_t s[1] = {3};
    float xv[3] = {0.f, 2.f, -1.f};
    wsss_tensor *x = wsss_tensor_from_data(WSSS_F32, 1, s, xv);
    wsss_tensor *g = wsss_tensor_new(WSSS_F32, 1, s);
    wsss_tensor_fill(g, 1.0);
    for (int b = 0; b < 2; b++) {
        wsss_set_backend(b ? WSSS_BACKEND_DNNL : WSSS_BACKEND_REF);
        const act_id ids[3] = {A_RELU, A_LEAKY, A_ELU};
        const double want0[3] = {0.0, 0.2, 1.3};
        const double wantneg[3] = {0.0, 0.2, 1.3 * exp(-1.0)};
        for (int i = 0; i < 3; i++) {
            wsss_tensor *y, *dx;
            run(ids[i], x, g, &y, &dx);
            CHECK(fabs(wsss_tensor_get(dx, 0) - want0[i]) < 1e-6, "%s'(0) = %g, want %g (backend %d)",
                  k_names[ids[i]], wsss_tensor_get(dx, 0), want0[i], b);
            CHECK(wsss_tensor_get(dx, 1) == 1.0, "%s'(2) = %g", k_names[ids[i]], wsss_tensor_get(dx, 1));
            CHECK(fabs(wsss_tensor_get(dx, 2) - wantneg[i]) < 1e-6, "%s'(-1) = %g, want %g",
                  k_names[ids[i]], wsss_tensor_get(dx, 2), wantneg[i]);
            CHECK(wsss_tensor_get(y, 0) == 0.0, "%s(0) = %g", k_names[ids[i]], wsss_tensor_get(y, 0));
            wsss_tensor_free(y);
            wsss_tensor_free(dx);
        }
    }
    wsss_tensor_free(x);
    wsss_tensor_free(g);
}

/* Hand-computed forward values. */
static void test_values(void) {
    int64_t s[1] = {2};
    double xv[2] = {-2.0, 0.5};
    wsss_tensor *x = wsss_tensor_from_data(WSSS_F64, 1, s, xv);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y;
    y = wsss_sigmoid(ctx, x);
    CHECK(fabs(wsss_tensor_get(y, 0) - 1 / (1 + exp(2.0))) < 1e-15, "sigmoid(-2)");
    y = wsss_tanh(ctx, x);
    CHECK(fabs(wsss_tensor_get(y, 1) - tanh(0.5)) < 1e-15, "tanh(0.5)");
    y = wsss_elu(ctx, x, 1.3);
    CHECK(fabs(wsss_tensor_get(y, 0) - 1.3 * (exp(-2.0) - 1)) < 1e-15, "elu(-2)");
    y = wsss_leaky_relu(ctx, x, 0.1);
    CHECK(fabs(wsss_tensor_get(y, 0) + 0.2) < 1e-15 && wsss_tensor_get(y, 1) == 0.5, "leaky_relu");
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

static wsss_tensor *act_fn(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    return apply(ctx, *(const act_id *)arg, in[0]);
}

/* d/dx sum(g * f(x)) by central differences in double precision, vs autograd. */
static void test_finite_differences(void) {
    wsss_set_backend(WSSS_BACKEND_REF);
    int64_t s[4] = {2, 3, 2, 3};
    for (int a = 0; a < A_COUNT; a++) {
        wsss_tensor *x = rand_tensor(WSSS_F64, 4, s, -3, 3, 300 + a);
        /* keep clear of the kinks so the central difference is valid */
        for (int64_t i = 0; i < wsss_tensor_numel(x); i++) {
            double v = wsss_tensor_get(x, i);
            if (fabs(v) < 0.05) wsss_tensor_set(x, i, v < 0 ? -0.3 : 0.3);
        }
        wsss_tensor *g = rand_tensor(WSSS_F64, 4, s, -1, 1, 400 + a);
        wsss_tensor *y, *dx;
        run(a, x, g, &y, &dx);
        const act_id id = (act_id)a;
        wsss_tensor *fd = gc_numeric(act_fn, &x, &id, g, 0, 1e-6);
        char what[64];
        snprintf(what, sizeof what, "%s finite differences", k_names[a]);
        double e = check_close(what, dx, fd, 1e-8, 1e-6);
        printf("  %-14s fd max abs err %.2e\n", k_names[a], e);
        FREE_TENSORS(x, g, y, dx, fd);
    }
}

/* A transposed (non-contiguous) input gives the same values and a gradient of the view's shape. */
static void test_view_and_nograd(void) {
    for (int b = 0; b < 2; b++) {
        wsss_set_backend(b ? WSSS_BACKEND_DNNL : WSSS_BACKEND_REF);
        int64_t s[2] = {3, 4};
        wsss_tensor *base = rand_tensor(WSSS_F32, 2, s, -2, 2, 7);
        base->requires_grad = 1;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *v = wsss_ctx_adopt(ctx, wsss_tensor_header_like(base));
        v->shape[0] = 4; v->shape[1] = 3; v->stride[0] = 1; v->stride[1] = 4;
        v->requires_grad = 1;
        wsss_tensor *y = wsss_tanh(ctx, v);
        int ok = 1;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++)
                ok &= fabs(wsss_tensor_get(y, i * 3 + j) - tanh(wsss_tensor_get(base, j * 4 + i))) < 1e-6;
        CHECK(ok, "tanh of a transposed view");
        wsss_tensor *g = wsss_ctx_tensor_like(ctx, y);
        wsss_tensor_fill(g, 1.0);
        wsss_backward_with(ctx, y, g);
        CHECK(v->grad && wsss_tensor_same_shape(v->grad, v), "view gradient has the view's shape");
        if (v->grad) {
            double yv = wsss_tensor_get(y, 5), want = 1 - yv * yv;
            CHECK(fabs(wsss_tensor_get(v->grad, 5) - want) < 1e-6, "view grad value");
        }
        wsss_ctx_set_grad_enabled(ctx, 0);
        wsss_tensor *z = wsss_relu(ctx, base);
        CHECK(z->grad_fn == NULL && !z->requires_grad, "no node is recorded with grad mode off");
        wsss_ctx_free(ctx);
        wsss_tensor_free(base);
    }
}

int main(void) {
    wsss_runtime_init();
    test_dnnl_vs_ref();
    test_kinks();
    test_values();
    test_finite_differences();
    test_view_and_nograd();
    wsss_set_backend(WSSS_BACKEND_DNNL);
    return test_summary("test_activation");
}
