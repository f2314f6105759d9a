/* Body of the reference pooling kernels; included by pool.c once per REAL type.
 * Expects REAL and FN(name), and pool.c's pool_window_at(). Loops are over (plane, oh, ow); planes are independent. */

/* Max (with the argmax into idx, if given) or average over each output position's window: one walk
 * of the windows for both. */
static void FN(pool_fwd)(const wsss_pool_geom *g, const REAL *x, REAL *y, int64_t *idx, int is_max) {
    const int64_t planes = g->n * g->c, H = g->h, W = g->w, OH = g->oh, OW = g->ow;
#pragma omp parallel for if (planes * OH * OW > 32768)
    for (int64_t p = 0; p < planes; p++) {
        const REAL *xp = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const pool_window win = pool_window_at(g, oh, ow);
                int64_t best = win.h0 * W + win.w0;
                REAL m = -INFINITY, s = 0;
                for (int64_t ih = win.h0; ih < win.h1; ih++)
                    for (int64_t iw = win.w0; iw < win.w1; iw++) {
                        REAL v = xp[ih * W + iw];
                        s += v;
                        if (v > m || isnan(v)) {
                            m = v;
                            best = ih * W + iw;
                        }
                    }
                int64_t o = (p * OH + oh) * OW + ow;
                y[o] = is_max ? m : s / (REAL)wsss_pool_avg_divisor(g, oh, ow);
                if (idx) idx[o] = best;
            }
    }
}

void FN(wsss_ref_maxpool_fwd)(const wsss_pool_geom *g, const REAL *x, REAL *y, int64_t *idx) {
    FN(pool_fwd)(g, x, y, idx, 1);
}

void FN(wsss_ref_maxpool_bwd)(const wsss_pool_geom *g, const int64_t *idx, const REAL *dy, REAL *dx) {
    const int64_t planes = g->n * g->c, HW = g->h * g->w, OHW = g->oh * g->ow;
#pragma omp parallel for if (planes * OHW > 32768)
    for (int64_t p = 0; p < planes; p++) {
        REAL *dxp = dx + p * HW;
        for (int64_t i = 0; i < HW; i++) dxp[i] = 0;
        for (int64_t o = 0; o < OHW; o++) dxp[idx[p * OHW + o]] += dy[p * OHW + o];
    }
}

void FN(wsss_ref_avgpool_fwd)(const wsss_pool_geom *g, const REAL *x, REAL *y) { FN(pool_fwd)(g, x, y, NULL, 0); }

void FN(wsss_ref_avgpool_bwd)(const wsss_pool_geom *g, const REAL *dy, REAL *dx) {
    const int64_t planes = g->n * g->c, H = g->h, W = g->w, OH = g->oh, OW = g->ow;
#pragma omp parallel for if (planes * OH * OW > 32768)
    for (int64_t p = 0; p < planes; p++) {
        REAL *dxp = dx + p * H * W;
        for (int64_t i = 0; i < H * W; i++) dxp[i] = 0;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const pool_window win = pool_window_at(g, oh, ow);
                REAL gv = dy[(p * OH + oh) * OW + ow] / (REAL)wsss_pool_avg_divisor(g, oh, ow);
                for (int64_t ih = win.h0; ih < win.h1; ih++)
                    for (int64_t iw = win.w0; iw < win.w1; iw++) dxp[ih * W + iw] += gv;
            }
    }
}

void FN(wsss_ref_global_avgpool_fwd)(int64_t planes, int64_t hw, const REAL *x, REAL *y) {
#pragma omp parallel for if (planes * hw > 65536)
    for (int64_t p = 0; p < planes; p++) {
        double s = 0; /* double accumulation: planes can be large (e.g. 64x64 maps) */
        for (int64_t i = 0; i < hw; i++) s += x[p * hw + i];
        y[p] = (REAL)(s / (double)hw);
    }
}

void FN(wsss_ref_global_avgpool_bwd)(int64_t planes, int64_t hw, const REAL *dy, REAL *dx) {
#pragma omp parallel for if (planes * hw > 65536)
    for (int64_t p = 0; p < planes; p++) {
        REAL v = dy[p] / (REAL)hw;
        for (int64_t i = 0; i < hw; i++) dx[p * hw + i] = v;
    }
}
