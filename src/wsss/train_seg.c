/* `wsss train-seg`: the segmentation training stage (train_seg.h). */
#include "wsss/train_seg.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wsss/fs.h"
#include "wsss/config_table.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/loader.h"
#include "wsss/ops.h"
#include "wsss/optim.h"
#include "wsss/run_layout.h"
#include "wsss/safetensors.h"
#include "wsss/segmenter.h"
#include "wsss/train_common.h"
#include "wsss/trainer.h"

void wsss_train_seg_config_default(wsss_train_seg_config *c) {
    /* refinement.md §c (DeepLab-LargeFOV fine-tuning recipe) on a ResNet-18 backbone */
    memset(c, 0, sizeof *c);
    c->split = "train";
    c->run = "run";
    c->arch = "resnet18-os8-largefov";
    c->hidden = 1024;
    c->head_dilation = 12;
    c->bn = "auto";
    c->epochs = 10;
    c->batch = 10;
    c->crop = 321;
    c->scale_min = 0.7;
    c->scale_max = 1.3;
    c->hflip = 0.5;
    c->optim = "sgd";
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
static const wsss_cfg_field k_fields[] = {
    FS(data),   FS(split),       FS(masks),     FI(gt),         FS(run),      FS(ckpt),
    FS(out),    FS(log),         FS(stage),     FS(arch),       FI(hidden),   FI(head_dilation),
    FS(backbone_weights),        FS(bn),        FI(epochs),     FI(batch),    FI(crop),
    FD(scale_min), FD(scale_max), FD(hflip),    FS(optim),      FD(lr),         FD(momentum), FD(weight_decay),
    FD(head_lr_mult), FD(lr_power), FI(seed),   FI(workers),    FI(log_every), FI(skip_bad),
};
#define N_FIELDS ((int)(sizeof k_fields / sizeof k_fields[0]))

char *wsss_train_seg_config_to_json(const wsss_train_seg_config *c) {
    return wsss_cfg_to_json("config", "train-seg", k_fields, N_FIELDS, c);
}

int wsss_train_seg_config_from_json(const char *text, wsss_train_seg_config *c, void **storage) {
    wsss_train_seg_config_default(c);
    return wsss_cfg_from_json(text, "config", "train-seg", k_fields, N_FIELDS, c, storage);
}

void wsss_train_seg_config_free_storage(void *storage) {
    wsss_cfg_free_storage(storage);
}

/* ---- a model from a file or a checkpoint ---- */

int wsss_train_seg_open_model(const char *path, wsss_segmenter *s) {
    memset(s, 0, sizeof *s);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) return wsss_segmenter_open(s, path);
    /* a train-seg checkpoint: the architecture from its stored config, the class count from the
     * head's last layer */
    char *txt = wsss_trainer_ckpt_config(path);
    if (!txt) return WSSS_ERR;
    wsss_train_seg_config c;
    void *store = NULL;
    int rc = wsss_train_seg_config_from_json(txt, &c, &store);
    free(txt);
    if (rc != WSSS_OK) {
        wsss_train_seg_config_free_storage(store);
        return wsss_error_prefix("%s", path);
    }
    char *mp = wsss_run_file(path, "model", ".safetensors");
    wsss_safetensors *st = NULL;
    rc = wsss_st_open(mp, &st);
    const wsss_st_entry *e = NULL;
    if (rc == WSSS_OK) {
        e = wsss_st_find(st, "classifier.fc8.bias");
        if (!e) e = wsss_st_find(st, "classifier.c0.bias");
        if (!e || e->ndim != 1 || e->shape[0] < 2 || e->shape[0] > 255)
            rc = wsss_error_set("%s: no segmentation head (classifier.fc8.bias / classifier.c0.bias)", mp);
    }
    if (rc == WSSS_OK) {
        wsss_segmenter_config sc = {.arch = c.arch, .num_classes = (int)e->shape[0], .hidden = c.hidden,
                                    .head_dilation = c.head_dilation};
        rc = wsss_segmenter_create(s, &sc);
        if (rc != WSSS_OK) wsss_error_prefix("%s", path);
    }
    if (st) wsss_st_close(st);
    if (rc == WSSS_OK && wsss_model_load(&s->m, mp) != WSSS_OK) {
        wsss_segmenter_free(s);
        rc = WSSS_ERR;
    }
    free(mp);
    wsss_train_seg_config_free_storage(store);
    return rc;
}

/* ---- training ---- */

typedef struct seg_step {
    wsss_segmenter *seg;
    wsss_ctx *ctx;
    int num_classes;
} seg_step;

static int seg_step_fn(void *user, wsss_trainer *t, const wsss_batch *b, double lr, wsss_trainer_stats *stats) {
    (void)t;
    (void)lr;
    seg_step *s = user;
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

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int wsss_train_seg_config_check(const wsss_train_seg_config *c) {
    if (!c->data) return wsss_error_set("no dataset given (--data DIR)");
    if (c->epochs < 1) return wsss_train_setting_error("epochs", c->epochs, ">= 1");
    if (c->batch < 1) return wsss_train_setting_error("batch", c->batch, ">= 1");
    if (c->crop < 8) return wsss_train_setting_error("crop", c->crop, ">= 8");
    if (!(c->lr > 0)) return wsss_train_setting_error("lr", c->lr, "> 0");
    if (!(c->head_lr_mult >= 0)) return wsss_train_setting_error("head-lr-mult", c->head_lr_mult, ">= 0");
    if (!(c->weight_decay >= 0)) return wsss_train_setting_error("weight-decay", c->weight_decay, ">= 0");
    if (!(c->momentum >= 0 && c->momentum < 1)) return wsss_train_setting_error("momentum", c->momentum, "0 <= F < 1");
    if (!(c->scale_min > 0 && c->scale_min <= 4)) return wsss_train_setting_error("scale-min", c->scale_min, "0 < F <= 4");
    if (!(c->scale_max >= c->scale_min && c->scale_max <= 4))
        return wsss_train_setting_error("scale-max", c->scale_max, "--scale-min <= F <= 4");
    if (!(c->hflip >= 0 && c->hflip <= 1)) return wsss_train_setting_error("flip", c->hflip, "0 <= P <= 1");
    if (!(c->lr_power > 0)) return wsss_train_setting_error("lr-power", c->lr_power, "> 0");
    int adamw;
    if (wsss_train_optim_kind(c->optim, &adamw) != WSSS_OK) return WSSS_ERR;
    if (!c->bn || (strcmp(c->bn, "auto") != 0 && strcmp(c->bn, "frozen") != 0 && strcmp(c->bn, "train") != 0))
        return wsss_error_set("--bn %s: expected auto, train or frozen", c->bn ? c->bn : "(unset)");
    return WSSS_OK;
}

int wsss_train_seg_run(const wsss_train_seg_config *c, const char *resume_dir) {
    if (wsss_train_seg_config_check(c) != WSSS_OK) return WSSS_ERR;
    int adamw;
    wsss_train_optim_kind(c->optim, &adamw);
    const int frozen = strcmp(c->bn, "auto") == 0 ? c->backbone_weights != NULL : strcmp(c->bn, "frozen") == 0;

    const char *sub = c->gt ? "seg_gt" : "seg";
    char rel[64];
    const char *stage = c->stage ? c->stage : c->gt ? "train-seg-gt" : "train-seg";
    snprintf(rel, sizeof rel, "%s/ckpt", sub);
    char *ckpt = c->ckpt ? wsss_xstrdup(c->ckpt) : wsss_run_path(c->run, rel);
    snprintf(rel, sizeof rel, "%s/model.safetensors", sub);
    char *out = c->out ? wsss_xstrdup(c->out) : wsss_run_path(c->run, rel);
    char *logp = c->log ? wsss_xstrdup(c->log) : wsss_run_log_path(c->run, stage);
    char *mask_dir = NULL;
    wsss_dataset *ds = NULL;
    wsss_loader *loader = NULL;
    wsss_optim *opt = NULL;
    wsss_segmenter seg;
    memset(&seg, 0, sizeof seg);
    wsss_trainer tr;
    memset(&tr, 0, sizeof tr);
    char *cfg_json = NULL;
    int rc = WSSS_ERR;

    /* the mask folder, as an absolute path (the dataset resolves relative ones against its root) */
    if (c->masks || !c->gt) {
        char *given = c->masks ? wsss_xstrdup(c->masks) : wsss_run_path(c->run, WSSS_RUN_PSEUDO);
        if (!is_dir(given)) {
            wsss_error_set("%s: no such mask folder%s", given, c->masks ? "" : " (run wsss pseudo first, or --masks DIR)");
            free(given);
            goto done;
        }
        mask_dir = realpath(given, NULL);
        if (!mask_dir) {
            wsss_error_set("%s: cannot resolve the path (%s)", given, strerror(errno));
            free(given);
            goto done;
        }
        free(given);
    }

    wsss_dataset_opts dopt;
    wsss_dataset_opts_default(&dopt);
    dopt.split = c->split;
    dopt.mask_dir = mask_dir;
    dopt.masks = WSSS_MASKS_REQUIRED;
    dopt.skip_bad = c->skip_bad;
    if (wsss_dataset_open(c->data, &dopt, &ds) != WSSS_OK) goto done;
    if (ds->num_classes < 2) {
        wsss_error_set("%s: the dataset has no foreground class", c->data);
        goto done;
    }
    wsss_segmenter_config sc = {.arch = c->arch, .num_classes = ds->num_classes, .hidden = c->hidden,
                                .head_dilation = c->head_dilation, .frozen_bn = frozen};
    if (wsss_segmenter_create(&seg, &sc) != WSSS_OK) goto done;
    wsss_rng init_rng;
    wsss_rng_seed3(&init_rng, (uint64_t)c->seed, 0x5345474dULL, 0);
    wsss_segmenter_reset(&seg, &init_rng);
    if (c->backbone_weights && !resume_dir && wsss_segmenter_load_backbone(&seg, c->backbone_weights) != WSSS_OK)
        goto done;

    wsss_loader_opts lo;
    wsss_train_loader_opts(&lo, ds->n, c->batch, c->seed, c->workers, c->skip_bad);
    lo.load_masks = 1;
    lo.mask_dtype = WSSS_U8;
    lo.aug.scale_min = c->scale_min;
    lo.aug.scale_max = c->scale_max;
    lo.aug.crop_h = lo.aug.crop_w = c->crop;
    for (int k = 0; k < 3; k++) lo.aug.pad_value[k] = 255.0f * lo.aug.mean[k];
    lo.aug.hflip_p = c->hflip;
    if (wsss_loader_new(ds, &lo, &loader) != WSSS_OK) goto done;

    opt = wsss_train_optim_new(adamw, c->momentum, c->weight_decay, c->head_lr_mult, &seg.m.params);
    const int64_t spe = wsss_loader_batches_per_epoch(loader);
    wsss_lr_schedule sched = wsss_lr_poly(c->lr, c->lr_power, (int64_t)c->epochs * spe);

    cfg_json = wsss_train_seg_config_to_json(c);
    wsss_trainer_opts to;
    wsss_trainer_opts_default(&to);
    to.stage = stage;
    to.epochs = c->epochs;
    to.ckpt_dir = ckpt;
    to.resume_dir = resume_dir;
    to.log_path = logp;
    to.config = cfg_json;
    to.progress = c->progress;
    to.log_every = c->log_every;
    to.stop_after = c->stop_after;
    if (wsss_trainer_init(&tr, &to, &seg.m.params, opt, &sched, loader, (uint64_t)c->seed) != WSSS_OK) goto done;
    if (c->progress)
        fprintf(stderr, "%s: %s, %lld images, masks %s, %d classes, %d epochs x %lld steps (batch %d, crop %d), BN %s%s\n",
                stage, seg.arch, (long long)ds->n, mask_dir ? mask_dir : "from the dataset", ds->num_classes,
                c->epochs, (long long)spe, c->batch, c->crop, frozen ? "frozen" : "trained",
                tr.resumed ? ", resumed" : "");
    seg_step st = {&seg, wsss_ctx_new(), ds->num_classes};
    wsss_ctx_set_blocked(st.ctx, 1); /* activations stay in oneDNN's layouts between its ops */
    rc = wsss_trainer_run(&tr, seg_step_fn, &st);
    wsss_ctx_free(st.ctx);
    if (rc == WSSS_OK) {
        wsss_remove_stale_tmp_files(out); /* left by a run killed while writing it */
        if (wsss_mkdirs_parent(out) != WSSS_OK || wsss_segmenter_save(&seg, out) != WSSS_OK) {
            rc = WSSS_ERR;
            goto done;
        }
        if (c->progress)
            fprintf(stderr, "%s: %.1f images/s, model written to %s\n", stage,
                    tr.seconds > 0 ? (double)tr.images / tr.seconds : 0.0, out);
    }
done:
    wsss_trainer_free(&tr);
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
