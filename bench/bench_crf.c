/* Dense CRF speed: a synthetic 500x375 VOC-size image, 21 labels, PSA parameters (Gaussian 3/3,
 * bilateral 80/13/10, 10 mean-field iterations), one thread. Output: `crf_500x375_21x10 <seconds>`
 * (best of 3 runs of lattice building + inference), plus "# ..." lines with the split.
 * Usage: bench_crf [THREADS] (default 1) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wsss/crf.h"
#include "wsss/error.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"

#define BENCH_NAME "bench_crf"
#include "bench_util.h"

/* A photo-like scene: smooth background gradient, a few flat-coloured objects (discs), sensor
 * noise; the probability maps are blurry object masks plus low random clutter on all 21 channels. */
static void make_scene(int h, int w, int L, uint8_t *rgb, float *prob) {
    wsss_rng r;
    wsss_rng_seed(&r, 2024);
    enum { K = 6 };
    double cx[K], cy[K], rad[K], col[K][3];
    int cls[K];
    for (int k = 0; k < K; k++) {
        cx[k] = wsss_rng_range(&r, 0, w), cy[k] = wsss_rng_range(&r, 0, h), rad[k] = wsss_rng_range(&r, 30, 120);
        for (int c = 0; c < 3; c++) col[k][c] = wsss_rng_range(&r, 20, 235);
        cls[k] = 1 + (int)wsss_rng_below(&r, L - 1);
    }
    const int64_t n = (int64_t)h * w;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int64_t i = (int64_t)y * w + x;
            double c3[3] = {90 + 80.0 * x / w, 110 + 60.0 * y / h, 140 - 40.0 * x / w};
            int owner = -1;
            double soft = 0;
            for (int k = 0; k < K; k++) {
                double d = sqrt((x - cx[k]) * (x - cx[k]) + (y - cy[k]) * (y - cy[k]));
                if (d < rad[k]) {
                    owner = k;
                    for (int c = 0; c < 3; c++) c3[c] = col[k][c];
                }
                /* the maps are blurrier and a little larger than the objects, as CAMs are */
                double s = 1.0 / (1.0 + exp((d - rad[k] * 1.1) / 12.0));
                if (s > soft) soft = s;
            }
            for (int c = 0; c < 3; c++) {
                double v = c3[c] + wsss_rng_range(&r, -8, 8);
                rgb[i * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
            for (int l = 0; l < L; l++) prob[l * n + i] = (float)wsss_rng_range(&r, 0, 0.05);
            prob[0 * n + i] = (float)(1 - soft) + (float)wsss_rng_range(&r, 0, 0.2);
            if (owner >= 0) prob[(int64_t)cls[owner] * n + i] += (float)(soft * wsss_rng_range(&r, 0.5, 1.0));
        }
}

int main(int argc, char **argv) {
    const int h = 375, w = 500, L = 21;
    const int64_t n = (int64_t)h * w;
    wsss_set_threads(argc > 1 ? atoi(argv[1]) : 1);
    uint8_t *rgb = malloc((size_t)n * 3);
    float *prob = malloc((size_t)n * L * sizeof *prob), *u = malloc((size_t)n * L * sizeof *u);
    float *q = malloc((size_t)n * L * sizeof *q);
    make_scene(h, w, L, rgb, prob);
    if (wsss_crf_unary_psa(prob, L, n, u)) die("unary");
    const wsss_crf_params p = wsss_crf_params_psa();

    double best = INFINITY, best_build = 0, best_infer = 0, best_cpu = 0;
    for (int rep = 0; rep < 3; rep++) {
        double c0 = cpu_seconds(), t0 = wsss_now_seconds();
        wsss_crf *crf = wsss_crf_new(h, w);
        if (!crf || wsss_crf_add_gaussian(crf, p.gauss_sxy, p.gauss_compat) ||
            wsss_crf_add_bilateral(crf, rgb, p.bilat_sxy, p.bilat_srgb, p.bilat_compat))
            die("build");
        double t1 = wsss_now_seconds();
        if (wsss_crf_inference(crf, u, L, p.iterations, q)) die("inference");
        double t2 = wsss_now_seconds(), c2 = cpu_seconds();
        wsss_crf_free(crf);
        if (t2 - t0 < best) best = t2 - t0, best_build = t1 - t0, best_infer = t2 - t1, best_cpu = c2 - c0;
    }
    /* keep the result observable: share of pixels whose label changed from the unary's */
    int64_t changed = 0;
    for (int64_t i = 0; i < n; i++) {
        int a = 0, b = 0;
        for (int l = 1; l < L; l++) {
            if (q[l * n + i] > q[a * n + i]) a = l;
            if (u[l * n + i] < u[b * n + i]) b = l;
        }
        changed += a != b;
    }
    printf("# crf 500x375, 21 labels, PSA parameters, %d thread(s): lattices %.3f s, 10 iterations %.3f s "
           "(process CPU time %.3f s); %.1f%% of labels changed by the CRF\n",
           wsss_get_threads(), best_build, best_infer, best_cpu, 100.0 * changed / n);
    printf("crf_500x375_21x10 %.3f\n", best);
    free(rgb), free(prob), free(u), free(q);
    return 0;
}
