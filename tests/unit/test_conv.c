/* conv2d: oneDNN vs reference (forward and every gradient) on a grid of shapes; the reference
 * forward against a naive textbook loop; double-precision finite-difference gradients through
 * the op API; gradient selection, no-grad mode, strided inputs; the oneDNN glue (reorders,
 * cache hits, eviction). */
#include <stdlib.h>
#include <string.h>

#include "backend/dnnl/dnnl_common.h"
#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

typedef struct cfg {
    int64_t n, cin, h, w, cout, kh, kw;
    int sh, sw, ph, pw, dh, dw, groups, bias;
} cfg;

static const cfg k_grid[] = {
    /* n cin  h  w cout kh kw sh sw ph pw dh dw g bias */
    {1, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},     /* odd sizes, same padding */
    {3, 3, 13, 11, 5, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1},   /* stride 2, no padding, batch 3 */
    {1, 4, 13, 11, 6, 3, 3, 1, 1, 2, 2, 2, 2, 1, 0},   /* dilation 2, padding 2, no bias */
    {3, 5, 7, 9, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1},     /* 1x1 */
    {3, 6, 13, 11, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1, 0},   /* 1x1 stride 2 (ResNet shortcut) */
    {3, 4, 7, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1},     /* groups 2 */
    {1, 6, 13, 11, 6, 3, 3, 2, 2, 1, 1, 1, 1, 6, 1},   /* depthwise, stride 2 */
    {3, 5, 7, 9, 10, 3, 3, 1, 1, 2, 2, 2, 2, 5, 1},    /* depthwise x2 multiplier, dilation 2 */
    {1, 3, 13, 11, 5, 3, 5, 2, 1, 1, 2, 2, 1, 1, 1},   /* asymmetric kernel/stride/pad/dilation */
    {3, 17, 7, 9, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   /* channels not multiples of 8/16 */
    {1, 3, 13, 11, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1, 0},  /* ResNet stem-like 7x7/2 */
    {3, 32, 7, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   /* blocked-layout friendly channels */
    {1, 4, 9, 7, 4, 3, 3, 1, 1, 0, 0, 2, 2, 2, 1},     /* groups, dilation, no padding */
};
#define N_GRID (int)(sizeof k_grid / sizeof k_grid[0])

static wsss_conv2d_params params_of(const cfg *c) {
    wsss_conv2d_params p = {{c->sh, c->sw}, {c->ph, c->pw}, {c->dh, c->dw}, c->groups};
    return p;
}

static void describe(const cfg *c, char *buf, size_t n) {
    snprintf(buf, n,
             "x[%lld,%lld,%lld,%lld] w[%lld,%lld,%lld,%lld] s(%d,%d) p(%d,%d) d(%d,%d) g%d%s",
             (long long)c->n, (long long)c->cin, (long long)c->h, (long long)c->w,
             (long long)c->cout, (long long)(c->cin / c->groups), (long long)c->kh,
             (long long)c->kw, c->sh, c->sw, c->ph, c->pw, c->dh, c->dw, c->groups,
             c->bias ? " bias" : "");
}

/* Inputs of one configuration (persistent, F64 master copies; converted per run). */
typedef struct inputs {
    wsss_tensor *x, *w, *b, *r; /* r: upstream gradient / loss weights */
} inputs;

static int64_t out_size(int64_t in, int64_t k, int s, int p, int d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

static void make_inputs(const cfg *c, unsigned long long seed, inputs *in) {
    int64_t xs[4] = {c->n, c->cin, c->h, c->w}, ws[4] = {c->cout, c->cin / c->groups, c->kh, c->kw};
    int64_t bs[1] = {c->cout};
    int64_t ys[4] = {c->n, c->cout, out_size(c->h, c->kh, c->sh, c->ph, c->dh),
                     out_size(c->w, c->kw, c->sw, c->pw, c->dw)};
    in->x = rand_tensor(WSSS_F64, 4, xs, -1, 1, seed);
    in->w = rand_tensor(WSSS_F64, 4, ws, -1, 1, seed + 1);
    in->b = c->bias ? rand_tensor(WSSS_F64, 1, bs, -1, 1, seed + 2) : NULL;
    in->r = rand_tensor(WSSS_F64, 4, ys, -1, 1, seed + 3);
}

static void free_inputs(inputs *in) {
    FREE_TENSORS(in->x, in->w, in->b, in->r);
}

typedef struct result {
    wsss_tensor *y, *dx, *dw, *db;
} result;

static void free_result(result *r) {
    FREE_TENSORS(r->y, r->dx, r->dw, r->db);
    memset(r, 0, sizeof *r);
}

/* Forward + backward with upstream gradient r on the given backend and dtype. */
static void run_conv(const cfg *c, const inputs *in, wsss_backend be, wsss_dtype dt, result *out) {
    wsss_set_backend(be);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *x = grad_leaf(in->x, dt, 1), *w = grad_leaf(in->w, dt, 1);
    wsss_tensor *b = grad_leaf(in->b, dt, 1), *r = grad_leaf(in->r, dt, 0);
    wsss_tensor *y = wsss_conv2d(ctx, x, w, b, params_of(c));
    out->y = wsss_tensor_clone(y);
    CHECK(wsss_backward_with(ctx, y, r) == WSSS_OK, "backward: %s", wsss_error_msg());
    out->dx = take_grad(x);
    out->dw = take_grad(w);
    out->db = take_grad(b);
    wsss_tensor_free(r);
    wsss_ctx_free(ctx);
    wsss_set_backend(WSSS_BACKEND_DNNL);
}

/* Naive textbook convolution in double: the oracle for the reference forward. */
static wsss_tensor *naive_conv(const cfg *c, const inputs *in) {
    const int64_t oh = out_size(c->h, c->kh, c->sh, c->ph, c->dh);
    const int64_t ow = out_size(c->w, c->kw, c->sw, c->pw, c->dw);
    const int64_t icg = c->cin / c->groups, ocg = c->cout / c->groups;
    int64_t ys[4] = {c->n, c->cout, oh, ow};
    wsss_tensor *y = wsss_tensor_new(WSSS_F64, 4, ys);
    const double *x = wsss_f64(in->x), *w = wsss_f64(in->w);
    double *yd = wsss_f64(y);
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t o = 0; o < c->cout; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double s = in->b ? wsss_f64(in->b)[o] : 0;
                    int64_t grp = o / ocg;
                    for (int64_t ci = 0; ci < icg; ci++)
                        for (int64_t a = 0; a < c->kh; a++)
                            for (int64_t bb = 0; bb < c->kw; bb++) {
                                int64_t ih = i * c->sh - c->ph + a * c->dh;
                                int64_t iw = j * c->sw - c->pw + bb * c->dw;
                                if (ih < 0 || ih >= c->h || iw < 0 || iw >= c->w) continue;
                                s += w[((o * icg + ci) * c->kh + a) * c->kw + bb] *
                                     x[((n * c->cin + grp * icg + ci) * c->h + ih) * c->w + iw];
                            }
                    yd[((n * c->cout + o) * oh + i) * ow + j] = s;
                }
    return y;
}

static double g_max_err[4]; /* y, dx, dw, db: oneDNN vs reference, relative to magnitude */

static void test_grid(void) {
    for (int i = 0; i < N_GRID; i++) {
        const cfg *c = &k_grid[i];
        char d[160], what[220];
        describe(c, d, sizeof d);
        inputs in;
        make_inputs(c, 1000 + 10 * (unsigned long long)i, &in);
        result ref64, ref, dn;
        run_conv(c, &in, WSSS_BACKEND_REF, WSSS_F64, &ref64);
        run_conv(c, &in, WSSS_BACKEND_REF, WSSS_F32, &ref);
        run_conv(c, &in, WSSS_BACKEND_DNNL, WSSS_F32, &dn);

        /* the reference forward is the textbook formula */
        wsss_tensor *naive = naive_conv(c, &in);
        snprintf(what, sizeof what, "ref f64 forward vs naive loop, %s", d);
        check_close_scaled(what, ref64.y, naive, 1e-13);
        snprintf(what, sizeof what, "ref f32 forward vs ref f64, %s", d);
        check_close_scaled(what, ref.y, ref64.y, 1e-5);
        wsss_tensor_free(naive);

        const wsss_tensor *got[4] = {dn.y, dn.dx, dn.dw, dn.db};
        const wsss_tensor *want[4] = {ref.y, ref.dx, ref.dw, ref.db};
        const char *names[4] = {"y", "dx", "dw", "db"};
        for (int k = 0; k < 4; k++) {
            if (!want[k]) {
                CHECK(got[k] == NULL, "%s: unexpected gradient %s", d, names[k]);
                continue;
            }
            CHECK(got[k] != NULL, "%s: missing oneDNN %s", d, names[k]);
            if (!got[k]) continue;
            snprintf(what, sizeof what, "oneDNN vs ref %s, %s", names[k], d);
            double e = check_close_scaled(what, got[k], want[k], 1e-5);
            if (e > g_max_err[k]) g_max_err[k] = e;
        }
        free_result(&ref64);
        free_result(&ref);
        free_result(&dn);
        free_inputs(&in);
    }
    printf("oneDNN vs reference, max error / max|ref| over %d configs: y %.2e dx %.2e dw %.2e db %.2e\n",
           N_GRID, g_max_err[0], g_max_err[1], g_max_err[2], g_max_err[3]);
}

/* loss = sum(conv(x, w, b) * r) in double, no graph (for fd_check_sampled) */
typedef struct fd_problem {
    const cfg *c;
    const inputs *in;
} fd_problem;

static double loss_of(const void *arg) {
    const fd_problem *q = arg;
    const inputs *in = q->in;
    wsss_ctx *ctx = test_ctx_no_grad();
    wsss_tensor *y = wsss_conv2d(ctx, in->x, in->w, in->b, params_of(q->c));
    double s = 0;
    for (int64_t i = 0; i < wsss_tensor_numel(y); i++) s += wsss_f64(y)[i] * wsss_f64(in->r)[i];
    wsss_ctx_free(ctx);
    return s;
}

static void test_finite_differences(void) {
    static const int picks[] = {1, 2, 5, 7, 8, 12};
    double worst = 0;
    for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++) {
        const cfg *c = &k_grid[picks[k]];
        char d[160], what[220];
        describe(c, d, sizeof d);
        inputs in;
        make_inputs(c, 5000 + k, &in);
        result an;
        run_conv(c, &in, WSSS_BACKEND_DNNL, WSSS_F64, &an); /* F64 always runs the reference */
        fd_problem q = {c, &in};
        snprintf(what, sizeof what, "FD dx %s", d);
        double e = fd_check_sampled(what, loss_of, &q, in.x, an.dx, 40);
        if (e > worst) worst = e;
        snprintf(what, sizeof what, "FD dw %s", d);
        e = fd_check_sampled(what, loss_of, &q, in.w, an.dw, 40);
        if (e > worst) worst = e;
        if (in.b) {
            snprintf(what, sizeof what, "FD db %s", d);
            e = fd_check_sampled(what, loss_of, &q, in.b, an.db, 40);
            if (e > worst) worst = e;
        }
        free_result(&an);
        free_inputs(&in);
    }
    printf("finite differences (f64 reference via the op), max error / max|grad|: %.2e\n", worst);
}

/* Only the gradients that are needed are computed; no graph in no-grad mode. */
static void test_grad_selection(void) {
    const cfg *c = &k_grid[5];
    inputs in;
    make_inputs(c, 77, &in);
    for (int be = 0; be < 2; be++) {
        wsss_set_backend(be ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *x = grad_leaf(in.x, WSSS_F32, 0), *w = grad_leaf(in.w, WSSS_F32, 1);
        wsss_tensor *b = grad_leaf(in.b, WSSS_F32, 0), *r = grad_leaf(in.r, WSSS_F32, 0);
        wsss_tensor *y = wsss_conv2d(ctx, x, w, b, params_of(c));
        CHECK(y->grad_fn != NULL, "conv with a trainable weight must record a node");
        CHECK(wsss_backward_with(ctx, y, r) == WSSS_OK, "backward");
        CHECK(x->grad == NULL && b->grad == NULL && w->grad != NULL,
              "only the weight gradient should exist (x %p, b %p, w %p)", (void *)x->grad,
              (void *)b->grad, (void *)w->grad);
        wsss_ctx_reset(ctx);
        /* frozen weights and bias, input needs grad: gradient still flows to x only */
        w->requires_grad = 0;
        x->requires_grad = 1;
        wsss_tensor_free(w->grad);
        w->grad = NULL;
        y = wsss_conv2d(ctx, x, w, b, params_of(c));
        CHECK(wsss_backward_with(ctx, y, r) == WSSS_OK, "backward");
        CHECK(x->grad != NULL && w->grad == NULL && b->grad == NULL, "only dx expected");
        wsss_ctx_reset(ctx);
        wsss_ctx_set_grad_enabled(ctx, 0);
        y = wsss_conv2d(ctx, x, w, b, params_of(c));
        CHECK(y->grad_fn == NULL && !y->requires_grad, "no-grad mode must not record");
        wsss_ctx_free(ctx);
        FREE_TENSORS(x, w, b, r);
    }
    wsss_set_backend(WSSS_BACKEND_DNNL);
    free_inputs(&in);
}

/* A non-contiguous input view (H and W swapped by strides) gives the contiguous result, and its
 * gradient has the view's shape. */
static void test_strided_input(void) {
    const cfg *c = &k_grid[0];
    inputs in;
    make_inputs(c, 99, &in);
    /* storage N,C,W,H; view N,C,H,W */
    int64_t ss[4] = {c->n, c->cin, c->w, c->h};
    wsss_tensor *store = wsss_tensor_new(WSSS_F32, 4, ss);
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t ch = 0; ch < c->cin; ch++)
            for (int64_t i = 0; i < c->h; i++)
                for (int64_t j = 0; j < c->w; j++)
                    wsss_f32(store)[((n * c->cin + ch) * c->w + j) * c->h + i] =
                        (float)wsss_f64(in.x)[((n * c->cin + ch) * c->h + i) * c->w + j];
    wsss_tensor *view = wsss_tensor_header_like(store);
    view->shape[2] = c->h;
    view->shape[3] = c->w;
    view->stride[2] = 1;
    view->stride[3] = c->h;
    view->requires_grad = 1;
    result dense;
    run_conv(c, &in, WSSS_BACKEND_DNNL, WSSS_F32, &dense);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *w = grad_leaf(in.w, WSSS_F32, 0), *b = grad_leaf(in.b, WSSS_F32, 0);
    wsss_tensor *r = grad_leaf(in.r, WSSS_F32, 0);
    wsss_tensor *y = wsss_conv2d(ctx, view, w, b, params_of(c));
    check_close_scaled("strided input forward", y, dense.y, 1e-6);
    CHECK(wsss_backward_with(ctx, y, r) == WSSS_OK, "backward");
    CHECK(view->grad && wsss_tensor_same_shape(view->grad, view), "view gradient shape");
    if (view->grad) check_close_scaled("strided input dx", view->grad, dense.dx, 1e-6);
    wsss_ctx_free(ctx);
    wsss_tensor_free(view->grad);
    view->grad = NULL;
    wsss_tensor_destroy(view);
    FREE_TENSORS(store, w, b, r);
    free_result(&dense);
    free_inputs(&in);
}

/* The glue: blocked round trip, cache hits on repeated shapes, bounded cache with eviction. */
static void test_dnnl_glue(void) {
    int64_t d[4] = {2, 19, 3, 5};
    wsss_tensor *t = rand_tensor(WSSS_F32, 4, d, -1, 1, 5), *u = wsss_tensor_new(WSSS_F32, 4, d);
    dnnl_memory_desc_t plain, blk;
    wsss_dnnl_md_from_tensor(&plain, t);
    wsss_dnnl_md_tag(&blk, 4, d, dnnl_nChw16c);
    CHECK(wsss_dnnl_md_bytes(&blk) == 2 * 32 * 3 * 5 * sizeof(float), "blocked size pads C to 32");
    wsss_dnnl_io in, out;
    wsss_dnnl_io_input(&in, &blk, &plain, t->data);
    CHECK(in.mem != in.user, "different layouts need a temporary");
    wsss_dnnl_io_output(&out, &blk, &plain, u->data);
    wsss_dnnl_reorder(in.mem, out.mem);
    wsss_dnnl_io_finish(&out);
    wsss_dnnl_io_finish(&in);
    CHECK(memcmp(t->data, u->data, wsss_tensor_nbytes(t)) == 0, "nchw -> nChw16c -> nchw round trip");

    /* a repeated conv shape hits the cache */
    const cfg *c = &k_grid[0];
    inputs ins;
    make_inputs(c, 3, &ins);
    result r1, r2;
    run_conv(c, &ins, WSSS_BACKEND_DNNL, WSSS_F32, &r1);
    uint64_t h1, m1, h2, m2;
    wsss_dnnl_cache_stats(NULL, &h1, &m1);
    run_conv(c, &ins, WSSS_BACKEND_DNNL, WSSS_F32, &r2);
    wsss_dnnl_cache_stats(NULL, &h2, &m2);
    CHECK(m2 == m1 && h2 > h1, "second run of the same shape: misses %llu -> %llu",
          (unsigned long long)m1, (unsigned long long)m2);
    CHECK(memcmp(r1.y->data, r2.y->data, wsss_tensor_nbytes(r1.y)) == 0, "cached primitive, same result");
    free_result(&r1);
    free_result(&r2);
    free_inputs(&ins);

    /* more distinct reorders than the cache holds: it stays bounded and keeps working */
    wsss_dnnl_cache_clear();
    size_t entries;
    wsss_dnnl_cache_stats(&entries, NULL, NULL);
    CHECK(entries == 0, "cleared cache has %zu entries", entries);
    const int n_keys = WSSS_DNNL_CACHE_CAP + 20;
    float *src = malloc(sizeof(float) * 2 * (size_t)n_keys), *dst = malloc(sizeof(float) * 2 * (size_t)n_keys);
    for (int i = 0; i < 2 * n_keys; i++) src[i] = (float)i;
    int ok = 1;
    for (int i = 2; i <= n_keys; i++) {
        int64_t dims[2] = {2, i};
        dnnl_memory_desc_t a, bmd;
        wsss_dnnl_md_tag(&a, 2, dims, dnnl_ab);
        wsss_dnnl_md_tag(&bmd, 2, dims, dnnl_ba);
        dnnl_memory_t ms = wsss_dnnl_mem_wrap(&a, src), md = wsss_dnnl_mem_wrap(&bmd, dst);
        wsss_dnnl_reorder(ms, md);
        /* element (0, 1) = 1 of the row-major source sits at offset 2 of the transposed one,
         * element (1, 0) = i at offset 1 */
        ok &= dst[2] == 1.0f && dst[1] == (float)i;
        wsss_dnnl_mem_free(ms);
        wsss_dnnl_mem_free(md);
    }
    free(src);
    free(dst);
    wsss_dnnl_cache_stats(&entries, NULL, NULL);
    CHECK(ok, "transposing reorders under eviction");
    CHECK(entries <= WSSS_DNNL_CACHE_CAP, "cache holds %zu > %d entries", entries, WSSS_DNNL_CACHE_CAP);
    wsss_dnnl_cache_clear();
    wsss_tensor_free(t);
    wsss_tensor_free(u);
}

int main(void) {
    wsss_runtime_init();
    test_grid();
    test_finite_differences();
    test_grad_selection();
    test_strided_input();
    test_dnnl_glue();
    wsss_dnnl_cache_clear();
    return test_summary("test_conv");
}
