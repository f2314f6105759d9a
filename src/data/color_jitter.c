/* Colour jitter with torchvision 0.14 ColorJitter semantics on PIL images (Pillow 9.4):
 * brightness / contrast / saturation are ImageEnhance blends `degenerate + f * (img - degenerate)`
 * computed in float32 and truncated (clipped to 0..255 only when f > 1), against black, the rounded
 * mean of the greyscale image, and the greyscale image (L = (19595 R + 38470 G + 7471 B + 2^15) >> 16).
 * Hue: PIL's 8-bit RGB -> HSV, H += uint8(trunc(f * 255)) modulo 256, HSV -> RGB.
 * This file must not be built with floating-point contraction (FMA) for bit-exactness: C11 mode
 * (no GNU extensions) keeps -ffp-contract=off, which the build uses. */
#include <math.h>
#include <string.h>

#include "wsss/augment.h"
#include "wsss/error.h"

static inline uint8_t grey_l(const uint8_t *p) {
    return (uint8_t)(((uint32_t)p[0] * 19595u + (uint32_t)p[1] * 38470u + (uint32_t)p[2] * 7471u + 0x8000u) >> 16);
}

/* One channel of PIL's blend(im1 = degenerate d, im2 = image x, alpha). */
static inline uint8_t blend8(int d, int x, float alpha) {
    float v = (float)d + alpha * (float)(x - d);
    if (alpha >= 0.0f && alpha <= 1.0f) return (uint8_t)v; /* stays within [d, x]: truncation */
    if (v <= 0.0f) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)v;
}

/* Blend of every channel value with one constant degenerate value, through a 256-entry table
 * computed with the same float32 formula (exact, and cheaper than per-pixel float math). */
static void blend_const(wsss_image *img, int d, float f) {
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) lut[v] = blend8(d, v, f);
    size_t n = (size_t)img->width * img->height * 3;
    for (size_t i = 0; i < n; i++) img->data[i] = lut[img->data[i]];
}

void wsss_adjust_brightness(wsss_image *img, float f) {
    WSSS_ASSERT(img->channels == 3, "brightness needs an RGB image");
    blend_const(img, 0, f);
}

void wsss_adjust_contrast(wsss_image *img, float f) {
    WSSS_ASSERT(img->channels == 3, "contrast needs an RGB image");
    size_t np = (size_t)img->width * img->height;
    /* ImageStat mean of the L image from its histogram, then int(mean + 0.5) */
    uint64_t sum = 0;
    for (size_t p = 0; p < np; p++) sum += grey_l(img->data + p * 3);
    double mean = np ? (double)sum / (double)np : 0.0;
    blend_const(img, (int)(mean + 0.5), f);
}

void wsss_adjust_saturation(wsss_image *img, float f) {
    WSSS_ASSERT(img->channels == 3, "saturation needs an RGB image");
    size_t np = (size_t)img->width * img->height;
    for (size_t p = 0; p < np; p++) {
        uint8_t *px = img->data + p * 3;
        int l = grey_l(px);
        for (int k = 0; k < 3; k++) px[k] = blend8(l, px[k], f);
    }
}

static inline uint8_t clip8i(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* C's round() (half away from zero) for x >= 0 without the library call: x - floor(x) is exact. */
static inline int round_pos(double x) {
    double f = floor(x);
    return (int)(x - f >= 0.5 ? f + 1.0 : f);
}

/* PIL's RGB -> HSV (all channels 0..255), following Python's colorsys with float32 intermediates. */
static void rgb_to_hsv8(const uint8_t *in, uint8_t *out) {
    int r = in[0], g = in[1], b = in[2];
    int maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
    out[2] = (uint8_t)maxc;
    if (maxc == minc) {
        out[0] = 0;
        out[1] = 0;
        return;
    }
    float cr = (float)(maxc - minc);
    float s = cr / (float)maxc;
    /* only the two ratios the branch needs (same float values as computing all three) */
    float h;
    if (r == maxc) h = (float)(maxc - b) / cr - (float)(maxc - g) / cr;
    else if (g == maxc) h = (float)(2.0 + (float)(maxc - r) / cr - (float)(maxc - b) / cr);
    else h = (float)(4.0 + (float)(maxc - g) / cr - (float)(maxc - r) / cr);
    /* fmod(x, 1.0) for x = h / 6 + 1 in [5/6, 11/6): x - 1 is exact there (Sterbenz) */
    double x = h / 6.0 + 1.0;
    h = (float)(x >= 1.0 ? x - 1.0 : x);
    out[0] = clip8i((int)(h * 255.0));
    out[1] = clip8i((int)(s * 255.0));
}

/* PIL's HSV -> RGB. */
static void hsv8_to_rgb(const uint8_t *in, uint8_t *out) {
    int h = in[0], s = in[1], v = in[2];
    if (s == 0) {
        out[0] = out[1] = out[2] = (uint8_t)v;
        return;
    }
    int i = (int)floor((float)h * 6.0 / 255.0);
    float f = (float)((float)h * 6.0 / 255.0 - (float)i);
    float fs = f * (float)s;
    /* arguments are >= 0 up to rounding; a tiny negative rounds to 0 either way */
    double ap = (float)v * (1.0 - (float)s / 255.0), aq = (float)v * (1.0 - fs / 255.0),
           at = (float)v * (1.0 - ((float)s - fs) / 255.0);
    uint8_t p = clip8i(ap < 0 ? (int)round(ap) : round_pos(ap));
    uint8_t q = clip8i(aq < 0 ? (int)round(aq) : round_pos(aq));
    uint8_t t = clip8i(at < 0 ? (int)round(at) : round_pos(at));
    uint8_t V = (uint8_t)v;
    switch (i % 6) {
    case 0: out[0] = V; out[1] = t; out[2] = p; break;
    case 1: out[0] = q; out[1] = V; out[2] = p; break;
    case 2: out[0] = p; out[1] = V; out[2] = t; break;
    case 3: out[0] = p; out[1] = q; out[2] = V; break;
    case 4: out[0] = t; out[1] = p; out[2] = V; break;
    default: out[0] = V; out[1] = p; out[2] = q; break;
    }
}

void wsss_adjust_hue(wsss_image *img, float f) {
    WSSS_ASSERT(img->channels == 3, "hue needs an RGB image");
    WSSS_ASSERT(f >= -0.5f && f <= 0.5f, "hue factor must be in [-0.5, 0.5]");
    /* numpy's np.uint8(f * 255): truncate toward zero, then wrap modulo 256 */
    int shift = ((int)((double)f * 255.0) % 256 + 256) % 256;
    size_t np = (size_t)img->width * img->height;
    for (size_t p = 0; p < np; p++) {
        uint8_t *px = img->data + p * 3, hsv[3];
        rgb_to_hsv8(px, hsv);
        hsv[0] = (uint8_t)((hsv[0] + shift) & 255);
        hsv8_to_rgb(hsv, px);
    }
}

/* torch.randperm(4) then one uniform_ per enabled factor, in torchvision's order. */
void wsss_jitter_sample(const wsss_jitter *j, wsss_rng *r, wsss_jitter_draw *d) {
    memset(d, 0, sizeof *d);
    int64_t perm[4] = {0, 1, 2, 3};
    wsss_rng_shuffle_i64(r, perm, 4);
    for (int k = 0; k < 4; k++) d->order[k] = (int)perm[k];
    const double v[3] = {j->brightness, j->contrast, j->saturation};
    for (int k = 0; k < 3; k++) {
        if (!(v[k] > 0)) continue;
        double lo = 1.0 - v[k] < 0 ? 0 : 1.0 - v[k], hi = 1.0 + v[k];
        d->factor[k] = (float)wsss_rng_range(r, lo, hi);
        d->active[k] = 1;
    }
    if (j->hue > 0) {
        double h = j->hue > 0.5 ? 0.5 : j->hue;
        d->factor[3] = (float)wsss_rng_range(r, -h, h);
        if (d->factor[3] > 0.5f) d->factor[3] = 0.5f;
        if (d->factor[3] < -0.5f) d->factor[3] = -0.5f;
        d->active[3] = 1;
    }
    for (int k = 0; k < 3; k++)
        if (!d->active[k]) d->factor[k] = 1.0f;
}

void wsss_jitter_apply(wsss_image *img, const wsss_jitter_draw *d) {
    for (int k = 0; k < 4; k++) {
        int fn = d->order[k];
        if (!d->active[fn]) continue;
        switch (fn) {
        case 0: wsss_adjust_brightness(img, d->factor[0]); break;
        case 1: wsss_adjust_contrast(img, d->factor[1]); break;
        case 2: wsss_adjust_saturation(img, d->factor[2]); break;
        default: wsss_adjust_hue(img, d->factor[3]); break;
        }
    }
}
