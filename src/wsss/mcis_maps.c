/* MCIS test-time co-attention maps (mcis_maps.h, specs/mcis.md §6): the pairs of an image with
 * its related images and its own rescaled and mirrored copies, their gated aggregation and the
 * resize to the image. Each pair runs in a fresh scratch context; I's features are kept. */
#include "wsss/mcis_maps.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/augment.h"
#include "wsss/coattention.h"
#include "wsss/error.h"
#include "wsss/method.h"
#include "wsss/ops.h"
#include "wsss/rng.h"

void wsss_mcis_write_view(const wsss_image *img, int side, int flip, wsss_tensor *dst, int64_t k) {
    wsss_aug_config norm;
    wsss_aug_config_default(&norm);
    wsss_image view;
    wsss_image_resize_bilinear(img, 0, 0, img->width, img->height, side, side, 1, &view);
    if (flip) wsss_image_hflip(&view);
    wsss_aug_write_image(&norm, &view, NULL, dst, k);
    wsss_image_free(&view);
}

/* ---------------------------------------------------------------- aggregation */

/* acc += relu(m) / (max relu(m) + 1e-8) * 255, in float32 as the reference's numpy */
static void add_normalized(float *acc, const float *m, int64_t hw) {
    float mx = 0.0f;
    for (int64_t i = 0; i < hw; i++)
        if (m[i] > mx) mx = m[i];
    const float den = mx + 1e-8f;
    for (int64_t i = 0; i < hw; i++) acc[i] += (m[i] > 0.0f ? m[i] : 0.0f) / den * 255.0f;
}

/* σ(mean m) > 0.1: the pair's co-attention probability of the class */
static int gate_open(const float *m, int64_t hw) {
    double s = 0;
    for (int64_t i = 0; i < hw; i++) s += m[i];
    return 1.0 / (1.0 + exp(-s / (double)hw)) > 0.1;
}

static const float *plane(const wsss_tensor *t, int64_t index, int64_t hw) {
    WSSS_ASSERT(t->dtype == WSSS_F32 && t->data, "mcis maps: plain F32 maps");
    return wsss_f32(t) + index * hw;
}

void wsss_mcis_combine(wsss_ctx *ctx, const wsss_mcis_pair_maps *p, int n, const int *classes, int out_w, int out_h,
                       wsss_tensor **out) {
    wsss_ctx_reset(ctx);
    const int grad = wsss_ctx_set_grad_enabled(ctx, 0);
    const int64_t h = p->flip1->shape[2], w = p->flip1->shape[3], hw = h * w;
    WSSS_ASSERT(p->cross->ndim == 3 && p->cross->shape[0] == n && p->cross->shape[1] == h && p->cross->shape[2] == w,
                "mcis maps: cross maps n,h,w on I's grid");
    wsss_tensor *m2 = wsss_contiguous(ctx, wsss_flip(ctx, (wsss_tensor *)p->flip2, 3)); /* back to I's orientation */
    wsss_tensor *m3 = wsss_resize_bicubic(ctx, (wsss_tensor *)p->small2, h, w, 0);
    wsss_tensor *m4 = wsss_resize_bicubic(ctx, (wsss_tensor *)p->large2, h, w, 0);
    wsss_tensor *acc = wsss_ctx_tensor(ctx, WSSS_F32, 4, (int64_t[]){1, n, h, w});
    for (int j = 0; j < n; j++) {
        const int64_t c = classes[j] - 1;
        const float *m[5] = {plane(p->flip1, c, hw), plane(m2, c, hw), plane(m3, c, hw), plane(m4, c, hw),
                             plane(p->cross, j, hw)};
        float *a = wsss_f32(acc) + j * hw;
        add_normalized(a, m[0], hw); /* M1 always */
        for (int k = 1; k < 5; k++)
            if (gate_open(m[k], hw)) add_normalized(a, m[k], hw);
        for (int64_t i = 0; i < hw; i++) a[i] = floorf(a[i] / 5.0f); /* always 5; to 8 bits */
    }
    wsss_tensor *big = wsss_resize_bicubic(ctx, acc, out_h, out_w, 0);
    *out = wsss_tensor_new(WSSS_F32, 3, (int64_t[]){n, out_h, out_w});
    const float *b = wsss_f32(big);
    float *o = wsss_f32(*out);
    for (int64_t i = 0; i < wsss_tensor_numel(*out); i++) {
        const float v = nearbyintf(b[i]); /* saturating to 8 bits */
        o[i] = (v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v) / 255.0f;
    }
    wsss_ctx_reset(ctx);
    wsss_ctx_set_grad_enabled(ctx, grad);
}

/* ---------------------------------------------------------------- the pairs */

/* the head's feature map of img as a side x side (mirrored) input, in ctx */
static wsss_tensor *view_features(wsss_ctx *ctx, wsss_classifier *cls, const wsss_image *img, int side, int flip) {
    wsss_tensor *x = wsss_ctx_tensor(ctx, WSSS_F32, 4, (int64_t[]){1, 3, side, side});
    wsss_mcis_write_view(img, side, flip, x, 0);
    wsss_tensor *f = NULL;
    wsss_model_forward(ctx, &cls->m, x, 0, &f, NULL);
    return f;
}

static wsss_tensor *keep(wsss_tensor *t) { return wsss_tensor_clone(wsss_tensor_plain(t)); }

/* M5 of class c (row j of cross): the mean co_map1 of K pairs with related images */
static int cross_maps(wsss_ctx *ctx, wsss_classifier *cls, const wsss_dataset *ds, int64_t i, const wsss_image *img,
                      wsss_tensor *fi, int c, const wsss_mcis_maps_opts *o, float *row) {
    const int64_t hw = fi->shape[2] * fi->shape[3];
    int64_t count;
    const int64_t *list = wsss_dataset_class_samples(ds, c, &count);
    WSSS_ASSERT(count > 0, "the image's own class has images");
    wsss_rng rng;
    wsss_rng_seed3(&rng, o->seed, (uint64_t)i, (uint64_t)c);
    for (int t = 0; t < o->related; t++) {
        const int64_t j = list[wsss_rng_below(&rng, count)];
        wsss_sample smp;
        memset(&smp, 0, sizeof smp);
        if (j != i && wsss_dataset_load(ds, j, WSSS_LOAD_IMAGE, &smp) != WSSS_OK) return WSSS_ERR;
        wsss_coattention_out co;
        wsss_coattention_forward(ctx, cls->method_net, fi,
                                 view_features(ctx, cls, j == i ? img : &smp.image, o->size, 0), &co);
        const float *m = plane(wsss_tensor_plain(co.co_map[0]), c - 1, hw);
        for (int64_t k = 0; k < hw; k++) row[k] += m[k];
        wsss_sample_free(&smp);
        wsss_ctx_reset(ctx);
    }
    for (int64_t k = 0; k < hw; k++) row[k] /= (float)o->related;
    return WSSS_OK;
}

int wsss_mcis_image_maps(wsss_ctx *ctx, wsss_classifier *cls, const wsss_dataset *ds, int64_t i,
                         const wsss_image *img, int n, const int *classes, const wsss_mcis_maps_opts *o,
                         wsss_tensor **out) {
    WSSS_ASSERT((cls->method == WSSS_METHOD_MCIS || cls->method == WSSS_METHOD_MCIS_EADER) && cls->method_net,
                "mcis maps need an MCIS classifier");
    WSSS_ASSERT(o->size >= 1 && o->related >= 1, "mcis maps: size and related images >= 1");
    *out = NULL;
    if (n == 0) { /* no labelled class: no pair to make */
        *out = wsss_tensor_new(WSSS_F32, 3, (int64_t[]){0, img->height, img->width});
        return WSSS_OK;
    }
    wsss_ctx_reset(ctx);
    const int grad = wsss_ctx_set_grad_enabled(ctx, 0);
    const int sides[3] = {o->size, (int)lround(0.75 * o->size), 2 * o->size};
    wsss_tensor *fi = keep(view_features(ctx, cls, img, o->size, 0)); /* I's features, for every pair */
    wsss_ctx_reset(ctx);
    wsss_tensor *self[4]; /* flip co_map1, flip co_map2, small co_map2, large co_map2 */
    for (int v = 0; v < 3; v++) {
        wsss_coattention_out co;
        wsss_coattention_forward(ctx, cls->method_net, fi, view_features(ctx, cls, img, sides[v], v == 0), &co);
        if (v == 0) self[0] = keep(co.co_map[0]);
        self[v + 1] = keep(co.co_map[1]);
        wsss_ctx_reset(ctx);
    }
    const int64_t h = fi->shape[2], w = fi->shape[3];
    wsss_tensor *cross = wsss_tensor_new(WSSS_F32, 3, (int64_t[]){n, h, w});
    int rc = WSSS_OK;
    for (int j = 0; j < n && rc == WSSS_OK; j++)
        rc = cross_maps(ctx, cls, ds, i, img, fi, classes[j], o, wsss_f32(cross) + (int64_t)j * h * w);
    if (rc == WSSS_OK) {
        const wsss_mcis_pair_maps p = {self[0], self[1], self[2], self[3], cross};
        wsss_mcis_combine(ctx, &p, n, classes, img->width, img->height, out);
    }
    for (int v = 0; v < 4; v++) wsss_tensor_free(self[v]);
    wsss_tensor_free(cross);
    wsss_tensor_free(fi);
    wsss_ctx_reset(ctx);
    wsss_ctx_set_grad_enabled(ctx, grad);
    return rc;
}
