/* `wsss eval-masks`: mIoU of a folder of predicted masks against a folder of ground-truth masks
 * (refinement.md §d.1; predictions of 255 count in the "ignored" column, §d.3). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/metrics.h"
#include "wsss/progress.h"
#include "wsss/run_layout.h"

typedef struct strlist {
    char **v;
    int n, cap;
} strlist;

static void sl_add(strlist *l, const char *s, size_t n) {
    if (l->n == l->cap) l->v = wsss_xrealloc(l->v, sizeof(char *) * (size_t)(l->cap = l->cap ? 2 * l->cap : 64));
    char *c = wsss_xmalloc(n + 1);
    memcpy(c, s, n);
    c[n] = 0;
    l->v[l->n++] = c;
}

static void sl_free(strlist *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* Lines of a text file; first_token: keep only the first whitespace-separated token and skip blank
 * and '#' lines (list files); else keep each line with trailing whitespace removed (class names). */
static int read_lines(const char *path, int first_token, strlist *out) {
    uint8_t *buf;
    size_t n;
    if (wsss_file_read_all(path, &buf, &n) != WSSS_OK) return WSSS_ERR;
    const char *s = (const char *)buf, *end = s + n;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e) e = end;
        const char *a = s, *b = e;
        if (first_token) {
            while (a < b && (*a == ' ' || *a == '\t' || *a == '\r')) a++;
            const char *t = a;
            while (t < b && *t != ' ' && *t != '\t' && *t != '\r') t++;
            if (t > a && *a != '#') sl_add(out, a, (size_t)(t - a));
        } else {
            while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r')) b--;
            sl_add(out, a, (size_t)(b - a));
        }
        s = e + 1;
    }
    if (!first_token) /* trailing blank lines are not classes */
        while (out->n && out->v[out->n - 1][0] == 0) free(out->v[--out->n]);
    free(buf);
    return WSSS_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_pngs(const char *dir, strlist *out) {
    DIR *d = opendir(dir);
    if (!d) return wsss_error_set("%s: cannot open the folder", dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] != '.' && l > 4 && strcmp(e->d_name + l - 4, ".png") == 0) sl_add(out, e->d_name, l - 4);
    }
    closedir(d);
    if (out->n) qsort(out->v, (size_t)out->n, sizeof(char *), cmp_str);
    return WSSS_OK;
}

int cmd_eval_masks(int argc, char **argv) {
    const char *gt = NULL, *pred = NULL, *list = NULL, *classes = NULL, *json = NULL, *stage = "eval", *split = NULL;
    int num_classes = 0, brief = 0, quiet = 0;
    const cli_opt opts[] = {
        {"gt", CLI_STRING, &gt, "DIR", "ground-truth masks <id>.png (palette indices or grey values, 255 = ignore)", .flags = CLI_REQUIRED},
        {"pred", CLI_STRING, &pred, "DIR", "predicted masks <id>.png (0..K-1; 255 = ignored, counted as wrong)", .flags = CLI_REQUIRED},
        {"list", CLI_STRING, &list, "FILE", "ids to evaluate, one a line (default: every .png in --gt)", .flags = 0},
        {"num-classes", CLI_INT, &num_classes, "K", "classes incl. background (0 = from the class names, else 21)",
         .min = 0, .max = 255},
        {"classes", CLI_STRING, &classes, "FILE", "class names, one a line (default: GT_DIR/../classes.txt if it exists)", .flags = 0},
        {"json", CLI_STRING, &json, "FILE", "write the metrics JSON (metrics.h format; e.g. RUN/metrics/<stage>.json)", .flags = 0},
        {"stage", CLI_STRING, &stage, "NAME", "stage name written into the JSON", .flags = 0},
        {"split", CLI_STRING, &split, "NAME", "split name written into the JSON (default: the list file's name)", .flags = 0},
        CLI_OPT_BRIEF(&brief),
        CLI_OPT_QUIET(&quiet),
    };
    const cli_spec spec = {"eval-masks", NULL,
                           "mIoU of predicted masks against ground-truth masks from one dataset-level confusion matrix "
                           "(GT 255 skipped; nan-mean over classes present in GT or prediction).",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    const char *cmd = spec.command;
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);

    /* class names */
    strlist names = {0};
    char *auto_classes = NULL;
    if (!classes) {
        size_t n = strlen(gt) + 32;
        auto_classes = wsss_xmalloc(n);
        snprintf(auto_classes, n, "%s/../classes.txt", gt);
        if (wsss_path_is_file(auto_classes)) classes = auto_classes;
    }
    if (classes && read_lines(classes, 0, &names) != WSSS_OK) {
        free(auto_classes);
        return cli_fail(cmd, CLI_EXIT_FAILURE);
    }
    if (classes && (names.n < 1 || names.n > 255)) {
        cli_error(cmd, "%s: %d class names (expected 1..255, background first)", classes, names.n);
        sl_free(&names);
        free(auto_classes);
        return CLI_EXIT_FAILURE;
    }
    if (num_classes == 0) num_classes = classes ? names.n : 21;
    if (classes && names.n != num_classes) {
        cli_error(cmd, "--num-classes %d: %s has %d class names", num_classes, classes, names.n);
        sl_free(&names);
        free(auto_classes);
        return CLI_EXIT_USAGE;
    }
    const char *const *cn = classes ? (const char *const *)names.v : num_classes == 21 ? wsss_voc_class_names : NULL;

    /* ids */
    strlist ids = {0};
    if (list ? read_lines(list, 1, &ids) : list_pngs(gt, &ids)) {
        sl_free(&names);
        free(auto_classes);
        return cli_fail(cmd, CLI_EXIT_FAILURE);
    }
    if (ids.n == 0) {
        cli_error(cmd, "no images to evaluate (%s is empty)", list ? list : gt);
        sl_free(&names);
        sl_free(&ids);
        free(auto_classes);
        return CLI_EXIT_FAILURE;
    }

    wsss_confusion total;
    wsss_confusion_init(&total, num_classes);
    char **err = wsss_xcalloc((size_t)ids.n, sizeof(char *));
    wsss_progress prog;
    if (!quiet) wsss_progress_start(&prog, "eval-masks", ids.n);
#pragma omp parallel
    {
        wsss_confusion mine;
        wsss_confusion_init(&mine, num_classes);
#pragma omp for schedule(dynamic, 4)
        for (int i = 0; i < ids.n; i++) {
            char *g = wsss_run_file(gt, ids.v[i], ".png"), *p = wsss_run_file(pred, ids.v[i], ".png");
            if (!wsss_path_is_file(p)) {
                size_t n = strlen(p) + 64;
                err[i] = wsss_xmalloc(n);
                snprintf(err[i], n, "%s: missing prediction", p);
            } else if (wsss_confusion_add_files(&mine, g, p) != WSSS_OK) {
                err[i] = wsss_xstrdup(wsss_error_msg());
            }
            free(g);
            free(p);
            if (!quiet) wsss_progress_add(&prog, 1);
        }
#pragma omp critical(eval_masks_merge)
        wsss_confusion_merge(&total, &mine);
        wsss_confusion_free(&mine);
    }
    if (!quiet) wsss_progress_finish(&prog);
    int n_err = 0;
    for (int i = 0; i < ids.n; i++)
        if (err[i]) {
            if (n_err < 20) cli_error(cmd, "error: %s", err[i]);
            n_err++;
            free(err[i]);
        }
    free(err);
    rc = 0;
    if (n_err) {
        cli_error(cmd, "%d of %d images could not be evaluated; no score reported", n_err, ids.n);
        rc = CLI_EXIT_FAILURE;
    } else {
        wsss_seg_scores s;
        wsss_confusion_scores(&total, &s);
        if (brief) {
            printf("mIoU %.1f (%d images, %d classes with pixels)\n", 100 * s.miou, ids.n, s.n_valid_classes);
        } else {
            printf("images %d (ground truth %s, predictions %s)\n", ids.n, gt, pred);
            wsss_seg_scores_print(stdout, &s, cn);
            wsss_confusion_print(stdout, &total, cn);
            printf("mIoU %.1f\n", 100 * s.miou);
        }
        if (json) {
            char *sp = NULL;
            if (!split && list) { /* list file name without directory and extension */
                const char *b = strrchr(list, '/');
                sp = wsss_xstrdup(b ? b + 1 : list);
                char *dot = strrchr(sp, '.');
                if (dot && dot != sp) *dot = 0;
            }
            wsss_jw w;
            wsss_jw_init(&w, 2);
            wsss_metrics_json_segmentation(&w, &total, cn, stage, split ? split : sp);
            if (wsss_mkdirs_parent(json) != WSSS_OK || wsss_metrics_write_file(json, w.buf) != WSSS_OK)
                rc = cli_fail(cmd, CLI_EXIT_FAILURE);
            wsss_jw_free(&w);
            free(sp);
        }
    }
    wsss_confusion_free(&total);
    sl_free(&names);
    sl_free(&ids);
    free(auto_classes);
    return rc;
}
