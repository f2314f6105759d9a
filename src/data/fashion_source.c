/* Fashion-MNIST item sources and the item pools of the two generated sets (specs/fashion-scenes.md),
 * plus the option checks and output helpers both generators share (fashion_internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/fashion_internal.h"
#include "wsss/clock.h"
#include "wsss/error.h"

const char *const wsss_fashion_class_names[WSSS_FASHION_NUM_CLASSES] = {
    "background", "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",     "Shirt",       "Sneaker", "Bag",      "Ankle boot"};

/* The spec's table, in one place: [set][split]. */
static const wsss_fashion_pool g_pools[2][2] = {
    [WSSS_FASHION_SCENES] = {[WSSS_FASHION_TRAIN] = {50000, 10000}, [WSSS_FASHION_VAL] = {0, 5000}},
    [WSSS_FASHION_OBJECTS] = {[WSSS_FASHION_TRAIN] = {0, 50000}, [WSSS_FASHION_VAL] = {5000, 5000}},
};

wsss_fashion_pool wsss_fashion_item_pool(wsss_fashion_set set, wsss_fashion_split split) {
    WSSS_ASSERT((set == WSSS_FASHION_SCENES || set == WSSS_FASHION_OBJECTS) &&
                    (split == WSSS_FASHION_TRAIN || split == WSSS_FASHION_VAL),
                "unknown Fashion set or split");
    return g_pools[set][split];
}

const char *wsss_fashion_set_name(wsss_fashion_set set) {
    return set == WSSS_FASHION_SCENES ? "Fashion-Scenes" : "Fashion-Objects";
}

static void file_paths(const char *dir, wsss_fashion_split split, char *ipath, char *lpath, size_t n) {
    const char *stem = split == WSSS_FASHION_TRAIN ? "train" : "t10k";
    snprintf(ipath, n, "%s/%s-images-idx3-ubyte.gz", dir, stem);
    snprintf(lpath, n, "%s/%s-labels-idx1-ubyte.gz", dir, stem);
}

int wsss_fashion_source_load(const char *dir, wsss_fashion_split split, wsss_fashion_source *out) {
    memset(out, 0, sizeof *out);
    char ipath[4096], lpath[4096];
    file_paths(dir, split, ipath, lpath, sizeof ipath);
    wsss_idx im, lb;
    if (wsss_idx_read(ipath, &im) != WSSS_OK)
        return wsss_error_prefix("Fashion-MNIST (package dataset-fashion-mnist, or --mnist-dir)");
    if (im.ndim != 3) {
        wsss_idx_free(&im);
        return wsss_error_set("%s: %d dimensions, expected 3 (count, rows, cols)", ipath, im.ndim);
    }
    if (wsss_idx_read(lpath, &lb) != WSSS_OK) {
        wsss_idx_free(&im);
        return WSSS_ERR;
    }
    int rc = WSSS_OK;
    if (lb.ndim != 1 || lb.dims[0] != im.dims[0])
        rc = wsss_error_set("%s: expected %lld labels in one dimension to match %s", lpath,
                            (long long)im.dims[0], ipath);
    for (int64_t i = 0; rc == WSSS_OK && i < lb.dims[0]; i++)
        if (lb.data[i] > 9) rc = wsss_error_set("%s: label %d at item %lld, expected 0..9", lpath, lb.data[i], (long long)i);
    if (rc == WSSS_OK && (im.dims[1] < 2 || im.dims[2] < 2 || im.dims[1] > 1024 || im.dims[2] > 1024))
        rc = wsss_error_set("%s: items are %lldx%lld, expected 2..1024 pixels a side", ipath,
                            (long long)im.dims[1], (long long)im.dims[2]);
    if (rc != WSSS_OK) {
        wsss_idx_free(&im);
        wsss_idx_free(&lb);
        return rc;
    }
    out->n = im.dims[0];
    out->rows = (int)im.dims[1];
    out->cols = (int)im.dims[2];
    out->images = im.data;
    out->labels = lb.data;
    return WSSS_OK;
}

void wsss_fashion_source_free(wsss_fashion_source *s) {
    free(s->images);
    free(s->labels);
    free(s->file_index);
    memset(s, 0, sizeof *s);
}

static void ensure_file_index(wsss_fashion_source *s) {
    if (s->file_index) return;
    s->file_index = wsss_xmalloc(((size_t)s->n + 1) * sizeof(int64_t));
    for (int64_t i = 0; i < s->n; i++) s->file_index[i] = i;
}

void wsss_fashion_source_keep(wsss_fashion_source *s, const int *classes, int n) {
    int new_label[10];
    for (int l = 0; l < 10; l++) new_label[l] = -1;
    for (int k = 0; k < n; k++) new_label[classes[k] - 1] = k;
    ensure_file_index(s);
    const size_t item = (size_t)s->rows * (size_t)s->cols;
    int64_t kept = 0;
    for (int64_t i = 0; i < s->n; i++) {
        const int l = new_label[s->labels[i]];
        if (l < 0) continue;
        memmove(s->images + (size_t)kept * item, s->images + (size_t)i * item, item);
        s->file_index[kept] = s->file_index[i];
        s->labels[kept++] = (uint8_t)l;
    }
    s->n = kept;
}

int wsss_fashion_source_load_pool(const char *dir, wsss_fashion_set set, wsss_fashion_split split,
                                  const int *classes, int n_classes, wsss_fashion_source *out) {
    if (wsss_fashion_source_load(dir, split, out) != WSSS_OK) return WSSS_ERR;
    const wsss_fashion_pool pool = wsss_fashion_item_pool(set, split);
    if (out->n < pool.first + pool.count) {
        char ipath[4096], lpath[4096];
        file_paths(dir, split, ipath, lpath, sizeof ipath);
        int rc = wsss_error_set("%s: %lld items, but the %s %s pool is its items %lld..%lld (expected the "
                                "complete Fashion-MNIST file)",
                                ipath, (long long)out->n, wsss_fashion_set_name(set),
                                split == WSSS_FASHION_TRAIN ? "train" : "val", (long long)pool.first,
                                (long long)(pool.first + pool.count - 1));
        wsss_fashion_source_free(out);
        return rc;
    }
    const size_t item = (size_t)out->rows * (size_t)out->cols;
    memmove(out->images, out->images + (size_t)pool.first * item, (size_t)pool.count * item);
    memmove(out->labels, out->labels + pool.first, (size_t)pool.count);
    out->n = pool.count;
    out->file_index = wsss_xmalloc(((size_t)pool.count + 1) * sizeof(int64_t));
    for (int64_t i = 0; i < pool.count; i++) out->file_index[i] = pool.first + i;
    if (n_classes > 0) wsss_fashion_source_keep(out, classes, n_classes);
    return WSSS_OK;
}

/* ---------------------------------------------------------------- shared by both generators */

int wsss_fashion_check_common(int size, int max_distractors, int jpeg_quality, int n_classes,
                              const int *classes) {
    if (size < 16 || size > 4096) return wsss_error_set("--size %d: expected 16..4096", size);
    if (max_distractors < 0 || max_distractors > 64)
        return wsss_error_set("--max-distractors %d: expected 0..64", max_distractors);
    if (jpeg_quality < 1 || jpeg_quality > 100)
        return wsss_error_set("--jpeg-quality %d: expected 1..100", jpeg_quality);
    if (n_classes < 0 || n_classes > 10)
        return wsss_error_set("--classes: %d classes in the subset, expected 1..10", n_classes);
    for (int k = 0; k < n_classes; k++) {
        if (classes[k] < 1 || classes[k] > 10)
            return wsss_error_set("--classes: class %d, expected a Fashion-MNIST class id 1..10", classes[k]);
        for (int j = 0; j < k; j++)
            if (classes[j] == classes[k]) return wsss_error_set("--classes: class %d listed twice", classes[k]);
    }
    return WSSS_OK;
}

int wsss_fashion_parse_classes(const char *list, int classes[10], int *n) {
    *n = 0;
    for (const char *p = list; p && *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || *n >= 10)
            return wsss_error_set("--classes \"%s\": expected up to 10 comma-separated class ids 1..10", list);
        classes[(*n)++] = v < 0 || v > 99 ? 0 : (int)v; /* out of range: the generators name it */
        p = *end ? end + 1 : end;
    }
    return WSSS_OK;
}

int wsss_fashion_make_dir(const char *path) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return WSSS_OK;
        return wsss_error_set("%s: exists and is not a directory", path);
    }
    return wsss_error_set("%s: cannot create directory: %s", path, strerror(errno));
}

void wsss_fashion_loop_init(wsss_fashion_loop *l, const char *what, const char *split, const char *unit, int64_t n,
                            int progress, double t0) {
    memset(l, 0, sizeof *l);
    l->what = what;
    l->split = split;
    l->unit = unit;
    l->n = n;
    l->step = n / 20 > 100 ? n / 20 : 100;
    l->progress = progress;
    l->t0 = t0;
}

int wsss_fashion_loop_stopped(wsss_fashion_loop *l) {
    int stop;
#pragma omp atomic read
    stop = l->failed;
    return stop;
}

void wsss_fashion_loop_done(wsss_fashion_loop *l, int rc) {
    if (rc != WSSS_OK) {
#pragma omp critical(wsss_fashion_loop_err)
        if (!l->failed) {
            snprintf(l->err, sizeof l->err, "%s", wsss_error_msg());
#pragma omp atomic write
            l->failed = 1;
        }
        return;
    }
    int64_t d;
#pragma omp atomic capture
    d = ++l->done;
    if (l->progress && (d % l->step == 0 || d == l->n)) {
#pragma omp critical(wsss_fashion_loop_progress)
        fprintf(stderr, "%s: %s %lld/%lld %s (%.1f s)\n", l->what, l->split, (long long)d, (long long)l->n, l->unit,
                wsss_now_seconds() - l->t0);
    }
}
