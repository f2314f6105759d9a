/* The core's interface for the kernel layers (src/backend, src/ops; not a public API): tensors whose
 * contents the kernel fills, blocked-layout tensors, in-place gradients and the per-context cache
 * of derived tensors. */
#ifndef WSSS_CORE_KERNEL_H
#define WSSS_CORE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "wsss/autograd.h"

/* New ctx-owned tensor whose contents are undefined: only for kernels that write every element
 * (and, for blocked layouts, oneDNN primitives, which zero the padding of their outputs). */
wsss_tensor *wsss_ctx_tensor_uninit(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape);

/* What the core needs to do with a blocked layout it cannot read itself: the backend that creates
 * blocked tensors supplies these (so the core never depends on the backend). */
typedef struct wsss_layout_ops {
    void *(*copy)(const void *layout); /* malloc'd copy */
    int (*equal)(const void *a, const void *b);
    /* Reorder a blocked buffer into the dense row-major buffer of its dims. */
    void (*to_plain)(const void *layout, const void *src, void *dst);
} wsss_layout_ops;

/* New ctx-owned tensor in a blocked layout: `layout` is a malloc'd opaque descriptor whose
 * ownership passes to the tensor, nbytes its storage size, ops how to handle it (one backend: the
 * same ops for every blocked tensor). Contents undefined unless zero. */
wsss_tensor *wsss_ctx_tensor_blocked(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape,
                                     void *layout, const wsss_layout_ops *ops, size_t nbytes, int zero);

/* Nonzero if node's backward may overwrite its output gradient gy in place: gy is the output's
 * context-owned gradient, no other tensor shares its buffer, and the backward pass frees it right
 * after this node. */
int wsss_grad_is_private(const wsss_node *node, const wsss_tensor *gy);

/* ---- derived-tensor cache ----
 * A tensor computed from a source tensor's buffer (a weight reordered into a kernel's layout),
 * kept by the context: found again while the source buffer (id) and its version are unchanged and
 * the caller's key bytes match. put hands the derived tensor (created in ctx) over to the cache;
 * entries used since the last wsss_ctx_reset survive it, so a loop of inference steps converts
 * each weight once; the rest are freed at the reset (unless the step used none), and all with
 * the context.
 * get returns NULL when there is none; *seen (may be NULL) tells whether the key was put before
 * for this source version, possibly with derived = NULL (a marker: "computed once, not kept"). */
wsss_tensor *wsss_ctx_derived_get(wsss_ctx *ctx, const wsss_tensor *src, const void *key, size_t keylen,
                                  int *seen);
void wsss_ctx_derived_put(wsss_ctx *ctx, const wsss_tensor *src, const void *key, size_t keylen,
                          wsss_tensor *derived);

#endif
