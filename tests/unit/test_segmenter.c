/* The segmentation network (segmenter.h) and its training config (train_seg.h):
 *  - dilated basic-block ResNets: with the same weights and running BN statistics, the output
 *    stride 8 / 16 feature map sampled every 4th / 2nd position equals the stride-32 map (the a
 *    trous identity of replacing a stride by dilation), so the dilation is wired right;
 *  - inference: single scale without flip = softmax of the logits upsampled with a hand-written
 *    bilinear (half-pixel) loop; scales {1, 0.5} + flip = the mean of the four hand-composed runs;
 *    mirror symmetry of flip averaging; batched = single predictions; probabilities sum to 1;
 *    labels = argmax; CRF output;
 *  - backbone weights: torchvision / classifier names (fc ignored) and "backbone."-prefixed names
 *    load; a missing tensor is an error naming the file and the tensor, nothing loaded;
 *  - model files round-trip (same logits); a plain state_dict is refused with a clear message;
 *  - bad arch names, scale lists; train-seg config JSON round trip. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"
#include "wsss/segmenter.h"
#include "wsss/train_common.h"
#include "wsss/train_seg.h"

/* Random running statistics so that eval-mode BN is not the identity. */
static void randomise_bn(wsss_params *ps, unsigned seed) {
    wsss_rng r;
    wsss_rng_seed(&r, seed);
    for (int i = 0; i < wsss_params_count(ps); i++) {
        const wsss_param *p = wsss_params_at(ps, i);
        if (p->t->dtype != WSSS_F32) continue;
        const char *n = p->t->name;
        const int is_bn = strstr(n, "running_mean") || strstr(n, "running_var") || strstr(n, "bn") ||
                          strstr(n, "downsample.1");
        if (!is_bn) continue;
        for (int64_t k = 0; k < wsss_tensor_numel(p->t); k++) {
            double u = wsss_rng_uniform(&r);
            wsss_f32(p->t)[k] = strstr(n, "running_var") ? (float)(0.5 + u) : (float)(0.2 * (u - 0.5)) +
                                                                                  (strstr(n, "weight") ? 1.0f : 0.0f);
        }
    }
}

/* Whether every pixel's label is the argmax of its probabilities (C planes of hw), and in
 * *max_sum_err the largest |sum of a pixel's probabilities - 1|. */
static int labels_are_argmax(const float *probs, const uint8_t *labels, int C, int hw, double *max_sum_err) {
    int ok = 1;
    *max_sum_err = 0;
    for (int i = 0; i < hw; i++) {
        int best = 0;
        double sum = 0;
        for (int c = 0; c < C; c++) {
            sum += probs[c * hw + i];
            if (probs[c * hw + i] > probs[best * hw + i]) best = c;
        }
        ok &= labels[i] == best;
        *max_sum_err = fmax(*max_sum_err, fabs(sum - 1));
    }
    return ok;
}

/* Add softmax(logits[b]) upsampled to H x W (mirrored back if mirror) into acc (C x H x W). */
static void add_run(double *acc, const wsss_tensor *logits, int b, int H, int W, int mirror) {
    const int C = (int)logits->shape[1], h = (int)logits->shape[2], w = (int)logits->shape[3];
    double *p = malloc(sizeof(double) * (size_t)(C * h * w));
    const float *l = wsss_f32(logits) + (int64_t)b * C * h * w;
    for (int i = 0; i < h * w; i++) { /* softmax by hand, in double */
        double mx = -INFINITY, s = 0;
        for (int c = 0; c < C; c++) mx = fmax(mx, l[c * h * w + i]);
        for (int c = 0; c < C; c++) s += exp(l[c * h * w + i] - mx);
        for (int c = 0; c < C; c++) p[c * h * w + i] = exp(l[c * h * w + i] - mx) / s;
    }
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                const int xs = mirror ? W - 1 - x : x;
                acc[((int64_t)c * H + y) * W + x] += test_bilinear_at(p + c * h * w, h, w, H, W, y, xs);
            }
    free(p);
}

int main(void) {
    wsss_runtime_init();
    const char *tmp = test_tmp_dir("test_segmenter");
    char path[1200], bad[1200];
    wsss_rng rng;
    wsss_ctx *ctx = test_ctx_no_grad();

    /* ---- dilation: OS8 / OS16 sampled = OS32 (eval-mode BN) ---- */
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, (int64_t[]){1, 3, 72, 56}, -1, 1, 3);
    const char *archs[3] = {"resnet18-largefov", "resnet18-os16-largefov", "resnet18-os8-largefov"};
    wsss_segmenter s[3];
    wsss_tensor *feat[3];
    for (int a = 0; a < 3; a++) {
        wsss_segmenter_config c = {.arch = archs[a], .num_classes = 4, .hidden = 16, .head_dilation = 2};
        CHECK(wsss_segmenter_create(&s[a], &c) == WSSS_OK, "%s: %s", archs[a], wsss_error_msg());
        wsss_rng_seed(&rng, 5);
        wsss_segmenter_reset(&s[a], &rng);
        randomise_bn(&s[a].m.params, 11);
        CHECK(s[a].output_stride == (a == 0 ? 32 : a == 1 ? 16 : 8), "%s: output stride %d", archs[a],
              s[a].output_stride);
        feat[a] = wsss_resnet_features(ctx, &s[a].m.resnet, x, 0, NULL);
    }
    const int64_t want_h[3] = {3, 5, 9}, want_w[3] = {2, 4, 7};
    for (int a = 0; a < 3; a++)
        CHECK(feat[a]->shape[2] == want_h[a] && feat[a]->shape[3] == want_w[a], "%s: features %lldx%lld", archs[a],
              (long long)feat[a]->shape[2], (long long)feat[a]->shape[3]);
    for (int a = 1; a < 3; a++) {
        const int step = a == 1 ? 2 : 4;
        wsss_tensor *sub = wsss_tensor_new4(WSSS_F32, 1, feat[0]->shape[1], feat[0]->shape[2], feat[0]->shape[3]);
        const int64_t C = feat[0]->shape[1], h = feat[0]->shape[2], w = feat[0]->shape[3];
        const int64_t H = feat[a]->shape[2], W = feat[a]->shape[3];
        for (int64_t c = 0; c < C; c++)
            for (int64_t y = 0; y < h; y++)
                for (int64_t xx = 0; xx < w; xx++)
                    wsss_f32(sub)[(c * h + y) * w + xx] = wsss_f32(feat[a])[(c * H + y * step) * W + xx * step];
        double err = check_close(a == 1 ? "OS16 features at even positions = OS32 features"
                                        : "OS8 features at every 4th position = OS32 features",
                                 sub, feat[0], 1e-4, 1e-4);
        printf("dilation identity %s: max abs error %.3g\n", archs[a], err);
        wsss_tensor_free(sub);
    }
    wsss_ctx_reset(ctx);
    wsss_segmenter_free(&s[0]);
    wsss_segmenter_free(&s[1]);

    /* ---- inference against hand-composed runs ---- */
    wsss_segmenter *seg = &s[2]; /* resnet18-os8-largefov, 4 classes */
    const int H = 37, W = 30, C = 4;
    wsss_image img;
    wsss_image_alloc(&img, W, H, 3);
    wsss_rng_seed(&rng, 8);
    for (int i = 0; i < W * H * 3; i++) img.data[i] = (uint8_t)wsss_rng_below(&rng, 256);
    wsss_tensor *x0 = wsss_tensor_new4(WSSS_F32, 1, 3, H, W); /* ImageNet normalisation by hand */
    const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < W * H; i++)
            wsss_f32(x0)[c * W * H + i] = (float)((img.data[i * 3 + c] / 255.0 - mean[c]) / sd[c]);
    float *probs = malloc(sizeof(float) * (size_t)(C * H * W));
    uint8_t *labels = malloc((size_t)(H * W));
    double *want = calloc((size_t)(C * H * W), sizeof(double));
    wsss_tensor *got_t = wsss_tensor_new4(WSSS_F32, 1, C, H, W), *want_t = wsss_tensor_new4(WSSS_F32, 1, C, H, W);

    wsss_seg_infer_opts io;
    wsss_seg_infer_opts_default(&io);
    io.flip = 0;
    CHECK(wsss_segmenter_predict(seg, ctx, &img, &io, probs, labels) == WSSS_OK, "predict: %s", wsss_error_msg());
    wsss_tensor *lg = wsss_tensor_clone(wsss_segmenter_forward(ctx, seg, x0, 0));
    wsss_ctx_reset(ctx);
    add_run(want, lg, 0, H, W, 0);
    for (int i = 0; i < C * H * W; i++) wsss_f32(want_t)[i] = (float)want[i];
    memcpy(wsss_f32(got_t), probs, sizeof(float) * (size_t)(C * H * W));
    printf("single scale: max abs error %.3g\n", check_close("single scale = softmax + bilinear by hand", got_t, want_t, 2e-5, 1e-4));
    double max_sum_err;
    int argmax_ok = labels_are_argmax(probs, labels, C, H * W, &max_sum_err);
    CHECK(argmax_ok, "labels = argmax of the probabilities");
    CHECK(max_sum_err < 1e-5, "probabilities sum to 1 (max error %g)", max_sum_err);
    wsss_tensor_free(lg);

    /* scales {1, 0.5} with flip: mean of four runs; the 0.5 input is x0 resized to round(0.5 * size) */
    CHECK(wsss_seg_parse_scales("1,0.5", &io) == WSSS_OK, "parse scales");
    io.flip = 1;
    CHECK(wsss_segmenter_predict(seg, ctx, &img, &io, probs, labels) == WSSS_OK, "predict ms: %s", wsss_error_msg());
    memset(want, 0, sizeof(double) * (size_t)(C * H * W));
    for (int si = 0; si < 2; si++) {
        wsss_tensor *xi = si == 0 ? x0 : wsss_resize_bilinear(ctx, x0, 19 /* round(18.5) */, 15, 0);
        for (int m = 0; m < 2; m++) {
            wsss_tensor *in = m ? wsss_contiguous(ctx, wsss_flip(ctx, xi, 3)) : xi;
            wsss_tensor *l = wsss_segmenter_forward(ctx, seg, in, 0);
            add_run(want, wsss_ctx_contiguous(ctx, l), 0, H, W, m);
        }
        wsss_ctx_reset(ctx);
    }
    for (int i = 0; i < C * H * W; i++) wsss_f32(want_t)[i] = (float)(want[i] / 4);
    memcpy(wsss_f32(got_t), probs, sizeof(float) * (size_t)(C * H * W));
    printf("scales 1,0.5 + flip: max abs error %.3g\n",
           check_close("scales {1, 0.5} + flip = mean of four hand-composed runs", got_t, want_t, 2e-5, 1e-4));

    /* mirror symmetry: the prediction of the mirrored image is the mirrored prediction */
    wsss_image mir;
    wsss_image_alloc(&mir, W, H, 3);
    for (int y = 0; y < H; y++)
        for (int xx = 0; xx < W; xx++)
            memcpy(mir.data + (y * W + xx) * 3, img.data + (y * W + (W - 1 - xx)) * 3, 3);
    float *probs_m = malloc(sizeof(float) * (size_t)(C * H * W));
    CHECK(wsss_segmenter_predict(seg, ctx, &mir, &io, probs_m, NULL) == WSSS_OK, "predict mirrored");
    double sym = 0;
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < W; xx++)
                sym = fmax(sym, fabs(probs_m[(c * H + y) * W + xx] - probs[(c * H + y) * W + (W - 1 - xx)]));
    CHECK(sym < 1e-5, "flip averaging is mirror-symmetric (max difference %g)", sym);

    /* a batch of three images of one size = three single predictions */
    {
        wsss_image three[3] = {img, mir, img};
        three[2].data = malloc((size_t)(W * H * 3));
        for (int i = 0; i < W * H * 3; i++) three[2].data[i] = (uint8_t)(255 - img.data[i]);
        float *pb[3], *p1 = malloc(sizeof(float) * (size_t)(C * H * W));
        for (int k = 0; k < 3; k++) pb[k] = malloc(sizeof(float) * (size_t)(C * H * W));
        CHECK(wsss_segmenter_predict_batch(seg, ctx, 3, three, &io, pb, NULL) == WSSS_OK, "batch: %s", wsss_error_msg());
        double berr = 0;
        for (int k = 0; k < 3; k++) {
            CHECK(wsss_segmenter_predict(seg, ctx, &three[k], &io, p1, NULL) == WSSS_OK, "single");
            for (int i = 0; i < C * H * W; i++) berr = fmax(berr, fabs(pb[k][i] - p1[i]));
            free(pb[k]);
        }
        printf("batch of 3 vs single predictions: max abs difference %.3g\n", berr);
        CHECK(berr < 1e-5, "batched = single predictions (max difference %g)", berr);
        wsss_image odd;
        wsss_image_alloc(&odd, W + 1, H, 3);
        wsss_image two[2] = {img, odd};
        CHECK(wsss_segmenter_predict_batch(seg, ctx, 2, two, &io, NULL, NULL) == WSSS_ERR, "mixed sizes rejected");
        wsss_image_free(&odd);
        free(three[2].data);
        free(p1);
    }

    /* CRF: probabilities, labels = argmax of the CRF output */
    io.crf = 1;
    CHECK(wsss_segmenter_predict(seg, ctx, &img, &io, probs, labels) == WSSS_OK, "predict crf: %s", wsss_error_msg());
    argmax_ok = labels_are_argmax(probs, labels, C, H * W, &max_sum_err);
    CHECK(max_sum_err < 1e-4 && argmax_ok, "CRF output: distributions (err %g), labels = argmax", max_sum_err);
    io.crf = 0;

    /* tiny image: scale 0.5 of a 3x2 image still runs (at least 1 pixel) */
    wsss_image tiny;
    wsss_image_alloc(&tiny, 2, 3, 3);
    CHECK(wsss_segmenter_predict(seg, ctx, &tiny, &io, NULL, labels) == WSSS_OK, "3x2 image: %s", wsss_error_msg());
    wsss_image_free(&tiny);

    /* ---- backbone weights ---- */
    wsss_model imnet;
    CHECK(wsss_model_create(&imnet, "resnet18", 1000, WSSS_F32) == WSSS_OK, "imagenet-style model");
    wsss_rng_seed(&rng, 99);
    wsss_model_reset_parameters(&imnet, &rng);
    randomise_bn(&imnet.params, 12);
    snprintf(path, sizeof path, "%s/imagenet.safetensors", tmp);
    CHECK(wsss_params_save_safetensors(&imnet.params, path, 1) == WSSS_OK, "save imagenet file");
    const wsss_largefov_head *lf = wsss_head_impl(&seg->m.head, WSSS_HEAD_LARGEFOV);
    wsss_tensor *head_before = wsss_tensor_clone(lf->fc6.weight);
    CHECK(wsss_segmenter_load_backbone(seg, path) == WSSS_OK, "load torchvision names: %s", wsss_error_msg());
    int n_cmp = 0;
    const int all = test_params_equal(&seg->m.params, "backbone.", NULL, &imnet.params, &n_cmp);
    CHECK(all && n_cmp > 100, "all %d backbone tensors loaded", n_cmp);
    CHECK(same_tensor(head_before, lf->fc6.weight), "the head keeps its initialisation");
    wsss_tensor_free(head_before);

    /* missing tensor: error naming file and tensor; nothing loaded */
    snprintf(bad, sizeof bad, "%s/partial.safetensors", tmp);
    CHECK(test_save_params_without(&imnet.params, "layer2.0.downsample.0.weight", bad) == WSSS_OK, "save partial");
    wsss_f32(seg->m.resnet.conv1.weight)[0] += 1.0f;
    wsss_tensor_bump_version(seg->m.resnet.conv1.weight); /* a direct write */
    wsss_tensor *w_before = wsss_tensor_clone(seg->m.resnet.conv1.weight);
    CHECK(wsss_segmenter_load_backbone(seg, bad) == WSSS_ERR && strstr(wsss_error_msg(), "partial.safetensors") &&
              strstr(wsss_error_msg(), "layer2.0.downsample.0.weight"),
          "missing tensor: '%s'", wsss_error_msg());
    CHECK(same_tensor(w_before, seg->m.resnet.conv1.weight), "nothing loaded on error");
    wsss_tensor_free(w_before);
    wsss_model_free(&imnet);

    /* ---- model file round trip; "backbone."-prefixed file as backbone weights ---- */
    snprintf(path, sizeof path, "%s/seg.safetensors", tmp);
    CHECK(wsss_segmenter_save(seg, path) == WSSS_OK, "save: %s", wsss_error_msg());
    wsss_segmenter d;
    CHECK(wsss_segmenter_open(&d, path) == WSSS_OK, "open: %s", wsss_error_msg());
    CHECK(strcmp(d.arch, "resnet18-os8-largefov") == 0 && d.num_classes == 4 && d.hidden == 16 &&
              d.head_dilation == 2 && d.output_stride == 8,
          "metadata round trip");
    wsss_tensor *l1 = wsss_tensor_clone(wsss_segmenter_forward(ctx, seg, x, 0));
    wsss_tensor *l2 = wsss_segmenter_forward(ctx, &d, x, 0);
    check_close("logits after save/open", l2, l1, 0, 0);
    wsss_ctx_reset(ctx);
    wsss_tensor_free(l1);
    wsss_segmenter e;
    wsss_segmenter_config ec = {.arch = "resnet18-os16-aspp", .num_classes = 7};
    CHECK(wsss_segmenter_create(&e, &ec) == WSSS_OK, "aspp: %s", wsss_error_msg());
    CHECK(wsss_segmenter_load_backbone(&e, path) == WSSS_OK, "backbone from a segmenter file: %s", wsss_error_msg());
    CHECK(same_tensor(e.m.resnet.conv1.weight, d.m.resnet.conv1.weight),
          "prefixed backbone names loaded");
    wsss_segmenter_free(&e);
    wsss_segmenter_free(&d);
    CHECK(wsss_segmenter_open(&d, bad) == WSSS_ERR && strstr(wsss_error_msg(), "not a wsss segmentation model") &&
              strstr(wsss_error_msg(), "partial.safetensors"),
          "a plain state_dict is refused: '%s'", wsss_error_msg());

    /* ---- DeepLab v3+: defaults, logits at layer1's stride, model file, its batch-norm rule ---- */
    {
        wsss_segmenter v, w;
        wsss_segmenter_config vc = {.arch = "resnet18-deeplabv3plus", .num_classes = 5};
        CHECK(wsss_segmenter_create(&v, &vc) == WSSS_OK, "v3+: %s", wsss_error_msg());
        const wsss_deeplabv3plus_head *vh = wsss_head_impl(&v.m.head, WSSS_HEAD_DEEPLABV3PLUS);
        CHECK(vh && v.output_stride == 16 && v.hidden == 256 && vh->cfg.channels == 256 && vh->cfg.low_project == 48 &&
                  vh->cfg.rates[0] == 6 && vh->cfg.rates[1] == 12 && vh->cfg.rates[2] == 18,
              "v3+ defaults: output stride 16, width 256, rates 6/12/18");
        wsss_segmenter_free(&v);
        vc.arch = "resnet18-os8-deeplabv3plus";
        CHECK(wsss_segmenter_create(&v, &vc) == WSSS_OK, "v3+ os8: %s", wsss_error_msg());
        vh = wsss_head_impl(&v.m.head, WSSS_HEAD_DEEPLABV3PLUS);
        CHECK(vh && vh->cfg.rates[0] == 12 && vh->cfg.rates[2] == 36 && v.head_dilation == 12, "v3+ os8: rates doubled");
        wsss_segmenter_free(&v);
        vc = (wsss_segmenter_config){.arch = "resnet18-deeplabv3plus", .num_classes = 5, .hidden = 16, .head_dilation = 1};
        CHECK(wsss_segmenter_create(&v, &vc) == WSSS_OK, "v3+ small: %s", wsss_error_msg());
        vh = wsss_head_impl(&v.m.head, WSSS_HEAD_DEEPLABV3PLUS);
        CHECK(vh && vh->cfg.channels == 16 && vh->cfg.rates[0] == 1 && vh->cfg.rates[1] == 2 && vh->cfg.rates[2] == 3,
              "v3+: --hidden and --head-dilation set the width and the rates");
        wsss_rng_seed(&rng, 6);
        wsss_segmenter_reset(&v, &rng);
        randomise_bn(&v.m.params, 12);
        /* 72 x 56 input: layer1 at 18 x 14, layer4 at 5 x 4 */
        wsss_tensor *lv = wsss_tensor_clone(wsss_segmenter_forward(ctx, &v, x, 0));
        CHECK(lv->shape[1] == 5 && lv->shape[2] == 18 && lv->shape[3] == 14, "v3+ logits %lldx%lld at stride 4",
              (long long)lv->shape[2], (long long)lv->shape[3]);
        wsss_ctx_reset(ctx);
        snprintf(path, sizeof path, "%s/v3plus.safetensors", tmp);
        CHECK(wsss_segmenter_save(&v, path) == WSSS_OK, "v3+ save: %s", wsss_error_msg());
        CHECK(wsss_segmenter_open(&w, path) == WSSS_OK, "v3+ open: %s", wsss_error_msg());
        CHECK(w.hidden == 16 && w.head_dilation == 1 && w.output_stride == 16, "v3+ metadata round trip");
        check_close("v3+ logits after save/open", wsss_segmenter_forward(ctx, &w, x, 0), lv, 0, 0);
        wsss_ctx_reset(ctx);
        wsss_tensor_free(lv);
        /* the image-pooling branch trains its BN on N values: a batch of one is refused up front */
        wsss_loader_opts lo;
        wsss_loader_opts_default(&lo);
        lo.batch_size = 1;
        CHECK(wsss_train_check_bn_values(&w.m, &lo, 100, 64, "--crop") == WSSS_ERR &&
                  strstr(wsss_error_msg(), "at least two images"),
              "v3+ with batch 1: '%s'", wsss_error_msg());
        lo.batch_size = 4;
        lo.drop_last = 0;
        CHECK(wsss_train_check_bn_values(&w.m, &lo, 9, 64, "--crop") == WSSS_ERR, "v3+: a last batch of one refused");
        CHECK(wsss_train_check_bn_values(&w.m, &lo, 10, 64, "--crop") == WSSS_OK, "v3+: batches of 4 and 2 accepted");
        wsss_segmenter_free(&w);
        wsss_segmenter_free(&v);
    }

    /* ---- bad names and options ---- */
    const char *bad_archs[] = {"resnet18", "resnet18-os4-largefov", "resnet7-largefov", "vgg16-deeplab-os16-aspp",
                               "foo-aspp", "resnet18-os32-deeplabv3plus", "vgg16-deeplab-deeplabv3plus"};
    for (int i = 0; i < 7; i++) {
        wsss_segmenter_config c = {.arch = bad_archs[i], .num_classes = 3};
        CHECK(wsss_segmenter_create(&e, &c) == WSSS_ERR && strlen(wsss_error_msg()) > 0, "%s rejected", bad_archs[i]);
    }
    wsss_segmenter_config c1 = {.arch = "resnet18-os8-largefov", .num_classes = 1};
    CHECK(wsss_segmenter_create(&e, &c1) == WSSS_ERR && strstr(wsss_error_msg(), "classes"), "1 class rejected");
    CHECK(wsss_seg_parse_scales("1,,2", &io) == WSSS_ERR && wsss_seg_parse_scales("0", &io) == WSSS_ERR &&
              wsss_seg_parse_scales("", &io) == WSSS_ERR && wsss_seg_parse_scales("1,x", &io) == WSSS_ERR,
          "bad scale lists rejected");

    /* ---- train-seg config JSON round trip ---- */
    wsss_train_seg_config a, b;
    wsss_train_seg_config_default(&a);
    a.data = "/data/y";
    a.masks = "/runs/r/pseudo";
    a.gt = 1;
    a.arch = "resnet50-os8-aspp";
    a.hidden = 512;
    a.epochs = 9;
    a.scale_max = 1.5;
    char *js = wsss_cfg_to_json(&wsss_train_seg_config_table, &a);
    void *store = NULL;
    CHECK(wsss_cfg_from_json(&wsss_train_seg_config_table, js, &b, &store) == WSSS_OK, "config parse: %s", wsss_error_msg());
    CHECK(strcmp(b.data, "/data/y") == 0 && strcmp(b.masks, "/runs/r/pseudo") == 0 && b.gt == 1 &&
              strcmp(b.arch, "resnet50-os8-aspp") == 0 && b.hidden == 512 && b.epochs == 9 && b.scale_max == 1.5 &&
              b.backbone_weights == NULL && b.batch == a.batch,
          "config round trip");
    check_cfg_json_rules(&wsss_train_seg_config_table, &b, js, store, "{\"stage\": \"train-cls\"}",
                         "{\"config\": \"train-seg\", \"crop\": 1.5}", "crop");
    wsss_error_clear();

    wsss_segmenter_free(seg);
    wsss_image_free(&img);
    wsss_image_free(&mir);
    free(probs);
    free(probs_m);
    free(labels);
    free(want);
    wsss_tensor_free(got_t);
    wsss_tensor_free(want_t);
    wsss_tensor_free(x0);
    wsss_tensor_free(x);
    wsss_ctx_free(ctx);
    return test_summary("test_segmenter");
}
