/* `wsss report RUN_DIR`: the self-contained HTML report of a run (report.h documents what is read). */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/report.h"

int cmd_report(int argc, char **argv) {
    wsss_report_opts o;
    wsss_report_opts_default(&o);
    const char *html = NULL, *title = NULL;
    int max_samples = o.max_samples;
    const cli_opt opts[] = {
        {"html", CLI_STRING, &html, "FILE", "the HTML page to write (default RUN_DIR/report.html)", .flags = 0},
        {"title", CLI_STRING, &title, "TEXT", "page title (default \"wsss run RUN_DIR\")", .flags = 0},
        {"max-samples", CLI_INT, &max_samples, "N", "rows of the sample grid", .min = 0, .max = 100000},
    };
    const cli_spec spec = {"report", "RUN_DIR",
                           "Write one self-contained HTML page about a run: per-stage mIoU, per-class IoU, CAM "
                           "threshold sweep, loss and lr curves, confusion matrices and sample images (from "
                           "RUN_DIR/logs, RUN_DIR/metrics and RUN_DIR/samples; missing pieces show as \"not run\").",
                           opts, (int)(sizeof opts / sizeof opts[0]), 1, 1, NULL};
    const char *run_dir;
    int rc = cli_parse_one_arg(&spec, argc, argv, &run_dir);
    if (rc) return cli_parse_exit(rc);
    o.out_path = html;
    o.title = title;
    o.max_samples = max_samples;
    int problems = 0;
    if (wsss_report_write(run_dir, &o, &problems) != WSSS_OK) return cli_fail(spec.command, CLI_EXIT_FAILURE);
    if (problems)
        cli_error(spec.command, "%d unreadable piece%s of the run listed under \"Problems\" in the page", problems,
                  problems == 1 ? "" : "s");
    printf("wrote %s%s\n", html ? html : run_dir, html ? "" : "/report.html");
    return CLI_EXIT_OK;
}
