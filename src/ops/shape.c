/* Shape ops. reshape (of contiguous data), permute, slice and flip are views: a new header on the
 * same buffer (wsss_tensor_header_like), owned by the context, so writes through a view are seen
 * by the base. Their backward maps the view's gradient back to a contiguous tensor of the base's
 * shape. contiguous, concat, pad2d, index_select and gather produce new tensors.
 *
 * Data movement works for every dtype; gradients exist for F32 and F64 only. */
#include <string.h>

#include "backend/ref/shape.h"
#include "wsss/error.h"
#include "wsss/ops.h"

static int norm_dim(int dim, int ndim) {
    if (dim < 0) dim += ndim;
    WSSS_ASSERT(dim >= 0 && dim < ndim, "dimension out of range");
    return dim;
}

static char *elem_ptr(const wsss_tensor *t, int64_t offset) {
    return (char *)t->data + offset * (int64_t)wsss_dtype_size(t->dtype);
}

/* dst <- src, both of `shape`, each with its own strides (src->stride/dst->stride ignored). */
static void copy_strided(const wsss_tensor *like, const int64_t *shape, void *dst,
                         const int64_t *dst_stride, const void *src, const int64_t *src_stride) {
    wsss_ref_copy_strided(wsss_dtype_size(like->dtype), like->ndim, shape, dst, dst_stride, src,
                          src_stride);
}

/* Contiguous ctx-owned copy of any-strided t. */
static wsss_tensor *copy_contiguous(wsss_ctx *ctx, const wsss_tensor *t) {
    wsss_tensor *c = wsss_ctx_tensor_like(ctx, t);
    copy_strided(t, t->shape, c->data, c->stride, t->data, t->stride);
    return c;
}

static wsss_tensor *new_view(wsss_ctx *ctx, wsss_tensor *x) {
    return wsss_ctx_adopt(ctx, wsss_tensor_header_like(x));
}

static void assert_float_grad(const wsss_tensor *x) {
    WSSS_ASSERT(x->dtype == WSSS_F32 || x->dtype == WSSS_F64,
                "gradients of shape ops exist only for F32/F64 tensors");
}

/* ---------------- reshape ---------------- */

/* The gradient is the output gradient (contiguous) read with the input's shape. */
static void reshape_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    wsss_tensor gv = *g;
    gv.ndim = x->ndim;
    memcpy(gv.shape, x->shape, sizeof gv.shape);
    wsss_contiguous_strides(gv.ndim, gv.shape, gv.stride);
    wsss_grad_accumulate(ctx, x, &gv);
}

wsss_tensor *wsss_reshape(wsss_ctx *ctx, wsss_tensor *x, int ndim, const int64_t *shape) {
    WSSS_ASSERT(ndim >= 0 && ndim <= WSSS_MAX_DIMS, "reshape: 0..5 dims");
    int64_t s[WSSS_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (s[i] == -1) {
            WSSS_ASSERT(infer < 0, "reshape: only one dimension may be -1");
            infer = i;
        } else {
            WSSS_ASSERT(s[i] >= 0, "reshape: negative size");
            known *= s[i];
        }
    }
    const int64_t numel = wsss_tensor_numel(x);
    if (infer >= 0) {
        WSSS_ASSERT(known > 0 && numel % known == 0, "reshape: cannot infer the -1 dimension");
        s[infer] = numel / known;
        known = numel;
    }
    WSSS_ASSERT(known == numel, "reshape: the new shape has a different number of elements");

    /* a view of x, or of a contiguous copy when x is strided (wsss_ctx_contiguous also turns a
     * tensor in a blocked oneDNN layout into plain data in place) */
    wsss_tensor *base = (wsss_tensor *)wsss_ctx_contiguous(ctx, x);
    wsss_tensor *out = new_view(ctx, base);
    out->ndim = ndim;
    memset(out->shape, 0, sizeof out->shape);
    memset(out->stride, 0, sizeof out->stride);
    memcpy(out->shape, s, (size_t)ndim * sizeof *s);
    wsss_contiguous_strides(ndim, out->shape, out->stride);
    wsss_record(ctx, "reshape", reshape_backward, out, 1, &x, 0);
    return out;
}

/* ---------------- permute ---------------- */

typedef struct permute_attrs {
    int perm[WSSS_MAX_DIMS];
} permute_attrs;

static void permute_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    const permute_attrs *a = n->attrs;
    /* output dim i is input dim perm[i]: read g with the inverse permutation */
    int64_t st[WSSS_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) st[a->perm[i]] = g->stride[i];
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
    copy_strided(x, x->shape, gx->data, gx->stride, g->data, st);
    wsss_grad_accumulate(ctx, x, gx);
}

wsss_tensor *wsss_permute(wsss_ctx *ctx, wsss_tensor *x, const int *perm) {
    int p[WSSS_MAX_DIMS], seen[WSSS_MAX_DIMS] = {0};
    for (int i = 0; i < x->ndim; i++) {
        p[i] = norm_dim(perm[i], x->ndim);
        WSSS_ASSERT(!seen[p[i]], "permute: perm is not a permutation");
        seen[p[i]] = 1;
    }
    wsss_tensor *out = new_view(ctx, x);
    for (int i = 0; i < x->ndim; i++) {
        out->shape[i] = x->shape[p[i]];
        out->stride[i] = x->stride[p[i]];
    }
    wsss_node *n = wsss_record(ctx, "permute", permute_backward, out, 1, &x, sizeof(permute_attrs));
    if (n) memcpy(((permute_attrs *)n->attrs)->perm, p, sizeof p);
    return out;
}

/* ---------------- slice ---------------- */

typedef struct slice_attrs {
    int dim;
    int64_t start, step;
} slice_attrs;

static void slice_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    const slice_attrs *a = n->attrs;
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x); /* zeros outside the slice */
    int64_t st[WSSS_MAX_DIMS];
    memcpy(st, gx->stride, sizeof st);
    st[a->dim] *= a->step;
    copy_strided(x, g->shape, elem_ptr(gx, a->start * gx->stride[a->dim]), st, g->data, g->stride);
    wsss_grad_accumulate(ctx, x, gx);
}

wsss_tensor *wsss_slice(wsss_ctx *ctx, wsss_tensor *x, int dim, int64_t start, int64_t end,
                        int64_t step) {
    dim = norm_dim(dim, x->ndim);
    WSSS_ASSERT(step > 0, "slice: step must be positive");
    const int64_t size = x->shape[dim];
    /* PyTorch/Python clamping: negatives count from the end, then clamp into [0, size] */
    if (start < 0) start += size;
    if (end < 0) end += size;
    if (start < 0) start = 0;
    if (start > size) start = size;
    if (end < start) end = start;
    if (end > size) end = size;
    const int64_t len = (end - start + step - 1) / step;

    wsss_tensor *out = new_view(ctx, x);
    out->shape[dim] = len;
    out->stride[dim] = x->stride[dim] * step;
    if (len > 0) out->data = elem_ptr(x, start * x->stride[dim]);
    wsss_node *n = wsss_record(ctx, "slice", slice_backward, out, 1, &x, sizeof(slice_attrs));
    if (n) {
        slice_attrs *a = n->attrs;
        a->dim = dim;
        a->start = len > 0 ? start : 0;
        a->step = step;
    }
    return out;
}

/* ---------------- flip ---------------- */

typedef struct flip_attrs {
    int dim;
} flip_attrs;

static void flip_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    const int d = ((const flip_attrs *)n->attrs)->dim;
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
    if (wsss_tensor_numel(x) > 0) {
        int64_t st[WSSS_MAX_DIMS];
        memcpy(st, g->stride, sizeof st);
        st[d] = -st[d];
        copy_strided(x, x->shape, gx->data, gx->stride,
                     elem_ptr(g, (g->shape[d] - 1) * g->stride[d]), st);
    }
    wsss_grad_accumulate(ctx, x, gx);
}

wsss_tensor *wsss_flip(wsss_ctx *ctx, wsss_tensor *x, int dim) {
    dim = norm_dim(dim, x->ndim);
    wsss_tensor *out = new_view(ctx, x);
    if (x->shape[dim] > 0) out->data = elem_ptr(x, (x->shape[dim] - 1) * x->stride[dim]);
    out->stride[dim] = -x->stride[dim];
    wsss_node *n = wsss_record(ctx, "flip", flip_backward, out, 1, &x, sizeof(flip_attrs));
    if (n) ((flip_attrs *)n->attrs)->dim = dim;
    return out;
}

/* ---------------- contiguous ---------------- */

static void identity_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_grad_accumulate(ctx, n->inputs[0], g);
}

/* Like torch's .contiguous(): x itself when already contiguous (nothing to copy, no node). */
wsss_tensor *wsss_contiguous(wsss_ctx *ctx, wsss_tensor *x) {
    wsss_tensor *out = (wsss_tensor *)wsss_ctx_contiguous(ctx, x); /* a new ctx tensor or x */
    if (out == x) return x;
    wsss_record(ctx, "contiguous", identity_backward, out, 1, &x, 0);
    return out;
}

/* ---------------- concat ---------------- */

typedef struct concat_attrs {
    int dim;
    int64_t off[WSSS_NODE_MAX_INPUTS]; /* start of each input along dim */
} concat_attrs;

static void concat_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    const concat_attrs *a = n->attrs;
    for (int i = 0; i < n->n_inputs; i++) {
        if (!wsss_node_input_needs_grad(n, i)) continue;
        wsss_tensor *x = n->inputs[i];
        wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
        copy_strided(x, x->shape, gx->data, gx->stride, elem_ptr(g, a->off[i] * g->stride[a->dim]),
                     g->stride);
        wsss_grad_accumulate(ctx, x, gx);
    }
}

wsss_tensor *wsss_concat(wsss_ctx *ctx, int n, wsss_tensor *const *xs, int dim) {
    WSSS_ASSERT(n >= 1, "concat: needs at least one input");
    const wsss_tensor *x0 = xs[0];
    WSSS_ASSERT(x0->ndim >= 1, "concat: inputs must have at least one dimension");
    dim = norm_dim(dim, x0->ndim);
    /* A node holds at most WSSS_NODE_MAX_INPUTS inputs: concatenate groups, then the groups. */
    if (n > WSSS_NODE_MAX_INPUTS && wsss_needs_grad(ctx, n, xs)) {
        wsss_tensor *parts[WSSS_NODE_MAX_INPUTS];
        const int per = (n + WSSS_NODE_MAX_INPUTS - 1) / WSSS_NODE_MAX_INPUTS;
        int np = 0;
        for (int i = 0; i < n; i += per)
            parts[np++] = wsss_concat(ctx, n - i < per ? n - i : per, xs + i, dim);
        return wsss_concat(ctx, np, parts, dim);
    }
    int64_t shape[WSSS_MAX_DIMS];
    memcpy(shape, x0->shape, sizeof shape);
    shape[dim] = 0;
    for (int i = 0; i < n; i++) {
        const wsss_tensor *x = xs[i];
        WSSS_ASSERT(x->dtype == x0->dtype, "concat: inputs differ in dtype");
        WSSS_ASSERT(x->ndim == x0->ndim, "concat: inputs differ in number of dims");
        for (int d = 0; d < x->ndim; d++)
            WSSS_ASSERT(d == dim || x->shape[d] == x0->shape[d],
                        "concat: inputs differ in a dimension other than dim");
        shape[dim] += x->shape[dim];
    }
    wsss_tensor *out = wsss_ctx_tensor(ctx, x0->dtype, x0->ndim, shape);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        /* strided inputs are read in place; only blocked-layout ones are converted (or copied) */
        const wsss_tensor *x = xs[i]->data ? xs[i] : wsss_ctx_contiguous(ctx, xs[i]);
        copy_strided(x, x->shape, elem_ptr(out, off * out->stride[dim]), out->stride, x->data,
                     x->stride);
        off += x->shape[dim];
    }
    if (n <= WSSS_NODE_MAX_INPUTS) {
        wsss_node *nd = wsss_record(ctx, "concat", concat_backward, out, n, xs, sizeof(concat_attrs));
        if (nd) {
            concat_attrs *a = nd->attrs;
            a->dim = dim;
            int64_t o = 0;
            for (int i = 0; i < n; i++) {
                a->off[i] = o;
                o += xs[i]->shape[dim];
            }
        }
    }
    return out;
}

/* ---------------- pad2d ---------------- */

typedef struct pad_attrs {
    int64_t top, left, planes;
} pad_attrs;

static void pad2d_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    const pad_attrs *a = n->attrs;
    assert_float_grad(x);
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
    const int nd = x->ndim;
    wsss_ref_pad2d_copy(wsss_dtype_size(x->dtype), a->planes, g->shape[nd - 2], g->shape[nd - 1],
                        g->data, x->shape[nd - 2], x->shape[nd - 1], gx->data, -a->top, -a->left);
    wsss_grad_accumulate(ctx, x, gx);
}

wsss_tensor *wsss_pad2d(wsss_ctx *ctx, wsss_tensor *x, const int64_t pads[4], double value) {
    const int nd = x->ndim;
    WSSS_ASSERT(nd >= 2, "pad2d: needs at least 2 dims (pads the last two)");
    const int64_t h = x->shape[nd - 2], w = x->shape[nd - 1];
    const int64_t oh = h + pads[2] + pads[3], ow = w + pads[0] + pads[1];
    WSSS_ASSERT(oh >= 0 && ow >= 0, "pad2d: negative padding crops more than the input size");
    int64_t shape[WSSS_MAX_DIMS], planes = 1;
    memcpy(shape, x->shape, sizeof shape);
    shape[nd - 2] = oh;
    shape[nd - 1] = ow;
    for (int d = 0; d < nd - 2; d++) planes *= x->shape[d];

    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    wsss_tensor *out = wsss_ctx_tensor(ctx, x->dtype, nd, shape);
    if (value != 0) wsss_tensor_fill(out, value);
    wsss_ref_pad2d_copy(wsss_dtype_size(x->dtype), planes, h, w, xc->data, oh, ow, out->data,
                        pads[2], pads[0]);
    wsss_node *n = wsss_record(ctx, "pad2d", pad2d_backward, out, 1, &x, sizeof(pad_attrs));
    if (n) {
        pad_attrs *a = n->attrs;
        a->top = pads[2];
        a->left = pads[0];
        a->planes = planes;
    }
    return out;
}

/* ---------------- index_select, gather ---------------- */

/* Index tensor kept for backward: contiguous and owned by ctx (a caller's index may be freed or
 * modified before backward runs). */
static wsss_tensor *index_for_backward(wsss_ctx *ctx, const wsss_tensor *index,
                                       const wsss_tensor *ic) {
    if (ic != index || index->ctx == ctx) return (wsss_tensor *)ic;
    return copy_contiguous(ctx, index);
}

static void check_index_range(const wsss_tensor *ic, int64_t size, const char *op) {
    const int64_t *v = ic->data;
    const int64_t n = wsss_tensor_numel(ic);
    for (int64_t i = 0; i < n; i++)
        if (v[i] < 0 || v[i] >= size) {
            fprintf(stderr, "wsss: %s: index %lld out of range [0, %lld)\n", op, (long long)v[i],
                    (long long)size);
            WSSS_ASSERT(0, "index out of range");
        }
}

typedef struct index_attrs {
    int dim;
} index_attrs;

static void index_geometry(const wsss_tensor *x, int dim, int64_t *outer, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < dim; d++) *outer *= x->shape[d];
    for (int d = dim + 1; d < x->ndim; d++) *inner *= x->shape[d];
}

static void index_select_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    const wsss_tensor *idx = n->saved[0];
    const int dim = ((const index_attrs *)n->attrs)->dim;
    assert_float_grad(x);
    int64_t outer, inner;
    index_geometry(x, dim, &outer, &inner);
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
    const int64_t k = wsss_tensor_numel(idx);
    if (x->dtype == WSSS_F32)
        wsss_ref_index_select_bwd_f32(outer, x->shape[dim], inner, g->data, k, idx->data, gx->data);
    else
        wsss_ref_index_select_bwd_f64(outer, x->shape[dim], inner, g->data, k, idx->data, gx->data);
    wsss_grad_accumulate(ctx, x, gx);
}

wsss_tensor *wsss_index_select(wsss_ctx *ctx, wsss_tensor *x, int dim, const wsss_tensor *index) {
    WSSS_ASSERT(x->ndim >= 1, "index_select: input must have at least one dimension");
    dim = norm_dim(dim, x->ndim);
    WSSS_ASSERT(index->dtype == WSSS_I64 && index->ndim == 1, "index_select: index must be I64 1-D");
    const wsss_tensor *ic = wsss_ctx_contiguous(ctx, index);
    check_index_range(ic, x->shape[dim], "index_select");
    int64_t shape[WSSS_MAX_DIMS], outer, inner;
    memcpy(shape, x->shape, sizeof shape);
    shape[dim] = index->shape[0];
    index_geometry(x, dim, &outer, &inner);
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    wsss_tensor *out = wsss_ctx_tensor(ctx, x->dtype, x->ndim, shape);
    wsss_ref_index_select_fwd(wsss_dtype_size(x->dtype), outer, x->shape[dim], inner, xc->data,
                              index->shape[0], ic->data, out->data);
    wsss_node *n = wsss_record(ctx, "index_select", index_select_backward, out, 1, &x,
                               sizeof(index_attrs));
    if (n) {
        ((index_attrs *)n->attrs)->dim = dim;
        wsss_node_save(n, index_for_backward(ctx, index, ic));
    }
    return out;
}

static void gather_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    const wsss_tensor *idx = n->saved[0];
    const int dim = ((const index_attrs *)n->attrs)->dim;
    assert_float_grad(x);
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
    if (x->dtype == WSSS_F32)
        wsss_ref_gather_bwd_f32(x->ndim, dim, x->shape, gx->data, idx->shape, idx->data, g->data);
    else
        wsss_ref_gather_bwd_f64(x->ndim, dim, x->shape, gx->data, idx->shape, idx->data, g->data);
    wsss_grad_accumulate(ctx, x, gx);
}

wsss_tensor *wsss_gather(wsss_ctx *ctx, wsss_tensor *x, int dim, const wsss_tensor *index) {
    WSSS_ASSERT(x->ndim >= 1, "gather: input must have at least one dimension");
    dim = norm_dim(dim, x->ndim);
    WSSS_ASSERT(index->dtype == WSSS_I64, "gather: index must be I64");
    WSSS_ASSERT(index->ndim == x->ndim, "gather: index must have as many dims as the input");
    for (int d = 0; d < x->ndim; d++)
        WSSS_ASSERT(d == dim || index->shape[d] <= x->shape[d],
                    "gather: index is larger than the input in a dim other than dim");
    const wsss_tensor *ic = wsss_ctx_contiguous(ctx, index);
    check_index_range(ic, x->shape[dim], "gather");
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    wsss_tensor *out = wsss_ctx_tensor(ctx, x->dtype, index->ndim, index->shape);
    wsss_ref_gather_fwd(wsss_dtype_size(x->dtype), x->ndim, dim, x->shape, xc->data, index->shape,
                        ic->data, out->data);
    wsss_node *n = wsss_record(ctx, "gather", gather_backward, out, 1, &x, sizeof(index_attrs));
    if (n) {
        ((index_attrs *)n->attrs)->dim = dim;
        wsss_node_save(n, index_for_backward(ctx, index, ic));
    }
    return out;
}
