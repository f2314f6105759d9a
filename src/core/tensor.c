#include "wsss/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx_internal.h"
#include "wsss/error.h"

static const size_t k_dtype_size[WSSS_DTYPE_COUNT] = {4, 8, 1, 4, 8};
static const char *const k_dtype_name[WSSS_DTYPE_COUNT] = {"F32", "F64", "U8", "I32", "I64"};

size_t wsss_dtype_size(wsss_dtype dt) {
    WSSS_ASSERT(dt >= 0 && dt < WSSS_DTYPE_COUNT, "bad dtype");
    return k_dtype_size[dt];
}

const char *wsss_dtype_name(wsss_dtype dt) {
    WSSS_ASSERT(dt >= 0 && dt < WSSS_DTYPE_COUNT, "bad dtype");
    return k_dtype_name[dt];
}

uint64_t wsss_buffer_fresh_id(void) {
    static uint64_t g_next_id;
    return __atomic_add_fetch(&g_next_id, 1, __ATOMIC_RELAXED);
}

wsss_buffer *wsss_buffer_new(size_t nbytes) {
    wsss_buffer *b = wsss_xcalloc(1, sizeof *b);
    b->id = wsss_buffer_fresh_id();
    size_t alloc = (nbytes + 63) / 64 * 64;
    if (alloc == 0) alloc = 64;
    b->data = aligned_alloc(64, alloc);
    if (!b->data) {
        fprintf(stderr, "wsss: out of memory allocating a %zu-byte tensor\n", nbytes);
        abort();
    }
    memset(b->data, 0, alloc);
    b->nbytes = nbytes;
    b->refcount = 1;
    return b;
}

void wsss_buffer_retain(wsss_buffer *b) { b->refcount++; }

void wsss_buffer_release(wsss_buffer *b) {
    if (!b) return;
    WSSS_ASSERT(b->refcount > 0, "buffer over-released");
    if (--b->refcount == 0) {
        if (b->pool) {
            wsss_buffer_pool_put(b);
            return;
        }
        free(b->data);
        free(b);
    }
}

void wsss_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i];
    }
}

static wsss_tensor *tensor_alloc(wsss_dtype dt, int ndim, const int64_t *shape) {
    WSSS_ASSERT(ndim >= 0 && ndim <= WSSS_MAX_DIMS, "too many dims");
    wsss_tensor *t = wsss_xcalloc(1, sizeof *t);
    t->dtype = dt;
    t->ndim = ndim;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        WSSS_ASSERT(shape[i] >= 0, "negative dimension");
        t->shape[i] = shape[i];
        n *= shape[i];
    }
    wsss_contiguous_strides(ndim, t->shape, t->stride);
    t->buf = wsss_buffer_new((size_t)n * wsss_dtype_size(dt));
    t->data = t->buf->data;
    return t;
}

wsss_tensor *wsss_tensor_new(wsss_dtype dt, int ndim, const int64_t *shape) {
    return tensor_alloc(dt, ndim, shape);
}

wsss_tensor *wsss_tensor_new4(wsss_dtype dt, int64_t n, int64_t c, int64_t h, int64_t w) {
    int64_t s[4] = {n, c, h, w};
    return tensor_alloc(dt, 4, s);
}

wsss_tensor *wsss_tensor_from_data(wsss_dtype dt, int ndim, const int64_t *shape, const void *src) {
    wsss_tensor *t = tensor_alloc(dt, ndim, shape);
    if (src) memcpy(t->data, src, wsss_tensor_nbytes(t));
    return t;
}

wsss_tensor *wsss_tensor_clone(const wsss_tensor *t) {
    wsss_tensor *c = tensor_alloc(t->dtype, t->ndim, t->shape);
    wsss_tensor_copy_into(c, t);
    return c;
}

wsss_tensor *wsss_tensor_header_like(const wsss_tensor *base) {
    wsss_tensor_plain((wsss_tensor *)base); /* views share plain data */
    wsss_tensor *t = wsss_xcalloc(1, sizeof *t);
    t->dtype = base->dtype;
    t->ndim = base->ndim;
    memcpy(t->shape, base->shape, sizeof t->shape);
    memcpy(t->stride, base->stride, sizeof t->stride);
    t->data = base->data;
    t->buf = base->buf;
    wsss_buffer_retain(t->buf);
    return t;
}

void wsss_tensor_destroy(wsss_tensor *t) {
    if (!t) return;
    wsss_buffer_release(t->buf);
    free(t->layout);
    free(t->name);
    free(t);
}

void wsss_tensor_free(wsss_tensor *t) {
    if (!t) return;
    WSSS_ASSERT(t->ctx == NULL, "wsss_tensor_free on a context-owned tensor");
    if (t->grad && t->grad->ctx == NULL) wsss_tensor_destroy(t->grad);
    wsss_tensor_destroy(t);
}

void wsss_tensor_bump_version(wsss_tensor *t) {
    if (t && t->buf) t->buf->version++;
}

void wsss_tensor_set_name(wsss_tensor *t, const char *name) {
    free(t->name);
    t->name = name ? wsss_xstrdup(name) : NULL;
}

int64_t wsss_tensor_numel(const wsss_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t wsss_tensor_nbytes(const wsss_tensor *t) {
    return (size_t)wsss_tensor_numel(t) * wsss_dtype_size(t->dtype);
}

int wsss_tensor_is_contiguous(const wsss_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s) return 0;
        s *= t->shape[i];
    }
    return 1;
}

int wsss_tensor_same_shape(const wsss_tensor *a, const wsss_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

char *wsss_shape_str(const wsss_tensor *t, char *buf, size_t n) {
    size_t off = 0;
    off += (size_t)snprintf(buf + off, n - off, "[");
    for (int i = 0; i < t->ndim && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (off < n) snprintf(buf + off, n - off, "]");
    return buf;
}

/* Byte offset of the element at a row-major flat index, honouring strides. */
static int64_t elem_offset(const wsss_tensor *t, int64_t flat) {
    int64_t off = 0;
    for (int i = t->ndim - 1; i >= 0; i--) {
        int64_t idx = flat % t->shape[i];
        flat /= t->shape[i];
        off += idx * t->stride[i];
    }
    return off;
}

static double load_elem(wsss_dtype dt, const char *p) {
    switch (dt) {
    case WSSS_F32: return *(const float *)p;
    case WSSS_F64: return *(const double *)p;
    case WSSS_U8: return *(const uint8_t *)p;
    case WSSS_I32: return *(const int32_t *)p;
    case WSSS_I64: return (double)*(const int64_t *)p;
    default: WSSS_ASSERT(0, "bad dtype"); return 0;
    }
}

static void store_elem(wsss_dtype dt, char *p, double v) {
    switch (dt) {
    case WSSS_F32: *(float *)p = (float)v; break;
    case WSSS_F64: *(double *)p = v; break;
    case WSSS_U8: *(uint8_t *)p = (uint8_t)v; break;
    case WSSS_I32: *(int32_t *)p = (int32_t)v; break;
    case WSSS_I64: *(int64_t *)p = (int64_t)v; break;
    default: WSSS_ASSERT(0, "bad dtype");
    }
}

double wsss_tensor_get(const wsss_tensor *t, int64_t flat_index) {
    wsss_tensor_plain((wsss_tensor *)t);
    size_t es = wsss_dtype_size(t->dtype);
    return load_elem(t->dtype, (const char *)t->data + elem_offset(t, flat_index) * (int64_t)es);
}

void wsss_tensor_set(wsss_tensor *t, int64_t flat_index, double v) {
    wsss_tensor_plain(t);
    wsss_tensor_bump_version(t);
    size_t es = wsss_dtype_size(t->dtype);
    store_elem(t->dtype, (char *)t->data + elem_offset(t, flat_index) * (int64_t)es, v);
}

void wsss_tensor_copy_into(wsss_tensor *dst, const wsss_tensor *src) {
    int64_t n = wsss_tensor_numel(src);
    WSSS_ASSERT(n == wsss_tensor_numel(dst), "copy_into: numel mismatch");
    wsss_tensor_plain((wsss_tensor *)src);
    wsss_tensor_plain(dst);
    wsss_tensor_bump_version(dst);
    if (dst->dtype == src->dtype && wsss_tensor_is_contiguous(dst) && wsss_tensor_is_contiguous(src)) {
        memmove(dst->data, src->data, (size_t)n * wsss_dtype_size(src->dtype));
        return;
    }
    if (dst->dtype == WSSS_F32 && src->dtype == WSSS_F32 && wsss_tensor_is_contiguous(dst)) {
        /* common case: gather a strided f32 view */
        float *d = dst->data;
        for (int64_t i = 0; i < n; i++) d[i] = *((const float *)src->data + elem_offset(src, i));
        return;
    }
    for (int64_t i = 0; i < n; i++) wsss_tensor_set(dst, i, wsss_tensor_get(src, i));
}

void wsss_tensor_fill(wsss_tensor *t, double v) {
    int64_t n = wsss_tensor_numel(t);
    wsss_tensor_plain(t);
    wsss_tensor_bump_version(t);
    if (t->dtype == WSSS_F32 && wsss_tensor_is_contiguous(t)) {
        float *d = t->data;
        for (int64_t i = 0; i < n; i++) d[i] = (float)v;
        return;
    }
    for (int64_t i = 0; i < n; i++) wsss_tensor_set(t, i, v);
}

wsss_tensor *wsss_tensor_to_dtype(const wsss_tensor *t, wsss_dtype dt) {
    wsss_tensor *c = tensor_alloc(dt, t->ndim, t->shape);
    wsss_tensor_copy_into(c, t);
    return c;
}
