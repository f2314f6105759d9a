/* AffinityNet's affinities of cell pairs within a radius (ops.h, refinement.md §b.3): one op over
 * all offsets instead of one slice, subtraction and reduction per offset. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/ops.h"

typedef struct pair_affinity_attrs {
    int n_off, dy[WSSS_PAIR_MAX_OFFSETS], dx[WSSS_PAIR_MAX_OFFSETS];
    int y0, y1, x0, x1;
} pair_affinity_attrs;

static inline double at(const wsss_tensor *t, int64_t i) {
    return t->dtype == WSSS_F64 ? ((const double *)t->data)[i] : (double)((const float *)t->data)[i];
}

/* Cell index of from cell p (row-major in the window) and of its partner at offset o. */
static inline void pair_cells(const pair_affinity_attrs *a, int64_t W, int o, int64_t p, int64_t *i, int64_t *j) {
    const int64_t fw = a->x1 - a->x0, y = a->y0 + p / fw, x = a->x0 + p % fw;
    *i = y * W + x;
    *j = (y + a->dy[o]) * W + x + a->dx[o];
}

/* out[b, o, p] = exp(-mean_c |x[b, c, i] - x[b, c, j]|) in double, stored as x's dtype */
static void forward(const pair_affinity_attrs *a, const wsss_tensor *x, wsss_tensor *out) {
    const int64_t N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], W = x->shape[3];
    const int64_t P = (int64_t)(a->y1 - a->y0) * (a->x1 - a->x0);
    const int f64 = x->dtype == WSSS_F64;
#pragma omp parallel for collapse(2) if (N * a->n_off * P * C > 1 << 16)
    for (int64_t b = 0; b < N; b++)
        for (int o = 0; o < a->n_off; o++)
            for (int64_t p = 0; p < P; p++) {
                int64_t i, j;
                pair_cells(a, W, o, p, &i, &j);
                double s = 0;
                for (int64_t c = 0; c < C; c++) {
                    const int64_t base = (b * C + c) * HW;
                    s += fabs(at(x, base + i) - at(x, base + j));
                }
                const double v = exp(-s / (double)C);
                const int64_t k = (b * a->n_off + o) * P + p;
                if (f64)
                    ((double *)out->data)[k] = v;
                else
                    ((float *)out->data)[k] = (float)v;
            }
}

/* d/dx[i] of out = out * (-1/C) * sign(x[i] - x[j]) (sign(0) = 0, as |.|'s gradient in PyTorch), the
 * opposite for x[j]. Accumulated per image over its pairs in a fixed order: one thread an image, so
 * the sums do not depend on the thread count. */
static void pair_affinity_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    const pair_affinity_attrs *a = n->attrs;
    wsss_tensor *xin = n->inputs[0];
    const wsss_tensor *x = n->saved[0], *out = n->saved[1];
    const int64_t N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], W = x->shape[3];
    const int64_t P = (int64_t)(a->y1 - a->y0) * (a->x1 - a->x0);
    wsss_tensor *gx = wsss_ctx_tensor(ctx, WSSS_F64, 4, x->shape);
    double *dx = gx->data;
#pragma omp parallel for if (N > 1)
    for (int64_t b = 0; b < N; b++)
        for (int o = 0; o < a->n_off; o++)
            for (int64_t p = 0; p < P; p++) {
                const int64_t k = (b * a->n_off + o) * P + p;
                const double d = at(g, k) * at(out, k) / (double)C;
                if (d == 0) continue;
                int64_t i, j;
                pair_cells(a, W, o, p, &i, &j);
                for (int64_t c = 0; c < C; c++) {
                    const int64_t base = (b * C + c) * HW;
                    const double diff = at(x, base + i) - at(x, base + j);
                    const double s = diff > 0 ? -d : diff < 0 ? d : 0.0;
                    dx[base + i] += s;
                    dx[base + j] -= s;
                }
            }
    if (xin->dtype == WSSS_F64) {
        wsss_grad_accumulate_release(ctx, xin, gx);
    } else {
        wsss_tensor *g32 = wsss_ctx_tensor(ctx, WSSS_F32, 4, x->shape);
        for (int64_t e = 0; e < N * C * HW; e++) ((float *)g32->data)[e] = (float)dx[e];
        wsss_ctx_release(ctx, gx);
        wsss_grad_accumulate_release(ctx, xin, g32);
    }
}

wsss_tensor *wsss_pair_affinity(wsss_ctx *ctx, wsss_tensor *x, int n_off, const int *dy, const int *dx, int y0,
                                int y1, int x0, int x1) {
    WSSS_ASSERT(x->ndim == 4 && (x->dtype == WSSS_F32 || x->dtype == WSSS_F64), "pair affinity: F32/F64 N,C,H,W input");
    WSSS_ASSERT(n_off >= 1 && n_off <= WSSS_PAIR_MAX_OFFSETS, "pair affinity: 1..WSSS_PAIR_MAX_OFFSETS offsets");
    const int64_t H = x->shape[2], W = x->shape[3];
    WSSS_ASSERT(0 <= y0 && y0 <= y1 && y1 <= H && 0 <= x0 && x0 <= x1 && x1 <= W, "pair affinity: window inside x");
    pair_affinity_attrs at = {.n_off = n_off, .y0 = y0, .y1 = y1, .x0 = x0, .x1 = x1};
    for (int o = 0; o < n_off; o++) {
        at.dy[o] = dy[o];
        at.dx[o] = dx[o];
        WSSS_ASSERT(y1 == y0 || x1 == x0 ||
                        (y0 + dy[o] >= 0 && y1 - 1 + dy[o] < H && x0 + dx[o] >= 0 && x1 - 1 + dx[o] < W),
                    "pair affinity: an offset leaves the input from the window");
    }
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    wsss_tensor *out =
        wsss_ctx_tensor(ctx, x->dtype, 3, (int64_t[]){x->shape[0], n_off, (int64_t)(y1 - y0) * (x1 - x0)});
    forward(&at, xc, out);
    wsss_node *n = wsss_record(ctx, "pair_affinity", pair_affinity_backward, out, 1, &x, sizeof at);
    if (n) {
        memcpy(n->attrs, &at, sizeof at);
        wsss_node_save(n, (wsss_tensor *)xc);
        wsss_node_save(n, out);
    }
    return out;
}
