/* Elementwise kernel bodies, included twice by elementwise.c with REAL = float / double and
 * FN(name) appending _f32 / _f64. Plain loops; the unit-stride cases are spelled out so the
 * compiler vectorises them. */

#ifndef WSSS_EW_IMPL_ONCE
#define WSSS_EW_IMPL_ONCE
/* Loop body of a binary row: `EXPR` combines REAL x (from a) and y (from b). */
#define WSSS_EW_BIN_ROW(EXPR)                                                   \
    do {                                                                        \
        if (sa == 1 && sb == 1 && so == 1) {                                    \
            for (int64_t i = 0; i < n; i++) {                                   \
                REAL x = a[i], y = b[i];                                        \
                o[i] = (EXPR);                                                  \
            }                                                                   \
        } else if (sa == 1 && sb == 0 && so == 1) {                             \
            const REAL y = b[0];                                                \
            for (int64_t i = 0; i < n; i++) {                                   \
                REAL x = a[i];                                                  \
                o[i] = (EXPR);                                                  \
            }                                                                   \
        } else if (sa == 0 && sb == 1 && so == 1) {                             \
            const REAL x = a[0];                                                \
            for (int64_t i = 0; i < n; i++) {                                   \
                REAL y = b[i];                                                  \
                o[i] = (EXPR);                                                  \
            }                                                                   \
        } else {                                                                \
            for (int64_t i = 0; i < n; i++) {                                   \
                REAL x = a[i * sa], y = b[i * sb];                              \
                o[i * so] = (EXPR);                                             \
            }                                                                   \
        }                                                                       \
    } while (0)

/* Gradient row: `EXPR` uses REAL gv (output gradient), x (a) and y (b); dst stride 0 means the
 * row is summed into one element (8 partial sums in a fixed order: no latency chain, and the
 * result does not depend on threading). */
#define WSSS_EW_GRAD_ROW(EXPR)                                                  \
    do {                                                                        \
        if (sd == 0) {                                                          \
            REAL acc8[8] = {0}, acc = 0;                                        \
            int64_t i = 0;                                                      \
            for (; i + 8 <= n; i += 8)                                          \
                for (int j = 0; j < 8; j++) {                                   \
                    int64_t k = i + j;                                          \
                    REAL gv = gp[k * sg], x = a[k * sa], y = b[k * sb];         \
                    (void)x, (void)y;                                           \
                    acc8[j] += (EXPR);                                          \
                }                                                               \
            for (; i < n; i++) {                                                \
                REAL gv = gp[i * sg], x = a[i * sa], y = b[i * sb];             \
                (void)x, (void)y;                                               \
                acc += (EXPR);                                                  \
            }                                                                   \
            for (int j = 0; j < 8; j++) acc += acc8[j];                         \
            d[0] += acc;                                                        \
        } else {                                                                \
            for (int64_t i = 0; i < n; i++) {                                   \
                REAL gv = gp[i * sg], x = a[i * sa], y = b[i * sb];             \
                (void)x, (void)y;                                               \
                d[i * sd] += (EXPR);                                            \
            }                                                                   \
        }                                                                       \
    } while (0)
#endif

static void FN(bin_row)(wsss_binop op, int64_t n, const REAL *restrict a, int64_t sa,
                         const REAL *restrict b, int64_t sb, REAL *restrict o, int64_t so) {
    switch (op) {
    case WSSS_BIN_ADD: WSSS_EW_BIN_ROW(x + y); break;
    case WSSS_BIN_SUB: WSSS_EW_BIN_ROW(x - y); break;
    case WSSS_BIN_MUL: WSSS_EW_BIN_ROW(x * y); break;
    case WSSS_BIN_DIV: WSSS_EW_BIN_ROW(x / y); break;
    }
}

/* Formulas as PyTorch's autograd writes them: d(a/b)/db = -g * ((a / b) / b). */
static void FN(grad_row)(wsss_binop op, int which, int64_t n, const REAL *restrict gp, int64_t sg,
                          const REAL *restrict a, int64_t sa, const REAL *restrict b, int64_t sb,
                          REAL *restrict d, int64_t sd) {
    /* operands the formula does not use may be absent: read the gradient in their place */
    if (!a) a = gp, sa = sg;
    if (!b) b = gp, sb = sg;
    if (which == 0) {
        switch (op) {
        case WSSS_BIN_ADD:
        case WSSS_BIN_SUB: WSSS_EW_GRAD_ROW(gv); break;
        case WSSS_BIN_MUL: WSSS_EW_GRAD_ROW(gv * y); break;
        case WSSS_BIN_DIV: WSSS_EW_GRAD_ROW(gv / y); break;
        }
    } else {
        switch (op) {
        case WSSS_BIN_ADD: WSSS_EW_GRAD_ROW(gv); break;
        case WSSS_BIN_SUB: WSSS_EW_GRAD_ROW(-gv); break;
        case WSSS_BIN_MUL: WSSS_EW_GRAD_ROW(gv * x); break;
        case WSSS_BIN_DIV: WSSS_EW_GRAD_ROW(-gv * ((x / y) / y)); break;
        }
    }
}

/* Runs rows (the last dim) over the outer dims with dim p restricted to [lo, hi); gout == NULL
 * means forward (o = a op b), else gradient accumulation into o. */
static void FN(walk)(const wsss_bcast *g, int p, int64_t lo, int64_t hi,
                      wsss_binop op, int which, const REAL *a, const REAL *b, REAL *o,
                      const REAL *gout) {
    int64_t beg[WSSS_BCAST_DIMS] = {0}, end[WSSS_BCAST_DIMS];
    for (int d = 0; d < WSSS_BCAST_DIMS; d++) end[d] = g->shape[d];
    beg[p] = lo;
    end[p] = hi;
    const int L = WSSS_BCAST_DIMS - 1;
    int64_t idx[WSSS_BCAST_DIMS];
    for (int d = 0; d < L; d++) {
        if (beg[d] >= end[d]) return;
        idx[d] = beg[d];
    }
    int64_t n = end[L] - beg[L];
    if (n <= 0) return;
    for (;;) {
        int64_t oa = beg[L] * g->st[0][L], ob = beg[L] * g->st[1][L], od = beg[L] * g->st[2][L];
        int64_t og = beg[L] * g->st[3][L];
        for (int d = 0; d < L; d++) {
            oa += idx[d] * g->st[0][d];
            ob += idx[d] * g->st[1][d];
            od += idx[d] * g->st[2][d];
            og += idx[d] * g->st[3][d];
        }
        if (gout)
            FN(grad_row)(op, which, n, gout + og, g->st[3][L], a ? a + oa : NULL, g->st[0][L],
                          b ? b + ob : NULL, g->st[1][L], o + od, g->st[2][L]);
        else
            FN(bin_row)(op, n, a + oa, g->st[0][L], b + ob, g->st[1][L], o + od, g->st[2][L]);
        int d = L - 1;
        while (d >= 0 && ++idx[d] == end[d]) {
            idx[d] = beg[d];
            d--;
        }
        if (d < 0) break;
    }
}

static void FN(run)(const wsss_bcast *g, wsss_binop op, int which,
                     const REAL *a, const REAL *b, REAL *o, const REAL *gout) {
    int p, tasks;
    int64_t total = wsss_ew_plan(g, gout != NULL, &p, &tasks);
    if (total == 0) return;
    int64_t ext = g->shape[p];
#pragma omp parallel for schedule(static) if (tasks > 1)
    for (int t = 0; t < tasks; t++) {
        int64_t lo = ext * t / tasks, hi = ext * (t + 1) / tasks;
        FN(walk)(g, p, lo, hi, op, which, a, b, o, gout);
    }
}

void FN(wsss_ref_binary)(wsss_binop op, const wsss_bcast *g, const REAL *a, const REAL *b, REAL *out) {
    FN(run)(g, op, 0, a, b, out, NULL);
}

void FN(wsss_ref_binary_grad)(wsss_binop op, int which, const wsss_bcast *g, const REAL *gout,
                               const REAL *a, const REAL *b, REAL *dst) {
    FN(run)(g, op, which, a, b, dst, gout);
}

void FN(wsss_ref_unary)(wsss_unop op, int64_t n, const REAL *restrict x, REAL *restrict y,
                         double p0, double p1) {
    const REAL s = (REAL)p0, hi = (REAL)p1;
    const int par = n >= WSSS_EW_PAR_MIN;
    switch (op) {
    case WSSS_UN_NEG:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) y[i] = -x[i];
        break;
    case WSSS_UN_ADDS:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] + s;
        break;
    case WSSS_UN_MULS:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * s;
        break;
    case WSSS_UN_RSUBS:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) y[i] = s - x[i];
        break;
    case WSSS_UN_EXP:
#pragma omp parallel for schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) y[i] = MATH(exp)(x[i]);
        break;
    case WSSS_UN_LOG:
#pragma omp parallel for schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) y[i] = MATH(log)(x[i]);
        break;
    case WSSS_UN_POW:
        if (p0 == 2.0) {
#pragma omp parallel for simd schedule(static) if (par)
            for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i];
        } else {
#pragma omp parallel for schedule(static) if (par)
            for (int64_t i = 0; i < n; i++) y[i] = MATH(pow)(x[i], s);
        }
        break;
    case WSSS_UN_ABS:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) y[i] = MATH(fabs)(x[i]);
        break;
    case WSSS_UN_CLAMP:
        /* NaN stays NaN, as torch.clamp */
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) {
            REAL v = x[i];
            y[i] = v < s ? s : (v > hi ? hi : v);
        }
        break;
    }
}

/* Gradients as torch 1.13 computes them: pow: g * p * x^(p-1) (0 when p == 0); abs: g * sgn(x)
 * (0 at 0); clamp: g where lo <= x <= hi. */
void FN(wsss_ref_unary_grad)(wsss_unop op, int64_t n, const REAL *restrict gy, const REAL *restrict x,
                              const REAL *restrict y, REAL *restrict gx, double p0, double p1) {
    const REAL s = (REAL)p0, hi = (REAL)p1;
    const int par = n >= WSSS_EW_PAR_MIN;
    switch (op) {
    case WSSS_UN_ADDS:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) gx[i] = gy[i];
        break;
    case WSSS_UN_NEG:
    case WSSS_UN_RSUBS:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) gx[i] = -gy[i];
        break;
    case WSSS_UN_MULS:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * s;
        break;
    case WSSS_UN_EXP:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * y[i];
        break;
    case WSSS_UN_LOG:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) gx[i] = gy[i] / x[i];
        break;
    case WSSS_UN_POW:
        if (p0 == 0.0) {
#pragma omp parallel for simd schedule(static) if (par)
            for (int64_t i = 0; i < n; i++) gx[i] = 0;
        } else if (p0 == 2.0) {
#pragma omp parallel for simd schedule(static) if (par)
            for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * (2 * x[i]);
        } else {
            const REAL pm1 = (REAL)(p0 - 1.0);
#pragma omp parallel for schedule(static) if (par)
            for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * (s * MATH(pow)(x[i], pm1));
        }
        break;
    case WSSS_UN_ABS:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) {
            REAL v = x[i];
            gx[i] = v > 0 ? gy[i] : (v < 0 ? -gy[i] : (REAL)0);
        }
        break;
    case WSSS_UN_CLAMP:
#pragma omp parallel for simd schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) {
            REAL v = x[i];
            gx[i] = (v >= s && v <= hi) ? gy[i] : (REAL)0;
        }
        break;
    }
}
