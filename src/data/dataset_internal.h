/* What another format hands to wsss_dataset_open (dataset.c), which finishes the dataset as it does a
 * VOC folder: image files checked, mask and saliency paths, problems fatal or skipped, the class
 * index. Private to src/data. */
#ifndef WSSS_DATA_DATASET_INTERNAL_H
#define WSSS_DATA_DATASET_INTERNAL_H

#include <stdint.h>

#include "wsss/dataset.h"

typedef struct wsss_dataset_source {
    char *root;         /* the dataset's root when none was given (the annotation file's folder) */
    int num_classes;
    char **class_names; /* [num_classes], background first */
    int64_t n;
    char **ids, **image_paths; /* [n] */
    uint8_t *labels;    /* [n * num_classes] */
    char **problems;    /* [n]: NULL, or why sample i is unusable */
    char *list_path;    /* what lists the samples (for messages) */
    char *mask_dir;     /* the format's masks when opts->mask_dir is not given, or NULL */
} wsss_dataset_source;

/* 1 if (root, opts) name a COCO dataset (dataset.h), else 0. root may be NULL. */
int wsss_coco_detect(const char *root, const wsss_dataset_opts *o);
/* Read a COCO dataset's annotation file and, unless o->masks is NONE or o->mask_dir is given, make
 * its mask cache current. Without o->skip_bad the first unusable image fails the open before the
 * cache is built. Everything in src is malloc'd and handed over. */
int wsss_coco_source_open(const char *root, const wsss_dataset_opts *o, wsss_dataset_source *src);

#endif
