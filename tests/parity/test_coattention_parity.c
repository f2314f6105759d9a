/* MCIS co-attention module (wsss_coattention_forward) against PyTorch (scripts/gen_fixtures_mcis.py,
 * specs/mcis.md §3 written as einsums): every output, and the gradients of F1, F2 and the three
 * weights for sum over outputs of sum(out * gout), on four paths: F64 reference kernels (vs torch
 * float64, 1e-10), F32 reference kernels, F32 oneDNN on plain tensors and F32 oneDNN in a
 * blocked-layout context with blocked input features (vs torch float32, 1e-5). Errors are
 * max |got - want| / max |want|. The weights are loaded by the module's registry names from the
 * fixture's torch state_dict, so the names and shapes are checked too. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/coattention.h"
#include "wsss/runtime.h"

#define FILE_NAME "mcis_coattention.safetensors"

enum { PATH_REF_F64 = 0, PATH_REF_F32, PATH_DNNL_F32, PATH_BLOCKED_F32, N_PATHS };
static const char *const k_paths[N_PATHS] = {"ref f64", "ref f32", "oneDNN f32", "oneDNN f32 blocked"};

enum { N_OUT = 10, N_IN = 5 };
static const char *const k_outputs[N_OUT] = {"co_map1", "co_map2", "co1",      "co2",      "gate1",
                                             "gate2",   "cco_map1", "cco_map2", "cco1", "cco2"};
static const char *const k_inputs[N_IN] = {"f1", "f2", "extra_linear_e.weight", "extra_gate.weight",
                                           "extra_gate_merge.weight"};
static double g_err[N_PATHS][N_OUT + N_IN]; /* outputs, then input gradients */

static wsss_tensor *output_of(const wsss_coattention_out *o, int i) {
    wsss_tensor *const all[N_OUT] = {o->co_map[0], o->co_map[1], o->co[0],      o->co[1],      o->gate[0],
                                     o->gate[1],   o->cco_map[0], o->cco_map[1], o->cco[0], o->cco[1]};
    return all[i];
}

static wsss_tensor *take(const wsss_safetensors *st, const char *cs, const char *what, const char *sfx) {
    char name[160];
    snprintf(name, sizeof name, "%s.%s%s", cs, what, sfx ? sfx : "");
    return fixture_take(st, name);
}

/* The module in dtype dt with the case's weights, looked up by the registry's own names. */
static void module_load(const wsss_safetensors *st, const char *cs, wsss_coattention *m, wsss_params *ps,
                        wsss_dtype dt, int64_t c, int64_t k) {
    wsss_params_init(ps);
    wsss_coattention_init(m, ps, NULL, dt, c, k, WSSS_GROUP_NEW);
    for (int i = 0; i < wsss_params_count(ps); i++) {
        wsss_tensor *p = wsss_params_at(ps, i)->t;
        wsss_tensor *v = take(st, cs, p->name, NULL);
        CHECK(wsss_tensor_same_shape(p, v), "%s: %s has another shape in the torch state_dict", cs, p->name);
        if (wsss_tensor_same_shape(p, v)) wsss_tensor_copy_into(p, v);
        wsss_tensor_free(v);
    }
}

/* 1x1 convolution with the identity: the same values, but in oneDNN's blocked layout in a blocked
 * context, as the head's features arrive there; its backward passes the gradient through exactly. */
static wsss_tensor *as_blocked(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *eye) {
    wsss_tensor *y = wsss_conv2d(ctx, x, eye, NULL, (wsss_conv2d_params){0});
    CHECK(wsss_tensor_is_blocked(y), "the identity convolution did not give a blocked tensor");
    return y;
}

static void run_path(const wsss_safetensors *st, const char *cs, int path, int64_t c, int64_t k,
                     wsss_tensor *const *in64, wsss_tensor *const *gout64) {
    const wsss_dtype dt = path == PATH_REF_F64 ? WSSS_F64 : WSSS_F32;
    const char *sfx = dt == WSSS_F64 ? ".f64" : ".f32";
    const double tol = dt == WSSS_F64 ? 1e-10 : 1e-5;
    wsss_set_backend(path <= PATH_REF_F32 ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
    wsss_params ps;
    wsss_coattention m;
    module_load(st, cs, &m, &ps, dt, c, k);
    wsss_tensor *f[2];
    for (int i = 0; i < 2; i++) {
        f[i] = wsss_tensor_to_dtype(in64[i], dt);
        f[i]->requires_grad = 1;
    }
    const int64_t eye_shape[4] = {c, c, 1, 1};
    wsss_tensor *eye = wsss_tensor_new(dt, 4, eye_shape);
    for (int64_t i = 0; i < c; i++) wsss_tensor_set(eye, i * c + i, 1.0);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, path == PATH_BLOCKED_F32);
    wsss_tensor *x1 = f[0], *x2 = f[1];
    if (path == PATH_BLOCKED_F32) {
        x1 = as_blocked(ctx, x1, eye);
        x2 = as_blocked(ctx, x2, eye);
    }
    wsss_coattention_out out;
    wsss_coattention_forward(ctx, &m, x1, x2, &out);
    wsss_tensor *loss = NULL, *gout[N_OUT]; /* kept until the backward pass has read them */
    for (int i = 0; i < N_OUT; i++) {
        gout[i] = wsss_tensor_to_dtype(gout64[i], dt);
        wsss_tensor *term = wsss_sum_all(ctx, wsss_mul(ctx, output_of(&out, i), gout[i]));
        loss = loss ? wsss_add(ctx, loss, term) : term;
    }
    CHECK(wsss_backward(ctx, loss) == WSSS_OK, "%s %s: backward: %s", cs, k_paths[path], wsss_error_msg());
    char what[200];
    for (int i = 0; i < N_OUT; i++) {
        wsss_tensor *want = take(st, cs, k_outputs[i], sfx);
        snprintf(what, sizeof what, "%s %s %s", cs, k_paths[path], k_outputs[i]);
        double e = check_parity(what, wsss_tensor_plain(output_of(&out, i)), want, tol);
        if (e > g_err[path][i]) g_err[path][i] = e;
        wsss_tensor_free(want);
    }
    wsss_tensor *leaves[N_IN] = {f[0], f[1], m.affinity.weight, m.classifier.weight, m.gate.weight};
    for (int i = 0; i < N_IN; i++) {
        char key[64];
        snprintf(key, sizeof key, "grad.%s", k_inputs[i]);
        wsss_tensor *want = take(st, cs, key, sfx);
        snprintf(what, sizeof what, "%s %s d/d %s", cs, k_paths[path], k_inputs[i]);
        double e = check_parity(what, leaves[i]->grad, want, tol);
        if (e > g_err[path][N_OUT + i]) g_err[path][N_OUT + i] = e;
        wsss_tensor_free(want);
    }
    wsss_ctx_free(ctx);
    for (int i = 0; i < N_OUT; i++) wsss_tensor_free(gout[i]);
    wsss_tensor_free(eye);
    wsss_tensor_free(f[0]);
    wsss_tensor_free(f[1]);
    wsss_params_free(&ps);
    wsss_set_backend(WSSS_BACKEND_DNNL);
}

static void run_case(const wsss_safetensors *st, const char *cs, void *user) {
    (void)user;
    const char *spec = wsss_st_meta(st, cs);
    long long b, c, k, h1, w1, h2, w2;
    if (!spec || sscanf(spec, "%lld %lld %lld %lld %lld %lld %lld", &b, &c, &k, &h1, &w1, &h2, &w2) != 7) {
        CHECK(0, "%s: metadata entry '%s' is not 'B C K h1 w1 h2 w2'", cs, spec ? spec : "(missing)");
        return;
    }
    wsss_tensor *in64[2] = {take(st, cs, "f1", NULL), take(st, cs, "f2", NULL)};
    const int64_t s1[4] = {b, c, h1, w1}, s2[4] = {b, c, h2, w2};
    CHECK(in64[0]->ndim == 4 && !memcmp(in64[0]->shape, s1, sizeof s1), "%s: f1 shape", cs);
    CHECK(in64[1]->ndim == 4 && !memcmp(in64[1]->shape, s2, sizeof s2), "%s: f2 shape", cs);
    wsss_tensor *gout64[N_OUT];
    for (int i = 0; i < N_OUT; i++) {
        char key[64];
        snprintf(key, sizeof key, "gout.%s", k_outputs[i]);
        gout64[i] = take(st, cs, key, NULL);
    }
    for (int path = 0; path < N_PATHS; path++) run_path(st, cs, path, c, k, in64, gout64);
    for (int i = 0; i < N_OUT; i++) wsss_tensor_free(gout64[i]);
    wsss_tensor_free(in64[0]);
    wsss_tensor_free(in64[1]);
}

int main(void) {
    wsss_runtime_init();
    const int n = fixture_each_case(FILE_NAME, run_case, NULL);
    CHECK(n >= 5, "%s: expected at least 5 cases, found %d", FILE_NAME, n);
    printf("co-attention parity over %d cases, max relative error vs PyTorch:\n", n);
    for (int i = 0; i < N_OUT + N_IN; i++) {
        char label[64];
        snprintf(label, sizeof label, "%s%s", i < N_OUT ? "" : "d/d ", i < N_OUT ? k_outputs[i] : k_inputs[i - N_OUT]);
        printf("  %-28s", label);
        for (int path = 0; path < N_PATHS; path++) printf("  %s %.2e", k_paths[path], g_err[path][i]);
        printf("\n");
    }
    return test_summary("test_coattention_parity");
}
