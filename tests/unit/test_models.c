/* Unit tests for the model code (src/nn/layers.c, resnet.c, vgg.c, heads.c, model_zoo.c):
 *  - every zoo arch has exactly torchvision's state_dict keys, shapes and order, and the C weight
 *    formula (tests/model_weights.c) equals the Python one (models_keys.safetensors);
 *  - feature-map sizes and strides for output stride 32/16/8 on odd input sizes, by hand;
 *  - float64 directional finite differences of a whole ResNet-18 and VGG16-DeepLab training loss;
 *  - BN modes: train-mode counters and running stats move, frozen BN gives no affine gradients;
 *  - strict loading: missing/unexpected/mis-shaped tensors are all listed, a missing
 *    num_batches_tracked is accepted, a truncated file is an error naming it; bad arch names and
 *    bad inputs are clear errors;
 *  - initialisers match their distributions' moments.
 * With arguments it is also the helper of tests/unit/forward_cli.sh (see usage()). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_weights.h"
#include "test_util.h"
#include "wsss/models.h"
#include "wsss/runtime.h"
#include "wsss/safetensors.h"

/* ---------------------------------------------------------------- keys and weight formula */
static void test_keys_and_formula(void) {
    static const struct {
        const char *arch;
        int num_classes;
    } archs[] = {
        {"resnet18", 1000}, {"resnet34", 1000}, {"resnet50", 1000}, {"resnet101", 1000}, {"resnet152", 1000},
        {"resnet50-os8", 0}, {"resnet101-os8-largefov", 21}, {"resnet50-os16-aspp", 21},
        {"vgg16-deeplab", 0}, {"vgg16-deeplab", 20},
    };
    wsss_safetensors *st = fixture_open("models_keys.safetensors");
    for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
        char tag[96], name[160];
        snprintf(tag, sizeof tag, "%s/%d", archs[a].arch, archs[a].num_classes);
        wsss_model m;
        if (wsss_model_create(&m, archs[a].arch, archs[a].num_classes, WSSS_F32)) {
            CHECK(0, "%s: %s", tag, wsss_error_msg());
            continue;
        }
        model_weights_fill(&m.params);
        snprintf(name, sizeof name, "%s.keys", tag);
        const char *keys = wsss_st_meta(st, name);
        CHECK(keys != NULL, "fixture lacks %s", name);
        snprintf(name, sizeof name, "%s.heads", tag);
        wsss_tensor *heads = wsss_st_load(st, name);
        snprintf(name, sizeof name, "%s.sums", tag);
        wsss_tensor *sums = wsss_st_load(st, name);
        if (!keys || !heads || !sums) {
            wsss_model_free(&m);
            continue;
        }
        char *list = wsss_xstrdup(keys), *cur = list, *item;
        int i = 0, bad_names = 0, bad_values = 0;
        double worst_sum = 0;
        while ((item = split_next(&cur)) != NULL) {
            if (i >= wsss_params_count(&m.params)) {
                i++;
                continue;
            }
            const wsss_tensor *t = wsss_params_at(&m.params, i)->t;
            char mine[192], shape[96];
            wsss_shape_str(t, shape, sizeof shape);
            /* "[64, 3, 7, 7]" -> "[64,3,7,7]" as the fixture writes shapes */
            char *w = shape;
            for (char *r = shape; *r; r++)
                if (*r != ' ') *w++ = *r;
            *w = 0;
            snprintf(mine, sizeof mine, "%s%s", t->name, shape);
            if (strcmp(mine, item) != 0) {
                if (bad_names++ < 3) fprintf(stderr, "  %s key %d: model %s, torchvision %s\n", tag, i, mine, item);
            }
            int64_t n = wsss_tensor_numel(t);
            double s = 0;
            if (t->dtype == WSSS_F32)
                for (int64_t e = 0; e < n; e++) s += wsss_f32(t)[e];
            for (int e = 0; e < 4 && e < n; e++)
                if (wsss_tensor_get(t, e) != wsss_tensor_get(heads, (int64_t)i * 4 + e)) bad_values++;
            double want = wsss_tensor_get(sums, i);
            double err = fabs(s - want) / fmax(fabs(want), 1.0);
            if (err > worst_sum) worst_sum = err;
            i++;
        }
        CHECK(i == wsss_params_count(&m.params), "%s: %d keys in torchvision's state_dict, %d in the model", tag, i,
              wsss_params_count(&m.params));
        CHECK(bad_names == 0, "%s: %d keys differ from torchvision's", tag, bad_names);
        CHECK(bad_values == 0, "%s: %d first values differ from the Python formula", tag, bad_values);
        CHECK(worst_sum < 1e-9, "%s: tensor sums differ from the Python formula (rel %.3g)", tag, worst_sum);
        free(list);
        wsss_tensor_free(heads);
        wsss_tensor_free(sums);
        wsss_model_free(&m);
    }
    /* the input batch */
    wsss_tensor *x = model_weights_input(WSSS_F32);
    wsss_tensor *xh = wsss_st_load(st, "input.heads"), *xs = wsss_st_load(st, "input.sum");
    if (xh && xs) {
        int bad = 0;
        for (int e = 0; e < 8; e++) bad += wsss_tensor_get(x, e) != wsss_tensor_get(xh, e);
        double s = 0;
        for (int64_t e = 0; e < wsss_tensor_numel(x); e++) s += wsss_tensor_get(x, e);
        CHECK(bad == 0 && fabs(s - wsss_tensor_get(xs, 0)) < 1e-6, "input formula differs from Python");
    }
    wsss_tensor_free(xh);
    wsss_tensor_free(xs);
    wsss_tensor_free(x);
    wsss_st_close(st);
}

/* ---------------------------------------------------------------- shapes and strides */
static int64_t conv_out(int64_t in, int k, int s, int p, int d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

static void test_shapes(void) {
    const int64_t H = 45, W = 38; /* odd sizes exercise the floor rules */
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, (int64_t[]){1, 3, H, W}, -1, 1, 7);
    wsss_ctx *ctx = test_ctx_no_grad();
    const int oss[3] = {32, 16, 8};
    for (int i = 0; i < 3; i++) {
        wsss_params ps;
        wsss_params_init(&ps);
        wsss_resnet r;
        wsss_resnet_config cfg = wsss_resnet_config_default(50);
        cfg.output_stride = oss[i];
        CHECK(wsss_resnet_init(&r, &ps, "", &cfg) == WSSS_OK, "%s", wsss_error_msg());
        /* zero weights are enough for shapes */
        wsss_tensor *stages[4];
        wsss_resnet_features(ctx, &r, x, 0, stages);
        /* expected sizes by torchvision's layer rules */
        int64_t h = conv_out(conv_out(H, 7, 2, 3, 1), 3, 2, 1, 1), w = conv_out(conv_out(W, 7, 2, 3, 1), 3, 2, 1, 1);
        for (int s = 0; s < 4; s++) {
            int strided = s > 0 && !((s == 2 && oss[i] == 8) || (s == 3 && oss[i] <= 16));
            if (strided) {
                h = conv_out(h, 3, 2, 1, 1);
                w = conv_out(w, 3, 2, 1, 1);
            }
            const int64_t c = 256 << s;
            CHECK(stages[s]->shape[1] == c && stages[s]->shape[2] == h && stages[s]->shape[3] == w,
                  "resnet50 os%d layer%d: got %lldx%lldx%lld, expected %lldx%lldx%lld", oss[i], s + 1,
                  (long long)stages[s]->shape[1], (long long)stages[s]->shape[2], (long long)stages[s]->shape[3],
                  (long long)c, (long long)h, (long long)w);
        }
        const int want_strides[3][4] = {{4, 8, 16, 32}, {4, 8, 16, 16}, {4, 8, 8, 8}};
        CHECK(memcmp(r.stage_stride, want_strides[i], sizeof r.stage_stride) == 0, "os%d stage strides", oss[i]);
        wsss_ctx_reset(ctx);
        wsss_resnet_free(&r);
        wsss_params_free(&ps);
    }
    /* vgg16-deeplab: three floor halvings, then stride-1 pool4 and conv5 */
    wsss_model m;
    CHECK(wsss_model_create(&m, "vgg16-deeplab", 0, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    wsss_tensor *f = wsss_model_forward(ctx, &m, x, 0, NULL, NULL);
    CHECK(f->shape[1] == 512 && f->shape[2] == H / 2 / 2 / 2 && f->shape[3] == W / 2 / 2 / 2,
          "vgg16-deeplab feature size %lldx%lld", (long long)f->shape[2], (long long)f->shape[3]);
    wsss_model_free(&m);
    /* a basic-block ResNet (which torchvision will not dilate) is dilated by the zoo: layer4 keeps
     * layer2's size, 512 channels */
    CHECK(wsss_model_create(&m, "resnet18-os8", 0, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    f = wsss_model_forward(ctx, &m, x, 0, NULL, NULL);
    const int64_t h8 = conv_out(conv_out(conv_out(H, 7, 2, 3, 1), 3, 2, 1, 1), 3, 2, 1, 1),
                  w8 = conv_out(conv_out(conv_out(W, 7, 2, 3, 1), 3, 2, 1, 1), 3, 2, 1, 1);
    CHECK(f->shape[1] == 512 && f->shape[2] == h8 && f->shape[3] == w8 && m.resnet.stage_stride[3] == 8,
          "resnet18-os8 feature size %lldx%lld, expected %lldx%lld", (long long)f->shape[2], (long long)f->shape[3],
          (long long)h8, (long long)w8);
    wsss_model_free(&m);
    CHECK(wsss_model_create(&m, "resnet18-os4", -1, WSSS_F32) == WSSS_ERR && strstr(wsss_error_msg(), "resnet18-os4"),
          "resnet18-os4 refused: %s", wsss_error_msg());
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* ---------------------------------------------------------------- finite differences */
/* Loss of a model in float64 with BN in train mode (so the batch-statistics path is checked). */
static double loss_of(wsss_model *m, wsss_tensor *x, wsss_tensor *target, int backward) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(ctx, backward);
    wsss_tensor *y = wsss_model_forward(ctx, m, x, 1, NULL, NULL);
    wsss_tensor *loss = wsss_multilabel_soft_margin(ctx, y, target);
    if (backward) CHECK(wsss_backward(ctx, loss) == WSSS_OK, "%s", wsss_error_msg());
    double v = wsss_tensor_get(loss, 0);
    wsss_ctx_free(ctx);
    return v;
}

/* Running statistics are moved by every train-mode forward; restore them between evaluations. */
static void save_buffers(wsss_params *ps, wsss_tensor **copies, int restore) {
    for (int i = 0; i < wsss_params_count(ps); i++) {
        const wsss_param *p = wsss_params_at(ps, i);
        if (p->kind != WSSS_KIND_BUFFER) continue;
        if (restore)
            wsss_tensor_copy_into(p->t, copies[i]);
        else
            copies[i] = wsss_tensor_clone(p->t);
    }
}

/* d/dε L(θ + ε v) at 0 by central differences vs <∇L, v>, for random directions v: trials is a
 * bit mask of {1: all parameters, 2: the first 3 tensors, 4: the last 8}. */
static void fd_check(const char *arch, int64_t batch, int64_t size, unsigned trials) {
    wsss_set_backend(WSSS_BACKEND_REF);
    wsss_model m;
    CHECK(wsss_model_create(&m, arch, 3, WSSS_F64) == WSSS_OK, "%s", wsss_error_msg());
    model_weights_fill(&m.params);
    wsss_tensor *x = rand_tensor(WSSS_F64, 4, (int64_t[]){batch, 3, size, size}, -2, 2, 11);
    wsss_tensor *target = wsss_tensor_new(WSSS_F64, 2, (int64_t[]){batch, 3});
    for (int64_t i = 0; i < batch * 3; i++) wsss_tensor_set(target, i, (i % 3 == 0 || i % 4 == 1) ? 1 : 0);
    const int np = wsss_params_count(&m.params);
    wsss_tensor **bufs = wsss_xcalloc((size_t)np, sizeof *bufs);
    save_buffers(&m.params, bufs, 0);
    loss_of(&m, x, target, 1);
    save_buffers(&m.params, bufs, 1);

    double worst = 0;
    for (int trial = 0; trial < 3; trial++) {
        if (!(trials & (1u << trial))) continue;
        /* direction: random on all parameters (trial 0), or on one tensor at the start/middle/end */
        wsss_rng rng;
        wsss_rng_seed(&rng, 100 + (uint64_t)trial);
        double dot = 0;
        wsss_tensor **dirs = wsss_xcalloc((size_t)np, sizeof *dirs);
        for (int i = 0; i < np; i++) {
            const wsss_param *p = wsss_params_at(&m.params, i);
            if (p->kind != WSSS_KIND_PARAM) continue;
            int use = trial == 0 || (trial == 1 && i < 3) || (trial == 2 && i >= np - 8);
            if (!use) continue;
            dirs[i] = wsss_tensor_new(WSSS_F64, p->t->ndim, p->t->shape);
            double *d = wsss_f64(dirs[i]);
            const double *g = wsss_f64(p->t->grad), *w = wsss_f64(p->t);
            /* scaled to the tensor's own size, so no weight moves by more than eps relative */
            double scale = 0;
            for (int64_t e = 0; e < wsss_tensor_numel(p->t); e++) scale = fmax(scale, fabs(w[e]));
            for (int64_t e = 0; e < wsss_tensor_numel(p->t); e++) {
                d[e] = scale * wsss_rng_range(&rng, -1, 1);
                dot += d[e] * g[e];
            }
        }
        /* small: ReLU kinks and max-pool switches must not be crossed (the loss is only piecewise
         * smooth); double precision leaves ~1e-16 / eps relative noise */
        const double eps = 1e-7;
        double lp = 0, lm = 0;
        for (int sign = -1; sign <= 1; sign += 2) {
            for (int pass = 0; pass < 2; pass++) {
                /* pass 0: θ + sign·eps·v, evaluate; pass 1: back to θ */
                const double step = (pass == 0 ? 1 : -1) * sign * eps;
                for (int i = 0; i < np; i++) {
                    if (!dirs[i]) continue;
                    wsss_tensor *t = wsss_params_at(&m.params, i)->t;
                    double *w = wsss_f64(t);
                    const double *d = wsss_f64(dirs[i]);
                    for (int64_t e = 0; e < wsss_tensor_numel(t); e++) w[e] += step * d[e];
                }
                if (pass == 0) {
                    double l = loss_of(&m, x, target, 0);
                    save_buffers(&m.params, bufs, 1);
                    if (sign < 0)
                        lm = l;
                    else
                        lp = l;
                }
            }
        }
        double fd = (lp - lm) / (2 * eps);
        /* relative error, with an absolute floor for the finite difference's rounding noise
         * (~1e-16 * |L| / eps ~ 1e-9 here) */
        double err = fabs(fd - dot) / fmax(fabs(dot), 1e-3);
        if (err > worst) worst = err;
        CHECK(fabs(fd - dot) <= 1e-6 * fabs(dot) + 1e-8, "%s direction %d: finite difference %.10g, gradient %.10g", arch, trial, fd, dot);
        for (int i = 0; i < np; i++) wsss_tensor_free(dirs[i]);
        free(dirs);
    }
    printf("%s float64 finite differences: worst relative error %.2e\n", arch, worst);
    for (int i = 0; i < np; i++) wsss_tensor_free(bufs[i]);
    free(bufs);
    wsss_tensor_free(x);
    wsss_tensor_free(target);
    wsss_model_free(&m);
    wsss_set_backend(WSSS_BACKEND_DNNL);
}

/* ---------------------------------------------------------------- BN modes */
static void test_bn_modes(void) {
    wsss_model m;
    CHECK(wsss_model_create(&m, "resnet18-aspp", 4, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    model_weights_fill(&m.params);
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, (int64_t[]){2, 3, 32, 32}, -1, 1, 3);
    /* segmentation models freeze BN: no affine gradient, running stats and counters unchanged */
    wsss_tensor *rm = wsss_params_find(&m.params, "backbone.layer2.1.bn2.running_mean");
    wsss_tensor *rm0 = wsss_tensor_clone(rm);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = wsss_model_forward(ctx, &m, x, 1, NULL, NULL);
    CHECK(wsss_backward(ctx, wsss_mean_all(ctx, y)) == WSSS_OK, "%s", wsss_error_msg());
    int bn_grads = 0, conv_grads = 0, bn_trainable = 0;
    for (int i = 0; i < wsss_params_count(&m.params); i++) {
        const wsss_param *p = wsss_params_at(&m.params, i);
        if (p->kind != WSSS_KIND_PARAM) continue;
        int is_bn = strstr(p->t->name, ".bn") || strstr(p->t->name, "downsample.1") || strstr(p->t->name, "bn1.");
        if (is_bn) {
            bn_grads += p->t->grad != NULL;
            bn_trainable += p->t->requires_grad;
        } else {
            conv_grads += p->t->grad != NULL;
        }
    }
    CHECK(bn_grads == 0 && bn_trainable == 0, "frozen BN: %d BN gradients, %d trainable BN tensors", bn_grads,
          bn_trainable);
    CHECK(conv_grads == 20 + 8, "frozen BN: the 20 convs and 4+4 ASPP tensors get gradients (%d)", conv_grads);
    CHECK(max_rel_error(rm, rm0) == 0, "frozen BN must not move running statistics");
    wsss_tensor *nbt = wsss_params_find(&m.params, "backbone.bn1.num_batches_tracked");
    CHECK(wsss_tensor_get(nbt, 0) == 0, "frozen BN counts no batches");
    wsss_ctx_free(ctx);
    wsss_tensor_free(rm0);
    wsss_model_free(&m);

    /* classification ResNet in train mode: counters and running statistics move, by BN's rule */
    CHECK(wsss_model_create(&m, "resnet18", 3, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    model_weights_fill(&m.params);
    rm = wsss_params_find(&m.params, "bn1.running_mean");
    rm0 = wsss_tensor_clone(rm);
    ctx = wsss_ctx_new();
    wsss_set_backend(WSSS_BACKEND_REF);
    wsss_model_forward(ctx, &m, x, 1, NULL, NULL);
    nbt = wsss_params_find(&m.params, "layer3.1.bn2.num_batches_tracked");
    CHECK(wsss_tensor_get(nbt, 0) == 1, "train mode counts one batch (got %g)", wsss_tensor_get(nbt, 0));
    /* running_mean = 0.9 * old + 0.1 * batch mean of conv1's output */
    wsss_ctx *c2 = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(c2, 0);
    wsss_tensor *c1 = wsss_conv2d(c2, x, wsss_params_find(&m.params, "conv1.weight"), NULL,
                                  (wsss_conv2d_params){.stride = {2, 2}, .padding = {3, 3}});
    wsss_tensor *bm = wsss_mean(c2, c1, 1u | 4u | 8u, 0);
    wsss_tensor *want = wsss_tensor_clone(rm0);
    for (int64_t i = 0; i < 64; i++)
        wsss_tensor_set(want, i, 0.9 * wsss_tensor_get(rm0, i) + 0.1 * wsss_tensor_get(bm, i));
    check_close("bn1.running_mean after one train step", rm, want, 1e-6, 1e-5);
    /* eval mode: nothing moves */
    wsss_tensor *rm1 = wsss_tensor_clone(rm);
    wsss_ctx_reset(ctx);
    wsss_model_forward(ctx, &m, x, 0, NULL, NULL);
    CHECK(max_rel_error(rm, rm1) == 0 && wsss_tensor_get(nbt, 0) == 1, "eval mode must not move BN buffers");
    wsss_set_backend(WSSS_BACKEND_DNNL);
    wsss_tensor_free(want);
    wsss_tensor_free(rm0);
    wsss_tensor_free(rm1);
    wsss_ctx_free(c2);
    wsss_ctx_free(ctx);
    wsss_model_free(&m);
    wsss_tensor_free(x);
}

/* ---------------------------------------------------------------- loading and errors */
static void test_loading(void) {
    const char *dir = test_tmp_dir("test_models");
    char good[1024], bad[1024], trunc[1024], nonbt[1024];
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    snprintf(trunc, sizeof trunc, "%s/trunc.safetensors", dir);
    snprintf(nonbt, sizeof nonbt, "%s/nonbt.safetensors", dir);

    wsss_model src, dst;
    CHECK(wsss_model_create(&src, "resnet18", 7, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    model_weights_fill(&src.params);
    ((int64_t *)wsss_params_find(&src.params, "bn1.num_batches_tracked")->data)[0] = 42;
    CHECK(wsss_params_save_safetensors(&src.params, good, 1) == WSSS_OK, "%s", wsss_error_msg());

    /* round trip, including the I64 counters */
    CHECK(wsss_model_create(&dst, "resnet18", 7, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_model_load(&dst, good) == WSSS_OK, "%s", wsss_error_msg());
    int same = 1;
    for (int i = 0; i < wsss_params_count(&src.params); i++)
        same &= max_rel_error(wsss_params_at(&dst.params, i)->t, wsss_params_at(&src.params, i)->t) == 0;
    CHECK(same, "load reproduces every tensor");
    CHECK(wsss_tensor_get(wsss_params_find(&dst.params, "bn1.num_batches_tracked"), 0) == 42, "counter loaded");

    /* a float64 model loads float32 weights */
    wsss_model d64;
    CHECK(wsss_model_create(&d64, "resnet18", 7, WSSS_F64) == WSSS_OK && wsss_model_load(&d64, good) == WSSS_OK,
          "float64 model from a float32 file: %s", wsss_error_msg());
    wsss_model_free(&d64);

    /* files without num_batches_tracked (old torchvision checkpoints) are accepted, counters 0 */
    wsss_st_writer *w = wsss_st_writer_new();
    for (int i = 0; i < wsss_params_count(&src.params); i++) {
        const wsss_tensor *t = wsss_params_at(&src.params, i)->t;
        if (!strstr(t->name, "num_batches_tracked")) wsss_st_writer_add(w, t->name, t);
    }
    CHECK(wsss_st_writer_save(w, nonbt) == WSSS_OK, "%s", wsss_error_msg());
    wsss_st_writer_free(w);
    CHECK(wsss_model_load(&dst, nonbt) == WSSS_OK, "file without num_batches_tracked: %s", wsss_error_msg());
    CHECK(wsss_tensor_get(wsss_params_find(&dst.params, "bn1.num_batches_tracked"), 0) == 0, "absent counter -> 0");

    /* missing, unexpected and mis-shaped tensors are all named; nothing is loaded */
    w = wsss_st_writer_new();
    wsss_tensor *odd = wsss_tensor_new(WSSS_F32, 2, (int64_t[]){3, 3});
    for (int i = 0; i < wsss_params_count(&src.params); i++) {
        const wsss_tensor *t = wsss_params_at(&src.params, i)->t;
        if (strcmp(t->name, "layer2.0.conv1.weight") == 0) continue;             /* missing */
        wsss_st_writer_add(w, t->name, strcmp(t->name, "fc.weight") == 0 ? odd : t); /* mis-shaped */
    }
    wsss_st_writer_add(w, "head.extra.weight", odd); /* unexpected */
    CHECK(wsss_st_writer_save(w, bad) == WSSS_OK, "%s", wsss_error_msg());
    wsss_st_writer_free(w);
    wsss_model fresh;
    CHECK(wsss_model_create(&fresh, "resnet18", 7, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    int rc = wsss_model_load(&fresh, bad);
    const char *msg = wsss_error_msg();
    CHECK(rc == WSSS_ERR, "mismatched file must fail");
    CHECK(strstr(msg, bad) && strstr(msg, "layer2.0.conv1.weight") && strstr(msg, "head.extra.weight") &&
              strstr(msg, "fc.weight"),
          "message names the file and every problem: %s", msg);
    CHECK(wsss_tensor_get(wsss_params_find(&fresh.params, "conv1.weight"), 0) == 0, "nothing loaded on error");
    wsss_model_free(&fresh);
    wsss_tensor_free(odd);

    /* wrong number of classes is a shape mismatch naming fc */
    wsss_model other;
    CHECK(wsss_model_create(&other, "resnet18", 9, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_model_load(&other, good) == WSSS_ERR && strstr(wsss_error_msg(), "fc.weight"),
          "class-count mismatch: %s", wsss_error_msg());
    wsss_model_free(&other);

    /* truncated and absent files */
    struct stat sb;
    if (stat(good, &sb) == 0) {
        size_t n;
        char *buf = test_read_file(good, &n);
        test_write_file(trunc, buf, n / 2);
        free(buf);
        CHECK(wsss_model_load(&dst, trunc) == WSSS_ERR && strstr(wsss_error_msg(), trunc),
              "truncated file: %s", wsss_error_msg());
    }
    CHECK(wsss_model_load(&dst, "/nonexistent/w.safetensors") == WSSS_ERR &&
              strstr(wsss_error_msg(), "/nonexistent/w.safetensors"),
          "absent file: %s", wsss_error_msg());

    /* arch names and inputs */
    wsss_model bad_m;
    CHECK(wsss_model_create(&bad_m, "resnet19", -1, WSSS_F32) == WSSS_ERR && strstr(wsss_error_msg(), "resnet19") &&
              strstr(wsss_error_msg(), "vgg16-deeplab"),
          "unknown arch lists the accepted ones: %s", wsss_error_msg());
    CHECK(wsss_model_create(&bad_m, "vgg16-deeplab-os16", -1, WSSS_F32) == WSSS_ERR, "vgg with os16 refused");
    CHECK(wsss_model_create(&bad_m, "resnet50-aspp", 0, WSSS_F32) == WSSS_ERR, "seg head with 0 classes refused");
    CHECK(wsss_model_create(&bad_m, "", -1, WSSS_F32) == WSSS_ERR, "empty arch refused");
    wsss_tensor *x3 = wsss_tensor_new(WSSS_F32, 3, (int64_t[]){3, 8, 8});
    wsss_tensor *x1 = wsss_tensor_new4(WSSS_F32, 1, 1, 8, 8);
    wsss_tensor *xd = wsss_tensor_new4(WSSS_F64, 1, 3, 8, 8);
    CHECK(wsss_model_check_input(&dst, x3, "in.st") == WSSS_ERR && strstr(wsss_error_msg(), "in.st"), "rank 3 input");
    CHECK(wsss_model_check_input(&dst, x1, "in.st") == WSSS_ERR && strstr(wsss_error_msg(), "N,3,H,W"),
          "1-channel input: %s", wsss_error_msg());
    CHECK(wsss_model_check_input(&dst, xd, "in.st") == WSSS_ERR && strstr(wsss_error_msg(), "F64"), "F64 input");
    wsss_model vgg;
    CHECK(wsss_model_create(&vgg, "vgg16-deeplab", 0, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    wsss_tensor *tiny = wsss_tensor_new4(WSSS_F32, 1, 3, 4, 4);
    CHECK(wsss_model_check_input(&vgg, tiny, "in.st") == WSSS_ERR, "4x4 input to vgg16-deeplab refused");
    wsss_model_free(&vgg);
    wsss_tensor_free(tiny);
    wsss_tensor_free(x3);
    wsss_tensor_free(x1);
    wsss_tensor_free(xd);
    wsss_model_free(&src);
    wsss_model_free(&dst);
}

/* ---------------------------------------------------------------- initialisers */
static void moments(const wsss_tensor *t, double *mean, double *var) {
    int64_t n = wsss_tensor_numel(t);
    double s = 0, q = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = wsss_tensor_get(t, i);
        s += v;
        q += v * v;
    }
    *mean = s / (double)n;
    *var = q / (double)n - *mean * *mean;
}

static void test_init(void) {
    wsss_rng rng;
    wsss_rng_seed(&rng, 5);
    wsss_tensor *w = wsss_tensor_new4(WSSS_F32, 256, 128, 3, 3); /* fan_in 1152, fan_out 2304 */
    double m, v;
    wsss_init_kaiming_normal(w, WSSS_FAN_OUT, &rng);
    moments(w, &m, &v);
    CHECK(fabs(m) < 1e-3 && fabs(v / (2.0 / 2304) - 1) < 0.02, "kaiming fan_out var %.4g", v * 2304 / 2);
    wsss_init_xavier_uniform(w, 4.0, &rng);
    moments(w, &m, &v);
    double a = 4.0 * sqrt(6.0 / (1152 + 2304));
    CHECK(fabs(v / (a * a / 3) - 1) < 0.02, "xavier uniform var");
    wsss_init_caffe_xavier(w, &rng);
    moments(w, &m, &v);
    CHECK(fabs(v / (1.0 / 1152) - 1) < 0.02, "caffe xavier var = 1/fan_in");
    wsss_init_caffe_msra(w, &rng);
    moments(w, &m, &v);
    CHECK(fabs(v / (2.0 / 1152) - 1) < 0.02, "caffe msra var = 2/fan_in");
    wsss_tensor *b = wsss_tensor_new(WSSS_F32, 1, (int64_t[]){256});
    wsss_init_torch_default(w, b, &rng);
    double mx = 0;
    for (int64_t i = 0; i < wsss_tensor_numel(w); i++) mx = fmax(mx, fabs(wsss_tensor_get(w, i)));
    CHECK(mx <= 1 / sqrt(1152.0) && mx > 0.99 / sqrt(1152.0), "torch default bound 1/sqrt(fan_in)");
    /* model-level resets: ASPP N(0, 0.01), biases 0 */
    wsss_model mdl;
    CHECK(wsss_model_create(&mdl, "resnet50-aspp", 5, WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    wsss_model_reset_parameters(&mdl, &rng);
    moments(wsss_params_find(&mdl.params, "classifier.c2.weight"), &m, &v);
    CHECK(fabs(sqrt(v) / 0.01 - 1) < 0.02, "aspp std %.4g", sqrt(v));
    moments(wsss_params_find(&mdl.params, "classifier.c2.bias"), &m, &v);
    CHECK(m == 0 && v == 0, "aspp bias 0");
    moments(wsss_params_find(&mdl.params, "backbone.layer1.0.bn1.weight"), &m, &v);
    CHECK(m == 1 && v == 0, "bn weight 1");
    wsss_model_free(&mdl);
    wsss_tensor_free(w);
    wsss_tensor_free(b);
}

/* ---------------------------------------------------------------- helper modes for forward_cli.sh */
static int usage(void) {
    fprintf(stderr,
            "usage: test_models                                   run the unit tests\n"
            "       test_models write ARCH NUM_CLASSES W.st X.st    formula weights and input batch\n"
            "       test_models compare GOT.st NAME FIXTURE NAME TOL  max relative error <= TOL\n");
    return 2;
}

static int helper(int argc, char **argv) {
    if (strcmp(argv[1], "write") == 0 && argc == 6) {
        wsss_model m;
        if (wsss_model_create(&m, argv[2], atoi(argv[3]), WSSS_F32)) {
            fprintf(stderr, "%s\n", wsss_error_msg());
            return 1;
        }
        model_weights_fill(&m.params);
        int rc = wsss_params_save_safetensors(&m.params, argv[4], 1);
        wsss_tensor *x = model_weights_input(WSSS_F32);
        wsss_st_writer *w = wsss_st_writer_new();
        wsss_st_writer_add(w, "input", x);
        rc |= wsss_st_writer_save(w, argv[5]);
        wsss_st_writer_free(w);
        wsss_tensor_free(x);
        wsss_model_free(&m);
        if (rc) fprintf(stderr, "%s\n", wsss_error_msg());
        return rc ? 1 : 0;
    }
    if (strcmp(argv[1], "compare") == 0 && argc == 7) {
        wsss_safetensors *a, *b;
        char fx[1024];
        snprintf(fx, sizeof fx, "%s/%s", WSSS_FIXTURE_DIR, argv[4]);
        if (wsss_st_open(argv[2], &a) || wsss_st_open(fx, &b)) {
            fprintf(stderr, "%s\n", wsss_error_msg());
            return 1;
        }
        wsss_tensor *got = wsss_st_load(a, argv[3]), *want = wsss_st_load(b, argv[5]);
        int ok = got && want && wsss_tensor_same_shape(got, want);
        double e = ok ? max_rel_error(got, want) : INFINITY;
        ok = ok && e <= atof(argv[6]);
        printf("%s %s vs %s %s: max relative error %.3g%s\n", argv[2], argv[3], argv[4], argv[5], e, ok ? "" : " FAIL");
        wsss_tensor_free(got);
        wsss_tensor_free(want);
        wsss_st_close(a);
        wsss_st_close(b);
        return ok ? 0 : 1;
    }
    return usage();
}

#include <time.h>
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
#define TIMED(call)                                                      \
    do {                                                                 \
        double t0_ = now();                                              \
        call;                                                            \
        fprintf(stderr, "[%6.2f s] %s\n", now() - t0_, #call);           \
    } while (0)

int main(int argc, char **argv) {
    if (argc > 1) return helper(argc, argv);
    TIMED(test_keys_and_formula());
    TIMED(test_shapes());
    /* small inputs: float64 runs the plain reference kernels (unoptimised under ASan) */
    TIMED(fd_check("resnet18", 3, 24, 1 | 4)); /* layer4 1x1: BN batch statistics over 3 values */
    TIMED(fd_check("vgg16-deeplab", 2, 8, 1));
    TIMED(test_bn_modes());
    TIMED(test_loading());
    TIMED(test_init());
    return test_summary("test_models");
}
