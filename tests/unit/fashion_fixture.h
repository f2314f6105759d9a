/* Checks shared by the Fashion-Scenes and Fashion-Objects tests. Header-only (static inline) so each
 * test stays one executable. */
#ifndef WSSS_TEST_FASHION_FIXTURE_H
#define WSSS_TEST_FASHION_FIXTURE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/image.h"

/* Two files with the same bytes (both readable). */
static inline int fashion_same_file(const char *a, const char *b) {
    size_t na, nb;
    uint8_t *da = test_read_file(a, &na), *db = test_read_file(b, &nb);
    int same = da && db && na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return same;
}

/* Mean over R, G, B of the standard deviation (0..255 scale) of the background pixels of an S x S
 * render: mask 0 with no item pixel within `margin` (so soft item edges do not count). -1 if fewer
 * than min_pixels such pixels. A flat background gives about 0. */
static inline double fashion_background_std(const wsss_image *im, const wsss_image *mask, int margin,
                                            int64_t min_pixels) {
    const int S = im->width;
    double sum[3] = {0}, sq[3] = {0};
    int64_t nb = 0;
    for (int y = margin; y < S - margin; y++)
        for (int x = margin; x < S - margin; x++) {
            int ok = 1;
            for (int dy = -margin; dy <= margin; dy++)
                for (int dx = -margin; dx <= margin; dx++) ok &= mask->data[(y + dy) * S + x + dx] == 0;
            if (!ok) continue;
            nb++;
            for (int k = 0; k < 3; k++) {
                double v = im->data[(y * S + x) * 3 + k];
                sum[k] += v;
                sq[k] += v * v;
            }
        }
    if (nb < min_pixels) return -1;
    double sd = 0;
    for (int k = 0; k < 3; k++) sd += sqrt(fmax(0, sq[k] / nb - (sum[k] / nb) * (sum[k] / nb))) / 3;
    return sd;
}

#endif
