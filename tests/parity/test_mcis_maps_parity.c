/* MCIS test-time aggregation (wsss_mcis_combine, mcis_maps.h; specs/mcis.md §6) against a Python
 * reference written from the spec (scripts/gen_fixtures_mcis.py, tests/fixtures/mcis_maps.safetensors)
 * on fixed random pair maps: the flip back of M2, the bicubic resizes of M3 and M4 to I's grid, the
 * per-class normalisation, the σ(mean) > 0.1 gates, the division by 5 and the truncation to 8 bits,
 * and the bicubic resize to the image (up and down) with rounding and saturation. The stored maps
 * are 8-bit levels / 255, so a difference is a whole level: float32 summation order may move a value
 * across a rounding boundary, so at most 1 level on at most 1% of the pixels is accepted, and none
 * on most cases in practice (the counts are printed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/mcis_maps.h"
#include "wsss/runtime.h"

#define FILE_NAME "mcis_maps.safetensors"

static int64_t g_pixels, g_off_by_one;

static void run_case(const wsss_safetensors *st, const char *cs, void *user) {
    (void)user;
    int v[8];
    const int nv = fixture_meta_ints(st, cs, v, 8);
    CHECK(nv >= 3, "%s: metadata is not 'H W class...'", cs);
    if (nv < 3) return;
    const int out_h = v[0], out_w = v[1], n = nv - 2;
    const int *classes = v + 2;
    wsss_tensor *flip1 = fixture_take_case(st, cs, "flip1"), *flip2 = fixture_take_case(st, cs, "flip2"), *small2 = fixture_take_case(st, cs, "small2"),
                *large2 = fixture_take_case(st, cs, "large2"), *cross = fixture_take_case(st, cs, "cross"), *want = fixture_take_case(st, cs, "maps");
    const wsss_mcis_pair_maps p = {flip1, flip2, small2, large2, cross};
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *got = NULL;
    wsss_mcis_combine(ctx, &p, n, classes, out_w, out_h, &got);
    CHECK(got->ndim == 3 && got->shape[0] == n && got->shape[1] == out_h && got->shape[2] == out_w,
          "%s: maps [n, H, W]", cs);
    int64_t off = 0, worse = 0, not_level = 0;
    const int64_t total = wsss_tensor_numel(want);
    for (int64_t i = 0; i < total && got->ndim == 3; i++) {
        const double g = wsss_f32(got)[i] * 255.0, w = wsss_f32(want)[i] * 255.0, d = fabs(g - w);
        not_level += fabs(g - nearbyint(g)) > 1e-3;
        off += d > 0.5;
        worse += d > 1.5;
    }
    CHECK(not_level == 0, "%s: %lld values are not 8-bit levels / 255", cs, (long long)not_level);
    CHECK(worse == 0 && off * 100 <= total, "%s: %lld of %lld pixels differ from the reference (%lld by more than one "
          "level)", cs, (long long)off, (long long)total, (long long)worse);
    g_pixels += total;
    g_off_by_one += off;
    int nonzero = 0;
    for (int64_t i = 0; i < total; i++) nonzero += wsss_f32(want)[i] > 0;
    CHECK(nonzero > 0, "%s: the reference maps are not all zero (a meaningful case)", cs);
    wsss_tensor_free(got);
    wsss_ctx_free(ctx);
    wsss_tensor *all[6] = {flip1, flip2, small2, large2, cross, want};
    for (int i = 0; i < 6; i++) wsss_tensor_free(all[i]);
}

int main(void) {
    wsss_runtime_init();
    const int n = fixture_each_case(FILE_NAME, run_case, NULL);
    CHECK(n == 3, "%s: expected 3 cases, found %d", FILE_NAME, n);
    printf("MCIS test-time aggregation vs the spec's Python reference: %lld of %lld pixels differ from it\n",
           (long long)g_off_by_one, (long long)g_pixels);
    return test_summary("test_mcis_maps_parity");
}
