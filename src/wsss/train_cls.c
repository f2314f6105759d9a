/* `wsss train-cls`: the multi-label classifier training stage (train_cls.h). */
#include "wsss/train_cls.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/classifier.h"
#include "wsss/config_table.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/loader.h"
#include "wsss/ops.h"
#include "wsss/optim.h"
#include "wsss/run_layout.h"
#include "wsss/train_common.h"
#include "wsss/trainer.h"

const wsss_choice wsss_cls_loss_choices[] = {{"mlsm", WSSS_CLS_LOSS_MLSM}, {"bce", WSSS_CLS_LOSS_BCE}, {NULL, 0}};
const wsss_choice wsss_cls_lr_policy_choices[] = {{"poly", WSSS_LR_POLY}, {"step", WSSS_LR_STEP}, {NULL, 0}};

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
    c->optim = WSSS_OPTIM_SGD;
    c->lr = 0.05;
    c->momentum = 0.9;
    c->weight_decay = 1e-4;
    c->head_lr_mult = -1.0; /* auto: 10 with pretrained backbone weights, 1 from scratch */
    c->lr_policy = WSSS_LR_POLY;
    c->lr_power = 0.9;
    c->lr_gamma = 0.1;
    c->lr_steps = "";
    c->loss = WSSS_CLS_LOSS_MLSM;
    c->pool = WSSS_POOL_GAP;
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
#define FE(n, choices) WSSS_CFG_E(wsss_train_cls_config, n, choices)
static const wsss_cfg_field k_fields[] = {
    FS(data), FS(split), FS(run), FS(ckpt), FS(out), FS(log), FS(arch), FS(backbone_weights), FI(frozen_bn),
    FI(epochs), FI(batch), FI(size), FD(rrc_min), FD(hflip), FD(jitter), FE(optim, wsss_train_optim_choices), FD(lr),
    FD(momentum), FD(weight_decay), FD(head_lr_mult), FE(lr_policy, wsss_cls_lr_policy_choices), FD(lr_power),
    FD(lr_gamma), FS(lr_steps), FE(loss, wsss_cls_loss_choices), FE(pool, wsss_pool_choices), FD(lse_r),
    FI(seed), FI(workers), FI(log_every), FI(skip_bad),
};
static void set_default(void *c) { wsss_train_cls_config_default(c); }

const wsss_cfg_table wsss_train_cls_config_table = {
    "stage", "train-cls", k_fields, (int)(sizeof k_fields / sizeof k_fields[0]),
    sizeof(wsss_train_cls_config), set_default};

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
    if (wsss_train_check_common(c->epochs, c->batch, c->lr, c->weight_decay, c->momentum, c->hflip) != WSSS_OK ||
        wsss_train_check_crop(c->size, c->rrc_min) != WSSS_OK)
        return WSSS_ERR;
    if (!(c->jitter >= 0 && c->jitter <= 0.5)) return wsss_train_setting_error("jitter", c->jitter, "0 <= F <= 0.5");
    /* the typed settings were parsed at the command line or from a stored config */
    WSSS_ASSERT(wsss_choice_has(wsss_cls_loss_choices, (int)c->loss), "train-cls: loss");
    WSSS_ASSERT(wsss_choice_has(wsss_train_optim_choices, (int)c->optim), "train-cls: optimizer");
    WSSS_ASSERT(wsss_choice_has(wsss_pool_choices, (int)c->pool), "train-cls: pooling");
    WSSS_ASSERT(wsss_choice_has(wsss_cls_lr_policy_choices, (int)c->lr_policy), "train-cls: lr policy");
    if (c->pool == WSSS_POOL_LSE && !(c->lse_r > 0 && c->lse_r <= 100))
        return wsss_train_setting_error("lse-r", c->lse_r, "0 < R <= 100");
    int nm;
    int64_t ms[WSSS_LR_MAX_MILESTONES];
    if (c->lr_policy == WSSS_LR_STEP && parse_steps(c->lr_steps, c->epochs, 1, &nm, ms) != WSSS_OK) return WSSS_ERR;
    return WSSS_OK;
}

char *wsss_train_cls_ckpt_dir(const wsss_train_cls_config *c) {
    return c->ckpt ? wsss_xstrdup(c->ckpt) : wsss_run_path(c->run, WSSS_RUN_CLS_CKPT);
}

static int save_classifier(const void *cls, const char *path) { return wsss_classifier_save(cls, path); }

int wsss_train_cls_run(const wsss_train_cls_config *c, const char *resume_dir) {
    if (wsss_train_cls_config_check(c) != WSSS_OK) return WSSS_ERR;

    char *ckpt = wsss_train_cls_ckpt_dir(c);
    char *out = c->out ? wsss_xstrdup(c->out) : wsss_run_path(c->run, WSSS_RUN_CLS_MODEL);
    char *logp = c->log ? wsss_xstrdup(c->log) : wsss_run_log_path(c->run, "train-cls");
    wsss_dataset *ds = NULL;
    wsss_loader *loader = NULL;
    wsss_optim *opt = NULL;
    wsss_classifier cls;
    memset(&cls, 0, sizeof cls);
    char *cfg_json = NULL;
    int rc = WSSS_ERR;

    /* labels need no masks (cls_labels.txt) */
    if (wsss_dataset_open_split(c->data, c->split, WSSS_MASKS_OPTIONAL, c->skip_bad, &ds) != WSSS_OK) goto done;
    if (!ds->has_labels) {
        wsss_error_set("%s: no image-level labels (cls_labels.txt or masks) for split %s", c->data, c->split);
        goto done;
    }
    if (ds->num_classes < 2) {
        wsss_error_set("%s: the dataset has no foreground class", c->data);
        goto done;
    }
    if (wsss_classifier_create(&cls, c->arch, ds->num_classes - 1) != WSSS_OK ||
        wsss_train_model_start(&cls.m, c->seed, 0x494e4954ULL, c->backbone_weights, resume_dir) != WSSS_OK)
        goto done;
    if (c->frozen_bn) {
        if (cls.m.a.backbone != WSSS_BACKBONE_RESNET) {
            wsss_error_set("--frozen-bn applies to ResNet backbones only (--arch %s)", c->arch);
            goto done;
        }
        wsss_resnet_set_frozen_bn(&cls.m.resnet, 1);
    }

    wsss_loader_opts lo;
    wsss_train_loader_opts(&lo, ds->n, c->batch, c->seed, c->workers, c->skip_bad);
    lo.load_masks = 0;
    wsss_train_loader_crop(&lo, c->size, c->rrc_min, c->hflip);
    lo.aug.jitter.brightness = lo.aug.jitter.contrast = lo.aug.jitter.saturation = c->jitter;
    lo.aug.jitter.hue = c->jitter / 3.0;
    if (wsss_loader_new(ds, &lo, &loader) != WSSS_OK) goto done;

    /* from scratch every layer is new: the 10x head multiplier is a fine-tuning rule */
    const double hm = c->head_lr_mult >= 0 ? c->head_lr_mult : c->backbone_weights ? 10.0 : 1.0;
    opt = wsss_train_optim_new(c->optim, c->momentum, c->weight_decay, hm, &cls.m.params);

    const int64_t spe = wsss_loader_batches_per_epoch(loader);
    wsss_lr_schedule sched;
    if (c->lr_policy == WSSS_LR_POLY) {
        sched = wsss_lr_poly(c->lr, c->lr_power, (int64_t)c->epochs * spe);
    } else {
        int nm;
        int64_t ms[WSSS_LR_MAX_MILESTONES];
        if (parse_steps(c->lr_steps, c->epochs, spe, &nm, ms) != WSSS_OK) goto done;
        sched = wsss_lr_step(c->lr, c->lr_gamma, nm, ms);
    }

    cfg_json = wsss_cfg_to_json(&wsss_train_cls_config_table, c);
    char announce[512];
    snprintf(announce, sizeof announce, "train-cls: %s, %lld images, %d classes, %d epochs x %lld steps (batch %d)",
             cls.arch, (long long)ds->n, ds->num_classes - 1, c->epochs, (long long)spe, c->batch);
    cls_step st = {&cls, c->loss == WSSS_CLS_LOSS_BCE, c->pool, c->lse_r, NULL};
    const wsss_train_loop loop = {
        .stage = "train-cls", .ckpt_dir = ckpt, .resume_dir = resume_dir, .log_path = logp, .config_json = cfg_json,
        .epochs = c->epochs, .log_every = c->log_every, .progress = c->progress, .seed = c->seed,
        .stop_after = c->stop_after, .announce = announce, .params = &cls.m.params, .opt = opt, .sched = &sched,
        .loader = loader, .step = cls_step_fn, .step_user = &st, .step_ctx = &st.ctx, .out = out,
        .save = save_classifier, .model = &cls};
    rc = wsss_train_loop_run(&loop);
done:
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
