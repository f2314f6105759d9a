/* Body of the plain resize kernels (resize.c includes it once per REAL type; expects REAL, FN).
 * The index helpers follow PyTorch's upsample code:
 *   scale (in the data's type, float for float tensors): align_corners ? (in-1)/(out-1)
 *     (0 if out == 1) : in/out;
 *   source coordinate, in double: align_corners ? scale*dst : scale*(dst+0.5)-0.5, clamped at 0
 *     for linear (not for cubic);
 *   weights from coordinate - floor, rounded to REAL.
 * With these, bilinear weights equal PyTorch 1.13's bit for bit (checked on impulse inputs for
 * many sizes; rounding the coordinate to float first differs by up to ~1e-6). */

static REAL FN(resize_scale)(int64_t in, int64_t out, int align_corners) {
    if (align_corners) return out > 1 ? (REAL)(in - 1) / (REAL)(out - 1) : (REAL)0;
    return (REAL)in / (REAL)out;
}

static double FN(resize_src_coord)(REAL scale, int64_t dst, int align_corners, int cubic) {
    if (align_corners) return (double)scale * (double)dst;
    const double s = (double)scale * ((double)dst + 0.5) - 0.5;
    return (!cubic && s < 0) ? 0.0 : s;
}

/* Two taps i0 <= i1 (i1 = i0 at the last input index) with weights l0 + l1 = 1. */
static void FN(resize_linear_taps)(int64_t dst, int64_t in, int64_t out, int align_corners,
                                   int64_t *i0, int64_t *i1, REAL *l0, REAL *l1) {
    if (in == out) { /* PyTorch copies in this case */
        *i0 = *i1 = dst;
        *l0 = 1;
        *l1 = 0;
        return;
    }
    const double r = FN(resize_src_coord)(FN(resize_scale)(in, out, align_corners), dst,
                                          align_corners, 0);
    const int64_t a = (int64_t)r; /* r >= 0, so truncation is floor */
    REAL l = (REAL)(r - (double)a);
    if (l < 0) l = 0;
    if (l > 1) l = 1;
    *i0 = a;
    *i1 = a + (a < in - 1 ? 1 : 0);
    *l1 = l;
    *l0 = (REAL)1 - l;
}

/* Keys' cubic convolution weights with a = -0.75 for the taps floor(r)-1 .. floor(r)+2. */
static void FN(resize_cubic_taps)(int64_t dst, int64_t in, int64_t out, int align_corners,
                                  int64_t idx[4], REAL w[4]) {
    const double r = FN(resize_src_coord)(FN(resize_scale)(in, out, align_corners), dst,
                                          align_corners, 1);
    const int64_t f = (int64_t)floor(r);
    const REAL t = (REAL)(r - (double)f), A = (REAL)-0.75;
    const REAL x1 = t + 1, x2 = 1 - t, x3 = x2 + 1;
    w[0] = ((A * x1 - 5 * A) * x1 + 8 * A) * x1 - 4 * A;
    w[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    w[2] = ((A + 2) * x2 - (A + 3)) * x2 * x2 + 1;
    w[3] = ((A * x3 - 5 * A) * x3 + 8 * A) * x3 - 4 * A;
    for (int k = 0; k < 4; k++) {
        int64_t i = f - 1 + k;
        idx[k] = i < 0 ? 0 : (i > in - 1 ? in - 1 : i);
    }
}

void FN(wsss_ref_resize_bilinear_fwd)(int64_t planes, int64_t ih, int64_t iw, const REAL *x,
                                      int64_t oh, int64_t ow, REAL *y, int align_corners) {
    for (int64_t p = 0; p < planes; p++) {
        const REAL *xp = x + p * ih * iw;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t y0, y1;
            REAL a0, a1;
            FN(resize_linear_taps)(oy, ih, oh, align_corners, &y0, &y1, &a0, &a1);
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t x0, x1;
                REAL b0, b1;
                FN(resize_linear_taps)(ox, iw, ow, align_corners, &x0, &x1, &b0, &b1);
                const REAL top = xp[y0 * iw + x0] * b0 + xp[y0 * iw + x1] * b1;
                const REAL bot = xp[y1 * iw + x0] * b0 + xp[y1 * iw + x1] * b1;
                y[(p * oh + oy) * ow + ox] = top * a0 + bot * a1;
            }
        }
    }
}

void FN(wsss_ref_resize_bilinear_bwd)(int64_t planes, int64_t ih, int64_t iw, REAL *dx,
                                      int64_t oh, int64_t ow, const REAL *dy, int align_corners) {
    for (int64_t i = 0; i < planes * ih * iw; i++) dx[i] = 0;
    for (int64_t p = 0; p < planes; p++) {
        REAL *dp = dx + p * ih * iw;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t y0, y1;
            REAL a0, a1;
            FN(resize_linear_taps)(oy, ih, oh, align_corners, &y0, &y1, &a0, &a1);
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t x0, x1;
                REAL b0, b1;
                FN(resize_linear_taps)(ox, iw, ow, align_corners, &x0, &x1, &b0, &b1);
                const REAL g = dy[(p * oh + oy) * ow + ox];
                dp[y0 * iw + x0] += a0 * b0 * g;
                dp[y0 * iw + x1] += a0 * b1 * g;
                dp[y1 * iw + x0] += a1 * b0 * g;
                dp[y1 * iw + x1] += a1 * b1 * g;
            }
        }
    }
}

void FN(wsss_ref_resize_nearest_fwd)(int64_t planes, int64_t ih, int64_t iw, const REAL *x,
                                     int64_t oh, int64_t ow, REAL *y) {
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < oh; oy++) {
            const int64_t sy = wsss_resize_nearest_src(oy, ih, oh);
            for (int64_t ox = 0; ox < ow; ox++)
                y[(p * oh + oy) * ow + ox] =
                    x[(p * ih + sy) * iw + wsss_resize_nearest_src(ox, iw, ow)];
        }
}

void FN(wsss_ref_resize_nearest_bwd)(int64_t planes, int64_t ih, int64_t iw, REAL *dx,
                                     int64_t oh, int64_t ow, const REAL *dy) {
    for (int64_t i = 0; i < planes * ih * iw; i++) dx[i] = 0;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < oh; oy++) {
            const int64_t sy = wsss_resize_nearest_src(oy, ih, oh);
            for (int64_t ox = 0; ox < ow; ox++)
                dx[(p * ih + sy) * iw + wsss_resize_nearest_src(ox, iw, ow)] +=
                    dy[(p * oh + oy) * ow + ox];
        }
}

void FN(wsss_ref_resize_bicubic_fwd)(int64_t planes, int64_t ih, int64_t iw, const REAL *x,
                                     int64_t oh, int64_t ow, REAL *y, int align_corners) {
    for (int64_t p = 0; p < planes; p++) {
        const REAL *xp = x + p * ih * iw;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t ry[4];
            REAL wy[4];
            FN(resize_cubic_taps)(oy, ih, oh, align_corners, ry, wy);
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t rx[4];
                REAL wx[4];
                FN(resize_cubic_taps)(ox, iw, ow, align_corners, rx, wx);
                REAL acc = 0;
                for (int j = 0; j < 4; j++) {
                    const REAL *row = xp + ry[j] * iw;
                    REAL t = row[rx[0]] * wx[0];
                    for (int i = 1; i < 4; i++) t += row[rx[i]] * wx[i];
                    acc = j == 0 ? t * wy[0] : acc + t * wy[j];
                }
                y[(p * oh + oy) * ow + ox] = acc;
            }
        }
    }
}
