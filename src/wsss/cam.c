/* Multi-scale + flip class activation maps and CAM files (cam.h). */
#include "wsss/cam.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/run_layout.h"
#include "wsss/safetensors.h"

void wsss_cam_opts_default(wsss_cam_opts *o) {
    memset(o, 0, sizeof *o);
    static const double s[4] = {1.0, 0.5, 1.5, 2.0};
    o->n_scales = 4;
    memcpy(o->scales, s, sizeof s);
    o->flip = 1;
    o->norm = WSSS_CAM_NORM_MAX;
    wsss_aug_config_default(&o->input);
}

int wsss_cam_parse_scales(const char *text, wsss_cam_opts *o) {
    return wsss_parse_scales(text, 8, WSSS_CAM_MAX_SCALES, o->scales, &o->n_scales);
}

void wsss_cam_normalize(wsss_tensor *maps, wsss_cam_norm norm) {
    WSSS_ASSERT(maps->dtype == WSSS_F32 && maps->ndim == 3 && wsss_tensor_is_contiguous(maps), "F32 [n,H,W] maps");
    const int64_t n = maps->shape[0], hw = maps->shape[1] * maps->shape[2];
    for (int64_t c = 0; c < n; c++) {
        float *m = wsss_f32(maps) + c * hw;
        float mx = -INFINITY, mn = INFINITY;
        for (int64_t i = 0; i < hw; i++) {
            if (m[i] > mx) mx = m[i];
            if (m[i] < mn) mn = m[i];
        }
        if (hw == 0) continue;
        if (norm == WSSS_CAM_NORM_MAX) {
            const float d = mx + 1e-5f;
            for (int64_t i = 0; i < hw; i++) m[i] /= d;
        } else {
            const float d = mx - mn + 1e-5f;
            for (int64_t i = 0; i < hw; i++) m[i] = (m[i] - mn) / d;
        }
    }
}

int wsss_cam_compute_batch(const wsss_cam_opts *o, wsss_cam_forward_fn fn, void *user, wsss_ctx *ctx, int n_img,
                           const wsss_image *imgs, const int *n, const int *const *cls, wsss_tensor **out) {
    WSSS_ASSERT(n_img >= 1, "cam batch of at least one image");
    WSSS_ASSERT(o->n_scales >= 1 && o->n_scales <= WSSS_CAM_MAX_SCALES, "cam scales");
    const int H = imgs[0].height, W = imgs[0].width;
    const int64_t HW = (int64_t)H * W;
    int total = 0;
    for (int b = 0; b < n_img; b++) {
        WSSS_ASSERT(imgs[b].channels == 3 && imgs[b].data, "RGB image");
        WSSS_ASSERT(imgs[b].height == H && imgs[b].width == W, "cam batch: images of one size");
        out[b] = wsss_tensor_new(WSSS_F32, 3, (int64_t[]){n[b], H, W});
        total += n[b];
    }
    if (total == 0) return WSSS_OK;
    const int old_grad = wsss_ctx_set_grad_enabled(ctx, 0);
    const int old_blocked = wsss_ctx_set_blocked(ctx, 1); /* oneDNN layouts between the network's ops */
    /* Winograd where oneDNN has it (dilated stages by space-to-batch): ~20% faster ResNet CAMs */
    const int old_wino = wsss_ctx_set_winograd(ctx, !o->direct_conv);
    const int nf = o->flip ? 2 : 1, nb = n_img * nf;
    int rc = WSSS_OK;
    for (int si = 0; si < o->n_scales && rc == WSSS_OK; si++) {
        const double s = o->scales[si];
        int hs = (int)lround(H * s), ws = (int)lround(W * s);
        if (hs < 1) hs = 1;
        if (ws < 1) ws = 1;
        /* inputs: image b at batch index b * nf, its mirror at b * nf + 1 */
        wsss_tensor *x = wsss_ctx_tensor(ctx, WSSS_F32, 4, (int64_t[]){nb, 3, hs, ws});
        for (int b = 0; b < n_img; b++) {
            wsss_image scaled = {0};
            const wsss_image *im = &imgs[b];
            if (hs != H || ws != W) {
                wsss_image_resize_bilinear(&imgs[b], 0, 0, W, H, ws, hs, 1, &scaled);
                im = &scaled;
            }
            wsss_aug_write_image(&o->input, im, NULL, x, (int64_t)b * nf);
            if (o->flip) {
                wsss_image flipped;
                wsss_image_alloc(&flipped, im->width, im->height, 3);
                memcpy(flipped.data, im->data, (size_t)im->width * im->height * 3);
                wsss_image_hflip(&flipped);
                wsss_aug_write_image(&o->input, &flipped, NULL, x, (int64_t)b * nf + 1);
                wsss_image_free(&flipped);
            }
            wsss_image_free(&scaled);
        }
        wsss_tensor *cam = fn(user, ctx, x);
        if (!cam) {
            rc = WSSS_ERR;
            break;
        }
        if (cam->ndim != 4 || cam->shape[0] != nb || cam->dtype != WSSS_F32) {
            char sh[96];
            rc = wsss_error_set("the CAM model returned %s maps, expected F32 [%d, K, h, w]",
                                wsss_shape_str(cam, sh, sizeof sh), nb);
            break;
        }
        for (int b = 0; b < n_img && rc == WSSS_OK; b++)
            for (int k = 0; k < n[b]; k++)
                if (cls[b][k] < 1 || cls[b][k] > cam->shape[1]) {
                    rc = wsss_error_set("class %d outside the CAM model's %lld classes", cls[b][k],
                                        (long long)cam->shape[1]);
                    break;
                }
        for (int b = 0; b < n_img && rc == WSSS_OK; b++) {
            if (n[b] == 0) continue;
            wsss_tensor *idx = wsss_ctx_tensor(ctx, WSSS_I64, 1, (int64_t[]){n[b]});
            for (int k = 0; k < n[b]; k++) ((int64_t *)idx->data)[k] = cls[b][k] - 1;
            wsss_tensor *mine = wsss_slice(ctx, cam, 0, (int64_t)b * nf, (int64_t)(b + 1) * nf, 1);
            wsss_tensor *sel = wsss_index_select(ctx, mine, 1, idx);
            wsss_tensor *up = wsss_resize_bilinear(ctx, wsss_relu(ctx, sel), H, W, 0);
            const wsss_tensor *u = wsss_ctx_contiguous(ctx, up);
            const float *a = wsss_f32(u);
            float *acc = wsss_f32(out[b]);
            for (int64_t i = 0; i < (int64_t)n[b] * HW; i++) acc[i] += a[i];
            if (o->flip) {
                const float *m = a + (int64_t)n[b] * HW; /* the mirrored input's maps: flip back */
                for (int k = 0; k < n[b]; k++)
                    for (int y = 0; y < H; y++) {
                        float *dst = acc + (int64_t)k * HW + (int64_t)y * W;
                        const float *src = m + (int64_t)k * HW + (int64_t)y * W;
                        for (int xx = 0; xx < W; xx++) dst[xx] += src[W - 1 - xx];
                    }
            }
        }
        wsss_ctx_reset(ctx);
    }
    wsss_ctx_reset(ctx);
    wsss_ctx_set_winograd(ctx, old_wino);
    wsss_ctx_set_blocked(ctx, old_blocked);
    wsss_ctx_set_grad_enabled(ctx, old_grad);
    for (int b = 0; b < n_img; b++) {
        if (rc != WSSS_OK) {
            wsss_tensor_free(out[b]);
            out[b] = NULL;
        } else {
            wsss_cam_normalize(out[b], o->norm);
        }
    }
    return rc;
}

int wsss_cam_compute(const wsss_cam_opts *o, wsss_cam_forward_fn fn, void *user, wsss_ctx *ctx,
                     const wsss_image *img, int n, const int *classes, wsss_tensor **out) {
    const int *cls[1] = {classes};
    return wsss_cam_compute_batch(o, fn, user, ctx, 1, img, &n, cls, out);
}

/* ---- files ---- */

int wsss_cam_save(const char *path, const char *id, int num_classes, const wsss_tensor *maps, const int *classes,
                  const wsss_cam_opts *o) {
    const int n = (int)maps->shape[0];
    wsss_tensor *cl = wsss_tensor_new(WSSS_I32, 1, (int64_t[]){n});
    for (int k = 0; k < n; k++) ((int32_t *)cl->data)[k] = classes[k];
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_st_writer_add(w, "cams", maps);
    wsss_st_writer_add(w, "classes", cl);
    char buf[256];
    if (id) wsss_st_writer_meta(w, "id", id);
    snprintf(buf, sizeof buf, "%d", num_classes);
    wsss_st_writer_meta(w, "num_classes", buf);
    if (o) {
        wsss_st_writer_meta(w, "norm", o->norm == WSSS_CAM_NORM_MAX ? "max" : "minmax");
        int k = 0;
        buf[0] = 0;
        for (int i = 0; i < o->n_scales && k < (int)sizeof buf - 32; i++)
            k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%g", i ? "," : "", o->scales[i]);
        wsss_st_writer_meta(w, "scales", buf);
        wsss_st_writer_meta(w, "flip", o->flip ? "1" : "0");
    }
    int rc = wsss_st_writer_save(w, path);
    wsss_st_writer_free(w);
    wsss_tensor_free(cl);
    return rc;
}

int wsss_cam_load(const char *path, int num_classes, wsss_tensor **maps, int **classes, int *n) {
    *maps = NULL;
    *classes = NULL;
    *n = 0;
    wsss_safetensors *st;
    if (wsss_st_open(path, &st) != WSSS_OK) return WSSS_ERR;
    const wsss_st_entry *em = wsss_st_find(st, "cams"), *ec = wsss_st_find(st, "classes");
    int rc = WSSS_OK;
    if (!em || !ec) {
        rc = wsss_error_set("%s: not a CAM file (expected tensors \"cams\" and \"classes\"; write it with wsss cam)",
                            path);
    } else if (em->dtype != WSSS_F32 || em->ndim != 3 || ec->dtype != WSSS_I32 || ec->ndim != 1 ||
               ec->shape[0] != em->shape[0]) {
        char a[96], b[96];
        rc = wsss_error_set("%s: cams %s %s / classes %s %s, expected F32 [n, H, W] and I32 [n]", path,
                            wsss_dtype_name(em->dtype), wsss_st_shape_str(em, a, sizeof a), wsss_dtype_name(ec->dtype),
                            wsss_st_shape_str(ec, b, sizeof b));
    }
    wsss_tensor *m = NULL, *c = NULL;
    if (rc == WSSS_OK) {
        m = wsss_st_load(st, "cams");
        c = wsss_st_load(st, "classes");
        if (!m || !c) rc = WSSS_ERR;
    }
    int *cls = NULL;
    const int nn = rc == WSSS_OK ? (int)m->shape[0] : 0;
    if (rc == WSSS_OK) {
        cls = wsss_xmalloc(sizeof(int) * (size_t)(nn + 1));
        for (int k = 0; k < nn && rc == WSSS_OK; k++) {
            cls[k] = ((const int32_t *)c->data)[k];
            if (cls[k] < 1 || (num_classes > 0 && cls[k] >= num_classes) || (k > 0 && cls[k] <= cls[k - 1]))
                rc = wsss_error_set("%s: classes[%d] = %d (expected ascending foreground ids 1..%d)", path, k, cls[k],
                                    num_classes > 0 ? num_classes - 1 : 254);
        }
        const float *v = wsss_f32(m);
        for (int64_t i = 0; rc == WSSS_OK && i < wsss_tensor_numel(m); i++)
            if (!isfinite(v[i])) rc = wsss_error_set("%s: cams holds a non-finite value at element %lld", path, (long long)i);
    }
    wsss_st_close(st);
    if (c) wsss_tensor_free(c);
    if (rc != WSSS_OK) {
        if (m) wsss_tensor_free(m);
        free(cls);
        return rc;
    }
    *maps = m;
    *classes = cls;
    *n = nn;
    return WSSS_OK;
}

int wsss_cam_sample_load(const wsss_dataset *ds, int64_t i, const char *cam_dir, int what, wsss_cam_sample *cs) {
    memset(cs, 0, sizeof *cs);
    cs->path = wsss_run_file(cam_dir, ds->ids[i], ".safetensors");
    int rc = wsss_cam_load(cs->path, ds->num_classes, &cs->maps, &cs->classes, &cs->n);
    if (rc == WSSS_OK) rc = wsss_dataset_load(ds, i, what, &cs->smp);
    if (rc != WSSS_OK) return rc;
    const int by_image = what & WSSS_LOAD_IMAGE;
    const wsss_image *ref = by_image ? &cs->smp.image : &cs->smp.mask;
    if (cs->maps->shape[1] != ref->height || cs->maps->shape[2] != ref->width)
        return wsss_error_set("%s: maps are %lldx%lld, the %s %s is %dx%d (W x H)", cs->path,
                              (long long)cs->maps->shape[2], (long long)cs->maps->shape[1], by_image ? "image" : "mask",
                              by_image ? ds->image_paths[i] : ds->mask_paths[i], ref->width, ref->height);
    return WSSS_OK;
}

void wsss_cam_sample_free(wsss_cam_sample *cs) {
    wsss_sample_free(&cs->smp);
    if (cs->maps) wsss_tensor_free(cs->maps);
    free(cs->classes);
    free(cs->path);
    memset(cs, 0, sizeof *cs);
}
