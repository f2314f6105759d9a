/* `wsss report`: the page skeleton around the sections (see report.h). The page is built in one
 * string buffer and written atomically; every piece of the run directory is optional. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/report.h"
#include "wsss/report_internal.h"
#include "wsss/run_layout.h"

void wsss_report_opts_default(wsss_report_opts *o) {
    memset(o, 0, sizeof *o);
    o->max_samples = 24;
    o->max_image_bytes = 4 << 20;
}

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

int wsss_report_write(const char *run_dir, const wsss_report_opts *opts, int *n_problems) {
    wsss_report_opts o;
    if (opts) o = *opts;
    else wsss_report_opts_default(&o);
    if (o.max_samples < 0) o.max_samples = 0;
    if (n_problems) *n_problems = 0;
    struct stat sb;
    if (stat(run_dir, &sb) != 0) return wsss_error_set("%s: cannot open the run directory (%s)", run_dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return wsss_error_set("%s: not a directory (expected a run directory)", run_dir);

    report_run r = {run_dir, NULL, 0, NULL, 0};
    wsss_report_load_run(&r);
    char **names;
    int k = wsss_report_class_names(&r, &names);

    wsss_jw h;
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

    wsss_report_section_stages(&h, &r);
    wsss_report_section_classes(&h, &r, names, k);
    wsss_report_section_sweep(&h, &r);
    wsss_report_section_curves(&h, &r);
    wsss_report_section_confusion(&h, &r, names, k);
    wsss_report_section_samples(&h, &r, names, k, &o);
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
    wsss_report_free_list(names, k);
    wsss_report_free_run(&r);
    return rc;
}

