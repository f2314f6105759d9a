/* Inline SVG line plots for the report (see report_internal.h). */
#include <math.h>
#include <stdio.h>

#include "wsss/report_internal.h"

static const char *const k_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"};

static double nice_step(double range, int target) {
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    return nf * mag;
}

static void fmt_tick(char *b, size_t n, double v, double step) {
    if (fabs(v) < step * 1e-6) v = 0;
    snprintf(b, n, "%.4g", v);
}

/* Averages consecutive points into at most max_pts buckets (long training logs). */
static void decimate(report_series *s, int64_t max_pts) {
    if (s->n <= max_pts) return;
    int64_t m = 0;
    for (int64_t b = 0; b < max_pts; b++) {
        int64_t lo = s->n * b / max_pts, hi = s->n * (b + 1) / max_pts;
        double sx = 0, sy = 0;
        int64_t k = 0;
        for (int64_t i = lo; i < hi; i++)
            if (isfinite(s->y[i])) sx += s->x[i], sy += s->y[i], k++;
        if (k) s->x[m] = sx / k, s->y[m] = sy / k, m++;
    }
    s->n = m;
}

void wsss_report_svg_plot(wsss_jw *h, const char *title, const char *xlabel, const char *ylabel, report_series *ss,
                          int ns, double marker_x) {
    const int W = 540, H = 280, L = 72, R = 16, T = 30, B = 44;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < ns; k++) {
        decimate(&ss[k], 1000);
        for (int64_t i = 0; i < ss[k].n; i++) {
            if (!isfinite(ss[k].x[i]) || !isfinite(ss[k].y[i])) continue;
            x0 = fmin(x0, ss[k].x[i]), x1 = fmax(x1, ss[k].x[i]);
            y0 = fmin(y0, ss[k].y[i]), y1 = fmax(y1, ss[k].y[i]);
        }
    }
    wsss_jw_printf(h, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"%d\" height=\"%d\" "
                      "viewBox=\"0 0 %d %d\" role=\"img\">", W, H, W, H);
    put(h, "<title>");
    esc(h, title);
    put(h, "</title>");
    wsss_jw_printf(h, "<text x=\"%d\" y=\"18\" class=\"pt\">", L);
    esc(h, title);
    put(h, "</text>");
    if (!(x0 <= x1) || !isfinite(x1 - x0) || !isfinite(y1 - y0)) {
        wsss_jw_printf(h, "<text x=\"%d\" y=\"%d\" class=\"nr\">%s</text></svg>", W / 2 - 60, H / 2,
                       x0 <= x1 ? "values out of plotting range" : "no data");
        return;
    }
    if (x1 - x0 < 1e-12 * fmax(1, fabs(x0))) {
        double d = fabs(x0) > 0 ? 0.1 * fabs(x0) : 0.5;
        x0 -= d, x1 += d;
    }
    if (y1 - y0 < 1e-12 * fmax(1, fabs(y0))) {
        double d = fabs(y0) > 0 ? 0.1 * fabs(y0) : 0.5;
        y0 -= d, y1 += d;
    }
    double xs = nice_step(x1 - x0, 6), ys = nice_step(y1 - y0, 5);
    y0 = floor(y0 / ys) * ys, y1 = ceil(y1 / ys) * ys;
    const double pw = W - L - R, ph = H - T - B;
#define PX(v) (L + ((v) - x0) / (x1 - x0) * pw)
#define PY(v) (T + ph - ((v) - y0) / (y1 - y0) * ph)
    char b[64];
    /* grid and ticks */
    /* ticks by index, bounded: a step below the values' resolution cannot loop forever */
    for (int i = 0; i < 40; i++) {
        double v = ceil(y0 / ys) * ys + i * ys;
        if (!(v <= y1 + ys * 1e-9)) break;
        fmt_tick(b, sizeof b, v, ys);
        wsss_jw_printf(h, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>", L, PY(v), W - R, PY(v));
        wsss_jw_printf(h, "<text x=\"%d\" y=\"%.1f\" class=\"yt\">%s</text>", L - 5, PY(v) + 4, b);
    }
    for (int i = 0; i < 40; i++) {
        double v = ceil(x0 / xs) * xs + i * xs;
        if (!(v <= x1 + xs * 1e-9)) break;
        fmt_tick(b, sizeof b, v, xs);
        wsss_jw_printf(h, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"tick\"/>", PX(v), T + (int)ph, PX(v),
                       T + (int)ph + 5);
        wsss_jw_printf(h, "<text x=\"%.1f\" y=\"%d\" class=\"xt\">%s</text>", PX(v), T + (int)ph + 18, b);
    }
    /* axes */
    wsss_jw_printf(h, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>", L, T, L, T + (int)ph);
    wsss_jw_printf(h, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>", L, T + (int)ph, W - R, T + (int)ph);
    wsss_jw_printf(h, "<text x=\"%.1f\" y=\"%d\" class=\"xl\">", L + pw / 2, H - 6);
    esc(h, xlabel);
    put(h, "</text>");
    wsss_jw_printf(h, "<text x=\"14\" y=\"%.1f\" class=\"yl\" transform=\"rotate(-90 14 %.1f)\">", T + ph / 2, T + ph / 2);
    esc(h, ylabel);
    put(h, "</text>");
    if (isfinite(marker_x) && marker_x >= x0 && marker_x <= x1)
        wsss_jw_printf(h, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"mark\"/>", PX(marker_x), T,
                       PX(marker_x), T + (int)ph);
    for (int k = 0; k < ns; k++) {
        const char *col = k_colors[k % (int)(sizeof k_colors / sizeof k_colors[0])];
        int64_t pts = 0;
        for (int64_t i = 0; i < ss[k].n; i++) pts += isfinite(ss[k].x[i]) && isfinite(ss[k].y[i]);
        if (pts == 1) {
            for (int64_t i = 0; i < ss[k].n; i++)
                if (isfinite(ss[k].x[i]) && isfinite(ss[k].y[i]))
                    wsss_jw_printf(h, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", PX(ss[k].x[i]),
                                   PY(ss[k].y[i]), col);
        } else if (pts > 1) {
            wsss_jw_printf(h, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", col);
            for (int64_t i = 0; i < ss[k].n; i++)
                if (isfinite(ss[k].x[i]) && isfinite(ss[k].y[i]))
                    wsss_jw_printf(h, "%.1f,%.1f ", PX(ss[k].x[i]), PY(ss[k].y[i]));
            put(h, "\"/>");
        }
        /* legend */
        int ly = T + 6 + 16 * k;
        wsss_jw_printf(h, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/>", W - R - 150, ly, col);
        wsss_jw_printf(h, "<text x=\"%d\" y=\"%d\" class=\"lg\">", W - R - 134, ly + 5);
        esc(h, ss[k].name);
        put(h, "</text>");
    }
#undef PX
#undef PY
    put(h, "</svg>");
}
