/* A COCO folder or annotation file as a dataset (dataset.h, dataset_internal.h): where its files
 * are, its samples and labels from the index (coco.h), its masks from the cache. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"
#include "wsss/coco.h"
#include "wsss/error.h"
#include "wsss/fs.h"

/* ROOT/annotations/instances_<split>.json (malloc'd), or NULL when the split is a list file. */
static char *default_annotations(const char *root, const char *split) {
    if (!root || !split[0] || strchr(split, '/')) return NULL;
    char *rel = wsss_xasprintf("annotations/instances_%s.json", split);
    char *p = wsss_path_join(root, rel);
    free(rel);
    return p;
}

int wsss_coco_detect(const char *root, const wsss_dataset_opts *o) {
    if (o->coco_annotations) return 1;
    const char *split = o->split ? o->split : "train";
    char *ann = default_annotations(root, split);
    if (!ann) return 0;
    char *rel = wsss_xasprintf("ImageSets/Segmentation/%s.txt", split);
    char *voc = wsss_path_join(root, rel);
    const int coco = wsss_path_is_file(ann) && !wsss_path_is_file(voc);
    free(rel);
    free(voc);
    free(ann);
    return coco;
}

/* The samples of the index: ids, image paths, labels, problems. */
static void fill_samples(const wsss_coco *c, const char *img_dir, wsss_dataset_source *src) {
    const int nc = c->num_categories + 1;
    src->num_classes = nc;
    src->class_names = wsss_xcalloc((size_t)nc, sizeof(char *));
    src->class_names[0] = wsss_xstrdup("background");
    for (int k = 0; k < c->num_categories; k++) src->class_names[k + 1] = wsss_xstrdup(c->categories[k].name);
    const int64_t n = c->n_images;
    src->n = n;
    src->ids = wsss_xcalloc((size_t)n + 1, sizeof(char *));
    src->image_paths = wsss_xcalloc((size_t)n + 1, sizeof(char *));
    src->problems = wsss_xcalloc((size_t)n + 1, sizeof(char *));
    src->labels = wsss_xcalloc((size_t)n + 1, (size_t)nc);
    for (int64_t i = 0; i < n; i++) {
        const wsss_coco_image *im = &c->images[i];
        src->ids[i] = wsss_xstrdup(im->stem);
        src->image_paths[i] = wsss_path_join(img_dir, im->file_name);
        if (im->problem) src->problems[i] = wsss_xstrdup(im->problem);
        wsss_coco_image_classes(c, i, src->labels + i * nc);
    }
}

static void source_free(wsss_dataset_source *src) {
    for (int k = 0; src->class_names && k < src->num_classes; k++) free(src->class_names[k]);
    for (int64_t i = 0; i < src->n; i++) {
        if (src->ids) free(src->ids[i]);
        if (src->image_paths) free(src->image_paths[i]);
        if (src->problems) free(src->problems[i]);
    }
    free(src->class_names);
    free(src->ids);
    free(src->image_paths);
    free(src->problems);
    free(src->labels);
    free(src->list_path);
    free(src->mask_dir);
    free(src->root);
    memset(src, 0, sizeof *src);
}

int wsss_coco_source_open(const char *root, const wsss_dataset_opts *o, wsss_dataset_source *src) {
    memset(src, 0, sizeof *src);
    const char *split = o->split ? o->split : "train";
    char *ann = o->coco_annotations ? wsss_xstrdup(o->coco_annotations) : default_annotations(root, split);
    WSSS_ASSERT(ann, "wsss_coco_source_open on a dataset that is not COCO");
    char *img_dir = o->coco_images ? wsss_xstrdup(o->coco_images) : root ? wsss_path_join(root, split) : NULL;
    int rc = WSSS_OK;
    if (!img_dir)
        rc = wsss_error_set("%s: where are its images? Give --coco-images DIR (or --data ROOT with the images in "
                            "ROOT/%s)", ann, split);
    else if (!wsss_path_is_dir(img_dir))
        rc = wsss_error_set("%s: COCO image folder not found (the images of %s)", img_dir, ann);
    wsss_coco *c = NULL;
    if (rc == WSSS_OK) rc = wsss_coco_read(ann, o->skip_bad, o->warn, o->warn_user, &c);
    if (rc == WSSS_OK) {
        fill_samples(c, img_dir, src);
        src->list_path = wsss_xstrdup(ann);
        if (!root) {
            char *copy = wsss_xstrdup(ann);
            src->root = wsss_xstrdup(dirname(copy));
            free(copy);
        }
    }
    if (rc == WSSS_OK && o->masks != WSSS_MASKS_NONE && !o->mask_dir) {
        /* a problem that fails the open fails it before the cache is built */
        for (int64_t i = 0; i < src->n && !o->skip_bad && rc == WSSS_OK; i++)
            if (src->problems[i]) rc = wsss_error_set("%s", src->problems[i]);
        src->mask_dir = o->coco_masks ? wsss_xstrdup(o->coco_masks) : wsss_coco_masks_default_dir(ann);
        int built;
        if (rc == WSSS_OK) rc = wsss_coco_masks_ensure(c, src->mask_dir, 0, &built);
    }
    wsss_coco_free(c);
    free(ann);
    free(img_dir);
    if (rc != WSSS_OK) source_free(src);
    return rc;
}
