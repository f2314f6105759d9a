/* Loss kernel bodies, included twice by loss.c (REAL = float / double, FN suffix). Per-element
 * terms are computed in REAL, as PyTorch does for the dtype; sums accumulate in double. */

static inline REAL FN(softplus_neg_abs)(REAL x) { return MATH(log1p)(MATH(exp)(-MATH(fabs)(x))); }
/* log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)) */
static inline REAL FN(logsigmoid)(REAL x) { return (x < 0 ? x : (REAL)0) - FN(softplus_neg_abs)(x); }

/* Sum over n elements of TERM(i) in fixed blocks (deterministic for any thread count). */
#define LS_BLOCK_SUM(n, TERM)                                                      \
    double total = 0;                                                              \
    do {                                                                           \
        const int64_t nb_ = ((n) + LS_BLOCK - 1) / LS_BLOCK;                       \
        double *part_ = wsss_xmalloc((size_t)(nb_ > 0 ? nb_ : 1) * sizeof(double)); \
        _Pragma("omp parallel for schedule(static) if ((n) >= LS_PAR_MIN)")        \
        for (int64_t b_ = 0; b_ < nb_; b_++) {                                     \
            int64_t e_ = (b_ + 1) * LS_BLOCK < (n) ? (b_ + 1) * LS_BLOCK : (n);    \
            double acc_ = 0;                                                       \
            for (int64_t i = b_ * LS_BLOCK; i < e_; i++) acc_ += (TERM);           \
            part_[b_] = acc_;                                                      \
        }                                                                          \
        for (int64_t b_ = 0; b_ < nb_; b_++) total += part_[b_];                   \
        free(part_);                                                               \
    } while (0)

double FN(wsss_ref_bce_logits)(int64_t n, const REAL *x, const REAL *y) {
    LS_BLOCK_SUM(n, (x[i] > 0 ? x[i] : (REAL)0) - x[i] * y[i] + FN(softplus_neg_abs)(x[i]));
    return total;
}

double FN(wsss_ref_soft_margin)(int64_t n, const REAL *x, const REAL *y) {
    LS_BLOCK_SUM(n, -(y[i] * FN(logsigmoid)(x[i]) + (1 - y[i]) * FN(logsigmoid)(-x[i])));
    return total;
}

void FN(wsss_ref_logits_loss_backward)(int64_t n, const REAL *x, const REAL *y, double scale, REAL *gx,
                                        REAL *gy) {
    const REAL s = (REAL)scale;
#pragma omp parallel for schedule(static) if (n >= LS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        if (gx) gx[i] = (1 / (1 + MATH(exp)(-x[i])) - y[i]) * s;
        if (gy) gy[i] = -x[i] * s;
    }
}

static inline REAL FN(clamped_log)(REAL v) {
    REAL l = MATH(log)(v);
    return l > (REAL)-100 ? l : (REAL)-100; /* log(0) = -inf clamps too */
}

double FN(wsss_ref_bce)(int64_t n, const REAL *p, const REAL *y) {
    LS_BLOCK_SUM(n, (y[i] - 1) * FN(clamped_log)(1 - p[i]) - y[i] * FN(clamped_log)(p[i]));
    return total;
}

void FN(wsss_ref_bce_backward)(int64_t n, const REAL *p, const REAL *y, double scale, REAL *gp, REAL *gy) {
    const REAL s = (REAL)scale, eps = (REAL)1e-12f; /* torch's EPSILON is a float */
#pragma omp parallel for schedule(static) if (n >= LS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        if (gp) {
            REAL den = (1 - p[i]) * p[i];
            gp[i] = s * (p[i] - y[i]) / (den > eps ? den : eps);
        }
        if (gy) gy[i] = s * (MATH(log)(1 - p[i]) - MATH(log)(p[i]));
    }
}

/* max and log-sum-exp of the c logits at each of nb inner positions starting at x */
static void FN(ce_stats)(int64_t c, int64_t inner, const REAL *x, int64_t nb, REAL *m, REAL *lse) {
    double s[CE_BLOCK];
    for (int64_t i = 0; i < nb; i++) {
        m[i] = x[i];
        s[i] = 0;
    }
    for (int64_t k = 1; k < c; k++)
        for (int64_t i = 0; i < nb; i++) m[i] = x[k * inner + i] > m[i] ? x[k * inner + i] : m[i];
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 0; i < nb; i++) s[i] += MATH(exp)(x[k * inner + i] - m[i]);
    for (int64_t i = 0; i < nb; i++) lse[i] = (REAL)log(s[i]);
}

double FN(wsss_ref_cross_entropy)(int64_t outer, int64_t c, int64_t inner, const REAL *x,
                                   const void *target, wsss_dtype tdt, int64_t ignore, int64_t *nvalid) {
    const int64_t nbk = (inner + CE_BLOCK - 1) / CE_BLOCK, tasks = outer * nbk;
    double *part = wsss_xmalloc((size_t)(tasks > 0 ? tasks : 1) * sizeof *part);
    int64_t *cnt = wsss_xmalloc((size_t)(tasks > 0 ? tasks : 1) * sizeof *cnt);
#pragma omp parallel for schedule(static) if (outer * c * inner >= LS_PAR_MIN)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / nbk, i0 = (t % nbk) * CE_BLOCK;
        int64_t nb = inner - i0 < CE_BLOCK ? inner - i0 : CE_BLOCK;
        const REAL *xb = x + o * c * inner + i0;
        REAL m[CE_BLOCK], lse[CE_BLOCK];
        FN(ce_stats)(c, inner, xb, nb, m, lse);
        double acc = 0;
        int64_t k = 0;
        for (int64_t i = 0; i < nb; i++) {
            int64_t tg = ce_target(target, tdt, o * inner + i0 + i);
            if (tg == ignore) continue;
            ce_check(tg, c);
            acc += -(xb[tg * inner + i] - m[i] - lse[i]);
            k++;
        }
        part[t] = acc;
        cnt[t] = k;
    }
    double total = 0;
    int64_t nv = 0;
    for (int64_t t = 0; t < tasks; t++) {
        total += part[t];
        nv += cnt[t];
    }
    free(part);
    free(cnt);
    *nvalid = nv;
    return total;
}

void FN(wsss_ref_cross_entropy_backward)(int64_t outer, int64_t c, int64_t inner, const REAL *x,
                                          const void *target, wsss_dtype tdt, int64_t ignore,
                                          double scale, REAL *gx) {
    const int64_t nbk = (inner + CE_BLOCK - 1) / CE_BLOCK, tasks = outer * nbk;
    const REAL s = (REAL)scale;
#pragma omp parallel for schedule(static) if (outer * c * inner >= LS_PAR_MIN)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / nbk, i0 = (t % nbk) * CE_BLOCK;
        int64_t nb = inner - i0 < CE_BLOCK ? inner - i0 : CE_BLOCK;
        int64_t off = o * c * inner + i0;
        const REAL *xb = x + off;
        REAL *gb = gx + off;
        REAL m[CE_BLOCK], lse[CE_BLOCK], w[CE_BLOCK];
        int64_t tg[CE_BLOCK];
        FN(ce_stats)(c, inner, xb, nb, m, lse);
        for (int64_t i = 0; i < nb; i++) {
            tg[i] = ce_target(target, tdt, o * inner + i0 + i);
            w[i] = tg[i] == ignore ? (REAL)0 : s;
            if (tg[i] == ignore) tg[i] = -1;
        }
        for (int64_t k = 0; k < c; k++)
            for (int64_t i = 0; i < nb; i++)
                gb[k * inner + i] = w[i] * MATH(exp)(xb[k * inner + i] - m[i] - lse[i]);
        for (int64_t i = 0; i < nb; i++)
            if (tg[i] >= 0) gb[tg[i] * inner + i] -= w[i];
    }
}
#undef LS_BLOCK_SUM /* redefined by the next instantiation */
