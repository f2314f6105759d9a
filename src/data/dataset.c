/* VOC-format dataset: list file, file paths, image-level labels, per-class index, sample loading. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/dataset.h"

#include "data/dataset_internal.h"
#include "data/text_internal.h"
#include "wsss/error.h"
#include "wsss/fs.h"

const char *const wsss_voc_class_names[21] = {
    "background", "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",
    "car",        "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",
    "motorbike",  "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};

void wsss_dataset_opts_default(wsss_dataset_opts *o) {
    memset(o, 0, sizeof *o);
    o->split = "train";
    o->masks = WSSS_MASKS_AUTO;
}

/* ---- small file-system and string helpers ---- */

/* A text file split into lines (trailing \r removed). Lines point into one buffer. */
typedef struct text_lines {
    char *buf;
    char **line;
    int64_t n;
} text_lines;

static int read_lines(const char *path, text_lines *t) {
    memset(t, 0, sizeof t[0]);
    uint8_t *data;
    size_t n;
    if (wsss_file_read_all(path, &data, &n) != WSSS_OK) return WSSS_ERR;
    if (memchr(data, 0, n)) {
        free(data);
        return wsss_error_set("%s: contains NUL bytes (expected a text file)", path);
    }
    data[n] = 0; /* wsss_file_read_all leaves room for it */
    t->buf = (char *)data;
    int64_t cap = 16;
    t->line = wsss_xmalloc(sizeof(char *) * (size_t)cap);
    char *p = t->buf;
    while (*p) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        size_t len = strlen(p);
        if (len > 0 && p[len - 1] == '\r') p[len - 1] = 0;
        if (t->n == cap) {
            cap *= 2;
            t->line = wsss_xrealloc(t->line, sizeof(char *) * (size_t)cap);
        }
        t->line[t->n++] = p;
        if (!e) break;
        p = e + 1;
    }
    return WSSS_OK;
}

static void free_lines(text_lines *t) {
    free(t->buf);
    free(t->line);
    memset(t, 0, sizeof *t);
}

char *wsss_text_trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* ---- open ---- */

/* One entry of cls_labels.txt. */
typedef struct cls_entry {
    const char *id;
    int line;
    int n;
    int *classes;
    char *problem; /* non-NULL: this line is unusable, and why */
} cls_entry;

typedef struct open_ctx {
    const wsss_dataset_opts *o;
    wsss_dataset *ds;
    char *list_path, *cls_path;
    uint8_t *drop; /* [n] */
    text_lines list, cls_text;
    cls_entry *cls;
    int64_t n_cls;
    int coco;               /* a COCO folder or annotation file (coco_dataset.c) */
    char *default_mask_dir; /* COCO: the mask cache, or NULL */
} open_ctx;

/* A problem with sample i (or with the dataset when i < 0, which is always fatal). */
static int problem(open_ctx *c, int64_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int problem(open_ctx *c, int64_t i, const char *fmt, ...) {
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (i < 0 || !c->o->skip_bad) return wsss_error_set("%s", msg);
    if (!c->drop[i]) {
        c->drop[i] = 1;
        c->ds->n_skipped++;
    }
    if (c->o->warn) c->o->warn(c->o->warn_user, msg);
    else fprintf(stderr, "wsss: warning: %s\n", msg);
    return WSSS_OK;
}

static int read_classes(open_ctx *c) {
    wsss_dataset *ds = c->ds;
    char *path = wsss_path_join(ds->root, "classes.txt");
    if (!wsss_path_is_file(path)) {
        free(path);
        ds->num_classes = 21;
        ds->class_names = wsss_xcalloc(21, sizeof(char *));
        for (int k = 0; k < 21; k++) ds->class_names[k] = wsss_xstrdup(wsss_voc_class_names[k]);
        return WSSS_OK;
    }
    text_lines t;
    if (read_lines(path, &t) != WSSS_OK) {
        free(path);
        return WSSS_ERR;
    }
    int64_t n = t.n;
    while (n > 0 && wsss_text_trim(t.line[n - 1])[0] == 0) n--; /* trailing blank lines */
    int rc = WSSS_OK;
    if (n < 2)
        rc = wsss_error_set("%s: %lld class name%s; expected background plus at least one class, one a line", path,
                            (long long)n, n == 1 ? "" : "s");
    else if (n > WSSS_MAX_CLASSES)
        rc = wsss_error_set("%s: %lld classes; at most %d fit in 8-bit masks (255 means ignore)", path, (long long)n,
                            WSSS_MAX_CLASSES);
    for (int64_t k = 0; rc == WSSS_OK && k < n; k++)
        if (wsss_text_trim(t.line[k])[0] == 0) rc = wsss_error_set("%s:%lld: empty class name", path, (long long)k + 1);
    if (rc == WSSS_OK) {
        ds->num_classes = (int)n;
        ds->class_names = wsss_xcalloc((size_t)n, sizeof(char *));
        for (int64_t k = 0; k < n; k++) ds->class_names[k] = wsss_xstrdup(wsss_text_trim(t.line[k]));
    }
    free_lines(&t);
    free(path);
    return rc;
}

/* The id on a list line: its first token; "JPEGImages/x.jpg ..." style lines give "x". */
static char *line_id(char *line) {
    char *s = wsss_text_trim(line);
    char *e = s;
    while (*e && !isspace((unsigned char)*e)) e++;
    *e = 0;
    char *slash = strrchr(s, '/');
    if (slash) {
        s = slash + 1;
        char *dot = strrchr(s, '.');
        if (dot && dot != s) *dot = 0;
    }
    return s;
}

static int read_list(open_ctx *c) {
    wsss_dataset *ds = c->ds;
    const char *split = c->o->split ? c->o->split : "train";
    if (split[0] == 0) return wsss_error_set("dataset %s: empty split name", ds->root);
    char *rel = wsss_xasprintf("ImageSets/Segmentation/%s.txt", split);
    c->list_path = wsss_path_join(ds->root, rel);
    free(rel);
    if (!wsss_path_is_file(c->list_path) && (strchr(split, '/') || strstr(split, ".txt")) && wsss_path_is_file(split)) {
        free(c->list_path);
        c->list_path = wsss_xstrdup(split);
    }
    if (!wsss_path_is_file(c->list_path))
        return wsss_error_set("%s: split list not found (expected ImageSets/Segmentation/<split>.txt under %s)",
                              c->list_path, ds->root);
    if (read_lines(c->list_path, &c->list) != WSSS_OK) return WSSS_ERR;
    ds->ids = wsss_xcalloc((size_t)c->list.n + 1, sizeof(char *));
    for (int64_t k = 0; k < c->list.n; k++) {
        char *id = line_id(c->list.line[k]);
        if (id[0]) ds->ids[ds->n++] = wsss_xstrdup(id);
    }
    if (ds->n == 0) return wsss_error_set("%s: no ids (empty list file)", c->list_path);
    ds->list_path = wsss_xstrdup(c->list_path);
    return WSSS_OK;
}

/* VOC: JPEGImages/<id>.jpg (or .jpeg / .png). */
static int find_images(open_ctx *c) {
    wsss_dataset *ds = c->ds;
    char *img_dir = wsss_path_join(ds->root, "JPEGImages");
    if (!wsss_path_is_dir(img_dir)) {
        int rc = wsss_error_set("%s: image folder not found", img_dir);
        free(img_dir);
        return rc;
    }
    ds->image_paths = wsss_xcalloc((size_t)ds->n, sizeof(char *));
    static const char *const exts[] = {".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"};
    int rc = WSSS_OK;
    for (int64_t i = 0; i < ds->n && rc == WSSS_OK; i++) {
        const char *id = ds->ids[i];
        for (size_t k = 0; k < sizeof exts / sizeof exts[0] && !ds->image_paths[i]; k++) {
            char *p = wsss_xasprintf("%s/%s%s", img_dir, id, exts[k]);
            if (wsss_path_is_file(p)) ds->image_paths[i] = p;
            else free(p);
        }
        if (!ds->image_paths[i]) {
            ds->image_paths[i] = wsss_xasprintf("%s/%s.jpg", img_dir, id); /* the name reported and tried later */
            rc = problem(c, i, "%s: image of id '%s' (listed in %s) not found", ds->image_paths[i], id, c->list_path);
        }
    }
    free(img_dir);
    return rc;
}

/* The mask folder: --mask-dir, else the format's own (VOC: SegmentationClassAug, else
 * SegmentationClass; COCO: the mask cache), or NULL for none. */
static int mask_folder(open_ctx *c, char **out) {
    const wsss_dataset_opts *o = c->o;
    char *dir = NULL;
    *out = NULL;
    if (o->masks == WSSS_MASKS_NONE) return WSSS_OK;
    if (o->mask_dir) {
        dir = wsss_path_join(c->ds->root, o->mask_dir);
    } else if (c->coco) {
        dir = c->default_mask_dir ? wsss_xstrdup(c->default_mask_dir) : NULL;
    } else {
        dir = wsss_path_join(c->ds->root, "SegmentationClassAug");
        if (!wsss_path_is_dir(dir)) {
            free(dir);
            dir = wsss_path_join(c->ds->root, "SegmentationClass");
        }
    }
    if (dir && !wsss_path_is_dir(dir)) {
        if (o->masks == WSSS_MASKS_REQUIRED || o->mask_dir) {
            int rc = wsss_error_set("%s: mask folder not found", dir);
            free(dir);
            return rc;
        }
        free(dir);
        dir = NULL;
    }
    *out = dir;
    return WSSS_OK;
}

/* Mask and saliency paths of the samples not dropped yet. */
static int find_masks(open_ctx *c) {
    wsss_dataset *ds = c->ds;
    const wsss_dataset_opts *o = c->o;
    char *mask_dir, *sal_dir = NULL;
    if (mask_folder(c, &mask_dir) != WSSS_OK) return WSSS_ERR;
    if (o->saliency_dir) {
        sal_dir = wsss_path_join(ds->root, o->saliency_dir);
        if (!wsss_path_is_dir(sal_dir)) {
            int rc = wsss_error_set("%s: saliency folder not found", sal_dir);
            free(sal_dir);
            free(mask_dir);
            return rc;
        }
    }
    if (mask_dir) ds->mask_paths = wsss_xcalloc((size_t)ds->n, sizeof(char *));
    if (sal_dir) ds->saliency_paths = wsss_xcalloc((size_t)ds->n, sizeof(char *));
    int rc = WSSS_OK;
    for (int64_t i = 0; i < ds->n && rc == WSSS_OK; i++) {
        const char *id = ds->ids[i];
        if (c->drop[i]) continue;
        if (mask_dir) {
            char *p = wsss_xasprintf("%s/%s.png", mask_dir, id);
            if (wsss_path_is_file(p)) {
                ds->mask_paths[i] = p;
            } else {
                if (o->masks != WSSS_MASKS_OPTIONAL)
                    rc = problem(c, i, "%s: mask of id '%s' (listed in %s) not found", p, id, c->list_path);
                free(p);
            }
        }
        if (rc == WSSS_OK && sal_dir) {
            char *p = wsss_xasprintf("%s/%s.png", sal_dir, id);
            if (wsss_path_is_file(p)) {
                ds->saliency_paths[i] = p;
            } else {
                rc = problem(c, i, "%s: saliency map of id '%s' (listed in %s) not found", p, id, c->list_path);
                free(p);
            }
        }
    }
    free(mask_dir);
    free(sal_dir);
    return rc;
}

/* A COCO folder or annotation file (coco_dataset.c): its classes, samples, labels and problems;
 * then the images must exist, as a VOC folder's must. */
static int open_coco(open_ctx *c, const char *root) {
    wsss_dataset *ds = c->ds;
    wsss_dataset_source src;
    if (wsss_coco_source_open(root, c->o, &src) != WSSS_OK) return WSSS_ERR;
    ds->num_classes = src.num_classes;
    ds->class_names = src.class_names;
    ds->n = src.n;
    ds->ids = src.ids;
    ds->image_paths = src.image_paths;
    ds->labels = src.labels;
    ds->has_labels = 1;
    ds->label_source = WSSS_LABELS_FROM_ANNOTATIONS;
    ds->list_path = wsss_xstrdup(src.list_path);
    c->list_path = src.list_path;
    c->default_mask_dir = src.mask_dir;
    if (!ds->root) ds->root = src.root;
    else free(src.root);
    c->drop = wsss_xcalloc((size_t)ds->n + 1, 1);
    int rc = WSSS_OK;
    for (int64_t i = 0; i < ds->n && rc == WSSS_OK; i++) {
        if (src.problems[i]) rc = problem(c, i, "%s", src.problems[i]);
        else if (!wsss_path_is_file(ds->image_paths[i]))
            rc = problem(c, i, "%s: image of id '%s' (listed in %s) not found", ds->image_paths[i], ds->ids[i],
                         c->list_path);
    }
    for (int64_t i = 0; i < ds->n; i++) free(src.problems[i]);
    free(src.problems);
    return rc;
}

static int cmp_cls(const void *a, const void *b) {
    const cls_entry *x = a, *y = b;
    int r = strcmp(x->id, y->id);
    return r ? r : (x->line > y->line) - (x->line < y->line);
}

/* cls_labels.txt: "<id> <c> <c> ...". Bad lines are remembered, and reported only if their id is in
 * the split being opened. */
static int read_cls_labels(open_ctx *c) {
    wsss_dataset *ds = c->ds;
    if (read_lines(c->cls_path, &c->cls_text) != WSSS_OK) return WSSS_ERR;
    c->cls = wsss_xcalloc((size_t)c->cls_text.n + 1, sizeof(cls_entry));
    for (int64_t k = 0; k < c->cls_text.n; k++) {
        char *s = wsss_text_trim(c->cls_text.line[k]);
        if (!s[0]) continue;
        cls_entry *e = &c->cls[c->n_cls++];
        e->line = (int)k + 1;
        char *save = NULL;
        e->id = strtok_r(s, " \t,", &save);
        if (!e->id) { /* only separators on the line */
            c->n_cls--;
            continue;
        }
        e->classes = wsss_xmalloc(sizeof(int) * (size_t)(strlen(save ? save : "") / 2 + 2));
        for (char *tok; (tok = strtok_r(NULL, " \t,", &save)) != NULL;) {
            char *end;
            errno = 0;
            long v = strtol(tok, &end, 10);
            if (*end || errno || end == tok) {
                if (!e->problem)
                    e->problem = wsss_xasprintf("%s:%d: '%s' is not a class id (expected integers 1..%d)", c->cls_path,
                                          e->line, tok, ds->num_classes - 1);
                continue;
            }
            if (v < 1 || v >= ds->num_classes) {
                if (!e->problem)
                    e->problem = wsss_xasprintf("%s:%d: class id %ld out of range (expected 1..%d: foreground classes, "
                                          "background is 0 and never listed)",
                                          c->cls_path, e->line, v, ds->num_classes - 1);
                continue;
            }
            e->classes[e->n++] = (int)v;
        }
    }
    qsort(c->cls, (size_t)c->n_cls, sizeof(cls_entry), cmp_cls);
    for (int64_t k = 1; k < c->n_cls; k++)
        if (strcmp(c->cls[k].id, c->cls[k - 1].id) == 0 && !c->cls[k].problem)
            c->cls[k].problem = wsss_xasprintf("%s:%d: id '%s' listed again (first on line %d)", c->cls_path, c->cls[k].line,
                                         c->cls[k].id, c->cls[k - 1].line);
    return WSSS_OK;
}

static const cls_entry *find_cls(const open_ctx *c, const char *id) {
    int64_t lo = 0, hi = c->n_cls - 1, hit = -1;
    while (lo <= hi) { /* first entry with this id; duplicates follow it */
        int64_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->cls[mid].id, id);
        if (r < 0) lo = mid + 1;
        else {
            if (r == 0) hit = mid;
            hi = mid - 1;
        }
    }
    if (hit < 0) return NULL;
    /* a later duplicate carries the problem; report it */
    if (hit + 1 < c->n_cls && strcmp(c->cls[hit + 1].id, id) == 0) return &c->cls[hit + 1];
    return &c->cls[hit];
}

static int labels_from_file(open_ctx *c, uint8_t *need_mask_labels) {
    wsss_dataset *ds = c->ds;
    int rc = WSSS_OK;
    for (int64_t i = 0; i < ds->n && rc == WSSS_OK; i++) {
        if (c->drop[i]) continue;
        const cls_entry *e = find_cls(c, ds->ids[i]);
        if (!e) {
            if (ds->mask_paths && ds->mask_paths[i]) need_mask_labels[i] = 1; /* fall back to the mask */
            else rc = problem(c, i, "%s: no line for id '%s' (listed in %s), and no mask to derive labels from",
                              c->cls_path, ds->ids[i], c->list_path);
            continue;
        }
        if (e->problem) {
            rc = problem(c, i, "%s", e->problem);
            continue;
        }
        for (int k = 0; k < e->n; k++) ds->labels[i * ds->num_classes + e->classes[k]] = 1;
    }
    return rc;
}

/* Decode the masks that labels must come from (in parallel: this is most of the open time). */
static int labels_from_masks(open_ctx *c, const uint8_t *need) {
    wsss_dataset *ds = c->ds;
    int64_t n = ds->n;
    int nc = ds->num_classes;
    char **err = wsss_xcalloc((size_t)n, sizeof(char *));
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = 0; i < n; i++) {
        if (!need[i]) continue;
        wsss_image m;
        uint8_t present[WSSS_MAX_CLASSES + 1];
        if (wsss_image_read_mask(ds->mask_paths[i], &m) != WSSS_OK ||
            wsss_mask_classes(&m, nc, ds->mask_paths[i], present) != WSSS_OK) {
            err[i] = wsss_xstrdup(wsss_error_msg());
        } else {
            for (int k = 1; k < nc; k++) ds->labels[i * nc + k] = present[k];
        }
        wsss_image_free(&m);
    }
    int rc = WSSS_OK;
    for (int64_t i = 0; i < n; i++) {
        if (err[i] && rc == WSSS_OK) rc = problem(c, i, "%s", err[i]);
        free(err[i]);
    }
    free(err);
    return rc;
}

static int read_labels(open_ctx *c) {
    wsss_dataset *ds = c->ds;
    int64_t n = ds->n;
    ds->labels = wsss_xcalloc((size_t)n, (size_t)ds->num_classes);
    uint8_t *need = wsss_xcalloc((size_t)n, 1);
    c->cls_path = wsss_path_join(ds->root, "cls_labels.txt");
    int rc = WSSS_OK;
    ds->has_labels = 1;
    if (wsss_path_is_file(c->cls_path)) {
        ds->label_source = WSSS_LABELS_FROM_FILE;
        rc = read_cls_labels(c);
        if (rc == WSSS_OK) rc = labels_from_file(c, need);
    } else {
        ds->label_source = WSSS_LABELS_FROM_MASKS;
        for (int64_t i = 0; i < n; i++) {
            if (c->drop[i]) continue;
            if (ds->mask_paths && ds->mask_paths[i]) need[i] = 1;
            else ds->has_labels = 0; /* no labels anywhere for this sample (e.g. a test split) */
        }
    }
    if (rc == WSSS_OK) rc = labels_from_masks(c, need);
    free(need);
    return rc;
}

/* Drop the samples marked bad, keeping order. */
static void compact(open_ctx *c) {
    wsss_dataset *ds = c->ds;
    int nc = ds->num_classes;
    int64_t k = 0;
    for (int64_t i = 0; i < ds->n; i++) {
        if (c->drop[i]) {
            free(ds->ids[i]);
            free(ds->image_paths[i]);
            if (ds->mask_paths) free(ds->mask_paths[i]);
            if (ds->saliency_paths) free(ds->saliency_paths[i]);
            continue;
        }
        ds->ids[k] = ds->ids[i];
        ds->image_paths[k] = ds->image_paths[i];
        if (ds->mask_paths) ds->mask_paths[k] = ds->mask_paths[i];
        if (ds->saliency_paths) ds->saliency_paths[k] = ds->saliency_paths[i];
        memmove(ds->labels + k * nc, ds->labels + i * nc, (size_t)nc);
        k++;
    }
    ds->n = k;
}

static void build_class_index(wsss_dataset *ds) {
    int nc = ds->num_classes;
    ds->class_count = wsss_xcalloc((size_t)nc, sizeof(int64_t));
    ds->class_samples = wsss_xcalloc((size_t)nc, sizeof(int64_t *));
    for (int64_t i = 0; i < ds->n; i++)
        for (int k = 1; k < nc; k++) ds->class_count[k] += ds->labels[i * nc + k];
    for (int k = 0; k < nc; k++) {
        ds->class_samples[k] = wsss_xmalloc(sizeof(int64_t) * (size_t)(ds->class_count[k] + 1));
        int64_t m = 0;
        for (int64_t i = 0; i < ds->n && k > 0; i++)
            if (ds->labels[i * nc + k]) ds->class_samples[k][m++] = i;
    }
}

static int cmp_order(const void *a, const void *b, void *ids) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return strcmp(((char **)ids)[x], ((char **)ids)[y]);
}

/* The per-class sample lists and the id order wsss_dataset_find searches. */
static void index_samples(wsss_dataset *ds) {
    build_class_index(ds);
    ds->id_order = wsss_xmalloc(sizeof(int64_t) * (size_t)ds->n);
    for (int64_t i = 0; i < ds->n; i++) ds->id_order[i] = i;
    qsort_r(ds->id_order, (size_t)ds->n, sizeof(int64_t), cmp_order, ds->ids);
}

int wsss_dataset_open(const char *root, const wsss_dataset_opts *opts, wsss_dataset **out) {
    *out = NULL;
    wsss_dataset_opts defaults;
    wsss_dataset_opts_default(&defaults);
    if (!opts) opts = &defaults;
    const int coco = wsss_coco_detect(root, opts);
    if (!coco && (!root || !root[0])) return wsss_error_set("dataset: empty root path");
    if (root && !wsss_path_is_dir(root)) return wsss_error_set("%s: dataset root not found (expected a directory)", root);
    wsss_dataset *ds = wsss_xcalloc(1, sizeof *ds);
    ds->root = root ? wsss_xstrdup(root) : NULL;
    open_ctx c;
    memset(&c, 0, sizeof c);
    c.o = opts;
    c.ds = ds;
    c.coco = coco;
    int rc;
    if (coco) {
        rc = open_coco(&c, root);
    } else {
        rc = read_classes(&c);
        if (rc == WSSS_OK) rc = read_list(&c);
        if (rc == WSSS_OK) {
            c.drop = wsss_xcalloc((size_t)ds->n, 1);
            rc = find_images(&c);
        }
    }
    if (rc == WSSS_OK) rc = find_masks(&c);
    if (rc == WSSS_OK && !coco) rc = read_labels(&c);
    if (rc == WSSS_OK) {
        compact(&c);
        if (ds->n == 0) rc = wsss_error_set("%s: no usable samples (all %lld listed ids had problems)", c.list_path,
                                            (long long)ds->n_skipped);
    }
    if (rc == WSSS_OK) index_samples(ds);
    free_lines(&c.list);
    free_lines(&c.cls_text);
    for (int64_t k = 0; k < c.n_cls; k++) {
        free(c.cls[k].classes);
        free(c.cls[k].problem);
    }
    free(c.cls);
    free(c.drop);
    free(c.list_path);
    free(c.cls_path);
    free(c.default_mask_dir);
    if (rc != WSSS_OK) {
        wsss_dataset_free(ds);
        return WSSS_ERR;
    }
    *out = ds;
    return WSSS_OK;
}

int wsss_dataset_open_split(const char *root, const char *split, wsss_mask_mode masks, int skip_bad, wsss_dataset **out) {
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.split = split;
    o.masks = masks;
    o.skip_bad = skip_bad;
    return wsss_dataset_open(root, &o, out);
}

void wsss_dataset_free(wsss_dataset *ds) {
    if (!ds) return;
    for (int64_t i = 0; i < ds->n; i++) {
        if (ds->ids) free(ds->ids[i]);
        if (ds->image_paths) free(ds->image_paths[i]);
        if (ds->mask_paths) free(ds->mask_paths[i]);
        if (ds->saliency_paths) free(ds->saliency_paths[i]);
    }
    free(ds->ids);
    free(ds->image_paths);
    free(ds->mask_paths);
    free(ds->saliency_paths);
    for (int k = 0; k < ds->num_classes; k++) {
        if (ds->class_names) free(ds->class_names[k]);
        if (ds->class_samples) free(ds->class_samples[k]);
    }
    free(ds->class_names);
    free(ds->class_samples);
    free(ds->class_count);
    free(ds->labels);
    free(ds->id_order);
    free(ds->root);
    free(ds->list_path);
    free(ds);
}

int wsss_dataset_from_list(const char *root, int num_classes, const char *const *class_names, int64_t n,
                           const char *const *ids, const char *const *image_paths, const int *labels,
                           wsss_dataset **out) {
    *out = NULL;
    if (num_classes < 2 || num_classes > WSSS_MAX_CLASSES || n < 1)
        return wsss_dataset_from_labels(root, num_classes, class_names, n, ids, image_paths, NULL, out);
    uint8_t *hot = wsss_xcalloc((size_t)n, (size_t)num_classes);
    for (int64_t i = 0; i < n; i++) {
        WSSS_ASSERT(labels[i] >= 1 && labels[i] < num_classes, "list label out of range");
        hot[i * num_classes + labels[i]] = 1;
    }
    int rc = wsss_dataset_from_labels(root, num_classes, class_names, n, ids, image_paths, hot, out);
    free(hot);
    return rc;
}

int wsss_dataset_from_labels(const char *root, int num_classes, const char *const *class_names, int64_t n,
                             const char *const *ids, const char *const *image_paths, const uint8_t *labels,
                             wsss_dataset **out) {
    *out = NULL;
    if (num_classes < 2 || num_classes > WSSS_MAX_CLASSES)
        return wsss_error_set("%s: %d classes (background included); expected 2..%d", root, num_classes,
                              WSSS_MAX_CLASSES);
    if (n < 1) return wsss_error_set("%s: no samples", root);
    wsss_dataset *ds = wsss_xcalloc(1, sizeof *ds);
    ds->root = wsss_xstrdup(root);
    ds->num_classes = num_classes;
    ds->class_names = wsss_xcalloc((size_t)num_classes, sizeof(char *));
    for (int k = 0; k < num_classes; k++) ds->class_names[k] = wsss_xstrdup(class_names[k]);
    ds->n = n;
    ds->ids = wsss_xcalloc((size_t)n, sizeof(char *));
    ds->image_paths = wsss_xcalloc((size_t)n, sizeof(char *));
    ds->labels = wsss_xcalloc((size_t)n, (size_t)num_classes);
    for (int64_t i = 0; i < n; i++) {
        ds->ids[i] = wsss_xstrdup(ids[i]);
        ds->image_paths[i] = wsss_xstrdup(image_paths[i]);
        for (int c = 1; c < num_classes; c++) ds->labels[i * num_classes + c] = labels[i * num_classes + c] != 0;
    }
    ds->has_labels = 1;
    ds->label_source = WSSS_LABELS_FROM_LIST;
    index_samples(ds);
    for (int64_t k = 1; k < n; k++) {
        const char *a = ds->ids[ds->id_order[k - 1]], *b = ds->ids[ds->id_order[k]];
        if (strcmp(a, b) == 0) {
            int rc = wsss_error_set("%s: id '%s' given twice (ids must be unique)", root, a);
            wsss_dataset_free(ds);
            return rc;
        }
    }
    *out = ds;
    return WSSS_OK;
}
