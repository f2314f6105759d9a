/* Model parity with torchvision/PyTorch: ResNet-18/50/101, ResNet-101 at output stride 16,
 * DeepLab-v2 (ResNet-50 OS8 + ASPP, frozen BN) and VGG16-DeepLab + MCIS CAM head, built by name with
 * the formula weights of tests/model_weights.c, must reproduce PyTorch's float64 results:
 *  - eval-mode output (max relative error <= 1e-4 in float32) and the last feature map;
 *  - one training step (BN batch statistics, or frozen BN for DeepLab): the loss, the gradients of
 *    selected tensors in full, the sum and sum of squares of every parameter gradient, which
 *    parameters get a gradient at all, and the running statistics after the step.
 * Float32 runs on the default backend (oneDNN); float64 runs on the reference kernels and must agree
 * to ~1e-9, which checks the composition exactly rather than within float32 noise.
 * With --blocked, float32 runs in a blocked-layout context instead (wsss_ctx_set_blocked, as every
 * training and inference stage does), to the same tolerances: a separate CTest test, so each run
 * stays within its time limit.
 * Reference: scripts/gen_fixtures_models.py -> tests/fixtures/models_<tag>.safetensors. */
#include <stdlib.h>
#include <string.h>

#include "model_weights.h"
#include "test_util.h"
#include "wsss/models.h"
#include "wsss/runtime.h"

typedef struct model_case {
    const char *tag;  /* fixture models_<tag>.safetensors */
    const char *arch; /* zoo name */
    int ce_loss;      /* cross-entropy over logits maps (else multilabel soft margin on scores) */
    int f64;          /* also run the float64 reference-backend check */
    int ill_conditioned_train; /* float32 gradients of its train-BN step are not comparable */
} model_case;

static const model_case k_cases[] = {
    {"resnet18", "resnet18", 0, 1, 0},
    {"resnet50", "resnet50", 0, 1, 1},
    {"resnet101", "resnet101", 0, 1, 1},
    {"resnet101_os16", "resnet101-os16", 0, 0, 1},
    {"resnet50_os8_aspp", "resnet50-os8-aspp", 1, 1, 0},
    {"vgg16_deeplab", "vgg16-deeplab", 0, 1, 0},
};

/* Tolerances: float32 (oneDNN) vs float64 PyTorch, and float64 reference kernels vs PyTorch.
 * Float32 gradients: a pre-ReLU value within float32 rounding of 0 (the fixtures have a few with
 * |v| < 1e-7 max|v|: 4 in resnet101's eval forward) can land on the other side of the kink, which
 * moves the gradient of every tensor *upstream* of it. Seen: resnet18 eval-BN, one flip at
 * layer1.0's output: conv1.weight 5.8e-3, the 8 tensors between ~3e-4, the other 53 ~1e-7;
 * resnet50-os8-aspp, a flip at layer4.0's output: 47 of 61 tensors ~1e-5..2e-4. PyTorch's own
 * float32 flips elsewhere, and which units flip depends on kernel rounding, so float32 gradients
 * get a loose per-tensor bound (the median is printed); float64 has no such flips and must match
 * to rounding, which is the exact check of the backward composition. */
typedef struct tols {
    double output, features, loss, grad_full, grad_sum, run_sum;
} tols;
static const tols k_tol_f32 = {1e-4, 1e-4, 1e-5, 2e-2, 1e-2, 1e-5};
/* full gradients and features are stored as float32, hence 1e-6 there */
static const tols k_tol_f64 = {1e-9, 1e-6, 1e-9, 1e-6, 1e-8, 1e-9};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static wsss_tensor *load_as(const wsss_safetensors *st, const char *name, wsss_dtype dt) {
    wsss_tensor *t = fixture_take(st, name);
    if (t->dtype == dt || t->dtype == WSSS_I64) return t;
    wsss_tensor *c = wsss_tensor_to_dtype(t, dt);
    wsss_tensor_free(t);
    return c;
}

static double sum_sq(const wsss_tensor *t, double *sumsq) {
    double s = 0, q = 0;
    for (int64_t i = 0; i < wsss_tensor_numel(t); i++) {
        double v = wsss_tensor_get(t, i);
        s += v;
        q += v * v;
    }
    *sumsq = q;
    return s;
}

static double rel(double got, double want) { return fabs(got - want) / fmax(fabs(want), 1e-30); }

/* Name "<prefix><leaf>" in a static buffer (fixture keys of one step). */
static const char *key(const char *prefix, const char *leaf) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s%s", prefix, leaf);
    return buf;
}

static const char *backend_label(wsss_dtype dt, int blocked) {
    if (dt == WSSS_F64) return "f64/ref";
    if (wsss_get_backend() == WSSS_BACKEND_REF) return "f32/ref";
    return blocked ? "f32/dnnl-blocked" : "f32/dnnl";
}

/* One forward/backward with BN in `mode` ("train", "eval" or "frozen") against the fixture's
 * <prefix>* tensors. */
static void run_step(const model_case *c, wsss_model *m, const wsss_safetensors *st, wsss_tensor *x, wsss_dtype dt,
                     int blocked, const char *prefix, const char *mode) {
    const int f64 = dt == WSSS_F64;
    const tols *tol = f64 ? &k_tol_f64 : &k_tol_f32;
    const int train_bn = strcmp(mode, "train") == 0;
    /* see gen_fixtures_models.py: float32 gradients of a batch-statistics step through a deep
     * ResNet are not defined to better than ~25% (PyTorch's own float32 differs that much) */
    const int grads_comparable = f64 || !train_bn || !c->ill_conditioned_train;
    char label[64];
    snprintf(label, sizeof label, "%s %s", backend_label(dt, blocked), prefix);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, blocked);

    wsss_params_zero_grad(&m->params, 1);
    /* training = 0 with grads on: eval-mode BN (running statistics) with gradients */
    wsss_tensor *y = wsss_model_forward(ctx, m, x, strcmp(mode, "eval") != 0, NULL, NULL);
    wsss_tensor *target = load_as(st, "target", dt);
    wsss_tensor *loss = c->ce_loss ? wsss_cross_entropy2d(ctx, y, target, 255) : wsss_multilabel_soft_margin(ctx, y, target);
    CHECK(wsss_backward(ctx, loss) == WSSS_OK, "%s", wsss_error_msg());
    wsss_tensor *want = load_as(st, key(prefix, "loss"), WSSS_F64);
    double e_loss = rel(wsss_tensor_get(loss, 0), wsss_tensor_get(want, 0));
    const double loss_tol = grads_comparable ? tol->loss : 1e-3, out_tol = grads_comparable ? tol->output : 2e-3;
    CHECK(e_loss <= loss_tol, "%s %s: loss %.9g, PyTorch %.9g", c->tag, label, wsss_tensor_get(loss, 0),
          wsss_tensor_get(want, 0));
    wsss_tensor_free(want);
    want = load_as(st, key(prefix, "output"), dt);
    double e_tout = max_rel_error(y, want);
    CHECK(e_tout <= out_tol, "%s %s: output max rel error %.3g", c->tag, label, e_tout);
    wsss_tensor_free(want);

    /* every gradient: presence, sum, sum of squares; selected ones in full */
    const char *meta = wsss_st_meta(st, key(prefix, "grad_names"));
    CHECK(meta != NULL, "%s: fixture lacks %sgrad_names", c->tag, prefix);
    char *names = wsss_xstrdup(meta ? meta : ""), *cursor = names, *name;
    wsss_tensor *gsum = load_as(st, key(prefix, "grad_sum"), WSSS_F64);
    wsss_tensor *gsq = load_as(st, key(prefix, "grad_sumsq"), WSSS_F64);
    int k = 0, n_with_grad = 0;
    double e_gfull = 0, e_gsum = 0;
    double *errs = wsss_xcalloc((size_t)wsss_tensor_numel(gsum) + 1, sizeof(double));
    char worst_full[160] = "-", worst_sum[160] = "-";
    while ((name = split_next(&cursor)) != NULL) {
        wsss_tensor *p = wsss_params_find(&m->params, name);
        CHECK(p != NULL, "%s: model lacks parameter %s", c->tag, name);
        CHECK(!p || p->grad != NULL, "%s %s: no gradient for %s", c->tag, label, name);
        if (p && p->grad) {
            double q, s = sum_sq(p->grad, &q);
            double ws = wsss_tensor_get(gsum, k), wq = wsss_tensor_get(gsq, k);
            /* a sum can cancel to ~0: measure its error against the gradient's size sqrt(n * sumsq) */
            double es = fabs(s - ws) / fmax(sqrt(wq * (double)wsss_tensor_numel(p)), 1e-30), eq = rel(q, wq);
            if (k < wsss_tensor_numel(gsum)) errs[k] = fmax(es, eq);
            if (getenv("WSSS_MODELS_VERBOSE")) printf("    %s: sum %.2e sumsq %.2e\n", name, es, eq);
            if (grads_comparable)
                CHECK(es <= tol->grad_sum && eq <= tol->grad_sum,
                      "%s %s: grad %s sum %.9g (PyTorch %.9g), sumsq %.9g (%.9g)", c->tag, label, name, s, ws, q, wq);
            if (fmax(es, eq) > e_gsum) {
                e_gsum = fmax(es, eq);
                snprintf(worst_sum, sizeof worst_sum, "%s", name);
            }
            char fname[200];
            snprintf(fname, sizeof fname, "%sgrad.%s", prefix, name);
            if (wsss_st_find(st, fname)) {
                wsss_tensor *g = load_as(st, fname, WSSS_F32);
                double e = max_rel_error(p->grad, g);
                if (grads_comparable)
                    CHECK(e <= tol->grad_full, "%s %s: gradient of %s max rel error %.3g", c->tag, label, name, e);
                if (e >= e_gfull) {
                    e_gfull = e;
                    snprintf(worst_full, sizeof worst_full, "%s", name);
                }
                wsss_tensor_free(g);
            }
        }
        n_with_grad++;
        k++;
    }
    CHECK(k == wsss_tensor_numel(gsum), "%s: %d names for %lld sums", c->tag, k, (long long)wsss_tensor_numel(gsum));
    qsort(errs, (size_t)k, sizeof(double), cmp_double);
    const double median = k ? errs[k / 2] : 0;
    free(errs);
    /* parameters PyTorch gives no gradient (frozen BN) must have none here either */
    int have = 0;
    for (int i = 0; i < wsss_params_count(&m->params); i++) {
        const wsss_param *p = wsss_params_at(&m->params, i);
        if (p->kind == WSSS_KIND_PARAM && p->t->grad) have++;
    }
    CHECK(have == n_with_grad, "%s %s: %d parameters have a gradient, PyTorch %d", c->tag, label, have, n_with_grad);
    free(names);

    /* running statistics after the step (moved only by a train-BN step) */
    meta = wsss_st_meta(st, key(prefix, "run_names"));
    names = wsss_xstrdup(meta ? meta : "");
    cursor = names;
    wsss_tensor *rsum = load_as(st, key(prefix, "run_sum"), WSSS_F64);
    double e_run = 0;
    k = 0;
    while ((name = split_next(&cursor)) != NULL) {
        wsss_tensor *b = wsss_params_find(&m->params, name);
        CHECK(b != NULL, "%s: model lacks buffer %s", c->tag, name);
        if (b) {
            double q, s = sum_sq(b, &q);
            double e = fabs(s - wsss_tensor_get(rsum, k)) / fmax(sqrt(q * (double)wsss_tensor_numel(b)), 1e-30);
            if (e > e_run) e_run = e;
        }
        k++;
    }
    CHECK(e_run <= tol->run_sum, "%s %s: running statistics after the step, max rel error %.3g", c->tag, label, e_run);
    free(names);

    printf("%-18s %-16s loss %.2e  output %.2e  grad full %.2e (%s)  grad sum/sumsq max %.2e (%s) median %.2e  "
           "running stats %.2e%s\n",
           c->tag, label, e_loss, e_tout, e_gfull, worst_full, e_gsum, worst_sum, median, e_run,
           grads_comparable ? "" : "  [gradients not compared: ill-conditioned in float32]");
    fflush(stdout);
    wsss_tensor_free(gsum);
    wsss_tensor_free(gsq);
    wsss_tensor_free(rsum);
    wsss_tensor_free(target);
    wsss_ctx_free(ctx);
}

/* blocked: a blocked-layout context (float32 on oneDNN only). */
static void run_case(const model_case *c, wsss_dtype dt, int blocked) {
    const int f64 = dt == WSSS_F64;
    const tols *tol = f64 ? &k_tol_f64 : &k_tol_f32;
    const char *env = getenv("WSSS_MODELS_F32_BACKEND"); /* "ref": float32 on the reference kernels */
    const int f32_ref = env && strcmp(env, "ref") == 0;
    WSSS_ASSERT(!blocked || (!f64 && !f32_ref), "blocked layouts exist on oneDNN only");
    wsss_set_backend(f64 || f32_ref ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
    const char *label = backend_label(dt, blocked);

    char path[1024];
    snprintf(path, sizeof path, "%s/models_%s.safetensors", WSSS_FIXTURE_DIR, c->tag);
    wsss_safetensors *st;
    if (wsss_st_open(path, &st)) {
        CHECK(0, "%s", wsss_error_msg());
        return;
    }
    wsss_model m;
    if (wsss_model_create(&m, c->arch, 5, dt)) {
        CHECK(0, "%s", wsss_error_msg());
        wsss_st_close(st);
        return;
    }
    model_weights_fill(&m.params);
    wsss_tensor *x = model_weights_input(dt);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, blocked);

    /* ---- eval */
    wsss_ctx_set_grad_enabled(ctx, 0);
    wsss_tensor *feat = NULL;
    wsss_tensor *y = wsss_model_forward(ctx, &m, x, 0, &feat, NULL);
    /* the blocked run must really have kept oneDNN's layouts up to the last feature map */
    CHECK(wsss_tensor_is_blocked(feat) == blocked, "%s %s: features %s a blocked layout", c->tag, label,
          blocked ? "not in" : "in");
    wsss_tensor *want = load_as(st, "output", dt);
    double e_out = max_rel_error(y, want);
    CHECK(wsss_tensor_same_shape(y, want) && e_out <= tol->output, "%s %s: eval output max rel error %.3g",
          c->tag, label, e_out);
    wsss_tensor_free(want);
    wsss_tensor *fslice_want = load_as(st, "features", WSSS_F32);
    wsss_tensor *fslice = wsss_slice(ctx, feat, 1, 0, fslice_want->shape[1], 1);
    double e_feat = max_rel_error(fslice, fslice_want);
    double fq, fs = sum_sq(feat, &fq);
    wsss_tensor *fs_want = load_as(st, "features_sum", WSSS_F64), *fq_want = load_as(st, "features_sumsq", WSSS_F64);
    double e_fsum = fabs(fs - wsss_tensor_get(fs_want, 0)) / sqrt(wsss_tensor_get(fq_want, 0) * (double)wsss_tensor_numel(feat));
    double e_fsq = rel(fq, wsss_tensor_get(fq_want, 0));
    if (e_fsum > e_feat) e_feat = e_fsum;
    if (e_fsq > e_feat) e_feat = e_fsq;
    CHECK(wsss_tensor_same_shape(fslice, fslice_want) && e_feat <= tol->features,
          "%s %s: features max rel error %.3g", c->tag, label, e_feat);
    wsss_tensor_free(fslice_want);
    wsss_tensor_free(fs_want);
    wsss_tensor_free(fq_want);
    wsss_ctx_reset(ctx);
    wsss_ctx_set_grad_enabled(ctx, 1);
    printf("%-18s %-16s eval output %.2e  features %.2e\n", c->tag, label, e_out, e_feat);

    /* ---- gradient steps, in the fixture's order (a train-BN step moves the running stats) */
    const char *steps = wsss_st_meta(st, "steps");
    CHECK(steps != NULL, "%s: fixture lacks steps", c->tag);
    char *list = wsss_xstrdup(steps ? steps : ""), *cur = list, *item;
    while ((item = split_next(&cur)) != NULL) {
        char *dot = strrchr(item, '.');
        WSSS_ASSERT(dot, "step entry is prefix.mode");
        const char *mode = dot + 1;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(dot - item + 1), item);
        run_step(c, &m, st, x, dt, blocked, prefix, mode);
    }
    free(list);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_model_free(&m);
    wsss_st_close(st);
}

/* ---------------------------------------------------------------- heads on a standalone input */
static const char *k_head_tags[] = {"largefov", "largefov_bias", "aspp", "cam"};

static void run_heads(wsss_dtype dt) {
    const int f64 = dt == WSSS_F64;
    wsss_set_backend(f64 ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
    const double tol = f64 ? 1e-12 : 1e-5;
    wsss_safetensors *st = fixture_open("models_heads.safetensors");
    for (size_t h = 0; h < sizeof k_head_tags / sizeof k_head_tags[0]; h++) {
        const char *tag = k_head_tags[h];
        wsss_params ps;
        wsss_params_init(&ps);
        wsss_largefov_head lf;
        wsss_aspp_head as;
        wsss_cam_head cam;
        if (strncmp(tag, "largefov", 8) == 0) {
            wsss_largefov_config c = wsss_largefov_config_default(8, 5);
            c.hidden = 6;
            c.hidden_bias = strcmp(tag, "largefov_bias") == 0;
            c.dtype = dt;
            wsss_largefov_init(&lf, &ps, "", &c);
        } else if (strcmp(tag, "aspp") == 0) {
            wsss_aspp_config c = wsss_aspp_config_default(8, 5);
            c.dtype = dt;
            wsss_aspp_init(&as, &ps, "", &c);
        } else {
            wsss_cam_head_config c = {.in_channels = 8, .mid_channels = 6, .n_extra = 2, .num_classes = 5,
                                      .cls_bias = 1, .dtype = dt, .group = WSSS_GROUP_NEW};
            wsss_cam_head_init(&cam, &ps, "extra_convs", "extra_last_conv", &c);
        }
        for (int i = 0; i < wsss_params_count(&ps); i++) {
            char pname[200];
            snprintf(pname, sizeof pname, "%s.%s", tag, wsss_params_at(&ps, i)->t->name);
            wsss_tensor *t = wsss_params_at(&ps, i)->t, *src = load_as(st, pname, dt);
            CHECK(wsss_tensor_same_shape(t, src), "%s: %s shape differs from torch", tag, t->name);
            if (wsss_tensor_same_shape(t, src)) wsss_tensor_copy_into(t, src);
            wsss_tensor_free(src);
        }
        wsss_tensor *x = load_as(st, "x", dt);
        x->requires_grad = 1;
        wsss_ctx *ctx = wsss_ctx_new();
        double worst = 0, e;
        char name[160];
        if (strcmp(tag, "cam") == 0) {
            wsss_tensor *c = wsss_cam_head_cam(ctx, &cam, wsss_cam_head_features(ctx, &cam, x));
            wsss_tensor *sc = wsss_spatial_mean(ctx, c);
            wsss_tensor *w = wsss_ctx_tensor(ctx, dt, 1, (int64_t[]){5});
            for (int k = 0; k < 5; k++) wsss_tensor_set(w, k, k + 1);
            CHECK(wsss_backward(ctx, wsss_sum_all(ctx, wsss_mul(ctx, sc, w))) == WSSS_OK, "%s", wsss_error_msg());
            wsss_tensor *want = load_as(st, "cam.cam", dt);
            worst = fmax(worst, e = max_rel_error(c, want));
            CHECK(e <= tol, "cam head: cam max rel error %.3g", e);
            wsss_tensor_free(want);
            want = load_as(st, "cam.scores", dt);
            worst = fmax(worst, e = max_rel_error(sc, want));
            CHECK(e <= tol, "cam head: scores max rel error %.3g", e);
            wsss_tensor_free(want);
        } else {
            wsss_tensor *y = strcmp(tag, "aspp") == 0 ? wsss_aspp_forward(ctx, &as, x)
                                                      : wsss_largefov_forward(ctx, &lf, x, 1, NULL);
            snprintf(name, sizeof name, "%s.y", tag);
            wsss_tensor *want = load_as(st, name, dt);
            worst = fmax(worst, e = max_rel_error(y, want));
            CHECK(e <= tol, "%s: output max rel error %.3g", tag, e);
            wsss_tensor_free(want);
            snprintf(name, sizeof name, "%s.gy", tag);
            wsss_tensor *gy = load_as(st, name, dt);
            CHECK(wsss_backward_with(ctx, y, gy) == WSSS_OK, "%s", wsss_error_msg());
            wsss_tensor_free(gy);
        }
        snprintf(name, sizeof name, "%s.grad.x", tag);
        wsss_tensor *want = load_as(st, name, dt);
        worst = fmax(worst, e = max_rel_error(x->grad, want));
        CHECK(e <= tol, "%s: input gradient max rel error %.3g", tag, e);
        wsss_tensor_free(want);
        for (int i = 0; i < wsss_params_count(&ps); i++) {
            const wsss_tensor *t = wsss_params_at(&ps, i)->t;
            snprintf(name, sizeof name, "%s.grad.%s", tag, t->name);
            want = load_as(st, name, dt);
            CHECK(t->grad != NULL, "%s: no gradient for %s", tag, t->name);
            if (t->grad) {
                worst = fmax(worst, e = max_rel_error(t->grad, want));
                CHECK(e <= tol, "%s: gradient of %s max rel error %.3g", tag, t->name, e);
            }
            wsss_tensor_free(want);
        }
        printf("head %-14s %-8s outputs and gradients: max rel error %.2e\n", tag, f64 ? "f64/ref" : "f32/dnnl", worst);
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
        wsss_params_free(&ps);
    }
    wsss_st_close(st);
}

/* test_models_parity [--blocked] [TAG]: --blocked runs only the float32 model cases, in blocked-layout
 * contexts; TAG runs only the cases whose tag contains it. */
int main(int argc, char **argv) {
    int a = 1, blocked = 0;
    if (a < argc && strcmp(argv[a], "--blocked") == 0) {
        blocked = 1;
        a++;
    }
    const char *only = a < argc ? argv[a] : NULL;
    const char *no_f64 = getenv("WSSS_MODELS_NO_F64");
    if (!blocked && (!only || strstr("heads", only))) {
        run_heads(WSSS_F32);
        run_heads(WSSS_F64);
    }
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        if (only && !strstr(k_cases[i].tag, only)) continue;
        run_case(&k_cases[i], WSSS_F32, blocked);
        if (!blocked && k_cases[i].f64 && !(no_f64 && *no_f64 == '1')) run_case(&k_cases[i], WSSS_F64, 0);
    }
    return test_summary(blocked ? "test_models_parity --blocked" : "test_models_parity");
}
