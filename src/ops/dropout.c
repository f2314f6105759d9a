/* Inverted dropout: while training, each element is zeroed with probability p and the survivors
 * are scaled by 1/(1-p), so the expected value is unchanged and inference needs no rescaling.
 * The keep mask (U8, one byte per element) is saved for backward: dx = dy * mask * scale.
 *
 * Random bits: one 64-bit draw from the caller's generator seeds an independent stream per
 * fixed-size chunk of elements (wsss_rng_seed3(draw, chunk, ...)), so chunks can be filled in
 * parallel and the mask depends only on the generator state, never on the thread count. Each
 * element compares 32 random bits with p * 2^32. */
#include <math.h>
#include <stdlib.h>

#include "wsss/error.h"
#include "wsss/ops.h"

#define DROPOUT_CHUNK 65536 /* elements per random stream; also the unit of parallel work */

typedef struct dropout_attrs {
    double scale;
} dropout_attrs;

static void fill_mask(uint8_t *m, int64_t cnt, double p, wsss_rng *rng) {
    const uint64_t thr = (uint64_t)llround(p * 4294967296.0); /* drop when bits < thr */
    const uint64_t base = wsss_rng_u64(rng);
    const int64_t chunks = (cnt + DROPOUT_CHUNK - 1) / DROPOUT_CHUNK;
#pragma omp parallel for if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        wsss_rng r;
        wsss_rng_seed3(&r, base, (uint64_t)c, 0x64726f70u);
        const int64_t i1 = (c + 1) * DROPOUT_CHUNK < cnt ? (c + 1) * DROPOUT_CHUNK : cnt;
        for (int64_t i = c * DROPOUT_CHUNK; i < i1; i += 2) {
            const uint64_t u = wsss_rng_u64(&r);
            m[i] = (u & 0xffffffffu) >= thr;
            if (i + 1 < i1) m[i + 1] = (u >> 32) >= thr;
        }
    }
}

static void apply_mask(const wsss_tensor *in, const uint8_t *m, double scale, wsss_tensor *out) {
    const int64_t cnt = wsss_tensor_numel(in);
    if (in->dtype == WSSS_F32) {
        const float *a = in->data, s = (float)scale;
        float *o = out->data;
#pragma omp parallel for if (cnt >= 4 * DROPOUT_CHUNK)
        for (int64_t i = 0; i < cnt; i++) o[i] = m[i] ? a[i] * s : 0.0f;
    } else {
        const double *a = in->data;
        double *o = out->data;
#pragma omp parallel for if (cnt >= 4 * DROPOUT_CHUNK)
        for (int64_t i = 0; i < cnt; i++) o[i] = m[i] ? a[i] * scale : 0.0;
    }
}

static void dropout_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
    apply_mask(g, n->saved[0]->data, ((const dropout_attrs *)n->attrs)->scale, gx);
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
    /* the mask lives in the context only when backward needs it */
    wsss_tensor *mask = wsss_needs_grad(ctx, 1, &x) ? wsss_ctx_tensor(ctx, WSSS_U8, x->ndim, x->shape)
                                                    : NULL;
    /* p == 1 drops everything: output and mask stay zero */
    const double scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
    if (p < 1 && cnt > 0) {
        uint8_t *m = mask ? mask->data : wsss_xmalloc((size_t)cnt);
        fill_mask(m, cnt, p, rng);
        apply_mask(xc, m, scale, y);
        if (!mask) free(m);
    }
    wsss_node *n = wsss_record(ctx, "dropout", dropout_backward, y, 1, &x, sizeof(dropout_attrs));
    if (n) {
        ((dropout_attrs *)n->attrs)->scale = scale;
        wsss_node_save(n, mask);
    }
    return y;
}
