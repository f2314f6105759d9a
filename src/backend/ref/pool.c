/* Reference pooling kernels: shared geometry helpers plus pool_impl.h for float and double. */
#include "backend/ref/pool.h"

#include <math.h>

int64_t wsss_pool_out_size(int64_t in, int k, int s, int p, int ceil_mode) {
    int64_t span = in + 2 * (int64_t)p - k;
    if (span < 0) return 0;
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    /* ceil mode may not start a window in the right padding */
    if (ceil_mode && (out - 1) * s >= in + p) out--;
    return out;
}

int64_t wsss_pool_avg_divisor(const wsss_pool_geom *g, int64_t oh, int64_t ow) {
    int64_t h0 = oh * g->sh - g->ph, w0 = ow * g->sw - g->pw;
    int64_t h1 = h0 + g->kh, w1 = w0 + g->kw;
    if (g->count_include_pad) {
        if (h1 > g->h + g->ph) h1 = g->h + g->ph;
        if (w1 > g->w + g->pw) w1 = g->w + g->pw;
    } else {
        if (h0 < 0) h0 = 0;
        if (w0 < 0) w0 = 0;
        if (h1 > g->h) h1 = g->h;
        if (w1 > g->w) w1 = g->w;
    }
    return (h1 - h0) * (w1 - w0);
}

/* Input rows (or columns) [*lo, *hi) under output position o's window, clipped to [0, in). */
static inline void pool_window(int64_t o, int s, int p, int k, int64_t in, int64_t *lo, int64_t *hi) {
    int64_t a = o * s - p, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > in ? in : b;
}

#define REF_TEMPLATE "backend/ref/pool_impl.h"
#include "backend/ref/for_each_real.h"
