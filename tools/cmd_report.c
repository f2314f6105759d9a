/* `wsss report RUN_DIR`: the self-contained HTML report of a run (report.h documents what is read). */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/report.h"

int cmd_report(int argc, char **argv) {
    wsss_report_opts o;
    wsss_report_opts_default(&o);
    const char *out = NULL, *title = NULL;
    int max_samples = o.max_samples;
    const cli_opt opts[] = {
        {"out", CLI_STRING, &out, "FILE", "output HTML file (default RUN_DIR/report.html)", 0},
        {"title", CLI_STRING, &title, "TEXT", "page title (default \"wsss run RUN_DIR\")", 0},
        {"max-samples", CLI_INT, &max_samples, "N", "rows of the sample grid", 0},
    };
    const cli_spec spec = {"report", "RUN_DIR",
                           "Write one self-contained HTML page about a run: per-stage mIoU, per-class IoU, CAM "
                           "threshold sweep, loss and lr curves, confusion matrices and sample images (from "
                           "RUN_DIR/logs, RUN_DIR/metrics and RUN_DIR/samples; missing pieces show as \"not run\").",
                           opts, (int)(sizeof opts / sizeof opts[0]), 1, 1};
    char **pos;
    int np;
    int rc = cli_parse(&spec, argc, argv, &pos, &np);
    if (rc) return rc > 0 ? 0 : 2;
    const char *run_dir = pos[0];
    free(pos);
    if (max_samples < 0) {
        fprintf(stderr, "wsss report: --max-samples must not be negative\n");
        return 2;
    }
    o.out_path = out;
    o.title = title;
    o.max_samples = max_samples;
    int problems = 0;
    if (wsss_report_write(run_dir, &o, &problems) != WSSS_OK) {
        fprintf(stderr, "wsss report: %s\n", wsss_error_msg());
        return 1;
    }
    if (problems)
        fprintf(stderr, "wsss report: %d unreadable piece%s of the run listed under \"Problems\" in the page\n",
                problems, problems == 1 ? "" : "s");
    printf("wrote %s%s\n", out ? out : run_dir, out ? "" : "/report.html");
    return 0;
}
