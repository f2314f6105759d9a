/* Augmentation: image and mask stay aligned through every transform (the image's colour encodes
 * the mask class at each pixel and must still decode to it afterwards, away from interpolation
 * boundaries), padding, flips, RandomResizedCrop parameters (hand-derived fallbacks), jitter draws,
 * determinism, and the copy into batch tensors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/augment.h"

#define NCLS 6
static const uint8_t k_pal[NCLS + 1][3] = {{0, 0, 0},     {230, 20, 20}, {20, 230, 20}, {20, 20, 230},
                                           {230, 230, 20}, {20, 230, 230}, {230, 20, 230}};

/* Blocks of varying size: class of (x, y) from a coarse irregular grid. */
static void make_pair(int w, int h, wsss_image *img, wsss_image *mask) {
    wsss_image_alloc(img, w, h, 3);
    wsss_image_alloc(mask, w, h, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int bx = x < 13 ? 0 : x < 40 ? 1 : x < 58 ? 2 : 3 + x / 30;
            int by = y < 9 ? 0 : y < 30 ? 1 : 2 + y / 25;
            int c = 1 + (bx * 3 + by * 2) % NCLS;
            mask->data[y * w + x] = (uint8_t)c;
            memcpy(img->data + (y * w + x) * 3, k_pal[c], 3);
        }
}

static int decode(const uint8_t *px) {
    int best = -1, bd = 1 << 30;
    for (int c = 1; c <= NCLS; c++) {
        int d = 0;
        for (int k = 0; k < 3; k++) d += (px[k] - k_pal[c][k]) * (px[k] - k_pal[c][k]);
        if (d < bd) {
            bd = d;
            best = c;
        }
    }
    return bd < 40 * 40 ? best : -1;
}

/* Pixels whose mask is uniform within `rad`: colour must decode to the class (or be the pad
 * colour where the mask is 255). Returns the number of mismatches; *checked counts pixels. */
static int check_alignment(const wsss_image *img, const wsss_image *mask, int rad, const uint8_t *pad, int64_t *checked) {
    int bad = 0;
    for (int y = rad; y < mask->height - rad; y++)
        for (int x = rad; x < mask->width - rad; x++) {
            int c = mask->data[y * mask->width + x], uni = 1;
            for (int dy = -rad; dy <= rad && uni; dy++)
                for (int dx = -rad; dx <= rad; dx++)
                    if (mask->data[(y + dy) * mask->width + x + dx] != c) {
                        uni = 0;
                        break;
                    }
            if (!uni) continue;
            const uint8_t *px = img->data + (y * img->width + x) * 3;
            (*checked)++;
            if (c == 255) bad += !pad || memcmp(px, pad, 3) != 0;
            else bad += decode(px) != c;
        }
    return bad;
}

static void test_alignment(void) {
    wsss_aug_config cfgs[5];
    const char *names[5] = {"deeplab-like (rescale, pad, crop, flip)", "RandomResizedCrop + flip",
                            "resize (aspect change)", "rescale range + crop smaller than image",
                            "everything: rescale, pad+crop, RRC, resize, flip"};
    wsss_aug_config_deeplab(&cfgs[0], 96); /* larger than the image: padding */
    wsss_aug_config_eader(&cfgs[1], 48);
    wsss_aug_config_default(&cfgs[2]);
    cfgs[2].resize_h = 40;
    cfgs[2].resize_w = 70;
    wsss_aug_config_default(&cfgs[3]);
    cfgs[3].scale_min = 0.5;
    cfgs[3].scale_max = 1.5;
    cfgs[3].crop_h = 33;
    cfgs[3].crop_w = 45;
    cfgs[3].hflip_p = 0.5;
    wsss_aug_config_default(&cfgs[4]);
    cfgs[4].scale_min = 0.6;
    cfgs[4].scale_max = 1.4;
    cfgs[4].crop_h = cfgs[4].crop_w = 80;
    cfgs[4].rrc_h = cfgs[4].rrc_w = 56;
    cfgs[4].rrc_scale[0] = 0.3;
    cfgs[4].resize_h = 50;
    cfgs[4].resize_w = 61;
    cfgs[4].hflip_p = 0.5;
    for (int k = 0; k < 5; k++) {
        int bad = 0, flips = 0, padded = 0;
        int64_t checked = 0;
        for (uint64_t s = 0; s < 40; s++) {
            wsss_image img, mask;
            make_pair(91, 67, &img, &mask);
            wsss_rng r;
            wsss_rng_seed3(&r, 3, (uint64_t)k, s);
            wsss_aug_record rec;
            wsss_aug_apply(&cfgs[k], &r, &img, &mask, &rec);
            int ow, oh;
            wsss_aug_output_size(&cfgs[k], 91, 67, &ow, &oh);
            if (k != 3 && k != 0) CHECK(img.width == ow && img.height == oh, "%s: size", names[k]);
            CHECK(mask.width == img.width && mask.height == img.height, "%s: mask size", names[k]);
            uint8_t pad[3];
            for (int c = 0; c < 3; c++) pad[c] = (uint8_t)lrintf(cfgs[k].pad_value[c]);
            /* PIL's antialiased bilinear reaches ~scale input pixels: a 2-pixel margin is enough here */
            bad += check_alignment(&img, &mask, 2, pad, &checked);
            flips += rec.flipped;
            for (int p = 0; p < mask.width * mask.height; p++) padded += mask.data[p] == 255;
            wsss_image_free(&img);
            wsss_image_free(&mask);
        }
        CHECK(bad == 0, "%s: %d of %lld interior pixels do not decode to their mask class", names[k], bad,
              (long long)checked);
        CHECK(checked > 20000, "%s: only %lld pixels checked", names[k], (long long)checked);
        if (cfgs[k].hflip_p > 0) CHECK(flips > 5 && flips < 35, "%s: %d flips in 40", names[k], flips);
        if (k == 0) CHECK(padded > 0, "crop larger than the image must pad the mask with 255");
        printf("  alignment %-50s %lld pixels checked, %d mismatches\n", names[k], (long long)checked, bad);
    }
}

/* A sharper probe for each single step: image R = source column, G = source row (linear ramps,
 * which bilinear filters of any width reproduce up to rounding), masks = column / row index. After
 * the step, the colour and the nearest-resampled mask must both round the same source coordinate:
 * |R - mask_x| <= 1 everywhere and equal almost everywhere; a one-pixel shift would break this. */
static void test_ramp_alignment(void) {
    const int W = 200, H = 150;
    wsss_aug_config cfgs[7];
    const char *names[7] = {"rescale", "crop", "pad+crop", "RRC shrink", "RRC enlarge", "resize", "flip"};
    for (int k = 0; k < 7; k++) wsss_aug_config_default(&cfgs[k]);
    cfgs[0].scale_min = 0.6;
    cfgs[0].scale_max = 1.4;
    cfgs[1].crop_h = 100;
    cfgs[1].crop_w = 120;
    cfgs[2].crop_h = 170;
    cfgs[2].crop_w = 230;
    cfgs[3].rrc_h = cfgs[3].rrc_w = 48;
    cfgs[4].rrc_h = cfgs[4].rrc_w = 180;
    cfgs[5].resize_h = 90;
    cfgs[5].resize_w = 170;
    cfgs[6].hflip_p = 1.0;
    for (int k = 0; k < 7; k++) {
        int64_t n = 0, exact = 0, far = 0;
        for (uint64_t s = 0; s < 20; s++) {
            wsss_image img, im2, mx, my;
            wsss_image_alloc(&img, W, H, 3);
            wsss_image_alloc(&mx, W, H, 1);
            wsss_image_alloc(&my, W, H, 1);
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    uint8_t *px = img.data + (y * W + x) * 3;
                    px[0] = (uint8_t)x;
                    px[1] = (uint8_t)y;
                    px[2] = 128;
                    mx.data[y * W + x] = (uint8_t)x;
                    my.data[y * W + x] = (uint8_t)y;
                }
            wsss_image_alloc(&im2, W, H, 3);
            memcpy(im2.data, img.data, (size_t)W * H * 3);
            wsss_rng r1, r2;
            wsss_rng_seed3(&r1, 8, (uint64_t)k, s);
            r2 = r1;
            wsss_aug_apply(&cfgs[k], &r1, &img, &mx, NULL);
            wsss_aug_apply(&cfgs[k], &r2, &im2, &my, NULL);
            CHECK(memcmp(img.data, im2.data, (size_t)img.width * img.height * 3) == 0, "same draws, same image");
            for (int p = 0; p < img.width * img.height; p++) {
                int u = mx.data[p], v = my.data[p];
                if (u == 255 || v == 255 || u < 5 || u > W - 6 || v < 5 || v > H - 6) continue;
                int du = abs(img.data[p * 3] - u), dv = abs(img.data[p * 3 + 1] - v);
                n++;
                exact += du == 0 && dv == 0;
                far += du > 1 || dv > 1;
            }
            wsss_image_free(&img);
            wsss_image_free(&im2);
            wsss_image_free(&mx);
            wsss_image_free(&my);
        }
        CHECK(n > 10000 && far == 0 && exact > 0.9 * n, "%s: %lld pixels, %lld exact, %lld off by more than 1",
              names[k], (long long)n, (long long)exact, (long long)far);
        printf("  ramp alignment %-12s %lld pixels, %.2f%% exact, %lld off by > 1\n", names[k], (long long)n,
               100.0 * exact / (n ? n : 1), (long long)far);
    }
}

static void test_flip_and_crop(void) {
    wsss_image a;
    wsss_image_alloc(&a, 3, 2, 1);
    for (int i = 0; i < 6; i++) a.data[i] = (uint8_t)i; /* rows 0 1 2 / 3 4 5 */
    wsss_image_hflip(&a);
    const uint8_t want[6] = {2, 1, 0, 5, 4, 3};
    CHECK(memcmp(a.data, want, 6) == 0, "hflip");
    wsss_image b;
    uint8_t fill = 9;
    wsss_image_crop_pad(&a, 1, -1, 3, 3, &fill, &b); /* one row above, one column right are outside */
    const uint8_t wb[9] = {9, 9, 9, 1, 0, 9, 4, 3, 9};
    CHECK(memcmp(b.data, wb, 9) == 0, "crop_pad");
    wsss_image_free(&b);
    /* nearest upscale by 2 repeats each pixel twice (PIL rule floor((x + 0.5) / 2)) */
    wsss_image_resize_nearest(&a, 0, 0, 3, 2, 6, 4, &b);
    const uint8_t wn[6] = {2, 2, 1, 1, 0, 0};
    CHECK(memcmp(b.data, wn, 6) == 0 && memcmp(b.data + 6, wn, 6) == 0 && b.data[18] == 5, "nearest x2");
    wsss_image_free(&b);
    /* bilinear of a constant image is the constant, for any size and antialias mode */
    wsss_image c, d;
    wsss_image_alloc(&c, 37, 23, 3);
    memset(c.data, 77, 37 * 23 * 3);
    for (int aa = 0; aa < 2; aa++) {
        wsss_image_resize_bilinear(&c, 3, 2, 30, 19, 11, 41, aa, &d);
        int ok = 1;
        for (int i = 0; i < 11 * 41 * 3; i++) ok &= d.data[i] == 77;
        CHECK(ok, "constant image stays constant (antialias %d)", aa);
        wsss_image_free(&d);
    }
    /* exact 2x downscale without antialias: pair means rounded half up, horizontally then vertically
     * (Pillow's 8-bit intermediate): (0+10)/2=5, (20+30)/2=25 -> 15; (100+200)/2=150, (50+51)/2=50.5->51
     * -> 100.5 -> 101 */
    wsss_image e;
    wsss_image_alloc(&e, 4, 2, 1);
    const uint8_t ev[8] = {0, 10, 100, 200, 20, 30, 50, 51};
    memcpy(e.data, ev, 8);
    wsss_image_resize_bilinear(&e, 0, 0, 4, 2, 2, 1, 0, &d);
    CHECK(d.data[0] == 15 && d.data[1] == 101, "2x2 means: %d %d (expected 15, 101)", d.data[0], d.data[1]);
    wsss_image_free(&d);
    wsss_image_free(&e);
    wsss_image_free(&c);
    wsss_image_free(&a);
}

static void test_rrc_params(void) {
    wsss_rng r;
    wsss_rng_seed(&r, 1);
    const double ratio[2] = {3.0 / 4.0, 4.0 / 3.0};
    /* impossible area fractions force torchvision's fallback */
    const double never[2] = {2.0, 3.0};
    int x, y, w, h;
    wsss_rrc_params(100, 20, never, ratio, &r, &x, &y, &w, &h); /* too wide: h = 20, w = round(20 * 4/3) */
    CHECK(w == 27 && h == 20 && x == 36 && y == 0, "wide fallback %d %d %d %d", x, y, w, h);
    wsss_rrc_params(20, 100, never, ratio, &r, &x, &y, &w, &h); /* too tall: w = 20, h = round(20 / (3/4)) */
    CHECK(w == 20 && h == 27 && x == 0 && y == 36, "tall fallback %d %d %d %d", x, y, w, h);
    wsss_rrc_params(50, 45, never, ratio, &r, &x, &y, &w, &h); /* ratio inside: whole image */
    CHECK(w == 50 && h == 45 && x == 0 && y == 0, "whole-image fallback");
    /* normal draws stay inside the image with area and aspect in range (up to rounding) */
    const double scale[2] = {0.08, 1.0};
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        wsss_rrc_params(500, 375, scale, ratio, &r, &x, &y, &w, &h);
        double a = (double)w * h / (500.0 * 375.0), asp = (double)w / h;
        if (x < 0 || y < 0 || x + w > 500 || y + h > 375 || a < 0.075 || a > 1.0 || asp < 0.72 || asp > 1.39) bad++;
    }
    CHECK(bad == 0, "%d RandomResizedCrop boxes out of range", bad);
}

static void test_jitter_draws(void) {
    wsss_jitter j = {0.3, 0.3, 0.3, 0.1};
    int bad = 0;
    int first[4] = {0};
    for (uint64_t s = 0; s < 500; s++) {
        wsss_rng r;
        wsss_rng_seed(&r, s);
        wsss_jitter_draw d;
        wsss_jitter_sample(&j, &r, &d);
        int seen = 0;
        for (int k = 0; k < 4; k++) seen |= 1 << d.order[k];
        first[d.order[0]]++;
        if (seen != 15) bad++;
        for (int k = 0; k < 3; k++)
            if (!d.active[k] || d.factor[k] < 0.7f || d.factor[k] > 1.3f) bad++;
        if (!d.active[3] || d.factor[3] < -0.1f || d.factor[3] > 0.1f) bad++;
    }
    CHECK(bad == 0, "%d bad jitter draws", bad);
    for (int k = 0; k < 4; k++) CHECK(first[k] > 80, "op %d first only %d of 500 times", k, first[k]);
    /* disabled factors are not drawn and not applied */
    wsss_jitter off = {0.5, 0, 0, 0};
    wsss_rng r;
    wsss_rng_seed(&r, 9);
    wsss_jitter_draw d;
    wsss_jitter_sample(&off, &r, &d);
    CHECK(d.active[0] && !d.active[1] && !d.active[2] && !d.active[3] && d.factor[0] >= 0.5f && d.factor[0] <= 1.5f,
          "only brightness active");

    /* jitter is a per-pixel colour map given the image: equal colours stay equal */
    wsss_image img, mask;
    make_pair(64, 48, &img, &mask);
    wsss_jitter_sample(&j, &r, &d);
    wsss_jitter_apply(&img, &d);
    uint8_t seen_col[NCLS + 1][3];
    int have[NCLS + 1] = {0}, incons = 0;
    for (int p = 0; p < 64 * 48; p++) {
        int c = mask.data[p];
        if (!have[c]) {
            memcpy(seen_col[c], img.data + p * 3, 3);
            have[c] = 1;
        } else {
            incons += memcmp(seen_col[c], img.data + p * 3, 3) != 0;
        }
    }
    CHECK(incons == 0, "jitter is not a per-pixel colour map (%d pixels)", incons);
    wsss_image_free(&img);
    wsss_image_free(&mask);
}

static void test_determinism_and_write(void) {
    wsss_aug_config c;
    wsss_aug_config_deeplab(&c, 80);
    c.jitter.brightness = 0.2;
    wsss_image i1, m1, i2, m2;
    make_pair(70, 50, &i1, &m1);
    make_pair(70, 50, &i2, &m2);
    wsss_rng r1, r2;
    wsss_rng_seed3(&r1, 1, 2, 3);
    wsss_rng_seed3(&r2, 1, 2, 3);
    wsss_aug_record a, b;
    wsss_aug_apply(&c, &r1, &i1, &m1, &a);
    wsss_aug_apply(&c, &r2, &i2, &m2, &b);
    CHECK(i1.width == 80 && i1.height == 80, "crop size");
    CHECK(memcmp(i1.data, i2.data, 80 * 80 * 3) == 0 && memcmp(m1.data, m2.data, 80 * 80) == 0,
          "same seed, same output");
    /* padded pixels are normalised from the exact mean: 0 in Caffe BGR mean subtraction */
    wsss_tensor *t = wsss_tensor_new4(WSSS_F32, 2, 3, 80, 80);
    wsss_aug_write_image(&c, &i1, a.valid, t, 1);
    int zeros = 0, pad_px = 0, bgr_ok = 1;
    for (int y = 0; y < 80; y++)
        for (int x = 0; x < 80; x++) {
            int inside = x >= a.valid[0] && x < a.valid[2] && y >= a.valid[1] && y < a.valid[3];
            CHECK(inside == (m1.data[y * 80 + x] != 255), "valid rect vs mask at %d,%d", x, y);
            if (!inside) {
                pad_px++;
                for (int k = 0; k < 3; k++) zeros += wsss_f32(t)[((1 * 3 + k) * 80 + y) * 80 + x] == 0.0f;
            } else {
                /* channel 0 is blue minus the blue mean */
                float want = (float)i1.data[(y * 80 + x) * 3 + 2] - 104.008f;
                bgr_ok &= wsss_f32(t)[((1 * 3 + 0) * 80 + y) * 80 + x] == want;
            }
        }
    CHECK(pad_px > 0 && zeros == 3 * pad_px, "padded pixels normalise to 0 (%d of %d)", zeros, 3 * pad_px);
    CHECK(bgr_ok, "BGR mean subtraction");
    /* slot 0 untouched */
    int untouched = 1;
    for (int i = 0; i < 3 * 80 * 80; i++) untouched &= wsss_f32(t)[i] == 0.0f;
    CHECK(untouched, "writing slot 1 touched slot 0");
    wsss_tensor *mu8 = wsss_tensor_new(WSSS_U8, 3, (int64_t[]){2, 80, 80});
    wsss_tensor *mi64 = wsss_tensor_new(WSSS_I64, 3, (int64_t[]){2, 80, 80});
    wsss_aug_write_mask(&m1, mu8, 0);
    wsss_aug_write_mask(&m1, mi64, 1);
    int same = 1;
    for (int p = 0; p < 6400; p++)
        same &= ((uint8_t *)mu8->data)[p] == m1.data[p] && ((int64_t *)mi64->data)[6400 + p] == m1.data[p];
    CHECK(same, "mask copy U8/I64");
    wsss_tensor_free(t);
    wsss_tensor_free(mu8);
    wsss_tensor_free(mi64);
    wsss_image_free(&i1);
    wsss_image_free(&m1);
    wsss_image_free(&i2);
    wsss_image_free(&m2);
}

int main(void) {
    test_alignment();
    test_ramp_alignment();
    test_flip_and_crop();
    test_rrc_params();
    test_jitter_draws();
    test_determinism_and_write();
    return test_summary("test_augment");
}
