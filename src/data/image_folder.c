/* ImageFolder datasets (image_folder.h): sorted directory listings, class-name normalisation and
 * matching, and the wsss_dataset adapter the loader reads. */
#include "wsss/image_folder.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wsss/error.h"
#include "wsss/fs.h"

void wsss_image_folder_opts_default(wsss_image_folder_opts *o) { memset(o, 0, sizeof *o); }

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The visible entries of dir (not "." / "..", nothing starting with '.'), sorted by strcmp. */
static int list_dir(const char *dir, char ***names, int64_t *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return wsss_error_set("%s: cannot read the folder: %s", dir, strerror(errno));
    int64_t cap = 64;
    char **v = wsss_xmalloc(sizeof(char *) * (size_t)cap);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (*n == cap) {
            cap *= 2;
            v = wsss_xrealloc(v, sizeof(char *) * (size_t)cap);
        }
        v[(*n)++] = wsss_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(v, (size_t)*n, sizeof(char *), cmp_str);
    *names = v;
    return WSSS_OK;
}

static void free_names(char **names, int64_t n) {
    for (int64_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static int has_image_extension(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && dot != name &&
           (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0);
}

/* A problem with one entry: fatal (returns WSSS_ERR) unless skip_bad, then a warning. */
static int entry_problem(const wsss_image_folder_opts *o, wsss_image_folder *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int entry_problem(const wsss_image_folder_opts *o, wsss_image_folder *f, const char *fmt, ...) {
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!o->skip_bad) return wsss_error_set("%s", msg);
    f->n_skipped++;
    if (o->warn) o->warn(o->warn_user, msg);
    else fprintf(stderr, "wsss: warning: %s (skipped)\n", msg);
    return WSSS_OK;
}

typedef struct sample_list {
    char **paths, **ids;
    int *labels;
    int64_t n, cap;
} sample_list;

static void add_sample(sample_list *s, char *path, char *id, int label) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->paths = wsss_xrealloc(s->paths, sizeof(char *) * (size_t)s->cap);
        s->ids = wsss_xrealloc(s->ids, sizeof(char *) * (size_t)s->cap);
        s->labels = wsss_xrealloc(s->labels, sizeof(int) * (size_t)s->cap);
    }
    s->paths[s->n] = path;
    s->ids[s->n] = id;
    s->labels[s->n++] = label;
}

/* The images of class folder k (files in name order). */
static int read_class(const wsss_image_folder_opts *o, wsss_image_folder *f, int k, sample_list *s) {
    const char *cls = f->class_names[k];
    char *cdir = wsss_path_join(f->dir, cls);
    char **names;
    int64_t n;
    int rc = list_dir(cdir, &names, &n);
    int64_t before = s->n, skipped = f->n_skipped;
    for (int64_t i = 0; rc == WSSS_OK && i < n; i++) {
        char *path = wsss_path_join(cdir, names[i]);
        if (wsss_path_is_dir(path))
            rc = entry_problem(o, f, "%s: a folder inside class folder %s (images must be directly in it)", path, cdir);
        else if (!has_image_extension(names[i]))
            rc = entry_problem(o, f, "%s: not an image file name (expected .jpg, .jpeg or .png, any case)", path);
        else {
            add_sample(s, path, wsss_path_join(cls, names[i]), k);
            continue;
        }
        free(path);
    }
    if (rc == WSSS_OK && s->n == before)
        rc = wsss_error_set("%s: class folder without images (.jpg, .jpeg or .png%s)", cdir,
                            f->n_skipped > skipped ? "; its other entries were skipped" : "");
    f->class_count[k] = s->n - before;
    free_names(names, n);
    free(cdir);
    return rc;
}

static int read_classes(const wsss_image_folder_opts *o, wsss_image_folder *f) {
    char **names;
    int64_t n;
    if (list_dir(f->dir, &names, &n) != WSSS_OK) return WSSS_ERR;
    f->class_names = wsss_xcalloc((size_t)n + 1, sizeof(char *));
    int rc = WSSS_OK;
    for (int64_t i = 0; i < n && rc == WSSS_OK; i++) {
        char *path = wsss_path_join(f->dir, names[i]);
        if (wsss_path_is_dir(path)) {
            f->class_names[f->num_classes++] = names[i];
            names[i] = NULL;
        } else {
            rc = entry_problem(o, f, "%s: a file where class folders are expected (ImageFolder layout: %s/<class>/<image>)",
                               path, f->dir);
        }
        free(path);
    }
    free_names(names, n);
    if (rc == WSSS_OK && f->num_classes == 0)
        rc = wsss_error_set("%s: no class folders (expected %s/<class>/<image>, one folder per class)", f->dir, f->dir);
    return rc;
}

int wsss_image_folder_open(const char *root, const char *split, const wsss_image_folder_opts *opts,
                           wsss_image_folder **out) {
    *out = NULL;
    wsss_image_folder_opts defaults;
    wsss_image_folder_opts_default(&defaults);
    if (!opts) opts = &defaults;
    if (!root || !root[0]) return wsss_error_set("image folder: empty root path");
    if (!split || !split[0]) return wsss_error_set("image folder %s: empty split name", root);
    if (!wsss_path_is_dir(root)) return wsss_error_set("%s: dataset root not found (expected a directory)", root);
    wsss_image_folder *f = wsss_xcalloc(1, sizeof *f);
    f->dir = wsss_path_join(root, split);
    int rc = WSSS_OK;
    if (!wsss_path_is_dir(f->dir))
        rc = wsss_error_set("%s: split folder not found (ImageFolder layout: %s/<split>/<class>/<image>)", f->dir, root);
    if (rc == WSSS_OK) rc = read_classes(opts, f);
    sample_list s = {0};
    if (rc == WSSS_OK) {
        f->class_count = wsss_xcalloc((size_t)f->num_classes, sizeof(int64_t));
        for (int k = 0; k < f->num_classes && rc == WSSS_OK; k++) rc = read_class(opts, f, k, &s);
    }
    f->paths = s.paths;
    f->ids = s.ids;
    f->labels = s.labels;
    f->n = s.n;
    if (rc != WSSS_OK) {
        wsss_image_folder_free(f);
        return WSSS_ERR;
    }
    *out = f;
    return WSSS_OK;
}

void wsss_image_folder_free(wsss_image_folder *f) {
    if (!f) return;
    for (int64_t i = 0; i < f->n; i++) {
        free(f->paths[i]);
        free(f->ids[i]);
    }
    free(f->paths);
    free(f->ids);
    free(f->labels);
    if (f->class_names)
        for (int k = 0; k < f->num_classes; k++) free(f->class_names[k]);
    free(f->class_names);
    free(f->class_count);
    free(f->dir);
    free(f);
}

char *wsss_class_folder_name(const char *class_name) {
    size_t n = strlen(class_name);
    char *out = wsss_xmalloc(n + 1);
    size_t k = 0;
    int gap = 0; /* a run of other characters seen since the last letter or digit */
    for (size_t i = 0; i < n; i++) {
        char c = class_name[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (gap && k > 0) out[k++] = '-'; /* a leading run is trimmed */
            gap = 0;
            out[k++] = c;
        } else {
            gap = 1; /* a trailing run is never written */
        }
    }
    out[k] = 0;
    return out;
}

/* "a, b, c" of the foreground classes' folder forms, for messages. */
static void expected_names(char *const *class_names, int num_classes, char *buf, size_t size) {
    size_t k = 0;
    buf[0] = 0;
    for (int c = 1; c < num_classes && k + 1 < size; c++) {
        char *f = wsss_class_folder_name(class_names[c]);
        int w = snprintf(buf + k, size - k, "%s%s", c > 1 ? ", " : "", f);
        free(f);
        if (w < 0 || (size_t)w >= size - k) {
            snprintf(buf + (size > 5 ? size - 5 : 0), size > 5 ? 5 : size, "...");
            break;
        }
        k += (size_t)w;
    }
}

int wsss_image_folder_match_classes(const wsss_image_folder *f, char *const *class_names, int num_classes,
                                    const char *names_source, int *map) {
    char **forms = wsss_xcalloc((size_t)num_classes + 1, sizeof(char *));
    for (int c = 0; c < num_classes; c++) forms[c] = wsss_class_folder_name(class_names[c]);
    int rc = WSSS_OK;
    for (int k = 0; k < f->num_classes && rc == WSSS_OK; k++) {
        char *folder = wsss_class_folder_name(f->class_names[k]);
        map[k] = -1;
        for (int c = 1; c < num_classes && rc == WSSS_OK; c++) {
            if (!folder[0] || strcmp(folder, forms[c]) != 0) continue;
            if (map[k] > 0)
                rc = wsss_error_set("%s/%s: class folder matches both '%s' and '%s' of %s (their folder names are "
                                    "the same)",
                                    f->dir, f->class_names[k], class_names[map[k]], class_names[c], names_source);
            map[k] = c;
        }
        for (int j = 0; j < k && rc == WSSS_OK && map[k] > 0; j++)
            if (map[j] == map[k])
                rc = wsss_error_set("%s: class folders '%s' and '%s' both match class '%s' of %s", f->dir,
                                    f->class_names[j], f->class_names[k], class_names[map[k]], names_source);
        if (rc == WSSS_OK && map[k] < 0) {
            char expect[1024];
            expected_names(class_names, num_classes, expect, sizeof expect);
            if (folder[0] && strcmp(folder, forms[0]) == 0)
                rc = wsss_error_set("%s/%s: class folder matches the background class of %s (single-label images "
                                    "need an object class: %s)",
                                    f->dir, f->class_names[k], names_source, expect);
            else
                rc = wsss_error_set("%s/%s: class folder matches no class of %s (expected folder names: %s)", f->dir,
                                    f->class_names[k], names_source, expect);
        }
        free(folder);
    }
    for (int c = 0; c < num_classes; c++) free(forms[c]);
    free(forms);
    return rc;
}

int wsss_image_folder_to_dataset(const wsss_image_folder *f, const int *map, char *const *class_names,
                                 int num_classes, wsss_dataset **out) {
    const char **names = NULL;
    int nc = num_classes;
    if (!map) {
        nc = f->num_classes + 1;
        names = wsss_xmalloc(sizeof(char *) * (size_t)nc);
        names[0] = "background";
        for (int k = 0; k < f->num_classes; k++) names[k + 1] = f->class_names[k];
    }
    int *labels = wsss_xmalloc(sizeof(int) * ((size_t)f->n + 1));
    for (int64_t i = 0; i < f->n; i++) {
        int c = map ? map[f->labels[i]] : f->labels[i] + 1;
        WSSS_ASSERT(c >= 1 && c < nc, "class map entry out of range (use wsss_image_folder_match_classes)");
        labels[i] = c;
    }
    int rc = wsss_dataset_from_list(f->dir, nc, map ? (const char *const *)class_names : names, f->n,
                                    (const char *const *)f->ids, (const char *const *)f->paths, labels, out);
    free(labels);
    free(names);
    return rc;
}
