/* The semantic mask of a COCO image (coco.h): polygons by the even-odd rule at pixel centres, RLE
 * runs in column-major order, annotations in file order, crowds last and only on background. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/coco.h"
#include "wsss/error.h"
#include "wsss/json_scan.h"

static void paint(uint8_t *px, uint8_t value, int only_background) {
    if (!only_background || *px == 0) *px = value;
}

/* The smallest x whose pixel centre x + 0.5 is >= c, within [0, w] (w: no pixel of the row). The
 * first guess may be off by one where c - 0.5 rounds; the exact test settles it. */
static int first_centre_from(double c, int w) {
    if (c <= 0.5) return 0;
    if (c > w + 0.5) return w;
    int x = (int)ceil(c - 0.5);
    while (x + 0.5 < c) x++;
    while (x > 0 && x - 0.5 >= c) x--;
    return x < w ? x : w;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void wsss_coco_paint_polygon(const double *xy, int64_t n, int w, int h, uint8_t value, int only_background,
                             uint8_t *mask) {
    if (n < 1) return;
    double ymin = xy[1], ymax = xy[1];
    for (int64_t k = 1; k < n; k++) {
        ymin = fmin(ymin, xy[2 * k + 1]);
        ymax = fmax(ymax, xy[2 * k + 1]);
    }
    /* rows whose centre can lie between the polygon's lowest and highest points (|y| <= 1e6) */
    const int y0 = ymin < 1 ? 0 : (int)floor(ymin) - 1, y1 = ymax > h ? h - 1 : (int)ceil(ymax);
    double *xs = wsss_xmalloc(sizeof(double) * (size_t)n);
    for (int y = y0; y <= y1 && y < h; y++) {
        const double py = y + 0.5;
        int64_t m = 0;
        for (int64_t k = 0; k < n; k++) {
            const int64_t k1 = k + 1 < n ? k + 1 : 0;
            const double xa = xy[2 * k], ya = xy[2 * k + 1], xb = xy[2 * k1], yb = xy[2 * k1 + 1];
            /* the edge crosses the row: exactly one end strictly below the centre line */
            if ((ya > py) != (yb > py)) xs[m++] = xa + (py - ya) * (xb - xa) / (yb - ya);
        }
        qsort(xs, (size_t)m, sizeof(double), cmp_double);
        /* inside = an odd number of crossings right of the centre: x + 0.5 in [xs[2j], xs[2j+1]) */
        for (int64_t j = 0; j + 1 < m; j += 2) {
            const int xa = first_centre_from(xs[j], w), xb = first_centre_from(xs[j + 1], w);
            for (int x = xa; x < xb; x++) paint(&mask[(size_t)y * (size_t)w + (size_t)x], value, only_background);
        }
    }
    free(xs);
}

void wsss_coco_paint_rle(const int64_t *counts, int64_t n, int w, int h, uint8_t value, int only_background,
                         uint8_t *mask) {
    const int64_t total = (int64_t)w * h;
    int64_t p = 0;
    for (int64_t j = 0; j < n && p < total; j++) {
        const int64_t run = counts[j] < total - p ? counts[j] : total - p;
        if (j & 1)
            for (int64_t q = p; q < p + run; q++) /* column-major: q = x * h + y */
                paint(&mask[(size_t)(q % h) * (size_t)w + (size_t)(q / h)], value, only_background);
        p += run;
    }
}

int wsss_coco_rle_decode(const char *s, size_t n, int64_t **counts, int64_t *n_counts) {
    int64_t *cnt = wsss_xmalloc(sizeof(int64_t) * (n + 1));
    int64_t m = 0;
    size_t p = 0;
    *counts = NULL;
    *n_counts = 0;
    while (p < n) {
        int64_t x = 0;
        int k = 0, more = 1;
        while (more) {
            if (p >= n) {
                free(cnt);
                return wsss_error_set("RLE string ends inside count %lld", (long long)m);
            }
            const int c = (unsigned char)s[p] - 48;
            if (c < 0 || c > 63) {
                free(cnt);
                return wsss_error_set("RLE string: byte %zu ('%c') is outside '0'..'o'", p,
                                      s[p] >= 0x20 && s[p] < 0x7f ? s[p] : '?');
            }
            if (k == 12) { /* 60 bits */
                free(cnt);
                return wsss_error_set("RLE string: count %lld is longer than 12 characters", (long long)m);
            }
            x |= (int64_t)(c & 0x1f) << (5 * k);
            more = c & 0x20;
            p++;
            k++;
            if (!more && (c & 0x10)) x = (int64_t)((uint64_t)x | (~(uint64_t)0 << (5 * k))); /* sign */
        }
        if (m > 2 && __builtin_add_overflow(x, cnt[m - 2], &x)) {
            free(cnt);
            return wsss_error_set("RLE string: count %lld is too large", (long long)m);
        }
        if (x < 0) {
            free(cnt);
            return wsss_error_set("RLE string: count %lld is negative (%lld)", (long long)m, (long long)x);
        }
        cnt[m++] = x;
    }
    *counts = cnt;
    *n_counts = m;
    return WSSS_OK;
}

/* ---- one image */

typedef struct raster_buf {
    wsss_json_scan *sc;
    double *xy;
    int64_t *counts;
    size_t xy_cap, counts_cap;
} raster_buf;

static void push_double(raster_buf *b, size_t n, double v) {
    if (n == b->xy_cap) {
        b->xy_cap = b->xy_cap ? 2 * b->xy_cap : 256;
        b->xy = wsss_xrealloc(b->xy, sizeof(double) * b->xy_cap);
    }
    b->xy[n] = v;
}

static void push_count(raster_buf *b, size_t n, int64_t v) {
    if (n == b->counts_cap) {
        b->counts_cap = b->counts_cap ? 2 * b->counts_cap : 256;
        b->counts = wsss_xrealloc(b->counts, sizeof(int64_t) * b->counts_cap);
    }
    b->counts[n] = v;
}

static int paint_polygons(raster_buf *b, int w, int h, uint8_t value, int only_background, uint8_t *mask) {
    int k;
    wsss_json_scan_enter(b->sc, WSSS_JSON_ARRAY);
    while ((k = wsss_json_scan_next(b->sc)) == 1) {
        size_t n = 0;
        int k2;
        if (wsss_json_scan_enter(b->sc, WSSS_JSON_ARRAY)) return WSSS_ERR;
        wsss_json_number num;
        while ((k2 = wsss_json_scan_next_number(b->sc, &num)) == 1) push_double(b, n++, num.number);
        if (k2 != 0) return k2 == 2 ? wsss_error_set("a polygon holds a value that is not a number") : WSSS_ERR;
        wsss_coco_paint_polygon(b->xy, (int64_t)(n / 2), w, h, value, only_background, mask);
    }
    return k < 0 ? WSSS_ERR : WSSS_OK;
}

static int paint_rle(raster_buf *b, int w, int h, uint8_t value, int only_background, uint8_t *mask) {
    int k;
    wsss_json_scan_enter(b->sc, WSSS_JSON_OBJECT);
    while ((k = wsss_json_scan_next(b->sc)) == 1) {
        wsss_json_type t;
        if (strcmp(wsss_json_scan_key(b->sc, NULL), "counts") != 0) {
            if (wsss_json_scan_skip(b->sc, NULL, NULL)) return WSSS_ERR;
            continue;
        }
        if (wsss_json_scan_peek(b->sc, &t)) return WSSS_ERR;
        if (t == WSSS_JSON_STRING) {
            const char *s;
            size_t n;
            int64_t *counts, nc;
            if (wsss_json_scan_string(b->sc, &s, &n) || wsss_coco_rle_decode(s, n, &counts, &nc)) return WSSS_ERR;
            wsss_coco_paint_rle(counts, nc, w, h, value, only_background, mask);
            free(counts);
            continue;
        }
        size_t n = 0;
        int k2;
        if (wsss_json_scan_enter(b->sc, WSSS_JSON_ARRAY)) return WSSS_ERR;
        wsss_json_number num;
        while ((k2 = wsss_json_scan_next_number(b->sc, &num)) == 1) {
            int64_t v;
            if (wsss_json_number_int64(&num, &v)) return wsss_error_set("RLE counts[%zu] is not an integer", n);
            push_count(b, n++, v);
        }
        if (k2 != 0) return k2 == 2 ? wsss_error_set("RLE counts[%zu] is not a number", n) : WSSS_ERR;
        wsss_coco_paint_rle(b->counts, (int64_t)n, w, h, value, only_background, mask);
    }
    return k < 0 ? WSSS_ERR : WSSS_OK;
}

int wsss_coco_rasterise(const wsss_coco *c, int64_t i, uint8_t *mask) {
    WSSS_ASSERT(i >= 0 && i < c->n_images, "image index out of range");
    const wsss_coco_image *im = &c->images[i];
    if (im->problem) return wsss_error_set("%s", im->problem);
    const int w = im->width, h = im->height;
    memset(mask, 0, (size_t)w * (size_t)h);
    raster_buf b = {wsss_json_scan_new("", 0), NULL, NULL, 0, 0};
    int rc = WSSS_OK;
    /* pass 0: objects in file order, later over earlier; pass 1: crowds, on background only */
    for (int crowd = 0; crowd < 2 && rc == WSSS_OK; crowd++)
        for (int64_t k = 0; k < im->count && rc == WSSS_OK; k++) {
            const wsss_coco_ann *a = &c->anns[c->order[im->first + k]];
            if (a->crowd != crowd) continue;
            const uint8_t value = crowd ? WSSS_IGNORE_INDEX : (uint8_t)a->cls;
            wsss_json_scan_reset(b.sc, (const char *)c->map.data + a->seg_start, a->seg_end - a->seg_start,
                                 a->seg_start);
            rc = a->kind == WSSS_COCO_POLYGONS ? paint_polygons(&b, w, h, value, crowd, mask)
                                               : paint_rle(&b, w, h, value, crowd, mask);
            if (rc != WSSS_OK) wsss_error_prefix("%s: annotation %lld", c->path, (long long)a->id);
        }
    wsss_json_scan_free(b.sc);
    free(b.xy);
    free(b.counts);
    return rc;
}
