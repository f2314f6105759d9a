/* MCIS (method.h; specs/mcis.md §2-§5): the co-attention module (coattention.h) on the feature map
 * the classifier's head reads — extra_convs of vgg16-deeplab's CAM head, layer4 of a ResNet — trained
 * on class-sharing pairs (the loader's pair mode) with the cross pair, x1's three un-jittered self
 * pairs and the gated contrastive terms (mcis.h). Maps: the test-time co-attention of §6
 * (mcis_maps.h); the basic CAM head's as the ablation without it.
 * A ResNet's batch norm sees each view's batch on its own, as in the reference's separate passes;
 * x1 once means its running statistics move once per step, not four times (VGG has none). */
#include <math.h>
#include <stdlib.h>

#include "wsss/error.h"
#include "wsss/mcis.h"
#include "wsss/mcis_maps.h"
#include "wsss/method.h"
#include "wsss/method_internal.h"
#include "wsss/train_cls.h"

/* §5: 15 epochs of 5 pairs at 256 (plain resize, ColorJitter 0.3/0.3/0.3/0.1, no flip), SGD with
 * Nesterov momentum 0.9, lr 1e-3 x 0.1 at epochs 5 and 10, weight decay 5e-4 on every parameter,
 * groups x1 / x2 / x10 / x20 */
static void mcis_recipe(wsss_train_cls_config *c) {
    c->arch = "vgg16-deeplab";
    c->epochs = 15;
    c->batch = 5;
    c->size = 256;
    c->rrc_min = 1.0;
    c->hflip = 0.0;
    c->jitter = 0.3;
    c->optim = WSSS_OPTIM_SGD;
    c->lr = 1e-3;
    c->momentum = 0.9;
    c->nesterov = 1;
    c->weight_decay = 5e-4;
    c->bias_decay = 1;
    c->head_lr_mult = 10.0;
    c->lr_policy = WSSS_LR_STEP;
    c->lr_steps = "5,10";
    c->lr_gamma = 0.1;
    c->map_epoch = 10; /* the model the maps use (§5, §10.5) */
}

static int mcis_check(const wsss_train_cls_config *c) {
    if (c->pool != WSSS_POOL_GAP)
        return wsss_error_set("--pool %s: --method mcis scores classes by GAP (expected gap)",
                              wsss_choice_name(wsss_pool_choices, (int)c->pool));
    if (c->loss != WSSS_CLS_LOSS_MLSM)
        return wsss_error_set("--loss %s: --method mcis uses the multi-label soft margin (expected mlsm)",
                              wsss_choice_name(wsss_cls_loss_choices, (int)c->loss));
    wsss_arch a;
    if (wsss_arch_parse(c->arch, &a) != WSSS_OK) return wsss_error_prefix("--arch");
    if (a.seg_head != WSSS_HEAD_NONE)
        return wsss_error_set("--arch %s: --method mcis puts its co-attention on a classifier's feature map (expected "
                              "a backbone: resnet18|34|50|101|152[-os16|-os8] or vgg16-deeplab)",
                              c->arch);
    if (c->contrastive_from < 0)
        return wsss_error_set("--contrastive-from %d: expected an epoch index >= 0", c->contrastive_from);
    return WSSS_OK;
}

static int mcis_build(wsss_classifier *c) {
    int64_t channels = 0;
    const wsss_cam_head *cam = wsss_head_impl(&c->m.head, WSSS_HEAD_CAM);
    if (cam) channels = cam->cfg.n_extra ? cam->cfg.mid_channels : cam->cfg.in_channels;
    else if (wsss_head_impl(&c->m.head, WSSS_HEAD_FC)) channels = c->m.resnet.out_channels;
    else
        return wsss_error_set("classifier %s: --method mcis needs a classifier head's feature map (a ResNet "
                              "with its fc, or vgg16-deeplab with its CAM head)",
                              c->arch);
    wsss_coattention *co = wsss_xcalloc(1, sizeof *co);
    wsss_coattention_init(co, &c->m.params, NULL, c->m.params.items[0].t->dtype, channels, c->num_classes,
                          WSSS_GROUP_NEW);
    c->method_net = co;
    return WSSS_OK;
}

static void mcis_reset(wsss_classifier *c, wsss_rng *rng) { wsss_coattention_reset_parameters(c->method_net, rng); }

static void mcis_free(wsss_classifier *c) {
    free(c->method_net);
    c->method_net = NULL;
}

static void mcis_loader(const wsss_classifier *c, wsss_loader_opts *lo) {
    lo->pair_mode = 1; /* §5: a partner sharing a class, drawn per sample from (seed, epoch, position) */
    /* §5: every image is an x1 once per epoch, the last batch smaller; a batch-norm backbone keeps
     * the shared rule (full batches), as a last batch of one image may leave one value per channel */
    if (c->m.a.backbone == WSSS_BACKBONE_VGG16_DEEPLAB) lo->drop_last = 0;
}

/* x1's un-jittered views (§4): hflip @size, @0.75 size, @2 size, from the dataset's files (PIL
 * bilinear resize of the whole image, ImageNet normalisation), in ctx. */
int wsss_mcis_self_views(wsss_ctx *ctx, const wsss_method_run *r, const wsss_batch *b, wsss_tensor *views[3]) {
    const int size = r->cfg->size, sizes[3] = {size, (int)lround(0.75 * size), 2 * size};
    if (sizes[1] < r->cls->m.min_input)
        return wsss_error_set("--size %d: the 0.75x self-pair view (%d px) is smaller than %s accepts (%lld px)", size,
                              sizes[1], r->cls->arch, (long long)r->cls->m.min_input);
    for (int v = 0; v < 3; v++) views[v] = wsss_ctx_tensor(ctx, WSSS_F32, 4, (int64_t[]){b->n, 3, sizes[v], sizes[v]});
    for (int64_t k = 0; k < b->n; k++) {
        wsss_sample smp;
        if (wsss_dataset_load(r->ds, b->samples[k], WSSS_LOAD_IMAGE, &smp) != WSSS_OK) return WSSS_ERR;
        for (int v = 0; v < 3; v++) wsss_mcis_write_view(&smp.image, sizes[v], v == 0, views[v], k);
        wsss_sample_free(&smp);
    }
    return WSSS_OK;
}

/* the classifier as the loss's network: scores and the head's feature map, training mode */
static wsss_tensor *classifier_scores(void *net, wsss_ctx *ctx, wsss_tensor *x, wsss_tensor **features) {
    return wsss_model_forward(ctx, &((wsss_classifier *)net)->m, x, 1, features, NULL);
}

static wsss_tensor *mcis_step_loss(wsss_ctx *ctx, const wsss_method_run *r, const wsss_batch *b, int64_t epoch,
                                   wsss_trainer_stats *stats) {
    wsss_mcis_views v = {b->images, b->images2, {NULL, NULL, NULL}};
    if (wsss_mcis_self_views(ctx, r, b, v.self) != WSSS_OK) return NULL;
    wsss_mcis_terms terms;
    wsss_tensor *loss = wsss_mcis_loss(ctx, classifier_scores, r->cls, r->cls->method_net, &v, b->labels, b->labels2,
                                       epoch >= r->cfg->contrastive_from, &terms);
    static const char *const names[] = {"basic", "co", "self", "contrast"};
    const double values[] = {terms.basic, terms.co, terms.self_basic + terms.self_co, terms.contrast};
    stats->n_aux = 4;
    for (int i = 0; i < 4; i++) {
        stats->aux_name[i] = names[i];
        stats->aux[i] = values[i];
    }
    return loss;
}

/* without test-time co-attention: the basic CAM head */
static wsss_tensor *mcis_maps(wsss_ctx *ctx, wsss_classifier *c, wsss_tensor *x) {
    return wsss_method_cam.maps(ctx, c, x);
}

static int mcis_image_maps(const wsss_method_maps *mm, int64_t i, const wsss_image *img, int n, const int *classes,
                           wsss_tensor **out) {
    const wsss_mcis_maps_opts o = {mm->size, mm->related, mm->seed};
    return wsss_mcis_image_maps(mm->ctx, mm->cls, mm->ds, i, img, n, classes, &o, out);
}

const wsss_method_ops wsss_method_mcis = {.kind = WSSS_METHOD_MCIS,
                                          .name = "mcis",
                                          .recipe = mcis_recipe,
                                          .check = mcis_check,
                                          .build = mcis_build,
                                          .reset = mcis_reset,
                                          .free = mcis_free,
                                          .loader = mcis_loader,
                                          .loss = mcis_step_loss,
                                          .maps = mcis_maps,
                                          .image_maps = mcis_image_maps};
