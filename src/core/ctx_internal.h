/* Context internals of src/core (private to the core): the buffer pools. What kernels may use of
 * the context (uninitialised and blocked tensors, the derived-tensor cache) is core/kernel.h. */
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

#endif
