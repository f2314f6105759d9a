/* MCIS + EADER (method.h; specs/eader.md, specs/mcis.md): EADER's adversarial erasing with MCIS's
 * co-attention classifier as the localizer. The classifier, its pair batches, its recipe and its
 * test-time co-attention maps (what `wsss cam` makes of the model) are MCIS's; the adversary, the
 * phase rule and the erasing are EADER's. The erasing is driven by the Grad-CAM of the basic CAM
 * head on x1 (the pair's first image, with its labels), whose features and scores MCIS's loss has
 * computed already (x1 runs through the classifier once). A localizer step minimises MCIS's total
 * loss + β L_reg + α L_am; an adversary step the adversary's L_adv on x1's erased copies. */
#include <math.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/mcis.h"
#include "wsss/method.h"
#include "wsss/method_internal.h"
#include "wsss/train_cls.h"

/* MCIS's recipe for the classifier; the adversary takes the same optimizer settings */
static void recipe(wsss_train_cls_config *c) { wsss_method_mcis.recipe(c); }

static int check(const wsss_train_cls_config *c) {
    return wsss_method_mcis.check(c) == WSSS_OK && wsss_eader_check_erasing(c) == WSSS_OK ? WSSS_OK : WSSS_ERR;
}

static int build(wsss_classifier *c) { return wsss_method_mcis.build(c); }
static void reset(wsss_classifier *c, wsss_rng *rng) { wsss_method_mcis.reset(c, rng); }
static void free_net(wsss_classifier *c) { wsss_method_mcis.free(c); }
static void loader(const wsss_classifier *c, wsss_loader_opts *lo) { wsss_method_mcis.loader(c, lo); }

static int parts_begin(const wsss_train_cls_config *c, const wsss_classifier *cls, const wsss_lr_schedule *sched,
                       const char *resume_dir, wsss_method_parts *mp) {
    return wsss_method_eader.parts_begin(c, cls, sched, resume_dir, mp);
}
static void parts_end(wsss_method_parts *mp) { wsss_method_eader.parts_end(mp); }

/* The classifier as MCIS's loss runs it, keeping x1's scores and features for the erasing. */
typedef struct x1_pass {
    wsss_classifier *cls;
    wsss_tensor *x1, *scores, *features;
} x1_pass;

static wsss_tensor *scores_keeping_x1(void *net, wsss_ctx *ctx, wsss_tensor *x, wsss_tensor **features) {
    x1_pass *p = net;
    wsss_tensor *s = wsss_model_forward(ctx, &p->cls->m, x, 1, features, NULL);
    if (x == p->x1 && !p->scores) {
        p->scores = s;
        p->features = *features;
    }
    return s;
}

static wsss_tensor *step_loss(wsss_ctx *ctx, const wsss_method_run *r, const wsss_batch *b, int64_t epoch,
                              wsss_trainer_stats *stats) {
    wsss_eader_state *s = r->parts->state;
    const wsss_eader_nets nets = {NULL, NULL, wsss_eader_adversary_logits, &s->adversary};
    const int adversary_step = !(r->trainer->active & 1u);
    x1_pass pass = {r->cls, b->images, NULL, NULL};
    wsss_mcis_terms mt = {0};
    wsss_tensor *mcis = NULL;
    if (!adversary_step) {
        wsss_mcis_views v = {b->images, b->images2, {NULL, NULL, NULL}};
        if (wsss_mcis_self_views(ctx, r, b, v.self) != WSSS_OK) return NULL;
        mcis = wsss_mcis_loss(ctx, scores_keeping_x1, &pass, r->cls->method_net, &v, b->labels, b->labels2,
                              epoch >= r->cfg->contrastive_from, &mt);
    } else { /* only x1's maps: the classifier is not trained in this step */
        scores_keeping_x1(&pass, ctx, b->images, &pass.features);
    }
    WSSS_ASSERT(pass.scores && pass.features, "mcis+eader: x1 ran through the classifier");
    wsss_eader_terms et = {0};
    wsss_tensor *erasing = wsss_eader_erase(ctx, &nets, &s->opts, b->images, b->labels, pass.features,
                                            wsss_eader_class_weight(r->cls), adversary_step, &et);
    const double mcis_total = mt.basic + mt.co + mt.self_basic + mt.self_co + mt.contrast;
    static const char *const names[] = {"basic", "co", "self", "contrast", "reg", "am", "adv", "pairs"};
    /* MCIS's terms are not run in the adversary's steps: null in the log */
    const double unrun = adversary_step ? NAN : 0.0;
    const double values[] = {mt.basic + unrun, mt.co + unrun, mt.self_basic + mt.self_co + unrun, mt.contrast + unrun,
                             et.reg, et.am, et.adv, (double)et.pairs};
    stats->n_aux = 8;
    for (int i = 0; i < 8; i++) {
        stats->aux_name[i] = names[i];
        stats->aux[i] = values[i];
    }
    stats->has_part_loss = 1;
    /* the localizer's objective is only known in its own steps (MCIS's terms are not run otherwise) */
    stats->part_loss[0] = adversary_step ? NAN : mcis_total + (s->opts.beta > 0 ? s->opts.beta * et.reg : 0.0) +
                                                     s->opts.alpha * et.am;
    stats->part_loss[1] = et.adv;
    if (!adversary_step) return erasing ? wsss_add(ctx, mcis, erasing) : mcis;
    return erasing ? erasing : wsss_ctx_tensor(ctx, pass.scores->dtype, 0, NULL);
}

static wsss_tensor *maps(wsss_ctx *ctx, wsss_classifier *c, wsss_tensor *x) { return wsss_method_mcis.maps(ctx, c, x); }

static int image_maps(const wsss_method_maps *mm, int64_t i, const wsss_image *img, int n, const int *classes,
                      wsss_tensor **out) {
    return wsss_method_mcis.image_maps(mm, i, img, n, classes, out);
}

const wsss_method_ops wsss_method_mcis_eader = {.kind = WSSS_METHOD_MCIS_EADER,
                                                .name = "mcis+eader",
                                                .recipe = recipe,
                                                .check = check,
                                                .build = build,
                                                .reset = reset,
                                                .free = free_net,
                                                .parts_begin = parts_begin,
                                                .parts_end = parts_end,
                                                .loader = loader,
                                                .loss = step_loss,
                                                .maps = maps,
                                                .image_maps = image_maps};
