/* `wsss train-cls`: the multi-label classifier training stage (train_cls.h). */
#include "wsss/train_cls.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/checkpoint.h"
#include "wsss/classifier.h"
#include "wsss/config_table.h"
#include "wsss/dataset.h"
#include "wsss/dataset_extra.h"
#include "wsss/eader.h"
#include "wsss/error.h"
#include "wsss/loader.h"
#include "wsss/method.h"
#include "wsss/ops.h"
#include "wsss/optim.h"
#include "wsss/run_layout.h"
#include "wsss/train_common.h"
#include "wsss/trainer.h"

const wsss_choice wsss_cls_loss_choices[] = {{"mlsm", WSSS_CLS_LOSS_MLSM}, {"bce", WSSS_CLS_LOSS_BCE}, {NULL, 0}};
const wsss_choice wsss_cls_lr_policy_choices[] = {
    {"poly", WSSS_LR_POLY}, {"step", WSSS_LR_STEP}, {"constant", WSSS_LR_CONSTANT}, {NULL, 0}};

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
    c->method = WSSS_METHOD_CAM;
    c->contrastive_from = 2;
    c->map_epoch = -1;
    c->bias_lr_mult = 2.0;
    const wsss_eader_opts eo = wsss_eader_opts_default();
    c->adversary_arch = "resnet18";
    c->alpha = eo.alpha;
    c->beta = eo.beta;
    c->reg = eo.reg_sum;
    c->block_steps = 200;
    c->mask_slope = eo.mask_slope;
    c->mask_center = eo.mask_center;
}

void wsss_train_cls_config_method_default(wsss_train_cls_config *c, int method) {
    wsss_train_cls_config_default(c);
    c->method = method;
    const wsss_method_ops *ops = wsss_method_get((wsss_method_kind)method);
    if (ops->recipe) ops->recipe(c);
}

/* ---- config <-> JSON (one table for both directions; config_table.h) ---- */

#define FS(n) WSSS_CFG_S(wsss_train_cls_config, n)
#define FI(n) WSSS_CFG_I(wsss_train_cls_config, n)
#define FD(n) WSSS_CFG_D(wsss_train_cls_config, n)
#define FE(n, choices) WSSS_CFG_E(wsss_train_cls_config, n, choices)
static const wsss_cfg_field k_fields[] = {
    FS(data), FS(coco_annotations), FS(coco_images), FS(coco_masks), FS(split), FS(extra_data), FS(class_map), FS(run), FS(ckpt), FS(out), FS(log), FS(arch),
    FS(backbone_weights), FI(frozen_bn),
    FI(epochs), FI(batch), FI(size), FD(rrc_min), FD(hflip), FD(jitter), FE(optim, wsss_train_optim_choices), FD(lr),
    FD(momentum), FD(weight_decay), FD(head_lr_mult), FE(lr_policy, wsss_cls_lr_policy_choices), FD(lr_power),
    FD(lr_gamma), FS(lr_steps), FE(loss, wsss_cls_loss_choices), FE(pool, wsss_pool_choices), FD(lse_r),
    FI(seed), FI(workers), FI(log_every), FI(skip_bad), FI(sync_bn), FE(method, wsss_method_choices), FI(nesterov),
    FI(bias_decay), FI(contrastive_from), FI(map_epoch), FD(bias_lr_mult), FS(adversary_arch),
    FS(adversary_weights), FD(alpha), FD(beta), FE(reg, wsss_eader_reg_choices), FI(block_steps), FD(mask_slope),
    FD(mask_center),
};
static void set_default(void *c) { wsss_train_cls_config_default(c); }

const wsss_cfg_table wsss_train_cls_config_table = {
    "stage", "train-cls", k_fields, (int)(sizeof k_fields / sizeof k_fields[0]),
    sizeof(wsss_train_cls_config), set_default};

/* ---- training ---- */

typedef struct cls_step {
    const wsss_method_ops *method;
    wsss_method_run run;
    wsss_ctx *ctx;
} cls_step;

/* the method's loss, then backward (the trainer steps the optimizer) */
static int cls_step_fn(void *user, wsss_trainer *t, const wsss_batch *b, double lr, wsss_trainer_stats *stats) {
    (void)lr;
    cls_step *s = user;
    wsss_ctx_reset(s->ctx);
    s->run.trainer = t;
    wsss_tensor *loss = s->method->loss(s->ctx, &s->run, b, t->epoch, stats);
    if (!loss) return WSSS_ERR;
    stats->loss = wsss_tensor_get(loss, 0);
    /* a loss without a graph: nothing in this batch to learn from (EADER's adversary on a batch
     * without labelled classes); the optimizer steps on zero gradients, as PyTorch's would */
    int rc = loss->requires_grad ? wsss_backward(s->ctx, loss) : WSSS_OK;
    wsss_ctx_reset(s->ctx);
    return rc;
}

wsss_optim *wsss_train_cls_optim_new(const wsss_train_cls_config *c, double head_mult, const wsss_params *ps) {
    if (!c->nesterov && !c->bias_decay && c->bias_lr_mult == 2.0)
        return wsss_train_optim_new(c->optim, c->momentum, c->weight_decay, head_mult, ps);
    const double wd = c->weight_decay, bias_wd = c->bias_decay ? wd : 0.0, bm = c->bias_lr_mult;
    const wsss_optim_group groups[4] = {{1.0, wd}, {bm, bias_wd}, {head_mult, wd}, {bm * head_mult, bias_wd}};
    const wsss_optim_config oc = c->optim == WSSS_OPTIM_ADAMW ? wsss_optim_adamw_config()
                                                              : wsss_optim_sgd_config(c->momentum, 0, c->nesterov);
    wsss_optim *opt = wsss_optim_new(&oc, 4, groups);
    wsss_optim_add_params(opt, ps);
    return opt;
}

double wsss_train_cls_head_mult(const wsss_train_cls_config *c) {
    /* from scratch every layer is new: the 10x head multiplier is a fine-tuning rule */
    return c->head_lr_mult >= 0 ? c->head_lr_mult : c->backbone_weights ? 10.0 : 1.0;
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
    if (!c->data && !c->coco_annotations) return wsss_error_set("no dataset given (--data DIR or --coco-annotations FILE)");
    if (wsss_train_check_common(c->epochs, c->batch, c->lr, c->weight_decay, c->momentum, c->hflip) != WSSS_OK ||
        wsss_train_check_crop(c->size, c->rrc_min) != WSSS_OK)
        return WSSS_ERR;
    if (!(c->jitter >= 0 && c->jitter <= 0.5)) return wsss_train_setting_error("jitter", c->jitter, "0 <= F <= 0.5");
    /* the typed settings were parsed at the command line or from a stored config */
    WSSS_ASSERT(wsss_choice_has(wsss_cls_loss_choices, (int)c->loss), "train-cls: loss");
    WSSS_ASSERT(wsss_choice_has(wsss_train_optim_choices, (int)c->optim), "train-cls: optimizer");
    WSSS_ASSERT(wsss_choice_has(wsss_pool_choices, (int)c->pool), "train-cls: pooling");
    WSSS_ASSERT(wsss_choice_has(wsss_cls_lr_policy_choices, (int)c->lr_policy), "train-cls: lr policy");
    WSSS_ASSERT(wsss_choice_has(wsss_method_choices, c->method), "train-cls: method");
    if (c->nesterov && (c->optim != WSSS_OPTIM_SGD || !(c->momentum > 0)))
        return wsss_error_set("--nesterov needs --optim sgd and --momentum > 0 (got --optim %s, --momentum %g)",
                              wsss_choice_name(wsss_train_optim_choices, (int)c->optim), c->momentum);
    const wsss_method_ops *method = wsss_method_get((wsss_method_kind)c->method);
    if (method->check && method->check(c) != WSSS_OK) return WSSS_ERR;
    const int adversary = c->method == WSSS_METHOD_EADER || c->method == WSSS_METHOD_MCIS_EADER;
    if (!adversary && (c->adversary_weights || strcmp(c->adversary_arch, "resnet18") != 0))
        return wsss_error_set("--adversary-%s: only --method eader or mcis+eader trains an adversary",
                              c->adversary_weights ? "weights" : "arch");
    if (c->class_map && !c->extra_data)
        return wsss_error_set("--class-map %s: maps the classes of --extra-data folders (none given)", c->class_map);
    if (c->map_epoch < -1) return wsss_train_setting_error("map-epoch", c->map_epoch, "-1 (none) or an epoch index");
    if (!(c->bias_lr_mult >= 0 && c->bias_lr_mult <= 100))
        return wsss_train_setting_error("bias-lr-mult", c->bias_lr_mult, "0 <= F <= 100");
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

char *wsss_train_cls_map_model_path(const char *model_path, int epoch) {
    static const char ext[] = ".safetensors";
    const size_t n = strlen(model_path), k = sizeof ext - 1;
    const size_t base = n >= k && strcmp(model_path + n - k, ext) == 0 ? n - k : n;
    char *p = wsss_xmalloc(base + 32);
    snprintf(p, base + 32, "%.*s_e%d%s", (int)base, model_path, epoch, ext);
    return p;
}

/* The trainer loop, in two legs when the model after epoch index map_epoch is kept: up to that
 * epoch (its model written as the leg's final model), then on to the end by resuming from the
 * checkpoint the first leg wrote, which continues exactly as any --resume. A run resumed past that
 * epoch is one leg. (--stop-after counts each leg's steps.) */
static int run_loop(const wsss_train_cls_config *c, const wsss_train_loop *loop) {
    int64_t done = 0; /* epochs in the checkpoint resumed from */
    if (loop->resume_dir) {
        wsss_ckpt_state s;
        wsss_ckpt_state_init(&s);
        int rc = wsss_ckpt_load_state(loop->resume_dir, &s);
        done = s.epoch;
        wsss_ckpt_state_clear(&s);
        if (rc != WSSS_OK) return rc;
    }
    if (c->map_epoch < 0 || c->map_epoch >= c->epochs || done > c->map_epoch) return wsss_train_loop_run(loop);
    wsss_train_loop leg = *loop;
    leg.epochs = c->map_epoch + 1;
    char *kept = wsss_train_cls_map_model_path(loop->out, c->map_epoch);
    leg.out = kept;
    int rc = wsss_train_loop_run(&leg);
    free(kept);
    if (rc != WSSS_OK) return rc;
    leg = *loop;
    leg.resume_dir = loop->ckpt_dir;
    return wsss_train_loop_run(&leg);
}

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
    wsss_method_parts parts;
    memset(&parts, 0, sizeof parts);
    const wsss_method_ops *method = wsss_method_get((wsss_method_kind)c->method);
    char *cfg_json = NULL;
    int rc = WSSS_ERR;

    /* labels need no masks (cls_labels.txt) */
    wsss_dataset_opts dopt;
    wsss_dataset_opts_default(&dopt);
    dopt.split = c->split;
    dopt.masks = WSSS_MASKS_OPTIONAL;
    dopt.skip_bad = c->skip_bad;
    dopt.coco_annotations = c->coco_annotations;
    dopt.coco_images = c->coco_images;
    dopt.coco_masks = c->coco_masks;
    if (wsss_dataset_open(c->data, &dopt, &ds) != WSSS_OK) goto done;
    if (!ds->has_labels) {
        wsss_error_set("%s: no image-level labels (cls_labels.txt or masks) for split %s", ds->root, c->split);
        goto done;
    }
    if (ds->num_classes < 2) {
        wsss_error_set("%s: the dataset has no foreground class", ds->root);
        goto done;
    }
    if (c->extra_data) {
        wsss_dataset *all;
        if (wsss_dataset_with_extra(ds, c->extra_data, c->class_map, &all) != WSSS_OK) goto done;
        wsss_dataset_free(ds);
        ds = all;
    }
    if (wsss_classifier_create_method(&cls, c->arch, ds->num_classes - 1, c->method) != WSSS_OK ||
        wsss_train_model_start(&cls.m, c->seed, 0x494e4954ULL, c->backbone_weights, resume_dir) != WSSS_OK)
        goto done;
    if (method->reset) { /* the method's networks: a stream of their own */
        wsss_rng method_rng;
        wsss_rng_seed3(&method_rng, (uint64_t)c->seed, 0x4d455448ULL, (uint64_t)c->method);
        method->reset(&cls, &method_rng);
    }
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
    if (method->loader) method->loader(&cls, &lo);
    if (wsss_train_check_bn_values(&cls.m, &lo, ds->n, c->size, "--size") != WSSS_OK) goto done;
    if (wsss_loader_new(ds, &lo, &loader) != WSSS_OK) goto done;

    opt = wsss_train_cls_optim_new(c, wsss_train_cls_head_mult(c), &cls.m.params);

    const int64_t spe = wsss_loader_batches_per_epoch(loader);
    wsss_lr_schedule sched;
    if (c->lr_policy == WSSS_LR_POLY) {
        sched = wsss_lr_poly(c->lr, c->lr_power, (int64_t)c->epochs * spe);
    } else if (c->lr_policy == WSSS_LR_CONSTANT) {
        sched = wsss_lr_constant(c->lr);
    } else {
        int nm;
        int64_t ms[WSSS_LR_MAX_MILESTONES];
        if (parse_steps(c->lr_steps, c->epochs, spe, &nm, ms) != WSSS_OK) goto done;
        sched = wsss_lr_step(c->lr, c->lr_gamma, nm, ms);
    }
    /* the networks the method trains beside the classifier (EADER's adversary) */
    if (method->parts_begin && method->parts_begin(c, &cls, &sched, resume_dir, &parts) != WSSS_OK) goto done;

    cfg_json = wsss_cfg_to_json(&wsss_train_cls_config_table, c);
    char announce[512];
    const int named = c->method != WSSS_METHOD_CAM; /* the baseline's line as before */
    snprintf(announce, sizeof announce, "train-cls: %s%s%s, %lld images, %d classes, %d epochs x %lld steps (batch %d)",
             named ? method->name : "", named ? " on " : "", cls.arch, (long long)ds->n, ds->num_classes - 1,
             c->epochs, (long long)spe, c->batch);
    cls_step st = {method, {c, ds, &cls, &parts, NULL}, NULL};
    const wsss_train_loop loop = {
        .stage = "train-cls", .ckpt_dir = ckpt, .resume_dir = resume_dir, .log_path = logp, .config_json = cfg_json,
        .epochs = c->epochs, .log_every = c->log_every, .progress = c->progress, .seed = c->seed, .sync_bn = c->sync_bn,
        .stop_after = c->stop_after, .announce = announce, .params = &cls.m.params, .opt = opt, .sched = &sched,
        .loader = loader, .step = cls_step_fn, .step_user = &st, .step_ctx = &st.ctx, .out = out,
        .save = save_classifier, .model = &cls, .n_extra = parts.n, .extra = parts.part, .part_name = parts.first,
        .phase = parts.phase, .phase_user = parts.phase_user};
    rc = run_loop(c, &loop);
done:
    if (method->parts_end) method->parts_end(&parts);
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
