/* wsss side of `make bench`: one workload per process (so the peak RSS is per workload), the same
 * shapes, batch sizes, warm-up and run counts as bench/torch_bench.py.
 *
 *   bench_models WORKLOAD [RUNS]
 *
 * Prints `result {json}`: median seconds per run, images/s, peak RSS; bench/compare.py turns
 * the two sides into the table and the ratio lines. Training steps: SGD (momentum 0.9, weight
 * decay) on binary_cross_entropy_with_logits against fixed 0/1 labels of 20 classes, one graph
 * context reset after every step (as a training loop does).
 *
 * train_aff_r50_b8_448: one AffinityNet training step as `wsss train-aff` takes it (PSA,
 * refinement.md §b.3/b.4): the ResNet-50 AffinityNet (output stride 8, head f8_3/f8_4/f8_5 + f9,
 * affinities of the 34 radius-5 offsets), batch 8 at 448 (56 x 56 cells, 8 x 34 x 2496 pairs),
 * PSA's balanced loss against pair labels made once from fixed cell labels (0, 1, 2, some 255;
 * aff_cell_label, the same formula as torch_bench.py's), backward, plain SGD (momentum 0, wd 5e-4,
 * lr 0.1, the four groups with the head at x10) with BN, conv1 and layer1 frozen. Prints the first
 * and last step's loss to stderr.
 *
 * train_eader_r50_r18_b8_224: one EADER localizer step as `wsss train-cls --method eader` takes it
 * (specs/eader.md §2-§5): a ResNet-50 localizer (output stride 32, GAP + linear to 20 classes) and
 * a ResNet-18 adversary, both with batch norm in training mode; batch 8 at 224 with 12 positive
 * (image, class) pairs (eader_labels, as torch_bench.py's); Grad-CAM, min-max, soft masks, 12
 * erased copies through the adversary, L_loc + 1e-5 L_reg + 0.05 L_am, backward into the
 * localizer through the adversary (whose parameters take no gradient: the trainer's inactive
 * part), SGD (momentum 0.9, weight decay 1e-4, lr 0.01) on the localizer. Prints the first and
 * last step's loss to stderr.
 *
 * Environment: WSSS_BENCH_PLAIN=1 runs with plain layouts (no wsss_ctx_set_blocked), to measure
 * what the blocked layouts bring; WSSS_BENCH_WINOGRAD=1 enables Winograd convolutions
 * (wsss_ctx_set_winograd) in the training workloads, which train-cls and train-seg leave off;
 * the inference workload has them on, as `wsss cam` and `wsss segment` do, unless
 * WSSS_BENCH_DIRECT=1; WSSS_BENCH_DEBUG=1 prints the context's bytes per step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "wsss/affinity.h"
#include "wsss/affinity_net.h"
#include "wsss/autograd.h"
#include "wsss/dnnl_info.h"
#include "wsss/eader.h"
#include "wsss/error.h"
#include "wsss/models.h"
#include "wsss/ops.h"
#include "wsss/optim.h"
#include "wsss/random_walk.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"
#include "wsss/train_common.h"

#define BENCH_NAME "bench_models"
#include "bench_util.h"

#define THREADS 2
#define NUM_CLASSES 20
#define MAX_RUNS 64

static double rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static wsss_tensor *randn(wsss_rng *r, int64_t n, int64_t c, int64_t h, int64_t w) {
    wsss_tensor *t = wsss_tensor_new4(WSSS_F32, n, c, h, w);
    float *d = wsss_f32(t);
    for (int64_t i = 0; i < wsss_tensor_numel(t); i++) d[i] = (float)wsss_rng_normal(r);
    return t;
}

/* One timed unit of work; state holds the workload's tensors. */
typedef struct workload {
    const char *name;
    int batch, warmup;
    double flops_per_run; /* 0 when the speed is images/s only */
    void *state;
    void (*run)(void *state);
    void (*done)(void *state);
} workload;

/* ---------------- peak: one large 3x3 convolution, forward ---------------- */

typedef struct peak_state {
    wsss_ctx *ctx;
    wsss_tensor *x, *w;
} peak_state;

static void peak_run(void *s_) {
    peak_state *s = s_;
    wsss_conv2d_params p = {.padding = {1, 1}};
    wsss_conv2d(s->ctx, s->x, s->w, NULL, p);
    wsss_ctx_reset(s->ctx);
}

static void peak_done(void *s_) {
    peak_state *s = s_;
    wsss_ctx_free(s->ctx);
    wsss_tensor_free(s->x);
    wsss_tensor_free(s->w);
    free(s);
}

static int setup_peak(workload *wl, wsss_rng *r) {
    peak_state *s = wsss_xcalloc(1, sizeof *s);
    s->ctx = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(s->ctx, 0);
    wsss_ctx_set_blocked(s->ctx, getenv("WSSS_BENCH_PLAIN") == NULL);
    s->x = randn(r, 8, 256, 56, 56);
    s->w = randn(r, 256, 256, 3, 3);
    wl->batch = 8;
    wl->warmup = 2;
    wl->flops_per_run = 2.0 * 8 * 256 * 56 * 56 * 256 * 9;
    wl->state = s;
    wl->run = peak_run;
    wl->done = peak_done;
    return 0;
}

/* ---------------- model workloads ---------------- */

typedef struct model_state {
    wsss_model m;
    wsss_optim *opt;
    wsss_ctx *ctx;
    wsss_tensor *x, *y; /* input batch; 0/1 labels (training) */
    int train;
} model_state;

/* One SGD step: forward, BCE-with-logits loss, backward, update (gradients dropped first, as
 * PyTorch's zero_grad(set_to_none=True)). */
static void train_run(void *s_) {
    model_state *s = s_;
    wsss_params_zero_grad(&s->m.params, 1);
    wsss_tensor *logits = wsss_model_forward(s->ctx, &s->m, s->x, 1, NULL, NULL);
    wsss_tensor *loss = wsss_bce_with_logits(s->ctx, logits, s->y);
    size_t fwd_bytes = wsss_ctx_bytes(s->ctx);
    if (wsss_backward(s->ctx, loss) != WSSS_OK) {
        fprintf(stderr, "bench_models: backward failed: %s\n", wsss_error_msg());
        exit(1);
    }
    wsss_optim_step(s->opt, 1e-3);
    if (getenv("WSSS_BENCH_DEBUG"))
        fprintf(stderr, "ctx bytes after forward %.1f MB, peak %.1f MB\n", fwd_bytes / 1e6,
                wsss_ctx_peak_bytes(s->ctx) / 1e6);
    wsss_ctx_reset(s->ctx);
}

/* Eval-mode forward to the last feature map, no graph. */
static void infer_run(void *s_) {
    model_state *s = s_;
    wsss_tensor *f = wsss_model_forward(s->ctx, &s->m, s->x, 0, NULL, NULL);
    wsss_tensor_plain(f); /* the caller reads plain values */
    wsss_ctx_reset(s->ctx);
}

static void model_done(void *s_) {
    model_state *s = s_;
    wsss_ctx_free(s->ctx);
    wsss_optim_free(s->opt);
    wsss_tensor_free(s->x);
    wsss_tensor_free(s->y);
    wsss_model_free(&s->m);
    free(s);
}

static int setup_model(workload *wl, wsss_rng *r, const char *arch, int num_classes, int batch,
                       int hw, int train, int warmup, double momentum, int nesterov, double wd) {
    model_state *s = wsss_xcalloc(1, sizeof *s);
    if (wsss_model_create(&s->m, arch, num_classes, WSSS_F32) != WSSS_OK) {
        fprintf(stderr, "bench_models: %s\n", wsss_error_msg());
        return 1;
    }
    wsss_model_reset_parameters(&s->m, r);
    s->ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(s->ctx, getenv("WSSS_BENCH_PLAIN") == NULL);
    wsss_ctx_set_winograd(s->ctx, train ? getenv("WSSS_BENCH_WINOGRAD") != NULL : !getenv("WSSS_BENCH_DIRECT"));
    s->x = randn(r, batch, 3, hw, hw);
    s->train = train;
    if (train) {
        int64_t ys[2] = {batch, num_classes};
        s->y = wsss_tensor_new(WSSS_F32, 2, ys);
        for (int64_t i = 0; i < batch * num_classes; i++) wsss_f32(s->y)[i] = wsss_rng_uniform(r) < 0.3;
        wsss_optim_config cfg = wsss_optim_sgd_config(momentum, 0, nesterov);
        wsss_optim_group g[4] = {{1, wd}, {1, wd}, {1, wd}, {1, wd}};
        s->opt = wsss_optim_new(&cfg, 4, g);
        wsss_optim_add_params(s->opt, &s->m.params);
    } else {
        wsss_ctx_set_grad_enabled(s->ctx, 0);
    }
    wl->batch = batch;
    wl->warmup = warmup;
    wl->state = s;
    wl->run = train ? train_run : infer_run;
    wl->done = model_done;
    return 0;
}

/* ---------------- train_aff_r50_b8_448: one AffinityNet training step ---------------- */

#define AFF_BATCH 8
#define AFF_SIDE 448

typedef struct aff_state {
    wsss_affnet a;
    wsss_optim *opt;
    wsss_ctx *ctx;
    wsss_tensor *x;
    uint8_t *pairs; /* the batch's pair labels in the affinities' order (image-major) */
    int steps;
    double first_loss, last_loss;
} aff_state;

/* Cell (y, x) of image i on an h x w grid: 255 (ignored) for about 1 in 10 cells, else 0, 1 or 2,
 * from an integer hash (torch_bench.py computes the same labels). */
static uint8_t aff_cell_label(int64_t i, int y, int x, int h, int w) {
    uint32_t u = (uint32_t)(((i * h + y) * w + x) * 2654435761u);
    u ^= u >> 16;
    const uint32_t r = u % 20;
    return r < 2 ? 255 : (uint8_t)(r % 3);
}

/* One step as train-aff's: gradients dropped, forward, loss, backward, SGD update. */
static void aff_run(void *s_) {
    aff_state *s = s_;
    wsss_params_zero_grad(&s->a.net.params, 1);
    wsss_tensor *aff = wsss_affnet_forward(s->ctx, &s->a, s->x, 1);
    wsss_tensor *loss = wsss_aff_loss(s->ctx, aff, s->pairs);
    s->last_loss = wsss_tensor_get(loss, 0);
    if (s->steps++ == 0) s->first_loss = s->last_loss;
    if (wsss_backward(s->ctx, loss) != WSSS_OK) die("backward");
    wsss_optim_step(s->opt, 0.1);
    if (getenv("WSSS_BENCH_DEBUG"))
        fprintf(stderr, "ctx peak %.1f MB\n", wsss_ctx_peak_bytes(s->ctx) / 1e6);
    wsss_ctx_reset(s->ctx);
}

static void aff_done(void *s_) {
    aff_state *s = s_;
    fprintf(stderr, "bench_models: train_aff_r50_b8_448 loss: first step %.6f, last step %.6f (%d steps)\n",
            s->first_loss, s->last_loss, s->steps);
    wsss_ctx_free(s->ctx);
    wsss_optim_free(s->opt);
    wsss_tensor_free(s->x);
    free(s->pairs);
    wsss_affnet_free(&s->a);
    free(s);
}

static int setup_aff(workload *wl, wsss_rng *r) {
    aff_state *s = wsss_xcalloc(1, sizeof *s);
    if (wsss_affnet_build(&s->a, "resnet50", WSSS_F32) != WSSS_OK) die("affinity net");
    wsss_affnet_reset_parameters(&s->a, r);
    wsss_affnet_freeze_early_layers(&s->a);
    s->ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(s->ctx, getenv("WSSS_BENCH_PLAIN") == NULL);
    wsss_ctx_set_winograd(s->ctx, getenv("WSSS_BENCH_WINOGRAD") != NULL); /* train-aff: direct */
    s->x = randn(r, AFF_BATCH, 3, AFF_SIDE, AFF_SIDE);
    const int h = AFF_SIDE / 8, w = AFF_SIDE / 8;
    const int64_t np = wsss_rw_num_pairs(h, w);
    uint8_t *cells = wsss_xmalloc((size_t)(h * w));
    s->pairs = wsss_xmalloc((size_t)(AFF_BATCH * np));
    for (int64_t i = 0; i < AFF_BATCH; i++) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) cells[y * w + x] = aff_cell_label(i, y, x, h, w);
        wsss_aff_pair_labels(cells, h, w, s->pairs + i * np);
    }
    free(cells);
    /* the pairs by kind and an order-sensitive checksum, to compare with torch_bench.py's */
    int64_t count[4] = {0}, checksum = 0;
    for (int64_t k = 0; k < AFF_BATCH * np; k++) {
        count[s->pairs[k]]++;
        checksum += (k % 997) * s->pairs[k];
    }
    fprintf(stderr,
            "bench_models: train_aff_r50_b8_448 pairs: %lld bg, %lld fg, %lld neg, %lld ignored, order checksum %lld\n",
            (long long)count[WSSS_AFF_BG], (long long)count[WSSS_AFF_FG], (long long)count[WSSS_AFF_NEG],
            (long long)count[WSSS_AFF_IGNORE], (long long)checksum);
    s->opt = wsss_train_optim_new(WSSS_OPTIM_SGD, 0.0, 5e-4, 10.0, &s->a.net.params);
    wl->batch = AFF_BATCH;
    wl->warmup = 1;
    wl->state = s;
    wl->run = aff_run;
    wl->done = aff_done;
    return 0;
}

/* ---------------- train_eader_r50_r18_b8_224: one EADER localizer step ---------------- */

#define EADER_BATCH 8
#define EADER_SIDE 224

typedef struct eader_state {
    wsss_model loc, adv;
    wsss_optim *opt;
    wsss_ctx *ctx;
    wsss_tensor *x, *y;
    int steps;
    double first_loss, last_loss;
} eader_state;

/* Image b's classes: b mod 20, and for even b also (b + 7) mod 20: 12 pairs in a batch of 8
 * (torch_bench.py's eader_labels). */
static wsss_tensor *eader_labels(void) {
    wsss_tensor *y = wsss_tensor_new(WSSS_F32, 2, (int64_t[]){EADER_BATCH, NUM_CLASSES});
    for (int b = 0; b < EADER_BATCH; b++) {
        wsss_f32(y)[b * NUM_CLASSES + b % NUM_CLASSES] = 1.0f;
        if (b % 2 == 0) wsss_f32(y)[b * NUM_CLASSES + (b + 7) % NUM_CLASSES] = 1.0f;
    }
    return y;
}

static wsss_tensor *eader_localize(void *net, wsss_ctx *ctx, wsss_tensor *x, wsss_tensor **features,
                                   wsss_tensor **weight) {
    wsss_model *m = net;
    *weight = m->resnet.fc.weight;
    return wsss_model_forward(ctx, m, x, 1, features, NULL);
}

static wsss_tensor *eader_classify(void *net, wsss_ctx *ctx, wsss_tensor *x) {
    return wsss_model_forward(ctx, net, x, 1, NULL, NULL);
}

static void eader_run(void *s_) {
    eader_state *s = s_;
    wsss_params_zero_grad(&s->loc.params, 1);
    const wsss_eader_nets nets = {eader_localize, &s->loc, eader_classify, &s->adv};
    const wsss_eader_opts o = wsss_eader_opts_default();
    wsss_tensor *loss = wsss_eader_loss(s->ctx, &nets, &o, s->x, s->y, 0, NULL);
    s->last_loss = wsss_tensor_get(loss, 0);
    if (s->steps++ == 0) s->first_loss = s->last_loss;
    if (wsss_backward(s->ctx, loss) != WSSS_OK) die("backward");
    wsss_optim_step(s->opt, 0.01);
    if (getenv("WSSS_BENCH_DEBUG")) fprintf(stderr, "ctx peak %.1f MB\n", wsss_ctx_peak_bytes(s->ctx) / 1e6);
    wsss_ctx_reset(s->ctx);
}

static void eader_done(void *s_) {
    eader_state *s = s_;
    fprintf(stderr, "bench_models: train_eader_r50_r18_b8_224 loss: first step %.6f, last step %.6f (%d steps)\n",
            s->first_loss, s->last_loss, s->steps);
    wsss_ctx_free(s->ctx);
    wsss_optim_free(s->opt);
    wsss_tensor_free(s->x);
    wsss_tensor_free(s->y);
    wsss_model_free(&s->loc);
    wsss_model_free(&s->adv);
    free(s);
}

static int setup_eader(workload *wl, wsss_rng *r) {
    eader_state *s = wsss_xcalloc(1, sizeof *s);
    if (wsss_model_create(&s->loc, "resnet50", NUM_CLASSES, WSSS_F32) != WSSS_OK ||
        wsss_model_create(&s->adv, "resnet18", NUM_CLASSES, WSSS_F32) != WSSS_OK)
        die("eader models");
    wsss_model_reset_parameters(&s->loc, r);
    wsss_model_reset_parameters(&s->adv, r);
    wsss_params_set_trainable(&s->adv.params, "", 0); /* the adversary is not trained in this step */
    s->ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(s->ctx, getenv("WSSS_BENCH_PLAIN") == NULL);
    wsss_ctx_set_winograd(s->ctx, getenv("WSSS_BENCH_WINOGRAD") != NULL); /* train-cls: direct */
    s->x = randn(r, EADER_BATCH, 3, EADER_SIDE, EADER_SIDE);
    s->y = eader_labels();
    const wsss_optim_config cfg = wsss_optim_sgd_config(0.9, 0, 0);
    const wsss_optim_group g[4] = {{1, 1e-4}, {1, 1e-4}, {1, 1e-4}, {1, 1e-4}};
    s->opt = wsss_optim_new(&cfg, 4, g);
    wsss_optim_add_params(s->opt, &s->loc.params);
    wl->batch = EADER_BATCH;
    wl->warmup = 1;
    wl->state = s;
    wl->run = eader_run;
    wl->done = eader_done;
    return 0;
}

/* ---------------- rw_500x375: PSA's random walk for one VOC-size image ----------------
 * 63 x 47 nodes (a 500 x 375 image at stride 8), 21 seed channels, beta 8, t 256, on affinities and
 * seeds from the same formulas torch_bench.py uses. With WSSS_BENCH_ONE_CORE=1 on one thread (the
 * absolute time per image the issue asks for). */

#define RW_H 47
#define RW_W 63
#define RW_C 21

typedef struct rw_state {
    float *aff, *v0, *v;
    int64_t n_pairs;
} rw_state;

static void rw_run(void *s_) {
    rw_state *s = s_;
    memcpy(s->v, s->v0, sizeof(float) * RW_C * RW_H * RW_W);
    if (wsss_rw_walk(RW_H, RW_W, s->aff, 8, 256, RW_C, s->v) != WSSS_OK) {
        fprintf(stderr, "bench_models: %s\n", wsss_error_msg());
        exit(1);
    }
}

static void rw_done(void *s_) {
    rw_state *s = s_;
    free(s->aff);
    free(s->v0);
    free(s->v);
    free(s);
}

static int setup_rw(workload *wl) {
    rw_state *s = calloc(1, sizeof *s);
    s->n_pairs = wsss_rw_num_pairs(RW_H, RW_W);
    s->aff = malloc(sizeof(float) * (size_t)s->n_pairs);
    s->v0 = malloc(sizeof(float) * RW_C * RW_H * RW_W);
    s->v = malloc(sizeof(float) * RW_C * RW_H * RW_W);
    for (int64_t k = 0; k < s->n_pairs; k++) s->aff[k] = (float)(0.5 + 0.45 * sin(0.37 * (double)k) * sin(0.37 * (double)k));
    for (int c = 0; c < RW_C; c++)
        for (int i = 0; i < RW_H * RW_W; i++) s->v0[c * RW_H * RW_W + i] = (float)(0.5 + 0.5 * cos(0.11 * i + c));
    wl->batch = 1;
    wl->warmup = 1;
    wl->state = s;
    wl->run = rw_run;
    wl->done = rw_done;
    return 0;
}

/* ---------------- main ---------------- */

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s WORKLOAD [RUNS]\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1 || runs > MAX_RUNS) runs = 5;
    wsss_set_threads(getenv("WSSS_BENCH_ONE_CORE") ? 1 : THREADS);
    double base_rss = rss_mb();
    wsss_rng rng;
    wsss_rng_seed(&rng, 0);
    workload wl = {.name = name};
    int rc;
    if (strcmp(name, "peak") == 0) rc = setup_peak(&wl, &rng);
    else if (strcmp(name, "train_resnet50_b8_224") == 0)
        rc = setup_model(&wl, &rng, "resnet50", NUM_CLASSES, 8, 224, 1, 2, 0.9, 0, 1e-4);
    else if (strcmp(name, "train_resnet18_b64_64") == 0) /* the demo's small-image steps */
        rc = setup_model(&wl, &rng, "resnet18", NUM_CLASSES, 64, 64, 1, 2, 0.9, 0, 1e-4);
    else if (strcmp(name, "train_vgg16d_b5_256") == 0)
        rc = setup_model(&wl, &rng, "vgg16-deeplab", NUM_CLASSES, 5, 256, 1, 1, 0.9, 1, 5e-4);
    else if (strcmp(name, "rw_500x375") == 0)
        rc = setup_rw(&wl);
    else if (strcmp(name, "train_aff_r50_b8_448") == 0)
        rc = setup_aff(&wl, &rng);
    else if (strcmp(name, "train_eader_r50_r18_b8_224") == 0)
        rc = setup_eader(&wl, &rng);
    else if (strcmp(name, "infer_resnet50os8_b1_448") == 0)
        rc = setup_model(&wl, &rng, "resnet50-os8", 0, 1, 448, 0, 2, 0, 0, 0);
    else {
        fprintf(stderr, "bench_models: unknown workload '%s'\n", name);
        return 2;
    }
    if (rc != 0) return 1;
    for (int i = 0; i < wl.warmup; i++) wl.run(wl.state);
    double ts[MAX_RUNS], sorted[MAX_RUNS];
    for (int i = 0; i < runs; i++) {
        double t0 = wsss_now_seconds();
        wl.run(wl.state);
        ts[i] = wsss_now_seconds() - t0;
    }
    memcpy(sorted, ts, sizeof(double) * (size_t)runs);
    qsort(sorted, (size_t)runs, sizeof(double), cmp_double);
    double med = runs % 2 ? sorted[runs / 2] : 0.5 * (sorted[runs / 2 - 1] + sorted[runs / 2]);
    double peak_rss = rss_mb();
    wl.done(wl.state);
    printf("result {\"side\": \"wsss\", \"workload\": \"%s\", \"batch\": %d, \"median_s\": %.6f, "
           "\"images_per_s\": %.4f, ",
           name, wl.batch, med, wl.batch / med);
    if (wl.flops_per_run > 0)
        printf("\"flops_per_run\": %.0f, \"gflops\": %.3f, ", wl.flops_per_run,
               wl.flops_per_run / med / 1e9);
    printf("\"times_s\": [");
    for (int i = 0; i < runs; i++) printf("%s%.6f", i ? ", " : "", ts[i]);
    printf("], \"peak_rss_mb\": %.1f, \"base_rss_mb\": %.1f, ", peak_rss, base_rss);
    if (getenv("WSSS_BENCH_WINOGRAD")) printf("\"variant\": \"winograd\", ");
    if (getenv("WSSS_BENCH_DIRECT")) printf("\"variant\": \"direct convolutions\", ");
    if (getenv("WSSS_BENCH_ONE_CORE")) printf("\"variant\": \"one core\", ");
    printf("\"version\": \"wsss %s (oneDNN %s, %d threads)\"}\n", WSSS_VERSION,
           wsss_dnnl_version_string(), wsss_get_threads());
    return 0;
}
