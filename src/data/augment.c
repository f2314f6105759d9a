/* Geometric augmentation (resize, crop, flip, RandomResizedCrop), the pipeline, normalisation. */
#include "wsss/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"

/* ---------------------------------------------------------------- PIL-style bilinear resize */

#define PREC_BITS 22 /* Pillow's fixed-point precision for 8-bit images: 32 - 8 - 2 */

typedef struct coeffs {
    int ksize;
    int *bounds;  /* [out] pairs: first tap, tap count */
    int32_t *kk;  /* [out * ksize] fixed-point weights */
} coeffs;

static double triangle(double x) {
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Taps for resampling in_size samples to out_size: support widens by the scale when shrinking
 * (antialias), weights are normalised, then rounded to fixed point like Pillow. */
static void precompute(int in_size, int out_size, int antialias, coeffs *c) {
    double scale = (double)in_size / out_size;
    double filterscale = antialias && scale > 1.0 ? scale : 1.0;
    double support = 1.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    c->ksize = ksize;
    c->bounds = wsss_xmalloc((size_t)out_size * 2 * sizeof(int));
    c->kk = wsss_xcalloc((size_t)out_size * ksize, sizeof(int32_t));
    double *k = wsss_xmalloc((size_t)ksize * sizeof(double));
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            k[x] = triangle((x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        for (int x = 0; x < xmax; x++) {
            double w = ww != 0.0 ? k[x] / ww : k[x];
            c->kk[(size_t)xx * ksize + x] =
                w < 0 ? (int32_t)(-0.5 + w * (1 << PREC_BITS)) : (int32_t)(0.5 + w * (1 << PREC_BITS));
        }
        c->bounds[xx * 2] = xmin;
        c->bounds[xx * 2 + 1] = xmax;
    }
    free(k);
}

/* acc[i] += r[i] * k, eight lanes at a time (GCC/Clang vector extensions: -O2 in GCC 12 does not
 * vectorise loops that need a remainder). */
typedef int32_t v8i32 __attribute__((vector_size(32)));
typedef uint8_t v8u8 __attribute__((vector_size(8)));
static void row_accumulate(int32_t *acc, const uint8_t *r, int32_t k, int n) {
    int i = 0;
    v8i32 kv = (v8i32){0} + k;
    for (; i + 8 <= n; i += 8) {
        v8u8 b;
        v8i32 a;
        memcpy(&b, r + i, sizeof b);
        memcpy(&a, acc + i, sizeof a);
        a += __builtin_convertvector(b, v8i32) * kv;
        memcpy(acc + i, &a, sizeof a);
    }
    for (; i < n; i++) acc[i] += (int32_t)r[i] * k;
}

static inline uint8_t clip8(int32_t v) {
    if (v >= (1 << PREC_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PREC_BITS);
}

void wsss_image_resize_bilinear(const wsss_image *in, int x0, int y0, int w, int h, int out_w, int out_h,
                                int antialias, wsss_image *out) {
    WSSS_ASSERT(x0 >= 0 && y0 >= 0 && w > 0 && h > 0 && x0 + w <= in->width && y0 + h <= in->height,
                "resize box outside the image");
    WSSS_ASSERT(out_w > 0 && out_h > 0, "resize to an empty size");
    const int C = in->channels;
    coeffs ch, cv;
    precompute(w, out_w, antialias, &ch);
    precompute(h, out_h, antialias, &cv);
    /* rows of the box that the vertical pass reads */
    int yfirst = cv.bounds[0], ylast = cv.bounds[(out_h - 1) * 2] + cv.bounds[(out_h - 1) * 2 + 1];
    int th = ylast - yfirst;
    const int rowlen = out_w * C;
    uint8_t *tmp = wsss_xmalloc((size_t)th * rowlen);
    for (int y = 0; y < th; y++) {
        const uint8_t *row = in->data + ((size_t)(y0 + yfirst + y) * in->width + x0) * C;
        uint8_t *o = tmp + (size_t)y * rowlen;
        for (int xx = 0; xx < out_w; xx++) {
            int xmin = ch.bounds[xx * 2], xn = ch.bounds[xx * 2 + 1];
            const int32_t *k = ch.kk + (size_t)xx * ch.ksize;
            if (C == 3) { /* the three channels in one pass over the taps */
                const uint8_t *src = row + (size_t)xmin * 3;
                int32_t s0 = 1 << (PREC_BITS - 1), s1 = s0, s2 = s0;
                for (int x = 0; x < xn; x++) {
                    s0 += (int32_t)src[3 * x] * k[x];
                    s1 += (int32_t)src[3 * x + 1] * k[x];
                    s2 += (int32_t)src[3 * x + 2] * k[x];
                }
                o[(size_t)xx * 3] = clip8(s0);
                o[(size_t)xx * 3 + 1] = clip8(s1);
                o[(size_t)xx * 3 + 2] = clip8(s2);
            } else {
                for (int c = 0; c < C; c++) {
                    int32_t ss = 1 << (PREC_BITS - 1);
                    for (int x = 0; x < xn; x++) ss += (int32_t)row[(size_t)(xmin + x) * C + c] * k[x];
                    o[(size_t)xx * C + c] = clip8(ss);
                }
            }
        }
    }
    wsss_image_alloc(out, out_w, out_h, C);
    /* vertical pass: whole rows at a time (the inner loop vectorises) */
    int32_t *acc = wsss_xmalloc((size_t)rowlen * sizeof(int32_t));
    for (int yy = 0; yy < out_h; yy++) {
        int ymin = cv.bounds[yy * 2] - yfirst, yn = cv.bounds[yy * 2 + 1];
        const int32_t *k = cv.kk + (size_t)yy * cv.ksize;
        for (int i = 0; i < rowlen; i++) acc[i] = 1 << (PREC_BITS - 1);
        for (int y = 0; y < yn; y++) row_accumulate(acc, tmp + (size_t)(ymin + y) * rowlen, k[y], rowlen);
        uint8_t *o = out->data + (size_t)yy * rowlen;
        for (int i = 0; i < rowlen; i++) o[i] = clip8(acc[i]);
    }
    free(acc);
    free(tmp);
    free(ch.bounds);
    free(ch.kk);
    free(cv.bounds);
    free(cv.kk);
}

void wsss_image_resize_nearest(const wsss_image *in, int x0, int y0, int w, int h, int out_w, int out_h,
                               wsss_image *out) {
    WSSS_ASSERT(x0 >= 0 && y0 >= 0 && w > 0 && h > 0 && x0 + w <= in->width && y0 + h <= in->height,
                "resize box outside the image");
    const int C = in->channels;
    wsss_image_alloc(out, out_w, out_h, C);
    int *xs = wsss_xmalloc((size_t)out_w * sizeof(int));
    for (int x = 0; x < out_w; x++) {
        int sx = (int)floor((x + 0.5) * w / out_w);
        xs[x] = x0 + (sx < w ? sx : w - 1);
    }
    for (int y = 0; y < out_h; y++) {
        int sy = (int)floor((y + 0.5) * h / out_h);
        sy = y0 + (sy < h ? sy : h - 1);
        const uint8_t *row = in->data + (size_t)sy * in->width * C;
        uint8_t *o = out->data + (size_t)y * out_w * C;
        for (int x = 0; x < out_w; x++) memcpy(o + (size_t)x * C, row + (size_t)xs[x] * C, (size_t)C);
    }
    free(xs);
}

void wsss_image_crop_pad(const wsss_image *in, int x0, int y0, int w, int h, const uint8_t *fill,
                         wsss_image *out) {
    const int C = in->channels;
    wsss_image_alloc(out, w, h, C);
    for (int y = 0; y < h; y++) {
        uint8_t *o = out->data + (size_t)y * w * C;
        int sy = y0 + y;
        for (int x = 0; x < w; x++) {
            int sx = x0 + x;
            const uint8_t *src = (sy >= 0 && sy < in->height && sx >= 0 && sx < in->width)
                                     ? in->data + ((size_t)sy * in->width + sx) * C
                                     : fill;
            memcpy(o + (size_t)x * C, src, (size_t)C);
        }
    }
}

void wsss_image_hflip(wsss_image *img) {
    const int C = img->channels;
    for (int y = 0; y < img->height; y++) {
        uint8_t *row = img->data + (size_t)y * img->width * C;
        for (int a = 0, b = img->width - 1; a < b; a++, b--)
            for (int c = 0; c < C; c++) {
                uint8_t t = row[(size_t)a * C + c];
                row[(size_t)a * C + c] = row[(size_t)b * C + c];
                row[(size_t)b * C + c] = t;
            }
    }
}

/* ---------------------------------------------------------------- RandomResizedCrop */

void wsss_rrc_params(int width, int height, const double scale[2], const double ratio[2], wsss_rng *r,
                     int *x, int *y, int *w, int *h) {
    double area = (double)height * width;
    /* torch draws these in float32 */
    float lr0 = logf((float)ratio[0]), lr1 = logf((float)ratio[1]);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (double)(float)wsss_rng_range(r, scale[0], scale[1]);
        double aspect = (double)expf((float)wsss_rng_range(r, lr0, lr1));
        int cw = (int)nearbyint(sqrt(target * aspect)); /* Python round(): half to even */
        int chh = (int)nearbyint(sqrt(target / aspect));
        if (cw > 0 && cw <= width && chh > 0 && chh <= height) {
            *y = (int)wsss_rng_below(r, height - chh + 1);
            *x = (int)wsss_rng_below(r, width - cw + 1);
            *w = cw;
            *h = chh;
            return;
        }
    }
    double in_ratio = (double)width / height;
    double rmin = ratio[0] < ratio[1] ? ratio[0] : ratio[1], rmax = ratio[0] < ratio[1] ? ratio[1] : ratio[0];
    int cw = width, chh = height;
    if (in_ratio < rmin) chh = (int)nearbyint(cw / rmin);
    else if (in_ratio > rmax) cw = (int)nearbyint(chh * rmax);
    *w = cw;
    *h = chh;
    *y = (height - chh) / 2;
    *x = (width - cw) / 2;
}

/* ---------------------------------------------------------------- presets */

static const float k_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float k_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

int wsss_parse_scales(const char *text, double max, int max_n, double *v, int *n) {
    double t[32]; /* v is left alone on an error */
    WSSS_ASSERT(max_n <= 32, "parse_scales: at most 32 scales");
    const char *p = text ? text : "";
    int k = 0;
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || !(x > 0 && x <= max) || k >= max_n) break;
        t[k++] = x;
        p = end;
        if (*p == ',') p++;
        else if (*p) return wsss_error_set("scales \"%s\": expected comma-separated numbers", text);
    }
    if (*p || k == 0)
        return wsss_error_set("scales \"%s\": expected 1 to %d comma-separated factors in (0, %g]", text ? text : "",
                              max_n, max);
    memcpy(v, t, sizeof(double) * (size_t)k);
    *n = k;
    return WSSS_OK;
}

void wsss_aug_config_default(wsss_aug_config *c) {
    memset(c, 0, sizeof *c);
    c->rrc_scale[0] = 0.08;
    c->rrc_scale[1] = 1.0;
    c->rrc_ratio[0] = 3.0 / 4.0;
    c->rrc_ratio[1] = 4.0 / 3.0;
    c->div = 255.0f;
    for (int k = 0; k < 3; k++) {
        c->mean[k] = k_imagenet_mean[k];
        c->std[k] = k_imagenet_std[k];
        c->pad_value[k] = 255.0f * k_imagenet_mean[k];
    }
}

void wsss_aug_config_mcis(wsss_aug_config *c, int size) {
    wsss_aug_config_default(c);
    c->resize_h = c->resize_w = size;
    c->jitter.brightness = c->jitter.contrast = c->jitter.saturation = 0.3;
    c->jitter.hue = 0.1;
}

void wsss_aug_config_eader(wsss_aug_config *c, int size) {
    wsss_aug_config_default(c);
    c->rrc_h = c->rrc_w = size;
    c->hflip_p = 0.5;
}

void wsss_aug_config_deeplab(wsss_aug_config *c, int crop) {
    wsss_aug_config_default(c);
    c->n_scale_set = 7;
    for (int i = 0; i < 7; i++) c->scale_set[i] = 0.7 + 0.1 * i;
    c->crop_h = c->crop_w = crop;
    c->hflip_p = 0.5;
    c->div = 1.0f;
    c->bgr = 1;
    const float bgr_mean[3] = {104.008f, 116.669f, 122.675f};
    for (int k = 0; k < 3; k++) {
        c->mean[k] = bgr_mean[k];
        c->std[k] = 1.0f;
        c->pad_value[k] = bgr_mean[2 - k]; /* pad_value is RGB */
    }
}

/* ---------------------------------------------------------------- pipeline */

void wsss_aug_output_size(const wsss_aug_config *c, int in_w, int in_h, int *out_w, int *out_h) {
    int w = in_w, h = in_h;
    if (c->crop_h > 0 && c->crop_w > 0) {
        w = c->crop_w;
        h = c->crop_h;
    }
    if (c->rrc_h > 0 && c->rrc_w > 0) {
        w = c->rrc_w;
        h = c->rrc_h;
    }
    if (c->resize_h > 0 && c->resize_w > 0) {
        w = c->resize_w;
        h = c->resize_h;
    }
    *out_w = w;
    *out_h = h;
}

static void replace(wsss_image *dst, wsss_image *src) {
    wsss_image_free(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

void wsss_aug_apply(const wsss_aug_config *c, wsss_rng *r, wsss_image *img, wsss_image *mask,
                    wsss_aug_record *rec) {
    WSSS_ASSERT(img->channels == 3 && img->data, "augmentation needs an RGB image");
    int has_mask = mask && mask->data;
    if (has_mask)
        WSSS_ASSERT(mask->width == img->width && mask->height == img->height && mask->channels == 1,
                    "mask and image sizes differ");
    wsss_aug_record rr;
    memset(&rr, 0, sizeof rr);
    rr.scale = 1.0;
    wsss_image t;

    /* 1. random rescale */
    if (c->n_scale_set > 0 || (c->scale_min > 0 && c->scale_max > 0)) {
        rr.scale = c->n_scale_set > 0 ? c->scale_set[wsss_rng_below(r, c->n_scale_set)]
                                      : wsss_rng_range(r, c->scale_min, c->scale_max);
        int nw = (int)lround(img->width * rr.scale), nh = (int)lround(img->height * rr.scale);
        if (nw < 1) nw = 1;
        if (nh < 1) nh = 1;
        if (nw != img->width || nh != img->height) {
            wsss_image_resize_bilinear(img, 0, 0, img->width, img->height, nw, nh, 0, &t);
            replace(img, &t);
            if (has_mask) {
                wsss_image_resize_nearest(mask, 0, 0, mask->width, mask->height, nw, nh, &t);
                replace(mask, &t);
            }
        }
    }
    rr.valid[0] = rr.valid[1] = 0;
    rr.valid[2] = img->width;
    rr.valid[3] = img->height;

    /* 2. pad to the crop size (bottom/right), random crop */
    if (c->crop_h > 0 && c->crop_w > 0) {
        int pw = img->width > c->crop_w ? img->width : c->crop_w;
        int ph = img->height > c->crop_h ? img->height : c->crop_h;
        rr.crop_y = (int)wsss_rng_below(r, ph - c->crop_h + 1);
        rr.crop_x = (int)wsss_rng_below(r, pw - c->crop_w + 1);
        uint8_t fill[3], ign = 255;
        for (int k = 0; k < 3; k++) {
            float v = c->pad_value[k];
            fill[k] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : (int)lrintf(v));
        }
        int W = img->width, H = img->height;
        wsss_image_crop_pad(img, rr.crop_x, rr.crop_y, c->crop_w, c->crop_h, fill, &t);
        replace(img, &t);
        if (has_mask) {
            wsss_image_crop_pad(mask, rr.crop_x, rr.crop_y, c->crop_w, c->crop_h, &ign, &t);
            replace(mask, &t);
        }
        rr.valid[0] = 0;
        rr.valid[1] = 0;
        rr.valid[2] = W - rr.crop_x < c->crop_w ? W - rr.crop_x : c->crop_w;
        rr.valid[3] = H - rr.crop_y < c->crop_h ? H - rr.crop_y : c->crop_h;
    }

    /* 3. RandomResizedCrop */
    if (c->rrc_h > 0 && c->rrc_w > 0) {
        wsss_rrc_params(img->width, img->height, c->rrc_scale, c->rrc_ratio, r, &rr.rrc_x, &rr.rrc_y, &rr.rrc_w,
                        &rr.rrc_h);
        wsss_image_resize_bilinear(img, rr.rrc_x, rr.rrc_y, rr.rrc_w, rr.rrc_h, c->rrc_w, c->rrc_h, 1, &t);
        replace(img, &t);
        if (has_mask) {
            wsss_image_resize_nearest(mask, rr.rrc_x, rr.rrc_y, rr.rrc_w, rr.rrc_h, c->rrc_w, c->rrc_h, &t);
            replace(mask, &t);
        }
        /* resampling mixes padded pixels in: from here on every pixel counts as real */
        rr.valid[0] = rr.valid[1] = 0;
        rr.valid[2] = img->width;
        rr.valid[3] = img->height;
    }

    /* 4. resize */
    if (c->resize_h > 0 && c->resize_w > 0 && (img->width != c->resize_w || img->height != c->resize_h)) {
        wsss_image_resize_bilinear(img, 0, 0, img->width, img->height, c->resize_w, c->resize_h, 1, &t);
        replace(img, &t);
        if (has_mask) {
            wsss_image_resize_nearest(mask, 0, 0, mask->width, mask->height, c->resize_w, c->resize_h, &t);
            replace(mask, &t);
        }
        rr.valid[0] = rr.valid[1] = 0;
        rr.valid[2] = img->width;
        rr.valid[3] = img->height;
    }

    /* 5. horizontal flip */
    if (c->hflip_p > 0 && wsss_rng_uniform(r) < c->hflip_p) {
        rr.flipped = 1;
        wsss_image_hflip(img);
        if (has_mask) wsss_image_hflip(mask);
        int x0 = rr.valid[0], x1 = rr.valid[2];
        rr.valid[0] = img->width - x1;
        rr.valid[2] = img->width - x0;
    }

    /* 6. colour jitter */
    if (c->jitter.brightness > 0 || c->jitter.contrast > 0 || c->jitter.saturation > 0 || c->jitter.hue > 0) {
        wsss_jitter_sample(&c->jitter, r, &rr.jitter);
        wsss_jitter_apply(img, &rr.jitter);
    }
    if (rec) *rec = rr;
}

/* ToTensor + Normalize in float32 like torchvision: (x / div - mean) / std. */
void wsss_aug_write_image(const wsss_aug_config *c, const wsss_image *img, const int *valid,
                          wsss_tensor *images, int64_t n) {
    WSSS_ASSERT(images->dtype == WSSS_F32 && images->ndim == 4 && wsss_tensor_is_contiguous(images),
                "images must be a contiguous F32 N,3,H,W tensor");
    WSSS_ASSERT(images->shape[1] == 3 && images->shape[2] == img->height && images->shape[3] == img->width &&
                    n >= 0 && n < images->shape[0] && img->channels == 3,
                "image does not fit the batch slot");
    const int W = img->width, H = img->height;
    float *dst = wsss_f32(images) + n * 3 * (int64_t)H * W;
    for (int oc = 0; oc < 3; oc++) {
        int ic = c->bgr ? 2 - oc : oc;
        float mean = c->mean[oc], std = c->std[oc], div = c->div;
        /* the 256 possible values, each computed with the same float32 formula */
        float lut[256];
        for (int v = 0; v < 256; v++) lut[v] = ((float)v / div - mean) / std;
        float padv = (c->pad_value[ic] / div - mean) / std;
        float *o = dst + (int64_t)oc * H * W;
        for (int y = 0; y < H; y++) {
            const uint8_t *row = img->data + (size_t)y * W * 3 + ic;
            float *orow = o + (int64_t)y * W;
            if (!valid || (y >= valid[1] && y < valid[3] && valid[0] == 0 && valid[2] == W)) {
                for (int x = 0; x < W; x++) orow[x] = lut[row[(size_t)x * 3]];
                continue;
            }
            int in_y = y >= valid[1] && y < valid[3];
            for (int x = 0; x < W; x++)
                orow[x] = in_y && x >= valid[0] && x < valid[2] ? lut[row[(size_t)x * 3]] : padv;
        }
    }
}

void wsss_aug_write_mask(const wsss_image *mask, wsss_tensor *masks, int64_t n) {
    WSSS_ASSERT((masks->dtype == WSSS_U8 || masks->dtype == WSSS_I64) && masks->ndim == 3 &&
                    wsss_tensor_is_contiguous(masks),
                "masks must be a contiguous U8 or I64 N,H,W tensor");
    WSSS_ASSERT(masks->shape[1] == mask->height && masks->shape[2] == mask->width && mask->channels == 1 && n >= 0 &&
                    n < masks->shape[0],
                "mask does not fit the batch slot");
    size_t np = (size_t)mask->width * mask->height;
    if (masks->dtype == WSSS_U8) {
        memcpy((uint8_t *)masks->data + n * np, mask->data, np);
    } else {
        int64_t *o = (int64_t *)masks->data + n * np;
        for (size_t i = 0; i < np; i++) o[i] = mask->data[i];
    }
}
