/* Shared by the report's files (report.c page skeleton, report_run.c what the run directory holds,
 * report_sections.c tables and curves, report_svg.c line plots, report_samples.c the sample grid);
 * not a public header. The page is built in a wsss_jw used as a plain string builder. */
#ifndef WSSS_WSSS_REPORT_INTERNAL_H
#define WSSS_WSSS_REPORT_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "wsss/json.h"
#include "wsss/report.h"
#include "wsss/runlog.h"

/* ---- HTML text ---- */

static inline void put(wsss_jw *h, const char *s) { wsss_jw_append(h, s, strlen(s)); }

static inline void esc(wsss_jw *h, const char *s) {
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

static inline void pct_cell(wsss_jw *h, double v) {
    if (isnan(v)) put(h, "<td class=\"na\">&ndash;</td>");
    else wsss_jw_printf(h, "<td class=\"num\">%.1f</td>", 100.0 * v);
}

/* A cell with a horizontal bar proportional to v in [0,1]. */
static inline void bar_cell(wsss_jw *h, double v) {
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

/* ---- the run directory's contents (report_run.c) ---- */

typedef struct report_stage {
    char *name;
    int has_log, unreadable;
    wsss_runlog_data log;
    wsss_json *metrics;
} report_stage;

typedef struct report_run {
    const char *dir;
    report_stage *stages; /* the pipeline's stages in order, then the others found, by name */
    int n_stages;
    char **problems;
    int n_problems;
} report_run;

/* Stages from RUN/logs and RUN/metrics; unreadable pieces become problems. */
void wsss_report_load_run(report_run *r);
void wsss_report_free_run(report_run *r);
/* A problem listed on the page (printf-style). */
void wsss_report_problem(report_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wsss_report_free_list(char **v, int n);

/* ---- sections (report_sections.c, report_samples.c) ---- */

/* Class names: from the first metrics file that has a "classes" array (index order); returns k. */
int wsss_report_class_names(report_run *r, char ***names);
void wsss_report_section_stages(wsss_jw *h, report_run *r);
void wsss_report_section_classes(wsss_jw *h, report_run *r, char **names, int k);
void wsss_report_section_sweep(wsss_jw *h, report_run *r);
void wsss_report_section_curves(wsss_jw *h, report_run *r);
void wsss_report_section_confusion(wsss_jw *h, report_run *r, char **names, int k);
void wsss_report_section_samples(wsss_jw *h, report_run *r, char **names, int k, const wsss_report_opts *o);

/* ---- SVG line plots (report_svg.c) ---- */

typedef struct report_series {
    const char *name;
    double *x, *y;
    int64_t n;
} report_series;

/* Line plot with axes, ticks, labels and a legend; marker_x (finite) draws a vertical guide. The
 * series' points are decimated in place (at most 1000 per series). */
void wsss_report_svg_plot(wsss_jw *h, const char *title, const char *xlabel, const char *ylabel, report_series *ss,
                          int ns, double marker_x);

#endif
