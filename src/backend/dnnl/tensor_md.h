/* oneDNN memory descriptors of wsss tensors, plain or blocked, for the kernels (layout.c).
 *
 * Blocked-layout tensors (see "blocked layouts" in wsss/tensor.h): a blocked tensor's `layout` is a
 * heap copy of the dnnl_memory_desc_t its buffer is stored in; its shape is the logical
 * (PyTorch-order) shape, equal to the descriptor's dims. Kernels describe any F32 tensor with
 * wsss_dnnl_tensor_md (plain tensors get their strided row-major descriptor), convert inputs to the
 * layout a primitive wants with wsss_dnnl_convert / wsss_dnnl_as_md, and create outputs in the
 * primitive's layout with wsss_dnnl_new_tensor. The core copies, compares and converts layouts
 * through the wsss_layout_ops that wsss_dnnl_new_tensor hands it (core/kernel.h): it never includes
 * dnnl.h and never calls the backend. */
#ifndef WSSS_BACKEND_DNNL_TENSOR_MD_H
#define WSSS_BACKEND_DNNL_TENSOR_MD_H

#include <oneapi/dnnl/dnnl.h>

#include "wsss/autograd.h"

/* Descriptor of an F32 tensor as stored: its blocked layout, or the strided row-major layout. */
void wsss_dnnl_tensor_md(dnnl_memory_desc_t *md, const wsss_tensor *t);
/* Address of the tensor's storage (buf->data for blocked tensors). */
void *wsss_dnnl_tensor_ptr(const wsss_tensor *t);
/* 1 if md is the dense row-major layout of its dims (then tensors in it are stored plain). */
int wsss_dnnl_md_is_plain(const dnnl_memory_desc_t *md);
/* New ctx-owned F32 tensor of logical shape `shape` stored in md: plain when md is dense
 * row-major, else blocked. Contents undefined except that padding is zero. */
wsss_tensor *wsss_dnnl_new_tensor(wsss_ctx *ctx, int ndim, const int64_t *shape,
                                  const dnnl_memory_desc_t *md);
/* The values of (src_md, src) reordered into `want`, as a new ctx tensor of shape `shape`. */
wsss_tensor *wsss_dnnl_convert(wsss_ctx *ctx, const dnnl_memory_desc_t *src_md, const void *src,
                               const dnnl_memory_desc_t *want, int ndim, const int64_t *shape);
/* t itself if it is stored in `want`, else a converted ctx-owned copy (t unchanged). */
wsss_tensor *wsss_dnnl_as_md(wsss_ctx *ctx, wsss_tensor *t, const dnnl_memory_desc_t *want);
/* A persistent weight w, whose plain layout is described by user_md (e.g. goihw for grouped
 * convolutions), in layout `want`. The first use in a context (per buffer version) converts into
 * a temporary (*temp = 1: release it after the primitive ran); later uses convert once more and
 * keep that copy for the context's lifetime (*temp = 0), so weights used several times per step
 * (shared backbones, repeated inference in one context) are reordered only twice. Returns w
 * itself (*temp = 0) when want is its plain layout. */
wsss_tensor *wsss_dnnl_cached_weight(wsss_ctx *ctx, wsss_tensor *w, const dnnl_memory_desc_t *user_md,
                                     const dnnl_memory_desc_t *want, int *temp);
#endif
