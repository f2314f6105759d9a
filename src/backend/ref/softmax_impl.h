/* Softmax kernel bodies, included twice by softmax.c (REAL = float / double, FN suffix).
 * Work is split into tasks of (outer index, block of up to SM_BLOCK inner positions); within a
 * task the loops run over the inner positions, which are contiguous, so they vectorise. */

static void FN(sm_block)(int64_t d, int64_t inner, const REAL *x, REAL *y, int64_t nb, int is_log) {
    REAL m[SM_BLOCK];
    double s[SM_BLOCK];
    for (int64_t i = 0; i < nb; i++) {
        m[i] = x[i];
        s[i] = 0;
    }
    for (int64_t c = 1; c < d; c++) {
        const REAL *xc = x + c * inner;
        for (int64_t i = 0; i < nb; i++) m[i] = xc[i] > m[i] ? xc[i] : m[i];
    }
    for (int64_t c = 0; c < d; c++) {
        const REAL *xc = x + c * inner;
        REAL *yc = y + c * inner;
        for (int64_t i = 0; i < nb; i++) {
            REAL e = MATH(exp)(xc[i] - m[i]);
            s[i] += e;
            if (!is_log) yc[i] = e;
        }
    }
    if (is_log) {
        REAL lse[SM_BLOCK];
        for (int64_t i = 0; i < nb; i++) lse[i] = (REAL)log(s[i]);
        for (int64_t c = 0; c < d; c++) {
            const REAL *xc = x + c * inner;
            REAL *yc = y + c * inner;
            for (int64_t i = 0; i < nb; i++) yc[i] = xc[i] - m[i] - lse[i];
        }
    } else {
        REAL r[SM_BLOCK];
        for (int64_t i = 0; i < nb; i++) r[i] = (REAL)(1.0 / s[i]);
        for (int64_t c = 0; c < d; c++) {
            REAL *yc = y + c * inner;
            for (int64_t i = 0; i < nb; i++) yc[i] *= r[i];
        }
    }
}

static void FN(sm_block_bwd)(int64_t d, int64_t inner, const REAL *y, const REAL *gy, REAL *gx,
                              int64_t nb, int is_log) {
    double s[SM_BLOCK];
    for (int64_t i = 0; i < nb; i++) s[i] = 0;
    for (int64_t c = 0; c < d; c++) {
        const REAL *yc = y + c * inner, *gc = gy + c * inner;
        if (is_log)
            for (int64_t i = 0; i < nb; i++) s[i] += gc[i];
        else
            for (int64_t i = 0; i < nb; i++) s[i] += (double)gc[i] * yc[i];
    }
    REAL sr[SM_BLOCK];
    for (int64_t i = 0; i < nb; i++) sr[i] = (REAL)s[i];
    for (int64_t c = 0; c < d; c++) {
        const REAL *yc = y + c * inner, *gc = gy + c * inner;
        REAL *oc = gx + c * inner;
        if (is_log)
            for (int64_t i = 0; i < nb; i++) oc[i] = gc[i] - MATH(exp)(yc[i]) * sr[i];
        else
            for (int64_t i = 0; i < nb; i++) oc[i] = yc[i] * (gc[i] - sr[i]);
    }
}

/* inner == 1: each row is contiguous. */
static void FN(sm_row)(int64_t d, const REAL *x, REAL *y, int is_log) {
    REAL m = x[0];
    for (int64_t c = 1; c < d; c++) m = x[c] > m ? x[c] : m;
    double s = 0;
    for (int64_t c = 0; c < d; c++) {
        REAL e = MATH(exp)(x[c] - m);
        s += e;
        if (!is_log) y[c] = e;
    }
    if (is_log) {
        REAL lse = (REAL)log(s);
        for (int64_t c = 0; c < d; c++) y[c] = x[c] - m - lse;
    } else {
        REAL r = (REAL)(1.0 / s);
        for (int64_t c = 0; c < d; c++) y[c] *= r;
    }
}

static void FN(sm_row_bwd)(int64_t d, const REAL *y, const REAL *gy, REAL *gx, int is_log) {
    double s = 0;
    if (is_log)
        for (int64_t c = 0; c < d; c++) s += gy[c];
    else
        for (int64_t c = 0; c < d; c++) s += (double)gy[c] * y[c];
    REAL sr = (REAL)s;
    if (is_log)
        for (int64_t c = 0; c < d; c++) gx[c] = gy[c] - MATH(exp)(y[c]) * sr;
    else
        for (int64_t c = 0; c < d; c++) gx[c] = y[c] * (gy[c] - sr);
}

/* Forward (gy NULL: a is x, out is y) or backward (a is y, out is gx), split into the same tasks:
 * rows when inner is 1, else blocks of SM_BLOCK inner positions. */
static void FN(sm_run)(int64_t outer, int64_t d, int64_t inner, const REAL *a, const REAL *gy, REAL *out,
                       int is_log) {
    if (d == 0) return;
    if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * d >= SM_PAR_MIN)
        for (int64_t o = 0; o < outer; o++) {
            if (gy)
                FN(sm_row_bwd)(d, a + o * d, gy + o * d, out + o * d, is_log);
            else
                FN(sm_row)(d, a + o * d, out + o * d, is_log);
        }
        return;
    }
    const int64_t nbk = (inner + SM_BLOCK - 1) / SM_BLOCK, tasks = outer * nbk;
#pragma omp parallel for schedule(static) if (outer * d * inner >= SM_PAR_MIN)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / nbk, i0 = (t % nbk) * SM_BLOCK;
        int64_t nb = inner - i0 < SM_BLOCK ? inner - i0 : SM_BLOCK;
        int64_t off = o * d * inner + i0;
        if (gy)
            FN(sm_block_bwd)(d, inner, a + off, gy + off, out + off, nb, is_log);
        else
            FN(sm_block)(d, inner, a + off, out + off, nb, is_log);
    }
}

void FN(wsss_ref_softmax)(int64_t outer, int64_t d, int64_t inner, const REAL *x, REAL *y, int is_log) {
    FN(sm_run)(outer, d, inner, x, NULL, y, is_log);
}

void FN(wsss_ref_softmax_backward)(int64_t outer, int64_t d, int64_t inner, const REAL *y,
                                    const REAL *gy, REAL *gx, int is_log) {
    FN(sm_run)(outer, d, inner, y, gy, gx, is_log);
}
