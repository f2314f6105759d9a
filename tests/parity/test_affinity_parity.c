/* AffinityNet against PyTorch (scripts/gen_fixtures_affinity.py, tests/fixtures/affinity.safetensors):
 * the head (f8_3/f8_4/f8_5 reducers + ELU, concat, f9 merge + ELU) on three stage maps, the radius-5
 * pair affinities, the pair labels from the cell labels and the balanced loss, with the gradients of
 * the loss w.r.t. the stages and every weight, in float64 (<= 1e-10 relative) with the reference
 * kernels and in float32 through oneDNN (<= 1e-5); PSA's dense random walk (eight squarings of the
 * column-normalised matrix) against the sparse walk (<= 1e-5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/affinity.h"
#include "wsss/affinity_head.h"
#include "wsss/random_walk.h"
#include "wsss/runtime.h"

#define FIX "affinity.safetensors"

static void run(const wsss_safetensors *st, wsss_dtype dt) {
    const double tol = dt == WSSS_F64 ? 1e-10 : 1e-5;
    const char *path = dt == WSSS_F64 ? "ref f64" : "oneDNN f32";
    wsss_set_backend(dt == WSSS_F64 ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
    const int64_t in[3] = {5, 6, 7}, width[3] = {3, 4, 5};
    wsss_params ps;
    wsss_params_init(&ps);
    wsss_affnet_head h;
    wsss_affnet_head_init(&h, &ps, NULL, dt, in, width, WSSS_GROUP_NEW);
    for (int i = 0; i < wsss_params_count(&ps); i++) {
        wsss_tensor *p = wsss_params_at(&ps, i)->t, *v = fixture_take(st, p->name);
        CHECK(wsss_tensor_same_shape(p, v), "%s: another shape in the torch state_dict", p->name);
        if (wsss_tensor_same_shape(p, v)) wsss_tensor_copy_into(p, v);
        wsss_tensor_free(v);
    }
    wsss_tensor *stages[3];
    char name[160];
    for (int s = 0; s < 3; s++) {
        snprintf(name, sizeof name, "stage%d", s);
        wsss_tensor *v = fixture_take(st, name);
        stages[s] = wsss_tensor_to_dtype(v, dt);
        stages[s]->requires_grad = 1;
        wsss_tensor_free(v);
    }
    const int N = 2, H = 9, W = 13;
    const int64_t np = wsss_rw_num_pairs(H, W);
    /* pair labels from the fixture's cell labels, against its pair labels */
    wsss_tensor *cells = fixture_take(st, "cells"), *want_pl = fixture_take(st, "pair_labels");
    uint8_t *cell8 = malloc((size_t)N * H * W), *pl = malloc((size_t)(N * np));
    for (int64_t i = 0; i < (int64_t)N * H * W; i++) cell8[i] = (uint8_t)wsss_tensor_get(cells, i);
    int bad = 0;
    for (int n = 0; n < N; n++) wsss_aff_pair_labels(cell8 + n * H * W, H, W, pl + n * np);
    for (int64_t k = 0; k < N * np; k++) bad += pl[k] != (int)wsss_tensor_get(want_pl, k);
    CHECK(bad == 0, "%s: %d pair labels differ from the reference", path, bad);

    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *f = wsss_affnet_head_forward(ctx, &h, stages);
    int dy[WSSS_RW_OFFSETS], dx[WSSS_RW_OFFSETS];
    wsss_rw_offsets(dy, dx);
    wsss_tensor *aff = wsss_pair_affinity(ctx, f, WSSS_RW_OFFSETS, dy, dx, 0, H - 4, 4, W - 4);
    wsss_tensor *loss = wsss_aff_loss(ctx, aff, pl);
    CHECK(wsss_backward(ctx, loss) == WSSS_OK, "%s: backward: %s", path, wsss_error_msg());
    const char *outs[3] = {"f", "aff", "loss"};
    wsss_tensor *got[3] = {wsss_tensor_plain(f), aff, loss};
    for (int i = 0; i < 3; i++) {
        wsss_tensor *want = fixture_take(st, outs[i]);
        snprintf(name, sizeof name, "%s %s", path, outs[i]);
        printf("  %-18s max relative error %.2g\n", name, check_parity(name, got[i], want, tol));
        wsss_tensor_free(want);
    }
    wsss_tensor *leaves[7] = {stages[0], stages[1], stages[2], h.reduce[0].weight, h.reduce[1].weight,
                              h.reduce[2].weight, h.merge.weight};
    for (int i = 0; i < 7; i++) {
        char key[64];
        if (i < 3)
            snprintf(key, sizeof key, "grad.stage%d", i);
        else
            snprintf(key, sizeof key, "grad.%s", leaves[i]->name);
        wsss_tensor *want = fixture_take(st, key);
        snprintf(name, sizeof name, "%s d/d %s", path, key + 5);
        const double e = leaves[i]->grad ? check_parity(name, leaves[i]->grad, want, tol) : INFINITY;
        CHECK(leaves[i]->grad != NULL, "%s: no gradient", name);
        printf("  %-26s max relative error %.2g\n", name, e);
        wsss_tensor_free(want);
    }
    wsss_ctx_free(ctx);
    for (int s = 0; s < 3; s++) wsss_tensor_free(stages[s]);
    wsss_tensor_free(cells);
    wsss_tensor_free(want_pl);
    free(cell8);
    free(pl);
    wsss_params_free(&ps);
    wsss_set_backend(WSSS_BACKEND_DNNL);
}

int main(void) {
    wsss_runtime_init();
    wsss_safetensors *st = fixture_open(FIX);
    run(st, WSSS_F64);
    run(st, WSSS_F32);

    /* the walk: image 0's affinities (rounded to float32 in the fixture too) */
    {
        const int H = 9, W = 13, n = H * W;
        wsss_tensor *aff = fixture_take(st, "aff"), *v = fixture_take(st, "walk.v"), *want = fixture_take(st, "walk.out");
        const int64_t np = wsss_rw_num_pairs(H, W);
        float *a = malloc(sizeof(float) * (size_t)np), *vv = malloc(sizeof(float) * 3 * n);
        for (int64_t k = 0; k < np; k++) a[k] = (float)wsss_tensor_get(aff, k);
        for (int i = 0; i < 3 * n; i++) vv[i] = (float)wsss_tensor_get(v, i);
        CHECK(wsss_rw_walk(H, W, a, 8, 256, 3, vv) == WSSS_OK, "walk: %s", wsss_error_msg());
        wsss_tensor *got = wsss_tensor_new(WSSS_F32, 2, (const int64_t[]){3, n});
        memcpy(got->data, vv, sizeof(float) * 3 * n);
        printf("  walk vs PSA's dense    max relative error %.2g\n", check_parity("walk", got, want, 1e-5));
        wsss_tensor_free(got);
        wsss_tensor_free(aff);
        wsss_tensor_free(v);
        wsss_tensor_free(want);
        free(a);
        free(vv);
    }
    wsss_st_close(st);
    return test_summary("test_affinity_parity");
}
