/* `wsss train-seg`: the segmentation training stage (train_seg.h). */
#include "wsss/train_seg.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/config_table.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/loader.h"
#include "wsss/ops.h"
#include "wsss/optim.h"
#include "wsss/run_layout.h"
#include "wsss/segmenter.h"
#include "wsss/train_common.h"
#include "wsss/trainer.h"

const wsss_choice wsss_seg_bn_choices[] = {
    {"auto", WSSS_SEG_BN_AUTO}, {"train", WSSS_SEG_BN_TRAIN}, {"frozen", WSSS_SEG_BN_FROZEN}, {NULL, 0}};

void wsss_train_seg_config_default(wsss_train_seg_config *c) {
    /* refinement.md §c (DeepLab-LargeFOV fine-tuning recipe) on a ResNet-18 backbone */
    memset(c, 0, sizeof *c);
    c->split = "train";
    c->run = "run";
    c->arch = "resnet18-os8-largefov";
    c->hidden = 0;        /* the head's default: LargeFOV 1024, DeepLab v3+ 256 */
    c->head_dilation = 0; /* LargeFOV 12, DeepLab v3+ 6 at output stride 16 */
    c->bn = WSSS_SEG_BN_AUTO;
    c->epochs = 10;
    c->batch = 10;
    c->crop = 321;
    c->scale_min = 0.7;
    c->scale_max = 1.3;
    c->hflip = 0.5;
    c->optim = WSSS_OPTIM_SGD;
    c->lr = 1e-3;
    c->momentum = 0.9;
    c->weight_decay = 5e-4;
    c->head_lr_mult = 10.0;
    c->lr_power = 0.9;
    c->log_every = 1;
    c->progress = 1;
}

/* ---- config <-> JSON (one table for both directions; config_table.h) ---- */

#define FS(n) WSSS_CFG_S(wsss_train_seg_config, n)
#define FI(n) WSSS_CFG_I(wsss_train_seg_config, n)
#define FD(n) WSSS_CFG_D(wsss_train_seg_config, n)
#define FE(n, choices) WSSS_CFG_E(wsss_train_seg_config, n, choices)
static const wsss_cfg_field k_fields[] = {
    FS(data), FS(coco_annotations), FS(coco_images), FS(coco_masks),   FS(split),       FS(masks),     FI(gt),         FS(run),      FS(ckpt),
    FS(out),    FS(log),         FS(stage),     FS(arch),       FI(hidden),   FI(head_dilation),
    FS(backbone_weights),        FE(bn, wsss_seg_bn_choices),   FI(epochs),     FI(batch),    FI(crop),
    FD(scale_min), FD(scale_max), FD(hflip),    FE(optim, wsss_train_optim_choices), FD(lr), FD(momentum),
    FD(weight_decay),
    FD(head_lr_mult), FD(lr_power), FI(seed),   FI(workers),    FI(log_every), FI(skip_bad), FI(sync_bn),
};
static void set_default(void *c) { wsss_train_seg_config_default(c); }

const wsss_cfg_table wsss_train_seg_config_table = {
    "config", "train-seg", k_fields, (int)(sizeof k_fields / sizeof k_fields[0]),
    sizeof(wsss_train_seg_config), set_default};

/* ---- training ---- */

typedef struct seg_step {
    wsss_segmenter *seg;
    wsss_ctx *ctx;
    int num_classes;
} seg_step;

static int seg_step_fn(void *user, wsss_trainer *t, const wsss_batch *b, double lr, wsss_trainer_stats *stats) {
    (void)lr;
    seg_step *s = user;
    s->seg->m.rng = &t->rng; /* dropout draws are checkpointed with the trainer */
    wsss_ctx_reset(s->ctx);
    const int64_t H = b->images->shape[2], W = b->images->shape[3];
    wsss_tensor *logits = wsss_segmenter_forward(s->ctx, s->seg, b->images, 1);
    if (logits->shape[2] != H || logits->shape[3] != W) logits = wsss_resize_bilinear(s->ctx, logits, H, W, 0);
    wsss_tensor *loss = wsss_cross_entropy2d(s->ctx, logits, b->masks, WSSS_IGNORE_INDEX);
    stats->loss = wsss_tensor_get(loss, 0);
    /* training pixel accuracy over labelled pixels */
    const wsss_tensor *lc = wsss_ctx_contiguous(s->ctx, logits);
    const float *lg = wsss_f32(lc);
    const uint8_t *y = (const uint8_t *)b->masks->data;
    const int64_t n = b->images->shape[0], hw = H * W, C = logits->shape[1];
    int64_t right = 0, valid = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = 0; p < hw; p++) {
            const uint8_t g = y[i * hw + p];
            if (g == WSSS_IGNORE_INDEX) continue;
            const float *v = lg + i * C * hw + p;
            int best = 0;
            for (int64_t c = 1; c < C; c++)
                if (v[c * hw] > v[best * hw]) best = (int)c;
            right += best == g;
            valid++;
        }
    stats->n_aux = 2;
    stats->aux_name[0] = "pixel_acc";
    stats->aux[0] = valid ? (double)right / (double)valid : NAN;
    stats->aux_name[1] = "labelled_frac";
    stats->aux[1] = (double)valid / (double)(n * hw);
    int rc = wsss_backward(s->ctx, loss);
    wsss_ctx_reset(s->ctx);
    return rc;
}

int wsss_train_seg_config_check(const wsss_train_seg_config *c) {
    if (!c->data && !c->coco_annotations) return wsss_error_set("no dataset given (--data DIR or --coco-annotations FILE)");
    if (wsss_train_check_common(c->epochs, c->batch, c->lr, c->weight_decay, c->momentum, c->hflip) != WSSS_OK)
        return WSSS_ERR;
    if (c->crop < 8) return wsss_train_setting_error("crop", c->crop, ">= 8");
    if (!(c->head_lr_mult >= 0)) return wsss_train_setting_error("head-lr-mult", c->head_lr_mult, ">= 0");
    if (wsss_train_check_scales(c->scale_min, c->scale_max) != WSSS_OK) return WSSS_ERR;
    if (!(c->lr_power > 0)) return wsss_train_setting_error("lr-power", c->lr_power, "> 0");
    /* the typed settings were parsed at the command line or from a stored config */
    WSSS_ASSERT(wsss_choice_has(wsss_train_optim_choices, (int)c->optim), "train-seg: optimizer");
    WSSS_ASSERT(wsss_choice_has(wsss_seg_bn_choices, (int)c->bn), "train-seg: BN mode");
    return WSSS_OK;
}

char *wsss_train_seg_ckpt_dir(const wsss_train_seg_config *c) {
    return c->ckpt ? wsss_xstrdup(c->ckpt) : wsss_run_path(c->run, c->gt ? WSSS_RUN_SEG_GT_CKPT : WSSS_RUN_SEG_CKPT);
}

static int save_segmenter(const void *seg, const char *path) { return wsss_segmenter_save(seg, path); }

int wsss_train_seg_run(const wsss_train_seg_config *c, const char *resume_dir) {
    if (wsss_train_seg_config_check(c) != WSSS_OK) return WSSS_ERR;
    const int frozen = c->bn == WSSS_SEG_BN_AUTO ? c->backbone_weights != NULL : c->bn == WSSS_SEG_BN_FROZEN;

    const char *stage = c->stage ? c->stage : c->gt ? "train-seg-gt" : "train-seg";
    char *ckpt = wsss_train_seg_ckpt_dir(c);
    char *out = c->out ? wsss_xstrdup(c->out) : wsss_run_path(c->run, c->gt ? WSSS_RUN_SEG_GT_MODEL : WSSS_RUN_SEG_MODEL);
    char *logp = c->log ? wsss_xstrdup(c->log) : wsss_run_log_path(c->run, stage);
    char *mask_dir = NULL;
    wsss_dataset *ds = NULL;
    wsss_loader *loader = NULL;
    wsss_optim *opt = NULL;
    wsss_segmenter seg;
    memset(&seg, 0, sizeof seg);
    char *cfg_json = NULL;
    int rc = WSSS_ERR;

    if ((c->masks || !c->gt) && !(mask_dir = wsss_train_mask_dir(c->masks, c->run, "masks", ""))) goto done;

    wsss_dataset_opts dopt;
    wsss_dataset_opts_default(&dopt);
    dopt.split = c->split;
    dopt.mask_dir = mask_dir;
    dopt.masks = WSSS_MASKS_REQUIRED;
    dopt.skip_bad = c->skip_bad;
    dopt.coco_annotations = c->coco_annotations;
    dopt.coco_images = c->coco_images;
    dopt.coco_masks = c->coco_masks;
    if (wsss_dataset_open(c->data, &dopt, &ds) != WSSS_OK) goto done;
    if (ds->num_classes < 2) {
        wsss_error_set("%s: the dataset has no foreground class", ds->root);
        goto done;
    }
    wsss_segmenter_config sc = {.arch = c->arch, .num_classes = ds->num_classes, .hidden = c->hidden,
                                .head_dilation = c->head_dilation, .frozen_bn = frozen};
    if (wsss_segmenter_create(&seg, &sc) != WSSS_OK ||
        wsss_train_model_start(&seg.m, c->seed, 0x5345474dULL, c->backbone_weights, resume_dir) != WSSS_OK)
        goto done;

    wsss_loader_opts lo;
    wsss_train_loader_opts(&lo, ds->n, c->batch, c->seed, c->workers, c->skip_bad);
    lo.load_masks = 1;
    lo.mask_dtype = WSSS_U8;
    lo.aug.scale_min = c->scale_min;
    lo.aug.scale_max = c->scale_max;
    lo.aug.crop_h = lo.aug.crop_w = c->crop;
    if (wsss_train_check_bn_values(&seg.m, &lo, ds->n, c->crop, "--crop") != WSSS_OK) goto done;
    for (int k = 0; k < 3; k++) lo.aug.pad_value[k] = 255.0f * lo.aug.mean[k];
    lo.aug.hflip_p = c->hflip;
    if (wsss_loader_new(ds, &lo, &loader) != WSSS_OK) goto done;

    opt = wsss_train_optim_new(c->optim, c->momentum, c->weight_decay, c->head_lr_mult, &seg.m.params);
    const int64_t spe = wsss_loader_batches_per_epoch(loader);
    wsss_lr_schedule sched = wsss_lr_poly(c->lr, c->lr_power, (int64_t)c->epochs * spe);

    cfg_json = wsss_cfg_to_json(&wsss_train_seg_config_table, c);
    char announce[8192]; /* the mask folder is a full path */
    snprintf(announce, sizeof announce,
             "%s: %s, %lld images, masks %s, %d classes, %d epochs x %lld steps (batch %d, crop %d), BN %s", stage,
             seg.arch, (long long)ds->n, mask_dir ? mask_dir : "from the dataset", ds->num_classes, c->epochs,
             (long long)spe, c->batch, c->crop, frozen ? "frozen" : "trained");
    seg_step st = {&seg, NULL, ds->num_classes};
    const wsss_train_loop loop = {
        .stage = stage, .ckpt_dir = ckpt, .resume_dir = resume_dir, .log_path = logp, .config_json = cfg_json,
        .epochs = c->epochs, .log_every = c->log_every, .progress = c->progress, .seed = c->seed, .sync_bn = c->sync_bn,
        .stop_after = c->stop_after, .announce = announce, .params = &seg.m.params, .opt = opt, .sched = &sched,
        .loader = loader, .step = seg_step_fn, .step_user = &st, .step_ctx = &st.ctx, .out = out,
        .save = save_segmenter, .model = &seg};
    rc = wsss_train_loop_run(&loop);
done:
    wsss_loader_free(loader);
    if (opt) wsss_optim_free(opt);
    wsss_segmenter_free(&seg);
    wsss_dataset_free(ds);
    free(cfg_json);
    free(mask_dir);
    free(ckpt);
    free(out);
    free(logp);
    return rc;
}
