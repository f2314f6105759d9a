/* Reverse-mode autograd on a graph context.
 *
 * A wsss_ctx owns every tensor an op creates while it is alive (outputs, saved tensors, gradients
 * of non-leaf tensors) and the recorded nodes, in creation order. Because a node is created after
 * all its inputs exist, walking the nodes backwards is a valid topological order, so backward needs
 * no sort. Freeing (or resetting) the context frees the whole step's graph in one call.
 *
 *   wsss_ctx *ctx = wsss_ctx_new();
 *   wsss_tensor *loss = ...ops(ctx, ...)...;
 *   wsss_backward(ctx, loss);          // accumulates into param->grad
 *   optimizer step; wsss_ctx_reset(ctx);
 *
 * Gradient rules:
 *  - a node is recorded only if grad mode is on and some input has requires_grad;
 *  - a tensor used by several ops accumulates its gradient;
 *  - a persistent leaf with requires_grad = 0 (a frozen parameter) gets no gradient, but the
 *    gradient still flows through the op to inputs that need it (loss through a frozen network);
 *  - wsss_detach returns a view with no history (stop-gradient). */
#ifndef WSSS_AUTOGRAD_H
#define WSSS_AUTOGRAD_H

#include "wsss/tensor.h"

#define WSSS_NODE_MAX_INPUTS 6
#define WSSS_NODE_MAX_SAVED 6

typedef struct wsss_ctx wsss_ctx;
typedef struct wsss_node wsss_node;

/* Backward: given the gradient of the node's output (contiguous, output's shape), add gradients to
 * inputs with wsss_grad_accumulate(ctx, node->inputs[i], g) for each input that needs one
 * (wsss_node_input_needs_grad). Temporaries may be created in ctx. */
typedef void (*wsss_backward_fn)(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *grad_out);

struct wsss_node {
    const char *op;                                   /* op name, for messages */
    wsss_backward_fn backward;
    wsss_tensor *output;
    int n_inputs;
    wsss_tensor *inputs[WSSS_NODE_MAX_INPUTS];        /* may contain NULL (optional inputs) */
    int n_saved;
    wsss_tensor *saved[WSSS_NODE_MAX_SAVED];          /* tensors kept for backward */
    void *attrs;                                      /* op parameters, zeroed, owned by node */
    unsigned flags;                                   /* WSSS_NODE_* */
};

/* The node's backward accepts an output gradient in a blocked layout (see tensor.h); for other
 * nodes the backward pass converts the gradient to plain first. */
#define WSSS_NODE_BLOCKED_GRAD 1u

wsss_ctx *wsss_ctx_new(void);
void wsss_ctx_free(wsss_ctx *ctx);
/* Free all tensors and nodes of the context; it stays usable. */
void wsss_ctx_reset(wsss_ctx *ctx);
/* Grad mode: when off (inference), no node is recorded and nothing is saved. Returns old value. */
int wsss_ctx_set_grad_enabled(wsss_ctx *ctx, int enabled);
int wsss_ctx_grad_enabled(const wsss_ctx *ctx);
/* Training flag read by dropout/batchnorm-style ops that are not told explicitly. */
int wsss_ctx_set_training(wsss_ctx *ctx, int training);
int wsss_ctx_training(const wsss_ctx *ctx);
/* Blocked layouts (off by default): when on, oneDNN-backed ops may return tensors in oneDNN's
 * blocked layouts and keep them blocked from op to op (and cache weights reordered for oneDNN for
 * the context's lifetime). Values read through ops and the core tensor functions are unchanged;
 * code that reads t->data of an op's result itself must call wsss_tensor_plain(t) first.
 * Returns the old value. */
int wsss_ctx_set_blocked(wsss_ctx *ctx, int on);
int wsss_ctx_blocked(const wsss_ctx *ctx);
/* Winograd convolutions (off by default): in a blocked-layout context, F32 3x3 convolutions with
 * stride 1, no dilation, no groups and channel counts in multiples of 16 use oneDNN's Winograd
 * F(4x4, 3x3) where its scratchpad stays under 32 MB (the large-image, fewer-channel layers, where
 * it is about twice as fast as direct convolution on AVX-512); other layers stay direct. Results
 * differ from direct convolution (and from PyTorch, which computes direct) by rounding, about
 * 1e-6 relative per convolution. Returns the old value. */
int wsss_ctx_set_winograd(wsss_ctx *ctx, int on);
int wsss_ctx_winograd(const wsss_ctx *ctx);
/* Synchronised batch norm (off by default): with several data-parallel ranks (dist.h), batch norm
 * in training mode normalises with the mean and variance of all ranks' batches together and its
 * backward sums the gradient terms of the statistics across ranks, so N ranks compute what one
 * process computes on the global batch (every rank must run the same graph). A no-op at one rank.
 * Returns the old value. */
int wsss_ctx_set_sync_bn(wsss_ctx *ctx, int on);
int wsss_ctx_sync_bn(const wsss_ctx *ctx);
/* Bytes of tensor data the context currently owns, and the peak since creation/reset. */
size_t wsss_ctx_bytes(const wsss_ctx *ctx);
size_t wsss_ctx_peak_bytes(const wsss_ctx *ctx);

/* ---- tensors owned by a context ---- */
/* New contiguous zero-filled tensor owned by ctx (ctx may be NULL: persistent). */
wsss_tensor *wsss_ctx_tensor(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape);
wsss_tensor *wsss_ctx_tensor_like(wsss_ctx *ctx, const wsss_tensor *t); /* same dtype & shape */
/* Register a header created elsewhere (e.g. a view) as owned by ctx. Returns t. */
wsss_tensor *wsss_ctx_adopt(wsss_ctx *ctx, wsss_tensor *t);
/* Release a ctx-owned tensor early (e.g. inference activations no longer needed). Only safe
 * when nothing (no node, no view) still refers to it. */
void wsss_ctx_release(wsss_ctx *ctx, wsss_tensor *t);
/* Contiguous version of t: t itself if already contiguous (a blocked t is converted to plain in
 * place), else a copy owned by ctx.
 * Not recorded in the graph: use for kernel inputs inside an op. */
const wsss_tensor *wsss_ctx_contiguous(wsss_ctx *ctx, const wsss_tensor *t);

/* ---- recording (used by op implementations) ---- */
/* Nonzero if grad mode is on and any of the n inputs (NULLs skipped) requires grad. */
int wsss_needs_grad(const wsss_ctx *ctx, int n, wsss_tensor *const *inputs);
/* Record a node producing `out` from `inputs`; sets out->grad_fn and out->requires_grad.
 * attrs_size bytes of zeroed attribute memory are attached. */
wsss_node *wsss_node_new(wsss_ctx *ctx, const char *op, wsss_backward_fn backward, wsss_tensor *out,
                         int n_inputs, wsss_tensor *const *inputs, size_t attrs_size);
/* Keep t for backward (returns its slot index). The tensor must be owned by ctx or persistent. */
int wsss_node_save(wsss_node *node, wsss_tensor *t);
int wsss_node_input_needs_grad(const wsss_node *node, int i);

/* Convenience: records a node only if needed; returns NULL when no grad is needed. */
wsss_node *wsss_record(wsss_ctx *ctx, const char *op, wsss_backward_fn backward, wsss_tensor *out,
                       int n_inputs, wsss_tensor *const *inputs, size_t attrs_size);

/* ---- gradients ---- */
/* t->grad += g (g has t's shape, any dtype-compatible float, contiguous). Allocates t->grad on first
 * use: persistent for persistent leaves, ctx-owned otherwise. */
void wsss_grad_accumulate(wsss_ctx *ctx, wsss_tensor *t, const wsss_tensor *g);
/* The end of a backward's temporary gradient g: wsss_grad_accumulate, then g back to ctx's pool
 * (wsss_ctx_release). A NULL g (an input that needs no gradient) does nothing. */
void wsss_grad_accumulate_release(wsss_ctx *ctx, wsss_tensor *t, wsss_tensor *g);
/* Backpropagate from a scalar (numel 1) tensor with d(root)/d(root) = 1. */
int wsss_backward(wsss_ctx *ctx, wsss_tensor *root);
/* Backpropagate with an explicit output gradient (root's shape). */
int wsss_backward_with(wsss_ctx *ctx, wsss_tensor *root, const wsss_tensor *grad_root);

/* A view of t with no history (stop-gradient). Shares data. */
wsss_tensor *wsss_detach(wsss_ctx *ctx, wsss_tensor *t);

#endif
