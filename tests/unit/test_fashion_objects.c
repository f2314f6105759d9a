/* Fashion-Objects generator: class folder names, item geometry (bounding box 40-90% of the side,
 * centred within the jitter, on the canvas), item i of a split is its pool's item i (disjoint from
 * the scenes' pools), textured background, and the written ImageFolder: layout, determinism (same
 * seed and 1 or 2 threads -> same bytes; other seed -> other bytes), whole-split output (an existing
 * split is refused, a leftover .partial is replaced), pool-size and option errors. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fashion_fixture.h"
#include "test_util.h"
#include "voc_fixture.h"
#include "wsss/fashion_objects.h"
#include "wsss/image_folder.h"

static char g_dir[1024];

static void test_class_folders(void) {
    /* the spec's list, in class order */
    static const char *const want[10] = {"t-shirt-top", "trouser", "pullover", "dress",   "coat",
                                         "sandal",      "shirt",   "sneaker",  "bag",     "ankle-boot"};
    wsss_fashion_objects_opts o;
    wsss_fashion_objects_opts_default(&o);
    for (int c = 1; c <= 10; c++) {
        char *f = wsss_fashion_objects_class_folder(&o, c);
        CHECK(strcmp(f, want[c - 1]) == 0, "class %d: folder '%s', expected '%s'", c, f, want[c - 1]);
        free(f);
    }
    o.n_classes = 2;
    o.classes[0] = 10;
    o.classes[1] = 1;
    char *a = wsss_fashion_objects_class_folder(&o, 1), *b = wsss_fashion_objects_class_folder(&o, 2);
    CHECK(strcmp(a, "ankle-boot") == 0 && strcmp(b, "t-shirt-top") == 0, "subset folders '%s' '%s'", a, b);
    free(a);
    free(b);
}

static int have_mnist(void) {
    struct stat st;
    return stat(WSSS_FASHION_DEFAULT_DIR "/train-images-idx3-ubyte.gz", &st) == 0;
}

/* Renders of real items at several canvas sizes: geometry measured on the mask, item identity. */
static void test_geometry(void) {
    const wsss_fashion_split split = WSSS_FASHION_VAL;
    const wsss_fashion_pool pool = wsss_fashion_item_pool(WSSS_FASHION_OBJECTS, split);
    const wsss_fashion_pool scenes = wsss_fashion_item_pool(WSSS_FASHION_SCENES, split);
    wsss_fashion_source src, full;
    CHECK(wsss_fashion_source_load_pool(WSSS_FASHION_DEFAULT_DIR, WSSS_FASHION_OBJECTS, split, NULL, 0, &src) ==
              WSSS_OK,
          "%s", wsss_error_msg());
    CHECK(wsss_fashion_source_load(WSSS_FASHION_DEFAULT_DIR, split, &full) == WSSS_OK, "%s", wsss_error_msg());
    const int sizes[3] = {64, 48, 100};
    for (int si = 0; si < 3; si++) {
        wsss_fashion_objects_opts o;
        wsss_fashion_objects_opts_default(&o);
        o.size = sizes[si];
        o.seed = 21;
        const int S = o.size, N = si == 0 ? 400 : 100;
        const int lo = (int)ceil(0.4 * S), hi = (int)floor(0.9 * S);
        int bad_fill = 0, bad_centre = 0, bad_mask = 0, bad_item = 0, mirrored = 0, in_scene_pool = 0;
        double fill_lo = 1, fill_hi = 0, min_std = 1e9;
        for (int64_t i = 0; i < N; i++) {
            wsss_image im = {0}, m = {0};
            wsss_fashion_object_info info;
            if (wsss_fashion_render_object(&src, &o, split, i, &im, &m, &info) != WSSS_OK) {
                CHECK(0, "size %d item %lld: %s", S, (long long)i, wsss_error_msg());
                break;
            }
            /* the item is the pool's item i, of the file's class there */
            bad_item += info.src_index != pool.first + i || info.cls != full.labels[pool.first + i] + 1;
            in_scene_pool += info.src_index >= scenes.first && info.src_index < scenes.first + scenes.count;
            mirrored += info.mirrored;
            int x0 = S, y0 = S, x1 = -1, y1 = -1;
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    int v = m.data[y * S + x];
                    if (v == 0) continue;
                    bad_mask += v != info.cls;
                    if (x < x0) x0 = x;
                    if (x > x1) x1 = x;
                    if (y < y0) y0 = y;
                    if (y > y1) y1 = y;
                }
            bad_mask += x0 != info.bbox[0] || y0 != info.bbox[1] || x1 != info.bbox[2] || y1 != info.bbox[3];
            int side = x1 - x0 > y1 - y0 ? x1 - x0 + 1 : y1 - y0 + 1;
            if (side < lo || side > hi) bad_fill++;
            /* box inside the canvas (a touching box may have been cut: then the side above is a lie) */
            if (x0 < 0 || y0 < 0 || x1 > S - 1 || y1 > S - 1) bad_fill++;
            if (fabs((x0 + x1 + 1) / 2.0 - S / 2.0) > 0.1 * S + 0.5 || fabs((y0 + y1 + 1) / 2.0 - S / 2.0) > 0.1 * S + 0.5)
                bad_centre++;
            if ((double)side / S < fill_lo) fill_lo = (double)side / S;
            if ((double)side / S > fill_hi) fill_hi = (double)side / S;
            /* background (mask 0 two pixels away from the item) is a texture, not a flat colour */
            double sd = fashion_background_std(&im, &m, 2, 51);
            if (sd >= 0 && sd < min_std) min_std = sd;
            wsss_image_free(&im);
            wsss_image_free(&m);
        }
        CHECK(bad_item == 0 && in_scene_pool == 0, "size %d: %d items not the pool's item i, %d from the scenes' pool",
              S, bad_item, in_scene_pool);
        CHECK(bad_mask == 0, "size %d: %d mask/box disagreements", S, bad_mask);
        CHECK(bad_fill == 0, "size %d: %d boxes outside %d..%d pixels or off the canvas", S, bad_fill, lo, hi);
        CHECK(bad_centre == 0, "size %d: %d box centres further than 10%% of the side from the centre", S, bad_centre);
        /* the fill is drawn over the whole range, not stuck at one end */
        CHECK(fill_lo < 0.5 && fill_hi > 0.8, "size %d: fills %.2f..%.2f, expected to span most of 0.4..0.9", S,
              fill_lo, fill_hi);
        CHECK(min_std > 8.0, "size %d: flattest background std %.2f (0..255), expected > 8", S, min_std);
        if (si == 0) {
            double sd = sqrt(N * 0.25); /* mirroring with p = 0.5: 5 standard deviations */
            CHECK(fabs(mirrored - N * 0.5) < 5 * sd, "%d of %d mirrored", mirrored, N);
            printf("  size %d: box sides %.2f..%.2f of the canvas, flattest background std %.1f, %d/%d mirrored\n", S,
                   fill_lo, fill_hi, min_std, mirrored, N);
        }
    }
    wsss_fashion_source_free(&src);
    wsss_fashion_source_free(&full);
}

/* The defaults but for a small set written to dir quietly. */
static wsss_fashion_objects_opts small_set(const char *dir, int64_t n_train, int64_t n_val, int size) {
    wsss_fashion_objects_opts o;
    wsss_fashion_objects_opts_default(&o);
    o.out_dir = dir;
    o.n_train = n_train;
    o.n_val = n_val;
    o.size = size;
    o.progress = 0;
    return o;
}

static int gen(const char *dir, uint64_t seed, int threads, int n_train, int n_val) {
    wsss_fashion_objects_opts o = small_set(dir, n_train, n_val, 40);
    o.seed = seed;
    omp_set_num_threads(threads);
    int rc = wsss_fashion_objects_generate(&o, NULL);
    omp_set_num_threads(2);
    return rc;
}

/* The written folders through the ImageFolder reader: ids, classes and bytes. */
static void test_written_folder(void) {
    char a[1200], b[1200], c[1200];
    snprintf(a, sizeof a, "%s/fo_a", g_dir);
    snprintf(b, sizeof b, "%s/fo_b", g_dir);
    snprintf(c, sizeof c, "%s/fo_c", g_dir);
    CHECK(gen(a, 7, 1, 40, 12) == WSSS_OK, "generate %s: %s", a, wsss_error_msg());
    CHECK(gen(b, 7, 2, 40, 12) == WSSS_OK, "generate %s: %s", b, wsss_error_msg());
    CHECK(gen(c, 8, 2, 40, 12) == WSSS_OK, "generate %s: %s", c, wsss_error_msg());
    static const char *const splits[2] = {"train", "val"};
    const int counts[2] = {40, 12};
    for (int s = 0; s < 2; s++) {
        const wsss_fashion_pool pool = wsss_fashion_item_pool(WSSS_FASHION_OBJECTS, (wsss_fashion_split)s);
        wsss_fashion_source full;
        CHECK(wsss_fashion_source_load(WSSS_FASHION_DEFAULT_DIR, (wsss_fashion_split)s, &full) == WSSS_OK, "%s",
              wsss_error_msg());
        wsss_image_folder *fa = NULL, *fb = NULL, *fc = NULL;
        CHECK(wsss_image_folder_open(a, splits[s], NULL, &fa) == WSSS_OK, "%s", wsss_error_msg());
        CHECK(wsss_image_folder_open(b, splits[s], NULL, &fb) == WSSS_OK, "%s", wsss_error_msg());
        CHECK(wsss_image_folder_open(c, splits[s], NULL, &fc) == WSSS_OK, "%s", wsss_error_msg());
        if (!fa || !fb || !fc || !full.labels) {
            wsss_image_folder_free(fa);
            wsss_image_folder_free(fb);
            wsss_image_folder_free(fc);
            wsss_fashion_source_free(&full);
            continue;
        }
        CHECK(fa->n == counts[s] && fb->n == fa->n && fc->n == fa->n, "%s: %lld images, expected %d", splits[s],
              (long long)fa->n, counts[s]);
        int same_ab = 1, differ_c = 0, wrong_folder = 0, seen[64] = {0};
        for (int64_t i = 0; i < fa->n && i < fb->n && i < fc->n; i++) {
            same_ab &= strcmp(fa->ids[i], fb->ids[i]) == 0 && fashion_same_file(fa->paths[i], fb->paths[i]);
            differ_c += strcmp(fa->ids[i], fc->ids[i]) == 0 && !fashion_same_file(fa->paths[i], fc->paths[i]);
            /* "<folder>/<split>_<k>.jpg": image k shows pool item k, so its folder is that item's class */
            const char *slash = strchr(fa->ids[i], '/');
            long k = -1;
            char idfmt[32];
            snprintf(idfmt, sizeof idfmt, "/%s_%%ld.jpg", splits[s]);
            if (!slash || sscanf(slash, idfmt, &k) != 1 || k < 0 || k >= counts[s]) {
                wrong_folder++;
                continue;
            }
            seen[k]++;
            char *want = wsss_class_folder_name(wsss_fashion_class_names[full.labels[pool.first + k] + 1]);
            wrong_folder += strncmp(fa->ids[i], want, (size_t)(slash - fa->ids[i])) != 0 ||
                            want[slash - fa->ids[i]] != 0;
            free(want);
        }
        int each_once = 1;
        for (int k = 0; k < counts[s]; k++) each_once &= seen[k] == 1;
        CHECK(same_ab, "%s: same seed with 1 and 2 threads gave different files", splits[s]);
        CHECK(differ_c == fa->n, "%s: another seed changed %d of %lld images", splits[s], differ_c, (long long)fa->n);
        CHECK(wrong_folder == 0 && each_once, "%s: %d images in the wrong class folder; each id once: %d", splits[s],
              wrong_folder, each_once);
        /* the JPEG is the render of (seed, split, k) */
        wsss_fashion_source src;
        CHECK(wsss_fashion_source_load_pool(WSSS_FASHION_DEFAULT_DIR, WSSS_FASHION_OBJECTS, (wsss_fashion_split)s,
                                            NULL, 0, &src) == WSSS_OK,
              "%s", wsss_error_msg());
        wsss_fashion_objects_opts o;
        wsss_fashion_objects_opts_default(&o);
        o.size = 40;
        o.seed = 7;
        double worst = 0;
        for (int64_t i = 0; i < fa->n; i++) {
            long k;
            char idfmt[32];
            snprintf(idfmt, sizeof idfmt, "/%s_%%ld.jpg", splits[s]);
            if (sscanf(strchr(fa->ids[i], '/'), idfmt, &k) != 1) continue;
            wsss_image r = {0}, d = {0};
            if (wsss_fashion_render_object(&src, &o, (wsss_fashion_split)s, k, &r, NULL, NULL) != WSSS_OK ||
                wsss_image_read_rgb(fa->paths[i], &d) != WSSS_OK) {
                CHECK(0, "%s", wsss_error_msg());
                continue;
            }
            double mad = 0;
            for (int p = 0; p < 40 * 40 * 3; p++) mad += abs((int)r.data[p] - (int)d.data[p]);
            mad /= 40 * 40 * 3;
            if (mad > worst) worst = mad;
            wsss_image_free(&r);
            wsss_image_free(&d);
        }
        CHECK(worst < 10.0, "%s: a JPEG differs from its render by %.2f on average", splits[s], worst);
        wsss_fashion_source_free(&src);
        wsss_fashion_source_free(&full);
        wsss_image_folder_free(fa);
        wsss_image_folder_free(fb);
        wsss_image_folder_free(fc);
    }

    /* whole splits: an existing split is refused before anything is written */
    CHECK(gen(a, 7, 2, 5, 0) == WSSS_ERR && strstr(wsss_error_msg(), "fo_a/train already exists"),
          "existing split: '%s'", wsss_error_msg());
    /* a leftover .partial (an interrupted run) is replaced */
    char d[1200];
    snprintf(d, sizeof d, "%s/fo_d", g_dir);
    vf_mkdir("%s/train.partial/coat", d);
    vf_write(test_path(d, "train.partial/coat/train_000099.jpg.tmp.abcdef"), "half an image");
    CHECK(gen(d, 7, 2, 6, 0) == WSSS_OK, "over a leftover .partial: %s", wsss_error_msg());
    struct stat st;
    CHECK(stat(test_path(d, "train.partial"), &st) != 0 && stat(test_path(d, "val"), &st) != 0,
          "no .partial left, no val split written for --val 0");
    wsss_image_folder *f = NULL;
    CHECK(wsss_image_folder_open(d, "train", NULL, &f) == WSSS_OK && f->n == 6, "%s", wsss_error_msg());
    wsss_image_folder_free(f);

    /* a leftover holding a link to a folder elsewhere: refused, nothing behind the link removed */
    char keep[1200];
    snprintf(d, sizeof d, "%s/fo_link", g_dir);
    snprintf(keep, sizeof keep, "%s/keep", g_dir);
    vf_mkdir("%s", keep);
    vf_write(test_path(keep, "precious.jpg"), "user data");
    vf_mkdir("%s/train.partial", d);
    CHECK(symlink(keep, test_path(d, "train.partial/coat")) == 0, "symlink");
    CHECK(gen(d, 7, 2, 6, 0) == WSSS_ERR && strstr(wsss_error_msg(), "unexpected entry"), "linked leftover: '%s'",
          wsss_error_msg());
    CHECK(stat(test_path(keep, "precious.jpg"), &st) == 0, "a file behind the link was removed");

    /* pool sizes and options */
    snprintf(d, sizeof d, "%s/fo_e", g_dir);
    CHECK(gen(d, 7, 2, 50001, 0) == WSSS_ERR && strstr(wsss_error_msg(), "50001 train images") &&
              strstr(wsss_error_msg(), "0..49999") && strstr(wsss_error_msg(), "has 50000 items"),
          "too many train images: '%s'", wsss_error_msg());
    CHECK(gen(d, 7, 2, 0, 5001) == WSSS_ERR && strstr(wsss_error_msg(), "5000..9999"), "too many val images: '%s'",
          wsss_error_msg());
    CHECK(stat(d, &st) != 0, "nothing written on errors, not even the output folder");
    CHECK(gen(d, 7, 2, 0, 0) == WSSS_ERR && strstr(wsss_error_msg(), "nothing to generate"), "0 and 0: '%s'",
          wsss_error_msg());
    wsss_fashion_objects_opts o;
    wsss_fashion_objects_opts_default(&o);
    o.out_dir = d;
    o.fill_min = 0.95;
    CHECK(wsss_fashion_objects_generate(&o, NULL) == WSSS_ERR && strstr(wsss_error_msg(), "--fill-min 0.95, --fill-max 0.9"), "fill: '%s'",
          wsss_error_msg());
    o.fill_min = 0.4;
    o.jitter = 0.7;
    CHECK(wsss_fashion_objects_generate(&o, NULL) == WSSS_ERR && strstr(wsss_error_msg(), "jitter 0.7"),
          "jitter: '%s'", wsss_error_msg());
}

/* --classes: only those classes' pool items, renumbered in list order; one image per such item. */
static void test_class_subset(void) {
    char d[1200];
    snprintf(d, sizeof d, "%s/fo_subset", g_dir);
    wsss_fashion_objects_opts o = small_set(d, 0, WSSS_FASHION_OBJECTS_ALL, 32);
    o.n_classes = 2;
    o.classes[0] = 9;
    o.classes[1] = 2;
    int64_t counts[2][WSSS_FASHION_NUM_CLASSES];
    CHECK(wsss_fashion_objects_generate(&o, counts) == WSSS_OK, "%s", wsss_error_msg());
    /* expected: the val pool's Bag and Trouser items, counted in the t10k file */
    wsss_fashion_source full;
    CHECK(wsss_fashion_source_load(WSSS_FASHION_DEFAULT_DIR, WSSS_FASHION_VAL, &full) == WSSS_OK, "t10k");
    const wsss_fashion_pool pool = wsss_fashion_item_pool(WSSS_FASHION_OBJECTS, WSSS_FASHION_VAL);
    int64_t bags = 0, trousers = 0;
    for (int64_t k = pool.first; k < pool.first + pool.count; k++) {
        bags += full.labels[k] + 1 == 9;
        trousers += full.labels[k] + 1 == 2;
    }
    wsss_fashion_source_free(&full);
    CHECK(counts[1][1] == bags && counts[1][2] == trousers && counts[1][3] == 0,
          "val counts bag %lld trouser %lld, the pool has %lld and %lld", (long long)counts[1][1],
          (long long)counts[1][2], (long long)bags, (long long)trousers);
    wsss_image_folder *f = NULL;
    CHECK(wsss_image_folder_open(d, "val", NULL, &f) == WSSS_OK, "%s", wsss_error_msg());
    if (f) {
        CHECK(f->num_classes == 2 && strcmp(f->class_names[0], "bag") == 0 &&
                  strcmp(f->class_names[1], "trouser") == 0 && f->class_count[0] == bags &&
                  f->class_count[1] == trousers,
              "folders: %d classes", f->num_classes);
        wsss_image_folder_free(f);
    }
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmp_dir("fashion_objects"));
    test_class_folders();
    /* the generator's subject is the real data: without it this test fails rather than pass empty */
    CHECK(have_mnist(), "%s not found: install dataset-fashion-mnist (make deps)", WSSS_FASHION_DEFAULT_DIR);
    if (have_mnist()) {
        test_geometry();
        test_written_folder();
        test_class_subset();
    }
    return test_summary("test_fashion_objects");
}
