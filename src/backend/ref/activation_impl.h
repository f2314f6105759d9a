/* Body of the reference activation kernels; included by activation.c once per REAL type.
 * Expects REAL (float or double) and FN(name) (appends the type suffix). */

void FN(wsss_ref_act_forward)(wsss_act_kind k, double alpha, const REAL *x, REAL *y, int64_t n) {
    const REAL a = (REAL)alpha;
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        REAL v = x[i], r;
        switch (k) {
        case WSSS_ACT_RELU: r = v > 0 ? v : 0; break;
        case WSSS_ACT_LEAKY_RELU: r = v > 0 ? v : v * a; break;
        case WSSS_ACT_ELU: r = v > 0 ? v : a * (MATH(expm1)(v)); break;
        case WSSS_ACT_SIGMOID: r = 1 / (1 + MATH(exp)(-v)); break;
        case WSSS_ACT_TANH: r = MATH(tanh)(v); break;
        default: r = 0; break;
        }
        y[i] = r;
    }
}

void FN(wsss_ref_act_backward)(wsss_act_kind k, double alpha, const REAL *s, const REAL *dy,
                               REAL *dx, int64_t n) {
    const REAL a = (REAL)alpha;
    const int use_dst = wsss_act_bwd_uses_dst(k, alpha);
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        REAL v = s[i], g = dy[i], r;
        switch (k) {
        case WSSS_ACT_RELU: r = v > 0 ? g : 0; break;
        case WSSS_ACT_LEAKY_RELU: r = v > 0 ? g : g * a; break;
        case WSSS_ACT_ELU:
            /* y = a*(e^x - 1) for x <= 0, so f'(x) = a*e^x = y + a */
            if (use_dst) r = v > 0 ? g : g * (v + a);
            else r = v > 0 ? g : g * a * MATH(exp)(v);
            break;
        case WSSS_ACT_SIGMOID: r = g * v * (1 - v); break;
        case WSSS_ACT_TANH: r = g * (1 - v * v); break;
        default: r = 0; break;
        }
        dx[i] = r;
    }
}
