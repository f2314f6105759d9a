/* The segmentation network (segmenter.h): construction from an arch name, backbone weights,
 * model files, multi-scale + flip inference with an optional CRF. */
#include "wsss/segmenter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wsss/augment.h"
#include "wsss/error.h"
#include "wsss/json.h"
#include "wsss/ops.h"
#include "wsss/run_layout.h"
#include "wsss/safetensors.h"
#include "wsss/trainer.h"

static int create_impl(wsss_segmenter *s, const wsss_segmenter_config *cfg) {
    const char *arch = cfg->arch ? cfg->arch : "";
    if (strlen(arch) >= sizeof s->arch) return wsss_error_set("segmenter: arch name too long: \"%s\"", arch);
    if (cfg->num_classes < 2 || cfg->num_classes > 255)
        return wsss_error_set("segmenter %s: %d classes (expected 2..255, background included)", arch, cfg->num_classes);
    if (cfg->hidden < 0 || cfg->hidden > 65536 || cfg->head_dilation < 0 || cfg->head_dilation > 256)
        return wsss_error_set("segmenter %s: bad head settings (hidden %lld, dilation %d)", arch, (long long)cfg->hidden,
                              cfg->head_dilation);
    wsss_arch a;
    if (wsss_arch_parse(arch, &a) != WSSS_OK) return wsss_error_prefix("segmenter");
    if (a.seg_head == WSSS_HEAD_NONE)
        return wsss_error_set("segmenter: %s has no segmentation head (expected BACKBONE[-osN]-largefov, -aspp or "
                              "-deeplabv3plus, e.g. resnet18-os8-largefov)",
                              arch);
    snprintf(s->arch, sizeof s->arch, "%s", arch);
    s->num_classes = cfg->num_classes;
    /* hidden / head_dilation: LargeFOV's fc6-fc7 width and fc6 dilation, or DeepLab v3+'s width and
     * smallest ASPP rate; 0 takes the head's published default */
    const int v3plus = a.seg_head == WSSS_HEAD_DEEPLABV3PLUS;
    s->hidden = cfg->hidden ? cfg->hidden : v3plus ? 256 : 1024;
    s->head_dilation = cfg->head_dilation ? cfg->head_dilation : v3plus ? 6 * 16 / a.output_stride : 12;
    s->output_stride = a.output_stride;
    wsss_model_opts o = wsss_model_opts_default();
    o.num_classes = cfg->num_classes;
    o.frozen_bn = cfg->frozen_bn != 0;
    o.largefov_hidden = o.v3plus_channels = s->hidden;
    o.largefov_dilation = o.v3plus_rate = s->head_dilation;
    if (wsss_model_build(&s->m, &a, &o) != WSSS_OK) return wsss_error_prefix("segmenter");
    return WSSS_OK;
}

int wsss_segmenter_create(wsss_segmenter *s, const wsss_segmenter_config *cfg) {
    memset(s, 0, sizeof *s);
    int rc = create_impl(s, cfg);
    if (rc != WSSS_OK) wsss_segmenter_free(s); /* keeps the message */
    return rc;
}

void wsss_segmenter_free(wsss_segmenter *s) {
    if (s->m.params.items || s->m.arch[0]) wsss_model_free(&s->m);
    memset(s, 0, sizeof *s);
}

void wsss_segmenter_reset(wsss_segmenter *s, wsss_rng *rng) { wsss_model_reset_parameters(&s->m, rng); }

void wsss_segmenter_set_frozen_bn(wsss_segmenter *s, int on) {
    if (s->m.a.backbone == WSSS_BACKBONE_RESNET) wsss_resnet_set_frozen_bn(&s->m.resnet, on);
}

int wsss_segmenter_load_backbone(wsss_segmenter *s, const char *path) { return wsss_model_load_backbone(&s->m, path); }

int wsss_segmenter_save(const wsss_segmenter *s, const char *path) {
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_params_to_writer(&s->m.params, w, NULL, 1);
    char k[32], h[32], d[32];
    snprintf(k, sizeof k, "%d", s->num_classes);
    snprintf(h, sizeof h, "%lld", (long long)s->hidden);
    snprintf(d, sizeof d, "%d", s->head_dilation);
    wsss_st_writer_meta(w, "wsss_model", "segmenter");
    wsss_st_writer_meta(w, "arch", s->arch);
    wsss_st_writer_meta(w, "num_classes", k);
    wsss_st_writer_meta(w, "hidden", h);
    wsss_st_writer_meta(w, "head_dilation", d);
    int rc = wsss_st_writer_save(w, path);
    wsss_st_writer_free(w);
    return rc;
}

static int meta_long(const wsss_safetensors *st, const char *key, long lo, long hi, long *out) {
    const char *v = wsss_st_meta(st, key);
    if (!v) return 0;
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) return 0;
    *out = x;
    return 1;
}

int wsss_segmenter_open(wsss_segmenter *s, const char *path) {
    memset(s, 0, sizeof *s);
    wsss_safetensors *st;
    if (wsss_st_open(path, &st) != WSSS_OK) return WSSS_ERR;
    const char *kind = wsss_st_meta(st, "wsss_model"), *arch = wsss_st_meta(st, "arch");
    long k = 0, hidden = 0, dil = 0;
    int ok = kind && strcmp(kind, "segmenter") == 0 && arch && strlen(arch) < 64 &&
             meta_long(st, "num_classes", 2, 255, &k) && meta_long(st, "hidden", 1, 65536, &hidden) &&
             meta_long(st, "head_dilation", 1, 256, &dil);
    char arch_copy[64] = "";
    if (ok) snprintf(arch_copy, sizeof arch_copy, "%s", arch);
    wsss_st_close(st);
    if (!ok)
        return wsss_error_set("%s: not a wsss segmentation model (expected metadata wsss_model=segmenter, arch, "
                              "num_classes, hidden, head_dilation; write it with wsss train-seg)",
                              path);
    wsss_segmenter_config c = {.arch = arch_copy, .num_classes = (int)k, .hidden = hidden, .head_dilation = (int)dil};
    if (wsss_segmenter_create(s, &c) != WSSS_OK) {
        wsss_error_prefix("%s", path);
        return WSSS_ERR;
    }
    const int rc = wsss_model_load(&s->m, path);
    if (rc != WSSS_OK) wsss_segmenter_free(s);
    return rc;
}

/* A train-seg checkpoint: the architecture from its stored config (the train-seg config's fields),
 * the class count from the head's last layer. */
static int open_checkpoint(wsss_segmenter *s, const char *dir) {
    char *txt = wsss_trainer_ckpt_config(dir);
    if (!txt) return WSSS_ERR;
    wsss_json *j = wsss_json_parse(txt, strlen(txt));
    free(txt);
    const char *tag = j ? wsss_json_get_string(j, "config", NULL) : NULL;
    const char *arch = j ? wsss_json_get_string(j, "arch", NULL) : NULL;
    if (!tag || strcmp(tag, "train-seg") != 0 || !arch || strlen(arch) >= 64) {
        wsss_json_free(j);
        return wsss_error_set("%s/state.json: the stored config is not a train-seg configuration naming an \"arch\"",
                              dir);
    }
    char a[64];
    snprintf(a, sizeof a, "%s", arch);
    wsss_segmenter_config sc = {.arch = a, .hidden = wsss_json_get_int64(j, "hidden", 0),
                                .head_dilation = (int)wsss_json_get_int64(j, "head_dilation", 0)};
    wsss_json_free(j);
    wsss_arch parsed;
    const char *out_bias = wsss_arch_parse(a, &parsed) == WSSS_OK ? wsss_seg_head_output_bias(parsed.seg_head) : NULL;
    if (!out_bias) return wsss_error_set("%s/state.json: arch \"%s\" has no segmentation head", dir, a);
    char *mp = wsss_run_file(dir, "model", ".safetensors");
    wsss_safetensors *st = NULL;
    int rc = wsss_st_open(mp, &st);
    if (rc == WSSS_OK) {
        const wsss_st_entry *e = wsss_st_find(st, out_bias);
        if (!e || e->ndim != 1 || e->shape[0] < 2 || e->shape[0] > 255)
            rc = wsss_error_set("%s: no segmentation head of %s (%s)", mp, a, out_bias);
        else
            sc.num_classes = (int)e->shape[0];
        wsss_st_close(st);
    }
    if (rc == WSSS_OK && wsss_segmenter_create(s, &sc) != WSSS_OK) rc = wsss_error_prefix("%s", dir);
    if (rc == WSSS_OK && wsss_model_load(&s->m, mp) != WSSS_OK) {
        wsss_segmenter_free(s);
        rc = WSSS_ERR;
    }
    free(mp);
    return rc;
}

int wsss_segmenter_open_any(wsss_segmenter *s, const char *path) {
    memset(s, 0, sizeof *s);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return open_checkpoint(s, path);
    return wsss_segmenter_open(s, path);
}

wsss_tensor *wsss_segmenter_forward(wsss_ctx *ctx, wsss_segmenter *s, wsss_tensor *x, int training) {
    return wsss_model_forward(ctx, &s->m, x, training, NULL, NULL);
}

/* ---- inference ---- */

void wsss_seg_infer_opts_default(wsss_seg_infer_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_scales = 1;
    o->scales[0] = 1.0;
    o->flip = 1;
    o->crf = 0;
    o->crf_params = wsss_crf_params_mcis();
}

int wsss_seg_parse_scales(const char *text, wsss_seg_infer_opts *o) {
    return wsss_parse_scales(text, 4, WSSS_SEG_MAX_SCALES, o->scales, &o->n_scales);
}

int wsss_segmenter_predict_batch(wsss_segmenter *s, wsss_ctx *ctx, int n_img, const wsss_image *rgb,
                                 const wsss_seg_infer_opts *o, float *const *probs, uint8_t *const *labels) {
    if (n_img < 1) return wsss_error_set("segment: no image");
    const int H = rgb[0].height, W = rgb[0].width, C = s->num_classes;
    for (int k = 0; k < n_img; k++)
        if (!rgb[k].data || rgb[k].channels != 3 || rgb[k].width < 1 || rgb[k].height < 1 || rgb[k].width != W ||
            rgb[k].height != H)
            return wsss_error_set("segment: expected RGB images of one size");
    if (o->n_scales < 1 || o->n_scales > WSSS_SEG_MAX_SCALES) return wsss_error_set("segment: no scales");
    const int64_t n = (int64_t)H * W;
    float **acc = wsss_xcalloc((size_t)n_img, sizeof *acc);
    for (int k = 0; k < n_img; k++) {
        acc[k] = probs && probs[k] ? probs[k] : wsss_xmalloc(sizeof(float) * (size_t)(C * n));
        memset(acc[k], 0, sizeof(float) * (size_t)(C * n));
    }
    wsss_aug_config norm;
    wsss_aug_config_default(&norm);
    wsss_tensor *x0 = wsss_tensor_new4(WSSS_F32, n_img, 3, H, W);
    for (int k = 0; k < n_img; k++) wsss_aug_write_image(&norm, &rgb[k], NULL, x0, k);

    int old_grad = wsss_ctx_set_grad_enabled(ctx, 0);
    int old_blocked = wsss_ctx_set_blocked(ctx, 1);
    int old_wino = wsss_ctx_set_winograd(ctx, !o->direct_conv); /* as wsss_cam_compute */
    int runs = 0, rc = WSSS_OK;
    for (int si = 0; si < o->n_scales; si++) {
        wsss_ctx_reset(ctx);
        int64_t h = (int64_t)llround(o->scales[si] * H), w = (int64_t)llround(o->scales[si] * W);
        if (h < s->m.min_input) h = s->m.min_input;
        if (w < s->m.min_input) w = s->m.min_input;
        wsss_tensor *x = (h == H && w == W) ? x0 : wsss_resize_bilinear(ctx, x0, h, w, 0);
        if (o->flip) { /* the images and their mirrors as one batch (BN uses running statistics) */
            wsss_tensor *xs[2] = {x, wsss_flip(ctx, x, 3)};
            x = wsss_concat(ctx, 2, xs, 0);
        }
        wsss_tensor *logits = wsss_segmenter_forward(ctx, s, x, 0);
        wsss_tensor *p = wsss_softmax(ctx, logits, 1);
        if (p->shape[2] != H || p->shape[3] != W) p = wsss_resize_bilinear(ctx, p, H, W, 0);
        const float *pv = wsss_f32(wsss_ctx_contiguous(ctx, p));
        for (int k = 0; k < n_img; k++) {
            const float *q = pv + (int64_t)k * C * n;
            for (int64_t i = 0; i < C * n; i++) acc[k][i] += q[i];
            if (!o->flip) continue;
            const float *qf = pv + (int64_t)(n_img + k) * C * n; /* its mirror, mirrored back */
            for (int64_t c = 0; c < C; c++)
                for (int y = 0; y < H; y++) {
                    float *a = acc[k] + c * n + (int64_t)y * W;
                    const float *b = qf + c * n + (int64_t)y * W;
                    for (int xx = 0; xx < W; xx++) a[xx] += b[W - 1 - xx];
                }
        }
        runs += o->flip ? 2 : 1;
    }
    wsss_ctx_reset(ctx);
    wsss_ctx_set_winograd(ctx, old_wino);
    wsss_ctx_set_blocked(ctx, old_blocked);
    wsss_ctx_set_grad_enabled(ctx, old_grad);
    wsss_tensor_free(x0);
    const float inv = 1.0f / (float)runs;
    float *u = o->crf ? wsss_xmalloc(sizeof(float) * (size_t)(C * n)) : NULL;
    for (int k = 0; k < n_img && rc == WSSS_OK; k++) {
        for (int64_t i = 0; i < C * n; i++) acc[k][i] *= inv;
        if (o->crf) {
            rc = wsss_crf_unary_mcis(acc[k], C, n, u);
            if (rc == WSSS_OK) rc = wsss_crf_run(rgb[k].data, H, W, u, C, &o->crf_params, acc[k]);
        }
        if (rc == WSSS_OK && labels && labels[k]) rc = wsss_crf_argmax(acc[k], C, n, labels[k]);
    }
    free(u);
    for (int k = 0; k < n_img; k++)
        if (!(probs && probs[k])) free(acc[k]);
    free(acc);
    return rc;
}

int wsss_segmenter_predict(wsss_segmenter *s, wsss_ctx *ctx, const wsss_image *rgb, const wsss_seg_infer_opts *o,
                           float *probs, uint8_t *labels) {
    return wsss_segmenter_predict_batch(s, ctx, 1, rgb, o, &probs, &labels);
}
