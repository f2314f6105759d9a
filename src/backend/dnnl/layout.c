/* Blocked-layout tensors: descriptors, conversions, per-context weight cache (see tensor_md.h). */
#include "backend/dnnl/tensor_md.h"

#include <stdlib.h>
#include <string.h>

#include "backend/dnnl/dnnl_common.h"
#include "core/kernel.h"
#include "wsss/error.h"

static void *layout_copy(const void *layout) {
    dnnl_memory_desc_t *md = wsss_xmalloc(sizeof *md);
    memcpy(md, layout, sizeof *md);
    return md;
}

static int layout_equal(const void *a, const void *b) {
    return wsss_dnnl_md_equal((const dnnl_memory_desc_t *)a, (const dnnl_memory_desc_t *)b);
}

/* Dense row-major descriptor with md's dims. */
static void plain_of(dnnl_memory_desc_t *plain, const dnnl_memory_desc_t *md) {
    int64_t dims[DNNL_MAX_NDIMS], strides[DNNL_MAX_NDIMS];
    for (int i = 0; i < md->ndims; i++) dims[i] = md->dims[i];
    wsss_contiguous_strides(md->ndims, dims, strides);
    wsss_dnnl_md_strides(plain, md->ndims, dims, strides);
}

static void reorder_raw(const dnnl_memory_desc_t *src_md, const void *src,
                        const dnnl_memory_desc_t *dst_md, void *dst) {
    dnnl_memory_t s = wsss_dnnl_mem_wrap(src_md, src), d = wsss_dnnl_mem_wrap(dst_md, dst);
    wsss_dnnl_reorder(s, d);
    wsss_dnnl_mem_free(s);
    wsss_dnnl_mem_free(d);
}

static void layout_to_plain(const void *layout, const void *src, void *dst) {
    const dnnl_memory_desc_t *md = layout;
    dnnl_memory_desc_t plain;
    plain_of(&plain, md);
    reorder_raw(md, src, &plain, dst);
}

void wsss_dnnl_tensor_md(dnnl_memory_desc_t *md, const wsss_tensor *t) {
    if (t->layout) memcpy(md, t->layout, sizeof *md);
    else wsss_dnnl_md_from_tensor(md, t);
}

void *wsss_dnnl_tensor_ptr(const wsss_tensor *t) { return t->layout ? t->buf->data : t->data; }

int wsss_dnnl_md_is_plain(const dnnl_memory_desc_t *md) {
    dnnl_memory_desc_t plain;
    plain_of(&plain, md);
    return wsss_dnnl_md_equal(md, &plain);
}

static int md_has_padding(const dnnl_memory_desc_t *md) {
    for (int i = 0; i < md->ndims; i++)
        if (md->padded_dims[i] != md->dims[i] || md->padded_offsets[i] != 0) return 1;
    return 0;
}

wsss_tensor *wsss_dnnl_new_tensor(wsss_ctx *ctx, int ndim, const int64_t *shape,
                                  const dnnl_memory_desc_t *md) {
    WSSS_ASSERT(md->data_type == dnnl_f32, "wsss tensors in oneDNN layouts are F32");
    if (wsss_dnnl_md_is_plain(md)) return wsss_ctx_tensor_uninit(ctx, WSSS_F32, ndim, shape);
    static const wsss_layout_ops ops = {layout_copy, layout_equal, layout_to_plain};
    return wsss_ctx_tensor_blocked(ctx, WSSS_F32, ndim, shape, layout_copy(md), &ops, wsss_dnnl_md_bytes(md),
                                   md_has_padding(md));
}

wsss_tensor *wsss_dnnl_convert(wsss_ctx *ctx, const dnnl_memory_desc_t *src_md, const void *src,
                               const dnnl_memory_desc_t *want, int ndim, const int64_t *shape) {
    wsss_tensor *t = wsss_dnnl_new_tensor(ctx, ndim, shape, want);
    reorder_raw(src_md, src, want, wsss_dnnl_tensor_ptr(t));
    return t;
}

wsss_tensor *wsss_dnnl_as_md(wsss_ctx *ctx, wsss_tensor *t, const dnnl_memory_desc_t *want) {
    dnnl_memory_desc_t cur;
    wsss_dnnl_tensor_md(&cur, t);
    if (wsss_dnnl_md_equal(&cur, want)) return t;
    return wsss_dnnl_convert(ctx, &cur, wsss_dnnl_tensor_ptr(t), want, t->ndim, t->shape);
}

wsss_tensor *wsss_dnnl_cached_weight(wsss_ctx *ctx, wsss_tensor *w, const dnnl_memory_desc_t *user_md,
                                     const dnnl_memory_desc_t *want, int *temp) {
    WSSS_ASSERT(!w->layout && wsss_tensor_is_contiguous(w), "weights are plain contiguous tensors");
    *temp = 0;
    if (wsss_dnnl_md_equal(user_md, want)) return w;
    wsss_dnnl_key k;
    wsss_dnnl_key_init(&k, "weight");
    wsss_dnnl_key_md(&k, user_md);
    wsss_dnnl_key_md(&k, want);
    int seen;
    wsss_tensor *d = wsss_ctx_derived_get(ctx, w, k.bytes, k.len, &seen);
    if (d) return d;
    int64_t dims[DNNL_MAX_NDIMS];
    for (int i = 0; i < want->ndims; i++) dims[i] = want->dims[i];
    d = wsss_dnnl_convert(ctx, user_md, w->data, want, want->ndims, dims);
    /* Keep a copy only from the second use on: a training step uses most weights once per
     * layout (forward, backward data), where keeping them would only cost memory. */
    if (seen) wsss_ctx_derived_put(ctx, w, k.bytes, k.len, d);
    else {
        wsss_ctx_derived_put(ctx, w, k.bytes, k.len, NULL);
        *temp = 1;
    }
    return d;
}
