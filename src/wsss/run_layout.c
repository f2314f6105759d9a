/* Run-directory paths and mkdir -p (see run_layout.h). */
#include "wsss/run_layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

int wsss_mkdirs(const char *path) {
    if (!path || !*path) return WSSS_OK;
    char *p = wsss_xstrdup(path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            wsss_error_set("%s: cannot create directory (%s)", p, strerror(e));
            free(p);
            return WSSS_ERR;
        }
        p[i] = c;
    }
    struct stat sb;
    int ok = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    free(p);
    if (!ok) return wsss_error_set("%s: exists and is not a directory", path);
    return WSSS_OK;
}

int wsss_mkdirs_parent(const char *file_path) {
    const char *slash = strrchr(file_path, '/');
    if (!slash || slash == file_path) return WSSS_OK;
    char *d = wsss_xmalloc((size_t)(slash - file_path) + 1);
    memcpy(d, file_path, (size_t)(slash - file_path));
    d[slash - file_path] = 0;
    int rc = wsss_mkdirs(d);
    free(d);
    return rc;
}
