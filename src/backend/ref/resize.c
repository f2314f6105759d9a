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

#define REF_TEMPLATE "backend/ref/resize_impl.h"
#include "backend/ref/for_each_real.h"

/* ---- table-driven float kernels ----
 * Separable: per plane, each input row that some output row reads is first interpolated along W
 * into a per-thread row buffer (once, however many output rows use it), then every output row
 * blends buffer rows along H with contiguous, vectorisable loops. The forward does the same
 * arithmetic in the same order as the plain kernels (bitwise equal); the backward runs the two
 * passes in reverse and so sums in another order (equal up to rounding). */

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

/* The input rows referenced by `idx` (n entries in [0, in)): rows[] lists them in increasing
 * order, slot[y] is the position of row y in that list (-1 if unused). Returns the count. */
static int64_t used_rows(const int64_t *idx, int64_t n, int64_t in, int64_t **rows, int64_t **slot) {
    int64_t *s = wsss_xmalloc((size_t)in * sizeof *s), *r, cnt = 0;
    for (int64_t y = 0; y < in; y++) s[y] = -1;
    for (int64_t i = 0; i < n; i++) s[idx[i]] = 0;
    for (int64_t y = 0; y < in; y++)
        if (s[y] == 0) s[y] = cnt++;
    r = wsss_xmalloc((size_t)(cnt ? cnt : 1) * sizeof *r);
    for (int64_t y = 0; y < in; y++)
        if (s[y] >= 0) r[s[y]] = y;
    *rows = r;
    *slot = s;
    return cnt;
}

/* All taps of a linear table as one index list (for used_rows). */
static int64_t *linear_taps_list(const linear_tab *t, int64_t out) {
    int64_t *l = wsss_xmalloc((size_t)out * 2 * sizeof *l);
    for (int64_t o = 0; o < out; o++) {
        l[2 * o] = t->i0[o];
        l[2 * o + 1] = t->i1[o];
    }
    return l;
}

/* What both bilinear kernels precompute: the row and column taps, and the input rows some output
 * row reads (rows[0..nrows-1], slot[y] = position of row y in that list or -1). */
typedef struct bilinear_plan {
    linear_tab ty, tx;
    int64_t *rows, *slot, nrows;
} bilinear_plan;

static bilinear_plan bilinear_plan_new(int64_t ih, int64_t iw, int64_t oh, int64_t ow, int align_corners) {
    bilinear_plan p;
    p.ty = linear_tab_new(ih, oh, align_corners);
    p.tx = linear_tab_new(iw, ow, align_corners);
    int64_t *taps = linear_taps_list(&p.ty, oh);
    p.nrows = used_rows(taps, 2 * oh, ih, &p.rows, &p.slot);
    free(taps);
    return p;
}

static void bilinear_plan_free(bilinear_plan *p) {
    free(p->rows);
    free(p->slot);
    linear_tab_free(&p->ty);
    linear_tab_free(&p->tx);
}

void wsss_tab_resize_bilinear_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                      int64_t oh, int64_t ow, float *y, int align_corners) {
    bilinear_plan pl = bilinear_plan_new(ih, iw, oh, ow, align_corners);
    const linear_tab ty = pl.ty;
    const int64_t *rows = pl.rows, *slot = pl.slot, nrows = pl.nrows;
    const int64_t *x0 = pl.tx.i0, *x1 = pl.tx.i1;
    const float *b0 = pl.tx.l0, *b1 = pl.tx.l1;
#pragma omp parallel if (planes * oh * ow >= RESIZE_PAR_MIN)
    {
        float *h = wsss_xmalloc((size_t)(nrows * ow) * sizeof *h);
#pragma omp for
        for (int64_t p = 0; p < planes; p++) {
            const float *xp = x + p * ih * iw;
            for (int64_t k = 0; k < nrows; k++) {
                const float *r = xp + rows[k] * iw;
                float *hr = h + k * ow;
                for (int64_t ox = 0; ox < ow; ox++) hr[ox] = r[x0[ox]] * b0[ox] + r[x1[ox]] * b1[ox];
            }
            for (int64_t oy = 0; oy < oh; oy++) {
                const float *top = h + slot[ty.i0[oy]] * ow, *bot = h + slot[ty.i1[oy]] * ow;
                const float a0 = ty.l0[oy], a1 = ty.l1[oy];
                float *yr = y + (p * oh + oy) * ow;
                for (int64_t ox = 0; ox < ow; ox++) yr[ox] = top[ox] * a0 + bot[ox] * a1;
            }
        }
        free(h);
    }
    bilinear_plan_free(&pl);
}

void wsss_tab_resize_bilinear_bwd_f32(int64_t planes, int64_t ih, int64_t iw, float *dx,
                                      int64_t oh, int64_t ow, const float *dy, int align_corners) {
    bilinear_plan pl = bilinear_plan_new(ih, iw, oh, ow, align_corners);
    const linear_tab ty = pl.ty;
    const int64_t *rows = pl.rows, *slot = pl.slot, nrows = pl.nrows;
    const int64_t *x0 = pl.tx.i0, *x1 = pl.tx.i1;
    const float *b0 = pl.tx.l0, *b1 = pl.tx.l1;
#pragma omp parallel if (planes * oh * ow >= RESIZE_PAR_MIN)
    {
        float *h = wsss_xmalloc((size_t)(nrows * ow) * sizeof *h);
#pragma omp for
        for (int64_t p = 0; p < planes; p++) {
            /* transpose of the H pass: output rows into the W-interpolated row buffer */
            for (int64_t i = 0; i < nrows * ow; i++) h[i] = 0;
            for (int64_t oy = 0; oy < oh; oy++) {
                float *top = h + slot[ty.i0[oy]] * ow, *bot = h + slot[ty.i1[oy]] * ow;
                const float a0 = ty.l0[oy], a1 = ty.l1[oy];
                const float *g = dy + (p * oh + oy) * ow;
                for (int64_t ox = 0; ox < ow; ox++) top[ox] += a0 * g[ox];
                for (int64_t ox = 0; ox < ow; ox++) bot[ox] += a1 * g[ox];
            }
            /* transpose of the W pass: buffer rows into input rows */
            float *dp = dx + p * ih * iw;
            for (int64_t i = 0; i < ih * iw; i++) dp[i] = 0;
            for (int64_t k = 0; k < nrows; k++) {
                float *dr = dp + rows[k] * iw;
                const float *hr = h + k * ow;
                for (int64_t ox = 0; ox < ow; ox++) {
                    dr[x0[ox]] += b0[ox] * hr[ox];
                    dr[x1[ox]] += b1[ox] * hr[ox];
                }
            }
        }
        free(h);
    }
    bilinear_plan_free(&pl);
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
    int64_t *sy = nearest_tab_new(ih, oh), *sx = nearest_tab_new(iw, ow), *rows, *slot;
    const int64_t nrows = used_rows(sy, oh, ih, &rows, &slot);
#pragma omp parallel if (planes * oh * ow >= RESIZE_PAR_MIN)
    {
        float *h = wsss_xmalloc((size_t)(nrows * ow) * sizeof *h);
#pragma omp for
        for (int64_t p = 0; p < planes; p++) {
            /* sum the output rows that copy the same input row, then scatter along W */
            for (int64_t i = 0; i < nrows * ow; i++) h[i] = 0;
            for (int64_t oy = 0; oy < oh; oy++) {
                float *hr = h + slot[sy[oy]] * ow;
                const float *g = dy + (p * oh + oy) * ow;
                for (int64_t ox = 0; ox < ow; ox++) hr[ox] += g[ox];
            }
            float *dp = dx + p * ih * iw;
            for (int64_t i = 0; i < ih * iw; i++) dp[i] = 0;
            for (int64_t k = 0; k < nrows; k++) {
                float *dr = dp + rows[k] * iw;
                const float *hr = h + k * ow;
                for (int64_t ox = 0; ox < ow; ox++) dr[sx[ox]] += hr[ox];
            }
        }
        free(h);
    }
    free(sy);
    free(sx);
    free(rows);
    free(slot);
}

void wsss_tab_resize_bicubic_fwd_f32(int64_t planes, int64_t ih, int64_t iw, const float *x,
                                     int64_t oh, int64_t ow, float *y, int align_corners) {
    int64_t *ry = wsss_xmalloc((size_t)oh * 4 * sizeof *ry), *rx = wsss_xmalloc((size_t)ow * 4 * sizeof *rx);
    float *wy = wsss_xmalloc((size_t)oh * 4 * sizeof *wy), *wx = wsss_xmalloc((size_t)ow * 4 * sizeof *wx);
    for (int64_t o = 0; o < oh; o++) resize_cubic_taps_f32(o, ih, oh, align_corners, ry + 4 * o, wy + 4 * o);
    for (int64_t o = 0; o < ow; o++) resize_cubic_taps_f32(o, iw, ow, align_corners, rx + 4 * o, wx + 4 * o);
    int64_t *rows, *slot;
    const int64_t nrows = used_rows(ry, 4 * oh, ih, &rows, &slot);
#pragma omp parallel if (planes * oh * ow >= RESIZE_PAR_MIN)
    {
        float *h = wsss_xmalloc((size_t)(nrows * ow) * sizeof *h);
#pragma omp for
        for (int64_t p = 0; p < planes; p++) {
            const float *xp = x + p * ih * iw;
            for (int64_t k = 0; k < nrows; k++) {
                const float *row = xp + rows[k] * iw;
                float *hr = h + k * ow;
                for (int64_t ox = 0; ox < ow; ox++) {
                    const int64_t *ix = rx + 4 * ox;
                    const float *vx = wx + 4 * ox;
                    float t = row[ix[0]] * vx[0];
                    for (int i = 1; i < 4; i++) t += row[ix[i]] * vx[i];
                    hr[ox] = t;
                }
            }
            for (int64_t oy = 0; oy < oh; oy++) {
                const int64_t *iy = ry + 4 * oy;
                const float *vy = wy + 4 * oy;
                const float *h0 = h + slot[iy[0]] * ow, *h1 = h + slot[iy[1]] * ow;
                const float *h2 = h + slot[iy[2]] * ow, *h3 = h + slot[iy[3]] * ow;
                float *yr = y + (p * oh + oy) * ow;
                for (int64_t ox = 0; ox < ow; ox++)
                    yr[ox] = h0[ox] * vy[0] + h1[ox] * vy[1] + h2[ox] * vy[2] + h3[ox] * vy[3];
            }
        }
        free(h);
    }
    free(rows);
    free(slot);
    free(ry);
    free(rx);
    free(wy);
    free(wx);
}
