/* matmul (2-D, batched, all transposes) and linear against PyTorch
 * (scripts/gen_fixtures_conv.py): output and gradients on the oneDNN backend, the F32
 * reference backend and the F64 reference path; prints the largest relative error per op,
 * backend and tensor. */
#include <stdlib.h>

#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"
#include "wsss/safetensors.h"

#define FILE_NAME "matmul.safetensors"

static const char *const k_paths[3] = {"oneDNN f32", "ref f32", "ref f64"};
static double g_err[2][3][4]; /* [matmul, linear][path][out, da, db, dbias] */

static wsss_tensor *load(int idx, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "m%d.%s", idx, name);
    return fixture_load(FILE_NAME, key);
}

static void check_config(int idx) {
    wsss_tensor *params = load(idx, "params");
    const int64_t *pv = params->data;
    const int linear = (int)pv[0], ta = (int)pv[1], tb = (int)pv[2], has_bias = (int)pv[3];
    wsss_tensor *a = load(idx, "a"), *b = load(idx, "b"), *gy = load(idx, "gy");
    wsss_tensor *bias = has_bias ? load(idx, "bias") : NULL;
    wsss_tensor *want[4] = {load(idx, "y"), load(idx, "da"), load(idx, "db"),
                            has_bias ? load(idx, "dbias") : NULL};
    static const char *names[2][4] = {{"c", "da", "db", "-"}, {"y", "dx", "dw", "dbias"}};
    for (int path = 0; path < 3; path++) {
        wsss_dtype dt = path == 2 ? WSSS_F64 : WSSS_F32;
        wsss_set_backend(path == 0 ? WSSS_BACKEND_DNNL : WSSS_BACKEND_REF);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *ai = wsss_tensor_to_dtype(a, dt), *bi = wsss_tensor_to_dtype(b, dt);
        wsss_tensor *biasi = bias ? wsss_tensor_to_dtype(bias, dt) : NULL;
        wsss_tensor *gyi = wsss_tensor_to_dtype(gy, dt);
        ai->requires_grad = bi->requires_grad = 1;
        if (biasi) biasi->requires_grad = 1;
        wsss_tensor *y = linear ? wsss_linear(ctx, ai, bi, biasi) : wsss_matmul(ctx, ai, bi, ta, tb);
        CHECK(wsss_backward_with(ctx, y, gyi) == WSSS_OK, "backward: %s", wsss_error_msg());
        const wsss_tensor *got[4] = {y, ai->grad, bi->grad, biasi ? biasi->grad : NULL};
        for (int k = 0; k < 4; k++) {
            if (!want[k]) continue;
            char what[128];
            snprintf(what, sizeof what, "%s m%d %s %s vs PyTorch", linear ? "linear" : "matmul", idx,
                     k_paths[path], names[linear][k]);
            double e = check_parity(what, got[k], want[k], path == 2 ? 1e-12 : 1e-5);
            if (e > g_err[linear][path][k]) g_err[linear][path][k] = e;
        }
        wsss_ctx_free(ctx);
        wsss_tensor_free(ai);
        wsss_tensor_free(bi);
        wsss_tensor_free(biasi);
        wsss_tensor_free(gyi);
    }
    wsss_set_backend(WSSS_BACKEND_DNNL);
    for (int k = 0; k < 4; k++) wsss_tensor_free(want[k]);
    wsss_tensor_free(params);
    wsss_tensor_free(a);
    wsss_tensor_free(b);
    wsss_tensor_free(bias);
    wsss_tensor_free(gy);
}

int main(void) {
    wsss_runtime_init();
    wsss_safetensors *st = fixture_open(FILE_NAME);
    const char *c = wsss_st_meta(st, "count");
    int count = c ? atoi(c) : 0;
    wsss_st_close(st);
    CHECK(count > 0, "%s: no configurations", FILE_NAME);
    for (int i = 0; i < count; i++) check_config(i);
    printf("matmul/linear parity over %d configs, max relative error vs PyTorch:\n", count);
    for (int path = 0; path < 3; path++) {
        printf("  %-10s  matmul c %.2e da %.2e db %.2e | linear y %.2e dx %.2e dw %.2e dbias %.2e\n",
               k_paths[path], g_err[0][path][0], g_err[0][path][1], g_err[0][path][2],
               g_err[1][path][0], g_err[1][path][1], g_err[1][path][2], g_err[1][path][3]);
    }
    return test_summary("test_matmul_parity");
}
