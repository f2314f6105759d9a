/* Tensors: dtype, PyTorch-order shape (N,C,H,W), element strides, views sharing one buffer.
 *
 * Ownership: a tensor is either persistent (ctx == NULL: parameters, buffers, data batches; freed
 * with wsss_tensor_free) or owned by a graph context (see autograd.h; freed with the context).
 * The data buffer is reference-counted, so views (reshape/permute/slice/flip) share it safely. */
#ifndef WSSS_TENSOR_H
#define WSSS_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define WSSS_MAX_DIMS 5

typedef enum { WSSS_F32 = 0, WSSS_F64, WSSS_U8, WSSS_I32, WSSS_I64, WSSS_DTYPE_COUNT } wsss_dtype;

typedef struct wsss_buffer {
    void *data;
    size_t nbytes;
    int refcount;
    uint64_t id;      /* unique per allocation in the process (never reused), for caches */
    uint64_t version; /* bumped by in-place writers (optimizer steps, wsss_tensor_set/fill/copy_into,
                         wsss_tensor_bump_version): data derived from the buffer (e.g. a weight
                         reordered for oneDNN) is valid only while the version is unchanged */
    struct wsss_buffer_pool *pool; /* context pool the buffer returns to when released, or NULL */
} wsss_buffer;

struct wsss_ctx;
struct wsss_node;

typedef struct wsss_tensor {
    wsss_dtype dtype;
    int ndim;
    int64_t shape[WSSS_MAX_DIMS];
    int64_t stride[WSSS_MAX_DIMS]; /* in elements; may be 0 (broadcast) or negative (flip) */
    void *data;                    /* address of element (0,...,0), inside buf->data */
    wsss_buffer *buf;

    /* autograd */
    int requires_grad;          /* leaf parameter/input that wants a gradient, or a result of one */
    struct wsss_tensor *grad;   /* contiguous, same shape; persistent for persistent leaves */
    struct wsss_node *grad_fn;  /* op that produced this tensor, NULL for leaves/no-grad */
    struct wsss_ctx *ctx;       /* owning context, NULL if persistent */
    char *name;                 /* optional (parameters: the PyTorch state_dict key) */

    /* Blocked layout (see "blocked layouts" below): NULL for ordinary tensors. Otherwise an opaque
     * oneDNN memory descriptor owned by the tensor; the values live in buf->data in that layout,
     * data is NULL (a missed conversion fails loudly) and stride is the contiguous stride. Only
     * src/core and src/backend/dnnl read or set it. */
    void *layout;
} wsss_tensor;

size_t wsss_dtype_size(wsss_dtype dt);
const char *wsss_dtype_name(wsss_dtype dt);

/* ---- creation (persistent tensors; contiguous) ---- */
wsss_tensor *wsss_tensor_new(wsss_dtype dt, int ndim, const int64_t *shape);   /* zero-filled */
wsss_tensor *wsss_tensor_new4(wsss_dtype dt, int64_t n, int64_t c, int64_t h, int64_t w);
wsss_tensor *wsss_tensor_from_data(wsss_dtype dt, int ndim, const int64_t *shape, const void *src);
wsss_tensor *wsss_tensor_clone(const wsss_tensor *t); /* contiguous deep copy, no autograd links */
void wsss_tensor_free(wsss_tensor *t); /* persistent tensors only; frees grad too */
void wsss_tensor_set_name(wsss_tensor *t, const char *name);

/* ---- shape queries ---- */
int64_t wsss_tensor_numel(const wsss_tensor *t);
size_t wsss_tensor_nbytes(const wsss_tensor *t);
int wsss_tensor_is_contiguous(const wsss_tensor *t);
int wsss_tensor_same_shape(const wsss_tensor *a, const wsss_tensor *b);
/* "[2, 3, 4]" into buf; returns buf. */
char *wsss_shape_str(const wsss_tensor *t, char *buf, size_t n);

/* ---- element access helpers (contiguous f32/f64) ---- */
static inline float *wsss_f32(const wsss_tensor *t) { return (float *)t->data; }
static inline double *wsss_f64(const wsss_tensor *t) { return (double *)t->data; }
/* Element at a flat logical index (row-major over shape), any strides, as double. */
double wsss_tensor_get(const wsss_tensor *t, int64_t flat_index);
void wsss_tensor_set(wsss_tensor *t, int64_t flat_index, double v);

/* Copy values of src into dst (same numel; any strides; dtype converted). */
void wsss_tensor_copy_into(wsss_tensor *dst, const wsss_tensor *src);
void wsss_tensor_fill(wsss_tensor *t, double v);
/* Contiguous persistent copy converted to dtype. */
wsss_tensor *wsss_tensor_to_dtype(const wsss_tensor *t, wsss_dtype dt);

/* ---- blocked layouts ----
 * With wsss_ctx_set_blocked(ctx, 1), oneDNN-backed ops (conv, batch norm, relu-family activations,
 * pooling, add_relu) may return tensors stored in oneDNN's blocked layouts and pass them between
 * each other without converting. Every other consumer sees plain data: the core functions that read
 * values (wsss_ctx_contiguous, wsss_tensor_header_like and so views, copy_into, get/set, fill,
 * clone, to_dtype) convert a blocked tensor first, and code reading t->data itself must call
 * wsss_tensor_plain (or wsss_ctx_contiguous). A blocked tensor has contiguous strides, so
 * wsss_tensor_is_contiguous is 1 for it, but its data pointer is NULL until converted.
 * Conversion is a change of representation, not of value, so functions taking const tensors may
 * do it. */
static inline int wsss_tensor_is_blocked(const wsss_tensor *t) { return t && t->layout != NULL; }
/* Convert t in place to the plain contiguous layout (no-op for plain tensors); returns t. */
wsss_tensor *wsss_tensor_plain(wsss_tensor *t);
/* Mark t's buffer as written (invalidates data derived from it, e.g. cached reordered weights).
 * Call after writing t->data directly when the tensor may have been used by an op before. */
void wsss_tensor_bump_version(wsss_tensor *t);

/* ---- low-level (used by autograd.c and view ops) ---- */
wsss_buffer *wsss_buffer_new(size_t nbytes); /* zero-filled, refcount 1, 64-byte aligned */
void wsss_buffer_retain(wsss_buffer *b);
void wsss_buffer_release(wsss_buffer *b);
/* Tensor header sharing `base`'s buffer (retained); shape/stride/data set by caller. */
wsss_tensor *wsss_tensor_header_like(const wsss_tensor *base);
void wsss_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);
/* Frees header, buffer reference and grad; no ownership checks (context uses it). */
void wsss_tensor_destroy(wsss_tensor *t);

#endif
