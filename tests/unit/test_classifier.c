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

int main(void) {
    wsss_runtime_init();
    const char *tmp = test_tmp_dir("test_classifier");
    char path[1200], bad[1200];
    wsss_rng rng;
    wsss_ctx *ctx = test_ctx_no_grad();
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
        double cmax = 0;
        for (int64_t i = 0; i < wsss_tensor_numel(cam); i++) cmax = fmax(cmax, fabs(wsss_f32(cam)[i]));
        CHECK(cmax > 0.01 && err < 1e-4, "%s: logits = mean CAM + bias (max err %g, max |cam| %g)", archs[a], err, cmax);
        wsss_ctx_reset(ctx);
        wsss_classifier_free(&c);
    }
    /* a trous: a resnet18-os16 classifier switched to output stride 8 gives, at every other CAM
     * position, exactly the stride-16 maps (eval mode, non-trivial BN statistics) */
    {
        wsss_classifier c16;
        CHECK(wsss_classifier_create(&c16, "resnet18-os16", 5) == WSSS_OK, "create os16");
        wsss_rng_seed(&rng, 4);
        wsss_classifier_reset(&c16, &rng);
        for (int i = 0; i < wsss_params_count(&c16.m.params); i++) {
            const wsss_param *p = wsss_params_at(&c16.m.params, i);
            const int is_var = strstr(p->t->name, "running_var") != NULL;
            if (p->kind == WSSS_KIND_BUFFER && p->t->dtype == WSSS_F32)
                for (int64_t k = 0; k < wsss_tensor_numel(p->t); k++)
                    wsss_f32(p->t)[k] = is_var ? 0.8f + 0.1f * (float)(k % 3) : 0.02f * (float)(k % 5 - 2);
        }
        wsss_tensor *cam16 = NULL, *cam8 = NULL;
        wsss_classifier_forward(ctx, &c16, x, 0, &cam16);
        wsss_tensor *keep16 = wsss_tensor_clone(cam16);
        wsss_ctx_reset(ctx);
        CHECK(wsss_classifier_set_output_stride(&c16, 8) == WSSS_OK && c16.output_stride == 8, "switch to os8");
        wsss_classifier_forward(ctx, &c16, x, 0, &cam8);
        const int64_t h16 = keep16->shape[2], w16 = keep16->shape[3], h8 = cam8->shape[2], w8 = cam8->shape[3];
        CHECK(h8 == 2 * h16 && w8 == 2 * w16, "os8 map %lldx%lld vs os16 %lldx%lld", (long long)h8, (long long)w8,
              (long long)h16, (long long)w16);
        double err = 0, scale = 0;
        for (int64_t n = 0; n < 2 && h8 == 2 * h16; n++)
            for (int64_t k = 0; k < 5; k++)
                for (int64_t y = 0; y < h16; y++)
                    for (int64_t xx = 0; xx < w16; xx++) {
                        double a = wsss_f32(keep16)[((n * 5 + k) * h16 + y) * w16 + xx];
                        double b = wsss_f32(cam8)[((n * 5 + k) * h8 + 2 * y) * w8 + 2 * xx];
                        err = fmax(err, fabs(a - b));
                        scale = fmax(scale, fabs(a));
                    }
        CHECK(scale > 0.1 && err <= 1e-4 * scale, "a trous identity: max error %.3g (scale %.3g)", err, scale);
        printf("a trous os16 -> os8: max |difference| at shared positions %.3g (max |cam| %.3g)\n", err, scale);
        CHECK(wsss_classifier_set_output_stride(&c16, 16) == WSSS_ERR, "larger stride rejected");
        wsss_tensor_free(keep16);
        wsss_ctx_reset(ctx);
        wsss_classifier_free(&c16);
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
    int n_cmp = 0;
    const int all = test_params_equal(&c.m.params, "", "fc.", &imnet.params, &n_cmp);
    CHECK(all && n_cmp > 100, "all %d backbone tensors loaded", n_cmp);
    CHECK(same_tensor(fc_before, c.m.resnet.fc.weight), "the new head keeps its initialisation");
    wsss_tensor_free(fc_before);

    /* missing tensor / truncated file: errors naming the file and the problem, nothing loaded */
    snprintf(bad, sizeof bad, "%s/partial.safetensors", tmp);
    CHECK(test_save_params_without(&imnet.params, "layer3.1.conv2.weight", bad) == WSSS_OK, "save partial");
    wsss_tensor *w_before = wsss_tensor_clone(c.m.resnet.conv1.weight);
    wsss_f32(c.m.resnet.conv1.weight)[0] += 1.0f;
    wsss_tensor_bump_version(c.m.resnet.conv1.weight); /* a direct write */
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

    /* score pooling of a CAM (F64): mean / max / log-mean-exp + bias, against direct formulas, and
     * the LSE gradient against central finite differences */
    {
        wsss_ctx *g = wsss_ctx_new();
        const int64_t N = 2, Kc = 3, hw = 12;
        wsss_tensor *cam = rand_tensor(WSSS_F64, 4, (int64_t[]){N, Kc, 3, 4}, -2, 2, 11);
        wsss_tensor *bias = rand_tensor(WSSS_F64, 1, (int64_t[]){Kc}, -1, 1, 12);
        const double rs[3] = {2.0, 1e-4, 300.0};
        double worst[4] = {0, 0, 0, 0};
        for (int mode = 0; mode < 5; mode++) {
            wsss_pool_kind pk = mode == 0 ? WSSS_POOL_GAP : mode == 1 ? WSSS_POOL_GMP : WSSS_POOL_LSE;
            double r = mode >= 2 ? rs[mode - 2] : 1;
            wsss_tensor *sc = wsss_classifier_pool_scores(g, cam, bias, pk, r);
            CHECK(sc->ndim == 2 && sc->shape[0] == N && sc->shape[1] == Kc, "pool scores shape");
            for (int64_t n = 0; n < N; n++)
                for (int64_t k = 0; k < Kc; k++) {
                    const double *v = wsss_f64(cam) + (n * Kc + k) * hw;
                    double mean = 0, mx = -1e300, se = 0;
                    for (int64_t i = 0; i < hw; i++) mean += v[i] / hw, mx = v[i] > mx ? v[i] : mx;
                    for (int64_t i = 0; i < hw; i++) se += exp(r * v[i]);
                    double want = mode == 0 ? mean : mode == 1 ? mx : log(se / hw) / r;
                    double got = wsss_f64(sc)[n * Kc + k] - wsss_f64(bias)[k];
                    double e = fabs(got - want);
                    int slot = mode < 2 ? mode : 2;
                    worst[slot] = e > worst[slot] ? e : worst[slot];
                    if (mode == 3) worst[3] = fmax(worst[3], fabs(got - mean)); /* r -> 0: the mean */
                    if (mode == 4) CHECK(got <= mx + 1e-12 && got >= mx - log((double)hw) / r - 1e-12,
                                         "LSE r=300 within [max - log(hw)/r, max]");
                }
            wsss_ctx_reset(g);
        }
        CHECK(worst[0] < 1e-12 && worst[1] < 1e-12 && worst[2] < 1e-10 && worst[3] < 1e-3,
              "pooling vs formulas: gap %.2g gmp %.2g lse %.2g lse(r->0) vs mean %.2g", worst[0], worst[1], worst[2],
              worst[3]);
        /* d/dcam of sum(w .* lse(cam)) by finite differences */
        wsss_tensor *w = rand_tensor(WSSS_F64, 2, (int64_t[]){N, Kc}, -1, 1, 13);
        cam->requires_grad = 1;
        wsss_tensor *loss = wsss_sum_all(g, wsss_mul(g, wsss_classifier_pool_scores(g, cam, bias, WSSS_POOL_LSE, 2.0), w));
        CHECK(wsss_backward(g, loss) == WSSS_OK && cam->grad, "LSE backward");
        double fd_err = 0;
        for (int64_t i = 0; cam->grad && i < wsss_tensor_numel(cam); i++) {
            double orig = wsss_f64(cam)[i], f[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                wsss_f64(cam)[i] = orig + (sgn ? -1e-6 : 1e-6);
                wsss_ctx *h = wsss_ctx_new();
                wsss_ctx_set_grad_enabled(h, 0);
                wsss_tensor *l2 =
                    wsss_sum_all(h, wsss_mul(h, wsss_classifier_pool_scores(h, cam, bias, WSSS_POOL_LSE, 2.0), w));
                f[sgn] = wsss_tensor_get(l2, 0);
                wsss_ctx_free(h);
            }
            wsss_f64(cam)[i] = orig;
            fd_err = fmax(fd_err, fabs((f[0] - f[1]) / 2e-6 - wsss_f64(cam->grad)[i]));
        }
        CHECK(fd_err < 1e-7, "LSE gradient vs finite differences: %.2g", fd_err);
        printf("pooling: max error gap %.2g gmp %.2g lse %.2g, lse gradient vs FD %.2g\n", worst[0], worst[1], worst[2],
               fd_err);
        wsss_ctx_free(g);
        wsss_tensor_free(cam);
        wsss_tensor_free(bias);
        wsss_tensor_free(w);
        int pk = -1;
        CHECK(wsss_choice_parse(wsss_pool_choices, "avg", &pk) == WSSS_ERR && pk == -1, "unknown pooling rejected");
        CHECK(wsss_choice_parse(wsss_pool_choices, "lse", &pk) == WSSS_OK && pk == WSSS_POOL_LSE, "lse pooling parsed");
    }

    /* train-cls config JSON round trip */
    wsss_train_cls_config a, b;
    wsss_train_cls_config_default(&a);
    a.data = "/data/x";
    a.arch = "resnet34-os8";
    a.epochs = 17;
    a.lr = 0.0123;
    a.backbone_weights = NULL;
    a.lr_steps = "3,5";
    char *js = wsss_cfg_to_json(&wsss_train_cls_config_table, &a);
    void *store = NULL;
    CHECK(wsss_cfg_from_json(&wsss_train_cls_config_table, js, &b, &store) == WSSS_OK, "config parse: %s", wsss_error_msg());
    CHECK(strcmp(b.data, "/data/x") == 0 && strcmp(b.arch, "resnet34-os8") == 0 && b.epochs == 17 && b.lr == 0.0123 &&
              b.backbone_weights == NULL && strcmp(b.lr_steps, "3,5") == 0 && b.batch == a.batch,
          "config round trip");
    check_cfg_json_rules(&wsss_train_cls_config_table, &b, js, store, "{\"stage\": \"train-seg\"}",
                         "{\"stage\": \"train-cls\", \"epochs\": \"x\"}", "epochs");
    /* typed settings are stored as their words (older checkpoints hold the same strings) */
    CHECK(wsss_cfg_from_json(&wsss_train_cls_config_table, "{\"stage\": \"train-cls\", \"optim\": \"adamw\", \"pool\": \"lse\", "
                                          "\"loss\": \"bce\", \"lr_policy\": \"step\"}",
                                          &b, &store) == WSSS_OK &&
              b.optim == WSSS_OPTIM_ADAMW && b.pool == WSSS_POOL_LSE && b.loss == WSSS_CLS_LOSS_BCE &&
              b.lr_policy == WSSS_LR_STEP,
          "stored words read as typed settings: %s", wsss_error_msg());
    wsss_cfg_free_storage(store);
    CHECK(wsss_cfg_from_json(&wsss_train_cls_config_table, "{\"stage\": \"train-cls\", \"pool\": \"avg\"}", &b, &store) == WSSS_ERR &&
              strstr(wsss_error_msg(), "pool") && strstr(wsss_error_msg(), "avg") &&
              strstr(wsss_error_msg(), "gap, gmp or lse"),
          "unknown stored word named with the choices: '%s'", wsss_error_msg());
    wsss_cfg_free_storage(store);
    a.pool = WSSS_POOL_GMP;
    js = wsss_cfg_to_json(&wsss_train_cls_config_table, &a);
    CHECK(strstr(js, "\"gmp\"") != NULL, "a typed setting is written as its word: %s", js);
    free(js);
    wsss_error_clear();

    wsss_tensor_free(x);
    wsss_ctx_free(ctx);
    return test_summary("test_classifier");
}
