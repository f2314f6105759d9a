/* Dropout: statistics of the mask, determinism for a seed, identity cases, gradient = mask*scale
 * (by hand and by F64 finite differences with the mask held fixed by reseeding). */
#include "gradcheck.h"
#include "wsss/ops.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"

static void test_statistics(void) {
    const double ps[3] = {0.1, 0.3, 0.5};
    const int64_t n = 200000;
    for (int k = 0; k < 3; k++) {
        const double p = ps[k];
        wsss_tensor *x = wsss_tensor_new(WSSS_F32, 2, (const int64_t[]){400, 500});
        wsss_tensor_fill(x, 1.0);
        wsss_rng rng;
        wsss_rng_seed(&rng, 1000 + k);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = wsss_dropout(ctx, x, p, 1, &rng);
        const float *v = y->data, scale = (float)(1.0 / (1.0 - p));
        int64_t zeros = 0, bad = 0;
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            if (v[i] == 0) zeros++;
            else if (v[i] != scale) bad++;
            sum += v[i];
        }
        /* binomial standard deviation of the zero fraction is sqrt(p(1-p)/n) <= 0.0012 */
        CHECK(fabs((double)zeros / n - p) < 0.006, "p %.1f: zeroed fraction %.4f", p, (double)zeros / n);
        CHECK(fabs(sum / n - 1.0) < 0.01, "p %.1f: mean %.4f, expected 1 (inverted scaling)", p, sum / n);
        CHECK(bad == 0, "p %.1f: %lld kept values are not x/(1-p)", p, (long long)bad);
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
    }
    /* the global generator is used when none is passed */
    wsss_tensor *x = wsss_tensor_new(WSSS_F64, 1, (const int64_t[]){100000});
    wsss_tensor_fill(x, 3.0);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = wsss_dropout(ctx, x, 0.25, 1, NULL);
    int64_t zeros = 0;
    for (int64_t i = 0; i < 100000; i++) zeros += wsss_f64(y)[i] == 0;
    CHECK(fabs(zeros / 1e5 - 0.25) < 0.008, "global rng: zeroed fraction %.4f", zeros / 1e5);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

static void test_determinism(void) {
    wsss_tensor *x = rand_tensor(WSSS_F32, 3, (const int64_t[]){4, 5, 6}, -1, 1, 5);
    wsss_tensor *y[3];
    for (int r = 0; r < 3; r++) {
        wsss_rng rng;
        wsss_rng_seed(&rng, r < 2 ? 42 : 43);
        wsss_ctx *ctx = wsss_ctx_new();
        y[r] = wsss_tensor_clone(wsss_dropout(ctx, x, 0.5, 1, &rng));
        wsss_ctx_free(ctx);
    }
    check_close("same seed, same mask", y[0], y[1], 0, 0);
    /* a tensor of several random-stream chunks: the mask must not depend on the thread count */
    wsss_tensor *big = rand_tensor(WSSS_F32, 1, (const int64_t[]){300001}, 0.5, 1.5, 6);
    wsss_tensor *yb[2];
    for (int t = 0; t < 2; t++) {
        wsss_set_threads(t ? 2 : 1);
        wsss_rng rng;
        wsss_rng_seed(&rng, 5);
        wsss_ctx *ctx = wsss_ctx_new();
        yb[t] = wsss_tensor_clone(wsss_dropout(ctx, big, 0.5, 1, &rng));
        wsss_ctx_free(ctx);
    }
    check_close("1 thread vs 2 threads", yb[0], yb[1], 0, 0);
    wsss_tensor_free(yb[0]);
    wsss_tensor_free(yb[1]);
    wsss_tensor_free(big);
    int differ = 0;
    for (int64_t i = 0; i < 120; i++) differ += wsss_tensor_get(y[0], i) != wsss_tensor_get(y[2], i);
    CHECK(differ > 0, "another seed should give another mask");
    for (int r = 0; r < 3; r++) wsss_tensor_free(y[r]);
    wsss_tensor_free(x);
}

static void test_identity_and_edges(void) {
    wsss_tensor *x = rand_tensor(WSSS_F32, 2, (const int64_t[]){3, 7}, -1, 1, 6);
    x->requires_grad = 1;
    wsss_rng rng;
    wsss_rng_seed(&rng, 1);
    wsss_ctx *ctx = wsss_ctx_new();
    CHECK(wsss_dropout(ctx, x, 0.5, 0, &rng) == x, "not training: identity (the input itself)");
    CHECK(wsss_dropout(ctx, x, 0.0, 1, &rng) == x, "p = 0: identity");
    wsss_tensor *z = wsss_dropout(ctx, x, 1.0, 1, &rng);
    int allzero = 1;
    for (int64_t i = 0; i < 21; i++) allzero &= wsss_tensor_get(z, i) == 0;
    CHECK(allzero, "p = 1 gives zeros");
    wsss_tensor *g = wsss_tensor_new(WSSS_F32, 2, x->shape);
    wsss_tensor_fill(g, 1.0);
    wsss_backward_with(ctx, z, g);
    int gzero = x->grad != NULL;
    for (int64_t i = 0; gzero && i < 21; i++) gzero &= wsss_tensor_get(x->grad, i) == 0;
    CHECK(gzero, "p = 1: zero gradient");
    wsss_ctx_free(ctx);
    wsss_tensor_free(g);

    /* grad mode off: no node, no saved mask */
    ctx = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(ctx, 0);
    size_t before = wsss_ctx_bytes(ctx);
    wsss_tensor *y = wsss_dropout(ctx, x, 0.5, 1, &rng);
    CHECK(y->grad_fn == NULL, "no dropout node with grad mode off");
    CHECK(wsss_ctx_bytes(ctx) - before == 21 * sizeof(float), "only the output is allocated (%zu bytes)",
          wsss_ctx_bytes(ctx) - before);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* By hand: dL/dx = w * scale where the element was kept, 0 where dropped. */
static void test_gradient_by_hand(void) {
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){2, 3, 4, 5}, 0.5, 1.5, 7);
    x->requires_grad = 1;
    wsss_rng rng;
    wsss_rng_seed(&rng, 9);
    wsss_ctx *ctx = wsss_ctx_new();
    /* a non-contiguous input (transposed view) goes through as well */
    wsss_tensor *xt = wsss_permute(ctx, x, (const int[]){0, 1, 3, 2});
    wsss_tensor *y = wsss_dropout(ctx, xt, 0.4, 1, &rng);
    wsss_tensor *w = rand_tensor(WSSS_F32, 4, y->shape, -1, 1, 8);
    wsss_backward_with(ctx, y, w);
    const float scale = (float)(1.0 / 0.6);
    wsss_tensor *want = wsss_tensor_new(WSSS_F32, 4, x->shape);
    int vals_ok = 1;
    for (int64_t k = 0; k < 120; k++) {
        int64_t i[4];
        gc_unflat(4, y->shape, k, i); /* y[a][b][c][d] ~ x[a][b][d][c] */
        int64_t xf = gc_flat(4, x->shape, (const int64_t[]){i[0], i[1], i[3], i[2]});
        double yv = wsss_tensor_get(y, k), xv = wsss_tensor_get(x, xf);
        int kept = yv != 0; /* x is never 0 here */
        vals_ok &= kept ? yv == (double)((float)xv * scale) : 1;
        wsss_tensor_set(want, xf, kept ? (double)((float)wsss_tensor_get(w, k) * scale) : 0.0);
    }
    CHECK(vals_ok, "kept values are x * (float)(1/(1-p))");
    check_close("dropout gradient = mask * scale", x->grad, want, 0, 0);
    wsss_tensor_free(want);
    wsss_tensor_free(w);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

static wsss_tensor *f_dropout(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    wsss_rng rng;
    wsss_rng_seed(&rng, 77); /* the same mask on every evaluation */
    return wsss_dropout(ctx, xs[0], *(const double *)arg, 1, &rng);
}

static void test_gradient_fd(void) {
    wsss_tensor *x = rand_leaf(3, (const int64_t[]){3, 4, 5}, -2, 2, 11);
    const double p1 = 0.3, p2 = 0.7;
    gradcheck_seeded("dropout p=0.3", f_dropout, &p1, 1, &x, 12);
    gradcheck_seeded("dropout p=0.7", f_dropout, &p2, 1, &x, 13);
    wsss_tensor_free(x);
}

int main(void) {
    test_statistics();
    test_determinism();
    test_identity_and_edges();
    test_gradient_by_hand();
    test_gradient_fd();
    return test_summary("test_dropout");
}
