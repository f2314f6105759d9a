/* The report's tables and curves: stages, per-class IoU, CAM threshold sweep, training curves,
 * confusion matrices. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/image.h"
#include "wsss/report_internal.h"

static double jnum(const wsss_json *o, const char *key) {
    double v;
    return wsss_json_as_double(wsss_json_get(o, key), &v) == WSSS_OK ? v : NAN;
}

static const char *metrics_kind(const wsss_json *m) { return wsss_json_get_string(m, "kind", "segmentation"); }

void wsss_report_section_stages(wsss_jw *h, report_run *r) {
    put(h, "<h2>Stages</h2>\n<table class=\"stages\"><thead><tr><th>stage</th><th>status</th><th>log records</th>"
           "<th>last step</th><th>last loss</th><th>last lr</th><th>time (s)</th><th>images/s</th><th>metrics</th>"
           "<th>split</th><th>images</th><th>mIoU (%)</th><th>threshold</th><th>pixel acc (%)</th>"
           "<th>ignored (%)</th></tr></thead><tbody>\n");
    for (int i = 0; i < r->n_stages; i++) {
        report_stage *s = &r->stages[i];
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

int wsss_report_class_names(report_run *r, char ***names) {
    *names = NULL;
    int k = 0;
    for (int i = 0; i < r->n_stages; i++) {
        const wsss_json *cl = wsss_json_get(r->stages[i].metrics, "classes");
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
            wsss_report_free_list(*names, k);
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

void wsss_report_section_classes(wsss_jw *h, report_run *r, char **names, int k) {
    put(h, "<h2>Per-class IoU (%)</h2>\n");
    int nm = 0;
    for (int i = 0; i < r->n_stages; i++) nm += r->stages[i].metrics != NULL;
    if (!nm || !k) {
        put(h, "<p><span class=\"nr\">not run: no metrics yet</span></p>\n");
        return;
    }
    put(h, "<table class=\"classes\"><thead><tr><th>#</th><th>class</th>");
    for (int i = 0; i < r->n_stages; i++)
        if (r->stages[i].metrics) {
            put(h, "<th>");
            esc(h, r->stages[i].name);
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
        for (int i = 0; i < r->n_stages; i++)
            if (r->stages[i].metrics) bar_cell(h, class_iou(r->stages[i].metrics, c));
        put(h, "</tr>\n");
    }
    put(h, "<tr class=\"total\"><td></td><td>mIoU</td>");
    for (int i = 0; i < r->n_stages; i++)
        if (r->stages[i].metrics) bar_cell(h, jnum(r->stages[i].metrics, "miou"));
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

void wsss_report_section_sweep(wsss_jw *h, report_run *r) {
    put(h, "<h2>CAM threshold sweep</h2>\n");
    int any = 0;
    for (int i = 0; i < r->n_stages; i++) {
        const wsss_json *m = r->stages[i].metrics;
        const wsss_json *ta = wsss_json_get(m, "thresholds"), *ma = wsss_json_get(m, "miou_per_threshold");
        int n = wsss_json_len(ta);
        if (!m || n == 0 || wsss_json_len(ma) != n) continue;
        any = 1;
        report_series s = {"mIoU (%)", wsss_xmalloc(sizeof(double) * (size_t)n), wsss_xmalloc(sizeof(double) * (size_t)n), n};
        json_doubles(ta, s.x, n);
        json_doubles(ma, s.y, n);
        for (int j = 0; j < n; j++) s.y[j] *= 100;
        char title[160];
        double bt = jnum(m, "best_threshold");
        snprintf(title, sizeof title, "%s: best threshold %.2f, mIoU %.1f%%", r->stages[i].name, bt, 100 * jnum(m, "miou"));
        wsss_report_svg_plot(h, title, "background threshold", "mIoU (%)", &s, 1, bt);
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

void wsss_report_section_curves(wsss_jw *h, report_run *r) {
    put(h, "<h2>Training curves</h2>\n");
    int any = 0;
    for (int i = 0; i < r->n_stages; i++) {
        const wsss_runlog_data *d = &r->stages[i].log;
        if (!r->stages[i].has_log || d->n_records == 0) continue;
        int fstep = wsss_runlog_field(d, "step"), flr = wsss_runlog_field(d, "lr");
        int nloss = 0;
        for (int f = 0; f < d->n_fields; f++) nloss += starts_with(d->fields[f], "loss");
        if (!nloss && flr < 0) continue;
        any = 1;
        put(h, "<h3>");
        esc(h, r->stages[i].name);
        put(h, "</h3>\n<div>");
        int64_t n = d->n_records;
        report_series *ss = wsss_xcalloc((size_t)nloss + 1, sizeof(report_series));
        int k = 0;
        for (int f = 0; f < d->n_fields; f++) {
            int is_loss = starts_with(d->fields[f], "loss");
            if (!is_loss && f != flr) continue;
            report_series *s = is_loss ? &ss[k++] : &ss[nloss];
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
            snprintf(title, sizeof title, "%s: loss", r->stages[i].name);
            wsss_report_svg_plot(h, title, xl, "loss", ss, nloss, NAN);
        }
        if (flr >= 0) {
            snprintf(title, sizeof title, "%s: learning rate", r->stages[i].name);
            wsss_report_svg_plot(h, title, xl, "lr", &ss[nloss], 1, NAN);
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

void wsss_report_section_confusion(wsss_jw *h, report_run *r, char **names, int k) {
    int any = 0;
    for (int i = 0; i < r->n_stages; i++) {
        const wsss_json *conf = wsss_json_get(r->stages[i].metrics, "confusion");
        int rows = wsss_json_len(conf);
        if (rows == 0) continue;
        if (!any) put(h, "<h2>Confusion matrices</h2>\n<p class=\"meta\">% of each ground-truth row; last column: "
                         "pixels labelled 255 (ignored), counted as wrong.</p>\n");
        any = 1;
        put(h, "<details><summary>");
        esc(h, r->stages[i].name);
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
