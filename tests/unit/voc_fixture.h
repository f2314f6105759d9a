/* Helpers for tests that build small VOC-format folders in a temporary directory. Header-only
 * (static inline functions) so each test stays one executable and may use only some. */
#ifndef WSSS_TEST_VOC_FIXTURE_H
#define WSSS_TEST_VOC_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"
#include "wsss/image.h"

static inline void vf_mkdir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void vf_mkdir(const char *fmt, ...) {
    char p[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    /* create every missing parent */
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

static inline void vf_write(const char *path, const char *text) { test_write_file(path, text, strlen(text)); }

static inline void vf_root(const char *root) {
    vf_mkdir("%s/JPEGImages", root);
    vf_mkdir("%s/SegmentationClass", root);
    vf_mkdir("%s/ImageSets/Segmentation", root);
}

/* A w x h JPEG (a gradient) at ROOT/JPEGImages/<id>.jpg. */
static inline void vf_image(const char *root, const char *id, int w, int h) {
    wsss_image im;
    wsss_image_alloc(&im, w, h, 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = im.data + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 5);
            p[1] = (uint8_t)(y * 5);
            p[2] = (uint8_t)(128 + x - y);
        }
    char path[1200];
    snprintf(path, sizeof path, "%s/JPEGImages/%s.jpg", root, id);
    if (wsss_image_write_jpeg(path, &im, 90) != WSSS_OK) {
        fprintf(stderr, "FATAL: %s\n", wsss_error_msg());
        exit(1);
    }
    wsss_image_free(&im);
}

/* A w x h palette mask: vertical bands, one per listed value (values may include 0 and 255), so
 * the classes present are exactly the listed ones. */
static inline void vf_mask(const char *root, const char *dir, const char *id, int w, int h, int n, const int *values) {
    wsss_image m;
    wsss_image_alloc(&m, w, h, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) m.data[(size_t)y * w + x] = (uint8_t)values[(size_t)x * n / w];
    char path[1200];
    snprintf(path, sizeof path, "%s/%s/%s.png", root, dir, id);
    if (wsss_image_write_mask_png(path, &m) != WSSS_OK) {
        fprintf(stderr, "FATAL: %s\n", wsss_error_msg());
        exit(1);
    }
    wsss_image_free(&m);
}

#endif
