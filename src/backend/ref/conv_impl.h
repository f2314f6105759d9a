/* Body of the reference convolution kernels; included by conv.c once per REAL type.
 * Expects REAL and FN(name), and conv.c's tap_range(). Every kernel loops over kernel taps
 * (kh, kw) outermost inside a plane and over the output positions a tap touches innermost, so
 * padding needs no per-element test. Parallel loops write disjoint outputs. */

void FN(wsss_ref_conv2d_fwd)(const wsss_conv_geom *g, const REAL *x, const REAL *w, const REAL *b,
                             REAL *y) {
    const int64_t icg = g->cin / g->groups, ocg = g->cout / g->groups;
    const int64_t H = g->h, W = g->w, OH = g->oh, OW = g->ow, KH = g->kh, KW = g->kw;
    const int64_t planes = g->n * g->cout;
#pragma omp parallel for if (planes > 1 && planes * OH * OW * icg * KH * KW > 65536)
    for (int64_t p = 0; p < planes; p++) {
        const int64_t n = p / g->cout, oc = p % g->cout, grp = oc / ocg;
        REAL *yp = y + p * OH * OW;
        const REAL bias = b ? b[oc] : 0;
        for (int64_t i = 0; i < OH * OW; i++) yp[i] = bias;
        for (int64_t icl = 0; icl < icg; icl++) {
            const REAL *xp = x + (n * g->cin + grp * icg + icl) * H * W;
            const REAL *wp = w + (oc * icg + icl) * KH * KW;
            for (int64_t kh = 0; kh < KH; kh++) {
                int64_t oh0, oh1;
                tap_range(kh, H, OH, g->sh, g->ph, g->dh, &oh0, &oh1);
                for (int64_t kw = 0; kw < KW; kw++) {
                    int64_t ow0, ow1;
                    tap_range(kw, W, OW, g->sw, g->pw, g->dw, &ow0, &ow1);
                    const REAL wv = wp[kh * KW + kw];
                    for (int64_t oh = oh0; oh < oh1; oh++) {
                        const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
                        const REAL *xr = xp + ih * W;
                        REAL *yr = yp + oh * OW;
                        for (int64_t ow = ow0; ow < ow1; ow++)
                            yr[ow] += wv * xr[ow * g->sw - g->pw + kw * g->dw];
                    }
                }
            }
        }
    }
}

void FN(wsss_ref_conv2d_bwd_data)(const wsss_conv_geom *g, const REAL *dy, const REAL *w, REAL *dx) {
    const int64_t icg = g->cin / g->groups, ocg = g->cout / g->groups;
    const int64_t H = g->h, W = g->w, OH = g->oh, OW = g->ow, KH = g->kh, KW = g->kw;
    const int64_t planes = g->n * g->cin;
#pragma omp parallel for if (planes > 1 && planes * OH * OW * ocg * KH * KW > 65536)
    for (int64_t p = 0; p < planes; p++) {
        const int64_t n = p / g->cin, ic = p % g->cin, grp = ic / icg, icl = ic % icg;
        REAL *dxp = dx + p * H * W;
        for (int64_t i = 0; i < H * W; i++) dxp[i] = 0;
        for (int64_t ocl = 0; ocl < ocg; ocl++) {
            const int64_t oc = grp * ocg + ocl;
            const REAL *dyp = dy + (n * g->cout + oc) * OH * OW;
            const REAL *wp = w + (oc * icg + icl) * KH * KW;
            for (int64_t kh = 0; kh < KH; kh++) {
                int64_t oh0, oh1;
                tap_range(kh, H, OH, g->sh, g->ph, g->dh, &oh0, &oh1);
                for (int64_t kw = 0; kw < KW; kw++) {
                    int64_t ow0, ow1;
                    tap_range(kw, W, OW, g->sw, g->pw, g->dw, &ow0, &ow1);
                    const REAL wv = wp[kh * KW + kw];
                    for (int64_t oh = oh0; oh < oh1; oh++) {
                        const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
                        REAL *dxr = dxp + ih * W;
                        const REAL *dyr = dyp + oh * OW;
                        for (int64_t ow = ow0; ow < ow1; ow++)
                            dxr[ow * g->sw - g->pw + kw * g->dw] += wv * dyr[ow];
                    }
                }
            }
        }
    }
}

void FN(wsss_ref_conv2d_bwd_weights)(const wsss_conv_geom *g, const REAL *x, const REAL *dy,
                                     REAL *dw) {
    const int64_t icg = g->cin / g->groups, ocg = g->cout / g->groups;
    const int64_t H = g->h, W = g->w, OH = g->oh, OW = g->ow, KH = g->kh, KW = g->kw;
    const int64_t filters = g->cout * icg;
#pragma omp parallel for if (filters > 1 && filters * g->n * OH * OW * KH * KW > 65536)
    for (int64_t f = 0; f < filters; f++) {
        const int64_t oc = f / icg, icl = f % icg, grp = oc / ocg;
        REAL *dwp = dw + f * KH * KW;
        for (int64_t kh = 0; kh < KH; kh++) {
            int64_t oh0, oh1;
            tap_range(kh, H, OH, g->sh, g->ph, g->dh, &oh0, &oh1);
            for (int64_t kw = 0; kw < KW; kw++) {
                int64_t ow0, ow1;
                tap_range(kw, W, OW, g->sw, g->pw, g->dw, &ow0, &ow1);
                REAL s = 0;
                for (int64_t n = 0; n < g->n; n++) {
                    const REAL *xp = x + (n * g->cin + grp * icg + icl) * H * W;
                    const REAL *dyp = dy + (n * g->cout + oc) * OH * OW;
                    for (int64_t oh = oh0; oh < oh1; oh++) {
                        const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
                        const REAL *xr = xp + ih * W;
                        const REAL *dyr = dyp + oh * OW;
                        for (int64_t ow = ow0; ow < ow1; ow++)
                            s += dyr[ow] * xr[ow * g->sw - g->pw + kw * g->dw];
                    }
                }
                dwp[kh * KW + kw] = s;
            }
        }
    }
}

void FN(wsss_ref_conv2d_bwd_bias)(const wsss_conv_geom *g, const REAL *dy, REAL *db) {
    const int64_t plane = g->oh * g->ow;
    for (int64_t c = 0; c < g->cout; c++) {
        REAL s = 0;
        for (int64_t n = 0; n < g->n; n++) {
            const REAL *p = dy + (n * g->cout + c) * plane;
            for (int64_t i = 0; i < plane; i++) s += p[i];
        }
        db[c] = s;
    }
}
