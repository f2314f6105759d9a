/* AffinityNet's cell and pair labels and its balanced loss (affinity.h). */
#include "wsss/affinity.h"

#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/random_walk.h"

static int argmax(const float *s, int L, int64_t hw, int64_t i, float *max) {
    int best = 0;
    for (int l = 1; l < L; l++)
        if (s[l * hw + i] > s[best * hw + i]) best = l;
    *max = s[best * hw + i];
    return best;
}

void wsss_aff_cell_labels(const float *la, const float *ha, int L, int64_t hw, uint8_t *out) {
    for (int64_t i = 0; i < hw; i++) {
        float mla, mha;
        const int a = argmax(la, L, hw, i, &mla), b = argmax(ha, L, hw, i, &mha);
        int label = a == 0 ? 255 : a;
        if (b == 0) label = 0;
        if (mla < 1e-5f && mha < 1e-5f) label = 255;
        out[i] = (uint8_t)label;
    }
}

void wsss_aff_cell_labels_from_map(const uint8_t *labels, int H, int W, int stride, uint8_t *cells) {
    WSSS_ASSERT(stride >= 1 && H % stride == 0 && W % stride == 0, "label map: sides multiples of the stride");
    const int h = H / stride, w = W / stride;
    int count[256];
    for (int cy = 0; cy < h; cy++)
        for (int cx = 0; cx < w; cx++) {
            memset(count, 0, sizeof count);
            for (int y = cy * stride; y < (cy + 1) * stride; y++)
                for (int x = cx * stride; x < (cx + 1) * stride; x++) count[labels[(int64_t)y * W + x]]++;
            int best = 0;
            for (int v = 1; v < 256; v++) /* strictly more: ties stay with the smaller value */
                if (count[v] > count[best]) best = v;
            cells[cy * w + cx] = (uint8_t)best;
        }
}

void wsss_aff_pair_labels(const uint8_t *cells, int h, int w, uint8_t *pair) {
    const int64_t np = wsss_rw_num_pairs(h, w);
    int64_t *from = wsss_xmalloc(sizeof(int64_t) * (size_t)(2 * np + 1)), *to = from + np;
    wsss_rw_pairs(h, w, from, to);
    for (int64_t k = 0; k < np; k++) {
        const uint8_t a = cells[from[k]], b = cells[to[k]];
        pair[k] = a == 255 || b == 255 ? WSSS_AFF_IGNORE
                  : a != b             ? WSSS_AFF_NEG
                  : a == 0             ? WSSS_AFF_BG
                                       : WSSS_AFF_FG;
    }
    free(from);
}

/* sum over the pairs labelled `kind` of -log(x + 1e-5), divided by their count + 1e-5 */
static wsss_tensor *mean_nll(wsss_ctx *ctx, wsss_tensor *x, const uint8_t *labels, int kind) {
    wsss_tensor *mask = wsss_ctx_tensor_like(ctx, x);
    const int64_t n = wsss_tensor_numel(x);
    double count = 0;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] == kind) {
            wsss_tensor_set(mask, i, 1.0);
            count++;
        }
    wsss_tensor *nll = wsss_neg(ctx, wsss_log(ctx, wsss_add_scalar(ctx, x, 1e-5)));
    return wsss_mul_scalar(ctx, wsss_sum_all(ctx, wsss_mul(ctx, nll, mask)), 1.0 / (count + 1e-5));
}

wsss_tensor *wsss_aff_loss(wsss_ctx *ctx, wsss_tensor *aff, const uint8_t *pair_labels) {
    wsss_tensor *bg = mean_nll(ctx, aff, pair_labels, WSSS_AFF_BG);
    wsss_tensor *fg = mean_nll(ctx, aff, pair_labels, WSSS_AFF_FG);
    wsss_tensor *neg = mean_nll(ctx, wsss_rsub_scalar(ctx, aff, 1.0), pair_labels, WSSS_AFF_NEG);
    return wsss_add(ctx, wsss_mul_scalar(ctx, wsss_add(ctx, bg, fg), 0.25), wsss_mul_scalar(ctx, neg, 0.5));
}
