/* Body of the reference batch-norm kernels; included by norm.c once per REAL type.
 * Expects REAL and FN(name). Channels are independent, so the channel loop is the parallel one. */

void FN(wsss_ref_bn_stats)(int64_t n, int64_t c, int64_t hw, const REAL *x, REAL *mean, REAL *var) {
    const double m = (double)(n * hw);
#pragma omp parallel for if (n * c * hw > 65536)
    for (int64_t ch = 0; ch < c; ch++) {
        double s = 0;
        for (int64_t b = 0; b < n; b++) {
            const REAL *xp = x + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++) s += xp[i];
        }
        double mu = s / m, v = 0;
        for (int64_t b = 0; b < n; b++) {
            const REAL *xp = x + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++) v += ((double)xp[i] - mu) * ((double)xp[i] - mu);
        }
        mean[ch] = (REAL)mu;
        var[ch] = (REAL)(v / m);
    }
}

void FN(wsss_ref_bn_fwd)(int64_t n, int64_t c, int64_t hw, const REAL *x, const REAL *mean,
                         const REAL *var, const REAL *weight, const REAL *bias, double eps, REAL *y) {
#pragma omp parallel for if (n * c * hw > 65536)
    for (int64_t ch = 0; ch < c; ch++) {
        double invstd = 1.0 / sqrt((double)var[ch] + eps);
        double scale = (weight ? (double)weight[ch] : 1.0) * invstd;
        double shift = (bias ? (double)bias[ch] : 0.0) - (double)mean[ch] * scale;
        for (int64_t b = 0; b < n; b++) {
            const REAL *xp = x + (b * c + ch) * hw;
            REAL *yp = y + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++) yp[i] = (REAL)((double)xp[i] * scale + shift);
        }
    }
}

void FN(wsss_ref_bn_bwd)(int64_t n, int64_t c, int64_t hw, const REAL *x, const REAL *dy,
                         const REAL *mean, const REAL *var, const REAL *weight, double eps,
                         int batch_stats, REAL *dx, REAL *dweight, REAL *dbias) {
    const double m = (double)(n * hw);
#pragma omp parallel for if (n * c * hw > 65536)
    for (int64_t ch = 0; ch < c; ch++) {
        const double mu = mean[ch], invstd = 1.0 / sqrt((double)var[ch] + eps);
        const double w = weight ? (double)weight[ch] : 1.0;
        /* sum(dy) and sum(dy * xhat), xhat = (x - mu) * invstd */
        double sdy = 0, sdyx = 0;
        for (int64_t b = 0; b < n; b++) {
            const REAL *xp = x + (b * c + ch) * hw, *gp = dy + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++) {
                sdy += gp[i];
                sdyx += (double)gp[i] * ((double)xp[i] - mu) * invstd;
            }
        }
        if (dweight) dweight[ch] = (REAL)sdyx;
        if (dbias) dbias[ch] = (REAL)sdy;
        if (!dx) continue;
        for (int64_t b = 0; b < n; b++) {
            const REAL *xp = x + (b * c + ch) * hw, *gp = dy + (b * c + ch) * hw;
            REAL *dp = dx + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++) {
                double g = gp[i];
                if (batch_stats) {
                    /* d/dx of w*(x-mu)*invstd with mu, invstd functions of the batch */
                    double xhat = ((double)xp[i] - mu) * invstd;
                    g = g - sdy / m - xhat * sdyx / m;
                }
                dp[i] = (REAL)(w * invstd * g);
            }
        }
    }
}
