/* Parity with PyTorch for batch norm (train/eval/frozen: outputs, x/weight/bias gradients and
 * updated running statistics), max/avg/global pooling and activations. Fixtures come from
 * scripts/gen_fixtures_normpool.py (PyTorch in float64 on float32-representable inputs). Each
 * case runs three ways: F64 reference kernels, F32 reference kernels and F32 oneDNN; the max
 * relative error (max |got - want| / max |want|) per tensor is printed and checked. */
#include <string.h>

#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"
#include "wsss/safetensors.h"

enum { V_F64_REF, V_F32_REF, V_F32_DNNL, V_COUNT };
static const char *const k_variant[V_COUNT] = {"f64-ref", "f32-ref", "f32-dnnl"};
static const double k_tol[V_COUNT] = {1e-10, 2e-5, 2e-5};

static double g_worst[V_COUNT];

static void set_variant(int v) {
    wsss_set_backend(v == V_F32_DNNL ? WSSS_BACKEND_DNNL : WSSS_BACKEND_REF);
}

static wsss_dtype variant_dtype(int v) { return v == V_F64_REF ? WSSS_F64 : WSSS_F32; }

static wsss_tensor *load(const wsss_safetensors *st, const char *cs, const char *name, int required) {
    char full[256];
    snprintf(full, sizeof full, "%s/%s", cs, name);
    if (!wsss_st_find(st, full)) {
        if (required) {
            fprintf(stderr, "FATAL: fixture %s lacks %s\n", st->path, full);
            exit(1);
        }
        return NULL;
    }
    return fixture_take(st, full);
}

/* Persistent copy of a fixture tensor in the variant's dtype. */
static wsss_tensor *as(const wsss_tensor *t, int v) { return t ? wsss_tensor_to_dtype(t, variant_dtype(v)) : NULL; }

/* Compare and record; `checked` = 0 only reports (used for oneDNN on tied max pooling). */
static void report(const char *cs, const char *tensor, int v, const wsss_tensor *got,
                   const wsss_tensor *want, int checked) {
    if (!want) return;
    if (!got) {
        CHECK(0, "%s %s [%s]: no value computed (gradient missing)", cs, tensor, k_variant[v]);
        return;
    }
    CHECK(wsss_tensor_same_shape(got, want), "%s %s shape", cs, tensor);
    if (!wsss_tensor_same_shape(got, want)) return;
    double e = max_rel_error(got, want);
    printf("  %-24s %-14s %-9s max rel err %.3e%s\n", cs, tensor, k_variant[v], e,
           checked ? "" : " (not checked)");
    if (!checked) return;
    if (e > g_worst[v]) g_worst[v] = e;
    CHECK(e <= k_tol[v], "%s %s [%s]: max rel err %.3e > %.1e", cs, tensor, k_variant[v], e, k_tol[v]);
}

/* ---------------- batch norm ---------------- */

static void bn_case(const wsss_safetensors *st, const char *cs) {
    wsss_tensor *prm = load(st, cs, "params", 1);
    wsss_bn_mode mode = (wsss_bn_mode)wsss_tensor_get(prm, 0);
    double momentum = wsss_tensor_get(prm, 2), eps = wsss_tensor_get(prm, 3);
    wsss_tensor *x0 = load(st, cs, "x", 1), *gy0 = load(st, cs, "grad_y", 1);
    wsss_tensor *w0 = load(st, cs, "weight", 0), *b0 = load(st, cs, "bias", 0);
    wsss_tensor *rm0 = load(st, cs, "running_mean_in", 1), *rv0 = load(st, cs, "running_var_in", 1);
    wsss_tensor *y_e = load(st, cs, "y", 1), *dx_e = load(st, cs, "grad_x", 1);
    wsss_tensor *dw_e = load(st, cs, "grad_weight", 0), *db_e = load(st, cs, "grad_bias", 0);
    wsss_tensor *rm_e = load(st, cs, "running_mean", 1), *rv_e = load(st, cs, "running_var", 1);
    for (int v = 0; v < V_COUNT; v++) {
        set_variant(v);
        wsss_tensor *x = as(x0, v), *gy = as(gy0, v), *w = as(w0, v), *b = as(b0, v);
        wsss_tensor *rm = as(rm0, v), *rv = as(rv0, v);
        x->requires_grad = 1;
        if (w) w->requires_grad = 1; /* also in frozen mode: the op must ignore it */
        if (b) b->requires_grad = 1;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = wsss_batchnorm2d(ctx, x, w, b, rm, rv, mode, momentum, eps);
        CHECK(wsss_backward_with(ctx, y, gy) == WSSS_OK, "%s backward", cs);
        report(cs, "y", v, y, y_e, 1);
        report(cs, "grad_x", v, x->grad, dx_e, 1);
        report(cs, "grad_weight", v, w ? w->grad : NULL, dw_e, 1);
        report(cs, "grad_bias", v, b ? b->grad : NULL, db_e, 1);
        report(cs, "running_mean", v, rm, rm_e, 1);
        report(cs, "running_var", v, rv, rv_e, 1);
        if (mode == WSSS_BN_FROZEN)
            CHECK((!w || !w->grad) && (!b || !b->grad), "%s: frozen weight/bias got a gradient", cs);
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
        wsss_tensor_free(gy);
        wsss_tensor_free(w);
        wsss_tensor_free(b);
        wsss_tensor_free(rm);
        wsss_tensor_free(rv);
    }
    wsss_tensor *all[] = {prm, x0, gy0, w0, b0, rm0, rv0, y_e, dx_e, dw_e, db_e, rm_e, rv_e};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) wsss_tensor_free(all[i]);
}

/* ---------------- pooling and activations: one input, one output ---------------- */

static wsss_tensor *pool_apply(wsss_ctx *ctx, const wsss_tensor *prm, wsss_tensor *x) {
    int kind = (int)wsss_tensor_get(prm, 0);
    wsss_pool2d_params p;
    memset(&p, 0, sizeof p);
    p.kernel[0] = p.kernel[1] = (int)wsss_tensor_get(prm, 1);
    p.stride[0] = p.stride[1] = (int)wsss_tensor_get(prm, 2);
    p.padding[0] = p.padding[1] = (int)wsss_tensor_get(prm, 3);
    p.ceil_mode = (int)wsss_tensor_get(prm, 4);
    p.count_include_pad = (int)wsss_tensor_get(prm, 5);
    if (kind == 0) return wsss_maxpool2d(ctx, x, p);
    if (kind == 1) return wsss_avgpool2d(ctx, x, p);
    return wsss_global_avgpool(ctx, x);
}

static wsss_tensor *act_apply(wsss_ctx *ctx, const wsss_tensor *prm, wsss_tensor *x) {
    double alpha = wsss_tensor_get(prm, 1);
    switch ((int)wsss_tensor_get(prm, 0)) {
    case 0: return wsss_relu(ctx, x);
    case 1: return wsss_leaky_relu(ctx, x, alpha);
    case 2: return wsss_elu(ctx, x, alpha);
    case 3: return wsss_sigmoid(ctx, x);
    default: return wsss_tanh(ctx, x);
    }
}

typedef wsss_tensor *(*unary_fn)(wsss_ctx *, const wsss_tensor *, wsss_tensor *);

static void unary_case(const wsss_safetensors *st, const char *cs, unary_fn fn) {
    wsss_tensor *prm = load(st, cs, "params", 1);
    wsss_tensor *x0 = load(st, cs, "x", 1), *gy0 = load(st, cs, "grad_y", 1);
    wsss_tensor *y_e = load(st, cs, "y", 1), *dx_e = load(st, cs, "grad_x", 1);
    /* tie-breaking is PyTorch's CPU rule, which the reference implements; oneDNN's is its own */
    int ties = strncmp(cs, "ties_", 5) == 0;
    for (int v = 0; v < V_COUNT; v++) {
        set_variant(v);
        wsss_tensor *x = as(x0, v), *gy = as(gy0, v);
        x->requires_grad = 1;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = fn(ctx, prm, x);
        CHECK(wsss_backward_with(ctx, y, gy) == WSSS_OK, "%s backward", cs);
        report(cs, "y", v, y, y_e, 1);
        report(cs, "grad_x", v, x->grad, dx_e, !(ties && v == V_F32_DNNL));
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
        wsss_tensor_free(gy);
    }
    wsss_tensor_free(prm);
    wsss_tensor_free(x0);
    wsss_tensor_free(gy0);
    wsss_tensor_free(y_e);
    wsss_tensor_free(dx_e);
}

static void run_file(const char *file, int family) {
    wsss_safetensors *st = fixture_open(file);
    int n = 0;
    for (int i = 0; i < st->n_entries; i++) {
        const char *name = st->entries[i].name, *slash = strrchr(name, '/');
        if (!slash || strcmp(slash, "/params") != 0) continue;
        char cs[128];
        snprintf(cs, sizeof cs, "%.*s", (int)(slash - name), name);
        if (family == 0) bn_case(st, cs);
        else unary_case(st, cs, family == 1 ? pool_apply : act_apply);
        n++;
    }
    CHECK(n > 0, "%s: no cases", file);
    wsss_st_close(st);
}

int main(void) {
    wsss_runtime_init();
    run_file("normpool_bn.safetensors", 0);
    run_file("normpool_pool.safetensors", 1);
    run_file("normpool_act.safetensors", 2);
    printf("worst checked max rel err: f64-ref %.3e, f32-ref %.3e, f32-dnnl %.3e\n",
           g_worst[V_F64_REF], g_worst[V_F32_REF], g_worst[V_F32_DNNL]);
    wsss_set_backend(WSSS_BACKEND_DNNL);
    return test_summary("test_normpool_parity");
}
