/* Synchronised batch norm (wsss_ctx_set_sync_bn) under `mpirun -np 2`: each rank normalises its
 * half of a batch of 4 with the statistics of the whole batch, and its backward gives the gradient
 * of the whole batch's loss: against one batch norm over all 4 images computed on every rank (the
 * ordinary training-mode op), the output and the input gradient of the rank's rows, the weight and
 * bias gradients summed over ranks, and the running statistics, in a plain and in a blocked-layout
 * context, with and without the fused ReLU. The loss is sum(y * r) for a fixed random r, so the
 * whole batch's gradient is the ranks' gradients without any averaging. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "wsss/dist.h"
#include "wsss/ops.h"
#include "wsss/rng.h"

#define N 4
#define C 5
#define H 6
#define W 7

static wsss_tensor *randn(wsss_rng *r, int ndim, const int64_t *shape, double scale, double shift) {
    wsss_tensor *t = wsss_tensor_new(WSSS_F32, ndim, shape);
    for (int64_t i = 0; i < wsss_tensor_numel(t); i++) wsss_f32(t)[i] = (float)(shift + scale * wsss_rng_normal(r));
    return t;
}

/* rows [from, from + n) of an N,C,H,W tensor as a new tensor */
static wsss_tensor *rows(const wsss_tensor *t, int64_t from, int64_t n) {
    wsss_tensor *o = wsss_tensor_new(WSSS_F32, 4, (int64_t[]){n, C, H, W});
    memcpy(wsss_f32(o), wsss_f32(t) + from * C * H * W, (size_t)(n * C * H * W) * sizeof(float));
    return o;
}

typedef struct result {
    wsss_tensor *y, *dx, *dw, *db, *rm, *rv;
} result;

/* batch norm (+ ReLU) of x in training mode, loss sum(y * r), backward */
static void run(const wsss_tensor *x0, const wsss_tensor *r0, const wsss_tensor *w0, const wsss_tensor *b0, int sync,
                int blocked, int relu, result *out) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, blocked);
    wsss_ctx_set_sync_bn(ctx, sync);
    wsss_tensor *x = wsss_tensor_clone(x0), *w = wsss_tensor_clone(w0), *b = wsss_tensor_clone(b0);
    x->requires_grad = w->requires_grad = b->requires_grad = 1;
    out->rm = wsss_tensor_new(WSSS_F32, 1, (int64_t[]){C});
    out->rv = wsss_tensor_new(WSSS_F32, 1, (int64_t[]){C});
    wsss_tensor_fill(out->rv, 1.0);
    wsss_tensor *y = relu ? wsss_batchnorm2d_relu(ctx, x, w, b, out->rm, out->rv, WSSS_BN_TRAIN, 0.1, 1e-5)
                          : wsss_batchnorm2d(ctx, x, w, b, out->rm, out->rv, WSSS_BN_TRAIN, 0.1, 1e-5);
    wsss_tensor *loss = wsss_sum_all(ctx, wsss_mul(ctx, y, (wsss_tensor *)r0));
    CHECK(wsss_backward(ctx, loss) == WSSS_OK, "%s", wsss_error_msg());
    out->y = wsss_tensor_clone(y);
    out->dx = wsss_tensor_clone(x->grad);
    out->dw = wsss_tensor_clone(w->grad);
    out->db = wsss_tensor_clone(b->grad);
    wsss_tensor_free(x);
    wsss_tensor_free(w);
    wsss_tensor_free(b);
    wsss_ctx_free(ctx);
}

static void result_free(result *r) {
    wsss_tensor *ts[6] = {r->y, r->dx, r->dw, r->db, r->rm, r->rv};
    for (int i = 0; i < 6; i++) wsss_tensor_free(ts[i]);
}

int main(int argc, char **argv) {
    CHECK(wsss_dist_init(&argc, &argv) == WSSS_OK, "%s", wsss_error_msg());
    const int rank = wsss_dist_rank(), size = wsss_dist_size();
    CHECK(size == 2, "run under mpirun -np 2 (got %d ranks)", size);
    if (size != 2) return test_summary("test_sync_bn");
    wsss_rng rng;
    wsss_rng_seed(&rng, 7);
    wsss_tensor *x = randn(&rng, 4, (int64_t[]){N, C, H, W}, 2.0, 0.5), *r = randn(&rng, 4, (int64_t[]){N, C, H, W}, 1, 0);
    wsss_tensor *w = randn(&rng, 1, (int64_t[]){C}, 0.5, 1.0), *b = randn(&rng, 1, (int64_t[]){C}, 0.5, 0);
    /* rank 1's half is shifted, so that its own statistics differ from the global ones */
    for (int64_t i = N / 2 * C * H * W; i < N * C * H * W; i++) wsss_f32(x)[i] += 1.5f;
    wsss_tensor *xl = rows(x, rank * N / 2, N / 2), *rl = rows(r, rank * N / 2, N / 2);
    for (int blocked = 0; blocked <= 1; blocked++)
        for (int relu = 0; relu <= 1; relu++) {
            char what[64];
            snprintf(what, sizeof what, "rank %d, %s%s", rank, blocked ? "blocked" : "plain", relu ? ", relu" : "");
            result ref, got, unsynced;
            run(x, r, w, b, 0, blocked, relu, &ref);
            run(xl, rl, w, b, 1, blocked, relu, &got);
            run(xl, rl, w, b, 0, blocked, relu, &unsynced);
            wsss_tensor *ref_y = rows(ref.y, rank * N / 2, N / 2), *ref_dx = rows(ref.dx, rank * N / 2, N / 2);
            fprintf(stderr, "%s:\n", what);
            check_close("y", got.y, ref_y, 1e-5, 1e-5);
            check_close("dx", got.dx, ref_dx, 1e-5, 1e-5);
            wsss_dist_allreduce_sum_f32(wsss_f32(got.dw), C);
            wsss_dist_allreduce_sum_f32(wsss_f32(got.db), C);
            check_close("dweight (sum over ranks)", got.dw, ref.dw, 1e-4, 1e-5);
            check_close("dbias (sum over ranks)", got.db, ref.db, 1e-4, 1e-5);
            check_close("running mean", got.rm, ref.rm, 1e-6, 1e-5);
            check_close("running var", got.rv, ref.rv, 1e-6, 1e-5);
            /* the test can tell: a rank's own statistics give another output */
            CHECK(max_rel_error(unsynced.y, ref_y) > 1e-2, "%s: unsynchronised batch norm agrees too", what);
            wsss_tensor_free(ref_y);
            wsss_tensor_free(ref_dx);
            result_free(&ref);
            result_free(&got);
            result_free(&unsynced);
        }
    wsss_tensor_free(x);
    wsss_tensor_free(r);
    wsss_tensor_free(w);
    wsss_tensor_free(b);
    wsss_tensor_free(xl);
    wsss_tensor_free(rl);
    int rc = test_summary(rank ? "test_sync_bn (rank 1)" : "test_sync_bn (rank 0)");
    wsss_dist_finalize();
    return rc;
}
