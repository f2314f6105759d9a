/* DeepLab v3+ head against PyTorch (scripts/gen_fixtures_deeplabv3plus.py,
 * tests/fixtures/deeplabv3plus.safetensors): torchvision's own ASPP module plus the decoder, in
 * train mode (batch statistics: logits, updated running statistics, the gradients w.r.t. both
 * inputs and every parameter) and in eval mode, in float64 with the reference kernels (<= 1e-10
 * relative) and in float32 through oneDNN (<= 1e-5). Then the names: a resnet50-os8-deeplabv3plus
 * carries every "classifier.0.*" tensor of torchvision's deeplabv3_resnet50 with its shape. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "wsss/models.h"
#include "wsss/runtime.h"

#define FIX "deeplabv3plus.safetensors"

static wsss_tensor *leaf(const wsss_safetensors *st, const char *name, wsss_dtype dt, int grad) {
    wsss_tensor *v = fixture_take(st, name), *t = wsss_tensor_to_dtype(v, dt);
    wsss_tensor_free(v);
    t->requires_grad = grad;
    return t;
}

static void compare(const char *path, const char *what, const wsss_tensor *got, wsss_tensor *want, double tol) {
    char name[160];
    snprintf(name, sizeof name, "%s %s", path, what);
    const double e = got ? check_parity(name, got, want, tol) : -1;
    CHECK(got != NULL, "%s: missing", name);
    printf("  %-52s max relative error %.2g\n", name, e);
    wsss_tensor_free(want);
}

static void run(const wsss_safetensors *st, wsss_dtype dt) {
    const double tol = dt == WSSS_F64 ? 1e-10 : 1e-5;
    const char *path = dt == WSSS_F64 ? "ref f64" : "oneDNN f32";
    wsss_set_backend(dt == WSSS_F64 ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
    wsss_params ps;
    wsss_params_init(&ps);
    wsss_deeplabv3plus_config c = wsss_deeplabv3plus_config_default(6, 5, 3, 16);
    c.channels = 8;
    c.low_project = 4;
    c.rates[0] = 1, c.rates[1] = 2, c.rates[2] = 3;
    c.dropout = 0;
    c.dtype = dt;
    wsss_deeplabv3plus_head h;
    wsss_deeplabv3plus_init(&h, &ps, NULL, &c);
    char key[200];
    int loaded = 0;
    for (int i = 0; i < wsss_params_count(&ps); i++) {
        wsss_tensor *p = wsss_params_at(&ps, i)->t;
        if (strstr(p->name, "num_batches_tracked")) continue;
        snprintf(key, sizeof key, "init.%s", p->name);
        wsss_tensor *v = fixture_take(st, key);
        CHECK(wsss_tensor_same_shape(p, v), "%s: another shape in the torch state_dict", p->name);
        if (wsss_tensor_same_shape(p, v)) wsss_tensor_copy_into(p, v), loaded++;
        wsss_tensor_free(v);
    }
    CHECK(loaded == 47, "%s: %d tensors loaded from the torch state_dict, expected 47", path, loaded);

    wsss_tensor *x = leaf(st, "x", dt, 1), *low = leaf(st, "low", dt, 1), *r = leaf(st, "r", dt, 0);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *logits = wsss_deeplabv3plus_forward(ctx, &h, x, low, 1, NULL, NULL);
    wsss_tensor *loss = wsss_sum_all(ctx, wsss_mul(ctx, logits, r));
    CHECK(wsss_backward(ctx, loss) == WSSS_OK, "%s: backward: %s", path, wsss_error_msg());
    compare(path, "train logits", wsss_tensor_plain(logits), fixture_take(st, "train.logits"), tol);
    compare(path, "d/d x", x->grad, fixture_take(st, "grad.x"), tol);
    compare(path, "d/d low", low->grad, fixture_take(st, "grad.low"), tol);
    for (int i = 0; i < wsss_params_count(&ps); i++) {
        wsss_tensor *p = wsss_params_at(&ps, i)->t;
        const char *n = p->name;
        const size_t len = strlen(n);
        const int stat = len > 12 && (strcmp(n + len - 12, "running_mean") == 0 || strcmp(n + len - 11, "running_var") == 0);
        if (stat) {
            snprintf(key, sizeof key, "after.%s", n);
            compare(path, key, p, fixture_take(st, key), tol);
        } else if (p->requires_grad) {
            snprintf(key, sizeof key, "grad.%s", n);
            /* the pooling branch's BN normalises N = 2 values per channel: its backward subtracts
             * nearly equal terms, so float32 keeps fewer digits there (float64 is exact to 1e-15) */
            const double t = dt == WSSS_F32 && strcmp(n, "0.convs.4.1.weight") == 0 ? 1e-4 : tol;
            compare(path, key, p->grad, fixture_take(st, key), t);
        }
    }
    wsss_ctx_free(ctx);

    ctx = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(ctx, 0);
    logits = wsss_deeplabv3plus_forward(ctx, &h, x, low, 0, NULL, NULL);
    compare(path, "eval logits", wsss_tensor_plain(logits), fixture_take(st, "eval.logits"), tol);
    wsss_ctx_free(ctx);
    wsss_tensor *all[3] = {x, low, r};
    free_tensors(all, 3);
    wsss_params_free(&ps);
    wsss_set_backend(WSSS_BACKEND_DNNL);
}

/* Every torchvision deeplabv3_resnet50 "classifier.0.*" tensor, with its shape, in a
 * resnet50-os8-deeplabv3plus (torchvision's rates 12/24/36 are this arch's default at OS 8). */
static void torchvision_names(const wsss_safetensors *st) {
    wsss_model m;
    CHECK(wsss_model_create(&m, "resnet50-os8-deeplabv3plus", 21, WSSS_F32) == WSSS_OK, "create: %s",
          wsss_error_msg());
    int n = 0, bad = 0;
    for (int i = 0; i < st->n_entries; i++) {
        const char *k = st->entries[i].name;
        if (strncmp(k, "tvshape.", 8) != 0) continue;
        n++;
        wsss_tensor *shape = fixture_take(st, k), *t = wsss_params_find(&m.params, k + 8);
        int ok = t && t->ndim == shape->shape[0];
        for (int d = 0; ok && d < t->ndim; d++) ok = t->shape[d] == (int64_t)wsss_tensor_get(shape, d);
        CHECK(ok, "%s: %s", k + 8, t ? "another shape" : "missing");
        bad += !ok;
        wsss_tensor_free(shape);
    }
    const wsss_deeplabv3plus_head *h = wsss_head_impl(&m.head, WSSS_HEAD_DEEPLABV3PLUS);
    CHECK(h && h->cfg.rates[0] == 12 && h->cfg.rates[1] == 24 && h->cfg.rates[2] == 36,
          "resnet50-os8-deeplabv3plus: rates are not torchvision's 12/24/36");
    CHECK(n == 36, "%d torchvision ASPP tensors in the fixture, expected 36", n);
    printf("  torchvision deeplabv3_resnet50 ASPP: %d tensors, %d missing or another shape\n", n, bad);
    wsss_model_free(&m);
}

int main(void) {
    wsss_runtime_init();
    wsss_safetensors *st = fixture_open(FIX);
    run(st, WSSS_F64);
    run(st, WSSS_F32);
    torchvision_names(st);
    wsss_st_close(st);
    return test_summary("deeplabv3plus_parity");
}
