/* Label-free background threshold (cam_threshold.h): Otsu's split of the max-map histogram.
 * Oracles: a histogram whose best split is worked out by hand below; a brute-force search that
 * recomputes the between-class variance of every split from the raw pixel values' bins (sums over
 * the pixel list, not the cumulative sums of the implementation); the bin rules (max over maps,
 * clamping, NaN); and the file reader against wsss_cam_save'd maps, including its error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/cam.h"
#include "wsss/cam_threshold.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"
#include "wsss/tensor.h"

/* between-class variance x n^2 of the split "bin < j | bin >= j", straight from the pixel list */
static double split_score(const int *bin, int n, int j) {
    double w0 = 0, w1 = 0, s0 = 0, s1 = 0;
    for (int i = 0; i < n; i++) {
        if (bin[i] < j) {
            w0++;
            s0 += bin[i] + 0.5;
        } else {
            w1++;
            s1 += bin[i] + 0.5;
        }
    }
    if (w0 == 0 || w1 == 0) return -1;
    const double d = s0 / w0 - s1 / w1;
    return w0 * w1 * d * d;
}

int main(void) {
    wsss_runtime_init();
    /* ---- by hand: two pixels in bin 10, one in 50, one in 90. Splits 11..50 give {10,10}|{50,90}:
     * 2*2*(10.5-70.5)^2 = 14400; splits 51..90 give {10,10,50}|{90}: 3*1*(23.83-90.5)^2 = 13333;
     * so the first best split is 11 (threshold 0.11) ---- */
    wsss_cam_hist h;
    memset(&h, 0, sizeof h);
    const float by_hand[4] = {0.105f, 0.109f, 0.505f, 0.905f};
    wsss_cam_hist_add(&h, by_hand, 1, 4);
    CHECK(h.bins[10] == 2 && h.bins[50] == 1 && h.bins[90] == 1 && h.n_images == 1, "bins of the hand example");
    CHECK(wsss_cam_hist_otsu(&h) == 11, "hand example: got %d, expected 11", wsss_cam_hist_otsu(&h));

    /* ---- bin rules: the max over maps; < 0 and NaN to bin 0, >= 1 to the last bin; no maps: nothing ---- */
    memset(&h, 0, sizeof h);
    const float two_maps[2 * 4] = {0.2f, -0.5f, 1.5f, NAN, /* map 0 */ 0.7f, -0.1f, 0.3f, NAN /* map 1 */};
    wsss_cam_hist_add(&h, two_maps, 2, 4);
    CHECK(h.bins[70] == 1 && h.bins[0] == 2 && h.bins[99] == 1, "max over maps, clamping and NaN");
    wsss_cam_hist_add(&h, two_maps, 0, 4);
    CHECK(h.n_images == 1, "an image without maps adds nothing");
    wsss_cam_hist one;
    memset(&one, 0, sizeof one);
    CHECK(wsss_cam_hist_otsu(&one) == -1, "empty histogram: -1");
    one.bins[42] = 7;
    CHECK(wsss_cam_hist_otsu(&one) == -1, "a single bin: nothing to separate, -1");

    /* ---- random bimodal maps: the implementation's split equals the brute-force best ---- */
    wsss_rng rng;
    wsss_rng_seed(&rng, 7);
    for (int trial = 0; trial < 20; trial++) {
        const int n = 3000;
        float *v = malloc(sizeof(float) * n);
        int *bin = malloc(sizeof(int) * n);
        const double fg = 0.1 + 0.4 * wsss_rng_uniform(&rng), lo = 0.3 * wsss_rng_uniform(&rng);
        for (int i = 0; i < n; i++) {
            double x = wsss_rng_uniform(&rng) < fg ? 0.6 + 0.4 * wsss_rng_uniform(&rng) : lo * wsss_rng_uniform(&rng);
            v[i] = (float)x;
            bin[i] = x >= 1 ? 99 : (int)(x * 100);
        }
        wsss_cam_hist r;
        memset(&r, 0, sizeof r);
        wsss_cam_hist_add(&r, v, 1, n / 2); /* two "images" merged */
        wsss_cam_hist r2;
        memset(&r2, 0, sizeof r2);
        wsss_cam_hist_add(&r2, v + n / 2, 1, n - n / 2);
        wsss_cam_hist_merge(&r, &r2);
        int best = -1;
        double best_score = 0;
        for (int j = 1; j < WSSS_CAM_HIST_BINS; j++) {
            const double s = split_score(bin, n, j);
            if (s > best_score * (1 + 1e-12)) {
                best_score = s;
                best = j;
            }
        }
        const int got = wsss_cam_hist_otsu(&r);
        CHECK(r.n_images == 2, "merge adds the image counts");
        CHECK(got == best || fabs(split_score(bin, n, got) - best_score) <= 1e-9 * best_score,
              "trial %d: otsu %d, brute force %d", trial, got, best);
        free(v);
        free(bin);
    }

    /* ---- from files: maps written by wsss_cam_save, an image without labels, a missing file ---- */
    const char *dir = test_tmp_dir("test_cam_threshold");
    const char *ids[3] = {"a", "b", "c"};
    wsss_tensor *m1 = wsss_tensor_new(WSSS_F32, 3, (int64_t[]){1, 1, 4});
    memcpy(m1->data, by_hand, sizeof by_hand);
    wsss_tensor *m0 = wsss_tensor_new(WSSS_F32, 3, (int64_t[]){0, 1, 4});
    char path[512];
    snprintf(path, sizeof path, "%s/a.safetensors", dir);
    CHECK(wsss_cam_save(path, "a", 3, m1, (const int[]){2}, NULL) == WSSS_OK, "save a: %s", wsss_error_msg());
    snprintf(path, sizeof path, "%s/b.safetensors", dir);
    CHECK(wsss_cam_save(path, "b", 3, m0, NULL, NULL) == WSSS_OK, "save b: %s", wsss_error_msg());
    wsss_cam_hist f;
    memset(&f, 0, sizeof f);
    CHECK(wsss_cam_hist_from_files(&f, dir, (char *const *)ids, 2, 3) == WSSS_OK, "from files: %s", wsss_error_msg());
    CHECK(f.n_images == 1 && f.bins[10] == 2 && wsss_cam_hist_otsu(&f) == 11, "from files: the hand example again");
    memset(&f, 0, sizeof f);
    CHECK(wsss_cam_hist_from_files(&f, dir, (char *const *)ids, 3, 3) == WSSS_ERR &&
              strstr(wsss_error_msg(), "c.safetensors") != NULL,
          "a missing map file is an error naming it: %s", wsss_error_msg());
    wsss_tensor_free(m1);
    wsss_tensor_free(m0);
    return test_summary("test_cam_threshold");
}
