#include "wsss/autograd.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx_internal.h"
#include "core/kernel.h"
#include "wsss/error.h"

/* A tensor derived from a source buffer (see core/kernel.h). */
typedef struct derived_entry {
    uint64_t src_id, src_version;
    size_t keylen;
    void *key;
    wsss_tensor *t; /* owned by the entry (not in the context's tensor list), or NULL */
    int used;       /* looked up or put since the last reset */
    int handed_out; /* t was returned since the last reset (a node may have saved it) */
} derived_entry;

struct wsss_ctx {
    wsss_tensor **tensors; /* owned tensors; NULL slots were released early */
    size_t n_tensors, cap_tensors;
    wsss_node **nodes; /* creation order */
    size_t n_nodes, cap_nodes;
    int grad_enabled;
    int training;
    int blocked;
    int winograd;
    int sync_bn;
    size_t bytes, peak_bytes;
    size_t peak_ever; /* largest bytes since creation: bounds what the pool may hold */
    struct wsss_buffer_pool *pool;
    derived_entry *derived;
    size_t n_derived, cap_derived;
};

/* ---------------- buffer pool ----------------
 * Released buffers wait in a free list for a request of exactly their size (training steps repeat
 * the same shapes). Live plus pooled bytes stay under 1.5x the context's peak: with exact sizes a
 * step needs more than its peak in buffers, since one size is not always released before another
 * is asked for, and at 1x each step evicted what the next needed and asked the kernel for fresh
 * pages again (ResNet-50: inference stopped allocating at 1.5x, a training step at 1.25x).
 * Buffers handed out keep a reference to the pool, so one outliving its context (a view adopted
 * elsewhere) is simply freed when released after the context is gone. */
struct wsss_buffer_pool {
    int refcount; /* the owning context + buffers handed out */
    int closed;   /* the context is gone */
    wsss_buffer **free_list;
    size_t n_free, cap_free, free_bytes;
};

static void buffer_free_raw(wsss_buffer *b) {
    free(b->data);
    free(b);
}

static void pool_unref(struct wsss_buffer_pool *p) {
    if (--p->refcount == 0) {
        free(p->free_list);
        free(p);
    }
}

void wsss_buffer_pool_put(wsss_buffer *b) {
    struct wsss_buffer_pool *p = b->pool;
    if (p->closed) {
        buffer_free_raw(b);
        pool_unref(p);
        return;
    }
    if (p->n_free == p->cap_free) {
        p->cap_free = p->cap_free ? 2 * p->cap_free : 256;
        p->free_list = wsss_xrealloc(p->free_list, p->cap_free * sizeof *p->free_list);
    }
    p->free_list[p->n_free++] = b;
    p->free_bytes += b->nbytes;
}

/* Free the oldest pooled buffers until live + pooled bytes fit in `limit`. */
static void pool_trim(struct wsss_buffer_pool *p, size_t live, size_t limit) {
    size_t k = 0;
    while (k < p->n_free && live + p->free_bytes > limit) {
        p->free_bytes -= p->free_list[k]->nbytes;
        buffer_free_raw(p->free_list[k]);
        p->refcount--; /* >= 1: the context still holds its reference */
        k++;
    }
    if (k) {
        memmove(p->free_list, p->free_list + k, (p->n_free - k) * sizeof *p->free_list);
        p->n_free -= k;
    }
}

static wsss_buffer *pool_get(wsss_ctx *ctx, size_t nbytes, int zero) {
    struct wsss_buffer_pool *p = ctx->pool;
    for (size_t i = p->n_free; i-- > 0;) {
        wsss_buffer *b = p->free_list[i];
        if (b->nbytes != nbytes) continue;
        p->free_list[i] = p->free_list[--p->n_free];
        p->free_bytes -= nbytes;
        b->refcount = 1;
        b->id = wsss_buffer_fresh_id(); /* new contents: caches keyed by the old id are void */
        b->version = 0;
        if (zero) memset(b->data, 0, nbytes);
        return b;
    }
    wsss_buffer *b = wsss_buffer_new(nbytes); /* zero-filled */
    b->pool = p;
    p->refcount++;
    size_t peak = ctx->peak_ever > ctx->bytes + nbytes ? ctx->peak_ever : ctx->bytes + nbytes;
    pool_trim(p, ctx->bytes + nbytes, peak + peak / 2);
    return b;
}

/* A ctx-owned tensor header over a pooled buffer. */
static wsss_tensor *pooled_tensor(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape,
                                  size_t nbytes, int zero) {
    WSSS_ASSERT(ndim >= 0 && ndim <= WSSS_MAX_DIMS, "too many dims");
    wsss_tensor *t = wsss_xcalloc(1, sizeof *t);
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        WSSS_ASSERT(shape[i] >= 0, "negative dimension");
        t->shape[i] = shape[i];
    }
    wsss_contiguous_strides(ndim, t->shape, t->stride);
    t->buf = pool_get(ctx, nbytes, zero);
    t->data = t->buf->data;
    return t;
}

wsss_ctx *wsss_ctx_new(void) {
    wsss_ctx *ctx = wsss_xcalloc(1, sizeof *ctx);
    ctx->pool = wsss_xcalloc(1, sizeof *ctx->pool);
    ctx->pool->refcount = 1;
    ctx->grad_enabled = 1;
    ctx->training = 1;
    return ctx;
}

static void node_free(wsss_node *n) {
    free(n->attrs);
    free(n);
}

static size_t owned_bytes(const wsss_tensor *t);

static void tensor_list_push(wsss_ctx *ctx, wsss_tensor *t) {
    if (ctx->n_tensors == ctx->cap_tensors) {
        ctx->cap_tensors = ctx->cap_tensors ? ctx->cap_tensors * 2 : 256;
        ctx->tensors = wsss_xrealloc(ctx->tensors, ctx->cap_tensors * sizeof *ctx->tensors);
    }
    ctx->tensors[ctx->n_tensors++] = t;
}

/* Derived tensors used in the step being reset stay for the next one (an inference loop reorders
 * each weight once, not once per image); the others go. A step that used none (a reset right
 * after a reset) changes nothing. */
static void derived_keep_used(wsss_ctx *ctx) {
    int any_used = 0;
    for (size_t i = 0; i < ctx->n_derived; i++) any_used |= ctx->derived[i].used;
    size_t k = 0;
    ctx->bytes = 0;
    for (size_t i = 0; i < ctx->n_derived; i++) {
        derived_entry *e = &ctx->derived[i];
        if (!e->used && any_used) {
            if (e->t) wsss_tensor_destroy(e->t);
            free(e->key);
            continue;
        }
        e->used = e->handed_out = 0;
        if (e->t) ctx->bytes += owned_bytes(e->t);
        ctx->derived[k++] = *e;
    }
    ctx->n_derived = k;
}

static void derived_free_all(wsss_ctx *ctx) {
    for (size_t i = 0; i < ctx->n_derived; i++) {
        if (ctx->derived[i].t) wsss_tensor_destroy(ctx->derived[i].t);
        free(ctx->derived[i].key);
    }
    ctx->n_derived = 0;
}

void wsss_ctx_reset(wsss_ctx *ctx) {
    for (size_t i = 0; i < ctx->n_nodes; i++) node_free(ctx->nodes[i]);
    ctx->n_nodes = 0;
    for (size_t i = 0; i < ctx->n_tensors; i++) {
        wsss_tensor *t = ctx->tensors[i];
        if (!t) continue;
        wsss_tensor_destroy(t);
    }
    ctx->n_tensors = 0;
    derived_keep_used(ctx);
    ctx->peak_bytes = ctx->bytes;
}

void wsss_ctx_free(wsss_ctx *ctx) {
    if (!ctx) return;
    wsss_ctx_reset(ctx);
    derived_free_all(ctx);
    free(ctx->tensors);
    free(ctx->nodes);
    free(ctx->derived);
    struct wsss_buffer_pool *p = ctx->pool;
    pool_trim(p, 0, 0);
    p->closed = 1;
    pool_unref(p);
    free(ctx);
}

int wsss_ctx_set_grad_enabled(wsss_ctx *ctx, int enabled) {
    int old = ctx->grad_enabled;
    ctx->grad_enabled = enabled;
    return old;
}

int wsss_ctx_grad_enabled(const wsss_ctx *ctx) { return ctx && ctx->grad_enabled; }

int wsss_ctx_set_training(wsss_ctx *ctx, int training) {
    int old = ctx->training;
    ctx->training = training;
    return old;
}

int wsss_ctx_training(const wsss_ctx *ctx) { return ctx->training; }

int wsss_ctx_set_blocked(wsss_ctx *ctx, int on) {
    int old = ctx->blocked;
    ctx->blocked = on != 0;
    return old;
}

int wsss_ctx_blocked(const wsss_ctx *ctx) { return ctx && ctx->blocked; }

int wsss_ctx_set_winograd(wsss_ctx *ctx, int on) {
    int old = ctx->winograd;
    ctx->winograd = on != 0;
    return old;
}

int wsss_ctx_winograd(const wsss_ctx *ctx) { return ctx && ctx->blocked && ctx->winograd; }

int wsss_ctx_set_sync_bn(wsss_ctx *ctx, int on) {
    int old = ctx->sync_bn;
    ctx->sync_bn = on != 0;
    return old;
}

int wsss_ctx_sync_bn(const wsss_ctx *ctx) { return ctx && ctx->sync_bn; }

size_t wsss_ctx_bytes(const wsss_ctx *ctx) { return ctx->bytes; }
size_t wsss_ctx_peak_bytes(const wsss_ctx *ctx) { return ctx->peak_bytes; }

/* Data bytes a header accounts for: only headers that own a fresh buffer count, so views
 * are not double counted. */
static size_t owned_bytes(const wsss_tensor *t) {
    return (t->buf && t->buf->refcount == 1 && (t->data == t->buf->data || t->layout)) ? t->buf->nbytes
                                                                                     : 0;
}

static void bytes_add(wsss_ctx *ctx, size_t add, size_t sub) {
    ctx->bytes -= sub < ctx->bytes ? sub : ctx->bytes;
    ctx->bytes += add;
    if (ctx->bytes > ctx->peak_bytes) ctx->peak_bytes = ctx->bytes;
    if (ctx->bytes > ctx->peak_ever) ctx->peak_ever = ctx->bytes;
}

/* How blocked layouts are handled, set by the first wsss_ctx_tensor_blocked: a blocked tensor
 * exists only after one was created. */
static _Atomic(const wsss_layout_ops *) blocked_layout_ops;

static const wsss_layout_ops *layout_ops(void) {
    const wsss_layout_ops *ops = atomic_load(&blocked_layout_ops);
    WSSS_ASSERT(ops != NULL, "a blocked tensor without layout ops");
    return ops;
}

wsss_tensor *wsss_tensor_plain(wsss_tensor *t) {
    if (!t || !t->layout) return t;
    WSSS_ASSERT(t->dtype == WSSS_F32, "blocked layouts hold F32 tensors");
    size_t old = t->ctx ? owned_bytes(t) : 0;
    wsss_buffer *nb = t->ctx ? pool_get(t->ctx, wsss_tensor_nbytes(t), 0) : wsss_buffer_new(wsss_tensor_nbytes(t));
    layout_ops()->to_plain(t->layout, t->buf->data, nb->data);
    wsss_buffer_release(t->buf);
    free(t->layout);
    t->layout = NULL;
    t->buf = nb;
    t->data = nb->data;
    wsss_contiguous_strides(t->ndim, t->shape, t->stride);
    if (t->ctx) bytes_add(t->ctx, owned_bytes(t), old);
    return t;
}

/* A tensor owned by ctx from its buffer pool (zero-filled or not), or a plain new tensor without ctx. */
static wsss_tensor *ctx_tensor_new(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape, int zero) {
    if (!ctx) return wsss_tensor_new(dt, ndim, shape);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return wsss_ctx_adopt(ctx, pooled_tensor(ctx, dt, ndim, shape, (size_t)n * wsss_dtype_size(dt), zero));
}

wsss_tensor *wsss_ctx_tensor_uninit(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape) {
    return ctx_tensor_new(ctx, dt, ndim, shape, 0);
}

wsss_tensor *wsss_ctx_tensor_blocked(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape,
                                     void *layout, const wsss_layout_ops *ops, size_t nbytes, int zero) {
    WSSS_ASSERT(layout != NULL && ops != NULL && ndim >= 1 && ndim <= WSSS_MAX_DIMS, "bad blocked tensor");
    const wsss_layout_ops *expected = NULL;
    if (!atomic_compare_exchange_strong(&blocked_layout_ops, &expected, ops))
        WSSS_ASSERT(expected == ops, "blocked tensors of two backends");
    WSSS_ASSERT(ctx != NULL, "blocked tensors are context-owned");
    wsss_tensor *t = pooled_tensor(ctx, dt, ndim, shape, nbytes, zero);
    t->data = NULL;
    t->layout = layout;
    return wsss_ctx_adopt(ctx, t);
}


/* ---------------- derived-tensor cache ---------------- */

wsss_tensor *wsss_ctx_derived_get(wsss_ctx *ctx, const wsss_tensor *src, const void *key, size_t keylen,
                                  int *seen) {
    if (seen) *seen = 0;
    for (size_t i = 0; i < ctx->n_derived; i++) {
        derived_entry *e = &ctx->derived[i];
        if (e->src_id == src->buf->id && e->keylen == keylen && memcmp(e->key, key, keylen) == 0) {
            e->used = 1;
            if (e->src_version != src->buf->version) return NULL; /* stale: caller recomputes */
            if (seen) *seen = 1;
            if (e->t) e->handed_out = 1;
            return e->t;
        }
    }
    return NULL;
}

/* Take t out of the context's tensor list: the cache entry owns it from now on. */
static void detach(wsss_ctx *ctx, wsss_tensor *t) {
    for (size_t i = ctx->n_tensors; i-- > 0;) {
        if (ctx->tensors[i] == t) {
            ctx->tensors[i] = NULL;
            return;
        }
    }
    WSSS_ASSERT(0, "derived tensor not owned by the context");
}

void wsss_ctx_derived_put(wsss_ctx *ctx, const wsss_tensor *src, const void *key, size_t keylen,
                          wsss_tensor *derived) {
    WSSS_ASSERT(!derived || derived->ctx == ctx, "derived tensors must be owned by the context");
    if (derived) detach(ctx, derived);
    for (size_t i = 0; i < ctx->n_derived; i++) {
        derived_entry *e = &ctx->derived[i];
        if (e->src_id == src->buf->id && e->keylen == keylen && memcmp(e->key, key, keylen) == 0) {
            /* replace a stale entry; an old tensor handed out in this step may be saved by one of
             * its nodes, so the context frees it at the next reset */
            if (e->t && e->handed_out) tensor_list_push(ctx, e->t);
            else if (e->t) {
                bytes_add(ctx, 0, owned_bytes(e->t));
                wsss_tensor_destroy(e->t);
            }
            e->handed_out = 0;
            e->src_version = src->buf->version;
            e->t = derived;
            e->used = 1;
            return;
        }
    }
    if (ctx->n_derived == ctx->cap_derived) {
        ctx->cap_derived = ctx->cap_derived ? 2 * ctx->cap_derived : 64;
        ctx->derived = wsss_xrealloc(ctx->derived, ctx->cap_derived * sizeof *ctx->derived);
    }
    derived_entry *e = &ctx->derived[ctx->n_derived++];
    e->src_id = src->buf->id;
    e->src_version = src->buf->version;
    e->keylen = keylen;
    e->key = wsss_xmalloc(keylen);
    memcpy(e->key, key, keylen);
    e->t = derived;
    e->used = 1;
    e->handed_out = 0;
}

wsss_tensor *wsss_ctx_adopt(wsss_ctx *ctx, wsss_tensor *t) {
    if (!ctx) return t;
    WSSS_ASSERT(t->ctx == NULL, "tensor already owned");
    tensor_list_push(ctx, t);
    t->ctx = ctx;
    bytes_add(ctx, owned_bytes(t), 0);
    return t;
}

wsss_tensor *wsss_ctx_tensor(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape) {
    return ctx_tensor_new(ctx, dt, ndim, shape, 1);
}

wsss_tensor *wsss_ctx_tensor_like(wsss_ctx *ctx, const wsss_tensor *t) {
    return wsss_ctx_tensor(ctx, t->dtype, t->ndim, t->shape);
}

void wsss_ctx_release(wsss_ctx *ctx, wsss_tensor *t) {
    if (!t) return;
    WSSS_ASSERT(t->ctx == ctx, "release of a tensor not owned by this context");
    for (size_t i = ctx->n_tensors; i-- > 0;) {
        if (ctx->tensors[i] == t) {
            ctx->tensors[i] = NULL;
            bytes_add(ctx, 0, owned_bytes(t));
            wsss_tensor_destroy(t);
            return;
        }
    }
    WSSS_ASSERT(0, "tensor not found in its context");
}

const wsss_tensor *wsss_ctx_contiguous(wsss_ctx *ctx, const wsss_tensor *t) {
    if (t->layout) return wsss_tensor_plain((wsss_tensor *)t);
    if (wsss_tensor_is_contiguous(t)) return t;
    wsss_tensor *c = wsss_ctx_tensor(ctx, t->dtype, t->ndim, t->shape);
    wsss_tensor_copy_into(c, t);
    return c;
}

int wsss_needs_grad(const wsss_ctx *ctx, int n, wsss_tensor *const *inputs) {
    if (!ctx || !ctx->grad_enabled) return 0;
    for (int i = 0; i < n; i++)
        if (inputs[i] && inputs[i]->requires_grad) return 1;
    return 0;
}

wsss_node *wsss_node_new(wsss_ctx *ctx, const char *op, wsss_backward_fn backward, wsss_tensor *out,
                         int n_inputs, wsss_tensor *const *inputs, size_t attrs_size) {
    WSSS_ASSERT(ctx != NULL, "recording needs a context");
    WSSS_ASSERT(n_inputs <= WSSS_NODE_MAX_INPUTS, "too many node inputs");
    wsss_node *n = wsss_xcalloc(1, sizeof *n);
    n->op = op;
    n->backward = backward;
    n->output = out;
    n->n_inputs = n_inputs;
    for (int i = 0; i < n_inputs; i++) n->inputs[i] = inputs[i];
    n->attrs = attrs_size ? wsss_xcalloc(1, attrs_size) : NULL;
    out->grad_fn = n;
    out->requires_grad = 1;
    if (ctx->n_nodes == ctx->cap_nodes) {
        ctx->cap_nodes = ctx->cap_nodes ? ctx->cap_nodes * 2 : 256;
        ctx->nodes = wsss_xrealloc(ctx->nodes, ctx->cap_nodes * sizeof *ctx->nodes);
    }
    ctx->nodes[ctx->n_nodes++] = n;
    return n;
}

wsss_node *wsss_record(wsss_ctx *ctx, const char *op, wsss_backward_fn backward, wsss_tensor *out,
                       int n_inputs, wsss_tensor *const *inputs, size_t attrs_size) {
    if (!wsss_needs_grad(ctx, n_inputs, inputs)) return NULL;
    return wsss_node_new(ctx, op, backward, out, n_inputs, inputs, attrs_size);
}

int wsss_node_save(wsss_node *node, wsss_tensor *t) {
    WSSS_ASSERT(node->n_saved < WSSS_NODE_MAX_SAVED, "too many saved tensors");
    node->saved[node->n_saved] = t;
    return node->n_saved++;
}

int wsss_node_input_needs_grad(const wsss_node *node, int i) {
    return i < node->n_inputs && node->inputs[i] && node->inputs[i]->requires_grad;
}

/* Gradient buffers are shared copy-on-write: the first gradient a non-leaf tensor receives is
 * usually a temporary its consumer releases right after accumulating (or the same tensor given to
 * several inputs, as an add's backward does), so t->grad takes a reference to g's buffer instead
 * of a copy; adding into a gradient whose buffer is shared first gives it a private copy. Only
 * this file writes into non-leaf gradients. */
static int share_first(wsss_ctx *ctx, wsss_tensor *t, const wsss_tensor *g) {
    if (g->ctx != ctx || g->dtype != t->dtype || !wsss_tensor_same_shape(g, t)) return 0;
    if (!g->layout && !(wsss_tensor_is_contiguous(g) && g->data == g->buf->data)) return 0;
    wsss_tensor *h = wsss_xcalloc(1, sizeof *h);
    h->dtype = g->dtype;
    h->ndim = g->ndim;
    memcpy(h->shape, g->shape, sizeof h->shape);
    wsss_contiguous_strides(h->ndim, h->shape, h->stride);
    h->buf = g->buf;
    wsss_buffer_retain(h->buf);
    h->data = g->layout ? NULL : g->data;
    h->layout = g->layout ? layout_ops()->copy(g->layout) : NULL;
    t->grad = wsss_ctx_adopt(ctx, h);
    return 1;
}

static void grad_writable(wsss_ctx *ctx, wsss_tensor *gr) {
    if (gr->buf->refcount == 1) return;
    WSSS_ASSERT(gr->layout || gr->data == gr->buf->data, "shared gradient is not a whole buffer");
    wsss_buffer *nb = gr->ctx ? pool_get(gr->ctx, gr->buf->nbytes, 0) : wsss_buffer_new(gr->buf->nbytes);
    (void)ctx;
    memcpy(nb->data, gr->buf->data, gr->buf->nbytes);
    wsss_buffer_release(gr->buf);
    gr->buf = nb;
    if (!gr->layout) gr->data = nb->data;
    if (gr->ctx) bytes_add(gr->ctx, nb->nbytes, 0);
}

#define ADD_PAR_MIN (1 << 16)

/* Gradients in blocked layouts: an intermediate tensor's gradient may stay blocked (its producer's
 * backward is layout-aware or gets it converted); leaves always receive plain gradients. */
static int accumulate_blocked(wsss_ctx *ctx, wsss_tensor *t, const wsss_tensor *g) {
    const int leaf = t->grad_fn == NULL;
    if (!g->layout) {
        if (t->grad && t->grad->layout) wsss_tensor_plain(t->grad);
        return 0;
    }
    if (leaf || (t->grad && !t->grad->layout) ||
        (t->grad && !layout_ops()->equal(t->grad->layout, g->layout))) {
        wsss_tensor_plain((wsss_tensor *)g);
        if (t->grad) wsss_tensor_plain(t->grad);
        return 0;
    }
    if (!t->grad) {
        if (share_first(ctx, t, g)) return 1;
        t->grad = wsss_ctx_tensor_blocked(ctx, g->dtype, g->ndim, g->shape, layout_ops()->copy(g->layout),
                                          layout_ops(), g->buf->nbytes, 0);
        memcpy(t->grad->buf->data, g->buf->data, g->buf->nbytes);
        return 1;
    }
    grad_writable(ctx, t->grad);
    /* same layout: element i of one buffer is element i of the other (padding is zero in both) */
    float *d = t->grad->buf->data;
    const float *s = g->buf->data;
    const int64_t n = (int64_t)(g->buf->nbytes / sizeof(float));
#pragma omp parallel for schedule(static) if (n > ADD_PAR_MIN)
    for (int64_t i = 0; i < n; i++) d[i] += s[i];
    return 1;
}

void wsss_grad_accumulate(wsss_ctx *ctx, wsss_tensor *t, const wsss_tensor *g) {
    if (!t->requires_grad) return;
    WSSS_ASSERT(wsss_tensor_numel(g) == wsss_tensor_numel(t), "gradient numel mismatch");
    if (accumulate_blocked(ctx, t, g)) return;
    if (!t->grad) {
        /* persistent leaves keep a persistent gradient; everything else lives in the context */
        wsss_ctx *owner = (t->ctx == NULL && t->grad_fn == NULL) ? NULL : ctx;
        if (owner && share_first(ctx, t, g)) return;
        t->grad = wsss_ctx_tensor_uninit(owner, t->dtype, t->ndim, t->shape);
        wsss_tensor_copy_into(t->grad, g);
        return;
    }
    grad_writable(ctx, t->grad);
    int64_t n = wsss_tensor_numel(g);
    if (t->grad->dtype == WSSS_F32 && g->dtype == WSSS_F32 && wsss_tensor_is_contiguous(g)) {
        float *d = t->grad->data;
        const float *s = g->data;
#pragma omp parallel for schedule(static) if (n > ADD_PAR_MIN)
        for (int64_t i = 0; i < n; i++) d[i] += s[i];
    } else if (t->grad->dtype == WSSS_F64 && g->dtype == WSSS_F64 && wsss_tensor_is_contiguous(g)) {
        double *d = t->grad->data;
        const double *s = g->data;
        for (int64_t i = 0; i < n; i++) d[i] += s[i];
    } else {
        for (int64_t i = 0; i < n; i++)
            wsss_tensor_set(t->grad, i, wsss_tensor_get(t->grad, i) + wsss_tensor_get(g, i));
    }
}

void wsss_grad_accumulate_release(wsss_ctx *ctx, wsss_tensor *t, wsss_tensor *g) {
    if (!g) return;
    wsss_grad_accumulate(ctx, t, g);
    wsss_ctx_release(ctx, g);
}

/* The root whose backward is running (its gradient is not freed after its node). */
static _Thread_local const wsss_tensor *g_backward_root;

int wsss_grad_is_private(const wsss_node *node, const wsss_tensor *gy) {
    const wsss_tensor *out = node->output;
    return out->grad == gy && gy->ctx != NULL && gy->buf->refcount == 1 && out != g_backward_root &&
           (gy->layout || gy->data == gy->buf->data);
}

int wsss_backward_with(wsss_ctx *ctx, wsss_tensor *root, const wsss_tensor *grad_root) {
    if (!root->requires_grad)
        return wsss_error_set("backward: the loss does not require grad (no parameter or input in "
                              "its graph requires a gradient)");
    wsss_grad_accumulate(ctx, root, grad_root);
    const wsss_tensor *outer_root = g_backward_root;
    g_backward_root = root;
    /* Nodes were recorded in execution order, so reverse order visits every consumer of a tensor
     * before its producer: a node's output gradient is complete when the node runs. */
    for (size_t i = ctx->n_nodes; i-- > 0;) {
        wsss_node *n = ctx->nodes[i];
        wsss_tensor *out = n->output;
        if (!out->grad) continue; /* not on a path to the root */
        if (!(n->flags & WSSS_NODE_BLOCKED_GRAD)) wsss_tensor_plain(out->grad);
        n->backward(ctx, n, out->grad);
        /* the gradient of an intermediate is no longer needed once pushed to its inputs; dropping
         * it (the root's too) also keeps a later backward in this context from re-running this
         * graph */
        if (out->grad->ctx == ctx) {
            wsss_ctx_release(ctx, out->grad);
            out->grad = NULL;
        }
    }
    g_backward_root = outer_root;
    return WSSS_OK;
}

int wsss_backward(wsss_ctx *ctx, wsss_tensor *root) {
    if (wsss_tensor_numel(root) != 1)
        return wsss_error_set("backward: the loss must be a scalar, got %lld elements",
                              (long long)wsss_tensor_numel(root));
    wsss_tensor *one = wsss_ctx_tensor(ctx, root->dtype, root->ndim, root->shape);
    wsss_tensor_fill(one, 1.0);
    return wsss_backward_with(ctx, root, one);
}

wsss_tensor *wsss_detach(wsss_ctx *ctx, wsss_tensor *t) {
    wsss_tensor *v = wsss_tensor_header_like(t);
    return wsss_ctx_adopt(ctx, v);
}
