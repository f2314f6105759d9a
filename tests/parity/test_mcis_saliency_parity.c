/* Saliency-guided pseudo labels (wsss_pseudo_saliency, pseudo_saliency.h; specs/mcis.md §7.1)
 * against a Python reference written from the spec's steps on the full K+1-channel stack
 * (scripts/gen_fixtures_mcis.py, tests/fixtures/mcis_saliency.safetensors): binary and graded
 * saliency, two classes in conflict (both at 1 on the same pixels: 255 there), and an image with
 * almost no foreground (all 255). Every label must be equal. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/pseudo_saliency.h"
#include "wsss/runtime.h"

#define FILE_NAME "mcis_saliency.safetensors"

static int64_t g_pixels;

static void run_case(const wsss_safetensors *st, const char *cs, void *user) {
    (void)user;
    int classes[16];
    const int n = fixture_meta_ints(st, cs, classes, 16);
    CHECK(n >= 1, "%s: metadata is not a class list", cs);
    wsss_tensor *maps = fixture_take_case(st, cs, "maps"), *sal = fixture_take_case(st, cs, "sal"), *want = fixture_take_case(st, cs, "labels");
    CHECK(maps->ndim == 3 && maps->shape[0] == n && sal->dtype == WSSS_U8 && want->dtype == WSSS_U8 &&
              wsss_tensor_same_shape(sal, want),
          "%s: maps n,H,W; saliency and labels U8 H,W", cs);
    const int64_t hw = wsss_tensor_numel(sal);
    uint8_t *got = wsss_xmalloc((size_t)hw);
    wsss_saliency_label_opts o;
    wsss_saliency_label_opts_default(&o);
    wsss_pseudo_saliency(&o, wsss_f32(maps), n, classes, sal->data, hw, got);
    const uint8_t *w = want->data;
    int64_t differ = 0, first = -1;
    for (int64_t i = 0; i < hw; i++)
        if (got[i] != w[i]) {
            if (first < 0) first = i;
            differ++;
        }
    CHECK(differ == 0, "%s: %lld of %lld labels differ (first at %lld: %d, want %d)", cs, (long long)differ,
          (long long)hw, (long long)first, first >= 0 ? got[first] : 0, first >= 0 ? w[first] : 0);
    g_pixels += hw;
    free(got);
    wsss_tensor_free(maps);
    wsss_tensor_free(sal);
    wsss_tensor_free(want);
}

int main(void) {
    wsss_runtime_init();
    const int n = fixture_each_case(FILE_NAME, run_case, NULL);
    CHECK(n == 4, "%s: expected 4 cases, found %d", FILE_NAME, n);
    printf("saliency pseudo labels vs the spec's Python reference: %lld pixels over %d cases\n", (long long)g_pixels, n);
    return test_summary("test_mcis_saliency_parity");
}
