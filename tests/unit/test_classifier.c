/* The pipeline classifier (classifier.h): dilated basic ResNets give the expected CAM resolution
 * and, at output stride 32, the same outputs as the zoo model; torchvision-named backbone weights
 * load (a 1000-class fc in the file is ignored, every backbone tensor must be there); model files
 * round-trip with their metadata; train-cls configs round-trip through JSON. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "wsss/classifier.h"
#include "wsss/runtime.h"
#include "wsss/safetensors.h"
#include "wsss/train_cls.h"

static int same_tensor(const wsss_tensor *a, const wsss_tensor *b) {
    return a->dtype == b->dtype && wsss_tensor_same_shape(a, b) && memcmp(a->data, b->data, wsss_tensor_nbytes(a)) == 0;
}

int main(void) {
    wsss_runtime_init();
    const char *tmp = test_tmp_dir("test_classifier");
    char path[1200], bad[1200];
    wsss_rng rng;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(ctx, 0);
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, (int64_t[]){2, 3, 64, 48}, -1, 1, 7);

    /* CAM resolution for output strides 32/16/8 of a basic-block ResNet */
    const char *archs[3] = {"resnet18", "resnet18-os16", "resnet18-os8"};
    const int64_t want_h[3] = {2, 4, 8}, want_w[3] = {2, 3, 6};
    for (int a = 0; a < 3; a++) {
        wsss_classifier c;
        CHECK(wsss_classifier_create(&c, archs[a], 5) == WSSS_OK, "%s: %s", archs[a], wsss_error_msg());
        wsss_rng_seed(&rng, 1);
        wsss_classifier_reset(&c, &rng);
        wsss_tensor *cam = NULL;
        wsss_tensor *logits = wsss_classifier_forward(ctx, &c, x, 0, &cam);
        CHECK(logits->ndim == 2 && logits->shape[0] == 2 && logits->shape[1] == 5, "%s logits", archs[a]);
        CHECK(cam && cam->shape[1] == 5 && cam->shape[2] == want_h[a] && cam->shape[3] == want_w[a],
              "%s: CAM %lldx%lld, expected %lldx%lld", archs[a], (long long)cam->shape[2], (long long)cam->shape[3],
              (long long)want_h[a], (long long)want_w[a]);
        CHECK(c.output_stride == (a == 0 ? 32 : a == 1 ? 16 : 8), "%s output stride %d", archs[a], c.output_stride);
        /* logits = spatial mean of the CAM + bias (GAP + linear) */
        double err = 0;
        for (int n = 0; n < 2; n++)
            for (int k = 0; k < 5; k++) {
                double s = 0;
                const int64_t hw = cam->shape[2] * cam->shape[3];
                for (int64_t i = 0; i < hw; i++) s += wsss_f32(cam)[(n * 5 + k) * hw + i];
                double d = s / hw + wsss_f32(c.m.resnet.fc.bias)[k] - wsss_f32(logits)[n * 5 + k];
                err = fabs(d) > err ? fabs(d) : err;
            }
        CHECK(err < 1e-4, "%s: logits = mean CAM + bias (max err %g)", archs[a], err);
        wsss_ctx_reset(ctx);
        wsss_classifier_free(&c);
    }
    CHECK(wsss_classifier_create(&(wsss_classifier){0}, "resnet18-aspp", 5) == WSSS_ERR, "segmentation arch rejected");
    CHECK(wsss_classifier_create(&(wsss_classifier){0}, "resnet7", 5) == WSSS_ERR, "unknown arch rejected");
    wsss_classifier tmpc;
    CHECK(wsss_classifier_create(&tmpc, "resnet18", 0) == WSSS_ERR && strstr(wsss_error_msg(), "class"),
          "zero classes rejected");

    /* an ImageNet-style file: torchvision resnet18 with its 1000-class fc */
    wsss_model imnet;
    CHECK(wsss_model_create(&imnet, "resnet18", 1000, WSSS_F32) == WSSS_OK, "imagenet model");
    wsss_rng_seed(&rng, 99);
    wsss_model_reset_parameters(&imnet, &rng);
    for (int i = 0; i < wsss_params_count(&imnet.params); i++) { /* non-trivial BN statistics too */
        const wsss_param *p = wsss_params_at(&imnet.params, i);
        if (p->kind == WSSS_KIND_BUFFER && p->t->dtype == WSSS_F32)
            for (int64_t k = 0; k < wsss_tensor_numel(p->t); k++) wsss_f32(p->t)[k] = 0.5f + 0.01f * (float)(k % 7);
    }
    snprintf(path, sizeof path, "%s/imagenet.safetensors", tmp);
    CHECK(wsss_params_save_safetensors(&imnet.params, path, 1) == WSSS_OK, "save imagenet file");
    wsss_classifier c;
    CHECK(wsss_classifier_create(&c, "resnet18-os16", 4) == WSSS_OK, "create");
    wsss_rng_seed(&rng, 2);
    wsss_classifier_reset(&c, &rng);
    wsss_tensor *fc_before = wsss_tensor_clone(c.m.resnet.fc.weight);
    CHECK(wsss_classifier_load_backbone(&c, path) == WSSS_OK, "load backbone: %s", wsss_error_msg());
    int all = 1, n_cmp = 0;
    for (int i = 0; i < wsss_params_count(&c.m.params); i++) {
        const wsss_param *p = wsss_params_at(&c.m.params, i);
        if (strncmp(p->t->name, "fc.", 3) == 0) continue;
        wsss_tensor *src = wsss_params_find(&imnet.params, p->t->name);
        int same = src && same_tensor(src, p->t);
        all &= same;
        n_cmp++;
    }
    CHECK(all && n_cmp > 100, "all %d backbone tensors loaded", n_cmp);
    CHECK(same_tensor(fc_before, c.m.resnet.fc.weight), "the new head keeps its initialisation");
    wsss_tensor_free(fc_before);

    /* missing tensor / truncated file: errors naming the file and the problem, nothing loaded */
    wsss_params partial;
    wsss_params_init(&partial);
    for (int i = 0; i < wsss_params_count(&imnet.params); i++) {
        const wsss_param *p = wsss_params_at(&imnet.params, i);
        if (strcmp(p->t->name, "layer3.1.conv2.weight") == 0) continue;
        wsss_tensor *t = p->kind == WSSS_KIND_PARAM
                             ? wsss_params_add_param(&partial, p->t->name, p->t->dtype, p->t->ndim, p->t->shape, 0)
                             : wsss_params_add_buffer(&partial, p->t->name, p->t->dtype, p->t->ndim, p->t->shape);
        wsss_tensor_copy_into(t, p->t);
    }
    snprintf(bad, sizeof bad, "%s/partial.safetensors", tmp);
    CHECK(wsss_params_save_safetensors(&partial, bad, 1) == WSSS_OK, "save partial");
    wsss_params_free(&partial);
    wsss_tensor *w_before = wsss_tensor_clone(c.m.resnet.conv1.weight);
    wsss_f32(c.m.resnet.conv1.weight)[0] += 1.0f;
    wsss_tensor_copy_into(w_before, c.m.resnet.conv1.weight);
    CHECK(wsss_classifier_load_backbone(&c, bad) == WSSS_ERR && strstr(wsss_error_msg(), "partial.safetensors") &&
              strstr(wsss_error_msg(), "layer3.1.conv2.weight"),
          "missing tensor: '%s'", wsss_error_msg());
    CHECK(same_tensor(w_before, c.m.resnet.conv1.weight), "nothing loaded on error");
    wsss_tensor_free(w_before);
    FILE *f = fopen(path, "r+b");
    if (f) {
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fclose(f);
        CHECK(truncate(path, len / 2) == 0, "truncate");
    }
    CHECK(wsss_classifier_load_backbone(&c, path) == WSSS_ERR && strstr(wsss_error_msg(), "imagenet.safetensors"),
          "truncated: '%s'", wsss_error_msg());
    wsss_model_free(&imnet);

    /* model file round trip: same outputs */
    snprintf(path, sizeof path, "%s/cls.safetensors", tmp);
    CHECK(wsss_classifier_save(&c, path) == WSSS_OK, "save: %s", wsss_error_msg());
    wsss_classifier d;
    CHECK(wsss_classifier_open(&d, path) == WSSS_OK, "open: %s", wsss_error_msg());
    CHECK(strcmp(d.arch, "resnet18-os16") == 0 && d.num_classes == 4 && d.output_stride == 16, "metadata");
    wsss_tensor *cam1 = NULL, *cam2 = NULL;
    wsss_tensor *l1 = wsss_classifier_forward(ctx, &c, x, 0, &cam1);
    wsss_tensor *l2 = wsss_classifier_forward(ctx, &d, x, 0, &cam2);
    check_close("logits after save/open", l2, l1, 0, 0);
    check_close("cams after save/open", cam2, cam1, 0, 0);
    wsss_ctx_reset(ctx);
    wsss_classifier_free(&d);
    snprintf(bad, sizeof bad, "%s/partial.safetensors", tmp);
    CHECK(wsss_classifier_open(&d, bad) == WSSS_ERR && strstr(wsss_error_msg(), "not a wsss classifier"),
          "a plain state_dict is not a classifier file: '%s'", wsss_error_msg());
    wsss_classifier_free(&c);

    /* train-cls config JSON round trip */
    wsss_train_cls_config a, b;
    wsss_train_cls_config_default(&a);
    a.data = "/data/x";
    a.arch = "resnet34-os8";
    a.epochs = 17;
    a.lr = 0.0123;
    a.backbone_weights = NULL;
    a.lr_steps = "3,5";
    char *js = wsss_train_cls_config_to_json(&a);
    void *store = NULL;
    CHECK(wsss_train_cls_config_from_json(js, &b, &store) == WSSS_OK, "config parse: %s", wsss_error_msg());
    CHECK(strcmp(b.data, "/data/x") == 0 && strcmp(b.arch, "resnet34-os8") == 0 && b.epochs == 17 && b.lr == 0.0123 &&
              b.backbone_weights == NULL && strcmp(b.lr_steps, "3,5") == 0 && b.batch == a.batch,
          "config round trip");
    char *js2 = wsss_train_cls_config_to_json(&b);
    CHECK(strcmp(js, js2) == 0, "config JSON stable");
    free(js);
    free(js2);
    wsss_train_cls_config_free_storage(store);
    CHECK(wsss_train_cls_config_from_json("{\"stage\": \"train-seg\"}", &b, &store) == WSSS_ERR,
          "another stage's config rejected");
    wsss_train_cls_config_free_storage(store);
    CHECK(wsss_train_cls_config_from_json("{\"stage\": \"train-cls\", \"epochs\": \"x\"}", &b, &store) == WSSS_ERR &&
              strstr(wsss_error_msg(), "epochs"),
          "mistyped field named: '%s'", wsss_error_msg());
    wsss_train_cls_config_free_storage(store);
    wsss_error_clear();

    wsss_tensor_free(x);
    wsss_ctx_free(ctx);
    return test_summary("test_classifier");
}
