/* What the report reads from a run directory: stage logs and metrics files (see report.h). */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/report_internal.h"
#include "wsss/run_layout.h"

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

void wsss_report_free_list(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

void wsss_report_problem(report_run *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *m = wsss_xvasprintf(fmt, ap);
    va_end(ap);
    r->problems = wsss_xrealloc(r->problems, sizeof(char *) * (size_t)(r->n_problems + 1));
    r->problems[r->n_problems++] = m;
}

static const char *const k_stage_order[] = {"train-cls", "cam", "affinity", "pseudo", "train-seg", "eval-seg"};
#define N_CANON ((int)(sizeof k_stage_order / sizeof k_stage_order[0]))

static report_stage *stage_get(report_run *r, const char *name) {
    for (int i = 0; i < r->n_stages; i++)
        if (strcmp(r->stages[i].name, name) == 0) return &r->stages[i];
    r->stages = wsss_xrealloc(r->stages, sizeof(report_stage) * (size_t)(r->n_stages + 1));
    report_stage *s = &r->stages[r->n_stages++];
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
    const report_stage *x = a, *y = b;
    int rx = stage_rank(x->name), ry = stage_rank(y->name);
    return rx != ry ? rx - ry : strcmp(x->name, y->name);
}

void wsss_report_load_run(report_run *r) {
    for (int i = 0; i < N_CANON; i++) stage_get(r, k_stage_order[i]);
    char *logs = wsss_run_path(r->dir, WSSS_RUN_LOGS), *mets = wsss_run_path(r->dir, WSSS_RUN_METRICS);
    char **names;
    int n = list_dir(logs, ".jsonl", &names);
    for (int i = 0; i < n; i++) {
        report_stage *s = stage_get(r, names[i]);
        char *p = wsss_run_file(logs, names[i], ".jsonl");
        if (wsss_runlog_read(p, &s->log) == WSSS_OK) {
            s->has_log = 1;
            if (s->log.n_bad_lines) wsss_report_problem(r, "%s: %lld line(s) are not JSON objects and were skipped", p, (long long)s->log.n_bad_lines);
        } else {
            wsss_report_problem(r, "%s: %s", p, wsss_error_msg());
            s->unreadable = 1;
        }
        free(p);
    }
    wsss_report_free_list(names, n);
    n = list_dir(mets, ".json", &names);
    for (int i = 0; i < n; i++) {
        report_stage *s = stage_get(r, names[i]);
        char *p = wsss_run_file(mets, names[i], ".json");
        uint8_t *text;
        size_t len;
        if (wsss_file_read_all(p, &text, &len) == WSSS_OK) {
            s->metrics = wsss_json_parse_limited((const char *)text, len, 4u << 20);
            if (!s->metrics) {
                wsss_report_problem(r, "%s: %s", p, wsss_error_msg());
                s->unreadable = 1;
            } else if (s->metrics->type != WSSS_JSON_OBJECT) {
                wsss_report_problem(r, "%s: expected a JSON object", p);
                s->unreadable = 1;
                wsss_json_free(s->metrics);
                s->metrics = NULL;
            }
            free(text);
        } else {
            wsss_report_problem(r, "%s: %s", p, wsss_error_msg());
            s->unreadable = 1;
        }
        free(p);
    }
    wsss_report_free_list(names, n);
    free(logs);
    free(mets);
    qsort(r->stages, (size_t)r->n_stages, sizeof(report_stage), cmp_stage);
}

void wsss_report_free_run(report_run *r) {
    for (int i = 0; i < r->n_stages; i++) {
        free(r->stages[i].name);
        wsss_runlog_data_free(&r->stages[i].log);
        wsss_json_free(r->stages[i].metrics);
    }
    free(r->stages);
    for (int i = 0; i < r->n_problems; i++) free(r->problems[i]);
    free(r->problems);
}
