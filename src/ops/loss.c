/* Losses (0-dim results, mean reduction): shape checks, autograd bookkeeping, dispatch to
 * backend/ref/loss.c. Each op saves the contiguous inputs it read, nothing more. */
#include <math.h>
#include <stdio.h>

#include "backend/ref/loss.h"
#include "ops/op_inputs.h"
#include "wsss/error.h"
#include "wsss/ops.h"

static void check_pair(const wsss_tensor *x, const wsss_tensor *y, const char *op) {
    char msg[256], s1[64], s2[64];
    if (x->dtype != WSSS_F32 && x->dtype != WSSS_F64) {
        snprintf(msg, sizeof msg, "%s: expected F32 or F64 input, got %s", op, wsss_dtype_name(x->dtype));
        WSSS_ASSERT(0, msg);
    }
    if (y->dtype != x->dtype || !wsss_tensor_same_shape(x, y)) {
        snprintf(msg, sizeof msg, "%s: target %s %s must match input %s %s", op,
                 wsss_dtype_name(y->dtype), wsss_shape_str(y, s1, sizeof s1), wsss_dtype_name(x->dtype),
                 wsss_shape_str(x, s2, sizeof s2));
        WSSS_ASSERT(0, msg);
    }
}

/* A loss's two contiguous inputs: saved for the backward when recorded, else the temporaries dropped. */
static void keep_inputs(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *a, const wsss_tensor *ac,
                        const wsss_tensor *b, const wsss_tensor *bc) {
    if (n) {
        wsss_node_save(n, (wsss_tensor *)ac);
        wsss_node_save(n, (wsss_tensor *)bc);
    } else {
        drop_tmp(ctx, a, ac);
        drop_tmp(ctx, b, bc);
    }
}

static wsss_tensor *scalar_out(wsss_ctx *ctx, wsss_dtype dt, double v) {
    wsss_tensor *out = wsss_ctx_tensor(ctx, dt, 0, NULL);
    wsss_tensor_set(out, 0, v);
    return out;
}

/* ---------------- elementwise losses on (input, target) pairs ---------------- */

typedef enum { PAIR_BCE_LOGITS, PAIR_SOFT_MARGIN, PAIR_BCE } pair_kind;

typedef struct { pair_kind kind; } pair_attrs;

static const char *const k_pair_names[] = {"bce_with_logits", "multilabel_soft_margin", "bce"};

static void pair_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *gout) {
    pair_kind kind = ((pair_attrs *)n->attrs)->kind;
    wsss_tensor *x = n->inputs[0], *y = n->inputs[1];
    const wsss_tensor *xc = n->saved[0], *yc = n->saved[1];
    int64_t cnt = wsss_tensor_numel(x);
    double scale = wsss_tensor_get(gout, 0) / (double)cnt;
    wsss_tensor *gx = wsss_node_input_needs_grad(n, 0) ? wsss_ctx_tensor_like(ctx, xc) : NULL;
    wsss_tensor *gy = wsss_node_input_needs_grad(n, 1) ? wsss_ctx_tensor_like(ctx, yc) : NULL;
    int f32 = x->dtype == WSSS_F32;
    if (kind == PAIR_BCE) {
        if (f32) wsss_ref_bce_backward_f32(cnt, xc->data, yc->data, scale, gx ? gx->data : NULL, gy ? gy->data : NULL);
        else wsss_ref_bce_backward_f64(cnt, xc->data, yc->data, scale, gx ? gx->data : NULL, gy ? gy->data : NULL);
    } else {
        if (f32)
            wsss_ref_logits_loss_backward_f32(cnt, xc->data, yc->data, scale, gx ? gx->data : NULL,
                                              gy ? gy->data : NULL);
        else
            wsss_ref_logits_loss_backward_f64(cnt, xc->data, yc->data, scale, gx ? gx->data : NULL,
                                              gy ? gy->data : NULL);
    }
    wsss_grad_accumulate_release(ctx, x, gx);
    wsss_grad_accumulate_release(ctx, y, gy);
}

static wsss_tensor *pair_loss(wsss_ctx *ctx, pair_kind kind, wsss_tensor *x, wsss_tensor *y) {
    const char *name = k_pair_names[kind];
    check_pair(x, y, name);
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x), *yc = wsss_ctx_contiguous(ctx, y);
    int64_t cnt = wsss_tensor_numel(x);
    int f32 = x->dtype == WSSS_F32;
    if (kind == PAIR_BCE) {
        /* torch.nn.functional.binary_cross_entropy refuses values outside [0, 1] too */
        for (int64_t i = 0; i < cnt; i++) {
            double p = f32 ? wsss_f32(xc)[i] : wsss_f64(xc)[i];
            WSSS_ASSERT(!(p < 0 || p > 1), "bce: input probabilities must lie in [0, 1]");
        }
    }
    double sum;
    switch (kind) {
    case PAIR_BCE_LOGITS:
        sum = f32 ? wsss_ref_bce_logits_f32(cnt, xc->data, yc->data) : wsss_ref_bce_logits_f64(cnt, xc->data, yc->data);
        break;
    case PAIR_SOFT_MARGIN:
        /* mean over classes then over rows equals the mean over all elements (equal row sizes) */
        sum = f32 ? wsss_ref_soft_margin_f32(cnt, xc->data, yc->data) : wsss_ref_soft_margin_f64(cnt, xc->data, yc->data);
        break;
    default:
        sum = f32 ? wsss_ref_bce_f32(cnt, xc->data, yc->data) : wsss_ref_bce_f64(cnt, xc->data, yc->data);
        break;
    }
    wsss_tensor *out = scalar_out(ctx, x->dtype, sum / (double)cnt);
    wsss_tensor *in[2] = {x, y};
    wsss_node *n = wsss_record(ctx, name, pair_backward, out, 2, in, sizeof(pair_attrs));
    if (n) ((pair_attrs *)n->attrs)->kind = kind;
    keep_inputs(ctx, n, x, xc, y, yc);
    return out;
}

wsss_tensor *wsss_bce_with_logits(wsss_ctx *ctx, wsss_tensor *logits, wsss_tensor *targets) {
    return pair_loss(ctx, PAIR_BCE_LOGITS, logits, targets);
}
wsss_tensor *wsss_multilabel_soft_margin(wsss_ctx *ctx, wsss_tensor *logits, wsss_tensor *targets) {
    return pair_loss(ctx, PAIR_SOFT_MARGIN, logits, targets);
}
wsss_tensor *wsss_bce(wsss_ctx *ctx, wsss_tensor *probs, wsss_tensor *targets) {
    return pair_loss(ctx, PAIR_BCE, probs, targets);
}

/* ---------------- cross entropy ---------------- */

typedef struct {
    int64_t outer, c, inner, ignore, nvalid;
} ce_attrs;

static void ce_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *gout) {
    const ce_attrs *at = n->attrs;
    wsss_tensor *x = n->inputs[0];
    const wsss_tensor *xc = n->saved[0], *tc = n->saved[1];
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, xc);
    if (at->nvalid > 0) { /* no valid pixel: the loss is the constant 0, gradient 0 */
        double scale = wsss_tensor_get(gout, 0) / (double)at->nvalid;
        if (x->dtype == WSSS_F32)
            wsss_ref_cross_entropy_backward_f32(at->outer, at->c, at->inner, xc->data, tc->data, tc->dtype,
                                                at->ignore, scale, gx->data);
        else
            wsss_ref_cross_entropy_backward_f64(at->outer, at->c, at->inner, xc->data, tc->data, tc->dtype,
                                                at->ignore, scale, gx->data);
    }
    wsss_grad_accumulate_release(ctx, x, gx);
}

/* Mean over valid pixels. With no valid pixel PyTorch returns NaN (0/0); we return 0 and a zero
 * gradient instead, so a batch whose labels are all ignored cannot poison the weights. */
wsss_tensor *wsss_cross_entropy2d(wsss_ctx *ctx, wsss_tensor *logits, const wsss_tensor *target,
                                  int ignore_index) {
    char msg[256], s1[64], s2[64];
    int ok = (logits->dtype == WSSS_F32 || logits->dtype == WSSS_F64) && logits->ndim >= 2 &&
             (target->dtype == WSSS_I64 || target->dtype == WSSS_I32 || target->dtype == WSSS_U8) &&
             target->ndim == logits->ndim - 1 && target->shape[0] == logits->shape[0];
    for (int d = 1; ok && d < target->ndim; d++) ok = target->shape[d] == logits->shape[d + 1];
    if (!ok) {
        snprintf(msg, sizeof msg,
                 "cross_entropy2d: logits %s %s and target %s %s do not fit (expected float N,C,H,W "
                 "and I64/I32/U8 N,H,W)",
                 wsss_dtype_name(logits->dtype), wsss_shape_str(logits, s1, sizeof s1),
                 wsss_dtype_name(target->dtype), wsss_shape_str(target, s2, sizeof s2));
        WSSS_ASSERT(0, msg);
    }
    int64_t outer = logits->shape[0], c = logits->shape[1], inner = 1;
    for (int d = 2; d < logits->ndim; d++) inner *= logits->shape[d];
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, logits), *tc = wsss_ctx_contiguous(ctx, target);
    int64_t nvalid = 0;
    double sum = logits->dtype == WSSS_F32
                     ? wsss_ref_cross_entropy_f32(outer, c, inner, xc->data, tc->data, tc->dtype, ignore_index, &nvalid)
                     : wsss_ref_cross_entropy_f64(outer, c, inner, xc->data, tc->data, tc->dtype, ignore_index, &nvalid);
    wsss_tensor *out = scalar_out(ctx, logits->dtype, nvalid > 0 ? sum / (double)nvalid : 0.0);
    wsss_node *n = wsss_record(ctx, "cross_entropy2d", ce_backward, out, 1, &logits, sizeof(ce_attrs));
    if (n) *(ce_attrs *)n->attrs = (ce_attrs){outer, c, inner, ignore_index, nvalid};
    keep_inputs(ctx, n, logits, xc, target, tc);
    return out;
}
