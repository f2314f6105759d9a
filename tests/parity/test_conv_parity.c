/* conv2d against PyTorch (scripts/gen_fixtures_conv.py): output and every gradient, on the
 * oneDNN backend, the F32 reference backend and the F64 reference path. The fixtures hold
 * float32 inputs and PyTorch's float64 results for those inputs, so the F64 path must agree to
 * rounding and the F32 paths to float accumulation error. Prints the largest relative error
 * (max|got - torch| / max|torch|) per backend and tensor. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"
#include "wsss/safetensors.h"

static const char *const k_files[] = {"conv_0.safetensors", "conv_1.safetensors"};
static const char *const k_paths[3] = {"oneDNN f32", "ref f32", "ref f64"};
static const char *const k_tensors[4] = {"y", "dx", "dw", "db"};
static double g_err[3][4];

static wsss_tensor *load(const char *file, int idx, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "c%d.%s", idx, name);
    return fixture_load(file, key);
}

static void meta_range(const char *file, int *first, int *count) {
    wsss_safetensors *st = fixture_open(file);
    const char *f = wsss_st_meta(st, "first"), *c = wsss_st_meta(st, "count");
    *first = f ? atoi(f) : 0;
    *count = c ? atoi(c) : 0;
    wsss_st_close(st);
}

static void check_config(const char *file, int idx) {
    wsss_tensor *params = load(file, idx, "params");
    const int64_t *pv = params->data;
    wsss_conv2d_params p = {{(int)pv[0], (int)pv[1]}, {(int)pv[2], (int)pv[3]},
                            {(int)pv[4], (int)pv[5]}, (int)pv[6]};
    const int has_bias = (int)pv[7];
    wsss_tensor *x = load(file, idx, "x"), *w = load(file, idx, "w"), *gy = load(file, idx, "gy");
    wsss_tensor *b = has_bias ? load(file, idx, "b") : NULL;
    wsss_tensor *want[4] = {load(file, idx, "y"), load(file, idx, "dx"), load(file, idx, "dw"),
                            has_bias ? load(file, idx, "db") : NULL};
    for (int path = 0; path < 3; path++) {
        wsss_dtype dt = path == 2 ? WSSS_F64 : WSSS_F32;
        wsss_set_backend(path == 0 ? WSSS_BACKEND_DNNL : WSSS_BACKEND_REF);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *xi = wsss_tensor_to_dtype(x, dt), *wi = wsss_tensor_to_dtype(w, dt);
        wsss_tensor *bi = b ? wsss_tensor_to_dtype(b, dt) : NULL, *gyi = wsss_tensor_to_dtype(gy, dt);
        xi->requires_grad = wi->requires_grad = 1;
        if (bi) bi->requires_grad = 1;
        wsss_tensor *y = wsss_conv2d(ctx, xi, wi, bi, p);
        CHECK(wsss_backward_with(ctx, y, gyi) == WSSS_OK, "backward: %s", wsss_error_msg());
        const wsss_tensor *got[4] = {y, xi->grad, wi->grad, bi ? bi->grad : NULL};
        for (int k = 0; k < 4; k++) {
            if (!want[k]) continue;
            char what[128];
            snprintf(what, sizeof what, "conv c%d %s %s vs PyTorch", idx, k_paths[path], k_tensors[k]);
            /* F32: float rounding of sums of at most a few hundred products; F64: rounding only */
            double e = check_parity(what, got[k], want[k], path == 2 ? 1e-12 : 1e-5);
            if (e > g_err[path][k]) g_err[path][k] = e;
        }
        wsss_ctx_free(ctx);
        wsss_tensor_free(xi);
        wsss_tensor_free(wi);
        wsss_tensor_free(bi);
        wsss_tensor_free(gyi);
    }
    wsss_set_backend(WSSS_BACKEND_DNNL);
    for (int k = 0; k < 4; k++) wsss_tensor_free(want[k]);
    wsss_tensor_free(params);
    wsss_tensor_free(x);
    wsss_tensor_free(w);
    wsss_tensor_free(b);
    wsss_tensor_free(gy);
}

int main(void) {
    wsss_runtime_init();
    int total = 0;
    for (size_t f = 0; f < sizeof k_files / sizeof k_files[0]; f++) {
        int first, count;
        meta_range(k_files[f], &first, &count);
        CHECK(count > 0, "%s: no configurations", k_files[f]);
        for (int i = first; i < first + count; i++) check_config(k_files[f], i);
        total += count;
    }
    printf("conv2d parity over %d configs, max relative error vs PyTorch (max|err| / max|torch|):\n", total);
    for (int path = 0; path < 3; path++)
        printf("  %-10s  y %.2e  dx %.2e  dw %.2e  db %.2e\n", k_paths[path], g_err[path][0],
               g_err[path][1], g_err[path][2], g_err[path][3]);
    return test_summary("test_conv_parity");
}
