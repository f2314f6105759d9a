/* Segmentation datasets in PASCAL VOC format (VOC 2012, SBD-augmented VOC, Fashion-Scenes, a user's
 * own), or in COCO format (coco.h): a root is a COCO folder when ROOT/annotations/instances_<split>.json
 * exists and ROOT/ImageSets/Segmentation/<split>.txt does not, or when the options name an annotation
 * file. A COCO dataset's images are ROOT/<split>/<file_name> (or in coco_images), its sample ids
 * the file names without folder and extension, its labels the categories of each image's
 * annotations (label_source WSSS_LABELS_FROM_ANNOTATIONS), its masks the mask cache (built at open
 * when masks are wanted and the cache is stale). Everything below then holds for both formats.
 * VOC layout:
 *   ROOT/JPEGImages/<id>.jpg                  images (.jpeg / .png also accepted)
 *   ROOT/SegmentationClassAug/<id>.png        masks, grey or palette PNG (indices = class ids, 255 = ignore),
 *   ROOT/SegmentationClass/<id>.png             used when SegmentationClassAug/ does not exist
 *   ROOT/ImageSets/Segmentation/<split>.txt   ids, one a line (first token of each line)
 *   ROOT/cls_labels.txt       optional: "<id> <c> <c> ..." image-level labels, 1-based foreground ids
 *   ROOT/classes.txt          optional: class names, one a line, background first
 *                             (absent: the 21 PASCAL VOC classes)
 *   ROOT/<saliency_dir>/<id>.png   optional grey saliency maps
 * Image-level labels come from cls_labels.txt when it exists, else from the masks (classes present,
 * background and 255 excluded). Opening checks that files exist and reads labels; loading a sample
 * decodes and validates it. A wsss_dataset is read-only after open: wsss_dataset_load may be called
 * from several threads at once. */
#ifndef WSSS_DATASET_H
#define WSSS_DATASET_H

#include <stdint.h>

#include "wsss/image.h"

#define WSSS_IGNORE_INDEX 255 /* mask value meaning "not labelled" */
#define WSSS_MAX_CLASSES 255  /* class ids are 0..254 (0 = background) */

typedef enum {
    WSSS_MASKS_AUTO = 0, /* use the mask folder if it exists; then every listed id must have a mask */
    WSSS_MASKS_OPTIONAL, /* use masks that exist; ids without one get mask_paths[i] == NULL */
    WSSS_MASKS_REQUIRED, /* the mask folder must exist and every listed id must have a mask */
    WSSS_MASKS_NONE      /* ignore masks (labels then must come from cls_labels.txt) */
} wsss_mask_mode;

typedef enum {
    WSSS_LABELS_FROM_FILE = 0,  /* cls_labels.txt */
    WSSS_LABELS_FROM_MASKS = 1, /* the classes present in each mask */
    WSSS_LABELS_FROM_LIST = 2,  /* given by the caller (wsss_dataset_from_list) */
    WSSS_LABELS_FROM_ANNOTATIONS = 3 /* COCO: the categories of each image's annotations */
} wsss_label_source;

/* Called once per problem found while opening with skip_bad = 1 (the sample is dropped).
 * msg names the file and the problem. NULL callback: printed to stderr as "wsss: warning: msg". */
typedef void (*wsss_dataset_warn_fn)(void *user, const char *msg);

typedef struct wsss_dataset_opts {
    const char *split;        /* "train" (default), "val", ... or a path to a list file */
    const char *mask_dir;     /* NULL: SegmentationClassAug if it exists, else SegmentationClass;
                                 relative to root unless absolute */
    wsss_mask_mode masks;     /* default WSSS_MASKS_AUTO */
    const char *saliency_dir; /* NULL: none; relative to root unless absolute; every id needs one */
    int skip_bad;             /* 0: the first problem fails the open; 1: warn, drop the sample, go on */
    const char *coco_annotations; /* COCO: the annotation file (default ROOT/annotations/instances_<split>.json);
                                     given, the dataset is COCO and root may be NULL */
    const char *coco_images;  /* COCO: the image folder (default ROOT/<split>) */
    const char *coco_masks;   /* COCO: the mask cache (default: beside the annotation file, coco.h) */
    wsss_dataset_warn_fn warn;
    void *warn_user;
} wsss_dataset_opts;

void wsss_dataset_opts_default(wsss_dataset_opts *o);

/* All fields are read-only for users. Sample indices are 0..n-1 in list-file order (minus dropped). */
typedef struct wsss_dataset {
    char *root, *list_path;
    int num_classes;            /* including background; labels are 1..num_classes-1 */
    char **class_names;         /* [num_classes] */
    int64_t n;                  /* number of samples */
    char **ids;                 /* [n] */
    char **image_paths;         /* [n] */
    char **mask_paths;          /* [n], NULL if the dataset has no masks; an entry NULL = no mask */
    char **saliency_paths;      /* [n], NULL if no saliency folder */
    int has_labels;             /* 1 if image-level labels are known for every sample */
    wsss_label_source label_source;
    uint8_t *labels;            /* [n * num_classes] multi-hot; column 0 (background) is always 0 */
    int64_t *class_count;       /* [num_classes] number of samples with class c (class_count[0] = 0) */
    int64_t **class_samples;    /* [num_classes] ascending sample indices with class c */
    int64_t n_skipped;          /* samples dropped by skip_bad */
    int64_t *id_order;          /* internal: sample indices sorted by id, for wsss_dataset_find */
} wsss_dataset;

/* Open ROOT with options (NULL = defaults). On error returns WSSS_ERR (message names the file and the
 * problem) and *out = NULL. root may be NULL with opts->coco_annotations: the dataset's root (which
 * relative mask_dir and saliency_dir start from) is then the annotation file's folder. */
int wsss_dataset_open(const char *root, const wsss_dataset_opts *opts, wsss_dataset **out);
/* The same with the default options but for the split, the mask mode and skip_bad: the usual open of
 * a stage. */
int wsss_dataset_open_split(const char *root, const char *split, wsss_mask_mode masks, int skip_bad, wsss_dataset **out);
void wsss_dataset_free(wsss_dataset *ds);

/* A dataset from an explicit list of single-label images (no masks), e.g. an ImageFolder
 * (image_folder.h): sample i is image_paths[i], named ids[i] (ids must be unique), with the one
 * foreground class labels[i] (1..num_classes-1). root names the dataset in messages. Everything is
 * copied. Errors: fewer than 2 or more than WSSS_MAX_CLASSES classes, no samples, a repeated id. */
int wsss_dataset_from_list(const char *root, int num_classes, const char *const *class_names, int64_t n,
                           const char *const *ids, const char *const *image_paths, const int *labels,
                           wsss_dataset **out);
/* The same with multi-hot labels: labels[i * num_classes + c] = 1 if image i has class c (column 0,
 * background, is ignored). */
int wsss_dataset_from_labels(const char *root, int num_classes, const char *const *class_names, int64_t n,
                             const char *const *ids, const char *const *image_paths, const uint8_t *labels,
                             wsss_dataset **out);

/* Image-level labels of sample i. */
static inline const uint8_t *wsss_dataset_labels(const wsss_dataset *ds, int64_t i) {
    return ds->labels + i * ds->num_classes;
}
/* Writes the foreground class ids (ascending, 1..num_classes-1) of sample i into ids (room for
 * num_classes entries) and returns how many there are. */
int wsss_dataset_label_ids(const wsss_dataset *ds, int64_t i, int *ids);
/* Classifier target: num_classes-1 floats, out[c-1] = 1 if class c is present, else 0. */
void wsss_dataset_label_vector(const wsss_dataset *ds, int64_t i, float *out);
/* Samples containing class c (ascending indices); *count receives their number. */
const int64_t *wsss_dataset_class_samples(const wsss_dataset *ds, int c, int64_t *count);
/* Index of an id, or -1. */
int64_t wsss_dataset_find(const wsss_dataset *ds, const char *id);

enum { WSSS_LOAD_IMAGE = 1, WSSS_LOAD_MASK = 2, WSSS_LOAD_SALIENCY = 4 };

typedef struct wsss_sample {
    wsss_image image;    /* RGB, channels 3 (data NULL unless WSSS_LOAD_IMAGE) */
    wsss_image mask;     /* 1 channel class ids 0..num_classes-1 or 255 (data NULL if not loaded/absent) */
    wsss_image saliency; /* 1 channel 0..255 (data NULL if not loaded/absent) */
} wsss_sample;

/* Load sample i: what `what` (WSSS_LOAD_* bits) asks for and the dataset has. Validates that mask and
 * saliency have the image's size (reading the image header if the image itself is not requested) and
 * that mask values are < num_classes or 255. On error out is left empty (nothing to free). */
int wsss_dataset_load(const wsss_dataset *ds, int64_t i, int what, wsss_sample *out);
void wsss_sample_free(wsss_sample *s);

/* Classes present in a mask: present[c] = 1 for each value c < num_classes found (background too);
 * 255 is skipped. Returns WSSS_ERR naming `path` (may be NULL) and the value if one is out of range. */
int wsss_mask_classes(const wsss_image *mask, int num_classes, const char *path, uint8_t *present);

/* The 21 PASCAL VOC class names (index 0 = "background"). */
extern const char *const wsss_voc_class_names[21];

#endif
