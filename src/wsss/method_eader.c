/* EADER (method.h; specs/eader.md): the classifier is the localizer; an adversary classifier
 * (ResNet-18 by default) trained beside it as a second trainer part tries to recognise each
 * labelled class in the image with that class's attention erased (eader.h), in alternating blocks
 * of steps. The adversary is not part of the model file: the localizer is written as an ordinary
 * classifier (metadata method eader), so `wsss cam` and everything after it read it unchanged; its
 * maps are its CAM (Grad-CAM of a GAP + linear head). */
#include <stdlib.h>
#include <string.h>

#include "wsss/eader.h"
#include "wsss/error.h"
#include "wsss/method.h"
#include "wsss/method_internal.h"
#include "wsss/train_cls.h"
#include "wsss/train_common.h"

/* §5: ResNet-101 at 448, RandomResizedCrop (0.08-1) + flip, no jitter, 10 epochs of 16 images
 * with the last batch kept, SGD lr 0.01 constant, momentum 0.9, weight decay 1e-4 on every
 * parameter, no parameter groups; BCE on the probabilities */
static void eader_recipe(wsss_train_cls_config *c) {
    c->arch = "resnet101";
    c->epochs = 10;
    c->batch = 16;
    c->size = 448;
    c->rrc_min = 0.08;
    c->hflip = 0.5;
    c->jitter = 0.0;
    c->optim = WSSS_OPTIM_SGD;
    c->lr = 0.01;
    c->momentum = 0.9;
    c->nesterov = 0;
    c->weight_decay = 1e-4;
    c->bias_decay = 1;
    c->head_lr_mult = 1.0;
    c->bias_lr_mult = 1.0;
    c->lr_policy = WSSS_LR_CONSTANT;
    c->loss = WSSS_CLS_LOSS_BCE;
    c->pool = WSSS_POOL_GAP;
}

/* a classifier arch (a backbone with its class head), named by option for the message */
static int check_classifier_arch(const char *option, const char *arch) {
    wsss_arch a;
    if (wsss_arch_parse(arch, &a) != WSSS_OK) return wsss_error_prefix("--%s", option);
    if (a.seg_head != WSSS_HEAD_NONE)
        return wsss_error_set("--%s %s: --method eader needs a classifier with a class activation map (GAP + linear "
                              "or the CAM head: resnet18|34|50|101|152[-os16|-os8] or vgg16-deeplab)",
                              option, arch);
    return WSSS_OK;
}

int wsss_eader_check_erasing(const wsss_train_cls_config *c) {
    if (c->pool != WSSS_POOL_GAP)
        return wsss_error_set("--pool %s: --method eader's Grad-CAM is the CAM only for GAP class scores (expected gap)",
                              wsss_choice_name(wsss_pool_choices, (int)c->pool));
    if (check_classifier_arch("arch", c->arch) != WSSS_OK ||
        check_classifier_arch("adversary-arch", c->adversary_arch) != WSSS_OK)
        return WSSS_ERR;
    if (!(c->alpha >= 0 && c->alpha <= 100)) return wsss_train_setting_error("alpha", c->alpha, "0 <= F <= 100");
    if (!(c->beta >= 0 && c->beta <= 100)) return wsss_train_setting_error("beta", c->beta, "0 <= F <= 100");
    if (c->block_steps < 1) return wsss_train_setting_error("block-steps", c->block_steps, ">= 1");
    if (!(c->mask_slope > 0 && c->mask_slope <= 1e4))
        return wsss_train_setting_error("mask-slope", c->mask_slope, "0 < F <= 10000");
    if (!(c->mask_center > 0 && c->mask_center < 1))
        return wsss_train_setting_error("mask-center", c->mask_center, "0 < F < 1");
    return WSSS_OK;
}

static int eader_check(const wsss_train_cls_config *c) {
    if (wsss_eader_check_erasing(c) != WSSS_OK) return WSSS_ERR;
    if (c->loss != WSSS_CLS_LOSS_BCE)
        return wsss_error_set("--loss %s: --method eader trains the localizer with BCE on its probabilities (expected "
                              "bce)",
                              wsss_choice_name(wsss_cls_loss_choices, (int)c->loss));
    return WSSS_OK;
}

/* ---- the adversary: trainer part 1 ---- */

/* §5: step mod 2·block < block trains the localizer (part 0), else the adversary (part 1); the
 * blocks run on across epoch boundaries */
static unsigned eader_phase(void *user, int64_t step) {
    const wsss_eader_state *s = user;
    return step % (2 * s->block) < s->block ? 1u : 2u;
}

static void eader_parts_end(wsss_method_parts *mp) {
    wsss_eader_state *s = mp->state;
    if (s) {
        if (s->opt) wsss_optim_free(s->opt);
        wsss_classifier_free(&s->adversary);
        free(s);
    }
    memset(mp, 0, sizeof *mp);
}

static int eader_parts_begin(const wsss_train_cls_config *c, const wsss_classifier *loc, const wsss_lr_schedule *sched,
                             const char *resume_dir, wsss_method_parts *mp) {
    memset(mp, 0, sizeof *mp);
    wsss_eader_state *s = wsss_xcalloc(1, sizeof *s);
    mp->state = s;
    if (wsss_classifier_create(&s->adversary, c->adversary_arch, loc->num_classes) != WSSS_OK) {
        wsss_error_prefix("--adversary-arch");
        eader_parts_end(mp);
        return WSSS_ERR;
    }
    /* its own initialisation stream; ImageNet weights unless the checkpoint replaces them */
    if (wsss_train_model_start(&s->adversary.m, c->seed, 0x41445653ULL, c->adversary_weights, resume_dir) != WSSS_OK) {
        wsss_error_prefix("--adversary-weights");
        eader_parts_end(mp);
        return WSSS_ERR;
    }
    /* one erased copy may be the adversary's whole batch: its batch norm needs more than one value */
    const int64_t last = (c->size + s->adversary.output_stride - 1) / s->adversary.output_stride;
    if (s->adversary.m.a.backbone == WSSS_BACKBONE_RESNET && last * last < 2) {
        wsss_error_set("--size %d leaves the adversary %s a 1x1 last feature map, and an erased copy alone then gives "
                       "its batch norm a single value per channel: use a larger --size",
                       c->size, c->adversary_arch);
        eader_parts_end(mp);
        return WSSS_ERR;
    }
    const double head_mult = c->head_lr_mult >= 0 ? c->head_lr_mult : c->adversary_weights ? 10.0 : 1.0;
    s->opt = wsss_train_cls_optim_new(c, head_mult, &s->adversary.m.params);
    s->block = c->block_steps;
    s->opts = (wsss_eader_opts){c->alpha, c->beta, c->reg, c->mask_slope, c->mask_center};
    mp->n = 1;
    mp->part[0] = (wsss_trainer_part){.name = "adversary", .params = &s->adversary.m.params, .opt = s->opt,
                                      .sched = *sched};
    mp->first = "localizer";
    mp->phase = eader_phase;
    mp->phase_user = s;
    return WSSS_OK;
}

/* ---- the step ---- */

wsss_tensor *wsss_eader_class_weight(const wsss_classifier *c) {
    const wsss_linear_layer *fc = wsss_head_impl(&c->m.head, WSSS_HEAD_FC);
    if (fc) return fc->weight;
    const wsss_cam_head *cam = wsss_head_impl(&c->m.head, WSSS_HEAD_CAM);
    WSSS_ASSERT(cam, "eader: a classifier has an fc or a CAM head");
    return cam->cls.weight;
}

static wsss_tensor *localize(void *net, wsss_ctx *ctx, wsss_tensor *x, wsss_tensor **features, wsss_tensor **weight) {
    wsss_classifier *c = net;
    wsss_tensor *logits = wsss_model_forward(ctx, &c->m, x, 1, features, NULL);
    *weight = wsss_eader_class_weight(c);
    return logits;
}

wsss_tensor *wsss_eader_adversary_logits(void *net, wsss_ctx *ctx, wsss_tensor *x) {
    return wsss_model_forward(ctx, &((wsss_classifier *)net)->m, x, 1, NULL, NULL);
}

static wsss_tensor *eader_step_loss(wsss_ctx *ctx, const wsss_method_run *r, const wsss_batch *b, int64_t epoch,
                                    wsss_trainer_stats *stats) {
    (void)epoch;
    wsss_eader_state *s = r->parts->state;
    const wsss_eader_nets nets = {localize, r->cls, wsss_eader_adversary_logits, &s->adversary};
    const int adversary_step = !(r->trainer->active & 1u);
    wsss_eader_terms tm;
    wsss_tensor *loss = wsss_eader_loss(ctx, &nets, &s->opts, b->images, b->labels, adversary_step, &tm);
    static const char *const names[] = {"loc", "reg", "am", "adv", "pairs"};
    const double values[] = {tm.loc, tm.reg, tm.am, tm.adv, (double)tm.pairs};
    stats->n_aux = 5;
    for (int i = 0; i < 5; i++) {
        stats->aux_name[i] = names[i];
        stats->aux[i] = values[i];
    }
    stats->has_part_loss = 1;
    stats->part_loss[0] = tm.localizer;
    stats->part_loss[1] = tm.adversary;
    return loss;
}

/* §5: the last batch is kept (batch norm check in train-cls still applies) */
static void eader_loader(const wsss_classifier *c, wsss_loader_opts *lo) {
    (void)c;
    lo->drop_last = 0;
}

/* the localizer's CAM, as the baseline's (Grad-CAM of a GAP + linear head) */
static wsss_tensor *eader_maps(wsss_ctx *ctx, wsss_classifier *c, wsss_tensor *x) {
    return wsss_method_cam.maps(ctx, c, x);
}

const wsss_method_ops wsss_method_eader = {.kind = WSSS_METHOD_EADER,
                                           .name = "eader",
                                           .recipe = eader_recipe,
                                           .check = eader_check,
                                           .parts_begin = eader_parts_begin,
                                           .parts_end = eader_parts_end,
                                           .loader = eader_loader,
                                           .loss = eader_step_loss,
                                           .maps = eader_maps};
