/* Reference pooling kernels: shared geometry helpers plus pool_impl.h for float and double. */
#include "backend/ref/pool.h"

#include <math.h>
#include <stddef.h>

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

/* The input rows [h0, h1) and columns [w0, w1) under output position (oh, ow)'s window, clipped to
 * the input. */
typedef struct pool_window {
    int64_t h0, h1, w0, w1;
} pool_window;

static inline int64_t clip(int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; }

static inline pool_window pool_window_at(const wsss_pool_geom *g, int64_t oh, int64_t ow) {
    const int64_t h = oh * g->sh - g->ph, w = ow * g->sw - g->pw;
    return (pool_window){clip(h, g->h), clip(h + g->kh, g->h), clip(w, g->w), clip(w + g->kw, g->w)};
}

#define REF_TEMPLATE "backend/ref/pool_impl.h"
#include "backend/ref/for_each_real.h"
