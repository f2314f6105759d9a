/* Resize kernels: the plain per-pixel oracle (resize_impl.h, float and double) and table-driven
 * float kernels that build each row's and column's taps once and reuse them for every plane. */
#include "backend/ref/resize.h"

#include <math.h>
#include <stdlib.h>

#include "wsss/error.h"

/* Below this many output elements the table kernels stay serial. */
#define RESIZE_PAR_MIN 32768

int64_t wsss_resize_nearest_src(int64_t dst, int64_t in, int64_t out) {
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    const float scale = (float)in / (float)out;
    const int64_t s = (int64_t)floorf((float)dst * scale);
    return s < in - 1 ? s : in - 1;
}

#define REAL float
#define FN(name) name##_f32
#include "backend/ref/resize_impl.h"
#undef REAL
#undef FN

#define REAL double
#define FN(name) name##_f64
#include "backend/ref/resize_impl.h"
#undef REAL
#undef FN

/* ---- table-driven float kernels ---- */

typedef struct linear_tab {
    int64_t *i0, *i1;
    float *l0, *l1;
} linear_tab;

static linear_tab linear_tab_new(int64_t in, int64_t out, int align_corners) {
    linear_tab t;
    t.i0 = wsss_xmalloc((size_t)out * sizeof *t.i0);
    t.i1 = wsss_xmalloc((size_t)out * sizeof *t.i1);
    t.l0 = wsss_xmalloc((size_t)out * sizeof *t.l0);
    t.l1 = wsss_xmalloc((size_t)out * sizeof *t.l1);
    for (int64_t o = 0; o < out; o++)
        resize_linear_taps_f32(o, in, out, align_corners, &t.i0[o], &t.i1[o], &t.l0[o], &t.l1[o]);
    return t;
}

static void linear_tab_free(linear_tab *t) {
    free(t->i0);
    free(t->i1);
    free(t->l0);
    free(t->l1);
}

void wsss_tab_resize_bilinear_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                      int64_t oh, int64_t ow, float *y, int align_corners) {
    linear_tab ty = linear_tab_new(ih, oh, align_corners);
    linear_tab tx = linear_tab_new(iw, ow, align_corners);
    const int64_t *x0 = tx.i0, *x1 = tx.i1;
    const float *b0 = tx.l0, *b1 = tx.l1;
#pragma omp parallel for collapse(2) if (planes * oh * ow >= RESIZE_PAR_MIN)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < oh; oy++) {
            const float *r0 = x + (p * ih + ty.i0[oy]) * iw, *r1 = x + (p * ih + ty.i1[oy]) * iw;
            const float a0 = ty.l0[oy], a1 = ty.l1[oy];
            float *yr = y + (p * oh + oy) * ow;
            for (int64_t ox = 0; ox < ow; ox++) {
                const float top = r0[x0[ox]] * b0[ox] + r0[x1[ox]] * b1[ox];
                const float bot = r1[x0[ox]] * b0[ox] + r1[x1[ox]] * b1[ox];
                yr[ox] = top * a0 + bot * a1;
            }
        }
    linear_tab_free(&ty);
    linear_tab_free(&tx);
}

void wsss_tab_resize_bilinear_bwd_f32(int64_t planes, int64_t ih, int64_t iw, float *dx,
                                      int64_t oh, int64_t ow, const float *dy, int align_corners) {
    linear_tab ty = linear_tab_new(ih, oh, align_corners);
    linear_tab tx = linear_tab_new(iw, ow, align_corners);
    const int64_t *x0 = tx.i0, *x1 = tx.i1;
    const float *b0 = tx.l0, *b1 = tx.l1;
    /* output rows scatter into overlapping input rows, so planes are the unit of parallelism */
#pragma omp parallel for if (planes * oh * ow >= RESIZE_PAR_MIN)
    for (int64_t p = 0; p < planes; p++) {
        float *dp = dx + p * ih * iw;
        for (int64_t i = 0; i < ih * iw; i++) dp[i] = 0;
        for (int64_t oy = 0; oy < oh; oy++) {
            float *r0 = dp + ty.i0[oy] * iw, *r1 = dp + ty.i1[oy] * iw;
            const float a0 = ty.l0[oy], a1 = ty.l1[oy];
            const float *g = dy + (p * oh + oy) * ow;
            for (int64_t ox = 0; ox < ow; ox++) {
                r0[x0[ox]] += a0 * b0[ox] * g[ox];
                r0[x1[ox]] += a0 * b1[ox] * g[ox];
                r1[x0[ox]] += a1 * b0[ox] * g[ox];
                r1[x1[ox]] += a1 * b1[ox] * g[ox];
            }
        }
    }
    linear_tab_free(&ty);
    linear_tab_free(&tx);
}

static int64_t *nearest_tab_new(int64_t in, int64_t out) {
    int64_t *t = wsss_xmalloc((size_t)out * sizeof *t);
    for (int64_t o = 0; o < out; o++) t[o] = wsss_resize_nearest_src(o, in, out);
    return t;
}

void wsss_tab_resize_nearest_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                     int64_t oh, int64_t ow, float *y) {
    int64_t *sy = nearest_tab_new(ih, oh), *sx = nearest_tab_new(iw, ow);
#pragma omp parallel for collapse(2) if (planes * oh * ow >= RESIZE_PAR_MIN)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < oh; oy++) {
            const float *r = x + (p * ih + sy[oy]) * iw;
            float *yr = y + (p * oh + oy) * ow;
            for (int64_t ox = 0; ox < ow; ox++) yr[ox] = r[sx[ox]];
        }
    free(sy);
    free(sx);
}

void wsss_tab_resize_nearest_bwd_f32(int64_t planes, int64_t ih, int64_t iw, float *dx,
                                     int64_t oh, int64_t ow, const float *dy) {
    int64_t *sy = nearest_tab_new(ih, oh), *sx = nearest_tab_new(iw, ow);
#pragma omp parallel for if (planes * oh * ow >= RESIZE_PAR_MIN)
    for (int64_t p = 0; p < planes; p++) {
        float *dp = dx + p * ih * iw;
        for (int64_t i = 0; i < ih * iw; i++) dp[i] = 0;
        for (int64_t oy = 0; oy < oh; oy++) {
            float *r = dp + sy[oy] * iw;
            const float *g = dy + (p * oh + oy) * ow;
            for (int64_t ox = 0; ox < ow; ox++) r[sx[ox]] += g[ox];
        }
    }
    free(sy);
    free(sx);
}

void wsss_tab_resize_bicubic_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                     int64_t oh, int64_t ow, float *y, int align_corners) {
    int64_t *ry = wsss_xmalloc((size_t)oh * 4 * sizeof *ry), *rx = wsss_xmalloc((size_t)ow * 4 * sizeof *rx);
    float *wy = wsss_xmalloc((size_t)oh * 4 * sizeof *wy), *wx = wsss_xmalloc((size_t)ow * 4 * sizeof *wx);
    for (int64_t o = 0; o < oh; o++) resize_cubic_taps_f32(o, ih, oh, align_corners, ry + 4 * o, wy + 4 * o);
    for (int64_t o = 0; o < ow; o++) resize_cubic_taps_f32(o, iw, ow, align_corners, rx + 4 * o, wx + 4 * o);
#pragma omp parallel for collapse(2) if (planes * oh * ow >= RESIZE_PAR_MIN)
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < oh; oy++) {
            const float *xp = x + p * ih * iw;
            const int64_t *iy = ry + 4 * oy;
            const float *vy = wy + 4 * oy;
            float *yr = y + (p * oh + oy) * ow;
            for (int64_t ox = 0; ox < ow; ox++) {
                const int64_t *ix = rx + 4 * ox;
                const float *vx = wx + 4 * ox;
                float acc = 0;
                for (int j = 0; j < 4; j++) {
                    const float *row = xp + iy[j] * iw;
                    float t = row[ix[0]] * vx[0];
                    for (int i = 1; i < 4; i++) t += row[ix[i]] * vx[i];
                    acc = j == 0 ? t * vy[0] : acc + t * vy[j];
                }
                yr[ox] = acc;
            }
        }
    free(ry);
    free(rx);
    free(wy);
    free(wx);
}
