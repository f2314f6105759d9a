/* Parameter registry: registration, lookup, groups, freezing, zero_grad, safetensors save/load in
 * strict and non-strict mode (every problem named), prefixes for backbone files, dtype conversion. */
#include <string.h>

#include "test_util.h"
#include "wsss/autograd.h"
#include "wsss/params.h"
#include "wsss/safetensors.h"

static const char *g_dir;

static const char *path_in(const char *name) { return test_path(g_dir, name); }

/* a small conv+bn "model" */
static void build(wsss_params *ps, const char *prefix) {
    char n[128];
    int64_t w[4] = {4, 3, 3, 3}, c[1] = {4};
#define NAME(s) (snprintf(n, sizeof n, "%s%s", prefix, s), n)
    wsss_params_add_param(ps, NAME("conv1.weight"), WSSS_F32, 4, w, 0);
    wsss_params_add_param(ps, NAME("bn1.weight"), WSSS_F32, 1, c, 1);
    wsss_params_add_param(ps, NAME("bn1.bias"), WSSS_F32, 1, c, 1);
    wsss_params_add_buffer(ps, NAME("bn1.running_mean"), WSSS_F32, 1, c);
    wsss_params_add_buffer(ps, NAME("bn1.running_var"), WSSS_F32, 1, c);
    wsss_params_add_buffer(ps, NAME("bn1.num_batches_tracked"), WSSS_I64, 0, NULL);
#undef NAME
}

static void fill_all(wsss_params *ps, double base) {
    for (int i = 0; i < wsss_params_count(ps); i++) {
        wsss_tensor *t = wsss_params_at(ps, i)->t;
        for (int64_t j = 0; j < wsss_tensor_numel(t); j++) wsss_tensor_set(t, j, base + i * 100 + j * 0.5);
    }
}

static double max_diff(const wsss_params *a, const wsss_params *b) {
    double m = 0;
    for (int i = 0; i < wsss_params_count(a); i++) {
        const wsss_tensor *x = wsss_params_at(a, i)->t, *y = wsss_params_at(b, i)->t;
        for (int64_t j = 0; j < wsss_tensor_numel(x); j++) {
            double d = fabs(wsss_tensor_get(x, j) - wsss_tensor_get(y, j));
            if (d > m) m = d;
        }
    }
    return m;
}

static void test_registry(void) {
    wsss_params ps;
    wsss_params_init(&ps);
    build(&ps, "");
    int64_t h[2] = {21, 4};
    wsss_tensor *head = wsss_params_add_param(&ps, "head.weight", WSSS_F32, 2, h, 2);
    CHECK(wsss_params_count(&ps) == 7, "count %d", wsss_params_count(&ps));
    CHECK(strcmp(wsss_params_at(&ps, 0)->t->name, "conv1.weight") == 0, "order 0");
    CHECK(strcmp(wsss_params_at(&ps, 6)->t->name, "head.weight") == 0, "order 6");
    CHECK(wsss_params_find(&ps, "head.weight") == head, "find");
    CHECK(wsss_params_find(&ps, "head") == NULL && wsss_params_find(&ps, "head.weight2") == NULL, "find absent");
    const wsss_param *bn = wsss_params_find_entry(&ps, "bn1.running_var");
    CHECK(bn && bn->kind == WSSS_KIND_BUFFER && bn->group == -1 && !bn->t->requires_grad, "buffer entry");
    const wsss_param *cw = wsss_params_find_entry(&ps, "conv1.weight");
    CHECK(cw && cw->kind == WSSS_KIND_PARAM && cw->group == 0 && cw->t->requires_grad, "param entry");
    CHECK(wsss_params_find_entry(&ps, "bn1.bias")->group == 1 && wsss_params_find_entry(&ps, "head.weight")->group == 2,
          "groups");
    CHECK(wsss_params_find(&ps, "bn1.num_batches_tracked")->dtype == WSSS_I64, "I64 buffer");
    CHECK(wsss_tensor_get(head, 5) == 0.0, "zero-initialised");
    CHECK(wsss_params_numel(&ps, 0) == 108 + 4 + 4 + 84, "numel %lld", (long long)wsss_params_numel(&ps, 0));

    /* freeze by prefix; buffers are not counted */
    CHECK(wsss_params_set_trainable(&ps, "bn1.", 0) == 2, "bn1. matches 2 parameters");
    CHECK(!wsss_params_find(&ps, "bn1.weight")->requires_grad && wsss_params_find(&ps, "conv1.weight")->requires_grad,
          "frozen by prefix");
    CHECK(wsss_params_numel(&ps, 1) == 108 + 84, "trainable numel");
    CHECK(wsss_params_set_trainable(&ps, "", 0) == 4, "freeze all");
    CHECK(wsss_params_numel(&ps, 1) == 0, "nothing trainable");
    CHECK(wsss_params_set_trainable(&ps, NULL, 1) == 4, "unfreeze all");
    CHECK(wsss_params_set_trainable(&ps, "nope.", 0) == 0, "no match");
    CHECK(!wsss_params_find(&ps, "bn1.running_mean")->requires_grad, "buffers never trainable");

    /* gradients: accumulate, zero, drop */
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *g = wsss_tensor_new(WSSS_F32, 2, h);
    wsss_tensor_fill(g, 1.5);
    wsss_grad_accumulate(ctx, head, g);
    wsss_grad_accumulate(ctx, head, g);
    CHECK(head->grad && wsss_tensor_get(head->grad, 3) == 3.0, "grad accumulated");
    wsss_tensor *gw = wsss_tensor_new(WSSS_F32, 1, h + 1);
    wsss_tensor_fill(gw, 2.0);
    wsss_grad_accumulate(ctx, wsss_params_find(&ps, "bn1.weight"), gw);
    wsss_params_zero_grad(&ps, 0);
    CHECK(head->grad && wsss_tensor_get(head->grad, 3) == 0.0 && wsss_tensor_get(head->grad, 83) == 0.0,
          "zeroed, kept");
    CHECK(wsss_tensor_get(wsss_params_find(&ps, "bn1.weight")->grad, 0) == 0.0, "all grads zeroed");
    wsss_params_zero_grad(&ps, 1);
    CHECK(head->grad == NULL && wsss_params_find(&ps, "bn1.weight")->grad == NULL, "dropped");
    wsss_grad_accumulate(ctx, head, g);
    CHECK(head->grad && wsss_tensor_get(head->grad, 0) == 1.5, "fresh grad after drop");
    wsss_tensor_free(g);
    wsss_tensor_free(gw);
    wsss_ctx_free(ctx);
    wsss_params_free(&ps); /* frees the persistent grad too (ASan checks) */
    CHECK(ps.n == 0 && ps.items == NULL, "free resets");
}

static void test_save_load(void) {
    wsss_params a, b;
    wsss_params_init(&a);
    wsss_params_init(&b);
    build(&a, "");
    build(&b, "");
    fill_all(&a, 1.0);
    *(int64_t *)wsss_params_find(&a, "bn1.num_batches_tracked")->data = ((int64_t)1 << 53) + 1; /* exact */
    const char *p = path_in("model.safetensors");
    CHECK(wsss_params_save_safetensors(&a, p, 1) == WSSS_OK, "save: %s", wsss_error_msg());
    char *rep = (char *)1;
    CHECK(wsss_params_load_safetensors(&b, p, 1, &rep) == WSSS_OK, "strict load: %s", wsss_error_msg());
    CHECK(rep == NULL, "no report when everything matches");
    CHECK(max_diff(&a, &b) == 0, "values equal after round trip");
    CHECK(*(int64_t *)wsss_params_find(&b, "bn1.num_batches_tracked")->data == ((int64_t)1 << 53) + 1,
          "I64 buffer exact");

    /* without buffers: strict load of the full model reports the three buffers as missing */
    const char *pnb = path_in("nobuf.safetensors");
    CHECK(wsss_params_save_safetensors(&a, pnb, 0) == WSSS_OK, "save without buffers");
    wsss_safetensors *st;
    CHECK(wsss_st_open(pnb, &st) == WSSS_OK && st->n_entries == 3, "3 tensors without buffers");
    wsss_st_close(st);
    CHECK(wsss_params_load_safetensors(&b, pnb, 1, NULL) == WSSS_ERR, "strict: buffers missing");
    const char *m = wsss_error_msg();
    CHECK(strstr(m, pnb) && strstr(m, "missing 3: bn1.running_mean, bn1.running_var, bn1.num_batches_tracked"),
          "missing msg: %s", m);
    wsss_params_load_opts o = {0};
    o.strict = 1;
    o.skip_buffers = 1;
    CHECK(wsss_st_open(pnb, &st) == WSSS_OK, "open");
    CHECK(wsss_params_load_st(&b, st, &o, NULL) == WSSS_OK, "strict with skip_buffers: %s", wsss_error_msg());
    wsss_st_close(st);

    /* a file with every kind of problem: strict lists ALL of them and loads nothing */
    wsss_st_writer *w = wsss_st_writer_new();
    int64_t s3[1] = {3}, s4[1] = {4};
    wsss_tensor *wrong_shape = wsss_tensor_new(WSSS_F32, 1, s3);
    wsss_tensor *extra = wsss_tensor_new(WSSS_F32, 1, s4);
    wsss_tensor *float_nbt = wsss_tensor_new(WSSS_F32, 0, NULL);
    wsss_tensor *good_w = wsss_tensor_clone(wsss_params_find(&a, "conv1.weight"));
    wsss_tensor_fill(good_w, 9.0);
    wsss_tensor *good_var = wsss_tensor_new(WSSS_F64, 1, s4); /* F64 -> F32 converts */
    wsss_tensor_fill(good_var, 0.25);
    wsss_st_writer_add(w, "conv1.weight", good_w);
    wsss_st_writer_add(w, "bn1.weight", wrong_shape);
    /* bn1.bias missing, bn1.running_mean missing */
    wsss_st_writer_add(w, "bn1.running_var", good_var);
    wsss_st_writer_add(w, "bn1.num_batches_tracked", float_nbt);
    wsss_st_writer_add(w, "fc.weight", extra);
    wsss_st_writer_add(w, "fc.bias", extra);
    const char *pbad = path_in("mixed.safetensors");
    CHECK(wsss_st_writer_save(w, pbad) == WSSS_OK, "save mixed");
    wsss_st_writer_free(w);

    fill_all(&b, 1.0);
    *(int64_t *)wsss_params_find(&b, "bn1.num_batches_tracked")->data = ((int64_t)1 << 53) + 1;
    CHECK(max_diff(&a, &b) == 0, "b reset to a's values");
    CHECK(wsss_params_load_safetensors(&b, pbad, 1, &rep) == WSSS_ERR, "strict fails");
    m = wsss_error_msg();
    CHECK(strstr(m, pbad) != NULL, "names the file: %s", m);
    CHECK(strstr(m, "missing 2: bn1.bias, bn1.running_mean"), "missing listed: %s", m);
    CHECK(strstr(m, "unexpected 2: fc.bias, fc.weight"), "unexpected listed: %s", m);
    CHECK(strstr(m, "shape mismatch 1: bn1.weight (file [3], model [4])"), "shape listed: %s", m);
    CHECK(strstr(m, "dtype mismatch 1: bn1.num_batches_tracked (file F32, model I64)"), "dtype listed: %s", m);
    CHECK(rep && strstr(rep, "missing 2: bn1.bias, bn1.running_mean\n") && strstr(rep, "unexpected 2:"),
          "report: %s", rep ? rep : "(null)");
    free(rep);
    CHECK(max_diff(&a, &b) == 0, "strict failure loads nothing");

    /* non-strict: loads what matches, reports the rest */
    CHECK(wsss_params_load_safetensors(&b, pbad, 0, &rep) == WSSS_OK, "non-strict ok: %s", wsss_error_msg());
    CHECK(rep && strstr(rep, "missing 2: bn1.bias, bn1.running_mean") && strstr(rep, "unexpected 2: fc.bias, fc.weight") &&
              strstr(rep, "shape mismatch 1: bn1.weight") && strstr(rep, "dtype mismatch 1:"),
          "non-strict report: %s", rep ? rep : "(null)");
    free(rep);
    CHECK(wsss_tensor_get(wsss_params_find(&b, "conv1.weight"), 7) == 9.0, "matching tensor loaded");
    CHECK(wsss_tensor_get(wsss_params_find(&b, "bn1.running_var"), 3) == 0.25, "F64 file -> F32 buffer");
    CHECK(wsss_tensor_get(wsss_params_find(&b, "bn1.weight"), 0) == wsss_tensor_get(wsss_params_find(&a, "bn1.weight"), 0),
          "mismatched tensor untouched");

    wsss_tensor_free(wrong_shape), wsss_tensor_free(extra), wsss_tensor_free(float_nbt);
    wsss_tensor_free(good_w), wsss_tensor_free(good_var);
    wsss_params_free(&a);
    wsss_params_free(&b);

    CHECK(wsss_params_load_safetensors(&b, path_in("absent.safetensors"), 1, NULL) == WSSS_ERR &&
              strstr(wsss_error_msg(), "absent.safetensors"),
          "missing file: %s", wsss_error_msg());
}

/* An ImageNet-style file (no prefix, with fc.*) loaded into "backbone.*" of a bigger model. */
static void test_prefix(void) {
    wsss_params src, model;
    wsss_params_init(&src);
    wsss_params_init(&model);
    build(&src, "");
    int64_t fc[2] = {1000, 4};
    wsss_params_add_param(&src, "fc.weight", WSSS_F32, 2, fc, 2);
    fill_all(&src, 3.0);
    const char *p = path_in("imagenet.safetensors");
    CHECK(wsss_params_save_safetensors(&src, p, 1) == WSSS_OK, "save imagenet");

    build(&model, "backbone.");
    int64_t cls[2] = {20, 4};
    wsss_params_add_param(&model, "classifier.weight", WSSS_F32, 2, cls, 2);

    wsss_safetensors *st;
    CHECK(wsss_st_open(p, &st) == WSSS_OK, "open");
    wsss_params_load_opts o = {0};
    o.strict = 1;
    o.prefix = "backbone.";
    char *rep;
    CHECK(wsss_params_load_st(&model, st, &o, &rep) == WSSS_ERR, "fc.weight unexpected in strict mode");
    CHECK(strstr(wsss_error_msg(), "unexpected 1: fc.weight") && strstr(wsss_error_msg(), "backbone."), "msg: %s",
          wsss_error_msg());
    free(rep);
    const char *ignore[] = {"fc.", NULL};
    o.ignore_file_prefixes = ignore;
    CHECK(wsss_params_load_st(&model, st, &o, &rep) == WSSS_OK, "strict with fc. ignored: %s", wsss_error_msg());
    CHECK(rep == NULL, "no report");
    for (int i = 0; i < 6; i++) {
        const wsss_tensor *x = wsss_params_at(&src, i)->t, *y = wsss_params_at(&model, i)->t;
        CHECK(strcmp(y->name + 9, x->name) == 0, "name mapping %s", y->name);
        CHECK(memcmp(x->data, y->data, wsss_tensor_nbytes(x)) == 0, "values %s", y->name);
    }
    CHECK(wsss_tensor_get(wsss_params_find(&model, "classifier.weight"), 0) == 0.0, "out-of-scope untouched");
    wsss_st_close(st);

    /* to_writer with a prefix, then load the whole model back strictly */
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_params_to_writer(&model, w, "model.", 1);
    const char *p2 = path_in("ckpt.safetensors");
    CHECK(wsss_st_writer_save(w, p2) == WSSS_OK, "save ckpt");
    wsss_st_writer_free(w);
    CHECK(wsss_st_open(p2, &st) == WSSS_OK && wsss_st_find(st, "model.backbone.conv1.weight") &&
              wsss_st_find(st, "model.classifier.weight"),
          "prefixed names in the file");
    wsss_st_close(st);
    wsss_params_free(&src);
    wsss_params_free(&model);
}

int main(void) {
    g_dir = test_tmp_dir("test_params");
    test_registry();
    test_save_load();
    test_prefix();
    return test_summary("test_params");
}
