/* Reference reductions: geometry set-up plus the float/double bodies from reduce_impl.h. */
#include "backend/ref/reduce.h"

#include <stdlib.h>

#include "backend/ref/threads.h"
#include "wsss/error.h"

/* Loops over fewer elements stay on one thread; long reductions are cut into blocks this long. */
#define WSSS_RED_PAR_MIN 32768
#define WSSS_RED_BLOCK 8192
/* Below this many outputs, long sums are split into blocks (so sum_all uses every thread). */
#define WSSS_RED_FEW_OUT 16

/* Offset of output o's first element: o decomposed row-major over the kept dims. */
static inline int64_t wsss_reduce_base(const wsss_reduce_geo *g, int64_t o) {
    int64_t off = 0;
    for (int d = g->nk - 1; d >= 0; d--) {
        off += (o % g->kshape[d]) * g->kstride[d];
        o /= g->kshape[d];
    }
    return off;
}

/* Odometer over the reduced dims: red_seek gives the multi-index (idx) and offset of reduced
 * element r (flat, row-major over the reduced dims); red_step moves (idx, offset) to the next one
 * and returns the new offset (back to 0 after the last element). */
static inline int64_t red_seek(const wsss_reduce_geo *g, int64_t r, int64_t *idx) {
    int64_t off = 0;
    for (int d = g->nr - 1; d >= 0; d--) {
        idx[d] = r % g->rshape[d];
        r /= g->rshape[d];
        off += idx[d] * g->rstride[d];
    }
    return off;
}

static inline int64_t red_step(const wsss_reduce_geo *g, int64_t *idx, int64_t off) {
    for (int d = g->nr - 1; d >= 0; d--) {
        if (++idx[d] < g->rshape[d]) return off + g->rstride[d];
        off -= (g->rshape[d] - 1) * g->rstride[d];
        idx[d] = 0;
    }
    return off;
}

/* Append dim (size, stride) to a list, merging it into the previous entry when stepping through
 * both is one constant stride (keeps row-major order of the list). */
static void push_dim(int64_t *shape, int64_t *stride, int *n, int64_t size, int64_t st) {
    if (size == 1) return;
    if (*n > 0 && size > 0 && shape[*n - 1] > 0 && stride[*n - 1] == st * size) {
        shape[*n - 1] *= size;
        stride[*n - 1] = st;
        return;
    }
    shape[*n] = size;
    stride[*n] = st;
    (*n)++;
}

void wsss_reduce_geo_init(wsss_reduce_geo *g, int ndim, const int64_t *shape, const int64_t *stride,
                          unsigned dims) {
    g->nk = g->nr = 0;
    g->nout = g->nred = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims & (1u << d)) {
            push_dim(g->rshape, g->rstride, &g->nr, shape[d], stride[d]);
            g->nred *= shape[d];
        } else {
            push_dim(g->kshape, g->kstride, &g->nk, shape[d], stride[d]);
            g->nout *= shape[d];
        }
    }
}

#define REF_TEMPLATE "backend/ref/reduce_impl.h"
#include "backend/ref/for_each_real.h"
