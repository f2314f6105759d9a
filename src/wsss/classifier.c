/* The pipeline's image-level classifier (classifier.h): zoo model + dilation for basic ResNets,
 * backbone weight loading, model files with metadata. */
#include "wsss/classifier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wsss/error.h"
#include "wsss/json.h"
#include "wsss/method.h"
#include "wsss/run_layout.h"
#include "wsss/trainer.h"
#include "wsss/safetensors.h"

int wsss_classifier_create(wsss_classifier *c, const char *arch, int num_classes) {
    memset(c, 0, sizeof *c);
    if (!arch || strlen(arch) >= sizeof c->arch) return wsss_error_set("classifier: arch name missing or too long");
    if (num_classes < 1) return wsss_error_set("classifier %s: needs at least one foreground class", arch);
    wsss_arch a;
    if (wsss_arch_parse(arch, &a) != WSSS_OK) return wsss_error_prefix("classifier");
    if (a.seg_head != WSSS_HEAD_NONE)
        return wsss_error_set("classifier: %s is a segmentation model (expected a backbone such as resnet18, "
                              "resnet50-os16 or vgg16-deeplab)",
                              arch);
    snprintf(c->arch, sizeof c->arch, "%s", arch);
    c->num_classes = num_classes;
    wsss_model_opts o = wsss_model_opts_default();
    o.num_classes = num_classes;
    if (wsss_model_build(&c->m, &a, &o) != WSSS_OK) return wsss_error_prefix("classifier");
    const wsss_head_kind head = wsss_model_head_kind(&c->m);
    if (head != WSSS_HEAD_FC && head != WSSS_HEAD_CAM) {
        wsss_model_free(&c->m);
        return wsss_error_set("classifier %s: the model has no class-activation head", arch);
    }
    c->output_stride = c->m.a.output_stride;
    return WSSS_OK;
}

int wsss_classifier_create_method(wsss_classifier *c, const char *arch, int num_classes, int method) {
    const wsss_method_ops *ops = wsss_method_get((wsss_method_kind)method);
    if (wsss_classifier_create(c, arch, num_classes) != WSSS_OK) return WSSS_ERR;
    c->method = method;
    if (ops->build && ops->build(c) != WSSS_OK) {
        c->method = WSSS_METHOD_CAM; /* nothing of the method's to free */
        wsss_classifier_free(c);
        return WSSS_ERR;
    }
    return WSSS_OK;
}

/* The method a model file or a stored config names: absent = cam (files written before methods). */
static int method_from_word(const char *word, const char *where, int *method) {
    *method = WSSS_METHOD_CAM;
    if (!word || wsss_choice_parse(wsss_method_choices, word, method) == WSSS_OK) return WSSS_OK;
    char list[128];
    wsss_choice_list(wsss_method_choices, list, sizeof list);
    return wsss_error_set("%s: method \"%s\" (expected %s)", where, word, list);
}

int wsss_classifier_set_output_stride(wsss_classifier *c, int os) {
    if (os == c->output_stride) return WSSS_OK;
    const int basic = c->m.a.backbone == WSSS_BACKBONE_RESNET && (c->m.a.depth == 18 || c->m.a.depth == 34);
    if (!basic || (os != 16 && os != 8) || os > c->output_stride)
        return wsss_error_set("classifier %s: cannot run at output stride %d (only a smaller stride, 16 or 8, of "
                              "resnet18/34)",
                              c->arch, os);
    wsss_resnet_dilate_basic(&c->m.resnet, os);
    c->output_stride = os;
    return WSSS_OK;
}

void wsss_classifier_free(wsss_classifier *c) {
    const wsss_method_ops *ops = wsss_method_get((wsss_method_kind)c->method);
    if (c->method_net && ops->free) ops->free(c);
    if (c->m.params.items || c->m.arch[0]) wsss_model_free(&c->m);
    memset(c, 0, sizeof *c);
}

void wsss_classifier_reset(wsss_classifier *c, wsss_rng *rng) { wsss_model_reset_parameters(&c->m, rng); }

int wsss_classifier_load_backbone(wsss_classifier *c, const char *path) {
    return wsss_model_load_backbone(&c->m, path);
}

int wsss_classifier_save(const wsss_classifier *c, const char *path) {
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_params_to_writer(&c->m.params, w, NULL, 1);
    char k[32];
    snprintf(k, sizeof k, "%d", c->num_classes);
    wsss_st_writer_meta(w, "wsss_model", "classifier");
    wsss_st_writer_meta(w, "arch", c->arch);
    wsss_st_writer_meta(w, "num_classes", k);
    if (c->method != WSSS_METHOD_CAM) wsss_st_writer_meta(w, "method", wsss_choice_name(wsss_method_choices, c->method));
    int rc = wsss_st_writer_save(w, path);
    wsss_st_writer_free(w);
    return rc;
}

int wsss_classifier_open(wsss_classifier *c, const char *path) {
    memset(c, 0, sizeof *c);
    wsss_safetensors *st;
    if (wsss_st_open(path, &st) != WSSS_OK) return WSSS_ERR;
    const char *kind = wsss_st_meta(st, "wsss_model"), *arch = wsss_st_meta(st, "arch"),
               *ncls = wsss_st_meta(st, "num_classes");
    char *end = NULL;
    long k = ncls ? strtol(ncls, &end, 10) : 0;
    int rc = WSSS_OK;
    if (!kind || strcmp(kind, "classifier") != 0 || !arch || !ncls || *end || k < 1 || k > 100000)
        rc = wsss_error_set("%s: not a wsss classifier file (expected metadata wsss_model=classifier, arch, "
                            "num_classes; write it with wsss train-cls)",
                            path);
    char arch_copy[64] = "";
    int method = WSSS_METHOD_CAM;
    if (rc == WSSS_OK) {
        snprintf(arch_copy, sizeof arch_copy, "%s", arch);
        rc = method_from_word(wsss_st_meta(st, "method"), path, &method);
    }
    wsss_st_close(st);
    if (rc != WSSS_OK) return rc;
    if (wsss_classifier_create_method(c, arch_copy, (int)k, method) != WSSS_OK) {
        wsss_error_prefix("%s", path);
        return WSSS_ERR;
    }
    rc = wsss_model_load(&c->m, path);
    if (rc != WSSS_OK) wsss_classifier_free(c);
    return rc;
}

wsss_tensor *wsss_classifier_forward(wsss_ctx *ctx, wsss_classifier *c, wsss_tensor *x, int training,
                                     wsss_tensor **cam) {
    return wsss_model_forward(ctx, &c->m, x, training, NULL, cam);
}

wsss_tensor *wsss_classifier_maps(wsss_ctx *ctx, wsss_classifier *c, wsss_tensor *x) {
    return wsss_method_get((wsss_method_kind)c->method)->maps(ctx, c, x);
}

const wsss_choice wsss_pool_choices[] = {
    {"gap", WSSS_POOL_GAP}, {"gmp", WSSS_POOL_GMP}, {"lse", WSSS_POOL_LSE}, {NULL, 0}};

wsss_tensor *wsss_classifier_pool_scores(wsss_ctx *ctx, wsss_tensor *cam, wsss_tensor *bias, wsss_pool_kind pool,
                                         double r) {
    WSSS_ASSERT(cam->ndim == 4, "pool scores of a N,K,h,w CAM");
    const int64_t n = cam->shape[0], k = cam->shape[1], hw = cam->shape[2] * cam->shape[3];
    wsss_tensor *flat = wsss_reshape(ctx, cam, 3, (int64_t[]){n, k, hw});
    wsss_tensor *s;
    if (pool == WSSS_POOL_GAP) {
        s = wsss_mean(ctx, flat, 1u << 2, 0);
    } else if (pool == WSSS_POOL_GMP) {
        s = wsss_max(ctx, flat, 2, 0, NULL);
    } else {
        WSSS_ASSERT(r > 0, "lse sharpness > 0");
        /* log-sum-exp around the per-map max held constant: exact for any shift, and stable */
        wsss_tensor *m = wsss_detach(ctx, wsss_max(ctx, flat, 2, 1, NULL));
        wsss_tensor *e = wsss_exp(ctx, wsss_mul_scalar(ctx, wsss_sub(ctx, flat, m), r));
        wsss_tensor *l = wsss_log(ctx, wsss_sum(ctx, e, 1u << 2, 0));
        s = wsss_add(ctx, wsss_add_scalar(ctx, wsss_mul_scalar(ctx, l, 1.0 / r), -log((double)hw) / r),
                     wsss_reshape(ctx, m, 2, (int64_t[]){n, k}));
    }
    return bias ? wsss_add(ctx, s, bias) : s;
}

wsss_tensor *wsss_classifier_bias(wsss_classifier *c) { return c->m.head.ops->class_bias(c->m.head.impl); }

int wsss_classifier_open_checkpoint(wsss_classifier *c, const char *dir, int num_classes) {
    memset(c, 0, sizeof *c);
    char *cfg = wsss_trainer_ckpt_config(dir);
    if (!cfg) return WSSS_ERR;
    wsss_json *j = wsss_json_parse(cfg, strlen(cfg));
    free(cfg);
    const char *arch = j ? wsss_json_get_string(j, "arch", NULL) : NULL;
    if (!arch) {
        wsss_json_free(j);
        return wsss_error_set("%s/state.json: the stored config names no \"arch\" (not a train-cls checkpoint)", dir);
    }
    char a[64];
    snprintf(a, sizeof a, "%s", arch);
    int method;
    int rc = method_from_word(wsss_json_get_string(j, "method", NULL), dir, &method);
    wsss_json_free(j);
    if (rc != WSSS_OK || wsss_classifier_create_method(c, a, num_classes, method) != WSSS_OK) return WSSS_ERR;
    char *mp = wsss_run_file(dir, "model", ".safetensors");
    rc = wsss_model_load(&c->m, mp);
    free(mp);
    if (rc != WSSS_OK) wsss_classifier_free(c);
    return rc;
}

int wsss_classifier_open_any(wsss_classifier *c, const char *path, int num_classes) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return wsss_classifier_open_checkpoint(c, path, num_classes);
    return wsss_classifier_open(c, path);
}
