#include "wsss/autograd.h"

#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"

struct wsss_ctx {
    wsss_tensor **tensors; /* owned tensors; NULL slots were released early */
    size_t n_tensors, cap_tensors;
    wsss_node **nodes; /* creation order */
    size_t n_nodes, cap_nodes;
    int grad_enabled;
    int training;
    size_t bytes, peak_bytes;
};

wsss_ctx *wsss_ctx_new(void) {
    wsss_ctx *ctx = wsss_xcalloc(1, sizeof *ctx);
    ctx->grad_enabled = 1;
    ctx->training = 1;
    return ctx;
}

static void node_free(wsss_node *n) {
    free(n->attrs);
    free(n);
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
    ctx->bytes = 0;
    ctx->peak_bytes = 0;
}

void wsss_ctx_free(wsss_ctx *ctx) {
    if (!ctx) return;
    wsss_ctx_reset(ctx);
    free(ctx->tensors);
    free(ctx->nodes);
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

size_t wsss_ctx_bytes(const wsss_ctx *ctx) { return ctx->bytes; }
size_t wsss_ctx_peak_bytes(const wsss_ctx *ctx) { return ctx->peak_bytes; }

/* Data bytes a header accounts for: only headers that own a fresh buffer count, so views
 * are not double counted. */
static size_t owned_bytes(const wsss_tensor *t) {
    return (t->buf && t->buf->refcount == 1 && t->data == t->buf->data) ? t->buf->nbytes : 0;
}

wsss_tensor *wsss_ctx_adopt(wsss_ctx *ctx, wsss_tensor *t) {
    if (!ctx) return t;
    WSSS_ASSERT(t->ctx == NULL, "tensor already owned");
    if (ctx->n_tensors == ctx->cap_tensors) {
        ctx->cap_tensors = ctx->cap_tensors ? ctx->cap_tensors * 2 : 256;
        ctx->tensors = wsss_xrealloc(ctx->tensors, ctx->cap_tensors * sizeof *ctx->tensors);
    }
    ctx->tensors[ctx->n_tensors++] = t;
    t->ctx = ctx;
    ctx->bytes += owned_bytes(t);
    if (ctx->bytes > ctx->peak_bytes) ctx->peak_bytes = ctx->bytes;
    return t;
}

wsss_tensor *wsss_ctx_tensor(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape) {
    return wsss_ctx_adopt(ctx, wsss_tensor_new(dt, ndim, shape));
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
            size_t b = owned_bytes(t);
            ctx->bytes -= b < ctx->bytes ? b : ctx->bytes;
            wsss_tensor_destroy(t);
            return;
        }
    }
    WSSS_ASSERT(0, "tensor not found in its context");
}

const wsss_tensor *wsss_ctx_contiguous(wsss_ctx *ctx, const wsss_tensor *t) {
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

void wsss_grad_accumulate(wsss_ctx *ctx, wsss_tensor *t, const wsss_tensor *g) {
    if (!t->requires_grad) return;
    WSSS_ASSERT(wsss_tensor_numel(g) == wsss_tensor_numel(t), "gradient numel mismatch");
    if (!t->grad) {
        /* persistent leaves keep a persistent gradient; everything else lives in the context */
        wsss_ctx *owner = (t->ctx == NULL && t->grad_fn == NULL) ? NULL : ctx;
        t->grad = wsss_ctx_tensor(owner, t->dtype, t->ndim, t->shape);
        wsss_tensor_copy_into(t->grad, g);
        return;
    }
    int64_t n = wsss_tensor_numel(g);
    if (t->grad->dtype == WSSS_F32 && g->dtype == WSSS_F32 && wsss_tensor_is_contiguous(g)) {
        float *d = t->grad->data;
        const float *s = g->data;
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

int wsss_backward_with(wsss_ctx *ctx, wsss_tensor *root, const wsss_tensor *grad_root) {
    if (!root->requires_grad)
        return wsss_error_set("backward: the loss does not require grad (no parameter or input in "
                              "its graph requires a gradient)");
    wsss_grad_accumulate(ctx, root, grad_root);
    /* Nodes were recorded in execution order, so reverse order visits every consumer of a tensor
     * before its producer: a node's output gradient is complete when the node runs. */
    for (size_t i = ctx->n_nodes; i-- > 0;) {
        wsss_node *n = ctx->nodes[i];
        wsss_tensor *out = n->output;
        if (!out->grad) continue; /* not on a path to the root */
        n->backward(ctx, n, out->grad);
        /* the gradient of an intermediate is no longer needed once pushed to its inputs; dropping
         * it (the root's too) also keeps a later backward in this context from re-running this
         * graph */
        if (out->grad->ctx == ctx) {
            wsss_ctx_release(ctx, out->grad);
            out->grad = NULL;
        }
    }
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
