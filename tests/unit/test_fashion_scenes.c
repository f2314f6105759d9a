/* Fashion-Scenes generator: IDX reader, hole filling on a synthetic item, label/mask consistency of
 * real scenes, item-count distribution, textured background, determinism of the written dataset
 * (same seed and any thread count -> same bytes; other seed -> other bytes), val items from t10k. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "fashion_fixture.h"
#include "test_util.h"
#include "wsss/dataset.h"
#include "wsss/fashion_scenes.h"
#include "wsss/image.h"

static char g_dir[1024];
static double g_max_mad;

static void write_gz(const char *path, const uint8_t *data, size_t n) {
    gzFile f = gzopen(path, "wb");
    if (!f || gzwrite(f, data, (unsigned)n) != (int)n) {
        fprintf(stderr, "FATAL: cannot write %s\n", path);
        exit(1);
    }
    gzclose(f);
}

static void test_idx_reader(void) {
    char path[1200];
    /* a 3 x 2 x 2 unsigned-byte file */
    uint8_t buf[4 + 12 + 12] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    for (int i = 0; i < 12; i++) buf[16 + i] = (uint8_t)(i * 7);
    snprintf(path, sizeof path, "%s/ok.gz", g_dir);
    write_gz(path, buf, sizeof buf);
    wsss_idx x;
    CHECK(wsss_idx_read(path, &x) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(x.ndim == 3 && x.dims[0] == 3 && x.dims[1] == 2 && x.dims[2] == 2, "dims %d %lld", x.ndim,
          (long long)x.dims[0]);
    CHECK(x.data && x.data[11] == 77, "payload");
    wsss_idx_free(&x);

    snprintf(path, sizeof path, "%s/truncated.gz", g_dir);
    write_gz(path, buf, sizeof buf - 3);
    CHECK(wsss_idx_read(path, &x) == WSSS_ERR && strstr(wsss_error_msg(), "truncated.gz") &&
              strstr(wsss_error_msg(), "truncated"),
          "truncated file: '%s'", wsss_error_msg());
    CHECK(x.data == NULL, "nothing left allocated on error");

    uint8_t bad[sizeof buf];
    memcpy(bad, buf, sizeof buf);
    bad[2] = 0x0D; /* float elements */
    snprintf(path, sizeof path, "%s/float.gz", g_dir);
    write_gz(path, bad, sizeof bad);
    CHECK(wsss_idx_read(path, &x) == WSSS_ERR && strstr(wsss_error_msg(), "0x0d"), "type: '%s'", wsss_error_msg());
    bad[2] = 8;
    bad[0] = 0x1f;
    snprintf(path, sizeof path, "%s/magic.gz", g_dir);
    write_gz(path, bad, sizeof bad);
    CHECK(wsss_idx_read(path, &x) == WSSS_ERR && strstr(wsss_error_msg(), "not an IDX"), "magic: '%s'",
          wsss_error_msg());

    uint8_t extra[sizeof buf + 1];
    memcpy(extra, buf, sizeof buf);
    extra[sizeof buf] = 1;
    snprintf(path, sizeof path, "%s/extra.gz", g_dir);
    write_gz(path, extra, sizeof extra);
    CHECK(wsss_idx_read(path, &x) == WSSS_ERR && strstr(wsss_error_msg(), "after"), "trailing: '%s'",
          wsss_error_msg());
    snprintf(path, sizeof path, "%s/missing.gz", g_dir);
    CHECK(wsss_idx_read(path, &x) == WSSS_ERR && strstr(wsss_error_msg(), "missing.gz"), "missing: '%s'",
          wsss_error_msg());
    /* plain (not gzip) files are read too */
    snprintf(path, sizeof path, "%s/plain.idx", g_dir);
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK(wsss_idx_read(path, &x) == WSSS_OK && x.data[5] == 35, "plain file: %s", wsss_error_msg());
    wsss_idx_free(&x);
}

/* One synthetic item: a bright square ring (dark inside), 28 x 28. Its silhouette must be the
 * filled square: the dark inside is an interior hole. */
static void test_hole_filling(void) {
    uint8_t img[28 * 28] = {0}, label = 3;
    for (int y = 4; y < 24; y++)
        for (int x = 4; x < 24; x++)
            if (y < 7 || y >= 21 || x < 7 || x >= 21) img[y * 28 + x] = 255;
    wsss_fashion_source src = {1, 28, 28, img, &label, NULL};
    wsss_fashion_opts o;
    wsss_fashion_opts_default(&o);
    o.item_probs[0] = 1;
    o.item_probs[1] = o.item_probs[2] = o.item_probs[3] = 0;
    o.scale_min = o.scale_max = 2.0;
    o.size = 96;
    int full = 0;
    for (int64_t s = 0; s < 20; s++) {
        wsss_image im = {0}, m = {0};
        wsss_fashion_scene_info info;
        CHECK(wsss_fashion_render_scene(&src, &o, WSSS_FASHION_TRAIN, s, &im, &m, &info) == WSSS_OK, "%s",
              wsss_error_msg());
        int x0 = m.width, y0 = m.height, x1 = -1, y1 = -1, n = 0, holes = 0;
        for (int y = 0; y < m.height; y++)
            for (int x = 0; x < m.width; x++)
                if (m.data[y * m.width + x] == 4) {
                    n++;
                    if (x < x0) x0 = x;
                    if (x > x1) x1 = x;
                    if (y < y0) y0 = y;
                    if (y > y1) y1 = y;
                }
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++) holes += m.data[y * m.width + x] != 4;
        CHECK(info.n_items == 1 && info.cls[0] == 4 && n == info.visible[0], "scene %lld: items %d class %d",
              (long long)s, info.n_items, info.cls[0]);
        CHECK(n > 0 && holes == 0, "scene %lld: silhouette has %d holes inside its box", (long long)s, holes);
        /* fully inside the canvas: 20 px ring scaled by 2 -> a filled square of about 40 px a side */
        if (x0 > 0 && y0 > 0 && x1 < m.width - 1 && y1 < m.height - 1) {
            full++;
            CHECK(abs(x1 - x0 + 1 - 40) <= 2 && abs(y1 - y0 + 1 - 40) <= 2, "square side %d x %d", x1 - x0 + 1,
                  y1 - y0 + 1);
        }
        wsss_image_free(&im);
        wsss_image_free(&m);
    }
    CHECK(full > 0, "no scene had the item fully inside");

    /* an item that can never reach the minimum visible area is a clean error, not a hang */
    o.min_visible = 0.9;
    wsss_image im = {0}, m = {0};
    CHECK(wsss_fashion_render_scene(&src, &o, WSSS_FASHION_TRAIN, 0, &im, &m, NULL) == WSSS_ERR &&
              strstr(wsss_error_msg(), "minimum visible"),
          "impossible min_visible: '%s'", wsss_error_msg());
}

/* The spec's "Item pools" table, literally; per file the two sets' pools are disjoint and cover it.
 * A file too short for its pool is an error naming it. */
static void test_pool_table(void) {
    const struct {
        wsss_fashion_set set;
        wsss_fashion_split split;
        int64_t first, last;
    } want[4] = {{WSSS_FASHION_SCENES, WSSS_FASHION_TRAIN, 50000, 59999},
                 {WSSS_FASHION_SCENES, WSSS_FASHION_VAL, 0, 4999},
                 {WSSS_FASHION_OBJECTS, WSSS_FASHION_TRAIN, 0, 49999},
                 {WSSS_FASHION_OBJECTS, WSSS_FASHION_VAL, 5000, 9999}};
    for (int k = 0; k < 4; k++) {
        wsss_fashion_pool p = wsss_fashion_item_pool(want[k].set, want[k].split);
        CHECK(p.first == want[k].first && p.first + p.count - 1 == want[k].last, "pool %d: %lld..%lld", k,
              (long long)p.first, (long long)(p.first + p.count - 1));
    }
    const int64_t file_items[2] = {60000, 10000};
    for (int s = 0; s < 2; s++) {
        wsss_fashion_pool a = wsss_fashion_item_pool(WSSS_FASHION_SCENES, (wsss_fashion_split)s);
        wsss_fashion_pool b = wsss_fashion_item_pool(WSSS_FASHION_OBJECTS, (wsss_fashion_split)s);
        CHECK(a.first + a.count <= b.first || b.first + b.count <= a.first, "split %d: pools overlap", s);
        CHECK(a.count + b.count == file_items[s], "split %d: pools cover %lld of %lld items", s,
              (long long)(a.count + b.count), (long long)file_items[s]);
    }

    /* a 3-item "training file" */
    char dir[1200], path[1400];
    snprintf(dir, sizeof dir, "%s/short_mnist", g_dir);
    mkdir(dir, 0755);
    uint8_t im[16 + 3 * 4] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    uint8_t lb[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    write_gz(path, im, sizeof im);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    write_gz(path, lb, sizeof lb);
    wsss_fashion_source src;
    CHECK(wsss_fashion_source_load(dir, WSSS_FASHION_TRAIN, &src) == WSSS_OK && src.n == 3, "whole short file: %s",
          wsss_error_msg());
    wsss_fashion_source_free(&src);
    CHECK(wsss_fashion_source_load_pool(dir, WSSS_FASHION_SCENES, WSSS_FASHION_TRAIN, NULL, 0, &src) == WSSS_ERR &&
              strstr(wsss_error_msg(), "train-images-idx3-ubyte.gz") && strstr(wsss_error_msg(), "50000..59999"),
          "short file for the pool: '%s'", wsss_error_msg());
    CHECK(src.images == NULL && src.file_index == NULL, "nothing left allocated on error");
}

/* Scenes draw every item from their split's pool (also with a class subset): each item's recorded
 * file index lies in the pool, the pool source holds exactly the file's items at those indices, and
 * the item's class is the file's label there. */
static void test_scene_items_in_pool(void) {
    const int subset[2] = {9, 2};
    for (int s = 0; s < 2; s++) {
        const wsss_fashion_split split = (wsss_fashion_split)s;
        const wsss_fashion_pool pool = wsss_fashion_item_pool(WSSS_FASHION_SCENES, split);
        wsss_fashion_source full;
        CHECK(wsss_fashion_source_load(WSSS_FASHION_DEFAULT_DIR, split, &full) == WSSS_OK, "%s", wsss_error_msg());
        for (int sub = 0; sub < 2; sub++) {
            wsss_fashion_source src;
            if (wsss_fashion_source_load_pool(WSSS_FASHION_DEFAULT_DIR, WSSS_FASHION_SCENES, split, subset,
                                              sub ? 2 : 0, &src) != WSSS_OK) {
                CHECK(0, "%s", wsss_error_msg());
                continue;
            }
            const size_t item = (size_t)src.rows * (size_t)src.cols;
            int64_t bad_source = 0;
            for (int64_t k = 0; k < src.n; k++) {
                int64_t f = src.file_index[k];
                int cls = sub ? subset[src.labels[k]] : src.labels[k] + 1;
                bad_source += f < pool.first || f >= pool.first + pool.count || (k > 0 && f <= src.file_index[k - 1]) ||
                              full.labels[f] + 1 != cls || memcmp(src.images + k * item, full.images + f * item, item);
            }
            int64_t expect_n = 0; /* the pool's items of the kept classes, counted in the file */
            for (int64_t f = pool.first; f < pool.first + pool.count; f++)
                expect_n += !sub || full.labels[f] + 1 == subset[0] || full.labels[f] + 1 == subset[1];
            CHECK(src.n == expect_n, "pool source has %lld items, the file's pool %lld", (long long)src.n,
                  (long long)expect_n);
            CHECK(bad_source == 0, "split %d subset %d: %lld pool items differ from the file", s, sub,
                  (long long)bad_source);
            wsss_fashion_opts o;
            wsss_fashion_opts_default(&o);
            o.size = 64;
            o.seed = 3;
            int64_t items = 0, outside = 0, wrong_class = 0;
            for (int64_t i = 0; i < 150; i++) {
                wsss_image im = {0}, m = {0};
                wsss_fashion_scene_info info;
                if (wsss_fashion_render_scene(&src, &o, split, i, &im, &m, &info) != WSSS_OK) {
                    CHECK(0, "%s", wsss_error_msg());
                    break;
                }
                for (int k = 0; k < info.n_items; k++) {
                    int64_t f = info.src_index[k];
                    items++;
                    if (f < pool.first || f >= pool.first + pool.count) {
                        outside++;
                        continue;
                    }
                    int cls = sub ? subset[info.cls[k] - 1] : info.cls[k];
                    wrong_class += full.labels[f] + 1 != cls;
                }
                wsss_image_free(&im);
                wsss_image_free(&m);
            }
            CHECK(items > 150 && outside == 0 && wrong_class == 0,
                  "split %d subset %d: %lld items, %lld outside the pool %lld..%lld, %lld with another class", s, sub,
                  (long long)items, (long long)outside, (long long)pool.first,
                  (long long)(pool.first + pool.count - 1), (long long)wrong_class);
            wsss_fashion_source_free(&src);
        }
        wsss_fashion_source_free(&full);
    }
}

static int have_mnist(void) {
    struct stat st;
    return stat(WSSS_FASHION_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", &st) == 0;
}

/* Rendered scenes from the real t10k file: labels, 255 and item counts agree with the spec. */
static void test_scene_consistency(void) {
    wsss_fashion_source src;
    CHECK(wsss_fashion_source_load(WSSS_FASHION_DEFAULT_DIR, WSSS_FASHION_VAL, &src) == WSSS_OK, "%s",
          wsss_error_msg());
    if (!src.n) return;
    CHECK(src.n == 10000 && src.rows == 28 && src.cols == 28, "t10k shape %lld %d %d", (long long)src.n, src.rows,
          src.cols);
    wsss_fashion_opts o;
    wsss_fashion_opts_default(&o);
    o.seed = 7;
    const int N = 400, S = o.size;
    int count[5] = {0}, bad_labels = 0, bad_ignore = 0, bad_area = 0, bad_vis = 0, retries = 0;
    double min_std = 1e9;
    for (int s = 0; s < N; s++) {
        wsss_image im = {0}, m = {0};
        wsss_fashion_scene_info info;
        if (wsss_fashion_render_scene(&src, &o, WSSS_FASHION_VAL, s, &im, &m, &info) != WSSS_OK) {
            CHECK(0, "%s", wsss_error_msg());
            break;
        }
        count[info.n_items]++;
        retries += info.attempts - 1;
        int64_t hist[256] = {0};
        for (int p = 0; p < S * S; p++) hist[m.data[p]]++;
        /* labels = classes present in the mask, each with >= 1% of the canvas */
        for (int c = 1; c < WSSS_FASHION_NUM_CLASSES; c++) {
            if ((hist[c] > 0) != (info.present[c] != 0)) bad_labels++;
            if (hist[c] > 0 && hist[c] * 100 < S * S) bad_area++;
        }
        int any = 0;
        for (int c = 1; c < WSSS_FASHION_NUM_CLASSES; c++) any |= info.present[c];
        CHECK(any, "scene %d has no label", s);
        int64_t dropped = 0, vis = 0;
        for (int i = 0; i < info.n_items; i++) {
            if (!info.labelled[i]) dropped += info.visible[i];
            if (info.labelled[i] != (info.visible[i] * 100 >= S * S)) bad_vis++;
            vis += info.visible[i];
        }
        int64_t other = 0;
        for (int v = WSSS_FASHION_NUM_CLASSES; v < 255; v++) other += hist[v];
        /* 255 exactly on the visible pixels of dropped items; mask values only 0..10 and 255 */
        if (hist[255] != dropped || other) bad_ignore++;
        if (S * S - hist[0] != vis) bad_ignore++;
        /* background (mask 0, eroded by one pixel to skip soft item edges) is not a flat colour */
        double sd = fashion_background_std(&im, &m, 1, 101);
        if (sd >= 0 && sd < min_std) min_std = sd;
        wsss_image_free(&im);
        wsss_image_free(&m);
    }
    CHECK(bad_labels == 0, "%d label/mask disagreements", bad_labels);
    CHECK(bad_area == 0, "%d labelled classes under 1%% of the canvas", bad_area);
    CHECK(bad_ignore == 0, "%d scenes where 255 is not exactly the dropped items", bad_ignore);
    CHECK(bad_vis == 0, "%d items labelled against the 1%% rule", bad_vis);
    /* item counts against 0.30 / 0.35 / 0.25 / 0.10 (400 draws: 5 standard deviations) but the
     * retry rule (a scene without a labelled item is redrawn) shifts a little mass from 1 item */
    const double p[4] = {0.30, 0.35, 0.25, 0.10};
    for (int k = 1; k <= 4; k++) {
        double e = N * p[k - 1], sd = sqrt(N * p[k - 1] * (1 - p[k - 1]));
        CHECK(fabs(count[k] - e) < 5 * sd, "%d items: %d scenes, expected about %.0f", k, count[k], e);
    }
    CHECK(min_std > 8.0, "flattest background has std %.2f (0..255 scale), expected > 8", min_std);
    printf("  scenes with 1..4 items: %d %d %d %d; redraws %d; flattest background std %.1f\n", count[1], count[2],
           count[3], count[4], retries, min_std);
    wsss_fashion_source_free(&src);
}

/* The defaults but for a small set written to dir quietly. */
static wsss_fashion_opts small_set(const char *dir, int64_t n_train, int64_t n_val, int size) {
    wsss_fashion_opts o;
    wsss_fashion_opts_default(&o);
    o.out_dir = dir;
    o.n_train = n_train;
    o.n_val = n_val;
    o.size = size;
    o.progress = 0;
    return o;
}

static void gen(const char *dir, uint64_t seed, int threads) {
    wsss_fashion_opts o = small_set(dir, 7, 5, 64);
    o.seed = seed;
    omp_set_num_threads(threads);
    CHECK(wsss_fashion_generate(&o, NULL) == WSSS_OK, "generate %s: %s", dir, wsss_error_msg());
    omp_set_num_threads(2);
}

static void test_dataset_files(void) {
    char a[1200], b[1200], c[1200];
    snprintf(a, sizeof a, "%s/fs_a", g_dir);
    snprintf(b, sizeof b, "%s/fs_b", g_dir);
    snprintf(c, sizeof c, "%s/fs_c", g_dir);
    gen(a, 11, 1);
    gen(b, 11, 2);
    gen(c, 12, 2);
    static const char *const fixed[] = {"cls_labels.txt", "classes.txt", "ImageSets/Segmentation/train.txt",
                                        "ImageSets/Segmentation/val.txt"};
    char pa[1400], pb[1400], pc[1400];
    for (size_t i = 0; i < 4; i++) {
        snprintf(pa, sizeof pa, "%s/%s", a, fixed[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, fixed[i]);
        CHECK(fashion_same_file(pa, pb), "%s differs between two runs with one seed", fixed[i]);
    }
    int same_ab = 1, differ_c = 0;
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < (s ? 5 : 7); i++) {
            char id[64];
            wsss_fashion_scene_id((wsss_fashion_split)s, i, id, sizeof id);
            for (int k = 0; k < 2; k++) {
                const char *fmt = k ? "%s/SegmentationClass/%s.png" : "%s/JPEGImages/%s.jpg";
                snprintf(pa, sizeof pa, fmt, a, id);
                snprintf(pb, sizeof pb, fmt, b, id);
                snprintf(pc, sizeof pc, fmt, c, id);
                same_ab &= fashion_same_file(pa, pb);
                if (k == 0) differ_c += !fashion_same_file(pa, pc);
            }
        }
    CHECK(same_ab, "same seed with 1 and 2 threads gave different bytes");
    CHECK(differ_c == 12, "another seed gave %d of 12 different images", differ_c);

    /* read back through the VOC dataset reader: every file is there and labels match the masks */
    wsss_dataset_opts dopts;
    wsss_dataset_opts_default(&dopts);
    const char *splits[2] = {"train", "val"};
    for (int s = 0; s < 2; s++) {
        dopts.split = splits[s];
        wsss_dataset *ds = NULL;
        CHECK(wsss_dataset_open(a, &dopts, &ds) == WSSS_OK, "open %s: %s", splits[s], wsss_error_msg());
        if (!ds) continue;
        CHECK(ds->n == (s ? 5 : 7) && ds->num_classes == 11, "n %lld classes %d", (long long)ds->n,
              ds->num_classes);
        CHECK(ds->label_source == WSSS_LABELS_FROM_FILE, "labels should come from cls_labels.txt");
        CHECK(strcmp(ds->class_names[10], "Ankle boot") == 0, "class names");
        for (int64_t i = 0; i < ds->n; i++) {
            wsss_sample smp;
            if (wsss_dataset_load(ds, i, WSSS_LOAD_IMAGE | WSSS_LOAD_MASK, &smp) != WSSS_OK) {
                CHECK(0, "%s", wsss_error_msg());
                continue;
            }
            uint8_t present[11];
            CHECK(wsss_mask_classes(&smp.mask, 11, NULL, present) == WSSS_OK, "mask classes");
            int agree = 1;
            for (int k = 1; k < 11; k++) agree &= present[k] == wsss_dataset_labels(ds, i)[k];
            CHECK(agree, "%s: cls_labels.txt disagrees with the mask", ds->ids[i]);
            CHECK(smp.image.width == 64 && smp.image.height == 64, "size");
            wsss_sample_free(&smp);
        }
        /* the written scenes are the renders from the split's item pool: rendering with that source
         * reproduces every mask (and the image up to JPEG loss) */
        {
            wsss_fashion_source src;
            CHECK(wsss_fashion_source_load_pool(WSSS_FASHION_DEFAULT_DIR, WSSS_FASHION_SCENES, (wsss_fashion_split)s,
                                                NULL, 0, &src) == WSSS_OK,
                  "pool source: %s", wsss_error_msg());
            wsss_fashion_opts o;
            wsss_fashion_opts_default(&o);
            o.size = 64;
            o.seed = 11;
            for (int64_t i = 0; i < ds->n; i++) {
                wsss_image im = {0}, m = {0};
                wsss_sample smp;
                wsss_fashion_render_scene(&src, &o, (wsss_fashion_split)s, i, &im, &m, NULL);
                wsss_dataset_load(ds, i, WSSS_LOAD_IMAGE | WSSS_LOAD_MASK, &smp);
                CHECK(memcmp(m.data, smp.mask.data, 64 * 64) == 0, "%s mask %lld differs from its pool's render",
                      splits[s], (long long)i);
                double mad = 0; /* JPEG q95 with chroma subsampling: small mean error, large at colour edges */
                for (int p = 0; p < 64 * 64 * 3; p++) mad += abs((int)im.data[p] - (int)smp.image.data[p]);
                mad /= 64 * 64 * 3;
                CHECK(mad < 10.0, "%s image %lld: JPEG differs from the render by %.2f on average", splits[s],
                      (long long)i, mad);
                if (mad > g_max_mad) g_max_mad = mad;
                wsss_image_free(&im);
                wsss_image_free(&m);
                wsss_sample_free(&smp);
            }
            wsss_fashion_source_free(&src);
        }
        wsss_dataset_free(ds);
    }
    printf("  JPEG vs render from the item pool: mean abs difference <= %.2f\n", g_max_mad);
}

/* --classes: a subset of the classes, renumbered in the listed order, everywhere in the dataset */
static void test_class_subset(void) {
    wsss_fashion_source all, sub;
    CHECK(wsss_fashion_source_load(WSSS_FASHION_DEFAULT_DIR, WSSS_FASHION_VAL, &all) == WSSS_OK, "t10k");
    CHECK(wsss_fashion_source_load(WSSS_FASHION_DEFAULT_DIR, WSSS_FASHION_VAL, &sub) == WSSS_OK, "t10k");
    const int keep[2] = {9, 2}; /* Bag -> 1, Trouser -> 2 */
    wsss_fashion_source_keep(&sub, keep, 2);
    const size_t item = (size_t)all.rows * (size_t)all.cols;
    int64_t k = 0;
    int order_ok = 1;
    for (int64_t i = 0; i < all.n; i++) {
        const int orig = all.labels[i] + 1;
        if (orig != 9 && orig != 2) continue;
        order_ok &= k < sub.n && sub.labels[k] == (orig == 9 ? 0 : 1) &&
                    memcmp(sub.images + (size_t)k * item, all.images + (size_t)i * item, item) == 0;
        k++;
    }
    CHECK(order_ok && k == sub.n && sub.n == 2000, "kept %lld of the Bag/Trouser items (t10k has 2000)",
          (long long)sub.n);
    wsss_fashion_source_free(&all);
    wsss_fashion_source_free(&sub);

    char dir[1200];
    snprintf(dir, sizeof dir, "%s/fs_subset", g_dir);
    wsss_fashion_opts o = small_set(dir, 8, 4, 48);
    o.n_classes = 2;
    o.classes[0] = 9;
    o.classes[1] = 2;
    CHECK(wsss_fashion_generate(&o, NULL) == WSSS_OK, "generate with a class subset: %s", wsss_error_msg());
    wsss_dataset_opts dopts;
    wsss_dataset_opts_default(&dopts);
    wsss_dataset *ds = NULL;
    CHECK(wsss_dataset_open(dir, &dopts, &ds) == WSSS_OK, "open: %s", wsss_error_msg());
    if (ds) {
        CHECK(ds->num_classes == 3 && strcmp(ds->class_names[1], "Bag") == 0 &&
                  strcmp(ds->class_names[2], "Trouser") == 0,
              "classes.txt: background, Bag, Trouser (got %d classes)", ds->num_classes);
        int seen[256] = {0};
        for (int64_t i = 0; i < ds->n; i++) {
            wsss_sample smp;
            if (wsss_dataset_load(ds, i, WSSS_LOAD_MASK, &smp) != WSSS_OK) {
                CHECK(0, "%s", wsss_error_msg());
                continue;
            }
            for (int64_t p = 0; p < (int64_t)smp.mask.width * smp.mask.height; p++) seen[smp.mask.data[p]]++;
            uint8_t present[3];
            CHECK(wsss_mask_classes(&smp.mask, 3, NULL, present) == WSSS_OK, "mask values within 0..2 and 255");
            CHECK(present[1] == wsss_dataset_labels(ds, i)[1] && present[2] == wsss_dataset_labels(ds, i)[2],
                  "%s: labels disagree with the mask", ds->ids[i]);
            wsss_sample_free(&smp);
        }
        int others = 0;
        for (int v = 3; v < 255; v++) others += seen[v];
        CHECK(seen[1] > 0 && seen[2] > 0 && others == 0, "mask values: Bag %d, Trouser %d, other ids %d pixels",
              seen[1], seen[2], others);
        wsss_dataset_free(ds);
    }
    o.classes[1] = 9;
    CHECK(wsss_fashion_generate(&o, NULL) == WSSS_ERR && strstr(wsss_error_msg(), "twice"), "duplicate class");
    o.classes[1] = 11;
    CHECK(wsss_fashion_generate(&o, NULL) == WSSS_ERR && strstr(wsss_error_msg(), "class 11"), "class 11");
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmp_dir("fashion_scenes"));
    test_idx_reader();
    test_hole_filling();
    test_pool_table();
    /* dataset-fashion-mnist is a declared dependency (make deps): its absence is a failure */
    CHECK(have_mnist(), "%s not found: apt-get install dataset-fashion-mnist (or make deps)", WSSS_FASHION_DEFAULT_DIR);
    if (have_mnist()) {
        test_scene_items_in_pool();
        test_scene_consistency();
        test_dataset_files();
        test_class_subset();
    }
    return test_summary("test_fashion_scenes");
}
