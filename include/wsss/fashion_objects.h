/* Fashion-Objects: the ImageNet stand-in for backbone pretraining (specs/fashion-scenes.md,
 * "Fashion-Objects"). Object-centric, single-label images: one Fashion-MNIST item per image, from
 * the Fashion-Objects item pools (train: training file 0..49,999; val: t10k 5,000..9,999; disjoint
 * from the scenes' pools, fashion_scenes.h), scaled so that the longer side of its silhouette's
 * bounding box is fill_min..fill_max of the canvas side, centred up to +-jitter of the side away
 * (never leaving the canvas), optionally mirrored, tinted and shaded exactly as in a scene, on the
 * scenes' background texture with their distractors. Written as a torchvision ImageFolder:
 *   OUT/train/<class folder>/<id>.jpg, OUT/val/<class folder>/<id>.jpg
 * (folder = wsss_class_folder_name of the class name: t-shirt-top, trouser, ..., ankle-boot;
 * ids as the scenes', "train_000042"). Image i of a split shows its pool's item i and is a pure
 * function of (seed, split, i): same seed, same bytes, whatever the thread count. With label_noise
 * the train split's folders (its labels) are wrong at that rate; the images are the same. */
#ifndef WSSS_FASHION_OBJECTS_H
#define WSSS_FASHION_OBJECTS_H

#include <stdint.h>

#include "wsss/fashion_scenes.h"
#include "wsss/image.h"

#define WSSS_FASHION_OBJECTS_ALL (-1) /* n_train / n_val: one image per pool item */

typedef struct wsss_fashion_objects_opts {
    const char *mnist_dir;       /* WSSS_FASHION_DEFAULT_DIR */
    const char *out_dir;         /* required by wsss_fashion_objects_generate */
    int64_t n_train, n_val;      /* WSSS_FASHION_OBJECTS_ALL (50,000 / 5,000), or the pool's first n */
    int size;                    /* canvas side, 64 */
    uint64_t seed;               /* 0 */
    double fill_min, fill_max;   /* 0.4, 0.9: bounding-box side over canvas side */
    double jitter;               /* 0.1: largest centre offset, a fraction of the side, in x and y */
    double mirror_p;             /* 0.5 */
    double silhouette_thr;       /* g >= 1/3, as in the scenes */
    int max_distractors;         /* 3, as in the scenes */
    int n_classes;               /* 0: all ten classes; else only these Fashion-MNIST class ids */
    int classes[10];             /* (1..10), renumbered 1..n_classes in this order */
    int jpeg_quality;            /* 95 */
    double label_noise;          /* 0: the train split's images in their item's class folder; p: each
                                    in a uniformly drawn other class's folder with probability p (a
                                    noisy "web" set for MCIS's extra-data setting), drawn from
                                    (seed, i) apart from the rendering, so the pixels stay the same */
    int progress;                /* 1: progress lines on stderr */
} wsss_fashion_objects_opts;

void wsss_fashion_objects_opts_default(wsss_fashion_objects_opts *o);
/* Check the options (sizes, ranges, class ids; not the files): WSSS_ERR with a message naming the
 * value and what was expected. Render and generate check them too. */
int wsss_fashion_objects_check_opts(const wsss_fashion_objects_opts *o);

/* What went into one image (for tests and statistics). */
typedef struct wsss_fashion_object_info {
    int cls;            /* 1..10, or 1..n_classes with a subset */
    int64_t src_index;  /* the item's index in its Fashion-MNIST file */
    int bbox[4];        /* x0, y0, x1, y1 (inclusive) of the silhouette on the canvas */
    int mirrored;
    int n_distractors;
} wsss_fashion_object_info;

/* Render image (split, index) showing source item `index` (index < src->n; the source is the
 * split's pool, wsss_fashion_source_load_pool(dir, WSSS_FASHION_OBJECTS, split, ...)). img gets
 * the RGB canvas; mask (may be NULL) the class id on the item's silhouette, 0 elsewhere. */
int wsss_fashion_render_object(const wsss_fashion_source *src, const wsss_fashion_objects_opts *o,
                               wsss_fashion_split split, int64_t index, wsss_image *img, wsss_image *mask,
                               wsss_fashion_object_info *info);

/* The folder name of class c (1..10, or 1..n_classes with a subset), malloc'd. */
char *wsss_fashion_objects_class_folder(const wsss_fashion_objects_opts *o, int c);

/* Generate the ImageFolder into o->out_dir. Each split is written under OUT/<split>.partial and
 * renamed to OUT/<split> when complete, so a reader never sees half a split; an existing OUT/<split>
 * is an error (nothing is overwritten), a leftover OUT/<split>.partial is removed first. counts, if
 * not NULL, receives the images per split and class (counts[split][c], c = 1..10). */
int wsss_fashion_objects_generate(const wsss_fashion_objects_opts *o,
                                  int64_t counts[2][WSSS_FASHION_NUM_CLASSES]);

#endif
