/* Context internals shared by src/core and src/backend/dnnl (not a public API): buffer pools,
 * blocked-layout tensors and the per-context cache of derived tensors. */
#ifndef WSSS_CORE_CTX_INTERNAL_H
#define WSSS_CORE_CTX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wsss/autograd.h"

/* ---- buffer pool (one per context) ----
 * Buffers of ctx-owned tensors come from the context's pool and go back to it when their last
 * reference is released, so a training loop that resets one context per step reuses the same
 * memory every step instead of asking the allocator (and the kernel's page faults) again. */
struct wsss_buffer_pool;
/* Called by wsss_buffer_release when a pooled buffer's refcount reaches 0. */
void wsss_buffer_pool_put(wsss_buffer *b);
/* A fresh process-unique buffer id (a pooled buffer gets one each time it is handed out). */
uint64_t wsss_buffer_fresh_id(void);

/* New ctx-owned tensor whose contents are undefined: only for kernels that write every element
 * (and, for blocked layouts, oneDNN primitives, which zero the padding of their outputs). */
wsss_tensor *wsss_ctx_tensor_uninit(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape);

/* New ctx-owned tensor in a blocked layout: `layout` is a malloc'd opaque descriptor whose
 * ownership passes to the tensor, nbytes its storage size. Contents undefined unless zero. */
wsss_tensor *wsss_ctx_tensor_blocked(wsss_ctx *ctx, wsss_dtype dt, int ndim, const int64_t *shape,
                                     void *layout, size_t nbytes, int zero);

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
