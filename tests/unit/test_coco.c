/* COCO-format datasets (coco.h, dataset.h):
 *   - compressed RLE strings decoded to hand-derived counts (from the format's definition), and
 *     refused when malformed;
 *   - polygons whose covered pixels follow from the pixel-centre rule by hand;
 *   - every mask of tests/fixtures/coco_raster.json equal to the independent Python reference
 *     (scripts/gen_fixtures_coco.py: per-pixel crossing parity, its own RLE decoder);
 *   - a COCO folder this test writes (JSON + PNG images): classes in category-id order, labels,
 *     crowd -> 255 except under an object, an image without annotations, the mask cache (built
 *     once, reused, rebuilt when the annotation file changes, no half cache or leftover, a foreign
 *     folder left alone, an unwritable place named with the command to use instead), the explicit
 *     annotation file + image folder form, and bad annotations (fatal, or skipped with skip_bad). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "wsss/coco.h"
#include "wsss/dataset.h"
#include "wsss/fs.h"
#include "wsss/image.h"
#include "wsss/json.h"

static const char *g_tmp;

/* ---- RLE strings and polygons by hand */

static void expect_counts(const char *s, const int64_t *want, int64_t n) {
    int64_t *got, m;
    int rc = wsss_coco_rle_decode(s, strlen(s), &got, &m);
    int same = rc == WSSS_OK && m == n;
    for (int64_t i = 0; same && i < n; i++) same = got[i] == want[i];
    CHECK(same, "decode \"%s\": %s", s, rc == WSSS_OK ? "wrong counts" : wsss_error_msg());
    if (rc == WSSS_OK) free(got);
}

static void expect_bad_string(const char *s, const char *want) {
    int64_t *got, m;
    CHECK(wsss_coco_rle_decode(s, strlen(s), &got, &m) == WSSS_ERR && strstr(wsss_error_msg(), want), "\"%s\": %s", s,
          wsss_error_msg());
}

static void test_rle_strings(void) {
    /* one character per small count: '0' + value */
    expect_counts("032", (int64_t[]){0, 3, 2}, 3);
    /* from index 3 on, a delta from two places before: 5 = 2 + 3 */
    expect_counts("1233", (int64_t[]){1, 2, 3, 5}, 4);
    /* a negative delta: -3 = 0x1d with the sign bit 0x10 set: '0' + 29 = 'M'; 2 = 5 - 3 */
    expect_counts("555M", (int64_t[]){5, 5, 5, 2}, 4);
    /* 100 = 4 + 3 * 32: 4 with the continuation bit (36, 'T'), then 3 */
    expect_counts("T3", (int64_t[]){100}, 1);
    expect_counts("", (int64_t[]){0}, 0);
    expect_bad_string("03 2", "byte 2");        /* ' ' is below '0' */
    expect_bad_string("0p", "outside '0'..'o'"); /* 'p' is 64 */
    expect_bad_string("T", "ends inside count 0");
    expect_bad_string("M", "negative");
    expect_bad_string("ooooooooooooo1", "longer than 12 characters");
}

/* The mask as text, '.' for 0, for messages. */
static int mask_is(const uint8_t *m, int w, int h, const char *want) {
    for (int i = 0; i < w * h; i++)
        if ((want[i] == '.' ? 0 : want[i] - '0') != m[i]) return 0;
    return 1;
}

static void test_polygons(void) {
    uint8_t m[36];
    /* a square over whole pixels: the centres 0.5..3.5 are inside [0, 4) */
    memset(m, 0, sizeof m);
    wsss_coco_paint_polygon((const double[]){0, 0, 4, 0, 4, 4, 0, 4}, 4, 6, 6, 1, 0, m);
    CHECK(mask_is(m, 6, 6, "1111.." "1111.." "1111.." "1111.." "......" "......"), "whole-pixel square");
    /* edges through pixel centres: a centre on the top or left edge is in, on the bottom or right out */
    memset(m, 0, sizeof m);
    wsss_coco_paint_polygon((const double[]){0.5, 0.5, 2.5, 0.5, 2.5, 2.5, 0.5, 2.5}, 4, 6, 6, 2, 0, m);
    CHECK(mask_is(m, 6, 6, "22...." "22...." "......" "......" "......" "......"), "centre-aligned square");
    /* a triangle: row y covers the centres x + 0.5 < 6 - (y + 0.5) */
    memset(m, 0, sizeof m);
    wsss_coco_paint_polygon((const double[]){0, 0, 6, 0, 0, 6}, 3, 6, 6, 3, 0, m);
    CHECK(mask_is(m, 6, 6, "33333." "3333.." "333..." "33...." "3....." "......"), "triangle");
    /* only on background: painted pixels stay */
    wsss_coco_paint_polygon((const double[]){0, 0, 6, 0, 6, 6, 0, 6}, 4, 6, 6, 9, 1, m);
    CHECK(mask_is(m, 6, 6, "333339" "333399" "333999" "339999" "399999" "999999"), "only background");
    /* RLE: column-major runs, 0s first (2 zeros, 3 ones down column 0 then into column 1) */
    uint8_t r[6] = {0};
    wsss_coco_paint_rle((const int64_t[]){2, 3, 1}, 3, 2, 3, 4, 0, r);
    CHECK(mask_is(r, 2, 3, ".4" ".4" "4."), "rle column-major");
}

/* ---- the reference fixture */

static void test_fixture(void) {
    wsss_coco *c;
    const char *json = WSSS_FIXTURE_DIR "/coco_raster.json";
    CHECK(wsss_coco_read(json, 0, NULL, NULL, &c) == WSSS_OK, "read: %s", wsss_error_msg());
    if (!c) return;
    CHECK(c->num_categories == 3 && c->categories[0].id == 3 && strcmp(c->categories[0].name, "cat") == 0 &&
              c->categories[2].id == 90 && strcmp(c->categories[2].name, "zebra") == 0,
          "categories in id order");
    wsss_safetensors *st = fixture_open("coco_raster.safetensors");
    for (int64_t i = 0; i < c->n_images; i++) {
        const wsss_coco_image *im = &c->images[i];
        char name[64];
        snprintf(name, sizeof name, "mask.%s", im->stem);
        wsss_tensor *want = fixture_take(st, name);
        uint8_t *got = malloc((size_t)im->width * im->height);
        CHECK(wsss_coco_rasterise(c, i, got) == WSSS_OK, "rasterise %s: %s", im->stem, wsss_error_msg());
        const uint8_t *w = want->data;
        int64_t bad = 0;
        for (int y = 0; y < im->height; y++)
            for (int x = 0; x < im->width; x++) {
                const size_t p = (size_t)y * im->width + x;
                if (got[p] != w[p] && bad++ < 5)
                    fprintf(stderr, "  %s (x=%d, y=%d): %d, reference %d\n", im->stem, x, y, got[p], w[p]);
            }
        CHECK(bad == 0 && want->shape[0] == im->height && want->shape[1] == im->width, "%s: %lld pixels differ",
              im->stem, (long long)bad);
        free(got);
        wsss_tensor_free(want);
    }
    wsss_st_close(st);
    wsss_coco_free(c);
}

/* ---- a dataset written here */

/* Annotation JSON of the test folder. Categories 5 "a" and 2 "b" (classes: b = 1, a = 2).
 *   img_a 20 x 10: object a = the rectangle x 2..9, y 1..6; a crowd of b (RLE list) = columns 0..11
 *                  whole; so columns 0..1 and 10..11 are 255, the rectangle stays 2
 *   img_b 12 x 12: b = the square 0..8, then a = the square 4..12 over it (later wins)
 *   img_c 8 x 6:   no annotations
 *   img_d 9 x 4:   b as a compressed string: 8 zeros, 4 ones (column 2 whole), 24 zeros: "8", "4", and
 *                  24, which has the sign bit 0x10, so 24 | 0x20 ('h') and then 0 ('0')
 * extra: appended to the annotations array (a bad or odd annotation). */
static char *coco_json(int b_category, const char *extra) {
    char *s = wsss_xasprintf(
        "{\"info\": {}, \"categories\": [{\"id\": 5, \"name\": \"a\"}, {\"id\": 2, \"name\": \"b\"}],\n"
        " \"images\": [{\"id\": 11, \"file_name\": \"img_a.png\", \"width\": 20, \"height\": 10},\n"
        "  {\"id\": 12, \"file_name\": \"img_b.png\", \"width\": 12, \"height\": 12},\n"
        "  {\"id\": 13, \"file_name\": \"img_c.png\", \"width\": 8, \"height\": 6},\n"
        "  {\"id\": 14, \"file_name\": \"img_d.png\", \"width\": 9, \"height\": 4}],\n"
        " \"annotations\": [\n"
        "  {\"id\": 1, \"image_id\": 11, \"category_id\": 5, \"iscrowd\": 0, \"segmentation\": [[2, 1, 10, 1, 10, 7, 2, 7]]},\n"
        "  {\"id\": 2, \"image_id\": 11, \"category_id\": 2, \"iscrowd\": 1, \"segmentation\": {\"counts\": [0, 120, 80], \"size\": [10, 20]}},\n"
        "  {\"id\": 3, \"image_id\": 12, \"category_id\": %d, \"segmentation\": [[0, 0, 8, 0, 8, 8, 0, 8]]},\n"
        "  {\"id\": 4, \"image_id\": 12, \"category_id\": 5, \"segmentation\": [[4, 4, 12, 4, 12, 12, 4, 12]]},\n"
        "  {\"id\": 5, \"image_id\": 14, \"category_id\": 2, \"segmentation\": {\"counts\": \"84h0\", \"size\": [4, 9]}}%s%s]}\n",
        b_category, extra ? ",\n  " : "", extra ? extra : "");
    return s;
}

static const struct {
    const char *id;
    int w, h;
} k_images[] = {{"img_a", 20, 10}, {"img_b", 12, 12}, {"img_c", 8, 6}, {"img_d", 9, 4}};

/* ROOT/annotations/instances_train.json and ROOT/train/<id>.png. */
static void write_folder(const char *root, const char *json) {
    char *p = wsss_path_join(root, "annotations/instances_train.json");
    CHECK(wsss_mkdirs_parent(p) == WSSS_OK && wsss_mkdirs(test_path(root, "train")) == WSSS_OK, "mkdirs");
    test_write_file(p, json, strlen(json));
    free(p);
    for (int i = 0; i < 4; i++) {
        wsss_image im;
        wsss_image_alloc(&im, k_images[i].w, k_images[i].h, 3);
        for (int k = 0; k < k_images[i].w * k_images[i].h * 3; k++) im.data[k] = (uint8_t)(k * 13);
        char name[64];
        snprintf(name, sizeof name, "train/%s.png", k_images[i].id);
        CHECK(wsss_image_write_png(test_path(root, name), &im) == WSSS_OK, "image");
        wsss_image_free(&im);
    }
}

static int64_t mtime_ns(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    return (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
}

/* Entries of dir whose name contains part. */
static int count_named(const char *dir, const char *part);

static wsss_dataset *open_train(const char *root, int skip_bad, wsss_mask_mode masks) {
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.skip_bad = skip_bad;
    o.masks = masks;
    wsss_dataset *ds = NULL;
    wsss_error_clear();
    if (wsss_dataset_open(root, &o, &ds) != WSSS_OK) return NULL;
    return ds;
}

static void check_masks(const wsss_dataset *ds) {
    wsss_sample s;
    int64_t i = wsss_dataset_find(ds, "img_a");
    CHECK(i >= 0 && wsss_dataset_load(ds, i, WSSS_LOAD_MASK, &s) == WSSS_OK, "load img_a: %s", wsss_error_msg());
    if (s.mask.data) {
        const uint8_t *m = s.mask.data;
        CHECK(m[0] == 255 && m[9 * 20 + 11] == 255 && m[1 * 20 + 10] == 255, "crowd pixels are 255");
        CHECK(m[1 * 20 + 2] == 2 && m[6 * 20 + 9] == 2, "the object inside the crowd keeps its class");
        CHECK(m[12] == 0 && m[9 * 20 + 19] == 0, "outside both: background");
    }
    wsss_sample_free(&s);
    i = wsss_dataset_find(ds, "img_b");
    CHECK(i >= 0 && wsss_dataset_load(ds, i, WSSS_LOAD_MASK, &s) == WSSS_OK, "load img_b");
    if (s.mask.data)
        CHECK(s.mask.data[0] == 1 && s.mask.data[5 * 12 + 5] == 2 && s.mask.data[11 * 12 + 11] == 2 &&
                  s.mask.data[11 * 12] == 0,
              "later annotation over the earlier");
    wsss_sample_free(&s);
    i = wsss_dataset_find(ds, "img_c");
    CHECK(i >= 0 && wsss_dataset_load(ds, i, WSSS_LOAD_MASK, &s) == WSSS_OK, "load img_c");
    int zero = s.mask.data != NULL;
    for (int k = 0; zero && k < 8 * 6; k++) zero = s.mask.data[k] == 0;
    CHECK(zero, "an image without annotations is all background");
    wsss_sample_free(&s);
    i = wsss_dataset_find(ds, "img_d");
    CHECK(i >= 0 && wsss_dataset_load(ds, i, WSSS_LOAD_MASK, &s) == WSSS_OK, "load img_d");
    if (s.mask.data) {
        int ok = 1;
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 9; x++) ok &= s.mask.data[y * 9 + x] == (x == 2 ? 1 : 0);
        CHECK(ok, "compressed RLE: column 2 only");
    }
    wsss_sample_free(&s);
}

static void test_dataset(void) {
    char root[512], cache[512];
    snprintf(root, sizeof root, "%s", test_path(g_tmp, "ds"));
    snprintf(cache, sizeof cache, "%s", test_path(root, "annotations/instances_train.masks"));
    char *json = coco_json(2, NULL);
    write_folder(root, json);
    free(json);
    wsss_dataset *ds = open_train(root, 0, WSSS_MASKS_OPTIONAL);
    CHECK(ds != NULL, "open: %s", wsss_error_msg());
    if (!ds) return;
    CHECK(ds->num_classes == 3 && strcmp(ds->class_names[1], "b") == 0 && strcmp(ds->class_names[2], "a") == 0,
          "classes in category-id order");
    CHECK(ds->n == 4 && ds->label_source == WSSS_LABELS_FROM_ANNOTATIONS && ds->has_labels, "samples, labels");
    const uint8_t *la = wsss_dataset_labels(ds, wsss_dataset_find(ds, "img_a"));
    const uint8_t *lc = wsss_dataset_labels(ds, wsss_dataset_find(ds, "img_c"));
    CHECK(la[1] == 1 && la[2] == 1 && lc[1] == 0 && lc[2] == 0, "labels: a crowd counts, no annotation no label");
    CHECK(ds->class_count[1] == 3 && ds->class_count[2] == 2, "per-class counts");
    CHECK(wsss_path_is_file(test_path(cache, "wsss_coco_masks.json")) && ds->mask_paths && ds->mask_paths[0],
          "the cache next to the annotations");
    CHECK(count_named(test_path(root, "annotations"), ".tmp-") == 0 && count_named(cache, ".tmp") == 0,
          "no leftovers");
    check_masks(ds);
    wsss_dataset_free(ds);

    /* reused: the same files */
    const int64_t t0 = mtime_ns(test_path(cache, "img_b.png"));
    ds = open_train(root, 0, WSSS_MASKS_REQUIRED);
    CHECK(ds && mtime_ns(test_path(cache, "img_b.png")) == t0, "a current cache is reused");
    wsss_dataset_free(ds);

    /* rebuilt when the annotation file changes: img_b's first square becomes class a */
    json = coco_json(5, NULL);
    test_write_file(test_path(root, "annotations/instances_train.json"), json, strlen(json));
    free(json);
    ds = open_train(root, 0, WSSS_MASKS_REQUIRED);
    wsss_sample s;
    CHECK(ds && wsss_dataset_load(ds, wsss_dataset_find(ds, "img_b"), WSSS_LOAD_MASK, &s) == WSSS_OK &&
              s.mask.data[0] == 2,
          "a changed annotation file rebuilds the cache: %s", wsss_error_msg());
    if (ds) wsss_sample_free(&s);
    wsss_dataset_free(ds);

    /* a killed build's leftover goes; a build is not started without masks */
    char left[1100];
    snprintf(left, sizeof left, "%s.tmp-%ld", cache, test_dead_pid());
    CHECK(wsss_mkdirs(left) == WSSS_OK, "leftover");
    test_write_file(test_path(left, "x.png"), "x", 1);
    json = coco_json(2, NULL);
    test_write_file(test_path(root, "annotations/instances_train.json"), json, strlen(json));
    free(json);
    ds = open_train(root, 0, WSSS_MASKS_NONE);
    CHECK(ds && !ds->mask_paths && wsss_path_exists(left), "masks none: no cache work, no masks");
    wsss_dataset_free(ds);
    ds = open_train(root, 0, WSSS_MASKS_AUTO);
    CHECK(ds && !wsss_path_exists(left), "the dead build's leftover is removed by the next build");
    wsss_dataset_free(ds);
}

static void test_explicit_and_cache_places(void) {
    char root[512];
    snprintf(root, sizeof root, "%s", test_path(g_tmp, "ds")); /* written by test_dataset */
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    char ann[512], img[512], masks[512];
    snprintf(ann, sizeof ann, "%s", test_path(root, "annotations/instances_train.json"));
    snprintf(img, sizeof img, "%s", test_path(root, "train"));
    snprintf(masks, sizeof masks, "%s", test_path(g_tmp, "elsewhere/masks"));
    o.coco_annotations = ann;
    o.coco_images = img;
    o.coco_masks = masks;
    wsss_dataset *ds = NULL;
    CHECK(wsss_dataset_open(NULL, &o, &ds) == WSSS_OK, "explicit files: %s", wsss_error_msg());
    if (ds) {
        CHECK(ds->n == 4 && strcmp(ds->root, test_path(root, "annotations")) == 0 &&
                  wsss_path_is_file(test_path(masks, "img_a.png")),
              "explicit: samples, root, the cache where asked");
        check_masks(ds);
    }
    wsss_dataset_free(ds);
    /* a folder of someone else's files is not replaced */
    char foreign[512], file[512];
    snprintf(foreign, sizeof foreign, "%s", test_path(g_tmp, "foreign"));
    wsss_mkdirs(foreign);
    test_write_file(test_path(foreign, "keep.txt"), "mine", 4);
    o.coco_masks = foreign;
    CHECK(wsss_dataset_open(NULL, &o, &ds) == WSSS_ERR && strstr(wsss_error_msg(), "is not a COCO mask cache") &&
              wsss_path_is_file(test_path(foreign, "keep.txt")),
          "foreign folder: %s", wsss_error_msg());
    /* a place that cannot be written: the message says what to do */
    snprintf(file, sizeof file, "%s", test_path(g_tmp, "a_file"));
    test_write_file(file, "x", 1);
    char under[1100];
    snprintf(under, sizeof under, "%s/masks", file);
    o.coco_masks = under;
    CHECK(wsss_dataset_open(NULL, &o, &ds) == WSSS_ERR && strstr(wsss_error_msg(), "cannot create the COCO mask cache") &&
              strstr(wsss_error_msg(), "wsss data coco-masks") && strstr(wsss_error_msg(), "--coco-masks DIR"),
          "unwritable: %s", wsss_error_msg());
    /* no image folder */
    o.coco_images = NULL;
    o.coco_masks = NULL;
    CHECK(wsss_dataset_open(NULL, &o, &ds) == WSSS_ERR && strstr(wsss_error_msg(), "--coco-images"), "%s",
          wsss_error_msg());
}

static int g_warnings;
static void count_warning(void *user, const char *msg) {
    (void)user;
    (void)msg;
    g_warnings++;
}

/* One bad annotation appended to the good file: the open fails naming the file, the annotation and
 * the problem; with skip_bad its image (if it has one) is dropped. */
static void expect_bad(const char *extra, const char *want, int64_t n_with_skip) {
    char root[512], ann[512];
    snprintf(root, sizeof root, "%s", test_path(g_tmp, "bad"));
    snprintf(ann, sizeof ann, "%s", test_path(root, "annotations/instances_train.json"));
    char *json = coco_json(2, extra);
    write_folder(root, json);
    free(json);
    wsss_dataset *ds = open_train(root, 0, WSSS_MASKS_OPTIONAL);
    CHECK(!ds && strstr(wsss_error_msg(), ann) && strstr(wsss_error_msg(), want), "%s: %s", want, wsss_error_msg());
    wsss_dataset_free(ds);
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.skip_bad = 1;
    o.warn = count_warning;
    g_warnings = 0;
    CHECK(wsss_dataset_open(root, &o, &ds) == WSSS_OK && ds->n == n_with_skip && g_warnings == 1,
          "skip_bad on %s: n %lld, %d warnings: %s", want, ds ? (long long)ds->n : -1LL, g_warnings, wsss_error_msg());
    wsss_dataset_free(ds);
}

static void test_bad_annotations(void) {
    expect_bad("{\"id\": 77, \"image_id\": 12, \"category_id\": 5, \"segmentation\": [[1, 1, 5, 1, 5]]}",
               "annotation 77: segmentation[0] has 5 coordinates (an odd number", 3);
    expect_bad("{\"id\": 78, \"image_id\": 12, \"category_id\": 4, \"segmentation\": [[1, 1, 5, 1, 5, 5]]}",
               "annotation 78: category_id 4 is not in categories", 3);
    expect_bad("{\"id\": 79, \"image_id\": 13, \"category_id\": 2, \"segmentation\": {\"counts\": [3, 44], \"size\": [6, 8]}}",
               "annotation 79: RLE counts sum to 47, expected height x width = 6 x 8 = 48", 3);
    expect_bad("{\"id\": 80, \"image_id\": 999, \"category_id\": 2, \"segmentation\": []}",
               "annotation 80: image_id 999 is not in images", 4);
    expect_bad("{\"id\": 81, \"image_id\": 11, \"category_id\": 2, \"segmentation\": {\"counts\": \"0p\", \"size\": [10, 20]}}",
               "annotation 81: RLE string: byte 1 ('p') is outside", 3);
    expect_bad("{\"id\": 82, \"image_id\": 14, \"category_id\": 2, \"segmentation\": {\"counts\": [36], \"size\": [9, 4]}}",
               "annotation 82: RLE size [9, 4] differs from its image's [height, width] [4, 9]", 3);
    expect_bad("{\"id\": 83, \"image_id\": 14, \"category_id\": 2, \"iscrowd\": 2, \"segmentation\": []}",
               "annotation 83: iscrowd is not 0 or 1", 3);
    /* fatal for the whole file */
    char root[512];
    snprintf(root, sizeof root, "%s", test_path(g_tmp, "bad"));
    char *json = coco_json(2, "{\"id\": 1, \"image_id\": 11, \"category_id\": 2, \"segmentation\": []}");
    write_folder(root, json);
    free(json);
    wsss_dataset *ds = open_train(root, 1, WSSS_MASKS_OPTIONAL);
    CHECK(!ds && strstr(wsss_error_msg(), "annotation id 1 appears twice"), "%s", wsss_error_msg());
    json = coco_json(2, "{\"id\": 90, \"image_id\": 11, \"category_id\": 2, \"segmentation\": [[1, 2,]]}");
    write_folder(root, json);
    free(json);
    ds = open_train(root, 1, WSSS_MASKS_OPTIONAL);
    CHECK(!ds && strstr(wsss_error_msg(), "instances_train.json: annotation 90: JSON error at byte") &&
              strstr(wsss_error_msg(), "expected a value, got ']'"),
          "bad JSON in an annotation: %s", wsss_error_msg());
    /* before its id: the annotation by its place (the 6th) and byte */
    json = coco_json(2, "{\"segmentation\": [[1, 2,]], \"id\": 91, \"image_id\": 11, \"category_id\": 2}");
    write_folder(root, json);
    free(json);
    ds = open_train(root, 1, WSSS_MASKS_OPTIONAL);
    CHECK(!ds && strstr(wsss_error_msg(), "instances_train.json: annotations[5] (byte ") &&
              strstr(wsss_error_msg(), "): JSON error at byte"),
          "bad JSON before the id: %s", wsss_error_msg());
}

#include <dirent.h>
static int count_named(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) n += strstr(e->d_name, part) != NULL;
    if (d) closedir(d);
    return n;
}

int main(void) {
    g_tmp = test_tmp_dir("test_coco");
    test_rle_strings();
    test_polygons();
    test_fixture();
    test_dataset();
    test_explicit_and_cache_places();
    test_bad_annotations();
    return test_summary("test_coco");
}
