/* Data-parallel training speed (`make bench`, issue 16): ResNet-50 training steps on a global batch
 * of 8 images of 224 x 224, one rank taking all 8 or N ranks 8/N each, gradients summed by the
 * trainer's own bucketed allreduce (src/wsss/trainer_dist.c) before the SGD step.
 *
 *   bench_dp [RUNS]                 one process
 *   mpirun -np 2 bench_dp [RUNS]    two ranks
 *
 * Threads per rank: WSSS_THREADS / OMP_NUM_THREADS, else cores / ranks on the node. Inputs are
 * random tensors (no loader: the decode cost is the loader benchmark's), BCE-with-logits against
 * fixed 0/1 labels of 20 classes, SGD momentum 0.9. Two warm-up steps, then RUNS timed steps
 * (each timed from a barrier to the end of its optimizer step on rank 0). Rank 0 prints
 *   images_per_s dp_resnet50_b8_224_<N>rank <global images / median step seconds>
 *   allreduce_s_per_step dp_resnet50_b8_224_<N>rank <seconds in the gradient allreduce per step>
 *   allreduce_bytes_per_step dp_resnet50_b8_224_<N>rank <bytes each rank reduces per step>
 *   allreduce_alone_s dp_resnet50_b8_224_<N>rank <median seconds of the exchange alone, from a barrier>
 * (allreduce_s_per_step includes waiting for the slower rank; allreduce_alone_s does not).
 * bench/run.sh runs both and prints the ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/autograd.h"
#include "wsss/dist.h"
#include "wsss/models.h"
#include "wsss/ops.h"
#include "wsss/optim.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"
#include "wsss/trainer_dist.h"

#define BENCH_NAME "bench_dp"
#include "bench_util.h"

#define GLOBAL_BATCH 8
#define SIDE 224
#define CLASSES 20
#define MAX_RUNS 64

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    wsss_runtime_init();
    if (wsss_dist_init(&argc, &argv) != WSSS_OK) die("dist init");
    const int runs = argc > 1 && atoi(argv[1]) > 0 && atoi(argv[1]) <= MAX_RUNS ? atoi(argv[1]) : 5;
    const int rank = wsss_dist_rank(), size = wsss_dist_size();
    if (GLOBAL_BATCH % size) {
        fprintf(stderr, "bench_dp: %d ranks do not divide the batch of %d\n", size, GLOBAL_BATCH);
        wsss_dist_abort(2);
    }
    const int local = GLOBAL_BATCH / size;

    wsss_model m;
    if (wsss_model_create(&m, "resnet50", CLASSES, WSSS_F32) != WSSS_OK) die("model");
    wsss_rng r;
    wsss_rng_seed(&r, 0);
    wsss_model_reset_parameters(&m, &r); /* the same start on every rank */
    wsss_rng_seed3(&r, 1, (uint64_t)rank, 0); /* each rank its own images */
    wsss_tensor *x = wsss_tensor_new4(WSSS_F32, local, 3, SIDE, SIDE);
    for (int64_t i = 0; i < wsss_tensor_numel(x); i++) wsss_f32(x)[i] = (float)wsss_rng_normal(&r);
    wsss_tensor *y = wsss_tensor_new(WSSS_F32, 2, (int64_t[]){local, CLASSES});
    for (int64_t i = 0; i < local * CLASSES; i++) wsss_f32(y)[i] = wsss_rng_uniform(&r) < 0.3;
    wsss_optim_config cfg = wsss_optim_sgd_config(0.9, 0, 0);
    wsss_optim_group g[4] = {{1, 1e-4}, {1, 1e-4}, {1, 1e-4}, {1, 1e-4}};
    wsss_optim *opt = wsss_optim_new(&cfg, 4, g);
    wsss_optim_add_params(opt, &m.params);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, 1);

    /* the trainer's view of this one-part run (what wsss_trainer_dist_grads reads) */
    wsss_trainer t;
    memset(&t, 0, sizeof t);
    t.n_parts = 1;
    t.active = 1;
    t.parts[0].params = &m.params;
    wsss_batch b;
    memset(&b, 0, sizeof b);
    b.n = local;
    b.n_global = GLOBAL_BATCH;

    double ts[MAX_RUNS], ar_s = 0;
    int64_t ar_bytes = 0;
    for (int i = -2; i < runs; i++) {
        wsss_dist_barrier();
        wsss_dist_stats s0, s1;
        wsss_dist_get_stats(&s0);
        double t0 = wsss_now_seconds();
        wsss_params_zero_grad(&m.params, 0);
        wsss_tensor *loss = wsss_bce_with_logits(ctx, wsss_model_forward(ctx, &m, x, 1, NULL, NULL), y);
        if (wsss_backward(ctx, loss) != WSSS_OK) die("backward");
        wsss_trainer_dist_grads(&t, &b);
        wsss_optim_step(opt, 1e-3);
        wsss_ctx_reset(ctx);
        double dt = wsss_now_seconds() - t0;
        wsss_dist_get_stats(&s1);
        if (i < 0) continue;
        ts[i] = dt;
        ar_s += s1.allreduce_seconds - s0.allreduce_seconds;
        ar_bytes = s1.allreduce_bytes - s0.allreduce_bytes;
    }
    qsort(ts, (size_t)runs, sizeof(double), cmp_double);
    const double med = runs % 2 ? ts[runs / 2] : 0.5 * (ts[runs / 2 - 1] + ts[runs / 2]);
    /* the gradient exchange alone, every rank starting together (no wait for a slower rank) */
    double ar[MAX_RUNS];
    for (int i = 0; i < runs; i++) {
        wsss_dist_barrier();
        double t0 = wsss_now_seconds();
        wsss_trainer_dist_grads(&t, &b);
        ar[i] = wsss_now_seconds() - t0;
    }
    qsort(ar, (size_t)runs, sizeof(double), cmp_double);
    if (rank == 0) {
        printf("# dp_resnet50_b8_224: %d rank(s) x %d thread(s), %d images per rank, median of %d steps %.3f s\n",
               size, wsss_get_threads(), local, runs, med);
        printf("images_per_s dp_resnet50_b8_224_%drank %.3f\n", size, GLOBAL_BATCH / med);
        printf("allreduce_s_per_step dp_resnet50_b8_224_%drank %.4f\n", size, ar_s / runs);
        printf("allreduce_bytes_per_step dp_resnet50_b8_224_%drank %lld\n", size, (long long)ar_bytes);
        printf("allreduce_alone_s dp_resnet50_b8_224_%drank %.4f\n", size, ar[runs / 2]);
        fflush(stdout);
    }
    wsss_ctx_free(ctx);
    wsss_optim_free(opt);
    wsss_tensor_free(x);
    wsss_tensor_free(y);
    wsss_model_free(&m);
    wsss_dist_finalize();
    return 0;
}
