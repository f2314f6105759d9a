/* oneDNN glue shared by every oneDNN kernel (conv, matmul, batchnorm, pooling, eltwise).
 *
 * This is the one place that owns the oneDNN engine and stream, the primitive cache and the
 * scratchpad. Kernels in src/backend/dnnl/ build on it; nothing outside src/backend/dnnl/ includes
 * <oneapi/dnnl/dnnl.h>. Written against the oneDNN 2.6 C API: memory descriptors are plain
 * structs (dnnl_memory_desc_t values) and primitives are created from op descriptors
 * (dnnl_*_desc_init + dnnl_primitive_desc_create). In 3.x descriptors became opaque handles and
 * the op-descriptor step disappeared, so a port touches this directory only.
 *
 * Typical kernel (forward of some op on F32 NCHW tensors):
 *
 *   // 1. key: op kind + direction + every shape/parameter that changes the primitive
 *   wsss_dnnl_key k;
 *   wsss_dnnl_key_init(&k, "myop_fwd");
 *   wsss_dnnl_key_i64s(&k, x->ndim, x->shape);
 *   wsss_dnnl_key_i64(&k, some_param);
 *   // 2. cached primitive; make_pd runs only on a miss (outside the cache lock)
 *   const wsss_dnnl_prim *p = wsss_dnnl_cache_get(&k, make_pd, &my_args);
 *   // make_pd: fills an op descriptor (2.x API) and calls
 *   //   dnnl_primitive_desc_create(pd, &op_desc, wsss_dnnl_attr(), wsss_dnnl_engine(), hint)
 *   // 3. memory: the primitive may want a blocked layout (format_tag any); io_input reorders the
 *   //    plain tensor into it when needed, io_output gives a destination and reorders back.
 *   dnnl_memory_desc_t xmd;  wsss_dnnl_md_from_tensor(&xmd, x);
 *   wsss_dnnl_io in, out;
 *   wsss_dnnl_io_input(&in, wsss_dnnl_arg_md(p, DNNL_ARG_SRC), &xmd, x->data);
 *   wsss_dnnl_io_output(&out, wsss_dnnl_arg_md(p, DNNL_ARG_DST), &ymd, y->data);
 *   // 4. execute (adds the shared scratchpad, waits for completion)
 *   wsss_dnnl_args a = {0};
 *   wsss_dnnl_args_add(&a, DNNL_ARG_SRC, in.mem);
 *   wsss_dnnl_args_add(&a, DNNL_ARG_DST, out.mem);
 *   wsss_dnnl_execute(p, &a);
 *   wsss_dnnl_io_finish(&out);   // reorders to y if the layouts differ, frees temporaries
 *   wsss_dnnl_io_finish(&in);
 *
 * Threading: engine/stream creation and the cache are protected by mutexes; execution is
 * serialised by one lock (oneDNN parallelises inside a primitive with OpenMP, so concurrent calls
 * would only oversubscribe). Call kernels from outside OpenMP parallel regions. */
#ifndef WSSS_BACKEND_DNNL_COMMON_H
#define WSSS_BACKEND_DNNL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <oneapi/dnnl/dnnl.h>

#include "wsss/tensor.h"

/* ---- errors ---- */
/* Abort with the failing call, oneDNN's status name and file:line. oneDNN failures in our kernels
 * are programmer errors (shapes were validated by the op before reaching the backend). */
#define DNNL_CHECK(call)                                                                   \
    do {                                                                                   \
        dnnl_status_t wsss_dnnl_st_ = (call);                                              \
        if (wsss_dnnl_st_ != dnnl_success)                                                 \
            wsss_dnnl_fail(#call, wsss_dnnl_st_, __FILE__, __LINE__);                      \
    } while (0)

void wsss_dnnl_fail(const char *call, dnnl_status_t st, const char *file, int line)
    __attribute__((noreturn));
const char *wsss_dnnl_status_name(dnnl_status_t st);

/* ---- engine, stream, attributes (process-wide, created on first use) ---- */
dnnl_engine_t wsss_dnnl_engine(void); /* CPU engine 0 */
dnnl_stream_t wsss_dnnl_stream(void); /* in-order stream on that engine */
/* Attributes every cached primitive should be created with: user-managed scratchpad, so all
 * primitives share one scratch buffer owned here (instead of one allocation per primitive).
 * Do not destroy; pass to dnnl_primitive_desc_create / dnnl_reorder_primitive_desc_create. */
const_dnnl_primitive_attr_t wsss_dnnl_attr(void);

/* ---- memory descriptors (F32 unless noted) ---- */
/* dims = t->shape, strides = t->strides: dense row-major ("abcd", i.e. nchw / nc / oihw) for a
 * contiguous tensor, strided for views. t must be F32 with non-negative strides. */
void wsss_dnnl_md_from_tensor(dnnl_memory_desc_t *md, const wsss_tensor *t);
/* Given dims with an explicit format tag (dnnl_nchw, dnnl_oihw, dnnl_goihw, dnnl_nc, dnnl_abc,
 * dnnl_format_tag_any, ...). */
void wsss_dnnl_md_tag(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag);
/* Given dims and element strides (for transposed/strided views of a plain buffer). */
void wsss_dnnl_md_strides(dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                          const int64_t *strides);
/* dnnl_format_tag_any with the given dims: let the primitive choose the layout. */
void wsss_dnnl_md_any(dnnl_memory_desc_t *md, int ndims, const int64_t *dims);
int wsss_dnnl_md_equal(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b);
size_t wsss_dnnl_md_bytes(const dnnl_memory_desc_t *md);
/* Zero memory descriptor (ndims 0): "argument not used" as returned by oneDNN queries. */
int wsss_dnnl_md_is_zero(const dnnl_memory_desc_t *md);

/* ---- memory objects ---- */
/* Memory object over an existing buffer (not owned: the caller keeps the buffer alive). */
dnnl_memory_t wsss_dnnl_mem_wrap(const dnnl_memory_desc_t *md, const void *ptr);
/* Memory object owning a fresh buffer of md's size (oneDNN allocates). */
dnnl_memory_t wsss_dnnl_mem_alloc(const dnnl_memory_desc_t *md);
void wsss_dnnl_mem_free(dnnl_memory_t m); /* NULL is fine */
void *wsss_dnnl_mem_ptr(dnnl_memory_t m);

/* Temporary buffer for oneDNN arguments: 64-byte aligned (some kernels, e.g. Winograd, use
 * aligned vector loads and stores), zero-filled when zero; free with free(). Aborts on OOM. */
void *wsss_dnnl_buf(size_t nbytes, int zero);
static inline int wsss_dnnl_is_aligned(const void *p) { return ((uintptr_t)p & 63) == 0; }

/* ---- reorder ---- */
/* dst = src converted between layouts (the reorder primitive is cached by the two layouts).
 * Destinations up to WSSS_DNNL_SERIAL_REORDER_BYTES are converted on the calling thread alone. */
#define WSSS_DNNL_SERIAL_REORDER_BYTES ((size_t)12 << 20)
void wsss_dnnl_reorder(dnnl_memory_t src, dnnl_memory_t dst);

/* A tensor argument in the layout a primitive wants, backed by the caller's plain buffer.
 * If `want` equals the user layout, mem wraps the user buffer directly (no copy). */
typedef struct wsss_dnnl_io {
    dnnl_memory_t mem;  /* pass this to execute */
    dnnl_memory_t user; /* wraps the caller's buffer; == mem when no reorder is needed */
    int is_output;
} wsss_dnnl_io;
/* Input: reorders the user buffer into `want` now if the layouts differ. */
void wsss_dnnl_io_input(wsss_dnnl_io *io, const dnnl_memory_desc_t *want,
                        const dnnl_memory_desc_t *user_md, const void *ptr);
/* Output: a destination in `want`; io_finish reorders it into the user buffer. */
void wsss_dnnl_io_output(wsss_dnnl_io *io, const dnnl_memory_desc_t *want,
                         const dnnl_memory_desc_t *user_md, void *ptr);
/* Output: copy back to the user buffer if needed. Both: free the memory objects. */
void wsss_dnnl_io_finish(wsss_dnnl_io *io);

/* ---- primitive cache ---- */
#define WSSS_DNNL_KEY_MAX 1024
/* Byte key: op kind + direction + shapes + params. Build it only from explicit values (the
 * helpers below), never from raw structs with padding. */
typedef struct wsss_dnnl_key {
    size_t len;
    uint8_t bytes[WSSS_DNNL_KEY_MAX];
} wsss_dnnl_key;
void wsss_dnnl_key_init(wsss_dnnl_key *k, const char *op); /* op name incl. direction */
void wsss_dnnl_key_add(wsss_dnnl_key *k, const void *p, size_t n);
void wsss_dnnl_key_i64(wsss_dnnl_key *k, int64_t v);
void wsss_dnnl_key_i64s(wsss_dnnl_key *k, int n, const int64_t *v);
void wsss_dnnl_key_ints(wsss_dnnl_key *k, int n, const int *v);
void wsss_dnnl_key_f64(wsss_dnnl_key *k, double v);
/* The layout-defining fields of a memory descriptor (dims, type, format, blocking). */
void wsss_dnnl_key_md(wsss_dnnl_key *k, const dnnl_memory_desc_t *md);

typedef struct wsss_dnnl_prim {
    dnnl_primitive_desc_t pd; /* owned by the cache */
    dnnl_primitive_t prim;    /* owned by the cache */
    size_t scratchpad_bytes;  /* 0 if none (or library-managed) */
} wsss_dnnl_prim;

/* Creates the primitive descriptor on a cache miss. Return the status of
 * dnnl_primitive_desc_create (or of whatever failed); *pd must be set on success. It may itself
 * call wsss_dnnl_cache_get (e.g. a backward primitive fetching its forward hint). */
typedef dnnl_status_t (*wsss_dnnl_make_pd_fn)(dnnl_primitive_desc_t *pd, const void *arg);

/* The cached primitive for key, creating it with make_pd(arg) on a miss. Returns NULL if
 * make_pd fails (e.g. dnnl_unimplemented: the caller may fall back to a reference kernel);
 * *status (may be NULL) receives the status. The cache is bounded (least recently used entries
 * are destroyed when it is full); a returned entry stays valid until WSSS_DNNL_CACHE_CAP - 1
 * other keys have been inserted, so use it right away and do not keep it. */
#define WSSS_DNNL_CACHE_CAP 512
const wsss_dnnl_prim *wsss_dnnl_cache_get(const wsss_dnnl_key *key, wsss_dnnl_make_pd_fn make_pd,
                                          const void *arg, dnnl_status_t *status);
/* Destroy every cached primitive (tests, and leak-free shutdown). */
void wsss_dnnl_cache_clear(void);
/* Number of entries, and lifetime hit/miss counts (for tests and verbose logs). */
void wsss_dnnl_cache_stats(size_t *entries, uint64_t *hits, uint64_t *misses);

/* Memory descriptor a primitive expects for an execute argument (DNNL_ARG_SRC, DNNL_ARG_WEIGHTS,
 * DNNL_ARG_BIAS, DNNL_ARG_DIFF_DST, ...). Returns a zero md if the argument is unused. */
const dnnl_memory_desc_t *wsss_dnnl_arg_md(const wsss_dnnl_prim *p, int arg);
/* Same by query kind (dnnl_query_src_md, dnnl_query_workspace_md, ...), index 0. */
const dnnl_memory_desc_t *wsss_dnnl_pd_md(const wsss_dnnl_prim *p, dnnl_query_t what);

/* ---- execution ---- */
#define WSSS_DNNL_MAX_ARGS 16
typedef struct wsss_dnnl_args {
    int n;
    dnnl_exec_arg_t a[WSSS_DNNL_MAX_ARGS];
} wsss_dnnl_args;
void wsss_dnnl_args_add(wsss_dnnl_args *a, int arg, dnnl_memory_t mem);
/* Execute p with args (+ the shared scratchpad when p needs one) and wait for completion. */
void wsss_dnnl_execute(const wsss_dnnl_prim *p, const wsss_dnnl_args *args);
/* One execution over the caller's buffers: each wsss_dnnl_bufs_add wraps a buffer (md, ptr) as
 * the argument arg; wsss_dnnl_bufs_execute executes p with them and frees the wrappers. */
typedef struct wsss_dnnl_bufs {
    wsss_dnnl_args args;
    dnnl_memory_t mems[WSSS_DNNL_MAX_ARGS];
} wsss_dnnl_bufs;
void wsss_dnnl_bufs_add(wsss_dnnl_bufs *b, int arg, const dnnl_memory_desc_t *md, const void *ptr);
/* The same with the layout p wants for arg (wsss_dnnl_arg_md). */
void wsss_dnnl_bufs_add_arg(wsss_dnnl_bufs *b, const wsss_dnnl_prim *p, int arg, const void *ptr);
void wsss_dnnl_bufs_execute(const wsss_dnnl_prim *p, wsss_dnnl_bufs *b);

/* The end of every make_pd: desc_status (of the dnnl_*_desc_init that filled op_desc) when it
 * failed, else the primitive descriptor created with the shared attributes on the engine (hint:
 * the forward primitive of a backward, or NULL). */
dnnl_status_t wsss_dnnl_pd_create(dnnl_status_t desc_status, dnnl_primitive_desc_t *pd, const void *op_desc,
                                  const wsss_dnnl_prim *hint);

#endif
