/* Inverted dropout: while training, each element is zeroed with probability p and the survivors
 * are scaled by 1/(1-p), so the expected value is unchanged and inference needs no rescaling.
 * The keep mask (U8, one byte per element) is saved for backward: dx = dy * mask * scale.
 * The mask is drawn serially from the generator, so a fixed seed gives a fixed mask. */
#include "wsss/error.h"
#include "wsss/ops.h"

typedef struct dropout_attrs {
    double scale;
} dropout_attrs;

static void dropout_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    const uint8_t *m = n->saved[0]->data;
    const double scale = ((const dropout_attrs *)n->attrs)->scale;
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
    const int64_t cnt = wsss_tensor_numel(x);
    if (x->dtype == WSSS_F32) {
        const float *gy = g->data, s = (float)scale;
        float *d = gx->data;
        for (int64_t i = 0; i < cnt; i++) d[i] = m[i] ? gy[i] * s : 0.0f;
    } else {
        const double *gy = g->data;
        double *d = gx->data;
        for (int64_t i = 0; i < cnt; i++) d[i] = m[i] ? gy[i] * scale : 0.0;
    }
    wsss_grad_accumulate(ctx, x, gx);
}

wsss_tensor *wsss_dropout(wsss_ctx *ctx, wsss_tensor *x, double p, int training, wsss_rng *rng) {
    WSSS_ASSERT(p >= 0 && p <= 1, "dropout: p must be in [0, 1]");
    WSSS_ASSERT(x->dtype == WSSS_F32 || x->dtype == WSSS_F64, "dropout: input must be F32/F64");
    if (!training || p == 0) return x; /* identity: the input itself, no copy, no node */
    if (!rng) rng = wsss_rng_global();

    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    wsss_tensor *y = wsss_ctx_tensor_like(ctx, x);
    const int64_t cnt = wsss_tensor_numel(x);
    const int need = wsss_needs_grad(ctx, 1, &x);
    wsss_tensor *mask = need ? wsss_ctx_tensor(ctx, WSSS_U8, x->ndim, x->shape) : NULL;
    uint8_t *m = mask ? mask->data : NULL;
    /* p == 1 drops everything (the output stays zero, the mask stays zero) */
    const double scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
    if (p < 1) {
        if (x->dtype == WSSS_F32) {
            const float *xs = xc->data, s = (float)scale;
            float *ys = y->data;
            for (int64_t i = 0; i < cnt; i++) {
                const int keep = wsss_rng_uniform(rng) >= p;
                ys[i] = keep ? xs[i] * s : 0.0f;
                if (m) m[i] = (uint8_t)keep;
            }
        } else {
            const double *xs = xc->data;
            double *ys = y->data;
            for (int64_t i = 0; i < cnt; i++) {
                const int keep = wsss_rng_uniform(rng) >= p;
                ys[i] = keep ? xs[i] * scale : 0.0;
                if (m) m[i] = (uint8_t)keep;
            }
        }
    }
    wsss_node *n = wsss_record(ctx, "dropout", dropout_backward, y, 1, &x, sizeof(dropout_attrs));
    if (n) {
        ((dropout_attrs *)n->attrs)->scale = scale;
        wsss_node_save(n, mask);
    }
    return y;
}
