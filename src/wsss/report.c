/* The self-contained HTML run report (see report.h). The page is built in one string buffer and
 * written atomically; every piece of the run directory is optional. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/image.h"
#include "wsss/json.h"
#include "wsss/report.h"
#include "wsss/run_layout.h"
#include "wsss/runlog.h"

void wsss_report_opts_default(wsss_report_opts *o) {
    memset(o, 0, sizeof *o);
    o->max_samples = 24;
    o->max_image_bytes = 4 << 20;
}

char *wsss_base64(const uint8_t *d, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = wsss_xmalloc(4 * ((n + 2) / 3) + 1), *p = o;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        *p++ = tab[v >> 18], *p++ = tab[(v >> 12) & 63], *p++ = tab[(v >> 6) & 63], *p++ = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)d[i] << 16;
        *p++ = tab[v >> 18], *p++ = tab[(v >> 12) & 63], *p++ = '=', *p++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
        *p++ = tab[v >> 18], *p++ = tab[(v >> 12) & 63], *p++ = tab[(v >> 6) & 63], *p++ = '=';
    }
    *p = 0;
    return o;
}

/* ---------------------------------------------------------------- small helpers */

typedef wsss_jw buf; /* used as a plain string builder */

static void put(buf *h, const char *s) { wsss_jw_append(h, s, strlen(s)); }

static void esc(buf *h, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': put(h, "&amp;"); break;
        case '<': put(h, "&lt;"); break;
        case '>': put(h, "&gt;"); break;
        case '"': put(h, "&quot;"); break;
        case '\'': put(h, "&#39;"); break;
        default: wsss_jw_append(h, s, 1);
        }
    }
}

static void pct_cell(buf *h, double v) {
    if (isnan(v)) put(h, "<td class=\"na\">&ndash;</td>");
    else wsss_jw_printf(h, "<td class=\"num\">%.1f</td>", 100.0 * v);
}

/* A cell with a horizontal bar proportional to v in [0,1]. */
static void bar_cell(buf *h, double v) {
    if (isnan(v)) {
        put(h, "<td class=\"na\">&ndash;</td>");
        return;
    }
    double p = v < 0 ? 0 : v > 1 ? 100 : 100 * v;
    wsss_jw_printf(h,
                   "<td class=\"num\" style=\"background:linear-gradient(90deg,#c6dbef %.1f%%,transparent %.1f%%)\">"
                   "%.1f</td>",
                   p, p, 100.0 * v);
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names (without the suffix) of the regular files in dir ending with suffix, sorted. */
static int list_dir(const char *dir, const char *suffix, char ***out) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, suffix)) continue;
        if (n == cap) v = wsss_xrealloc(v, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 16));
        v[n] = wsss_xstrdup(e->d_name);
        v[n][strlen(v[n]) - strlen(suffix)] = 0;
        if (!v[n][0]) free(v[n]);
        else n++;
    }
    closedir(d);
    if (n) qsort(v, (size_t)n, sizeof(char *), cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* ---------------------------------------------------------------- run contents */

typedef struct stage {
    char *name;
    int has_log, unreadable;
    wsss_runlog_data log;
    wsss_json *metrics;
} stage;

typedef struct run {
    const char *dir;
    stage *st;
    int n_st;
    char **problems;
    int n_problems;
} run;

static void problem(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(run *r, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *m = wsss_xmalloc((size_t)(n > 0 ? n : 0) + 1);
    vsnprintf(m, (size_t)(n > 0 ? n : 0) + 1, fmt, ap2);
    va_end(ap2);
    r->problems = wsss_xrealloc(r->problems, sizeof(char *) * (size_t)(r->n_problems + 1));
    r->problems[r->n_problems++] = m;
}

static const char *const k_stage_order[] = {"train-cls", "cam", "affinity", "pseudo", "train-seg", "eval-seg"};
#define N_CANON ((int)(sizeof k_stage_order / sizeof k_stage_order[0]))

static stage *stage_get(run *r, const char *name) {
    for (int i = 0; i < r->n_st; i++)
        if (strcmp(r->st[i].name, name) == 0) return &r->st[i];
    r->st = wsss_xrealloc(r->st, sizeof(stage) * (size_t)(r->n_st + 1));
    stage *s = &r->st[r->n_st++];
    memset(s, 0, sizeof *s);
    s->name = wsss_xstrdup(name);
    return s;
}

static int stage_rank(const char *name) {
    for (int i = 0; i < N_CANON; i++)
        if (strcmp(k_stage_order[i], name) == 0) return i;
    return N_CANON;
}

static int cmp_stage(const void *a, const void *b) {
    const stage *x = a, *y = b;
    int rx = stage_rank(x->name), ry = stage_rank(y->name);
    return rx != ry ? rx - ry : strcmp(x->name, y->name);
}

static void load_run(run *r) {
    for (int i = 0; i < N_CANON; i++) stage_get(r, k_stage_order[i]);
    char *logs = wsss_run_path(r->dir, WSSS_RUN_LOGS), *mets = wsss_run_path(r->dir, WSSS_RUN_METRICS);
    char **names;
    int n = list_dir(logs, ".jsonl", &names);
    for (int i = 0; i < n; i++) {
        stage *s = stage_get(r, names[i]);
        char *p = wsss_run_file(logs, names[i], ".jsonl");
        if (wsss_runlog_read(p, &s->log) == WSSS_OK) {
            s->has_log = 1;
            if (s->log.n_bad_lines) problem(r, "%s: %lld line(s) are not JSON objects and were skipped", p, (long long)s->log.n_bad_lines);
        } else {
            problem(r, "%s: %s", p, wsss_error_msg());
            s->unreadable = 1;
        }
        free(p);
    }
    free_list(names, n);
    n = list_dir(mets, ".json", &names);
    for (int i = 0; i < n; i++) {
        stage *s = stage_get(r, names[i]);
        char *p = wsss_run_file(mets, names[i], ".json");
        uint8_t *text;
        size_t len;
        if (wsss_file_read_all(p, &text, &len) == WSSS_OK) {
            s->metrics = wsss_json_parse_limited((const char *)text, len, 4u << 20);
            if (!s->metrics) {
                problem(r, "%s: %s", p, wsss_error_msg());
                s->unreadable = 1;
            } else if (s->metrics->type != WSSS_JSON_OBJECT) {
                problem(r, "%s: expected a JSON object", p);
                s->unreadable = 1;
                wsss_json_free(s->metrics);
                s->metrics = NULL;
            }
            free(text);
        } else {
            problem(r, "%s: %s", p, wsss_error_msg());
            s->unreadable = 1;
        }
        free(p);
    }
    free_list(names, n);
    free(logs);
    free(mets);
    qsort(r->st, (size_t)r->n_st, sizeof(stage), cmp_stage);
}

static void free_run(run *r) {
    for (int i = 0; i < r->n_st; i++) {
        free(r->st[i].name);
        wsss_runlog_data_free(&r->st[i].log);
        wsss_json_free(r->st[i].metrics);
    }
    free(r->st);
    for (int i = 0; i < r->n_problems; i++) free(r->problems[i]);
    free(r->problems);
}

static double jnum(const wsss_json *o, const char *key) {
    double v;
    return wsss_json_as_double(wsss_json_get(o, key), &v) == WSSS_OK ? v : NAN;
}

/* ---------------------------------------------------------------- SVG line plots */

typedef struct series {
    const char *name;
    double *x, *y;
    int64_t n;
} series;

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
static void decimate(series *s, int64_t max_pts) {
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

/* Line plot with axes, ticks, labels and a legend; marker_x (finite) draws a vertical guide. */
static void svg_plot(buf *h, const char *title, const char *xlabel, const char *ylabel, series *ss, int ns,
                     double marker_x) {
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

/* ---------------------------------------------------------------- page sections */

static const char k_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}"
    "h3{font-size:15px;margin:16px 0 6px}.meta{color:#666;font-size:13px}"
    "table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border:1px solid #ccc;padding:3px 7px}"
    "th{background:#f2f2f2;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "td.na,td.nr,span.nr{color:#999;font-style:italic}tr.total td{font-weight:bold}"
    ".plot{border:1px solid #ddd;margin:4px 8px 8px 0;background:#fff}"
    ".plot .grid{stroke:#eee}.plot .axis{stroke:#444}.plot .tick{stroke:#444}.plot .mark{stroke:#999;stroke-dasharray:4 3}"
    ".plot text{font-size:11px;fill:#333}.plot .pt{font-size:13px;font-weight:bold}"
    ".plot .yt{text-anchor:end}.plot .xt,.plot .xl{text-anchor:middle}.plot .yl{text-anchor:middle}"
    ".plot .nr{fill:#999;font-style:italic}"
    ".samples td{vertical-align:top;text-align:center}.samples img{width:200px;height:auto;image-rendering:pixelated}"
    ".sw{display:inline-block;width:12px;height:12px;border:1px solid #888;vertical-align:middle;margin-right:4px}"
    ".legend span.item{display:inline-block;margin:2px 12px 2px 0;font-size:13px}"
    "details{margin:6px 0}summary{cursor:pointer}.problems li{color:#a00}"
    "table.conf td{padding:2px 4px;font-size:11px}";

static const char *metrics_kind(const wsss_json *m) { return wsss_json_get_string(m, "kind", "segmentation"); }

static void section_stages(buf *h, run *r) {
    put(h, "<h2>Stages</h2>\n<table class=\"stages\"><thead><tr><th>stage</th><th>status</th><th>log records</th>"
           "<th>last step</th><th>last loss</th><th>last lr</th><th>time (s)</th><th>images/s</th><th>metrics</th>"
           "<th>split</th><th>images</th><th>mIoU (%)</th><th>threshold</th><th>pixel acc (%)</th>"
           "<th>ignored (%)</th></tr></thead><tbody>\n");
    for (int i = 0; i < r->n_st; i++) {
        stage *s = &r->st[i];
        put(h, "<tr><td>");
        esc(h, s->name);
        put(h, "</td>");
        if (!s->has_log && !s->metrics) {
            put(h, s->unreadable ? "<td class=\"nr\" colspan=\"14\">unreadable (see Problems)</td></tr>\n"
                                 : "<td class=\"nr\" colspan=\"14\">not run</td></tr>\n");
            continue;
        }
        put(h, s->metrics ? "<td>done</td>" : "<td>log only</td>");
        if (s->has_log) {
            const wsss_runlog_data *d = &s->log;
            wsss_jw_printf(h, "<td class=\"num\">%lld</td>", (long long)d->n_records);
            /* last non-missing value of a column */
            const char *cols[] = {"step", "loss", "lr", "time", "images_per_s"};
            for (int c = 0; c < 5; c++) {
                int f = wsss_runlog_field(d, cols[c]);
                double v = NAN;
                for (int64_t k = d->n_records - 1; f >= 0 && k >= 0 && isnan(v); k--) v = wsss_runlog_value(d, k, f);
                if (isnan(v)) put(h, "<td class=\"na\">&ndash;</td>");
                else if (c == 0) wsss_jw_printf(h, "<td class=\"num\">%.0f</td>", v);
                else if (c == 3) wsss_jw_printf(h, "<td class=\"num\">%.1f</td>", v);
                else wsss_jw_printf(h, "<td class=\"num\">%.4g</td>", v);
            }
        } else {
            put(h, "<td class=\"nr\" colspan=\"6\">no log</td>");
        }
        if (s->metrics) {
            const wsss_json *m = s->metrics;
            put(h, "<td>");
            esc(h, metrics_kind(m));
            put(h, "</td><td>");
            esc(h, wsss_json_get_string(m, "split", "?"));
            wsss_jw_printf(h, "</td><td class=\"num\">%lld</td>", (long long)wsss_json_get_int64(m, "num_images", 0));
            pct_cell(h, jnum(m, "miou"));
            double t = jnum(m, "best_threshold");
            if (isnan(t)) put(h, "<td class=\"na\">&ndash;</td>");
            else wsss_jw_printf(h, "<td class=\"num\">%.2f</td>", t);
            pct_cell(h, jnum(m, "pixel_acc"));
            pct_cell(h, jnum(m, "frac_ignored"));
        } else {
            put(h, "<td class=\"nr\" colspan=\"7\">no metrics</td>");
        }
        put(h, "</tr>\n");
    }
    put(h, "</tbody></table>\n");
}

/* Class names: from the first metrics file that has a "classes" array (index order). */
static int class_names(run *r, char ***names) {
    *names = NULL;
    int k = 0;
    for (int i = 0; i < r->n_st; i++) {
        const wsss_json *cl = wsss_json_get(r->st[i].metrics, "classes");
        int n = wsss_json_len(cl);
        if (n > k) {
            char **v = wsss_xcalloc((size_t)n, sizeof(char *));
            for (int c = 0; c < n; c++) {
                const wsss_json *e = wsss_json_at(cl, c);
                int64_t idx = wsss_json_get_int64(e, "index", c);
                if (idx < 0 || idx >= n) idx = c;
                if (!v[idx]) v[idx] = wsss_xstrdup(wsss_json_get_string(e, "name", ""));
            }
            for (int c = 0; c < n; c++)
                if (!v[c]) v[c] = wsss_xstrdup("");
            free_list(*names, k);
            *names = v;
            k = n;
        }
    }
    return k;
}

/* IoU of class c in a metrics object (NaN if absent/null). */
static double class_iou(const wsss_json *m, int c) {
    const wsss_json *cl = wsss_json_get(m, "classes");
    for (int i = 0; i < wsss_json_len(cl); i++) {
        const wsss_json *e = wsss_json_at(cl, i);
        if (wsss_json_get_int64(e, "index", i) == c) return jnum(e, "iou");
    }
    return NAN;
}

static void section_classes(buf *h, run *r, char **names, int k) {
    put(h, "<h2>Per-class IoU (%)</h2>\n");
    int nm = 0;
    for (int i = 0; i < r->n_st; i++) nm += r->st[i].metrics != NULL;
    if (!nm || !k) {
        put(h, "<p><span class=\"nr\">not run: no metrics yet</span></p>\n");
        return;
    }
    put(h, "<table class=\"classes\"><thead><tr><th>#</th><th>class</th>");
    for (int i = 0; i < r->n_st; i++)
        if (r->st[i].metrics) {
            put(h, "<th>");
            esc(h, r->st[i].name);
            put(h, "</th>");
        }
    put(h, "</tr></thead><tbody>\n");
    for (int c = 0; c < k; c++) {
        wsss_jw_printf(h, "<tr><td class=\"num\">%d</td><td>", c);
        uint8_t rgb[3];
        wsss_voc_color(c, rgb);
        wsss_jw_printf(h, "<span class=\"sw\" style=\"background:#%02x%02x%02x\"></span>", rgb[0], rgb[1], rgb[2]);
        esc(h, names[c]);
        put(h, "</td>");
        for (int i = 0; i < r->n_st; i++)
            if (r->st[i].metrics) bar_cell(h, class_iou(r->st[i].metrics, c));
        put(h, "</tr>\n");
    }
    put(h, "<tr class=\"total\"><td></td><td>mIoU</td>");
    for (int i = 0; i < r->n_st; i++)
        if (r->st[i].metrics) bar_cell(h, jnum(r->st[i].metrics, "miou"));
    put(h, "</tr>\n</tbody></table>\n");
}

static int json_doubles(const wsss_json *arr, double *out, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        double v;
        out[k++] = wsss_json_as_double(wsss_json_at(arr, i), &v) == WSSS_OK ? v : NAN;
    }
    return k;
}

static void section_sweep(buf *h, run *r) {
    put(h, "<h2>CAM threshold sweep</h2>\n");
    int any = 0;
    for (int i = 0; i < r->n_st; i++) {
        const wsss_json *m = r->st[i].metrics;
        const wsss_json *ta = wsss_json_get(m, "thresholds"), *ma = wsss_json_get(m, "miou_per_threshold");
        int n = wsss_json_len(ta);
        if (!m || n == 0 || wsss_json_len(ma) != n) continue;
        any = 1;
        series s = {"mIoU (%)", wsss_xmalloc(sizeof(double) * (size_t)n), wsss_xmalloc(sizeof(double) * (size_t)n), n};
        json_doubles(ta, s.x, n);
        json_doubles(ma, s.y, n);
        for (int j = 0; j < n; j++) s.y[j] *= 100;
        char title[160];
        double bt = jnum(m, "best_threshold");
        snprintf(title, sizeof title, "%s: best threshold %.2f, mIoU %.1f%%", r->st[i].name, bt, 100 * jnum(m, "miou"));
        svg_plot(h, title, "background threshold", "mIoU (%)", &s, 1, bt);
        free(s.x);
        free(s.y);
        const wsss_json *fx = wsss_json_get(m, "fixed");
        if (wsss_json_len(fx) > 0) {
            put(h, "<table class=\"fixed\"><thead><tr><th>fixed threshold</th><th>mIoU (%)</th></tr></thead><tbody>");
            for (int k = 0; k < fx->n; k++) {
                put(h, "<tr><td>");
                esc(h, fx->keys[k]);
                put(h, "</td>");
                double v;
                pct_cell(h, wsss_json_as_double(fx->items[k], &v) == WSSS_OK ? v : NAN);
                put(h, "</tr>");
            }
            put(h, "</tbody></table>\n");
        }
    }
    if (!any) put(h, "<p><span class=\"nr\">not run: no CAM sweep metrics</span></p>\n");
}

static int starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static void section_curves(buf *h, run *r) {
    put(h, "<h2>Training curves</h2>\n");
    int any = 0;
    for (int i = 0; i < r->n_st; i++) {
        const wsss_runlog_data *d = &r->st[i].log;
        if (!r->st[i].has_log || d->n_records == 0) continue;
        int fstep = wsss_runlog_field(d, "step"), flr = wsss_runlog_field(d, "lr");
        int nloss = 0;
        for (int f = 0; f < d->n_fields; f++) nloss += starts_with(d->fields[f], "loss");
        if (!nloss && flr < 0) continue;
        any = 1;
        put(h, "<h3>");
        esc(h, r->st[i].name);
        put(h, "</h3>\n<div>");
        int64_t n = d->n_records;
        series *ss = wsss_xcalloc((size_t)nloss + 1, sizeof(series));
        int k = 0;
        for (int f = 0; f < d->n_fields; f++) {
            int is_loss = starts_with(d->fields[f], "loss");
            if (!is_loss && f != flr) continue;
            series *s = is_loss ? &ss[k++] : &ss[nloss];
            s->name = d->fields[f];
            s->x = wsss_xmalloc(sizeof(double) * (size_t)n);
            s->y = wsss_xmalloc(sizeof(double) * (size_t)n);
            s->n = 0;
            for (int64_t j = 0; j < n; j++) {
                double y = wsss_runlog_value(d, j, f);
                if (isnan(y)) continue;
                s->x[s->n] = fstep >= 0 ? wsss_runlog_value(d, j, fstep) : (double)j;
                s->y[s->n++] = y;
            }
        }
        const char *xl = fstep >= 0 ? "step" : "record";
        char title[160];
        if (nloss) {
            snprintf(title, sizeof title, "%s: loss", r->st[i].name);
            svg_plot(h, title, xl, "loss", ss, nloss, NAN);
        }
        if (flr >= 0) {
            snprintf(title, sizeof title, "%s: learning rate", r->st[i].name);
            svg_plot(h, title, xl, "lr", &ss[nloss], 1, NAN);
        }
        for (int j = 0; j <= nloss; j++) {
            free(ss[j].x);
            free(ss[j].y);
        }
        free(ss);
        put(h, "</div>\n");
    }
    if (!any) put(h, "<p><span class=\"nr\">not run: no training logs</span></p>\n");
}

static void section_confusion(buf *h, run *r, char **names, int k) {
    int any = 0;
    for (int i = 0; i < r->n_st; i++) {
        const wsss_json *conf = wsss_json_get(r->st[i].metrics, "confusion");
        int rows = wsss_json_len(conf);
        if (rows == 0) continue;
        if (!any) put(h, "<h2>Confusion matrices</h2>\n<p class=\"meta\">% of each ground-truth row; last column: "
                         "pixels labelled 255 (ignored), counted as wrong.</p>\n");
        any = 1;
        put(h, "<details><summary>");
        esc(h, r->st[i].name);
        put(h, "</summary>\n<table class=\"conf\"><thead><tr><th>GT \\ pred</th>");
        int cols = wsss_json_len(wsss_json_at(conf, 0));
        for (int c = 0; c < cols; c++) {
            if (c == cols - 1) put(h, "<th>ign</th>");
            else wsss_jw_printf(h, "<th>%d</th>", c);
        }
        put(h, "</tr></thead><tbody>\n");
        double *row = wsss_xmalloc(sizeof(double) * (size_t)(cols > 0 ? cols : 1));
        for (int g = 0; g < rows; g++) {
            const wsss_json *rw = wsss_json_at(conf, g);
            int nc = wsss_json_len(rw) < cols ? wsss_json_len(rw) : cols;
            double sum = 0;
            json_doubles(rw, row, nc);
            for (int c = 0; c < nc; c++) sum += isfinite(row[c]) ? row[c] : 0;
            wsss_jw_printf(h, "<tr><th>%d ", g);
            esc(h, g < k ? names[g] : "");
            put(h, "</th>");
            for (int c = 0; c < cols; c++) {
                if (c >= nc || sum <= 0) {
                    put(h, "<td class=\"na\">&ndash;</td>");
                    continue;
                }
                double p = 100 * row[c] / sum;
                /* shade: diagonal blue, off-diagonal red */
                int a = (int)lrint(fmin(p, 100) * 2.2);
                wsss_jw_printf(h, "<td class=\"num\" style=\"background:rgb(%d,%d,%d)\">%.1f</td>",
                               c == g ? 255 - a / 2 : 255, 255 - a / 2, c == g ? 255 : 255 - a / 2, p);
            }
            put(h, "</tr>\n");
        }
        free(row);
        put(h, "</tbody></table></details>\n");
    }
}

static void section_legend(buf *h, char **names, int k) {
    if (!k) return;
    put(h, "<div class=\"legend\">");
    for (int c = 0; c < k; c++) {
        uint8_t rgb[3];
        wsss_voc_color(c, rgb);
        wsss_jw_printf(h, "<span class=\"item\"><span class=\"sw\" style=\"background:#%02x%02x%02x\"></span>", rgb[0],
                       rgb[1], rgb[2]);
        esc(h, names[c]);
        put(h, "</span>");
    }
    uint8_t v[3];
    wsss_voc_color(255, v);
    wsss_jw_printf(h, "<span class=\"item\"><span class=\"sw\" style=\"background:#%02x%02x%02x\"></span>ignored (255)"
                      "</span></div>\n", v[0], v[1], v[2]);
}

static const char *const k_kinds[] = {"image", "cam", "pseudo", "pred", "gt"};
static const char *const k_kind_titles[] = {"image", "CAM overlay", "pseudo label", "prediction", "ground truth"};
#define N_KINDS 5

/* Splits "<id>_<kind>.<ext>" and returns the kind index, or -1. */
static int sample_kind(const char *file, char *id, size_t idn, const char **mime) {
    const char *dot = strrchr(file, '.');
    if (!dot) return -1;
    if (strcmp(dot, ".png") == 0) *mime = "image/png";
    else if (strcmp(dot, ".jpg") == 0 || strcmp(dot, ".jpeg") == 0) *mime = "image/jpeg";
    else return -1;
    for (int k = 0; k < N_KINDS; k++) {
        size_t kl = strlen(k_kinds[k]), stem = (size_t)(dot - file);
        if (stem > kl + 1 && file[stem - kl - 1] == '_' && strncmp(file + stem - kl, k_kinds[k], kl) == 0) {
            size_t il = stem - kl - 1;
            if (il >= idn) return -1;
            memcpy(id, file, il);
            id[il] = 0;
            return k;
        }
    }
    return -1;
}

typedef struct sample_row {
    char *id;
    char *file[N_KINDS];
    const char *mime[N_KINDS];
} sample_row;

static int cmp_row(const void *a, const void *b) { return strcmp(((const sample_row *)a)->id, ((const sample_row *)b)->id); }

static void inline_image(buf *h, run *r, const char *dir, const char *file, const char *mime, const char *alt,
                         int64_t max_bytes) {
    char *p = wsss_path_join(dir, file);
    uint8_t *data;
    size_t n;
    if (wsss_file_read_all(p, &data, &n) != WSSS_OK) {
        problem(r, "%s: %s", p, wsss_error_msg());
        put(h, "<span class=\"nr\">unreadable</span>");
    } else if ((int64_t)n > max_bytes) {
        wsss_jw_printf(h, "<span class=\"nr\">not inlined: %zu bytes</span>", n);
        free(data);
    } else if (!(strcmp(mime, "image/png") == 0 ? wsss_is_png(data, n) : wsss_is_jpeg(data, n))) {
        problem(r, "%s: not a %s file", p, mime);
        put(h, "<span class=\"nr\">unreadable</span>");
        free(data);
    } else {
        char *b64 = wsss_base64(data, n);
        wsss_jw_printf(h, "<img src=\"data:%s;base64,", mime);
        put(h, b64);
        put(h, "\" alt=\"");
        esc(h, alt);
        put(h, "\">");
        free(b64);
        free(data);
    }
    free(p);
}

static void section_samples(buf *h, run *r, char **names, int k, const wsss_report_opts *o) {
    put(h, "<h2>Samples</h2>\n");
    char *dir = wsss_run_path(r->dir, WSSS_RUN_SAMPLES);
    DIR *d = opendir(dir);
    sample_row *rows = NULL;
    int n = 0;
    if (d) {
        struct dirent *e;
        char id[256];
        const char *mime;
        while ((e = readdir(d))) {
            int kind = e->d_name[0] == '.' ? -1 : sample_kind(e->d_name, id, sizeof id, &mime);
            if (kind < 0) continue;
            int j = 0;
            while (j < n && strcmp(rows[j].id, id) != 0) j++;
            if (j == n) {
                rows = wsss_xrealloc(rows, sizeof(sample_row) * (size_t)(n + 1));
                memset(&rows[n], 0, sizeof(sample_row));
                rows[n++].id = wsss_xstrdup(id);
            }
            /* .png preferred when both exist */
            if (!rows[j].file[kind] || strcmp(mime, "image/png") == 0) {
                free(rows[j].file[kind]);
                rows[j].file[kind] = wsss_xstrdup(e->d_name);
                rows[j].mime[kind] = mime;
            }
        }
        closedir(d);
    }
    if (n == 0) {
        put(h, "<p><span class=\"nr\">not run: no samples</span></p>\n");
    } else {
        qsort(rows, (size_t)n, sizeof(sample_row), cmp_row);
        section_legend(h, names, k);
        put(h, "<table class=\"samples\"><thead><tr><th>id</th>");
        for (int c = 0; c < N_KINDS; c++) wsss_jw_printf(h, "<th>%s</th>", k_kind_titles[c]);
        put(h, "</tr></thead><tbody>\n");
        int shown = n < o->max_samples ? n : o->max_samples;
        for (int i = 0; i < shown; i++) {
            put(h, "<tr><td>");
            esc(h, rows[i].id);
            put(h, "</td>");
            for (int c = 0; c < N_KINDS; c++) {
                if (!rows[i].file[c]) {
                    put(h, "<td class=\"nr\">not run</td>");
                    continue;
                }
                put(h, "<td>");
                char alt[320];
                snprintf(alt, sizeof alt, "%s %s", rows[i].id, k_kind_titles[c]);
                inline_image(h, r, dir, rows[i].file[c], rows[i].mime[c], alt, o->max_image_bytes);
                put(h, "</td>");
            }
            put(h, "</tr>\n");
        }
        put(h, "</tbody></table>\n");
        if (shown < n) wsss_jw_printf(h, "<p class=\"meta\">%d of %d samples shown.</p>\n", shown, n);
    }
    for (int i = 0; i < n; i++) {
        free(rows[i].id);
        for (int c = 0; c < N_KINDS; c++) free(rows[i].file[c]);
    }
    free(rows);
    free(dir);
}

/* ---------------------------------------------------------------- entry point */

int wsss_report_write(const char *run_dir, const wsss_report_opts *opts, int *n_problems) {
    wsss_report_opts o;
    if (opts) o = *opts;
    else wsss_report_opts_default(&o);
    if (o.max_samples < 0) o.max_samples = 0;
    if (n_problems) *n_problems = 0;
    struct stat sb;
    if (stat(run_dir, &sb) != 0) return wsss_error_set("%s: cannot open the run directory (%s)", run_dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return wsss_error_set("%s: not a directory (expected a run directory)", run_dir);

    run r = {run_dir, NULL, 0, NULL, 0};
    load_run(&r);
    char **names;
    int k = class_names(&r, &names);

    buf h;
    wsss_jw_init(&h, 0);
    char title[512];
    if (o.title) snprintf(title, sizeof title, "%s", o.title);
    else snprintf(title, sizeof title, "wsss run %s", run_dir);
    put(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    esc(&h, title);
    put(&h, "</title>\n<style>");
    put(&h, k_css);
    put(&h, "</style>\n</head>\n<body>\n<h1>");
    esc(&h, title);
    put(&h, "</h1>\n<p class=\"meta\">run directory ");
    esc(&h, run_dir);
    time_t now = time(NULL);
    struct tm tmv;
    char ts[64];
    gmtime_r(&now, &tmv);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S UTC", &tmv);
    wsss_jw_printf(&h, ", generated %s</p>\n", ts);

    section_stages(&h, &r);
    section_classes(&h, &r, names, k);
    section_sweep(&h, &r);
    section_curves(&h, &r);
    section_confusion(&h, &r, names, k);
    section_samples(&h, &r, names, k, &o);
    if (r.n_problems) {
        put(&h, "<h2>Problems</h2>\n<ul class=\"problems\">\n");
        for (int i = 0; i < r.n_problems; i++) {
            put(&h, "<li>");
            esc(&h, r.problems[i]);
            put(&h, "</li>\n");
        }
        put(&h, "</ul>\n");
    }
    put(&h, "</body>\n</html>\n");

    char *out = o.out_path ? wsss_xstrdup(o.out_path) : wsss_run_path(run_dir, "report.html");
    int rc = wsss_file_write_atomic(out, h.buf, h.len);
    if (n_problems) *n_problems = r.n_problems;
    free(out);
    wsss_jw_free(&h);
    free_list(names, k);
    free_run(&r);
    return rc;
}
