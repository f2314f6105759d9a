/* COCO-format instance annotations (the instances_<split>.json files of COCO 2014/2017, or any
 * file in that format) read as a semantic segmentation dataset.
 *
 * Reading (coco_read.c): the file is mapped and scanned once (json_scan.h). Categories, ordered by
 * id, become classes 1..K (0 is background; at most 254, so masks stay 8-bit with 255 = ignore).
 * Per annotation the index keeps its ids, class, crowd flag and the byte range of its
 * segmentation, which is checked during the scan and decoded again only to rasterise it. Problems:
 *   - fatal for the file: bad JSON, a missing or mistyped "images" / "annotations" / "categories",
 *     an image or category record without its fields, repeated ids, file names or category names;
 *   - of one annotation (its image becomes unusable; wsss_coco_image.problem says why): a category
 *     id not in "categories", iscrowd other than 0 or 1, a polygon with an odd number of
 *     coordinates or a coordinate beyond +-1e6, RLE counts that are negative or do not sum to
 *     height x width, an RLE size other than its image's, a segmentation of another shape;
 *   - an annotation whose image_id is not in "images": fatal, or with skip_bad a warning and the
 *     annotation is ignored.
 * Every message names the file, the annotation id (or the record) and the problem.
 *
 * Rasterising (coco_raster.c), the rules of the semantic masks:
 *   - a polygon covers the pixels whose centre (x + 0.5, y + 0.5) lies inside it by the even-odd
 *     rule (an edge crosses the centre's row when exactly one end lies strictly below it, and counts
 *     when its crossing lies to the right of the centre); an annotation's polygons are united;
 *   - RLE: counts of alternating runs of 0s and 1s, starting with 0s, over the pixels in column-
 *     major order (down the first column, then the next); the 1s are covered. COCO's compressed
 *     string form is decoded per its definition (see wsss_coco_rle_decode);
 *   - overlaps: annotations that are not crowds are painted in file order with their class, a
 *     later one over an earlier one; then crowd regions are painted 255 (ignore) on the pixels no
 *     other annotation covers, so an object labelled inside a crowd keeps its class;
 *   - an image without annotations is all background.
 *
 * The mask cache (coco_masks.c): every usable image's mask as an 8-bit VOC-palette PNG DIR/<id>.png
 * (id: the file name without folder and extension), plus DIR/wsss_coco_masks.json, a stamp with the
 * annotation file's size and modification time and the rasteriser's version. A stamp that does not
 * match makes the cache stale: it is rebuilt into DIR.tmp-<pid> and renamed into place, so a reader
 * never sees half a cache and an interrupted build leaves only a leftover that the next build
 * removes. */
#ifndef WSSS_COCO_H
#define WSSS_COCO_H

#include <stddef.h>
#include <stdint.h>

#include "wsss/dataset.h"
#include "wsss/fs.h"

#define WSSS_COCO_MAX_COORD 1e6 /* |polygon coordinate| limit: keeps edge crossings finite */

typedef enum { WSSS_COCO_POLYGONS = 0, WSSS_COCO_RLE } wsss_coco_seg_kind;

typedef struct wsss_coco_category {
    int64_t id;
    char *name;
} wsss_coco_category;

typedef struct wsss_coco_image {
    int64_t id;
    char *file_name;      /* as given, relative to the image folder */
    char *stem;           /* the sample id */
    int width, height;
    int64_t first, count; /* its annotations: anns[order[first .. first + count)] in file order */
    char *problem;        /* NULL, or why the image is unusable (its first bad annotation) */
} wsss_coco_image;

typedef struct wsss_coco_ann {
    int64_t id, image_id, category_id; /* as in the file */
    int64_t image;                     /* index in images (-1: its image_id is not there) */
    int cls;                           /* 1..K (0: its category_id is not there) */
    uint8_t crowd;
    uint8_t kind;                      /* wsss_coco_seg_kind */
    int rle_h, rle_w;                  /* RLE: its "size" */
    size_t seg_start, seg_end;         /* the segmentation's bytes in the file */
    char *problem;                     /* NULL or what is wrong with it (without file and id) */
} wsss_coco_ann;

typedef struct wsss_coco {
    char *path;
    int64_t file_size, mtime_ns; /* of the annotation file when read (the cache's stamp) */
    wsss_file_map map;           /* the file's bytes (segmentations are read from it) */
    int num_categories;
    wsss_coco_category *categories; /* ascending id: categories[k] is class k + 1 */
    int64_t n_images, n_anns;
    wsss_coco_image *images;        /* file order */
    wsss_coco_ann *anns;            /* file order */
    int64_t *order;                 /* annotation indices grouped by image */
    int64_t n_orphans;              /* annotations ignored: image_id not in images (skip_bad) */
} wsss_coco;

/* Read an annotation file. skip_bad: annotations of unknown images are warned about (warn, or
 * stderr when NULL) and ignored instead of failing. */
int wsss_coco_read(const char *path, int skip_bad, wsss_dataset_warn_fn warn, void *warn_user, wsss_coco **out);
void wsss_coco_free(wsss_coco *c);

/* The classes of image i's annotations: present[k] = 1 for each class k (crowds included). */
void wsss_coco_image_classes(const wsss_coco *c, int64_t i, uint8_t *present);
/* Image i's semantic mask into mask[height * width] (row-major) by the rules above. WSSS_ERR if the
 * image is unusable (its problem is the message). */
int wsss_coco_rasterise(const wsss_coco *c, int64_t i, uint8_t *mask);

/* ---- the rules' primitives (exposed for tests and tools) */

/* Paint value on the pixels of a w x h row-major mask covered by the polygon of n points
 * xy[2k], xy[2k+1]; only_background: only on pixels that are 0. */
void wsss_coco_paint_polygon(const double *xy, int64_t n, int w, int h, uint8_t value, int only_background,
                             uint8_t *mask);
/* The same for RLE counts (which must sum to w * h). */
void wsss_coco_paint_rle(const int64_t *counts, int64_t n, int w, int h, uint8_t value, int only_background,
                         uint8_t *mask);
/* Decode COCO's compressed RLE string: each character minus 48 carries 5 bits, least significant
 * first, 0x20 set meaning another character follows; the last character's 0x10 bit extends the
 * sign; from the fourth count on (index > 2) a value is the difference from the count two places
 * before. *counts is malloc'd. WSSS_ERR with a message (without the file) on a character outside
 * '0'..'o', a truncated or over-long value, or a negative count. */
int wsss_coco_rle_decode(const char *s, size_t n, int64_t **counts, int64_t *n_counts);

/* ---- the mask cache */

/* The default cache of an annotation file: its path without ".json", plus ".masks" (malloc'd). */
char *wsss_coco_masks_default_dir(const char *annotations_path);
/* 1 if dir holds a cache whose stamp matches c, else 0. */
int wsss_coco_masks_current(const wsss_coco *c, const char *dir);
/* Make dir a current cache of c: nothing to do if it is one (*built = 0), else build it (*built = 1,
 * a note on stderr unless quiet). A folder that exists and is neither empty nor a cache is not
 * touched (error). An unwritable location is an error telling the user to build the cache
 * elsewhere with `wsss data coco-masks --out DIR` and to pass --coco-masks DIR. */
int wsss_coco_masks_ensure(const wsss_coco *c, const char *dir, int quiet, int *built);

#endif
