/* Queries of an open dataset and the loading of its samples (dataset.h). */
#include <string.h>

#include "wsss/dataset.h"
#include "wsss/error.h"

/* ---- queries ---- */

int wsss_dataset_label_ids(const wsss_dataset *ds, int64_t i, int *ids) {
    WSSS_ASSERT(i >= 0 && i < ds->n, "sample index out of range");
    int m = 0;
    for (int k = 1; k < ds->num_classes; k++)
        if (ds->labels[i * ds->num_classes + k]) ids[m++] = k;
    return m;
}

void wsss_dataset_label_vector(const wsss_dataset *ds, int64_t i, float *out) {
    WSSS_ASSERT(i >= 0 && i < ds->n, "sample index out of range");
    for (int k = 1; k < ds->num_classes; k++) out[k - 1] = ds->labels[i * ds->num_classes + k] ? 1.0f : 0.0f;
}

const int64_t *wsss_dataset_class_samples(const wsss_dataset *ds, int c, int64_t *count) {
    WSSS_ASSERT(c >= 0 && c < ds->num_classes, "class index out of range");
    *count = ds->class_count[c];
    return ds->class_samples[c];
}

int64_t wsss_dataset_find(const wsss_dataset *ds, const char *id) {
    int64_t lo = 0, hi = ds->n - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int r = strcmp(ds->ids[ds->id_order[mid]], id);
        if (r == 0) return ds->id_order[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* ---- samples ---- */

int wsss_mask_classes(const wsss_image *mask, int num_classes, const char *path, uint8_t *present) {
    WSSS_ASSERT(mask->channels == 1, "mask must have one channel");
    memset(present, 0, (size_t)num_classes);
    size_t n = (size_t)mask->width * mask->height;
    for (size_t p = 0; p < n; p++) {
        int v = mask->data[p];
        if (v < num_classes) present[v] = 1;
        else if (v != WSSS_IGNORE_INDEX)
            return wsss_error_set("%s: mask value %d at pixel (x=%zu, y=%zu) is not a class id (expected 0..%d or 255)",
                                  path ? path : "mask", v, p % (size_t)mask->width, p / (size_t)mask->width,
                                  num_classes - 1);
    }
    return WSSS_OK;
}

static int check_size(const char *what_path, const wsss_image *m, int w, int h, const char *image_path) {
    if (m->width == w && m->height == h) return WSSS_OK;
    return wsss_error_set("%s: size %dx%d differs from its image %s (%dx%d)", what_path, m->width, m->height,
                          image_path, w, h);
}

int wsss_dataset_load(const wsss_dataset *ds, int64_t i, int what, wsss_sample *out) {
    WSSS_ASSERT(i >= 0 && i < ds->n, "sample index out of range");
    memset(out, 0, sizeof *out);
    const char *mpath = (what & WSSS_LOAD_MASK) && ds->mask_paths ? ds->mask_paths[i] : NULL;
    const char *spath = (what & WSSS_LOAD_SALIENCY) && ds->saliency_paths ? ds->saliency_paths[i] : NULL;
    int w = 0, h = 0, rc = WSSS_OK;
    if (what & WSSS_LOAD_IMAGE) {
        rc = wsss_image_read_rgb(ds->image_paths[i], &out->image);
        w = out->image.width;
        h = out->image.height;
    } else if (mpath || spath) {
        rc = wsss_image_read_size(ds->image_paths[i], &w, &h);
    }
    if (rc == WSSS_OK && mpath) {
        uint8_t present[WSSS_MAX_CLASSES + 1];
        rc = wsss_image_read_mask(mpath, &out->mask);
        if (rc == WSSS_OK) rc = check_size(mpath, &out->mask, w, h, ds->image_paths[i]);
        if (rc == WSSS_OK) rc = wsss_mask_classes(&out->mask, ds->num_classes, mpath, present);
    }
    if (rc == WSSS_OK && spath) {
        rc = wsss_image_read_mask(spath, &out->saliency); /* grey values 0..255 */
        if (rc == WSSS_OK) rc = check_size(spath, &out->saliency, w, h, ds->image_paths[i]);
    }
    if (rc != WSSS_OK) wsss_sample_free(out);
    return rc;
}

void wsss_sample_free(wsss_sample *s) {
    if (!s) return;
    wsss_image_free(&s->image);
    wsss_image_free(&s->mask);
    wsss_image_free(&s->saliency);
}
