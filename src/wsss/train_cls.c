/* `wsss train-cls`: the multi-label classifier training stage (train_cls.h). */
#include "wsss/train_cls.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/classifier.h"
#include "io/stale_tmp.h"
#include "wsss/config_table.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/loader.h"
#include "wsss/ops.h"
#include "wsss/optim.h"
#include "wsss/run_layout.h"
#include "wsss/train_common.h"
#include "wsss/trainer.h"

void wsss_train_cls_config_default(wsss_train_cls_config *c) {
    memset(c, 0, sizeof *c);
    c->split = "train";
    c->run = "run";
    c->arch = "resnet18-os16";
    c->epochs = 6;
    c->batch = 16;
    c->size = 128;
    c->rrc_min = 0.7;
    c->hflip = 0.5;
    c->jitter = 0.0;
    c->optim = "sgd";
    c->lr = 0.05;
    c->momentum = 0.9;
    c->weight_decay = 1e-4;
    c->head_lr_mult = -1.0; /* auto: 10 with pretrained backbone weights, 1 from scratch */
    c->lr_policy = "poly";
    c->lr_power = 0.9;
    c->lr_gamma = 0.1;
    c->lr_steps = "";
    c->loss = "mlsm";
    c->pool = "gap";
    c->lse_r = 5.0;
    c->seed = 0;
    c->workers = 0;
    c->log_every = 1;
    c->progress = 1;
}

/* ---- config <-> JSON (one table for both directions; config_table.h) ---- */

#define FS(n) WSSS_CFG_S(wsss_train_cls_config, n)
#define FI(n) WSSS_CFG_I(wsss_train_cls_config, n)
#define FD(n) WSSS_CFG_D(wsss_train_cls_config, n)
static const wsss_cfg_field k_fields[] = {
    FS(data), FS(split), FS(run), FS(ckpt), FS(out), FS(log), FS(arch), FS(backbone_weights), FI(frozen_bn),
    FI(epochs), FI(batch), FI(size), FD(rrc_min), FD(hflip), FD(jitter), FS(optim), FD(lr), FD(momentum),
    FD(weight_decay), FD(head_lr_mult), FS(lr_policy), FD(lr_power), FD(lr_gamma), FS(lr_steps), FS(loss), FS(pool), FD(lse_r),
    FI(seed), FI(workers), FI(log_every), FI(skip_bad),
};
#define N_FIELDS ((int)(sizeof k_fields / sizeof k_fields[0]))

char *wsss_train_cls_config_to_json(const wsss_train_cls_config *c) {
    return wsss_cfg_to_json("stage", "train-cls", k_fields, N_FIELDS, c);
}

int wsss_train_cls_config_from_json(const char *text, wsss_train_cls_config *c, void **storage) {
    wsss_train_cls_config_default(c);
    return wsss_cfg_from_json(text, "stage", "train-cls", k_fields, N_FIELDS, c, storage);
}

void wsss_train_cls_config_free_storage(void *storage) {
    wsss_cfg_free_storage(storage);
}

/* ---- training ---- */

typedef struct cls_step {
    wsss_classifier *cls;
    int bce;
    wsss_pool_kind pool;
    double lse_r;
    wsss_ctx *ctx;
} cls_step;

static int cls_step_fn(void *user, wsss_trainer *t, const wsss_batch *b, double lr, wsss_trainer_stats *stats) {
    (void)t;
    (void)lr;
    cls_step *s = user;
    wsss_ctx_reset(s->ctx);
    wsss_tensor *cam = NULL;
    wsss_tensor *logits = wsss_classifier_forward(s->ctx, s->cls, b->images, 1, s->pool == WSSS_POOL_GAP ? NULL : &cam);
    if (s->pool != WSSS_POOL_GAP) /* the same CAM, pooled otherwise */
        logits = wsss_classifier_pool_scores(s->ctx, cam, wsss_classifier_bias(s->cls), s->pool, s->lse_r);
    wsss_tensor *loss = s->bce ? wsss_bce_with_logits(s->ctx, logits, b->labels)
                               : wsss_multilabel_soft_margin(s->ctx, logits, b->labels);
    stats->loss = wsss_tensor_get(loss, 0);
    /* training accuracy signal: fraction of (image, class) decisions right at logit 0 */
    const float *lg = wsss_f32(logits), *y = wsss_f32(b->labels);
    int64_t n = wsss_tensor_numel(logits), right = 0;
    for (int64_t i = 0; i < n; i++) right += (lg[i] > 0) == (y[i] > 0.5f);
    stats->n_aux = 1;
    stats->aux_name[0] = "label_acc";
    stats->aux[0] = n ? (double)right / (double)n : NAN;
    int rc = wsss_backward(s->ctx, loss);
    wsss_ctx_reset(s->ctx);
    return rc;
}

static int parse_steps(const char *txt, int epochs, int64_t spe, int *n, int64_t *ms) {
    *n = 0;
    const char *p = txt ? txt : "";
    while (*p) {
        char *end;
        long e = strtol(p, &end, 10);
        if (end == p || e <= 0 || e > epochs || *n >= WSSS_LR_MAX_MILESTONES)
            return wsss_error_set("--lr-steps \"%s\": expected up to %d comma-separated epochs in 1..%d", txt,
                                  WSSS_LR_MAX_MILESTONES, epochs);
        ms[(*n)++] = (int64_t)e * spe;
        p = end;
        if (*p == ',') p++;
        else if (*p) return wsss_error_set("--lr-steps \"%s\": expected comma-separated epochs", txt);
    }
    return WSSS_OK;
}

int wsss_train_cls_config_check(const wsss_train_cls_config *c) {
    if (!c->data) return wsss_error_set("no dataset given (--data DIR)");
    if (c->epochs < 1) return wsss_train_setting_error("epochs", c->epochs, ">= 1");
    if (c->batch < 1) return wsss_train_setting_error("batch", c->batch, ">= 1");
    if (c->size < 8) return wsss_train_setting_error("size", c->size, ">= 8");
    if (!(c->lr > 0)) return wsss_train_setting_error("lr", c->lr, "> 0");
    if (!(c->weight_decay >= 0)) return wsss_train_setting_error("weight-decay", c->weight_decay, ">= 0");
    if (!(c->momentum >= 0 && c->momentum < 1)) return wsss_train_setting_error("momentum", c->momentum, "0 <= F < 1");
    if (!(c->rrc_min > 0 && c->rrc_min <= 1)) return wsss_train_setting_error("rrc-min", c->rrc_min, "0 < F <= 1");
    if (!(c->hflip >= 0 && c->hflip <= 1)) return wsss_train_setting_error("flip", c->hflip, "0 <= P <= 1");
    if (!(c->jitter >= 0 && c->jitter <= 0.5)) return wsss_train_setting_error("jitter", c->jitter, "0 <= F <= 0.5");
    if (!c->loss || (strcmp(c->loss, "bce") != 0 && strcmp(c->loss, "mlsm") != 0))
        return wsss_error_set("--loss %s: expected mlsm or bce", c->loss ? c->loss : "(unset)");
    int adamw;
    if (wsss_train_optim_kind(c->optim, &adamw) != WSSS_OK) return WSSS_ERR;
    wsss_pool_kind pool;
    if (wsss_pool_kind_parse(c->pool, &pool) != WSSS_OK)
        return wsss_error_set("--pool %s: expected gap, gmp or lse", c->pool ? c->pool : "(unset)");
    if (pool == WSSS_POOL_LSE && !(c->lse_r > 0 && c->lse_r <= 100))
        return wsss_train_setting_error("lse-r", c->lse_r, "0 < R <= 100");
    wsss_lr_kind lk;
    if (wsss_lr_kind_parse(c->lr_policy, &lk) != WSSS_OK || (lk != WSSS_LR_POLY && lk != WSSS_LR_STEP))
        return wsss_error_set("--lr-policy %s: expected poly or step", c->lr_policy ? c->lr_policy : "(unset)");
    int nm;
    int64_t ms[WSSS_LR_MAX_MILESTONES];
    if (lk == WSSS_LR_STEP && parse_steps(c->lr_steps, c->epochs, 1, &nm, ms) != WSSS_OK) return WSSS_ERR;
    return WSSS_OK;
}

int wsss_train_cls_run(const wsss_train_cls_config *c, const char *resume_dir) {
    if (wsss_train_cls_config_check(c) != WSSS_OK) return WSSS_ERR;
    const int bce = strcmp(c->loss, "bce") == 0;
    int adamw;
    wsss_train_optim_kind(c->optim, &adamw);
    wsss_pool_kind pool;
    wsss_pool_kind_parse(c->pool, &pool);
    wsss_lr_kind lk;
    wsss_lr_kind_parse(c->lr_policy, &lk);

    char *ckpt = c->ckpt ? wsss_xstrdup(c->ckpt) : wsss_run_path(c->run, WSSS_RUN_CLS_CKPT);
    char *out = c->out ? wsss_xstrdup(c->out) : wsss_run_path(c->run, WSSS_RUN_CLS_MODEL);
    char *logp = c->log ? wsss_xstrdup(c->log) : wsss_run_log_path(c->run, "train-cls");
    wsss_dataset *ds = NULL;
    wsss_loader *loader = NULL;
    wsss_optim *opt = NULL;
    wsss_classifier cls;
    memset(&cls, 0, sizeof cls);
    wsss_trainer tr;
    memset(&tr, 0, sizeof tr);
    char *cfg_json = NULL;
    int rc = WSSS_ERR;

    wsss_dataset_opts dopt;
    wsss_dataset_opts_default(&dopt);
    dopt.split = c->split;
    dopt.masks = WSSS_MASKS_OPTIONAL; /* labels need no masks (cls_labels.txt) */
    dopt.skip_bad = c->skip_bad;
    if (wsss_dataset_open(c->data, &dopt, &ds) != WSSS_OK) goto done;
    if (!ds->has_labels) {
        wsss_error_set("%s: no image-level labels (cls_labels.txt or masks) for split %s", c->data, c->split);
        goto done;
    }
    if (ds->num_classes < 2) {
        wsss_error_set("%s: the dataset has no foreground class", c->data);
        goto done;
    }
    if (wsss_classifier_create(&cls, c->arch, ds->num_classes - 1) != WSSS_OK) goto done;
    wsss_rng init_rng;
    wsss_rng_seed3(&init_rng, (uint64_t)c->seed, 0x494e4954ULL, 0);
    wsss_classifier_reset(&cls, &init_rng);
    if (c->backbone_weights && !resume_dir && wsss_classifier_load_backbone(&cls, c->backbone_weights) != WSSS_OK)
        goto done;
    if (c->frozen_bn) {
        if (cls.m.backbone != WSSS_BACKBONE_RESNET) {
            wsss_error_set("--frozen-bn applies to ResNet backbones only (--arch %s)", c->arch);
            goto done;
        }
        wsss_resnet_set_frozen_bn(&cls.m.resnet, 1);
    }

    wsss_loader_opts lo;
    wsss_train_loader_opts(&lo, ds->n, c->batch, c->seed, c->workers, c->skip_bad);
    lo.load_masks = 0;
    if (c->rrc_min < 1.0) {
        lo.aug.rrc_h = lo.aug.rrc_w = c->size;
        lo.aug.rrc_scale[0] = c->rrc_min;
        lo.aug.rrc_scale[1] = 1.0;
    } else {
        lo.aug.resize_h = lo.aug.resize_w = c->size;
    }
    lo.aug.hflip_p = c->hflip;
    lo.aug.jitter.brightness = lo.aug.jitter.contrast = lo.aug.jitter.saturation = c->jitter;
    lo.aug.jitter.hue = c->jitter / 3.0;
    if (wsss_loader_new(ds, &lo, &loader) != WSSS_OK) goto done;

    /* from scratch every layer is new: the 10x head multiplier is a fine-tuning rule */
    const double hm = c->head_lr_mult >= 0 ? c->head_lr_mult : c->backbone_weights ? 10.0 : 1.0;
    opt = wsss_train_optim_new(adamw, c->momentum, c->weight_decay, hm, &cls.m.params);

    const int64_t spe = wsss_loader_batches_per_epoch(loader);
    wsss_lr_schedule sched;
    if (lk == WSSS_LR_POLY) {
        sched = wsss_lr_poly(c->lr, c->lr_power, (int64_t)c->epochs * spe);
    } else {
        int nm;
        int64_t ms[WSSS_LR_MAX_MILESTONES];
        if (parse_steps(c->lr_steps, c->epochs, spe, &nm, ms) != WSSS_OK) goto done;
        sched = wsss_lr_step(c->lr, c->lr_gamma, nm, ms);
    }

    cfg_json = wsss_train_cls_config_to_json(c);
    wsss_trainer_opts to;
    wsss_trainer_opts_default(&to);
    to.stage = "train-cls";
    to.epochs = c->epochs;
    to.ckpt_dir = ckpt;
    to.resume_dir = resume_dir;
    to.log_path = logp;
    to.config = cfg_json;
    to.progress = c->progress;
    to.log_every = c->log_every;
    to.stop_after = c->stop_after;
    if (wsss_trainer_init(&tr, &to, &cls.m.params, opt, &sched, loader, (uint64_t)c->seed) != WSSS_OK) goto done;
    if (c->progress)
        fprintf(stderr, "train-cls: %s, %lld images, %d classes, %d epochs x %lld steps (batch %d)%s\n", cls.arch,
                (long long)ds->n, ds->num_classes - 1, c->epochs, (long long)spe, c->batch,
                tr.resumed ? ", resumed" : "");
    cls_step st = {&cls, bce, pool, c->lse_r, wsss_ctx_new()};
    wsss_ctx_set_blocked(st.ctx, 1); /* activations stay in oneDNN's layouts between its ops */
    rc = wsss_trainer_run(&tr, cls_step_fn, &st);
    wsss_ctx_free(st.ctx);
    if (rc == WSSS_OK) {
        wsss_remove_stale_tmp_files(out); /* left by a run killed while writing it */
        if (wsss_mkdirs_parent(out) != WSSS_OK || wsss_classifier_save(&cls, out) != WSSS_OK) {
            rc = WSSS_ERR;
            goto done;
        }
        if (c->progress)
            fprintf(stderr, "train-cls: %.1f images/s, model written to %s\n",
                    tr.seconds > 0 ? (double)tr.images / tr.seconds : 0.0, out);
    }
done:
    wsss_trainer_free(&tr);
    wsss_loader_free(loader);
    if (opt) wsss_optim_free(opt);
    wsss_classifier_free(&cls);
    wsss_dataset_free(ds);
    free(cfg_json);
    free(ckpt);
    free(out);
    free(logp);
    return rc;
}
