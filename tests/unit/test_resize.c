/* Resizing: gradients against F64 finite differences, bilinear against the hand-derived image of
 * an affine ramp (bilinear interpolation reproduces affine functions, so the expected value is
 * the ramp evaluated at PyTorch's source coordinate), nearest against floor(dst * in / out),
 * table-driven F32 kernels against the plain ones, planes independent, bicubic forward-only. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/ref/resize.h"
#include "gradcheck.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

typedef struct size_case {
    int64_t ih, iw, oh, ow;
} size_case;

/* up and down, odd, 1x1 in and out, same size, exact factors, non-square */
static const size_case k_sizes[] = {
    {3, 4, 7, 9}, {5, 7, 3, 2},  {4, 4, 4, 4}, {1, 1, 3, 5}, {3, 5, 1, 1}, {2, 3, 6, 9},
    {6, 8, 3, 4}, {5, 3, 9, 10}, {7, 2, 2, 7}, {1, 4, 3, 1}, {4, 1, 4, 6},
};
#define N_SIZES (sizeof k_sizes / sizeof k_sizes[0])

typedef struct resize_arg {
    int mode; /* 0 bilinear, 1 nearest, 2 bicubic */
    int64_t oh, ow;
    int ac;
} resize_arg;

static wsss_tensor *do_resize(wsss_ctx *ctx, wsss_tensor *x, const resize_arg *a) {
    if (a->mode == 0) return wsss_resize_bilinear(ctx, x, a->oh, a->ow, a->ac);
    if (a->mode == 1) return wsss_resize_nearest(ctx, x, a->oh, a->ow);
    return wsss_resize_bicubic(ctx, x, a->oh, a->ow, a->ac);
}

static wsss_tensor *f_resize(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    return do_resize(ctx, xs[0], arg);
}

static void test_gradients(void) {
    for (size_t c = 0; c < N_SIZES; c++) {
        const size_case *s = &k_sizes[c];
        wsss_tensor *x = rand_leaf(4, (const int64_t[]){2, 2, s->ih, s->iw}, -2, 2, 200 + c);
        for (int mode = 0; mode < 2; mode++)
            for (int ac = 0; ac < 2 - mode; ac++) {
                resize_arg a = {mode, s->oh, s->ow, ac};
                char name[96];
                snprintf(name, sizeof name, "%s%s %lldx%lld->%lldx%lld",
                         mode ? "nearest" : "bilinear", mode ? "" : ac ? " ac" : " no-ac",
                         (long long)s->ih, (long long)s->iw, (long long)s->oh, (long long)s->ow);
                gradcheck_seeded(name, f_resize, &a, 1, &x, 300 + c);
            }
        wsss_tensor_free(x);
    }
}

/* Source coordinate of a bilinear output index, in exact arithmetic (hand derivation of
 * PyTorch's rule): align_corners: dst*(in-1)/(out-1); else (dst+0.5)*in/out-0.5 clamped to
 * [0, in-1] (the clamp at in-1 is where both taps fall on the last pixel). */
static double bilinear_src(int64_t dst, int64_t in, int64_t out, int ac) {
    if (ac) return out > 1 ? (double)dst * (double)(in - 1) / (double)(out - 1) : 0.0;
    double s = ((double)dst + 0.5) * (double)in / (double)out - 0.5;
    if (s < 0) s = 0;
    if (s > in - 1) s = (double)(in - 1);
    return s;
}

static void ramp_check(wsss_dtype dt, int64_t planes, const size_case *s, int ac, double tol) {
    const double a = 0.75, b = -1.25, c0 = 0.5;
    wsss_tensor *x = wsss_tensor_new(dt, 4, (const int64_t[]){1, planes, s->ih, s->iw});
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < s->ih; y++)
            for (int64_t xx = 0; xx < s->iw; xx++)
                wsss_tensor_set(x, (p * s->ih + y) * s->iw + xx, a * y + b * xx + c0 + p);
    wsss_tensor *want = wsss_tensor_new(WSSS_F64, 4, (const int64_t[]){1, planes, s->oh, s->ow});
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < s->oh; y++)
            for (int64_t xx = 0; xx < s->ow; xx++)
                wsss_tensor_set(want, (p * s->oh + y) * s->ow + xx,
                                a * bilinear_src(y, s->ih, s->oh, ac) +
                                    b * bilinear_src(xx, s->iw, s->ow, ac) + c0 + p);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = wsss_resize_bilinear(ctx, x, s->oh, s->ow, ac);
    char name[96];
    snprintf(name, sizeof name, "%s bilinear%s ramp %lldx%lld->%lldx%lld", wsss_dtype_name(dt),
             ac ? " ac" : "", (long long)s->ih, (long long)s->iw, (long long)s->oh, (long long)s->ow);
    check_close(name, y, want, tol, tol);
    wsss_ctx_free(ctx);
    wsss_tensor_free(want);
    wsss_tensor_free(x);
}

static void test_bilinear_ramp(void) {
    for (size_t c = 0; c < N_SIZES; c++)
        for (int ac = 0; ac < 2; ac++) {
            ramp_check(WSSS_F64, 2, &k_sizes[c], ac, 1e-12);
            ramp_check(WSSS_F32, 2, &k_sizes[c], ac, 2e-5);
        }
    /* the training-time sizes: 448 down to 56 and back up (table-driven F32 path, threaded) */
    const size_case big[] = {{448, 448, 56, 56}, {56, 56, 448, 448}, {448, 448, 449, 223}};
    for (int i = 0; i < 3; i++)
        for (int ac = 0; ac < 2; ac++) ramp_check(WSSS_F32, 1, &big[i], ac, 2e-4);
}

static void test_nearest(void) {
    const size_case cases[] = {{3, 4, 7, 9}, {5, 7, 3, 2}, {1, 1, 3, 5}, {6, 8, 3, 4},
                               {5, 3, 9, 10}, {3, 5, 6, 10}, {7, 2, 2, 7}, {4, 4, 4, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_case *s = &cases[c];
        wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){2, 3, s->ih, s->iw}, -1, 1, 400 + c);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = wsss_resize_nearest(ctx, x, s->oh, s->ow);
        int ok = 1;
        for (int64_t p = 0; p < 6; p++)
            for (int64_t oy = 0; oy < s->oh; oy++)
                for (int64_t ox = 0; ox < s->ow; ox++) {
                    int64_t sy = oy * s->ih / s->oh, sx = ox * s->iw / s->ow;
                    ok &= wsss_tensor_get(y, (p * s->oh + oy) * s->ow + ox) ==
                          wsss_tensor_get(x, (p * s->ih + sy) * s->iw + sx);
                }
        CHECK(ok, "nearest %lldx%lld->%lldx%lld values", (long long)s->ih, (long long)s->iw,
              (long long)s->oh, (long long)s->ow);
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
    }
    /* PyTorch computes the nearest index in float: for 2 -> 82, output 41 reads input 0 (the
     * exact floor(41 * 2 / 82) would be 1); value observed with torch 1.13 F.interpolate. */
    CHECK(wsss_resize_nearest_src(41, 2, 82) == 0 && wsss_resize_nearest_src(42, 2, 82) == 1,
          "nearest float index rule");
    /* up by k then down by k gives back the input (down picks dst*k, which copied dst) */
    for (int k = 2; k <= 3; k++) {
        wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){1, 2, 5, 3}, -1, 1, 450 + k);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *up = wsss_resize_nearest(ctx, x, 5 * k, 3 * k);
        wsss_tensor *dn = wsss_resize_nearest(ctx, up, 5, 3);
        check_close("nearest up-down round trip", dn, x, 0, 0);
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
    }
}

static void test_bicubic(void) {
    /* a constant image stays constant (the four weights sum to one) and the same size copies */
    for (size_t c = 0; c < N_SIZES; c++) {
        const size_case *s = &k_sizes[c];
        for (int ac = 0; ac < 2; ac++) {
            wsss_tensor *x = wsss_tensor_new(WSSS_F64, 4, (const int64_t[]){1, 1, s->ih, s->iw});
            wsss_tensor_fill(x, 2.5);
            wsss_tensor *want = wsss_tensor_new(WSSS_F64, 4, (const int64_t[]){1, 1, s->oh, s->ow});
            wsss_tensor_fill(want, 2.5);
            wsss_ctx *ctx = wsss_ctx_new();
            check_close("bicubic of a constant", wsss_resize_bicubic(ctx, x, s->oh, s->ow, ac), want,
                        1e-12, 0);
            wsss_ctx_free(ctx);
            wsss_tensor_free(x);
            wsss_tensor_free(want);
        }
    }
    wsss_tensor *x = rand_tensor(WSSS_F64, 4, (const int64_t[]){2, 1, 5, 6}, -1, 1, 500);
    wsss_ctx *ctx = wsss_ctx_new();
    check_close("bicubic same size (ac)", wsss_resize_bicubic(ctx, x, 5, 6, 1), x, 1e-12, 0);
    check_close("bicubic same size", wsss_resize_bicubic(ctx, x, 5, 6, 0), x, 1e-12, 0);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* Backward through bicubic must stop with an assertion (checked in a child process). */
static void test_bicubic_backward_asserts(void) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        fprintf(stderr, "(an assertion message from resize_bicubic is expected next)\n");
        wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){1, 1, 3, 3}, -1, 1, 510);
        x->requires_grad = 1;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = wsss_resize_bicubic(ctx, x, 5, 5, 0);
        wsss_tensor *g = wsss_tensor_new(WSSS_F32, 4, y->shape);
        wsss_backward_with(ctx, y, g);
        _exit(0); /* not reached if the assertion fires */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
          "backward through bicubic must abort (status %d)", status);
    /* with grad mode off there is nothing to assert about */
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){1, 1, 3, 3}, -1, 1, 511);
    x->requires_grad = 1;
    wsss_ctx *ctx = test_ctx_no_grad();
    wsss_tensor *y = wsss_resize_bicubic(ctx, x, 5, 5, 0);
    CHECK(y->grad_fn == NULL, "no bicubic node with grad mode off");
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* Run one op under a backend: forward output and (except bicubic) input gradient for upstream g. */
static void run_backend(wsss_backend be, wsss_tensor *x, const resize_arg *a, wsss_tensor **y_out,
                        wsss_tensor **gx_out) {
    wsss_set_backend(be);
    wsss_ctx *ctx = wsss_ctx_new();
    x->requires_grad = a->mode != 2;
    wsss_tensor *y = do_resize(ctx, x, a);
    *y_out = wsss_tensor_clone(y);
    *gx_out = NULL;
    if (a->mode != 2) {
        wsss_tensor *g = rand_tensor(WSSS_F32, 4, y->shape, -1, 1, 600);
        wsss_backward_with(ctx, y, g);
        *gx_out = wsss_tensor_clone(x->grad);
        wsss_tensor_free(g);
        wsss_tensor_free(x->grad);
        x->grad = NULL;
    }
    wsss_ctx_free(ctx);
    wsss_set_backend(WSSS_BACKEND_DNNL);
}

static void test_tables_vs_plain(void) {
    const size_case cases[] = {{3, 4, 7, 9},   {5, 7, 3, 2},    {1, 1, 3, 5},  {13, 11, 64, 33},
                               {64, 33, 13, 11}, {56, 60, 112, 97}, {40, 40, 40, 40}};
    double worst_fwd = 0, worst_bwd = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_case *s = &cases[c];
        wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){2, 3, s->ih, s->iw}, -1, 1, 700 + c);
        wsss_tensor *x64 = wsss_tensor_to_dtype(x, WSSS_F64);
        for (int mode = 0; mode < 3; mode++)
            for (int ac = 0; ac < (mode == 1 ? 1 : 2); ac++) {
                resize_arg a = {mode, s->oh, s->ow, ac};
                wsss_tensor *yt, *gt, *yr, *gr, *y64;
                run_backend(WSSS_BACKEND_DNNL, x, &a, &yt, &gt);
                run_backend(WSSS_BACKEND_REF, x, &a, &yr, &gr);
                char name[96];
                snprintf(name, sizeof name, "mode %d ac %d %lldx%lld->%lldx%lld tables vs plain", mode,
                         ac, (long long)s->ih, (long long)s->iw, (long long)s->oh, (long long)s->ow);
                /* forward: same arithmetic in the same order; backward: another summation order */
                double e = check_close(name, yt, yr, 0, 0);
                if (e > worst_fwd) worst_fwd = e;
                if (gt) {
                    e = check_close(name, gt, gr, 1e-5, 1e-5);
                    if (e > worst_bwd) worst_bwd = e;
                }
                /* the float kernels also agree with the double oracle */
                wsss_ctx *ctx = wsss_ctx_new();
                y64 = do_resize(ctx, x64, &a);
                snprintf(name, sizeof name, "mode %d ac %d %lldx%lld->%lldx%lld F32 vs F64", mode, ac,
                         (long long)s->ih, (long long)s->iw, (long long)s->oh, (long long)s->ow);
                check_close(name, yt, y64, 1e-5, 1e-5);
                wsss_ctx_free(ctx);
                wsss_tensor_free(yt);
                wsss_tensor_free(yr);
                wsss_tensor_free(gt);
                wsss_tensor_free(gr);
            }
        wsss_tensor_free(x64);
        wsss_tensor_free(x);
    }
    printf("tables vs plain kernels: max abs difference forward %.3g, backward %.3g\n", worst_fwd,
           worst_bwd);
}

/* Planes are independent, and a non-contiguous input is read correctly. */
static void test_planes_and_views(void) {
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){2, 3, 5, 4}, -1, 1, 800);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = wsss_resize_bilinear(ctx, x, 9, 7, 0);
    wsss_tensor *one = wsss_slice(ctx, wsss_slice(ctx, x, 0, 1, 2, 1), 1, 2, 3, 1); /* plane (1,2) */
    wsss_tensor *y1 = wsss_resize_bilinear(ctx, one, 9, 7, 0);
    wsss_tensor *ys = wsss_slice(ctx, wsss_slice(ctx, y, 0, 1, 2, 1), 1, 2, 3, 1);
    check_close("one plane alone", y1, ys, 0, 0);
    /* transposed H/W view: resizing it equals transposing the resize of the transposed size */
    wsss_tensor *xt = wsss_permute(ctx, x, (const int[]){0, 1, 3, 2});
    wsss_tensor *yt = wsss_resize_bilinear(ctx, xt, 7, 9, 0);
    check_close("resize of a transposed view", wsss_permute(ctx, yt, (const int[]){0, 1, 3, 2}), y,
                1e-6, 1e-6);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

int main(void) {
    test_gradients();
    test_bilinear_ramp();
    test_nearest();
    test_bicubic();
    test_bicubic_backward_asserts();
    test_tables_vs_plain();
    test_planes_and_views();
    return test_summary("test_resize");
}
