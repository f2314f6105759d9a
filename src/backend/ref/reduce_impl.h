/* Reduction kernel bodies, included twice by reduce.c (REAL = float / double, FN suffix); they walk
 * the reduced elements with reduce.c's red_seek() / red_step() odometer. */

/* Sum of reduced elements [r0, r1) (flat, row-major over the reduced dims) from base. */
static double FN(sum_range)(const wsss_reduce_geo *g, const REAL *x, int64_t r0, int64_t r1) {
    if (r0 >= r1) return 0;
    if (g->nr == 0) return x[0];
    const int L = g->nr - 1;
    int64_t idx[WSSS_MAX_DIMS], off = red_seek(g, r0, idx);
    double acc = 0;
    int64_t left = r1 - r0;
    const int64_t sl = g->rstride[L];
    while (left > 0) {
        int64_t run = g->rshape[L] - idx[L];
        if (run > left) run = left;
        const REAL *p = x + off;
        if (sl == 1) {
            /* 8 partial sums in a fixed order: vectorisable, no add-latency chain */
            double a8[8] = {0};
            int64_t i = 0;
            for (; i + 8 <= run; i += 8)
                for (int j = 0; j < 8; j++) a8[j] += p[i + j];
            for (; i < run; i++) acc += p[i];
            for (int j = 0; j < 8; j++) acc += a8[j];
        } else {
            for (int64_t i = 0; i < run; i++) acc += p[i * sl];
        }
        left -= run;
        if (left <= 0) break;
        /* advance the odometer past the run */
        off += (run - 1) * sl;
        idx[L] += run - 1;
        off = red_step(g, idx, off);
    }
    return acc;
}

void FN(wsss_ref_sum)(const wsss_reduce_geo *g, const REAL *x, REAL *out, double scale) {
    /* the summation order depends on the shape only, never on the thread count */
    if (g->nout >= WSSS_RED_FEW_OUT || g->nred < 2 * WSSS_RED_BLOCK) {
#pragma omp parallel for schedule(static) if (g->nout * g->nred >= WSSS_RED_PAR_MIN)
        for (int64_t o = 0; o < g->nout; o++)
            out[o] = (REAL)(scale * FN(sum_range)(g, x + wsss_reduce_base(g, o), 0, g->nred));
        return;
    }
    /* few outputs, long reductions: fixed blocks summed in parallel, combined in order */
    const int64_t B = WSSS_RED_BLOCK, nb = (g->nred + B - 1) / B;
    double *part = wsss_xmalloc((size_t)nb * sizeof *part);
    for (int64_t o = 0; o < g->nout; o++) {
        const REAL *base = x + wsss_reduce_base(g, o);
#pragma omp parallel for schedule(static)
        for (int64_t b = 0; b < nb; b++) {
            int64_t r1 = (b + 1) * B < g->nred ? (b + 1) * B : g->nred;
            part[b] = FN(sum_range)(g, base, b * B, r1);
        }
        double acc = 0;
        for (int64_t b = 0; b < nb; b++) acc += part[b];
        out[o] = (REAL)(scale * acc);
    }
    free(part);
}

/* Writes v at reduced elements [r0, r1) (flat) of one output: the inverse walk of sum_range. */
static void FN(fill_range)(const wsss_reduce_geo *g, REAL *p, REAL v, int64_t r0, int64_t r1) {
    if (r0 >= r1) return;
    if (g->nr == 0) {
        p[0] = v;
        return;
    }
    const int L = g->nr - 1;
    int64_t idx[WSSS_MAX_DIMS], off = red_seek(g, r0, idx);
    int64_t left = r1 - r0;
    const int64_t sl = g->rstride[L];
    while (left > 0) {
        int64_t run = g->rshape[L] - idx[L];
        if (run > left) run = left;
        REAL *q = p + off;
        if (sl == 1) {
            for (int64_t i = 0; i < run; i++) q[i] = v;
        } else {
            for (int64_t i = 0; i < run; i++) q[i * sl] = v;
        }
        left -= run;
        if (left <= 0) break;
        off += (run - 1) * sl;
        idx[L] += run - 1;
        off = red_step(g, idx, off);
    }
}

void FN(wsss_ref_sum_backward)(const wsss_reduce_geo *g, const REAL *gout, REAL *gx, double scale) {
    if (g->nout >= (int64_t)wsss_ref_max_threads() || g->nout * g->nred < WSSS_RED_PAR_MIN) {
#pragma omp parallel for schedule(static) if (g->nout * g->nred >= WSSS_RED_PAR_MIN)
        for (int64_t o = 0; o < g->nout; o++)
            FN(fill_range)(g, gx + wsss_reduce_base(g, o), (REAL)(scale * gout[o]), 0, g->nred);
        return;
    }
    /* few outputs, long reductions: split each output's elements into blocks */
    const int64_t B = WSSS_RED_BLOCK, nb = (g->nred + B - 1) / B;
    for (int64_t o = 0; o < g->nout; o++) {
        REAL *base = gx + wsss_reduce_base(g, o);
        const REAL v = (REAL)(scale * gout[o]);
#pragma omp parallel for schedule(static)
        for (int64_t b = 0; b < nb; b++)
            FN(fill_range)(g, base, v, b * B, (b + 1) * B < g->nred ? (b + 1) * B : g->nred);
    }
}

/* v beats best: NaN wins and then stays (first NaN), otherwise strictly better. */
static inline int FN(better)(REAL v, REAL best, int is_min) {
    if (best != best) return 0;
    if (v != v) return 1;
    return is_min ? v < best : v > best;
}

/* Extreme over reduced elements [r0, r1) (flat). */
static void FN(extreme_range)(const wsss_reduce_geo *g, const REAL *x, int64_t r0, int64_t r1,
                               int is_min, REAL *bv, int64_t *bi) {
    REAL best = 0;
    int64_t besti = -1;
    int64_t idx[WSSS_MAX_DIMS] = {0}, off = red_seek(g, r0, idx);
    for (int64_t r = r0; r < r1; r++) {
        REAL v = x[off];
        if (besti < 0 || FN(better)(v, best, is_min)) {
            best = v;
            besti = r;
        }
        off = red_step(g, idx, off);
    }
    *bv = best;
    *bi = besti;
}

void FN(wsss_ref_argmax)(const wsss_reduce_geo *g, const REAL *x, REAL *out, int64_t *idx, int is_min) {
    WSSS_ASSERT(g->nred > 0, "max/min over an empty dim");
    if (g->nout >= (int64_t)wsss_ref_max_threads() || g->nout * g->nred < WSSS_RED_PAR_MIN) {
#pragma omp parallel for schedule(static) if (g->nout * g->nred >= WSSS_RED_PAR_MIN)
        for (int64_t o = 0; o < g->nout; o++) {
            REAL v;
            int64_t i;
            FN(extreme_range)(g, x + wsss_reduce_base(g, o), 0, g->nred, is_min, &v, &i);
            out[o] = v;
            if (idx) idx[o] = i;
        }
        return;
    }
    const int64_t B = WSSS_RED_BLOCK, nb = (g->nred + B - 1) / B;
    REAL *pv = wsss_xmalloc((size_t)nb * sizeof *pv);
    int64_t *pi = wsss_xmalloc((size_t)nb * sizeof *pi);
    for (int64_t o = 0; o < g->nout; o++) {
        const REAL *base = x + wsss_reduce_base(g, o);
#pragma omp parallel for schedule(static)
        for (int64_t b = 0; b < nb; b++) {
            int64_t r1 = (b + 1) * B < g->nred ? (b + 1) * B : g->nred;
            FN(extreme_range)(g, base, b * B, r1, is_min, &pv[b], &pi[b]);
        }
        REAL best = pv[0];
        int64_t besti = pi[0];
        for (int64_t b = 1; b < nb; b++) /* earlier blocks win ties: first occurrence */
            if (FN(better)(pv[b], best, is_min)) {
                best = pv[b];
                besti = pi[b];
            }
        out[o] = best;
        if (idx) idx[o] = besti;
    }
    free(pv);
    free(pi);
}

void FN(wsss_ref_argmax_backward)(const wsss_reduce_geo *g, const REAL *gout, const int64_t *idx,
                                   REAL *gx) {
    int64_t rs = g->nr ? g->rstride[0] : 0;
    WSSS_ASSERT(g->nr <= 1, "argmax backward: one reduced dim");
    for (int64_t o = 0; o < g->nout; o++) gx[wsss_reduce_base(g, o) + idx[o] * rs] += gout[o];
}

void FN(wsss_ref_extreme_all_backward)(int64_t n, const REAL *x, REAL v, REAL gout, REAL *gx) {
    int isnan_v = v != v;
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++) cnt += isnan_v ? x[i] != x[i] : x[i] == v;
    REAL share = gout / (REAL)cnt;
    for (int64_t i = 0; i < n; i++) gx[i] = (isnan_v ? x[i] != x[i] : x[i] == v) ? share : (REAL)0;
}
