/* A dataset with extra labelled folders appended (dataset_extra.h). */
#include "wsss/dataset_extra.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/text_internal.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/image_folder.h"

/* the merged list, grown sample by sample */
typedef struct sample_list {
    int num_classes;
    int64_t n, cap;
    char **ids, **paths;
    uint8_t *labels; /* [n * num_classes] */
} sample_list;

static uint8_t *list_add(sample_list *l, const char *prefix, const char *id, const char *path) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->ids = wsss_xrealloc(l->ids, sizeof(char *) * (size_t)l->cap);
        l->paths = wsss_xrealloc(l->paths, sizeof(char *) * (size_t)l->cap);
        l->labels = wsss_xrealloc(l->labels, (size_t)l->cap * (size_t)l->num_classes);
    }
    const size_t k = strlen(prefix) + strlen(id) + 1;
    l->ids[l->n] = wsss_xmalloc(k);
    snprintf(l->ids[l->n], k, "%s%s", prefix, id);
    l->paths[l->n] = wsss_xstrdup(path);
    uint8_t *row = l->labels + l->n * l->num_classes;
    memset(row, 0, (size_t)l->num_classes);
    l->n++;
    return row;
}

static void list_free(sample_list *l) {
    for (int64_t i = 0; i < l->n; i++) {
        free(l->ids[i]);
        free(l->paths[i]);
    }
    free(l->ids);
    free(l->paths);
    free(l->labels);
}

/* ---- class names: the map file, then the dataset's own names, compared as folder names */

typedef struct class_map {
    int n;
    char **from; /* folder forms of the extra names */
    int *to;     /* base class index */
} class_map;

static void class_map_free(class_map *m) {
    for (int i = 0; i < m->n; i++) free(m->from[i]);
    free(m->from);
    free(m->to);
}

/* the base class whose folder form is that of name (0: none) */
static int base_class(const wsss_dataset *base, const char *name) {
    char *want = wsss_class_folder_name(name);
    int found = 0;
    for (int b = 1; b < base->num_classes && !found; b++) {
        char *have = wsss_class_folder_name(base->class_names[b]);
        if (want[0] && strcmp(want, have) == 0) found = b;
        free(have);
    }
    free(want);
    return found;
}

/* "EXTRA CLASS = DATASET CLASS" a line; blank lines and '#' comments skipped */
static int class_map_read(const char *path, const wsss_dataset *base, class_map *m) {
    memset(m, 0, sizeof *m);
    if (!path) return WSSS_OK;
    FILE *f = fopen(path, "r");
    if (!f) return wsss_error_set("--class-map %s: cannot read the file", path);
    char line[1024];
    int rc = WSSS_OK, no = 0;
    while (rc == WSSS_OK && fgets(line, sizeof line, f)) {
        no++;
        char *t = wsss_text_trim(line), *eq = strchr(t, '=');
        if (!*t || *t == '#') continue;
        int to = 0;
        if (eq) {
            *eq = 0;
            to = base_class(base, wsss_text_trim(eq + 1));
        }
        if (!eq || !*wsss_text_trim(t) || !to) {
            rc = wsss_error_set("%s:%d: expected 'extra class = class of %s' with one of the dataset's classes", path,
                                no, base->root);
            break;
        }
        m->from = wsss_xrealloc(m->from, sizeof(char *) * (size_t)(m->n + 1));
        m->to = wsss_xrealloc(m->to, sizeof(int) * (size_t)(m->n + 1));
        m->from[m->n] = wsss_class_folder_name(wsss_text_trim(t));
        m->to[m->n++] = to;
    }
    fclose(f);
    if (rc != WSSS_OK) class_map_free(m);
    return rc;
}

/* The base class of an extra folder's class `name`: the map's, else the same name. */
static int match_class(const wsss_dataset *base, const class_map *m, const char *dir, const char *name, int *out) {
    char *form = wsss_class_folder_name(name);
    *out = 0;
    for (int i = 0; i < m->n && !*out; i++)
        if (strcmp(m->from[i], form) == 0) *out = m->to[i];
    free(form);
    if (!*out) *out = base_class(base, name);
    if (*out) return WSSS_OK;
    char names[1024] = "";
    for (int b = 1; b < base->num_classes; b++) {
        size_t k = strlen(names);
        snprintf(names + k, sizeof names - k, "%s%s", b > 1 ? ", " : "", base->class_names[b]);
    }
    return wsss_error_set("%s: class '%s' is not a class of %s (expected one of: %s; or map it with --class-map)", dir,
                          name, base->root, names);
}

/* ---- the two folder kinds */

/* a VOC-format folder: its train split's multi-hot labels */
static int add_voc(sample_list *l, const wsss_dataset *base, const class_map *cm, const char *dir,
                   const char *prefix) {
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.masks = WSSS_MASKS_OPTIONAL;
    wsss_dataset *ex;
    if (wsss_dataset_open(dir, &o, &ex) != WSSS_OK) return WSSS_ERR;
    int rc = WSSS_OK;
    if (!ex->has_labels) rc = wsss_error_set("%s: extra data without image-level labels (cls_labels.txt or masks)", dir);
    int *map = wsss_xcalloc((size_t)ex->num_classes, sizeof(int));
    for (int c = 1; c < ex->num_classes && rc == WSSS_OK; c++) /* classes no image has need no match */
        if (ex->class_count[c] > 0) rc = match_class(base, cm, dir, ex->class_names[c], &map[c]);
    for (int64_t i = 0; i < ex->n && rc == WSSS_OK; i++) {
        uint8_t *row = list_add(l, prefix, ex->ids[i], ex->image_paths[i]);
        for (int c = 1; c < ex->num_classes; c++)
            if (wsss_dataset_labels(ex, i)[c]) row[map[c]] = 1;
    }
    free(map);
    wsss_dataset_free(ex);
    return rc;
}

/* an ImageFolder: one class (folder) per image */
static int add_image_folder(sample_list *l, const wsss_dataset *base, const class_map *cm, const char *dir,
                            const char *prefix) {
    wsss_image_folder *f;
    if (wsss_image_folder_open(dir, "train", NULL, &f) != WSSS_OK) return WSSS_ERR;
    int *map = wsss_xcalloc((size_t)f->num_classes, sizeof(int));
    int rc = WSSS_OK;
    for (int k = 0; k < f->num_classes && rc == WSSS_OK; k++)
        rc = match_class(base, cm, f->dir, f->class_names[k], &map[k]);
    for (int64_t i = 0; i < f->n && rc == WSSS_OK; i++)
        list_add(l, prefix, f->ids[i], f->paths[i])[map[f->labels[i]]] = 1;
    free(map);
    wsss_image_folder_free(f);
    return rc;
}

int wsss_dataset_with_extra(const wsss_dataset *base, const char *dirs, const char *class_map_path,
                            wsss_dataset **out) {
    *out = NULL;
    class_map cm;
    if (class_map_read(class_map_path, base, &cm) != WSSS_OK) return WSSS_ERR;
    WSSS_ASSERT(base->has_labels, "extra data extend a labelled dataset");
    sample_list l = {.num_classes = base->num_classes};
    for (int64_t i = 0; i < base->n; i++)
        memcpy(list_add(&l, "", base->ids[i], base->image_paths[i]), wsss_dataset_labels(base, i),
               (size_t)base->num_classes);
    char *copy = wsss_xstrdup(dirs), *rest = copy;
    int rc = WSSS_OK, k = 0;
    for (char *dir = strsep(&rest, ","); dir && rc == WSSS_OK; dir = strsep(&rest, ",")) {
        if (!*dir) continue;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "extra%d/", ++k);
        char *voc = wsss_path_join(dir, "JPEGImages");
        rc = wsss_path_is_dir(voc) ? add_voc(&l, base, &cm, dir, prefix)
                                     : add_image_folder(&l, base, &cm, dir, prefix);
        free(voc);
    }
    if (rc == WSSS_OK && k == 0) rc = wsss_error_set("--extra-data \"%s\": no folder given", dirs);
    if (rc == WSSS_OK)
        rc = wsss_dataset_from_labels(base->root, base->num_classes, (const char *const *)base->class_names, l.n,
                                      (const char *const *)l.ids, (const char *const *)l.paths, l.labels, out);
    free(copy);
    list_free(&l);
    class_map_free(&cm);
    return rc;
}
