/* A COCO annotation file into the index of coco.h: one pass of the pull scanner over the mapped
 * file, then ids resolved, duplicates refused and annotations grouped by image. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wsss/coco.h"
#include "wsss/error.h"
#include "wsss/json_scan.h"

#define MAX_SIDE 100000                /* image and RLE sides: 1..MAX_SIDE */
#define MAX_PIXELS ((int64_t)1 << 28)  /* as the image decoders allow: a mask is allocated per image */
#define RELEASE_EVERY ((size_t)16 << 20) /* give back the scanned front of the file this often */

typedef struct reader {
    wsss_coco *c;
    wsss_json_scan *sc;
    int64_t cap_images, cap_anns;
    int cap_categories;
    size_t released;
    int64_t ann_k;    /* the annotation being read: its index and byte offset, named in messages */
    size_t ann_at;
    char ann_name[96];
    const wsss_coco_ann *cur; /* the annotation being read, or NULL */
    int cur_has_id;           /* its id was read */
} reader;

static int fail(const reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const reader *r, const char *fmt, ...) {
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wsss_error_set("%s: %s", r->c->path, msg);
}

/* The record of a message: NULL stands for the annotation being read (named only when needed). */
static const char *record_name(reader *r, const char *record) {
    if (record) return record;
    snprintf(r->ann_name, sizeof r->ann_name, "annotations[%lld] (byte %zu)", (long long)r->ann_k, r->ann_at);
    return r->ann_name;
}

/* A scanner error (bad JSON) with the file's name in front, and the annotation it is in. */
static int json_fail(reader *r) {
    if (r->cur && r->cur_has_id) return wsss_error_prefix("%s: annotation %lld", r->c->path, (long long)r->cur->id);
    if (r->cur) return wsss_error_prefix("%s: %s", r->c->path, record_name(r, NULL));
    return wsss_error_prefix("%s", r->c->path);
}

static const char *a_type(wsss_json_type t) {
    switch (t) {
    case WSSS_JSON_NULL: return "null";
    case WSSS_JSON_BOOL: return "a boolean";
    case WSSS_JSON_NUMBER: return "a number";
    case WSSS_JSON_STRING: return "a string";
    case WSSS_JSON_ARRAY: return "an array";
    case WSSS_JSON_OBJECT: return "an object";
    }
    return "?";
}

/* The first problem of an annotation wins; later ones are not kept. */
static void note(char **problem, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(char **problem, const char *fmt, ...) {
    if (*problem) return;
    va_list ap;
    va_start(ap, fmt);
    *problem = wsss_xvasprintf(fmt, ap);
    va_end(ap);
}

/* The next value as an exact integer: WSSS_OK, 1 (a value of another kind, already consumed;
 * *type says what it was) or WSSS_ERR (bad JSON). */
static int read_int(reader *r, int64_t *out, wsss_json_type *type) {
    wsss_json_number num;
    if (wsss_json_scan_peek(r->sc, type)) return WSSS_ERR;
    if (*type != WSSS_JSON_NUMBER) return wsss_json_scan_skip(r->sc, NULL, NULL) ? WSSS_ERR : 1;
    if (wsss_json_scan_number(r->sc, &num)) return WSSS_ERR;
    return wsss_json_number_int64(&num, out) == WSSS_OK ? WSSS_OK : 1;
}

/* A required integer field of a record: anything else is fatal. */
static int record_int(reader *r, const char *record, const char *field, int64_t *out) {
    wsss_json_type t;
    int k = read_int(r, out, &t);
    if (k == 1) return fail(r, "%s: \"%s\" is %s, expected an integer", record_name(r, record), field,
                            t == WSSS_JSON_NUMBER ? "a number with a fraction" : a_type(t));
    return k == WSSS_OK ? WSSS_OK : json_fail(r);
}

/* Members of one record: the scanner keeps no names, so a repeated member is found here. */
static int seen_once(reader *r, const char *record, unsigned *seen, int bit, const char *field) {
    if (*seen & (1u << bit)) return fail(r, "%s: member \"%s\" given twice", record_name(r, record), field);
    *seen |= 1u << bit;
    return WSSS_OK;
}

/* ---- categories */

static int read_category(reader *r, int64_t k) {
    wsss_coco *c = r->c;
    char record[64];
    snprintf(record, sizeof record, "categories[%lld]", (long long)k);
    wsss_json_type t;
    if (wsss_json_scan_peek(r->sc, &t)) return json_fail(r);
    if (t != WSSS_JSON_OBJECT) return fail(r, "%s is %s, expected an object", record, a_type(t));
    if (c->num_categories == r->cap_categories) {
        r->cap_categories = r->cap_categories ? 2 * r->cap_categories : 64;
        c->categories = wsss_xrealloc(c->categories, sizeof *c->categories * (size_t)r->cap_categories);
    }
    wsss_coco_category *cat = &c->categories[c->num_categories++];
    memset(cat, 0, sizeof *cat);
    unsigned seen = 0;
    int m;
    wsss_json_scan_enter(r->sc, WSSS_JSON_OBJECT);
    while ((m = wsss_json_scan_next(r->sc)) == 1) {
        const char *key = wsss_json_scan_key(r->sc, NULL);
        if (strcmp(key, "id") == 0) {
            if (seen_once(r, record, &seen, 0, key) || record_int(r, record, "id", &cat->id)) return WSSS_ERR;
        } else if (strcmp(key, "name") == 0) {
            const char *s;
            size_t n;
            if (seen_once(r, record, &seen, 1, key)) return WSSS_ERR;
            if (wsss_json_scan_peek(r->sc, &t)) return json_fail(r);
            if (t != WSSS_JSON_STRING) return fail(r, "%s: \"name\" is %s, expected a string", record, a_type(t));
            if (wsss_json_scan_string(r->sc, &s, &n)) return json_fail(r);
            if (n == 0 || strlen(s) != n) return fail(r, "%s: empty name or a name with a NUL character", record);
            cat->name = wsss_xstrdup(s);
        } else if (wsss_json_scan_skip(r->sc, NULL, NULL)) {
            return json_fail(r);
        }
    }
    if (m < 0) return json_fail(r);
    if (seen != 3) return fail(r, "%s: no \"%s\"", record, seen & 1 ? "name" : "id");
    return WSSS_OK;
}

/* ---- images */

/* The sample id of a file name: no folder, no extension. */
static char *stem_of(const char *file_name) {
    const char *b = strrchr(file_name, '/');
    b = b ? b + 1 : file_name;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    char *s = wsss_xmalloc(n + 1);
    memcpy(s, b, n);
    s[n] = 0;
    return s;
}

/* A file name stays inside the image folder: relative, without ".." parts. */
static int safe_file_name(const char *s) {
    if (s[0] == '/' || strcmp(s, "..") == 0 || strncmp(s, "../", 3) == 0 || strstr(s, "/../")) return 0;
    size_t n = strlen(s);
    return !(n >= 3 && strcmp(s + n - 3, "/..") == 0);
}

static int read_image_member(reader *r, wsss_coco_image *im, const char *record, unsigned *seen) {
    const char *key = wsss_json_scan_key(r->sc, NULL);
    static const char *const fields[] = {"id", "file_name", "width", "height"};
    int f = -1;
    for (int k = 0; k < 4; k++)
        if (strcmp(key, fields[k]) == 0) f = k;
    if (f < 0) return wsss_json_scan_skip(r->sc, NULL, NULL) ? json_fail(r) : WSSS_OK;
    if (seen_once(r, record, seen, f, key)) return WSSS_ERR;
    if (f == 1) {
        wsss_json_type t;
        const char *s;
        size_t n;
        if (wsss_json_scan_peek(r->sc, &t)) return json_fail(r);
        if (t != WSSS_JSON_STRING) return fail(r, "%s: \"file_name\" is %s, expected a string", record, a_type(t));
        if (wsss_json_scan_string(r->sc, &s, &n)) return json_fail(r);
        if (n == 0 || strlen(s) != n || !safe_file_name(s))
            return fail(r, "%s: file_name \"%s\" is not a relative path inside the image folder", record, s);
        im->file_name = wsss_xstrdup(s);
        im->stem = stem_of(s);
        if (!im->stem[0]) return fail(r, "%s: file_name \"%s\" has no name before its extension", record, s);
        return WSSS_OK;
    }
    int64_t v; /* fields[f], not key: reading the value may reuse the key's buffer */
    if (record_int(r, record, fields[f], &v)) return WSSS_ERR;
    if (f == 0) {
        im->id = v;
    } else {
        if (v < 1 || v > MAX_SIDE)
            return fail(r, "%s: %s %lld out of range (expected 1 to %d)", record, fields[f], (long long)v, MAX_SIDE);
        *(f == 2 ? &im->width : &im->height) = (int)v;
    }
    return WSSS_OK;
}

static int read_image(reader *r, int64_t k) {
    wsss_coco *c = r->c;
    char record[64];
    snprintf(record, sizeof record, "images[%lld]", (long long)k);
    wsss_json_type t;
    if (wsss_json_scan_peek(r->sc, &t)) return json_fail(r);
    if (t != WSSS_JSON_OBJECT) return fail(r, "%s is %s, expected an object", record, a_type(t));
    if (c->n_images == r->cap_images) {
        r->cap_images = r->cap_images ? 2 * r->cap_images : 1024;
        c->images = wsss_xrealloc(c->images, sizeof *c->images * (size_t)r->cap_images);
    }
    wsss_coco_image *im = &c->images[c->n_images++];
    memset(im, 0, sizeof *im);
    unsigned seen = 0;
    int m;
    wsss_json_scan_enter(r->sc, WSSS_JSON_OBJECT);
    while ((m = wsss_json_scan_next(r->sc)) == 1)
        if (read_image_member(r, im, record, &seen)) return WSSS_ERR;
    if (m < 0) return json_fail(r);
    static const char *const fields[] = {"id", "file_name", "width", "height"};
    for (int f = 0; f < 4; f++)
        if (!(seen & (1u << f))) return fail(r, "%s: no \"%s\"", record, fields[f]);
    if ((int64_t)im->width * im->height > MAX_PIXELS)
        return fail(r, "%s: %d x %d pixels, more than an image may have (%lld)", record, im->width, im->height,
                    (long long)MAX_PIXELS);
    return WSSS_OK;
}

/* ---- segmentations: checked here, decoded again by the rasteriser */

static int read_polygons(reader *r, char **problem) {
    wsss_json_scan *sc = r->sc;
    wsss_json_type t;
    int k, j = 0;
    wsss_json_scan_enter(sc, WSSS_JSON_ARRAY);
    while ((k = wsss_json_scan_next(sc)) == 1) {
        if (wsss_json_scan_peek(sc, &t)) return WSSS_ERR;
        if (t != WSSS_JSON_ARRAY) {
            note(problem, "segmentation[%d] is %s, expected an array of coordinates", j++, a_type(t));
            if (wsss_json_scan_skip(sc, NULL, NULL)) return WSSS_ERR;
            continue;
        }
        int64_t m = 0;
        int k2;
        wsss_json_number num;
        wsss_json_scan_enter(sc, WSSS_JSON_ARRAY);
        while ((k2 = wsss_json_scan_next_number(sc, &num)) > 0) {
            if (k2 == 2) {
                if (wsss_json_scan_peek(sc, &t)) return WSSS_ERR;
                note(problem, "segmentation[%d][%lld] is %s, expected a coordinate", j, (long long)m, a_type(t));
                if (wsss_json_scan_skip(sc, NULL, NULL)) return WSSS_ERR;
            } else if (fabs(num.number) > WSSS_COCO_MAX_COORD) {
                note(problem, "segmentation[%d][%lld] = %g is beyond +-%g", j, (long long)m, num.number,
                     WSSS_COCO_MAX_COORD);
            }
            m++;
        }
        if (k2 < 0) return WSSS_ERR;
        if (m % 2)
            note(problem, "segmentation[%d] has %lld coordinates (an odd number; expected x,y pairs)", j, (long long)m);
        j++;
    }
    return k < 0 ? WSSS_ERR : WSSS_OK;
}

/* RLE "counts": a list of integers or the compressed string; their sum into *sum (-1: invalid). */
static int read_counts(reader *r, int64_t *sum, char **problem) {
    wsss_json_scan *sc = r->sc;
    wsss_json_type t;
    *sum = 0;
    if (wsss_json_scan_peek(sc, &t)) return WSSS_ERR;
    if (t == WSSS_JSON_STRING) {
        const char *s;
        size_t n;
        int64_t *counts, nc;
        if (wsss_json_scan_string(sc, &s, &n)) return WSSS_ERR;
        if (wsss_coco_rle_decode(s, n, &counts, &nc) != WSSS_OK) {
            note(problem, "%s", wsss_error_msg());
            *sum = -1;
            return WSSS_OK;
        }
        for (int64_t i = 0; i < nc && *sum >= 0; i++) *sum = counts[i] > INT64_MAX - *sum ? -1 : *sum + counts[i];
        free(counts);
        return WSSS_OK;
    }
    if (t != WSSS_JSON_ARRAY) {
        note(problem, "RLE counts is %s, expected an array of integers or a string", a_type(t));
        *sum = -1;
        return wsss_json_scan_skip(sc, NULL, NULL);
    }
    int k, i = 0;
    wsss_json_number num;
    wsss_json_scan_enter(sc, WSSS_JSON_ARRAY);
    while ((k = wsss_json_scan_next_number(sc, &num)) > 0) {
        int64_t v = -1;
        if (k == 2 && wsss_json_scan_skip(sc, NULL, NULL)) return WSSS_ERR;
        if (k == 2 || wsss_json_number_int64(&num, &v) != WSSS_OK || v < 0) {
            note(problem, "RLE counts[%d] is not a count (expected an integer >= 0)", i);
            *sum = -1;
        } else if (*sum >= 0) {
            *sum = v > INT64_MAX - *sum ? -1 : *sum + v;
        }
        i++;
    }
    return k < 0 ? WSSS_ERR : WSSS_OK;
}

/* RLE "size": [height, width]. */
static int read_size(reader *r, wsss_coco_ann *a, char **problem) {
    wsss_json_scan *sc = r->sc;
    wsss_json_type t;
    int64_t v[2] = {-1, -1};
    int k, i = 0;
    if (wsss_json_scan_peek(sc, &t)) return WSSS_ERR;
    if (t == WSSS_JSON_ARRAY) {
        wsss_json_scan_enter(sc, WSSS_JSON_ARRAY);
        while ((k = wsss_json_scan_next(sc)) == 1) {
            int64_t x = -1;
            if (read_int(r, &x, &t) == WSSS_ERR) return WSSS_ERR;
            if (i < 2) v[i] = x;
            i++;
        }
        if (k < 0) return WSSS_ERR;
    } else if (wsss_json_scan_skip(sc, NULL, NULL)) {
        return WSSS_ERR;
    }
    if (i != 2 || v[0] < 1 || v[0] > MAX_SIDE || v[1] < 1 || v[1] > MAX_SIDE) {
        note(problem, "RLE size is not [height, width] (expected 2 integers from 1 to %d)", MAX_SIDE);
        return WSSS_OK;
    }
    a->rle_h = (int)v[0];
    a->rle_w = (int)v[1];
    return WSSS_OK;
}

static int read_rle(reader *r, wsss_coco_ann *a, char **problem) {
    wsss_json_scan *sc = r->sc;
    int64_t sum = -1;
    int k, have_counts = 0, have_size = 0;
    wsss_json_scan_enter(sc, WSSS_JSON_OBJECT);
    while ((k = wsss_json_scan_next(sc)) == 1) {
        const char *key = wsss_json_scan_key(sc, NULL);
        int counts = strcmp(key, "counts") == 0, size = strcmp(key, "size") == 0;
        if ((counts && have_counts) || (size && have_size)) note(problem, "RLE member \"%s\" given twice", key);
        if (counts && read_counts(r, &sum, problem)) return WSSS_ERR;
        if (size && read_size(r, a, problem)) return WSSS_ERR;
        if (!counts && !size && wsss_json_scan_skip(sc, NULL, NULL)) return WSSS_ERR;
        have_counts |= counts;
        have_size |= size;
    }
    if (k < 0) return WSSS_ERR;
    if (!have_counts || !have_size) note(problem, "RLE without \"%s\"", have_counts ? "size" : "counts");
    else if (sum >= 0 && a->rle_h > 0 && sum != (int64_t)a->rle_h * a->rle_w)
        note(problem, "RLE counts sum to %lld, expected height x width = %d x %d = %lld", (long long)sum, a->rle_h,
             a->rle_w, (long long)a->rle_h * a->rle_w);
    return WSSS_OK;
}

static int read_segmentation(reader *r, wsss_coco_ann *a, char **problem) {
    wsss_json_type t;
    if (wsss_json_scan_peek(r->sc, &t)) return WSSS_ERR;
    a->seg_start = wsss_json_scan_pos(r->sc);
    int rc;
    if (t == WSSS_JSON_ARRAY) {
        a->kind = WSSS_COCO_POLYGONS;
        rc = read_polygons(r, problem);
    } else if (t == WSSS_JSON_OBJECT) {
        a->kind = WSSS_COCO_RLE;
        rc = read_rle(r, a, problem);
    } else {
        note(problem, "segmentation is %s, expected polygons (an array of coordinate arrays) or an RLE object",
             a_type(t));
        rc = wsss_json_scan_skip(r->sc, NULL, NULL);
    }
    a->seg_end = wsss_json_scan_pos(r->sc);
    return rc;
}

/* ---- annotations */

static int read_ann_member(reader *r, wsss_coco_ann *a, const char *record, unsigned *seen, char **problem) {
    const char *key = wsss_json_scan_key(r->sc, NULL);
    static const char *const fields[] = {"id", "image_id", "category_id", "iscrowd", "segmentation"};
    int f = -1;
    for (int k = 0; k < 5; k++)
        if (strcmp(key, fields[k]) == 0) f = k;
    if (f < 0) return wsss_json_scan_skip(r->sc, NULL, NULL) ? json_fail(r) : WSSS_OK;
    if (seen_once(r, record, seen, f, key)) return WSSS_ERR;
    if (f == 4) return read_segmentation(r, a, problem) ? json_fail(r) : WSSS_OK;
    if (f < 3) {
        const int rc = record_int(r, record, fields[f], f == 0 ? &a->id : f == 1 ? &a->image_id : &a->category_id);
        r->cur_has_id |= f == 0 && rc == WSSS_OK;
        return rc;
    }
    int64_t v;
    wsss_json_type t;
    int k = read_int(r, &v, &t);
    if (k == WSSS_ERR) return json_fail(r);
    if (k == 1 || (v != 0 && v != 1)) note(problem, "iscrowd is not 0 or 1");
    else a->crowd = (uint8_t)v;
    return WSSS_OK;
}

static int read_ann(reader *r, int64_t k) {
    wsss_coco *c = r->c;
    wsss_json_type t;
    if (wsss_json_scan_peek(r->sc, &t)) return json_fail(r);
    r->ann_k = k;
    r->ann_at = wsss_json_scan_pos(r->sc);
    if (t != WSSS_JSON_OBJECT) return fail(r, "%s is %s, expected an object", record_name(r, NULL), a_type(t));
    if (c->n_anns == r->cap_anns) {
        r->cap_anns = r->cap_anns ? 2 * r->cap_anns : 4096;
        c->anns = wsss_xrealloc(c->anns, sizeof *c->anns * (size_t)r->cap_anns);
    }
    wsss_coco_ann *a = &c->anns[c->n_anns++];
    memset(a, 0, sizeof *a);
    unsigned seen = 0;
    int m;
    r->cur = a;
    r->cur_has_id = 0;
    wsss_json_scan_enter(r->sc, WSSS_JSON_OBJECT);
    while ((m = wsss_json_scan_next(r->sc)) == 1)
        if (read_ann_member(r, a, NULL, &seen, &a->problem)) return WSSS_ERR;
    if (m < 0) return json_fail(r);
    r->cur = NULL;
    static const char *const fields[] = {"id", "image_id", "category_id", "iscrowd", "segmentation"};
    for (int f = 0; f < 5; f++)
        if (f != 3 && !(seen & (1u << f))) {
            if (f == 0) return fail(r, "%s: no \"id\"", record_name(r, NULL));
            return fail(r, "annotation %lld: no \"%s\"", (long long)a->id, fields[f]);
        }
    const size_t pos = wsss_json_scan_pos(r->sc);
    if (pos - r->released > RELEASE_EVERY) {
        wsss_file_map_release(&c->map, pos);
        r->released = pos;
    }
    return WSSS_OK;
}

/* One of the three arrays of records. */
static int read_records(reader *r, const char *name, int (*one)(reader *, int64_t)) {
    wsss_json_type t;
    if (wsss_json_scan_peek(r->sc, &t)) return json_fail(r);
    if (t != WSSS_JSON_ARRAY) return fail(r, "\"%s\" is %s, expected an array", name, a_type(t));
    wsss_json_scan_enter(r->sc, WSSS_JSON_ARRAY);
    int m;
    int64_t k = 0;
    while ((m = wsss_json_scan_next(r->sc)) == 1)
        if (one(r, k++)) return WSSS_ERR;
    return m < 0 ? json_fail(r) : WSSS_OK;
}

static int read_top(reader *r) {
    wsss_json_type t;
    if (wsss_json_scan_peek(r->sc, &t)) return json_fail(r);
    if (t != WSSS_JSON_OBJECT)
        return fail(r, "the document is %s, expected an object with images, annotations and categories", a_type(t));
    static const char *const names[] = {"images", "annotations", "categories"};
    unsigned seen = 0;
    int m;
    wsss_json_scan_enter(r->sc, WSSS_JSON_OBJECT);
    while ((m = wsss_json_scan_next(r->sc)) == 1) {
        const char *key = wsss_json_scan_key(r->sc, NULL);
        int f = -1, rc;
        for (int k = 0; k < 3; k++)
            if (strcmp(key, names[k]) == 0) f = k;
        if (f < 0) {
            if (wsss_json_scan_skip(r->sc, NULL, NULL)) return json_fail(r);
            continue;
        }
        if (seen_once(r, "the document", &seen, f, key)) return WSSS_ERR;
        rc = read_records(r, names[f], f == 0 ? read_image : f == 1 ? read_ann : read_category);
        if (rc) return WSSS_ERR;
    }
    if (m < 0 || wsss_json_scan_finish(r->sc)) return json_fail(r);
    for (int f = 0; f < 3; f++)
        if (!(seen & (1u << f))) return fail(r, "no \"%s\" array", names[f]);
    return WSSS_OK;
}

/* ---- ids resolved, duplicates refused, annotations grouped by image */

static int cmp_category(const void *a, const void *b) {
    const int64_t x = ((const wsss_coco_category *)a)->id, y = ((const wsss_coco_category *)b)->id;
    return (x > y) - (x < y);
}

static int cmp_category_name(const void *a, const void *b, void *cats) {
    const wsss_coco_category *c = cats;
    return strcmp(c[*(const int *)a].name, c[*(const int *)b].name);
}

static int cmp_image_id(const void *a, const void *b, void *images) {
    const wsss_coco_image *im = images;
    const int64_t x = im[*(const int64_t *)a].id, y = im[*(const int64_t *)b].id;
    return (x > y) - (x < y);
}

static int cmp_image_stem(const void *a, const void *b, void *images) {
    const wsss_coco_image *im = images;
    return strcmp(im[*(const int64_t *)a].stem, im[*(const int64_t *)b].stem);
}

static int cmp_ann_id(const void *a, const void *b, void *anns) {
    const wsss_coco_ann *an = anns;
    const int64_t x = an[*(const int64_t *)a].id, y = an[*(const int64_t *)b].id;
    return (x > y) - (x < y);
}

static int check_categories(reader *r) {
    wsss_coco *c = r->c;
    const int K = c->num_categories;
    if (K == 0) return fail(r, "no categories (expected at least one)");
    if (K > WSSS_MAX_CLASSES - 1)
        return fail(r, "%d categories; at most %d fit in 8-bit masks (0 is background, 255 means ignore)", K,
                    WSSS_MAX_CLASSES - 1);
    qsort(c->categories, (size_t)K, sizeof *c->categories, cmp_category);
    for (int k = 1; k < K; k++)
        if (c->categories[k].id == c->categories[k - 1].id)
            return fail(r, "category id %lld appears twice", (long long)c->categories[k].id);
    int idx[WSSS_MAX_CLASSES], rc = WSSS_OK;
    for (int k = 0; k < K; k++) idx[k] = k;
    qsort_r(idx, (size_t)K, sizeof idx[0], cmp_category_name, c->categories);
    for (int k = 1; k < K && rc == WSSS_OK; k++) {
        const wsss_coco_category *a = &c->categories[idx[k - 1]], *b = &c->categories[idx[k]];
        if (strcmp(a->name, b->name) == 0)
            rc = fail(r, "category name \"%s\" appears twice (ids %lld and %lld)", a->name, (long long)a->id,
                      (long long)b->id);
    }
    return rc;
}

/* Image indices sorted by id (malloc'd); repeated ids and sample ids refused. */
static int64_t *sorted_images(reader *r) {
    wsss_coco *c = r->c;
    const int64_t n = c->n_images;
    int64_t *by_id = wsss_xmalloc(sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) by_id[i] = i;
    qsort_r(by_id, (size_t)n, sizeof(int64_t), cmp_image_stem, c->images);
    for (int64_t k = 1; k < n; k++) {
        const wsss_coco_image *a = &c->images[by_id[k - 1]], *b = &c->images[by_id[k]];
        if (strcmp(a->stem, b->stem) == 0) {
            fail(r, "images \"%s\" and \"%s\" have the same sample id '%s' (file name without folder and extension)",
                 a->file_name, b->file_name, a->stem);
            free(by_id);
            return NULL;
        }
    }
    qsort_r(by_id, (size_t)n, sizeof(int64_t), cmp_image_id, c->images);
    for (int64_t k = 1; k < n; k++)
        if (c->images[by_id[k]].id == c->images[by_id[k - 1]].id) {
            fail(r, "image id %lld appears twice (\"%s\" and \"%s\")", (long long)c->images[by_id[k]].id,
                 c->images[by_id[k - 1]].file_name, c->images[by_id[k]].file_name);
            free(by_id);
            return NULL;
        }
    return by_id;
}

static int64_t find_image(const wsss_coco *c, const int64_t *by_id, int64_t id) {
    int64_t lo = 0, hi = c->n_images - 1;
    while (lo <= hi) {
        const int64_t mid = lo + (hi - lo) / 2, v = c->images[by_id[mid]].id;
        if (v == id) return by_id[mid];
        if (v < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static int find_class(const wsss_coco *c, int64_t id) {
    int lo = 0, hi = c->num_categories - 1;
    while (lo <= hi) {
        const int mid = lo + (hi - lo) / 2;
        const int64_t v = c->categories[mid].id;
        if (v == id) return mid + 1;
        if (v < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return 0;
}

static int check_ann_ids(reader *r) {
    wsss_coco *c = r->c;
    int64_t *idx = wsss_xmalloc(sizeof(int64_t) * (size_t)(c->n_anns + 1));
    for (int64_t i = 0; i < c->n_anns; i++) idx[i] = i;
    qsort_r(idx, (size_t)c->n_anns, sizeof(int64_t), cmp_ann_id, c->anns);
    int rc = WSSS_OK;
    for (int64_t k = 1; k < c->n_anns && rc == WSSS_OK; k++)
        if (c->anns[idx[k]].id == c->anns[idx[k - 1]].id)
            rc = fail(r, "annotation id %lld appears twice", (long long)c->anns[idx[k]].id);
    free(idx);
    return rc;
}

/* Each annotation's image and class; unknown images fail (or are warned about with skip_bad). */
static int resolve(reader *r, const int64_t *by_id, int skip_bad, wsss_dataset_warn_fn warn, void *warn_user) {
    wsss_coco *c = r->c;
    for (int64_t k = 0; k < c->n_anns; k++) {
        wsss_coco_ann *a = &c->anns[k];
        a->image = find_image(c, by_id, a->image_id);
        if (a->image < 0) {
            if (!skip_bad)
                return fail(r, "annotation %lld: image_id %lld is not in images", (long long)a->id,
                            (long long)a->image_id);
            char msg[1536];
            snprintf(msg, sizeof msg, "%s: annotation %lld: image_id %lld is not in images (annotation ignored)",
                     c->path, (long long)a->id, (long long)a->image_id);
            if (warn) warn(warn_user, msg);
            else fprintf(stderr, "wsss: warning: %s\n", msg);
            c->n_orphans++;
            continue;
        }
        const wsss_coco_image *im = &c->images[a->image];
        a->cls = find_class(c, a->category_id);
        if (!a->cls) note(&a->problem, "category_id %lld is not in categories", (long long)a->category_id);
        if (a->kind == WSSS_COCO_RLE && !a->problem && (a->rle_h != im->height || a->rle_w != im->width))
            note(&a->problem, "RLE size [%d, %d] differs from its image's [height, width] [%d, %d]", a->rle_h, a->rle_w,
                 im->height, im->width);
    }
    return WSSS_OK;
}

/* order: annotations grouped by image, in file order; an image's first bad annotation is its problem. */
static void group(wsss_coco *c) {
    for (int64_t k = 0; k < c->n_anns; k++)
        if (c->anns[k].image >= 0) c->images[c->anns[k].image].count++;
    int64_t at = 0;
    for (int64_t i = 0; i < c->n_images; i++) {
        c->images[i].first = at;
        at += c->images[i].count;
        c->images[i].count = 0;
    }
    c->order = wsss_xmalloc(sizeof(int64_t) * (size_t)(at + 1));
    for (int64_t k = 0; k < c->n_anns; k++) {
        const wsss_coco_ann *a = &c->anns[k];
        if (a->image < 0) continue;
        wsss_coco_image *im = &c->images[a->image];
        c->order[im->first + im->count++] = k;
        if (a->problem && !im->problem)
            im->problem = wsss_xasprintf("%s: annotation %lld: %s", c->path, (long long)a->id, a->problem);
    }
}

int wsss_coco_read(const char *path, int skip_bad, wsss_dataset_warn_fn warn, void *warn_user, wsss_coco **out) {
    *out = NULL;
    wsss_coco *c = wsss_xcalloc(1, sizeof *c);
    c->path = wsss_xstrdup(path);
    struct stat sb;
    int rc = WSSS_OK;
    if (stat(path, &sb) != 0) rc = wsss_error_set("%s: COCO annotation file not found", path);
    if (rc == WSSS_OK) {
        c->file_size = (int64_t)sb.st_size;
        c->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        rc = wsss_file_map_open(path, &c->map);
    }
    reader r = {.c = c};
    int64_t *by_id = NULL;
    if (rc == WSSS_OK) {
        r.sc = wsss_json_scan_new((const char *)c->map.data, c->map.size);
        rc = read_top(&r);
    }
    if (rc == WSSS_OK) rc = check_categories(&r);
    if (rc == WSSS_OK && !(by_id = sorted_images(&r))) rc = WSSS_ERR;
    if (rc == WSSS_OK) rc = check_ann_ids(&r);
    if (rc == WSSS_OK) rc = resolve(&r, by_id, skip_bad, warn, warn_user);
    if (rc == WSSS_OK) group(c);
    free(by_id);
    wsss_json_scan_free(r.sc);
    if (rc != WSSS_OK) {
        wsss_coco_free(c);
        return WSSS_ERR;
    }
    *out = c;
    return WSSS_OK;
}

void wsss_coco_free(wsss_coco *c) {
    if (!c) return;
    for (int k = 0; k < c->num_categories; k++) free(c->categories[k].name);
    for (int64_t i = 0; i < c->n_images; i++) {
        free(c->images[i].file_name);
        free(c->images[i].stem);
        free(c->images[i].problem);
    }
    for (int64_t k = 0; k < c->n_anns; k++) free(c->anns[k].problem);
    free(c->categories);
    free(c->images);
    free(c->anns);
    free(c->order);
    wsss_file_map_close(&c->map);
    free(c->path);
    free(c);
}

void wsss_coco_image_classes(const wsss_coco *c, int64_t i, uint8_t *present) {
    memset(present, 0, (size_t)c->num_categories + 1);
    const wsss_coco_image *im = &c->images[i];
    for (int64_t k = 0; k < im->count; k++) present[c->anns[c->order[im->first + k]].cls] = 1;
    present[0] = 0; /* an unknown category (class 0) is a problem, not background */
}
