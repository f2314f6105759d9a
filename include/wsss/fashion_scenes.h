/* Fashion-Scenes: the built-in WSSS benchmark (specs/fashion-scenes.md). Scenes of 1-4
 * Fashion-MNIST items on a textured background, written as a PASCAL VOC-format dataset.
 * Every scene is a pure function of (seed, split, index), so scenes are generated in parallel and
 * the output is byte-identical for a given seed whatever the thread count. Train scenes draw their
 * items from the training file's indices 50,000-59,999, val scenes from t10k's 0-4,999 (the item
 * pools below; the rest of both files is Fashion-Objects', fashion_objects.h). */
#ifndef WSSS_FASHION_SCENES_H
#define WSSS_FASHION_SCENES_H

#include <stdint.h>

#include "wsss/image.h"

#define WSSS_FASHION_NUM_CLASSES 11 /* background + the 10 Fashion-MNIST classes */
#define WSSS_FASHION_MAX_ITEMS 8
#define WSSS_FASHION_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

extern const char *const wsss_fashion_class_names[WSSS_FASHION_NUM_CLASSES];

/* ---- IDX files (the MNIST container format), gzip-compressed or plain ---- */
typedef struct wsss_idx {
    int ndim;          /* 1..4 */
    int64_t dims[4];
    uint8_t *data;     /* dims[0] * ... * dims[ndim-1] unsigned bytes */
} wsss_idx;

/* Read an unsigned-byte IDX file (magic 0x0000 08 <ndim>, big-endian int32 dims, then the data;
 * nothing may follow). Errors name the file and what is wrong. */
int wsss_idx_read(const char *path, wsss_idx *out);
void wsss_idx_free(wsss_idx *x);

/* ---- item source: one Fashion-MNIST file pair ---- */
typedef enum { WSSS_FASHION_TRAIN = 0, WSSS_FASHION_VAL = 1 } wsss_fashion_split;

typedef struct wsss_fashion_source {
    int64_t n;          /* number of items */
    int rows, cols;     /* 28 x 28 for Fashion-MNIST */
    uint8_t *images;    /* n * rows * cols grey bytes */
    uint8_t *labels;    /* n labels 0..9 */
    int64_t *file_index; /* [n] each item's index in its file; NULL: item i is the file's item i */
} wsss_fashion_source;

/* Loads train-*.gz (split TRAIN) or t10k-*.gz (split VAL) from dir and checks they agree. */
int wsss_fashion_source_load(const char *dir, wsss_fashion_split split, wsss_fashion_source *out);
void wsss_fashion_source_free(wsss_fashion_source *s);
/* Keep only the items of the given classes (ids 1..10) and relabel them 0..n-1 in list order
 * (file_index follows the kept items; it is allocated if it was NULL). */
void wsss_fashion_source_keep(wsss_fashion_source *s, const int *classes, int n);

/* ---- item pools (spec "Item pools") ----
 * The Fashion-MNIST files are split once, by index, between the two generated sets, so that a
 * backbone pretrained on Fashion-Objects never sees an item of a Fashion-Scenes image:
 *   Fashion-Scenes  train: training file 50,000..59,999   val: t10k 0..4,999
 *   Fashion-Objects train: training file 0..49,999        val: t10k 5,000..9,999 */
typedef enum { WSSS_FASHION_SCENES = 0, WSSS_FASHION_OBJECTS = 1 } wsss_fashion_set;

typedef struct wsss_fashion_pool {
    int64_t first, count; /* the file's items first .. first + count - 1 */
} wsss_fashion_pool;

wsss_fashion_pool wsss_fashion_item_pool(wsss_fashion_set set, wsss_fashion_split split);
const char *wsss_fashion_set_name(wsss_fashion_set set); /* "Fashion-Scenes", "Fashion-Objects" */
/* The items a set draws from: the split's file restricted to the set's pool, then (n_classes > 0)
 * to the given classes as wsss_fashion_source_keep does. file_index gives each item's index in the
 * file. A file too short for the pool is an error naming it. */
int wsss_fashion_source_load_pool(const char *dir, wsss_fashion_set set, wsss_fashion_split split,
                                  const int *classes, int n_classes, wsss_fashion_source *out);

/* ---- generator options (defaults = the spec) ---- */
typedef struct wsss_fashion_opts {
    const char *mnist_dir;       /* WSSS_FASHION_DEFAULT_DIR */
    const char *out_dir;         /* required by wsss_fashion_generate */
    int64_t n_train, n_val;      /* 5000, 1000 */
    int size;                    /* canvas side, 128 */
    uint64_t seed;               /* 0 */
    double item_probs[4];        /* P(1..4 items) = 0.30 0.35 0.25 0.10 */
    double scale_min, scale_max; /* item upscale factor range, [1.4, 3.2] */
    double mirror_p;             /* 0.5 */
    double silhouette_thr;       /* g >= 1/3 */
    double min_visible;          /* 0.01 of the canvas: smaller visible items become 255 */
    int max_distractors;         /* 3 */
    int n_classes;               /* 0: all ten classes; else a subset (a smaller, easier benchmark): */
    int classes[10];             /* its Fashion-MNIST class ids (1..10), renumbered 1..n_classes in
                                    this order in the masks, labels and classes.txt */
    int jpeg_quality;            /* 95 */
    int progress;                /* 1: progress lines on stderr */
} wsss_fashion_opts;

void wsss_fashion_opts_default(wsss_fashion_opts *o);
/* The settings errors found before any work (sizes, counts, class list; messages name the
 * command-line options). wsss_fashion_generate checks the same first. */
int wsss_fashion_opts_check(const wsss_fashion_opts *o);

/* A --classes list such as "9,2": up to 10 comma-separated integers into classes[], their number
 * into *n (ids are range-checked by the generators). WSSS_ERR with a message if malformed. */
int wsss_fashion_parse_classes(const char *list, int classes[10], int *n);

/* What went into one scene (for tests and statistics). */
typedef struct wsss_fashion_scene_info {
    int n_items;
    int cls[WSSS_FASHION_MAX_ITEMS];          /* class 1..10 of each item, in drawing order */
    int64_t src_index[WSSS_FASHION_MAX_ITEMS]; /* the item's index in its Fashion-MNIST file */
    int64_t visible[WSSS_FASHION_MAX_ITEMS];  /* visible silhouette pixels after occlusion */
    int labelled[WSSS_FASHION_MAX_ITEMS];     /* visible >= min_visible * size^2 */
    int n_distractors;
    int attempts;                             /* 1 unless a scene had no labelled item */
    uint8_t present[WSSS_FASHION_NUM_CLASSES]; /* image-level labels (present[0] = 0) */
} wsss_fashion_scene_info;

/* Render scene (split, index): img gets an RGB size x size canvas, mask the class ids (0..10, 255).
 * Deterministic in (o->seed, split, index); the source is the split's pool
 * (wsss_fashion_source_load_pool(dir, WSSS_FASHION_SCENES, split, ...)). */
int wsss_fashion_render_scene(const wsss_fashion_source *src, const wsss_fashion_opts *o,
                              wsss_fashion_split split, int64_t index, wsss_image *img,
                              wsss_image *mask, wsss_fashion_scene_info *info);

/* Scene id, e.g. "train_000042" / "val_000007" (Fashion-Objects images use the same ids). */
void wsss_fashion_scene_id(wsss_fashion_split split, int64_t index, char *buf, int n);

/* Generate the whole dataset into o->out_dir (VOC layout, see the spec). labels_hist, if not NULL,
 * receives per split the number of scenes with k labels (hist[split][k], k = 0..10). */
int wsss_fashion_generate(const wsss_fashion_opts *o, int64_t labels_hist[2][WSSS_FASHION_NUM_CLASSES]);

#endif
