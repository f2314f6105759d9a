/* Reference shape kernels: element-size-generic data movement plus shape_impl.h (scatter-add
 * backward) for float and double. */
#include "backend/ref/shape.h"

#include <string.h>

#include "wsss/tensor.h"

/* Strided copies below this many elements stay serial (thread start-up costs more). */
#define COPY_PAR_MIN (1 << 16)

/* Copy one row of n elements between arbitrary strides. */
static void copy_row(size_t es, int64_t n, char *d, int64_t ds, const char *s, int64_t ss) {
    if (ds == 1 && ss == 1) {
        memcpy(d, s, (size_t)n * es);
        return;
    }
    switch (es) {
    case 4: {
        uint32_t *dd = (uint32_t *)d;
        const uint32_t *sp = (const uint32_t *)s;
        for (int64_t i = 0; i < n; i++) dd[i * ds] = sp[i * ss];
        break;
    }
    case 8: {
        uint64_t *dd = (uint64_t *)d;
        const uint64_t *sp = (const uint64_t *)s;
        for (int64_t i = 0; i < n; i++) dd[i * ds] = sp[i * ss];
        break;
    }
    case 1:
        for (int64_t i = 0; i < n; i++) d[i * ds] = s[i * ss];
        break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(d + i * ds * (int64_t)es, s + i * ss * (int64_t)es, es);
    }
}

void wsss_ref_copy_strided(size_t es, int ndim, const int64_t *shape, void *dst,
                           const int64_t *dst_stride, const void *src, const int64_t *src_stride) {
    if (ndim == 0) {
        memcpy(dst, src, es);
        return;
    }
    int64_t rows = 1;
    for (int i = 0; i < ndim - 1; i++) rows *= shape[i];
    const int64_t n = shape[ndim - 1];
    if (rows == 0 || n == 0) return;
    const int64_t e = (int64_t)es;
    /* Each row finds its own start by decomposing its index, so rows can run in parallel. */
#pragma omp parallel for if (rows * n >= COPY_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t rem = r, doff = 0, soff = 0;
        for (int d = ndim - 2; d >= 0; d--) {
            int64_t idx = rem % shape[d];
            rem /= shape[d];
            doff += idx * dst_stride[d];
            soff += idx * src_stride[d];
        }
        copy_row(es, n, (char *)dst + doff * e, dst_stride[ndim - 1], (const char *)src + soff * e,
                 src_stride[ndim - 1]);
    }
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

void wsss_ref_pad2d_copy(size_t es, int64_t planes, int64_t sh, int64_t sw, const void *src,
                         int64_t dh, int64_t dw, void *dst, int64_t top, int64_t left) {
    /* source rows/cols whose destination lands inside dst */
    const int64_t y0 = max64(0, -top), y1 = min64(sh, dh - top);
    const int64_t x0 = max64(0, -left), x1 = min64(sw, dw - left);
    if (y1 <= y0 || x1 <= x0) return;
    const size_t row = (size_t)(x1 - x0) * es;
    const int64_t e = (int64_t)es;
#pragma omp parallel for if (planes * (y1 - y0) * (x1 - x0) >= COPY_PAR_MIN)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = y0; y < y1; y++) {
            const char *s = (const char *)src + ((p * sh + y) * sw + x0) * e;
            char *d = (char *)dst + ((p * dh + y + top) * dw + x0 + left) * e;
            memcpy(d, s, row);
        }
}

void wsss_ref_index_select_fwd(size_t es, int64_t outer, int64_t n_src, int64_t inner,
                               const void *x, int64_t n_idx, const int64_t *idx, void *y) {
    const size_t block = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < n_idx; k++)
            memcpy((char *)y + (size_t)(o * n_idx + k) * block,
                   (const char *)x + (size_t)(o * n_src + idx[k]) * block, block);
}

/* Walks the multi-indices of the index tensor in row-major order, keeping the offset into x of
 * every coordinate except `dim` (which comes from the index value). */
typedef struct gather_iter {
    int ndim, dim;
    int64_t numel, base;
    int64_t m[WSSS_MAX_DIMS], ishape[WSSS_MAX_DIMS], xstride[WSSS_MAX_DIMS];
} gather_iter;

static void gather_iter_init(gather_iter *it, int ndim, int dim, const int64_t *xshape,
                             const int64_t *ishape) {
    memset(it, 0, sizeof *it);
    it->ndim = ndim;
    it->dim = dim;
    it->numel = 1;
    for (int d = 0; d < ndim; d++) {
        it->ishape[d] = ishape[d];
        it->numel *= ishape[d];
    }
    wsss_contiguous_strides(ndim, xshape, it->xstride);
}

static void gather_iter_next(gather_iter *it) {
    for (int d = it->ndim - 1; d >= 0; d--) {
        const int64_t st = d == it->dim ? 0 : it->xstride[d];
        if (++it->m[d] < it->ishape[d]) {
            it->base += st;
            return;
        }
        it->base -= (it->m[d] - 1) * st;
        it->m[d] = 0;
    }
}

void wsss_ref_gather_fwd(size_t es, int ndim, int dim, const int64_t *xshape, const void *x,
                         const int64_t *ishape, const int64_t *index, void *y) {
    gather_iter it;
    gather_iter_init(&it, ndim, dim, xshape, ishape);
    const int64_t e = (int64_t)es;
    for (int64_t i = 0; i < it.numel; i++) {
        memcpy((char *)y + i * e, (const char *)x + (it.base + index[i] * it.xstride[dim]) * e, es);
        gather_iter_next(&it);
    }
}

#define REF_TEMPLATE "backend/ref/shape_impl.h"
#include "backend/ref/for_each_real.h"
