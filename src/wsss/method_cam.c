/* The baseline method (method.h): class activation maps of the zoo classifier's own head, trained
 * with a multi-label loss on the class scores pooled from them (train_cls.h: --loss, --pool). */
#include <math.h>

#include "wsss/method.h"
#include "wsss/ops.h"
#include "wsss/train_cls.h"

static wsss_tensor *cam_loss(wsss_ctx *ctx, const wsss_method_run *r, const wsss_batch *b, int64_t epoch,
                             wsss_trainer_stats *stats) {
    (void)epoch;
    const wsss_train_cls_config *c = r->cfg;
    wsss_tensor *cam = NULL;
    wsss_tensor *logits = wsss_classifier_forward(ctx, r->cls, b->images, 1, c->pool == WSSS_POOL_GAP ? NULL : &cam);
    if (c->pool != WSSS_POOL_GAP) /* the same CAM, pooled otherwise */
        logits = wsss_classifier_pool_scores(ctx, cam, wsss_classifier_bias(r->cls), c->pool, c->lse_r);
    wsss_tensor *loss = c->loss == WSSS_CLS_LOSS_BCE ? wsss_bce_with_logits(ctx, logits, b->labels)
                                                     : wsss_multilabel_soft_margin(ctx, logits, b->labels);
    /* training accuracy signal: fraction of (image, class) decisions right at logit 0 */
    const float *lg = wsss_f32(logits), *y = wsss_f32(b->labels);
    int64_t n = wsss_tensor_numel(logits), right = 0;
    for (int64_t i = 0; i < n; i++) right += (lg[i] > 0) == (y[i] > 0.5f);
    stats->n_aux = 1;
    stats->aux_name[0] = "label_acc";
    stats->aux[0] = n ? (double)right / (double)n : NAN;
    return loss;
}

static wsss_tensor *cam_maps(wsss_ctx *ctx, wsss_classifier *c, wsss_tensor *x) {
    wsss_tensor *cam = NULL;
    wsss_classifier_forward(ctx, c, x, 0, &cam);
    return cam;
}

const wsss_method_ops wsss_method_cam = {
    .kind = WSSS_METHOD_CAM, .name = "cam", .loss = cam_loss, .maps = cam_maps};
