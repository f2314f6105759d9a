/* Space-to-batch and back on nChw16c tensors (see space_to_batch.h): whole 16-channel vectors
 * move, so both directions are 64-byte copies. */
#include "backend/dnnl/space_to_batch.h"

#include <string.h>

#include "backend/dnnl/dnnl_common.h"
#include "backend/dnnl/tensor_md.h"
#include "wsss/error.h"

enum { CB = 16 }; /* channels per block */

static void blocked_md(dnnl_memory_desc_t *md, int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t dims[4] = {n, c, h, w};
    wsss_dnnl_md_tag(md, 4, dims, dnnl_aBcd16b);
}

/* t in nChw16c: t itself, or a converted copy the caller releases. */
static wsss_tensor *as_blocked(wsss_ctx *ctx, wsss_tensor *t) {
    WSSS_ASSERT(t->ndim == 4 && t->shape[1] % CB == 0, "space_to_batch: 4-D with channels a multiple of 16");
    dnnl_memory_desc_t md;
    blocked_md(&md, t->shape[0], t->shape[1], t->shape[2], t->shape[3]);
    return wsss_dnnl_as_md(ctx, t, &md);
}

/* Copies the 16-float vector of (n, cb, h, w) of the N,C,H,W map `big` to or from (b, cb, h/d,
 * w/d) of the stacked sub-maps `small`. */
static void shuffle(float *big, float *small, int64_t n_img, int64_t cblocks, int64_t h, int64_t w, int d,
                    int to_small) {
    const int64_t hs = h / d, ws = w / d;
#pragma omp parallel for collapse(2) schedule(static) if (n_img * cblocks * h * w > 4096)
    for (int64_t n = 0; n < n_img * cblocks; n++) {
        for (int64_t y = 0; y < h; y++) {
            const int64_t img = n / cblocks, cb = n % cblocks;
            for (int64_t x = 0; x < w; x++) {
                const int64_t b = (img * d + y % d) * d + x % d;
                float *pb = big + (((img * cblocks + cb) * h + y) * w + x) * CB;
                float *ps = small + (((b * cblocks + cb) * hs + y / d) * ws + x / d) * CB;
                if (to_small) memcpy(ps, pb, CB * sizeof(float));
                else memcpy(pb, ps, CB * sizeof(float));
            }
        }
    }
}

wsss_tensor *wsss_dnnl_space_to_batch(wsss_ctx *ctx, wsss_tensor *x, int d) {
    const int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    WSSS_ASSERT(d >= 1 && h % d == 0 && w % d == 0, "space_to_batch: map size not a multiple of the factor");
    wsss_tensor *xb = as_blocked(ctx, x);
    dnnl_memory_desc_t md;
    blocked_md(&md, n * d * d, c, h / d, w / d);
    const int64_t shape[4] = {n * d * d, c, h / d, w / d};
    wsss_tensor *y = wsss_dnnl_new_tensor(ctx, 4, shape, &md);
    shuffle(wsss_dnnl_tensor_ptr(xb), wsss_dnnl_tensor_ptr(y), n, c / CB, h, w, d, 1);
    if (xb != x) wsss_ctx_release(ctx, xb);
    return y;
}

wsss_tensor *wsss_dnnl_batch_to_space(wsss_ctx *ctx, wsss_tensor *y, int d) {
    const int64_t nb = y->shape[0], c = y->shape[1], hs = y->shape[2], ws = y->shape[3];
    WSSS_ASSERT(d >= 1 && nb % ((int64_t)d * d) == 0, "batch_to_space: batch not a multiple of factor^2");
    const int64_t n = nb / ((int64_t)d * d);
    wsss_tensor *yb = as_blocked(ctx, y);
    dnnl_memory_desc_t md;
    blocked_md(&md, n, c, hs * d, ws * d);
    const int64_t shape[4] = {n, c, hs * d, ws * d};
    wsss_tensor *x = wsss_dnnl_new_tensor(ctx, 4, shape, &md);
    shuffle(wsss_dnnl_tensor_ptr(x), wsss_dnnl_tensor_ptr(yb), n, c / CB, hs * d, ws * d, d, 0);
    if (yb != y) wsss_ctx_release(ctx, yb);
    return x;
}
