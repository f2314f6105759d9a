/* Pair affinities (wsss_pair_affinity, ops.h): the forward against the definition written out per
 * pair (offsets and window of PSA's radius-5 rule, plus a hand-made offset list), the cell order
 * against the random walk's pairs (wsss_rw_pairs: affinity k of the op is pair k of the walk),
 * gradients against central differences (F64), F32 against F64, and an exact tie (|0|'s gradient 0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gradcheck.h"
#include "test_util.h"
#include "wsss/random_walk.h"
#include "wsss/runtime.h"

typedef struct pa_arg {
    int n_off, dy[WSSS_RW_OFFSETS], dx[WSSS_RW_OFFSETS], y0, y1, x0, x1;
} pa_arg;

static wsss_tensor *f_pair(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    const pa_arg *a = arg;
    return wsss_pair_affinity(ctx, in[0], a->n_off, a->dy, a->dx, a->y0, a->y1, a->x0, a->x1);
}

/* PSA's rule on an H x W grid: from rows 0..H-5, columns 4..W-5 */
static pa_arg psa_arg(int H, int W) {
    pa_arg a = {.n_off = WSSS_RW_OFFSETS, .y0 = 0, .y1 = H - 4, .x0 = 4, .x1 = W - 4};
    wsss_rw_offsets(a.dy, a.dx);
    return a;
}

static void check_forward(const char *what, const wsss_tensor *x, const pa_arg *a) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *out = f_pair(ctx, (wsss_tensor *[]){(wsss_tensor *)x}, a);
    const int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int64_t fw = a->x1 - a->x0, P = (a->y1 - a->y0) * fw;
    CHECK(out->ndim == 3 && out->shape[0] == N && out->shape[1] == a->n_off && out->shape[2] == P, "%s: shape", what);
    double err = 0;
    for (int64_t n = 0; n < N; n++)
        for (int o = 0; o < a->n_off; o++)
            for (int64_t p = 0; p < P; p++) {
                const int64_t y = a->y0 + p / fw, xx = a->x0 + p % fw;
                double s = 0;
                for (int64_t c = 0; c < C; c++)
                    s += fabs(wsss_tensor_get(x, ((n * C + c) * H + y) * W + xx) -
                              wsss_tensor_get(x, ((n * C + c) * H + y + a->dy[o]) * W + xx + a->dx[o]));
                err = fmax(err, fabs(wsss_tensor_get(out, (n * a->n_off + o) * P + p) - exp(-s / C)));
            }
    CHECK(err <= 1e-12, "%s: forward max error %.3g", what, err);
    wsss_ctx_free(ctx);
}

int main(void) {
    wsss_runtime_init();
    /* PSA's offsets on an odd grid, two images */
    const int64_t shape[4] = {2, 3, 9, 13};
    wsss_tensor *x = rand_leaf(4, shape, -1, 1, 41);
    pa_arg psa = psa_arg(9, 13);
    check_forward("psa 9x13", x, &psa);
    /* a hand-made list: left, up-left and far offsets on a window away from the border */
    pa_arg own = {.n_off = 3, .dy = {0, -1, 2}, .dx = {-2, -1, 3}, .y0 = 1, .y1 = 6, .x0 = 2, .x1 = 9};
    check_forward("own offsets", x, &own);

    /* op affinity k is the walk's pair k */
    {
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *out = f_pair(ctx, &x, &psa);
        const int64_t np = wsss_rw_num_pairs(9, 13), C = 3, HW = 9 * 13;
        int64_t *from = malloc(sizeof(int64_t) * (size_t)np), *to = malloc(sizeof(int64_t) * (size_t)np);
        wsss_rw_pairs(9, 13, from, to);
        double err = 0;
        for (int64_t k = 0; k < np; k++) {
            double s = 0;
            for (int64_t c = 0; c < C; c++)
                s += fabs(wsss_tensor_get(x, c * HW + from[k]) - wsss_tensor_get(x, c * HW + to[k]));
            err = fmax(err, fabs(wsss_tensor_get(out, k) - exp(-s / C)));
        }
        CHECK(out->shape[1] * out->shape[2] == np && err <= 1e-12, "op order != walk pair order (error %.3g)", err);
        free(from);
        free(to);
        wsss_ctx_free(ctx);
    }

    gradcheck("pair affinity psa", f_pair, 1, &x, &psa, 1e-7, 1e-6);
    gradcheck("pair affinity own", f_pair, 1, &x, &own, 1e-7, 1e-6);
    f32_vs_f64("pair affinity", f_pair, 1, &x, &psa, 1e-5, 1e-5);

    /* an exact tie: a constant map has affinity 1 everywhere and gradient 0 (sign(0) = 0) */
    {
        wsss_tensor *z = wsss_tensor_new(WSSS_F64, 4, shape);
        for (int64_t i = 0; i < wsss_tensor_numel(z); i++) wsss_tensor_set(z, i, 0.25);
        z->requires_grad = 1;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *out = f_pair(ctx, &z, &psa);
        wsss_tensor *w = rand_tensor(WSSS_F64, out->ndim, out->shape, -1, 1, 3);
        CHECK(wsss_backward_with(ctx, out, w) == WSSS_OK, "backward");
        double mx = 0, g = 0;
        for (int64_t i = 0; i < wsss_tensor_numel(out); i++) mx = fmax(mx, fabs(wsss_tensor_get(out, i) - 1));
        for (int64_t i = 0; z->grad && i < wsss_tensor_numel(z); i++) g = fmax(g, fabs(wsss_tensor_get(z->grad, i)));
        CHECK(mx == 0 && z->grad && g == 0, "constant map: affinity off 1 by %.3g, gradient %.3g", mx, g);
        wsss_tensor_free(w);
        wsss_ctx_free(ctx);
        wsss_tensor_free(z);
    }
    gc_report("pair affinity");
    wsss_tensor_free(x);
    return test_summary("test_pair_affinity");
}
