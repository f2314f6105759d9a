/* Run-directory paths (see run_layout.h). */
#include "wsss/run_layout.h"

#include <stdio.h>
#include <string.h>

#include "wsss/error.h"

char *wsss_run_path(const char *run, const char *rel) {
    if (!run || !*run) return wsss_xstrdup(rel);
    size_t n = strlen(run) + strlen(rel) + 2;
    char *p = wsss_xmalloc(n);
    size_t rl = strlen(run);
    snprintf(p, n, "%s%s%s", run, run[rl - 1] == '/' ? "" : "/", rel);
    return p;
}

char *wsss_run_file(const char *dir, const char *name, const char *ext) {
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *p = wsss_xmalloc(n);
    size_t dl = strlen(dir);
    snprintf(p, n, "%s%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name, ext);
    return p;
}

char *wsss_run_log_path(const char *run, const char *stage) {
    char *d = wsss_run_path(run, WSSS_RUN_LOGS);
    char *p = wsss_run_file(d, stage, ".jsonl");
    free(d);
    return p;
}

char *wsss_run_metrics_path(const char *run, const char *stage) {
    char *d = wsss_run_path(run, WSSS_RUN_METRICS);
    char *p = wsss_run_file(d, stage, ".json");
    free(d);
    return p;
}
