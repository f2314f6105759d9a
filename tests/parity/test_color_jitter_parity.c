/* Colour jitter, resizing and normalisation against torchvision 0.14 on PIL images
 * (fixtures: scripts/gen_fixtures_augment.py). Expected: bit-exact uint8 images; normalised floats
 * equal to float32 rounding. Reports the number of differing bytes and the largest difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/augment.h"

#define FIX "augment_pil.safetensors"

static int g_worst; /* largest byte difference over all comparisons */

static wsss_image image_of(const wsss_tensor *t) {
    wsss_image im = {0};
    int c = t->ndim == 3 ? (int)t->shape[2] : 1;
    wsss_image_alloc(&im, (int)t->shape[1], (int)t->shape[0], c);
    memcpy(im.data, t->data, (size_t)wsss_tensor_numel(t));
    return im;
}

/* Compare an image with a U8 fixture exactly; print a summary of differences. */
static void same_bytes(const char *what, const wsss_image *got, const char *name) {
    wsss_tensor *want = fixture_load(FIX, name);
    int c = want->ndim == 3 ? (int)want->shape[2] : 1;
    if (got->width != want->shape[1] || got->height != want->shape[0] || got->channels != c) {
        CHECK(0, "%s: size %dx%dx%d, expected %lldx%lldx%d", what, got->width, got->height, got->channels,
              (long long)want->shape[1], (long long)want->shape[0], c);
        wsss_tensor_free(want);
        return;
    }
    const uint8_t *w = want->data;
    int64_t n = wsss_tensor_numel(want), bad = 0, first = -1;
    int maxd = 0;
    for (int64_t i = 0; i < n; i++) {
        int d = abs((int)got->data[i] - (int)w[i]);
        if (d) {
            bad++;
            if (first < 0) first = i;
        }
        if (d > maxd) maxd = d;
    }
    if (maxd > g_worst) g_worst = maxd;
    CHECK(bad == 0, "%s: %lld of %lld bytes differ (max %d); first at %lld: got %d expected %d", what, (long long)bad,
          (long long)n, maxd, (long long)first, first >= 0 ? got->data[first] : 0, first >= 0 ? w[first] : 0);
    wsss_tensor_free(want);
}

static void test_adjustments(void) {
    static const char *const ops[4] = {"brightness", "contrast", "saturation", "hue"};
    for (int op = 0; op < 4; op++) {
        char name[64];
        wsss_tensor *f = fixture_loadf(FIX, "%s_f", ops[op]);
        for (int k = 0; k < 3; k++) {
            wsss_tensor *in = fixture_loadf(FIX, "in_%d", k);
            for (int64_t j = 0; j < f->shape[0]; j++) {
                wsss_image im = image_of(in);
                float fac = wsss_f32(f)[j];
                switch (op) {
                case 0: wsss_adjust_brightness(&im, fac); break;
                case 1: wsss_adjust_contrast(&im, fac); break;
                case 2: wsss_adjust_saturation(&im, fac); break;
                default: wsss_adjust_hue(&im, fac); break;
                }
                char what[96];
                snprintf(name, sizeof name, "%s_%d_%lld", ops[op], k, (long long)j);
                snprintf(what, sizeof what, "%s(image %d, %g)", ops[op], k, fac);
                same_bytes(what, &im, name);
                wsss_image_free(&im);
            }
            wsss_tensor_free(in);
        }
        wsss_tensor_free(f);
    }
}

static void test_jitter(void) {
    for (int j = 0; j < 6; j++) {
        char name[64];
        wsss_tensor *order = fixture_loadf(FIX, "jit_order_%d", j);
        wsss_tensor *fac = fixture_loadf(FIX, "jit_factors_%d", j);
        wsss_jitter_draw d;
        memset(&d, 0, sizeof d);
        for (int k = 0; k < 4; k++) {
            d.order[k] = (int)((int64_t *)order->data)[k];
            d.factor[k] = wsss_f32(fac)[k];
            d.active[k] = 1;
        }
        for (int k = 0; k < 3; k++) {
            wsss_tensor *in = fixture_loadf(FIX, "in_%d", k);
            wsss_image im = image_of(in);
            wsss_jitter_apply(&im, &d);
            char what[64];
            snprintf(name, sizeof name, "jit_%d_%d", k, j);
            snprintf(what, sizeof what, "ColorJitter draw %d on image %d", j, k);
            same_bytes(what, &im, name);
            wsss_image_free(&im);
            wsss_tensor_free(in);
        }
        wsss_tensor_free(order);
        wsss_tensor_free(fac);
    }
}

static void test_resize(void) {
    static const int sizes[4][2] = {{8, 11}, {40, 50}, {13, 57}, {31, 40}};
    char name[64], what[96];
    for (int k = 0; k < 2; k++) {
        wsss_tensor *in = fixture_loadf(FIX, "in_%d", k);
        wsss_image im = image_of(in);
        for (int s = 0; s < 4; s++) {
            wsss_image out = {0};
            wsss_image_resize_bilinear(&im, 0, 0, im.width, im.height, sizes[s][1], sizes[s][0], 1, &out);
            snprintf(name, sizeof name, "resize_%d_%dx%d", k, sizes[s][0], sizes[s][1]);
            snprintf(what, sizeof what, "resize image %d to %dx%d", k, sizes[s][0], sizes[s][1]);
            same_bytes(what, &out, name);
            wsss_image_free(&out);
        }
        wsss_tensor *box = fixture_loadf(FIX, "rrc_box_%d", k);
        const int64_t *b = box->data; /* top, left, height, width, size */
        wsss_image out = {0};
        wsss_image_resize_bilinear(&im, (int)b[1], (int)b[0], (int)b[3], (int)b[2], (int)b[4], (int)b[4], 1, &out);
        snprintf(name, sizeof name, "rrc_%d", k);
        snprintf(what, sizeof what, "resized_crop image %d", k);
        same_bytes(what, &out, name);
        wsss_image_free(&out);
        wsss_tensor_free(box);
        wsss_image_free(&im);
        wsss_tensor_free(in);
    }
    for (int k = 0; k < 2; k++) {
        wsss_tensor *m = fixture_loadf(FIX, "mask_%d", k);
        snprintf(name, sizeof name, "nearest_%d", k);
        wsss_tensor *want = fixture_load(FIX, name);
        wsss_image im = image_of(m), out = {0};
        wsss_image_resize_nearest(&im, 0, 0, im.width, im.height, (int)want->shape[1], (int)want->shape[0], &out);
        snprintf(what, sizeof what, "nearest resize of mask %d", k);
        same_bytes(what, &out, name);
        wsss_image_free(&out);
        wsss_image_free(&im);
        wsss_tensor_free(m);
        wsss_tensor_free(want);
    }
}

/* 16k random colours through PIL's HSV round trip (and one saturation blend). */
static void test_many_colours(void) {
    const char *fix = "augment_pil_hue.safetensors";
    wsss_tensor *in = fixture_load(fix, "in"), *f = fixture_load(fix, "f");
    const char *names[3] = {"hue_0", "hue_1", "sat_2"};
    for (int j = 0; j < 3; j++) {
        wsss_image im = image_of(in);
        if (j < 2) wsss_adjust_hue(&im, wsss_f32(f)[j]);
        else wsss_adjust_saturation(&im, wsss_f32(f)[j]);
        wsss_tensor *want = fixture_load(fix, names[j]);
        int64_t n = wsss_tensor_numel(want), bad = 0;
        for (int64_t i = 0; i < n; i++) bad += im.data[i] != ((uint8_t *)want->data)[i];
        CHECK(bad == 0, "%s on 128x128 random colours: %lld bytes differ", names[j], (long long)bad);
        wsss_tensor_free(want);
        wsss_image_free(&im);
    }
    wsss_tensor_free(in);
    wsss_tensor_free(f);
}

static void test_normalize(void) {
    wsss_aug_config c;
    wsss_aug_config_default(&c);
    for (int k = 0; k < 3; k++) {
        char name[64];
        wsss_tensor *in = fixture_loadf(FIX, "in_%d", k);
        snprintf(name, sizeof name, "norm_%d", k);
        wsss_tensor *want = fixture_load(FIX, name);
        wsss_image im = image_of(in);
        wsss_tensor *got = wsss_tensor_new4(WSSS_F32, 2, 3, im.height, im.width);
        wsss_aug_write_image(&c, &im, NULL, got, 1);
        wsss_tensor *slot = wsss_tensor_header_like(got);
        slot->ndim = 3;
        for (int d = 0; d < 3; d++) {
            slot->shape[d] = got->shape[d + 1];
            slot->stride[d] = got->stride[d + 1];
        }
        slot->data = wsss_f32(got) + 3 * (int64_t)im.height * im.width;
        double e = check_close(name, slot, want, 0.0, 0.0);
        printf("  ToTensor+Normalize image %d: max abs error %.3g\n", k, e);
        wsss_tensor_destroy(slot);
        wsss_tensor_free(got);
        wsss_image_free(&im);
        wsss_tensor_free(in);
        wsss_tensor_free(want);
    }
}

int main(void) {
    test_adjustments();
    test_jitter();
    test_resize();
    test_many_colours();
    test_normalize();
    printf("  largest byte difference vs torchvision/PIL: %d\n", g_worst);
    return test_summary("test_color_jitter_parity");
}
