/* PSA's random walk, sparse (random_walk.h), against the dense formulation PSA runs: the pair set
 * enumerated here from refinement.md §b.2's wording (not the library's loops), the dense n x n
 * affinity matrix, A^beta, column normalisation and T^t by repeated squaring (t = 256: eight
 * squarings, as PSA) or repeated products, then v T^t. Grids with odd sizes, borders, the smallest
 * grid with pairs and grids with none; thread-count invariance; bad input. The labels (§b.5 steps
 * 4-6) against the same steps written out here: seeds, zero padding, 8x8 average pooling, the dense
 * walk, half-pixel bilinear upsampling (PyTorch's align_corners=False formula), argmax, crop. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/error.h"
#include "wsss/random_walk.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"

/* C = A B, n x n doubles */
static void matmul(int n, const double *a, const double *b, double *c) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
            c[i * n + j] = s;
        }
}

/* The spec's pairs: offsets (0, dx) dx = 1..4, then (dy, dx) dy = 1..4, dx = -4..4 with
 * dx^2 + dy^2 < 25; from cells rows 0..h-5, columns 4..w-5; offset-major. Returns the count. */
static int spec_pairs(int h, int w, int *from, int *to) {
    int oy[64], ox[64], no = 0, k = 0;
    for (int dx = 1; dx <= 4; dx++) oy[no] = 0, ox[no++] = dx;
    for (int dy = 1; dy <= 4; dy++)
        for (int dx = -4; dx <= 4; dx++)
            if (dx * dx + dy * dy < 25) oy[no] = dy, ox[no++] = dx;
    for (int o = 0; o < no; o++)
        for (int y = 0; y <= h - 5; y++)
            for (int x = 4; x <= w - 5; x++) {
                from[k] = y * w + x;
                to[k++] = (y + oy[o]) * w + x + ox[o];
            }
    return k;
}

/* v (C x n) T^t, dense */
static void dense_walk(int h, int w, const float *aff, int np, double beta, int t, int C, const float *v, double *out) {
    const int n = h * w;
    int *from = malloc(sizeof(int) * (size_t)(np + 1)), *to = malloc(sizeof(int) * (size_t)(np + 1));
    spec_pairs(h, w, from, to);
    double *T = calloc((size_t)n * n, sizeof *T), *P = calloc((size_t)n * n, sizeof *P), *tmp = calloc((size_t)n * n, sizeof *tmp);
    for (int i = 0; i < n; i++) T[i * n + i] = 1;
    for (int k = 0; k < np; k++) T[from[k] * n + to[k]] = T[to[k] * n + from[k]] = pow(aff[k], beta);
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += T[i * n + j];
        for (int i = 0; i < n; i++) T[i * n + j] /= s;
    }
    if (t == 256) {
        memcpy(P, T, sizeof(double) * (size_t)n * n);
        for (int s = 0; s < 8; s++) {
            matmul(n, P, P, tmp);
            memcpy(P, tmp, sizeof(double) * (size_t)n * n);
        }
    } else {
        for (int i = 0; i < n; i++) P[i * n + i] = 1;
        for (int s = 0; s < t; s++) {
            matmul(n, P, T, tmp);
            memcpy(P, tmp, sizeof(double) * (size_t)n * n);
        }
    }
    for (int c = 0; c < C; c++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += v[c * n + i] * P[i * n + j];
            out[c * n + j] = s;
        }
    free(from);
    free(to);
    free(T);
    free(P);
    free(tmp);
}

static void check_grid(int h, int w, int t, double beta, wsss_rng *rng) {
    const int n = h * w, C = 3;
    int *from = malloc(sizeof(int) * (size_t)(34 * n + 1)), *to = malloc(sizeof(int) * (size_t)(34 * n + 1));
    const int np = spec_pairs(h, w, from, to);
    CHECK(wsss_rw_num_pairs(h, w) == np, "%dx%d: %lld pairs, the spec's rule gives %d", h, w,
          (long long)wsss_rw_num_pairs(h, w), np);
    int64_t *lf = malloc(sizeof(int64_t) * (size_t)(np + 1)), *lt = malloc(sizeof(int64_t) * (size_t)(np + 1));
    wsss_rw_pairs(h, w, lf, lt);
    int same = 1;
    for (int k = 0; k < np; k++) same &= lf[k] == from[k] && lt[k] == to[k];
    CHECK(same, "%dx%d: pair cells in the spec's order", h, w);
    float *aff = malloc(sizeof(float) * (size_t)(np + 1)), *v = malloc(sizeof(float) * (size_t)C * n);
    for (int k = 0; k < np; k++) aff[k] = (float)(0.3 + 0.7 * wsss_rng_uniform(rng));
    if (np > 2) aff[1] = 1.0f, aff[2] = 0.0f; /* the ends of the range */
    for (int i = 0; i < C * n; i++) v[i] = (float)wsss_rng_uniform(rng);
    double *want = malloc(sizeof(double) * (size_t)C * n);
    dense_walk(h, w, aff, np, beta, t, C, v, want);
    float *got = malloc(sizeof(float) * (size_t)C * n);
    memcpy(got, v, sizeof(float) * (size_t)C * n);
    CHECK(wsss_rw_walk(h, w, aff, beta, t, C, got) == WSSS_OK, "%s", wsss_error_msg());
    double err = 0, mx = 0;
    for (int i = 0; i < C * n; i++) {
        err = fmax(err, fabs(got[i] - want[i]));
        mx = fmax(mx, fabs(want[i]));
    }
    CHECK(err <= 1e-5 * mx, "%dx%d t %d: max error %.3g of max %.3g", h, w, t, err, mx);
    printf("  %2dx%-2d t %3d beta %g: %4d pairs, max relative error %.2g\n", h, w, t, beta, np, err / mx);
    free(from);
    free(to);
    free(lf);
    free(lt);
    free(aff);
    free(v);
    free(want);
    free(got);
}

/* PyTorch's bilinear source coordinate (align_corners=False, upsampling): index pair and weight */
static void src_coord(int dst, int in, int out, int *i0, int *i1, double *l) {
    double src = (dst + 0.5) * ((double)in / out) - 0.5;
    if (src < 0) src = 0;
    *i0 = (int)floor(src);
    *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
    *l = src - *i0;
}

static void check_labels(wsss_rng *rng) {
    const int H = 37, W = 53, n = 2, h = 5, w = 7, L = n + 1, classes[2] = {4, 9};
    const int np = (int)wsss_rw_num_pairs(h, w);
    float *maps = malloc(sizeof(float) * n * H * W), *aff = malloc(sizeof(float) * (size_t)np);
    for (int k = 0; k < n; k++) { /* one soft blob a class */
        const double cy = 8 + 20 * k, cx = 12 + 25 * k;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                maps[(k * H + y) * W + x] =
                    (float)(exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / 120.0) * (0.9 + 0.1 * wsss_rng_uniform(rng)));
    }
    for (int k = 0; k < np; k++) aff[k] = (float)(0.5 + 0.5 * wsss_rng_uniform(rng));
    /* seeds pooled 8x8 over the zero-padded 40 x 56 */
    float *v = calloc((size_t)L * h * w, sizeof *v);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double mx = 0;
            for (int k = 0; k < n; k++) mx = fmax(mx, maps[(k * H + y) * W + x]);
            const int cell = (y / 8) * w + x / 8;
            v[cell] += (float)(pow(1 - mx, 16) / 64);
            for (int k = 0; k < n; k++) v[(k + 1) * h * w + cell] += maps[(k * H + y) * W + x] / 64.0f;
        }
    double *walked = malloc(sizeof(double) * L * h * w);
    dense_walk(h, w, aff, np, 8, 256, L, v, walked);
    uint8_t *got = malloc((size_t)H * W);
    CHECK(wsss_rw_labels(H, W, maps, n, classes, aff, 8, 256, 16, got) == WSSS_OK, "%s", wsss_error_msg());
    int differ = 0, seen[256] = {0};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int y0, y1, x0, x1;
            double ly, lx;
            src_coord(y, h, 8 * h, &y0, &y1, &ly);
            src_coord(x, w, 8 * w, &x0, &x1, &lx);
            int best = 0;
            double bv = -1;
            for (int c = 0; c < L; c++) {
                const double *p = walked + c * h * w;
                const double u = (1 - ly) * ((1 - lx) * p[y0 * w + x0] + lx * p[y0 * w + x1]) +
                                 ly * ((1 - lx) * p[y1 * w + x0] + lx * p[y1 * w + x1]);
                if (u > bv) bv = u, best = c;
            }
            const int want = best == 0 ? 0 : classes[best - 1];
            differ += got[y * W + x] != want;
            seen[got[y * W + x]] = 1;
        }
    /* float32 pooling and walk against double: only a pixel at a near-tie could differ */
    CHECK(differ <= H * W / 1000, "labels: %d of %d pixels differ from the reference", differ, H * W);
    CHECK(seen[0] && seen[4] && seen[9], "labels: background and both classes present (%d %d %d)", seen[0], seen[4],
          seen[9]);
    printf("  labels %dx%d: %d of %d pixels differ from the reference\n", H, W, differ, H * W);
    free(maps);
    free(aff);
    free(v);
    free(walked);
    free(got);
}

int main(void) {
    wsss_runtime_init();
    int dy[WSSS_RW_OFFSETS], dx[WSSS_RW_OFFSETS];
    wsss_rw_offsets(dy, dx);
    int ok = 1;
    for (int k = 0; k < WSSS_RW_OFFSETS; k++) ok &= dx[k] * dx[k] + dy[k] * dy[k] < 25 && (dy[k] > 0 || dx[k] > 0);
    CHECK(ok && dy[0] == 0 && dx[0] == 1 && dy[4] == 1 && dx[4] == -4 && dy[33] == 4 && dx[33] == 2,
          "the 34 offsets in PSA's order");

    wsss_rng rng;
    wsss_rng_seed(&rng, 11);
    check_grid(9, 13, 256, 8, &rng);  /* odd sizes */
    check_grid(12, 10, 256, 8, &rng); /* even, one from column band of 2 */
    check_grid(5, 9, 256, 8, &rng);   /* the smallest grid with pairs: one from cell */
    check_grid(11, 14, 7, 2.5, &rng); /* another t and beta */
    check_grid(4, 20, 256, 8, &rng);  /* too few rows: no pairs, T = I */
    check_grid(7, 8, 3, 8, &rng);     /* too few columns */
    check_labels(&rng);

    /* the same bits with 1 and 2 threads, on a grid large enough for the parallel loop */
    {
        const int h = 40, w = 50, C = 4, np = (int)wsss_rw_num_pairs(h, w);
        float *aff = malloc(sizeof(float) * (size_t)np), *a = malloc(sizeof(float) * C * h * w),
              *b = malloc(sizeof(float) * C * h * w);
        for (int k = 0; k < np; k++) aff[k] = (float)wsss_rng_uniform(&rng);
        for (int i = 0; i < C * h * w; i++) a[i] = b[i] = (float)wsss_rng_uniform(&rng);
        omp_set_num_threads(1);
        CHECK(wsss_rw_walk(h, w, aff, 8, 256, C, a) == WSSS_OK, "%s", wsss_error_msg());
        omp_set_num_threads(2);
        CHECK(wsss_rw_walk(h, w, aff, 8, 256, C, b) == WSSS_OK, "%s", wsss_error_msg());
        CHECK(memcmp(a, b, sizeof(float) * C * h * w) == 0, "1 and 2 threads give different bits");
        /* bad input */
        aff[7] = 1.5f;
        CHECK(wsss_rw_walk(h, w, aff, 8, 256, C, a) != WSSS_OK && strstr(wsss_error_msg(), "affinity 7"),
              "affinity > 1: %s", wsss_error_msg());
        aff[7] = NAN;
        CHECK(wsss_rw_walk(h, w, aff, 8, 256, C, a) != WSSS_OK, "NaN affinity accepted");
        aff[7] = 0.5f;
        CHECK(wsss_rw_walk(h, w, aff, 0, 256, C, a) != WSSS_OK, "beta 0 accepted");
        CHECK(wsss_rw_walk(h, w, aff, 8, -1, C, a) != WSSS_OK, "t -1 accepted");
        free(aff);
        free(a);
        free(b);
    }
    return test_summary("test_random_walk");
}
