/* `wsss train-aff`: PSA's AffinityNet training stage (train_aff.h). */
#include "wsss/train_aff.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/affinity.h"
#include "wsss/affinity_net.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/loader.h"
#include "wsss/random_walk.h"
#include "wsss/run_layout.h"
#include "wsss/train_common.h"
#include "wsss/trainer.h"

const wsss_choice wsss_train_aff_arch_choices[] = {
    {"resnet18", 18}, {"resnet34", 34}, {"resnet50", 50}, {"resnet101", 101}, {"resnet152", 152}, {NULL, 0}};

void wsss_train_aff_config_default(wsss_train_aff_config *c) {
    /* refinement.md §b.4 on the ResNet-50 substitute */
    memset(c, 0, sizeof *c);
    c->split = "train";
    c->run = "run";
    c->arch = 50;
    c->epochs = 8;
    c->batch = 8;
    c->crop = 448;
    c->scale_min = 0.7;
    c->scale_max = 1.3;
    c->hflip = 0.5;
    c->lr = 0.1;
    c->momentum = 0.0; /* PSA's optimiser quirk: plain SGD */
    c->weight_decay = 5e-4;
    c->head_lr_mult = 10.0;
    c->lr_power = 0.9;
    c->log_every = 1;
    c->progress = 1;
}

/* ---- config <-> JSON (one table for both directions; config_table.h) ---- */

#define FS(n) WSSS_CFG_S(wsss_train_aff_config, n)
#define FI(n) WSSS_CFG_I(wsss_train_aff_config, n)
#define FD(n) WSSS_CFG_D(wsss_train_aff_config, n)
#define FE(n, choices) WSSS_CFG_E(wsss_train_aff_config, n, choices)
static const wsss_cfg_field k_fields[] = {
    FS(data), FS(coco_annotations), FS(coco_images), FS(coco_masks),      FS(split),     FS(labels),     FS(run),       FS(ckpt),     FS(out),
    FS(log),       FS(stage),     FE(arch, wsss_train_aff_arch_choices),        FS(backbone_weights),
    FI(epochs),    FI(batch),     FI(crop),       FD(scale_min), FD(scale_max), FD(hflip),
    FD(lr),        FD(momentum),  FD(weight_decay), FD(head_lr_mult), FD(lr_power),
    FI(seed),      FI(workers),   FI(log_every),  FI(skip_bad), FI(sync_bn),
};
static void set_default(void *c) { wsss_train_aff_config_default(c); }

const wsss_cfg_table wsss_train_aff_config_table = {
    "config", "train-aff", k_fields, (int)(sizeof k_fields / sizeof k_fields[0]),
    sizeof(wsss_train_aff_config), set_default};

int wsss_train_aff_config_check(const wsss_train_aff_config *c) {
    if (!c->data && !c->coco_annotations) return wsss_error_set("no dataset given (--data DIR or --coco-annotations FILE)");
    if (wsss_train_check_common(c->epochs, c->batch, c->lr, c->weight_decay, c->momentum, c->hflip) != WSSS_OK)
        return WSSS_ERR;
    if (c->crop < WSSS_TRAIN_AFF_MIN_CROP)
        return wsss_error_set("--crop %d: too small (expected >= %d: the radius-5 pairs need a grid of at least 5 x 9 "
                              "cells of 8 x 8 pixels)",
                              c->crop, WSSS_TRAIN_AFF_MIN_CROP);
    if (c->crop % 8)
        return wsss_error_set("--crop %d: not a multiple of 8 (the affinity labels are 8 x 8 pixel blocks, one per "
                              "cell of the net's stride-8 grid)",
                              c->crop);
    if (!(c->head_lr_mult >= 0)) return wsss_train_setting_error("head-lr-mult", c->head_lr_mult, ">= 0");
    if (wsss_train_check_scales(c->scale_min, c->scale_max) != WSSS_OK) return WSSS_ERR;
    if (!(c->lr_power > 0)) return wsss_train_setting_error("lr-power", c->lr_power, "> 0");
    /* the typed setting was parsed at the command line or from a stored config */
    WSSS_ASSERT(wsss_choice_has(wsss_train_aff_arch_choices, c->arch), "train-aff: backbone");
    return WSSS_OK;
}

char *wsss_train_aff_ckpt_dir(const wsss_train_aff_config *c) {
    return c->ckpt ? wsss_xstrdup(c->ckpt) : wsss_run_path(c->run, WSSS_RUN_AFF_CKPT);
}

/* ---- training ---- */

typedef struct aff_step {
    wsss_affnet *net;
    wsss_ctx *ctx;
} aff_step;

/* The pairs of the batch by kind (WSSS_AFF_*): their count and the mean affinity the net gives them,
 * as the step's aux stats (learning shows as positive pairs' affinities rising, negative ones' falling). */
static void pair_stats(const float *aff, const uint8_t *pairs, int64_t n, wsss_trainer_stats *stats) {
    static const char *const count_name[3] = {"bg_pairs", "fg_pairs", "neg_pairs"};
    static const char *const mean_name[3] = {"aff_bg", "aff_fg", "aff_neg"};
    double sum[4] = {0}, count[4] = {0};
    for (int64_t k = 0; k < n; k++) {
        sum[pairs[k]] += aff[k];
        count[pairs[k]]++;
    }
    stats->n_aux = 6;
    for (int i = 0; i < 3; i++) {
        const int kind = WSSS_AFF_BG + i;
        stats->aux_name[i] = count_name[i];
        stats->aux[i] = count[kind];
        stats->aux_name[3 + i] = mean_name[i];
        stats->aux[3 + i] = count[kind] > 0 ? sum[kind] / count[kind] : NAN;
    }
}

static int aff_step_fn(void *user, wsss_trainer *t, const wsss_batch *b, double lr, wsss_trainer_stats *stats) {
    (void)t;
    (void)lr;
    aff_step *s = user;
    wsss_ctx_reset(s->ctx);
    const int64_t n = b->images->shape[0];
    const int H = (int)b->images->shape[2], W = (int)b->images->shape[3], h = H / 8, w = W / 8;
    const int64_t np = wsss_rw_num_pairs(h, w);
    wsss_tensor *aff = wsss_affnet_forward(s->ctx, s->net, b->images, 1);
    WSSS_ASSERT(wsss_tensor_numel(aff) == n * np, "train-aff: one affinity per pair of the crop's cell grid");
    /* pair labels in the affinities' order: image-major, then wsss_rw_pairs order */
    uint8_t *cells = wsss_xmalloc((size_t)h * (size_t)w), *pairs = wsss_xmalloc((size_t)(n * np));
    const uint8_t *masks = (const uint8_t *)b->masks->data;
    for (int64_t i = 0; i < n; i++) {
        wsss_aff_cell_labels_from_map(masks + i * H * W, H, W, 8, cells);
        wsss_aff_pair_labels(cells, h, w, pairs + i * np);
    }
    wsss_tensor *loss = wsss_aff_loss(s->ctx, aff, pairs);
    stats->loss = wsss_tensor_get(loss, 0);
    pair_stats(wsss_f32(wsss_ctx_contiguous(s->ctx, aff)), pairs, n * np, stats);
    free(cells);
    free(pairs);
    int rc = wsss_backward(s->ctx, loss);
    wsss_ctx_reset(s->ctx);
    return rc;
}

static int save_affnet(const void *net, const char *path) {
    return wsss_affnet_save(net, WSSS_TRAIN_AFF_LABELS, path);
}

/* The net's start: seeded init (the backbone as the other stages, the head from its own stream),
 * then the backbone weights unless resumed (the checkpoint loads everything). */
static int start_net(wsss_affnet *a, const wsss_train_aff_config *c, const char *resume_dir) {
    const uint64_t stream = 0x4146464eULL; /* "AFFN" */
    if (wsss_train_model_start(&a->net, c->seed, stream, c->backbone_weights, resume_dir) != WSSS_OK) return WSSS_ERR;
    wsss_rng head_rng;
    wsss_rng_seed3(&head_rng, (uint64_t)c->seed, stream, 1);
    wsss_affnet_head_reset_parameters(&a->head, &head_rng);
    wsss_affnet_freeze_early_layers(a);
    return WSSS_OK;
}

int wsss_train_aff_run(const wsss_train_aff_config *c, const char *resume_dir) {
    if (wsss_train_aff_config_check(c) != WSSS_OK) return WSSS_ERR;
    const char *stage = c->stage ? c->stage : "train-aff";
    char *ckpt = wsss_train_aff_ckpt_dir(c);
    char *out = c->out ? wsss_xstrdup(c->out) : wsss_run_path(c->run, WSSS_RUN_AFF_MODEL);
    char *logp = c->log ? wsss_xstrdup(c->log) : wsss_run_log_path(c->run, stage);
    char *label_dir = NULL, *cfg_json = NULL;
    wsss_dataset *ds = NULL;
    wsss_loader *loader = NULL;
    wsss_optim *opt = NULL;
    wsss_affnet net;
    memset(&net, 0, sizeof net);
    int rc = WSSS_ERR;

    if (!(label_dir = wsss_train_mask_dir(c->labels, c->run, "labels", " --bg psa"))) goto done;
    wsss_dataset_opts dopt;
    wsss_dataset_opts_default(&dopt);
    dopt.split = c->split;
    dopt.mask_dir = label_dir;
    dopt.masks = WSSS_MASKS_REQUIRED;
    dopt.skip_bad = c->skip_bad;
    dopt.coco_annotations = c->coco_annotations;
    dopt.coco_images = c->coco_images;
    dopt.coco_masks = c->coco_masks;
    if (wsss_dataset_open(c->data, &dopt, &ds) != WSSS_OK) goto done;
    if (wsss_affnet_build(&net, wsss_choice_name(wsss_train_aff_arch_choices, c->arch), WSSS_F32) != WSSS_OK ||
        start_net(&net, c, resume_dir) != WSSS_OK)
        goto done;

    wsss_loader_opts lo;
    wsss_train_loader_opts(&lo, ds->n, c->batch, c->seed, c->workers, c->skip_bad);
    lo.load_masks = 1;
    lo.mask_dtype = WSSS_U8;
    lo.aug.scale_min = c->scale_min;
    lo.aug.scale_max = c->scale_max;
    lo.aug.crop_h = lo.aug.crop_w = c->crop;
    for (int k = 0; k < 3; k++) lo.aug.pad_value[k] = 0.0f; /* PSA pads with black before normalising */
    lo.aug.hflip_p = c->hflip;
    lo.aug.jitter = (wsss_jitter){.brightness = 0.3, .contrast = 0.3, .saturation = 0.3, .hue = 0.1};
    if (wsss_loader_new(ds, &lo, &loader) != WSSS_OK) goto done;

    opt = wsss_train_optim_new(WSSS_OPTIM_SGD, c->momentum, c->weight_decay, c->head_lr_mult, &net.net.params);
    const int64_t spe = wsss_loader_batches_per_epoch(loader);
    wsss_lr_schedule sched = wsss_lr_poly(c->lr, c->lr_power, (int64_t)c->epochs * spe);

    cfg_json = wsss_cfg_to_json(&wsss_train_aff_config_table, c);
    const int cells = c->crop / 8;
    char announce[8192]; /* the label folder is a full path */
    snprintf(announce, sizeof announce,
             "%s: AffinityNet on %s (output stride 8; frozen: BN, conv1, layer1), %lld images, labels %s (%s), %d "
             "epochs x %lld steps (batch %d, crop %d: %dx%d cells, %lld pairs each), momentum %g%s",
             stage, net.backbone, (long long)ds->n, label_dir, WSSS_TRAIN_AFF_LABELS, c->epochs, (long long)spe,
             c->batch, c->crop, cells, cells, (long long)wsss_rw_num_pairs(cells, cells), c->momentum,
             c->momentum > 0 ? " (a deviation: PSA's optimiser runs plain SGD)" : "");
    aff_step st = {&net, NULL};
    const wsss_train_loop loop = {
        .stage = stage, .ckpt_dir = ckpt, .resume_dir = resume_dir, .log_path = logp, .config_json = cfg_json,
        .epochs = c->epochs, .log_every = c->log_every, .progress = c->progress, .seed = c->seed, .sync_bn = c->sync_bn,
        .stop_after = c->stop_after, .announce = announce, .note = "labels: " WSSS_TRAIN_AFF_LABELS,
        .params = &net.net.params, .opt = opt, .sched = &sched, .loader = loader, .step = aff_step_fn,
        .step_user = &st, .step_ctx = &st.ctx, .out = out, .save = save_affnet, .model = &net};
    rc = wsss_train_loop_run(&loop);
done:
    wsss_loader_free(loader);
    if (opt) wsss_optim_free(opt);
    wsss_affnet_free(&net);
    wsss_dataset_free(ds);
    free(cfg_json);
    free(label_dir);
    free(ckpt);
    free(out);
    free(logp);
    return rc;
}
