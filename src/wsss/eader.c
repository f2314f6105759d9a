/* EADER's step (eader.h, specs/eader.md §2-§4): attention maps, soft masks, erased copies and the
 * losses, composed from differentiable ops. */
#include "wsss/eader.h"

#include <math.h>
#include <stdlib.h>

#include "wsss/error.h"
#include "wsss/models.h"
#include "wsss/ops.h"

const wsss_choice wsss_eader_reg_choices[] = {{"mean", 0}, {"sum", 1}, {NULL, 0}};

wsss_eader_opts wsss_eader_opts_default(void) {
    wsss_eader_opts o = {.alpha = 0.05, .beta = 1e-5, .reg_sum = 0, .mask_slope = 100.0, .mask_center = 0.5};
    return o;
}

int64_t wsss_eader_pairs(wsss_ctx *ctx, const wsss_tensor *labels, wsss_tensor **image, wsss_tensor **pair) {
    WSSS_ASSERT(labels->ndim == 2, "eader pairs: labels B,K");
    const int64_t B = labels->shape[0], K = labels->shape[1];
    int64_t n = 0, rounds = 0;
    int64_t *count = wsss_xcalloc((size_t)(B ? B : 1), sizeof *count);
    for (int64_t b = 0; b < B; b++) {
        for (int64_t c = 0; c < K; c++) count[b] += wsss_tensor_get(labels, b * K + c) > 0.5;
        n += count[b];
        if (count[b] > rounds) rounds = count[b];
    }
    *image = *pair = NULL;
    if (n > 0) {
        *image = wsss_ctx_tensor(ctx, WSSS_I64, 1, (int64_t[]){n});
        *pair = wsss_ctx_tensor(ctx, WSSS_I64, 1, (int64_t[]){n});
        int64_t *img = (*image)->data, *pr = (*pair)->data, k = 0;
        /* round r: the r-th positive class (ascending) of every image that has one */
        for (int64_t r = 0; r < rounds; r++)
            for (int64_t b = 0; b < B; b++) {
                if (count[b] <= r) continue;
                int64_t seen = 0;
                for (int64_t c = 0; c < K; c++) {
                    if (!(wsss_tensor_get(labels, b * K + c) > 0.5)) continue;
                    if (seen++ == r) {
                        img[k] = b;
                        pr[k++] = b * K + c;
                        break;
                    }
                }
            }
        WSSS_ASSERT(k == n, "eader pairs: count");
    }
    free(count);
    return n;
}

wsss_tensor *wsss_eader_minmax(wsss_ctx *ctx, wsss_tensor *u) {
    WSSS_ASSERT(u->ndim == 4 && u->shape[1] == 1, "eader minmax: maps N,1,H,W");
    const int64_t n = u->shape[0], p = u->shape[2] * u->shape[3];
    wsss_tensor *flat = wsss_reshape(ctx, wsss_contiguous(ctx, u), 2, (int64_t[]){n, p});
    /* first occurrences (row-major): the gradient reaches one argmin and one argmax pixel */
    wsss_tensor *lo = wsss_min(ctx, flat, 1, 1, NULL), *hi = wsss_max(ctx, flat, 1, 1, NULL);
    wsss_tensor *range = wsss_sub(ctx, hi, lo);
    /* a constant map is divided by 1 instead of 0: a constant added to the divisor, so the
     * gradient through the range is unchanged (it is 0 there, as the numerator is) */
    wsss_tensor *flat_range = wsss_ctx_tensor(ctx, range->dtype, 2, (int64_t[]){n, 1});
    for (int64_t i = 0; i < n; i++) wsss_tensor_set(flat_range, i, wsss_tensor_get(range, i) == 0.0 ? 1.0 : 0.0);
    wsss_tensor *a = wsss_div(ctx, wsss_sub(ctx, flat, lo), wsss_add(ctx, range, flat_range));
    return wsss_reshape(ctx, a, 4, u->shape);
}

wsss_tensor *wsss_eader_attention(wsss_ctx *ctx, wsss_tensor *features, wsss_tensor *class_weight,
                                  const wsss_tensor *pair, int64_t height, int64_t width) {
    WSSS_ASSERT(features->ndim == 4 && pair->dtype == WSSS_I64 && pair->ndim == 1, "eader attention: arguments");
    const int64_t B = features->shape[0], C = features->shape[1], h = features->shape[2], w = features->shape[3];
    const int64_t K = class_weight->shape[0], n = pair->shape[0];
    WSSS_ASSERT(wsss_tensor_numel(class_weight) == K * C, "eader attention: class weights K,C over the features");
    /* Grad-CAM's weights are gradient values: constants (§2.2) */
    wsss_tensor *weight = wsss_reshape(ctx, wsss_detach(ctx, class_weight), 2, (int64_t[]){K, C});
    wsss_tensor *cam = wsss_linear_cam(ctx, weight, features); /* B,K,h,w */
    wsss_tensor *maps = wsss_reshape(ctx, wsss_contiguous(ctx, cam), 3, (int64_t[]){B * K, h, w});
    wsss_tensor *u = wsss_relu(ctx, wsss_index_select(ctx, maps, 0, pair));
    u = wsss_reshape(ctx, u, 4, (int64_t[]){n, 1, h, w});
    return wsss_eader_minmax(ctx, wsss_resize_bilinear(ctx, u, height, width, 0));
}

/* labels in dtype dt, a ctx tensor (the loader's are F32) */
static wsss_tensor *labels_as(wsss_ctx *ctx, const wsss_tensor *labels, wsss_dtype dt) {
    wsss_tensor *t = wsss_ctx_tensor(ctx, dt, labels->ndim, labels->shape);
    for (int64_t i = 0; i < wsss_tensor_numel(labels); i++) wsss_tensor_set(t, i, wsss_tensor_get(labels, i));
    return t;
}

wsss_tensor *wsss_eader_erase(wsss_ctx *ctx, const wsss_eader_nets *nets, const wsss_eader_opts *o, wsss_tensor *x,
                              const wsss_tensor *labels, wsss_tensor *features, wsss_tensor *class_weight,
                              int adversary_step, wsss_eader_terms *terms) {
    WSSS_ASSERT(x->ndim == 4 && labels->ndim == 2 && labels->shape[0] == x->shape[0], "eader: x B,3,H,W and "
                "labels B,K");
    const int64_t K = labels->shape[1], H = x->shape[2], W = x->shape[3];
    wsss_tensor *y = labels_as(ctx, labels, features->dtype), *image, *pair;
    terms->pairs = wsss_eader_pairs(ctx, y, &image, &pair);
    terms->reg = terms->am = terms->adv = 0.0;
    if (terms->pairs == 0) return NULL;
    const int64_t n = terms->pairs;
    wsss_tensor *a = wsss_eader_attention(ctx, features, class_weight, pair, H, W);
    if (adversary_step) a = wsss_detach(ctx, a); /* the adversary's step does not train the localizer */
    wsss_tensor *reg = wsss_mean_all(ctx, a);
    if (o->reg_sum) reg = wsss_mul_scalar(ctx, reg, (double)(H * W));
    wsss_tensor *mask = wsss_sigmoid(ctx, wsss_mul_scalar(ctx, wsss_add_scalar(ctx, a, -o->mask_center), o->mask_slope));
    wsss_tensor *erased = wsss_mul(ctx, wsss_index_select(ctx, x, 0, image), wsss_rsub_scalar(ctx, mask, 1.0));
    wsss_tensor *q = wsss_sigmoid(ctx, nets->classify(nets->adversary, ctx, erased));
    WSSS_ASSERT(q->ndim == 2 && q->shape[0] == n && q->shape[1] == K, "eader: adversary logits N,K");
    /* the adversary's probability of each pair's erased class: q[n, c_n] at n·K + c_n */
    wsss_tensor *at = wsss_ctx_tensor(ctx, WSSS_I64, 1, (int64_t[]){n});
    for (int64_t i = 0; i < n; i++) ((int64_t *)at->data)[i] = i * K + ((int64_t *)pair->data)[i] % K;
    wsss_tensor *am = wsss_mean_all(ctx, wsss_index_select(ctx, wsss_reshape(ctx, q, 1, (int64_t[]){n * K}), 0, at));
    wsss_tensor *loss_adv = wsss_bce(ctx, q, wsss_index_select(ctx, y, 0, image));
    terms->reg = wsss_tensor_get(reg, 0);
    terms->am = wsss_tensor_get(am, 0);
    terms->adv = wsss_tensor_get(loss_adv, 0);
    if (adversary_step) return loss_adv;
    wsss_tensor *weighted_am = wsss_mul_scalar(ctx, am, o->alpha);
    return o->beta > 0 ? wsss_add(ctx, wsss_mul_scalar(ctx, reg, o->beta), weighted_am) : weighted_am;
}

wsss_tensor *wsss_eader_loss(wsss_ctx *ctx, const wsss_eader_nets *nets, const wsss_eader_opts *o, wsss_tensor *x,
                             const wsss_tensor *labels, int adversary_step, wsss_eader_terms *terms) {
    const int64_t K = labels->shape[1];
    wsss_eader_terms tm = {0};
    wsss_tensor *features = NULL, *class_weight = NULL;
    wsss_tensor *logits = nets->localize(nets->localizer, ctx, x, &features, &class_weight);
    WSSS_ASSERT(logits->ndim == 2 && logits->shape[1] == K, "eader loss: localizer logits B,K");
    wsss_tensor *loss_loc = wsss_bce(ctx, wsss_sigmoid(ctx, logits), labels_as(ctx, labels, logits->dtype));
    tm.loc = wsss_tensor_get(loss_loc, 0);
    wsss_tensor *erasing = wsss_eader_erase(ctx, nets, o, x, labels, features, class_weight, adversary_step, &tm);
    tm.localizer = tm.loc + (o->beta > 0 ? o->beta * tm.reg : 0.0) + o->alpha * tm.am;
    tm.adversary = tm.adv;
    if (terms) *terms = tm;
    if (!adversary_step) return erasing ? wsss_add(ctx, loss_loc, erasing) : loss_loc;
    /* nothing erased: nothing for the adversary to learn */
    return erasing ? erasing : wsss_ctx_tensor(ctx, logits->dtype, 0, NULL);
}
