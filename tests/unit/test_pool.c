/* Pooling: oneDNN vs reference on a grid (odd sizes, stride 1/2, padding, ceil_mode,
 * count_include_pad, batch 1/3, channels 1/5), hand-checked output sizes, divisors and arg-max
 * tie rule, double-precision finite differences of the reference kernels. */
#include <string.h>

#include "gradcheck.h"
#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

enum { P_MAX, P_AVG, P_GLOBAL };

static wsss_tensor *apply(wsss_ctx *ctx, int kind, wsss_tensor *x, wsss_pool2d_params p) {
    if (kind == P_MAX) return wsss_maxpool2d(ctx, x, p);
    if (kind == P_AVG) return wsss_avgpool2d(ctx, x, p);
    return wsss_global_avgpool(ctx, x);
}

/* Forward and input gradient for upstream gradient values from seed (persistent results). */
static void run(int kind, const wsss_tensor *x0, wsss_pool2d_params p, unsigned long long seed,
                wsss_tensor **y_out, wsss_tensor **dx_out) {
    wsss_tensor *x = wsss_tensor_clone(x0);
    x->requires_grad = 1;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = apply(ctx, kind, x, p);
    wsss_tensor *g = rand_tensor(y->dtype, y->ndim, y->shape, -1, 1, seed);
    CHECK(wsss_backward_with(ctx, y, g) == WSSS_OK, "backward: %s", wsss_error_msg());
    *y_out = wsss_tensor_clone(y);
    *dx_out = wsss_tensor_clone(x->grad);
    wsss_tensor_free(g);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

static wsss_pool2d_params params(int k, int s, int pad, int ceil, int cip) {
    wsss_pool2d_params p;
    memset(&p, 0, sizeof p);
    p.kernel[0] = p.kernel[1] = k;
    p.stride[0] = p.stride[1] = s;
    p.padding[0] = p.padding[1] = pad;
    p.ceil_mode = ceil;
    p.count_include_pad = cip;
    return p;
}

static void test_grid(void) {
    const int64_t nc[][2] = {{1, 1}, {3, 5}};
    const int64_t hw[][2] = {{7, 9}, {6, 5}, {8, 11}};
    const int ks[][2] = {{2, 2}, {3, 2}, {3, 1}, {2, 0}}; /* kernel, stride (0 = kernel) */
    int configs = 0;
    double max_err[2] = {0, 0};
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 3; b++)
            for (size_t c = 0; c < 4; c++)
                for (int pad = 0; pad <= 1; pad++)
                    for (int ceil = 0; ceil <= 1; ceil++)
                        for (int kind = P_MAX; kind <= P_AVG; kind++)
                            for (int cip = 0; cip <= (kind == P_AVG); cip++) {
                                int64_t s[4] = {nc[a][0], nc[a][1], hw[b][0], hw[b][1]};
                                wsss_pool2d_params p = params(ks[c][0], ks[c][1], pad, ceil, cip);
                                unsigned long long seed = 1000 + configs;
                                wsss_tensor *x = rand_tensor(WSSS_F32, 4, s, -3, 3, seed);
                                wsss_tensor *yr, *dr, *yd, *dd;
                                wsss_set_backend(WSSS_BACKEND_REF);
                                run(kind, x, p, seed + 7, &yr, &dr);
                                wsss_set_backend(WSSS_BACKEND_DNNL);
                                run(kind, x, p, seed + 7, &yd, &dd);
                                char what[160];
                                snprintf(what, sizeof what,
                                         "%s n%lld c%lld %lldx%lld k%d s%d p%d ceil%d cip%d",
                                         kind == P_MAX ? "max" : "avg", (long long)s[0],
                                         (long long)s[1], (long long)s[2], (long long)s[3],
                                         ks[c][0], ks[c][1], pad, ceil, cip);
                                double e1 = check_close(what, yd, yr, 1e-6, 1e-5);
                                strcat(what, " grad");
                                double e2 = check_close(what, dd, dr, 1e-6, 1e-5);
                                if (e1 > max_err[kind]) max_err[kind] = e1;
                                if (e2 > max_err[kind]) max_err[kind] = e2;
                                FREE_TENSORS(x, yr, dr, yd, dd);
                                configs++;
                            }
    printf("  grid: %d configs, oneDNN vs ref max abs err: max %.2e, avg %.2e\n", configs,
           max_err[0], max_err[1]);
}

/* PyTorch's output-size rule, by hand (sizes confirmed with torch 1.13 max_pool2d). */
static void test_out_size(void) {
    int64_t s[4] = {1, 1, 6, 5};
    wsss_tensor *x = wsss_tensor_new(WSSS_F64, 4, s);
    wsss_ctx *ctx = wsss_ctx_new();
    /* H=6,k=3,s=2,p=0: floor(3/2)+1 = 2, ceil: 3 (window 2 starts at row 4 < 6).
     * W=5: floor(2/2)+1 = 2 either way. */
    wsss_tensor *y = wsss_maxpool2d(ctx, x, params(3, 2, 0, 0, 1));
    CHECK(y->shape[2] == 2 && y->shape[3] == 2, "floor size %lldx%lld", (long long)y->shape[2],
          (long long)y->shape[3]);
    y = wsss_maxpool2d(ctx, x, params(3, 2, 0, 1, 1));
    CHECK(y->shape[2] == 3 && y->shape[3] == 2, "ceil size %lldx%lld", (long long)y->shape[2],
          (long long)y->shape[3]);
    /* k=2,s=2,p=1 ceil: H: ceil(6/2)+1 = 4 (window 3 starts at row 5 < 6); W: ceil(5/2)+1 = 4,
     * but window 3 would start at column 5 = W, inside the right padding: 3. */
    y = wsss_avgpool2d(ctx, x, params(2, 2, 1, 1, 1));
    CHECK(y->shape[2] == 4 && y->shape[3] == 3, "ceil+pad size %lldx%lld", (long long)y->shape[2],
          (long long)y->shape[3]);
    int64_t s2[4] = {1, 1, 4, 4};
    wsss_tensor *x2 = wsss_tensor_new(WSSS_F64, 4, s2);
    /* H=4,k=4,s=3,p=2 ceil: ceil(4/3)+1 = 3, window 2 would start at row 6-2 = 4 = H: 2 */
    y = wsss_maxpool2d(ctx, x2, params(4, 3, 2, 1, 1));
    CHECK(y->shape[2] == 2, "last window starting in the right padding must be dropped: %lld",
          (long long)y->shape[2]);
    /* H=4,k=2,s=3,p=1 ceil: ceil(4/3)+1 = 3, window 2 would start at row 5 > H: 2 */
    y = wsss_maxpool2d(ctx, x2, params(2, 3, 1, 1, 1));
    CHECK(y->shape[2] == 2, "last-window rule (k2 s3 p1): %lld", (long long)y->shape[2]);
    /* H=4,k=3,s=2,p=1 ceil: ceil(3/2)+1 = 3, window 2 starts at row 3 < 4: kept */
    y = wsss_maxpool2d(ctx, x2, params(3, 2, 1, 1, 1));
    CHECK(y->shape[2] == 3, "ceil kept window (k3 s2 p1): %lld", (long long)y->shape[2]);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_tensor_free(x2);
}

/* Divisors by hand on inputs of ones. 3x3, k=2, s=2, p=1: windows cover 1, 2 or 4 input pixels;
 * count_include_pad divides by 4 (every window fits in the padded 5x5), exclude_pad by the
 * pixel count. 4x4, k=3, s=2, p=1, ceil_mode: the last window [3,6) is clipped to the padded
 * input [-1,5), so its divisor has 2 rows/columns instead of 3 (oneDNN would use 3). */
static void test_divisors(void) {
    for (int b = 0; b < 2; b++) {
        wsss_set_backend(b ? WSSS_BACKEND_DNNL : WSSS_BACKEND_REF);
        wsss_ctx *ctx = wsss_ctx_new();
        int64_t s[4] = {1, 1, 3, 3};
        wsss_tensor *x = wsss_tensor_new(WSSS_F32, 4, s);
        wsss_tensor_fill(x, 1.0);
        wsss_tensor *y = wsss_avgpool2d(ctx, x, params(2, 2, 1, 0, 1));
        /* 2x2 outputs: windows rows [-1,1),[1,3) cols same: counts 1,2 / 2,4 */
        CHECK(fabs(wsss_tensor_get(y, 0) - 0.25) < 1e-7 && fabs(wsss_tensor_get(y, 3) - 1.0) < 1e-7,
              "count_include_pad divisors: %g %g", wsss_tensor_get(y, 0), wsss_tensor_get(y, 3));
        y = wsss_avgpool2d(ctx, x, params(2, 2, 1, 0, 0));
        CHECK(fabs(wsss_tensor_get(y, 0) - 1.0) < 1e-7 && fabs(wsss_tensor_get(y, 1) - 1.0) < 1e-7,
              "exclude-pad divisors: %g %g", wsss_tensor_get(y, 0), wsss_tensor_get(y, 1));
        int64_t s4[4] = {1, 1, 4, 4};
        wsss_tensor *x4 = wsss_tensor_new(WSSS_F32, 4, s4);
        wsss_tensor_fill(x4, 1.0);
        y = wsss_avgpool2d(ctx, x4, params(3, 2, 1, 1, 1));
        /* rows: windows [-1,2) sum over 2 real rows, divisor 3; [1,4): 3 real, 3; [3,6): 1 real
         * row, clipped to [3,5): divisor 2. Output (2,2) = (1*1)/(2*2) = 0.25; (0,0) = 4/9;
         * (2,1) = (1*3)/(2*3) = 0.5 */
        CHECK(y->shape[2] == 3, "ceil output size");
        CHECK(fabs(wsss_tensor_get(y, 8) - 0.25) < 1e-6, "ceil-clipped divisor (2,2): %g",
              wsss_tensor_get(y, 8));
        CHECK(fabs(wsss_tensor_get(y, 0) - 4.0 / 9) < 1e-6, "divisor (0,0): %g", wsss_tensor_get(y, 0));
        CHECK(fabs(wsss_tensor_get(y, 7) - 0.5) < 1e-6, "divisor (2,1): %g", wsss_tensor_get(y, 7));
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
        wsss_tensor_free(x4);
    }
}

/* Ties: PyTorch sends the gradient to the first maximum in row-major order of the window. */
static void test_ties(void) {
    wsss_set_backend(WSSS_BACKEND_REF);
    int64_t s[4] = {1, 1, 4, 4};
    for (int dt = 0; dt < 2; dt++) {
        wsss_tensor *x = wsss_tensor_new(dt ? WSSS_F64 : WSSS_F32, 4, s);
        wsss_tensor_fill(x, 2.0);
        wsss_tensor_set(x, 15, 1.0); /* bottom-right window has a smaller value, max still at 10 */
        wsss_tensor *y, *dx;
        run(P_MAX, x, params(2, 2, 0, 0, 1), 5, &y, &dx);
        int ok = 1;
        for (int64_t i = 0; i < 16; i++) {
            int first = (i / 4) % 2 == 0 && (i % 4) % 2 == 0; /* top-left of each 2x2 window */
            ok &= (wsss_tensor_get(dx, i) != 0) == first;
        }
        CHECK(ok, "tie gradient goes to the first maximum of each window (dtype %d)", dt);
        FREE_TENSORS(x, y, dx);
    }
}

typedef struct pool_case {
    int kind;
    wsss_pool2d_params p;
    const char *name;
} pool_case;

static wsss_tensor *pool_fn(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    const pool_case *pc = arg;
    return apply(ctx, pc->kind, in[0], pc->p);
}

static void test_finite_differences(void) {
    wsss_set_backend(WSSS_BACKEND_REF);
    pool_case cases[] = {
        {P_MAX, params(3, 2, 1, 1, 1), "max k3 s2 p1 ceil"},
        {P_MAX, params(2, 0, 0, 0, 1), "max k2"},
        {P_AVG, params(3, 2, 1, 1, 1), "avg k3 s2 p1 ceil include_pad"},
        {P_AVG, params(3, 2, 1, 1, 0), "avg k3 s2 p1 ceil exclude_pad"},
        {P_AVG, params(2, 1, 1, 0, 1), "avg k2 s1 p1"},
        {P_GLOBAL, params(1, 1, 0, 0, 1), "global avg"},
    };
    int64_t s[4] = {2, 2, 5, 6};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        /* distinct values well apart so that perturbations do not change an arg-max */
        wsss_tensor *x = wsss_tensor_new(WSSS_F64, 4, s);
        wsss_rng r;
        wsss_rng_seed(&r, 77 + c);
        int64_t n = wsss_tensor_numel(x), *perm = malloc((size_t)n * sizeof *perm);
        for (int64_t i = 0; i < n; i++) perm[i] = i;
        wsss_rng_shuffle_i64(&r, perm, n);
        for (int64_t i = 0; i < n; i++) wsss_tensor_set(x, i, 0.1 * (double)perm[i] - 3);
        free(perm);
        wsss_tensor *y, *dx;
        run(cases[c].kind, x, cases[c].p, 900 + c, &y, &dx);
        wsss_tensor *g = rand_tensor(WSSS_F64, 4, y->shape, -1, 1, 900 + c);
        wsss_tensor *fd = gc_numeric(pool_fn, &x, &cases[c], g, 0, 1e-5);
        double e = check_close(cases[c].name, dx, fd, 1e-8, 1e-6);
        printf("  %-32s fd max abs err %.2e\n", cases[c].name, e);
        FREE_TENSORS(x, g, y, dx, fd);
    }
}

static void test_global(void) {
    const int64_t shapes[][4] = {{1, 1, 1, 1}, {3, 5, 7, 9}, {1, 5, 13, 2}};
    for (size_t i = 0; i < 3; i++) {
        wsss_tensor *x = rand_tensor(WSSS_F32, 4, shapes[i], -2, 2, 50 + i);
        wsss_tensor *y, *dx;
        run(P_GLOBAL, x, params(1, 1, 0, 0, 1), 60 + i, &y, &dx);
        CHECK(y->shape[2] == 1 && y->shape[3] == 1 && y->shape[1] == shapes[i][1], "global shape");
        int64_t hw = shapes[i][2] * shapes[i][3];
        double s = 0;
        for (int64_t j = 0; j < hw; j++) s += wsss_tensor_get(x, j);
        CHECK(fabs(wsss_tensor_get(y, 0) - s / (double)hw) < 1e-6, "global mean %g vs %g",
              wsss_tensor_get(y, 0), s / (double)hw);
        FREE_TENSORS(x, y, dx);
    }
}

/* grad mode off: no workspace, no node; a second max pool with grad reuses cached primitives. */
static void test_nograd(void) {
    wsss_set_backend(WSSS_BACKEND_DNNL);
    int64_t s[4] = {1, 2, 9, 9};
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, s, -1, 1, 3);
    x->requires_grad = 1;
    wsss_ctx *ctx = test_ctx_no_grad();
    wsss_tensor *y0 = wsss_maxpool2d(ctx, x, params(3, 2, 1, 1, 1));
    CHECK(y0->grad_fn == NULL, "no node in no-grad mode");
    wsss_ctx_set_grad_enabled(ctx, 1);
    wsss_tensor *y1 = wsss_maxpool2d(ctx, x, params(3, 2, 1, 1, 1));
    check_close("inference vs training forward", y0, y1, 0, 0);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

int main(void) {
    wsss_runtime_init();
    test_grid();
    test_out_size();
    test_divisors();
    test_ties();
    test_finite_differences();
    test_global();
    test_nograd();
    wsss_set_backend(WSSS_BACKEND_DNNL);
    return test_summary("test_pool");
}
