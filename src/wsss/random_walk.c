/* PSA's random walk, applied as a sparse operator (random_walk.h). */
#include "wsss/random_walk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/autograd.h"
#include "wsss/crf.h"
#include "wsss/error.h"
#include "wsss/ops.h"

void wsss_rw_offsets(int dy[WSSS_RW_OFFSETS], int dx[WSSS_RW_OFFSETS]) {
    const int r = WSSS_RW_RADIUS;
    int k = 0;
    for (int x = 1; x < r; x++) dy[k] = 0, dx[k++] = x;
    for (int y = 1; y < r; y++)
        for (int x = -r + 1; x < r; x++)
            if (x * x + y * y < r * r) dy[k] = y, dx[k++] = x;
}

void wsss_rw_from_window(int h, int w, int *y0, int *y1, int *x0, int *x1) {
    /* PSA crops radius-1 rows at the bottom and radius-1 columns on each side, so every offset stays
     * inside the grid */
    const int r1 = WSSS_RW_RADIUS - 1;
    *y0 = *y1 = *x0 = *x1 = 0;
    if (h > r1 && w > 2 * r1) {
        *y1 = h - r1;
        *x0 = r1;
        *x1 = w - r1;
    }
}

int64_t wsss_rw_num_pairs(int h, int w) {
    int y0, y1, x0, x1;
    wsss_rw_from_window(h, w, &y0, &y1, &x0, &x1);
    return (int64_t)WSSS_RW_OFFSETS * (y1 - y0) * (x1 - x0);
}

void wsss_rw_pairs(int h, int w, int64_t *from, int64_t *to) {
    int dy[WSSS_RW_OFFSETS], dx[WSSS_RW_OFFSETS];
    wsss_rw_offsets(dy, dx);
    int y0, y1, x0, x1;
    wsss_rw_from_window(h, w, &y0, &y1, &x0, &x1);
    int64_t k = 0;
    for (int o = 0; o < WSSS_RW_OFFSETS; o++)
        for (int64_t y = y0; y < y1; y++)
            for (int64_t x = x0; x < x1; x++, k++) {
                from[k] = y * w + x;
                to[k] = (y + dy[o]) * w + x + dx[o];
            }
}

/* T by columns: column j's entries (row index, value) at start[j] .. start[j + 1], its own cell first. */
typedef struct sparse_columns {
    int64_t *start, *row;
    double *val;
} sparse_columns;

static void columns_build(int64_t n, int64_t n_pairs, const int64_t *from, const int64_t *to, const float *aff,
                          double beta, sparse_columns *T) {
    T->start = wsss_xcalloc((size_t)n + 1, sizeof *T->start);
    for (int64_t k = 0; k < n_pairs; k++) T->start[from[k] + 1]++, T->start[to[k] + 1]++;
    for (int64_t j = 0; j < n; j++) T->start[j + 1] += T->start[j] + 1; /* + the cell itself */
    const int64_t nnz = T->start[n];
    T->row = wsss_xmalloc((size_t)nnz * sizeof *T->row);
    T->val = wsss_xmalloc((size_t)nnz * sizeof *T->val);
    int64_t *fill = wsss_xmalloc((size_t)n * sizeof *fill);
    for (int64_t j = 0; j < n; j++) {
        fill[j] = T->start[j] + 1;
        T->row[T->start[j]] = j;
        T->val[T->start[j]] = 1.0; /* A_jj = 1, and 1^beta = 1 */
    }
    for (int64_t k = 0; k < n_pairs; k++) {
        const double a = pow((double)aff[k], beta);
        T->row[fill[to[k]]] = from[k], T->val[fill[to[k]]++] = a;   /* A_ij, column j = to */
        T->row[fill[from[k]]] = to[k], T->val[fill[from[k]]++] = a; /* A_ji, column i = from */
    }
    free(fill);
    for (int64_t j = 0; j < n; j++) { /* column sums to 1 */
        double s = 0;
        for (int64_t e = T->start[j]; e < T->start[j + 1]; e++) s += T->val[e];
        for (int64_t e = T->start[j]; e < T->start[j + 1]; e++) T->val[e] /= s;
    }
}

static void columns_free(sparse_columns *T) {
    free(T->start);
    free(T->row);
    free(T->val);
}

int wsss_rw_walk(int h, int w, const float *aff, double beta, int t, int channels, float *v) {
    if (h <= 0 || w <= 0 || channels < 0) return wsss_error_set("random walk: bad grid %dx%d or %d channels", h, w, channels);
    if (!(beta > 0) || t < 0) return wsss_error_set("random walk: beta %g must be > 0 and t %d >= 0", beta, t);
    const int64_t n = (int64_t)h * w, n_pairs = wsss_rw_num_pairs(h, w);
    for (int64_t k = 0; k < n_pairs; k++)
        if (!(aff[k] >= 0.0f && aff[k] <= 1.0f))
            return wsss_error_set("random walk: affinity %lld is %g, outside [0, 1]", (long long)k, (double)aff[k]);
    int64_t *from = wsss_xmalloc((size_t)(2 * n_pairs + 1) * sizeof *from), *to = from + n_pairs;
    wsss_rw_pairs(h, w, from, to);
    sparse_columns T;
    columns_build(n, n_pairs, from, to, aff, beta, &T);
    free(from);
    /* seeds cell-major (n x C) so each column entry is one contiguous multiply-add over the
     * channels */
    const int64_t total = (int64_t)channels * n;
    double *cur = wsss_xmalloc((size_t)(2 * total + 1) * sizeof *cur), *next = cur + total;
    for (int c = 0; c < channels; c++)
        for (int64_t i = 0; i < n; i++) cur[i * channels + c] = v[(int64_t)c * n + i];
    for (int step = 0; step < t; step++) {
        /* next[j, c] = sum_i cur[i, c] T_ij: each output cell on its own, so any thread count gives
         * the same bits */
#pragma omp parallel for schedule(static) if (total * 69 > 1 << 16)
        for (int64_t j = 0; j < n; j++) {
            double *out = next + j * channels;
            for (int c = 0; c < channels; c++) out[c] = 0;
            for (int64_t e = T.start[j]; e < T.start[j + 1]; e++) {
                const double wgt = T.val[e], *src = cur + T.row[e] * channels;
#pragma omp simd
                for (int c = 0; c < channels; c++) out[c] += wgt * src[c];
            }
        }
        double *swap = cur;
        cur = next;
        next = swap;
    }
    for (int c = 0; c < channels; c++)
        for (int64_t i = 0; i < n; i++) v[(int64_t)c * n + i] = (float)cur[i * channels + c];
    free(cur < next ? cur : next);
    columns_free(&T);
    return WSSS_OK;
}

/* Sizes the label steps share (message on error). */
static int check_label_sizes(int H, int W, int n) {
    if (H <= 0 || W <= 0 || n < 0 || n > 254) return wsss_error_set("random walk labels: bad size %dx%d or %d maps", H, W, n);
    return WSSS_OK;
}

int wsss_rw_seeds(int H, int W, const float *maps, int n, double bg_pow, float *v) {
    if (check_label_sizes(H, W, n) != WSSS_OK) return WSSS_ERR;
    const int h = (H + 7) / 8, w = (W + 7) / 8, L = n + 1;
    const int64_t hw = (int64_t)H * W, padded = (int64_t)64 * h * w;
    wsss_ctx *ctx = wsss_ctx_new();
    /* the stack, zero-padded bottom/right to the feature grid's 8x */
    wsss_tensor *stack = wsss_ctx_tensor(ctx, WSSS_F32, 4, (int64_t[]){1, L, 8 * h, 8 * w});
    float *s = wsss_f32(stack);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const int64_t i = (int64_t)y * W + x, o = (int64_t)y * 8 * w + x;
            float mx = 0;
            for (int k = 0; k < n; k++) {
                const float a = maps[k * hw + i];
                s[(k + 1) * padded + o] = a;
                if (a > mx) mx = a;
            }
            s[o] = (float)pow(mx < 1 ? 1 - mx : 0, bg_pow);
        }
    wsss_tensor *pooled = wsss_avgpool2d(ctx, stack, (wsss_pool2d_params){.kernel = {8, 8}, .count_include_pad = 1});
    memcpy(v, wsss_f32(wsss_ctx_contiguous(ctx, pooled)), sizeof(float) * (size_t)L * h * w);
    wsss_ctx_free(ctx);
    return WSSS_OK;
}

int wsss_rw_labels_from_walked(int H, int W, const float *walked, int n, const int *classes, uint8_t *out) {
    if (check_label_sizes(H, W, n) != WSSS_OK) return WSSS_ERR;
    const int h = (H + 7) / 8, w = (W + 7) / 8, L = n + 1;
    const int64_t padded = (int64_t)64 * h * w;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *v = wsss_ctx_tensor(ctx, WSSS_F32, 4, (int64_t[]){1, L, h, w});
    memcpy(wsss_f32(v), walked, sizeof(float) * (size_t)L * h * w);
    wsss_tensor *up = wsss_resize_bilinear(ctx, v, 8 * h, 8 * w, 0);
    uint8_t *lab = wsss_xmalloc((size_t)padded);
    int rc = wsss_crf_argmax(wsss_f32(wsss_ctx_contiguous(ctx, up)), L, padded, lab);
    for (int y = 0; rc == WSSS_OK && y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t l = lab[(int64_t)y * 8 * w + x];
            out[(int64_t)y * W + x] = l == 0 ? 0 : (uint8_t)classes[l - 1];
        }
    free(lab);
    wsss_ctx_free(ctx);
    return rc;
}

int wsss_rw_labels(int H, int W, const float *maps, int n, const int *classes, const float *aff, double beta, int t,
                   double bg_pow, uint8_t *out) {
    if (check_label_sizes(H, W, n) != WSSS_OK) return WSSS_ERR;
    const int h = (H + 7) / 8, w = (W + 7) / 8, L = n + 1;
    float *v = wsss_xmalloc(sizeof(float) * (size_t)L * h * w);
    int rc = wsss_rw_seeds(H, W, maps, n, bg_pow, v);
    if (rc == WSSS_OK) rc = wsss_rw_walk(h, w, aff, beta, t, L, v);
    if (rc == WSSS_OK) rc = wsss_rw_labels_from_walked(H, W, v, n, classes, out);
    free(v);
    return rc;
}
