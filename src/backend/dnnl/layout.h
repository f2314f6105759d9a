/* Blocked-layout tensors for the oneDNN kernels (see "blocked layouts" in wsss/tensor.h).
 *
 * A blocked tensor's `layout` is a heap copy of the dnnl_memory_desc_t its buffer is stored in;
 * its shape is the logical (PyTorch-order) shape, equal to the descriptor's dims. Kernels describe
 * any F32 tensor with wsss_dnnl_tensor_md (plain tensors get their strided row-major descriptor),
 * convert inputs to the layout a primitive wants with wsss_dnnl_convert / wsss_dnnl_as_md, and
 * create outputs in the primitive's layout with wsss_dnnl_new_tensor. The core calls the
 * layout_* functions here (it never includes dnnl.h); kernels use tensor_md.h. */
#ifndef WSSS_BACKEND_DNNL_LAYOUT_H
#define WSSS_BACKEND_DNNL_LAYOUT_H

#include <stddef.h>

#include "wsss/autograd.h"

/* ---- used by src/core (opaque layouts) ---- */
void *wsss_dnnl_layout_copy(const void *layout);
int wsss_dnnl_layout_equal(const void *a, const void *b);
/* Reorder a blocked buffer into the dense row-major buffer of its dims. */
void wsss_dnnl_layout_to_plain(const void *layout, const void *src, void *dst);

#endif
