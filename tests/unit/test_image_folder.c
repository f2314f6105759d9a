/* ImageFolder reader: class and file order (strcmp, as torchvision sorts), extensions in any case,
 * hidden entries ignored; errors naming the folder or file (missing root or split, no class folders,
 * an empty class folder, a non-image entry, a folder inside a class folder, a file among the class
 * folders) and skip_bad warnings; a corrupt image is an error at decode naming the file; class-name
 * normalisation and matching to a dataset's classes; the dataset adapter feeding the loader with
 * one-hot labels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "voc_fixture.h"
#include "wsss/image_folder.h"
#include "wsss/loader.h"

static char g_dir[1024];

/* A 6 x 4 PNG whose red channel is `tag` (so a batch row tells which file it came from). */
static void write_png(const char *path, int tag) {
    wsss_image im;
    wsss_image_alloc(&im, 6, 4, 3);
    for (int p = 0; p < 6 * 4; p++) {
        im.data[p * 3] = (uint8_t)tag;
        im.data[p * 3 + 1] = (uint8_t)(p * 9);
        im.data[p * 3 + 2] = 77;
    }
    CHECK(wsss_image_write_png(path, &im) == WSSS_OK, "%s", wsss_error_msg());
    wsss_image_free(&im);
}

static const char *P(const char *root, const char *rel) {
    static char buf[8][1400];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
    return buf[k];
}

/* root/train: classes "C", "a", "b" (strcmp order: uppercase first), extensions in several cases,
 * a hidden file and a hidden folder that must be ignored. */
static void build_good(const char *root) {
    vf_mkdir("%s/train/a", root);
    vf_mkdir("%s/train/b", root);
    vf_mkdir("%s/train/C", root);
    vf_mkdir("%s/train/.cache", root);
    write_png(P(root, "train/a/z2.png"), 10);
    write_png(P(root, "train/a/Z1.PNG"), 11); /* 'Z' < 'z': first */
    write_png(P(root, "train/b/k.jpg.png"), 20);
    write_png(P(root, "train/C/only.Png"), 30);
    vf_write(P(root, "train/a/.DS_Store"), "metadata");
    wsss_image im;
    wsss_image_alloc(&im, 6, 4, 3);
    memset(im.data, 40, 6 * 4 * 3);
    CHECK(wsss_image_write_jpeg(P(root, "train/b/j.JPEG"), &im, 95) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_image_write_jpeg(P(root, "train/b/i.Jpg"), &im, 95) == WSSS_OK, "%s", wsss_error_msg());
    wsss_image_free(&im);
}

static void test_good_folder(void) {
    char root[1200];
    snprintf(root, sizeof root, "%s/good", g_dir);
    build_good(root);
    wsss_image_folder *f = NULL;
    CHECK(wsss_image_folder_open(root, "train", NULL, &f) == WSSS_OK, "%s", wsss_error_msg());
    if (!f) return;
    CHECK(f->num_classes == 3 && strcmp(f->class_names[0], "C") == 0 && strcmp(f->class_names[1], "a") == 0 &&
              strcmp(f->class_names[2], "b") == 0,
          "classes in strcmp order: %d", f->num_classes);
    static const char *const want_ids[6] = {"C/only.Png", "a/Z1.PNG", "a/z2.png", "b/i.Jpg", "b/j.JPEG", "b/k.jpg.png"};
    static const int want_labels[6] = {0, 1, 1, 2, 2, 2};
    CHECK(f->n == 6, "%lld images, expected 6 (hidden entries ignored)", (long long)f->n);
    for (int64_t i = 0; i < f->n && i < 6; i++) {
        CHECK(strcmp(f->ids[i], want_ids[i]) == 0 && f->labels[i] == want_labels[i], "sample %lld: %s label %d",
              (long long)i, f->ids[i], f->labels[i]);
        CHECK(strcmp(f->paths[i], P(root, test_path("train", want_ids[i]))) == 0, "path %s", f->paths[i]);
    }
    CHECK(f->class_count[0] == 1 && f->class_count[1] == 2 && f->class_count[2] == 3, "class counts");
    CHECK(f->n_skipped == 0, "nothing skipped");
    wsss_image_folder_free(f);
}

typedef struct warn_log {
    int n;
    char last[1600];
} warn_log;

static void record_warning(void *user, const char *msg) {
    warn_log *w = user;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

/* Opening fails with a message containing every `needles` string. */
static void expect_error(const char *root, const char *split, const char *what, const char *n1, const char *n2) {
    wsss_image_folder *f = NULL;
    int rc = wsss_image_folder_open(root, split, NULL, &f);
    const char *m = wsss_error_msg();
    CHECK(rc == WSSS_ERR && f == NULL && strstr(m, n1) && (!n2 || strstr(m, n2)), "%s: '%s'", what, m);
    wsss_image_folder_free(f);
}

static void test_bad_folders(void) {
    char root[1200];
    snprintf(root, sizeof root, "%s/bad", g_dir);
    expect_error(root, "train", "missing root", root, "not found");
    vf_mkdir("%s", root);
    expect_error(root, "train", "missing split", P(root, "train"), "split folder not found");
    vf_mkdir("%s/train", root);
    expect_error(root, "train", "no class folders", P(root, "train"), "no class folders");
    vf_mkdir("%s/train/coat", root);
    vf_mkdir("%s/train/bag", root);
    write_png(P(root, "train/bag/1.png"), 1);
    expect_error(root, "train", "empty class folder", P(root, "train/coat"), "without images");
    write_png(P(root, "train/coat/1.png"), 2);
    vf_write(P(root, "train/coat/notes.txt"), "not an image");
    expect_error(root, "train", "non-image file", P(root, "train/coat/notes.txt"), "not an image file name");

    /* skip_bad: a warning naming the file, the entry skipped, the rest opened */
    wsss_image_folder_opts o;
    wsss_image_folder_opts_default(&o);
    warn_log w = {0};
    o.skip_bad = 1;
    o.warn = record_warning;
    o.warn_user = &w;
    wsss_image_folder *f = NULL;
    CHECK(wsss_image_folder_open(root, "train", &o, &f) == WSSS_OK, "skip_bad: %s", wsss_error_msg());
    CHECK(f && f->n == 2 && f->n_skipped == 1, "skip_bad: %lld images, %lld skipped", f ? (long long)f->n : -1LL,
          f ? (long long)f->n_skipped : -1LL);
    CHECK(w.n == 1 && strstr(w.last, "notes.txt"), "one warning naming the file: %d '%s'", w.n, w.last);
    wsss_image_folder_free(f);

    /* a class folder holding only skipped entries still has no images */
    unlink(P(root, "train/coat/1.png"));
    f = NULL;
    CHECK(wsss_image_folder_open(root, "train", &o, &f) == WSSS_ERR && strstr(wsss_error_msg(), "train/coat") &&
              strstr(wsss_error_msg(), "without images"),
          "only skipped entries: '%s'", wsss_error_msg());
    write_png(P(root, "train/coat/1.png"), 2);
    unlink(P(root, "train/coat/notes.txt"));

    vf_mkdir("%s/train/coat/nested", root);
    expect_error(root, "train", "folder in a class folder", P(root, "train/coat/nested"), "a folder inside");
    rmdir(P(root, "train/coat/nested"));
    write_png(P(root, "train/stray.png"), 3);
    expect_error(root, "train", "file among class folders", P(root, "train/stray.png"), "where class folders");
    unlink(P(root, "train/stray.png"));
    f = NULL;
    CHECK(wsss_image_folder_open(root, "train", NULL, &f) == WSSS_OK && f->n == 2, "repaired folder: %s",
          wsss_error_msg());
    wsss_image_folder_free(f);
}

static void test_folder_names(void) {
    static const char *const in[] = {"T-shirt/top", "Trouser", "Ankle boot", "  Foo__Bar!! ", "ABC123", "a  b--c",
                                     "///", "", "Caf\xc3\xa9 au lait"};
    static const char *const want[] = {"t-shirt-top", "trouser", "ankle-boot", "foo-bar", "abc123", "a-b-c",
                                       "", "", "caf-au-lait"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char *got = wsss_class_folder_name(in[i]);
        CHECK(strcmp(got, want[i]) == 0, "'%s' -> '%s', expected '%s'", in[i], got, want[i]);
        free(got);
    }
}

static void test_match_classes(void) {
    char root[1200];
    snprintf(root, sizeof root, "%s/match", g_dir);
    vf_mkdir("%s/train/ankle-boot", root);
    vf_mkdir("%s/train/t-shirt-top", root);
    vf_mkdir("%s/train/Bag", root);
    write_png(P(root, "train/ankle-boot/1.png"), 1);
    write_png(P(root, "train/t-shirt-top/1.png"), 2);
    write_png(P(root, "train/Bag/1.png"), 3);
    wsss_image_folder *f = NULL;
    CHECK(wsss_image_folder_open(root, "train", NULL, &f) == WSSS_OK, "%s", wsss_error_msg());
    if (!f) return;
    /* folders sorted: Bag, ankle-boot, t-shirt-top */
    char *names[5] = {"background", "T-shirt/top", "Trouser", "Bag", "Ankle boot"};
    int map[3] = {-7, -7, -7};
    CHECK(wsss_image_folder_match_classes(f, names, 5, "classes.txt", map) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(map[0] == 3 && map[1] == 4 && map[2] == 1, "map %d %d %d, expected 3 4 1", map[0], map[1], map[2]);

    /* the dataset adapter with the map: labels in the dataset's classes, one-hot rows */
    wsss_dataset *ds = NULL;
    CHECK(wsss_image_folder_to_dataset(f, map, names, 5, &ds) == WSSS_OK, "%s", wsss_error_msg());
    if (ds) {
        CHECK(ds->num_classes == 5 && strcmp(ds->class_names[4], "Ankle boot") == 0 && ds->mask_paths == NULL &&
                  ds->label_source == WSSS_LABELS_FROM_LIST,
              "mapped dataset");
        int ids[5];
        for (int64_t i = 0; i < ds->n; i++)
            CHECK(wsss_dataset_label_ids(ds, i, ids) == 1 && ids[0] == map[f->labels[i]], "sample %lld label",
                  (long long)i);
        CHECK(wsss_dataset_find(ds, "Bag/1.png") == 0, "find by id");
        wsss_dataset_free(ds);
    }

    char *few[3] = {"background", "Bag", "Ankle boot"};
    CHECK(wsss_image_folder_match_classes(f, few, 3, "few/classes.txt", map) == WSSS_ERR &&
              strstr(wsss_error_msg(), "t-shirt-top") && strstr(wsss_error_msg(), "matches no class of few/classes.txt") &&
              strstr(wsss_error_msg(), "bag, ankle-boot"),
          "unknown folder: '%s'", wsss_error_msg());
    char *twins[4] = {"background", "Bag", "Ankle  Boot", "ankle-boot"};
    char *all3[4] = {"background", "T-shirt/top", "Bag", "Ankle boot"};
    CHECK(wsss_image_folder_match_classes(f, twins, 4, "twins.txt", map) == WSSS_ERR &&
              strstr(wsss_error_msg(), "matches both"),
          "two classes with one folder name: '%s'", wsss_error_msg());
    wsss_image_folder_free(f);

    vf_mkdir("%s/train/bag", root); /* "Bag" and "bag" both normalise to bag */
    write_png(P(root, "train/bag/2.png"), 4);
    f = NULL;
    CHECK(wsss_image_folder_open(root, "train", NULL, &f) == WSSS_OK, "%s", wsss_error_msg());
    int map4[4];
    CHECK(f && wsss_image_folder_match_classes(f, all3, 4, "c.txt", map4) == WSSS_ERR &&
              strstr(wsss_error_msg(), "'Bag' and 'bag' both match"),
          "two folders, one class: '%s'", wsss_error_msg());
    wsss_image_folder_free(f);
    vf_mkdir("%s/train/Background", root);
    write_png(P(root, "train/Background/1.png"), 5);
    unlink(P(root, "train/bag/2.png"));
    rmdir(P(root, "train/bag"));
    f = NULL;
    CHECK(wsss_image_folder_open(root, "train", NULL, &f) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(f && wsss_image_folder_match_classes(f, all3, 4, "c.txt", map4) == WSSS_ERR &&
              strstr(wsss_error_msg(), "train/Background") && strstr(wsss_error_msg(), "background class"),
          "background folder: '%s'", wsss_error_msg());
    wsss_image_folder_free(f);
}

/* The identity adapter through the loader: every image once per epoch, its one-hot row's argmax is
 * its folder's index; a corrupt image is an error naming it at decode (or skipped with skip_bad). */
static void test_loader_adapter(void) {
    char root[1200];
    snprintf(root, sizeof root, "%s/loader", g_dir);
    const char *cls[3] = {"cat", "dog", "eel"};
    int tag = 0;
    for (int c = 0; c < 3; c++) {
        vf_mkdir("%s/val/%s", root, cls[c]);
        for (int k = 0; k < 3 + c; k++) {
            char rel[64];
            snprintf(rel, sizeof rel, "val/%s/%d.png", cls[c], k);
            write_png(P(root, rel), 10 * c + k); /* red channel: class and file */
            tag++;
        }
    }
    wsss_image_folder *f = NULL;
    CHECK(wsss_image_folder_open(root, "val", NULL, &f) == WSSS_OK, "%s", wsss_error_msg());
    if (!f) return;
    wsss_dataset *ds = NULL;
    CHECK(wsss_image_folder_to_dataset(f, NULL, NULL, 0, &ds) == WSSS_OK, "%s", wsss_error_msg());
    if (!ds) return;
    CHECK(ds->n == tag && ds->num_classes == 4 && strcmp(ds->class_names[0], "background") == 0 &&
              strcmp(ds->class_names[3], "eel") == 0,
          "identity dataset: %lld samples, %d classes", (long long)ds->n, ds->num_classes);
    wsss_loader_opts lo;
    wsss_loader_opts_default(&lo);
    lo.batch_size = 4;
    lo.seed = 5;
    lo.aug.div = 1; /* raw 0..255 values, so the red tag can be read back */
    for (int c = 0; c < 3; c++) {
        lo.aug.mean[c] = 0;
        lo.aug.std[c] = 1;
    }
    wsss_loader *l = NULL;
    CHECK(wsss_loader_new(ds, &lo, &l) == WSSS_OK, "%s", wsss_error_msg());
    int seen[64] = {0}, bad_rows = 0;
    for (int64_t b = 0; l && b < wsss_loader_batches_per_epoch(l); b++) {
        const wsss_batch *bt;
        if (wsss_loader_next(l, &bt) != WSSS_OK) {
            CHECK(0, "%s", wsss_error_msg());
            break;
        }
        CHECK(bt->masks == NULL && bt->labels && bt->labels->shape[1] == 3, "labels tensor n x 3, no masks");
        for (int64_t k = 0; k < bt->n; k++) {
            const float *row = wsss_f32(bt->labels) + k * 3;
            int arg = 0, ones = 0;
            for (int c = 0; c < 3; c++) {
                ones += row[c] == 1.0f;
                if (row[c] > row[arg]) arg = c;
            }
            float red = wsss_f32(bt->images)[k * 3 * 4 * 6]; /* channel 0, pixel (0, 0) */
            int t = (int)(red + 0.5f);
            bad_rows += ones != 1 || arg != t / 10 || arg != f->labels[bt->samples[k]];
            if (t >= 0 && t < 64) seen[t]++;
        }
    }
    int once = 1;
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 3 + c; k++) once &= seen[10 * c + k] == 1;
    CHECK(bad_rows == 0 && once, "%d rows whose one-hot label is not the folder's class; every image once: %d",
          bad_rows, once);
    wsss_loader_free(l);

    /* a corrupt image: found at decode, the error naming the file */
    vf_write(P(root, "val/dog/9.png"), "not a png at all");
    wsss_dataset_free(ds);
    wsss_image_folder_free(f);
    f = NULL;
    ds = NULL;
    CHECK(wsss_image_folder_open(root, "val", NULL, &f) == WSSS_OK, "corrupt files open: %s", wsss_error_msg());
    CHECK(f && wsss_image_folder_to_dataset(f, NULL, NULL, 0, &ds) == WSSS_OK, "%s", wsss_error_msg());
    if (ds) {
        int64_t bad = wsss_dataset_find(ds, "dog/9.png");
        wsss_sample smp;
        CHECK(bad >= 0 && wsss_dataset_load(ds, bad, WSSS_LOAD_IMAGE, &smp) == WSSS_ERR &&
                  strstr(wsss_error_msg(), "val/dog/9.png"),
              "corrupt image at decode: '%s'", wsss_error_msg());
        wsss_dataset_free(ds);
    }
    wsss_image_folder_free(f);
}

static void test_from_list_errors(void) {
    const char *names[2] = {"background", "thing"};
    const char *ids[2] = {"x", "x"}, *paths[2] = {"/a.png", "/b.png"};
    const int labels[2] = {1, 1};
    wsss_dataset *ds = NULL;
    CHECK(wsss_dataset_from_list("listed", 2, names, 2, ids, paths, labels, &ds) == WSSS_ERR && ds == NULL &&
              strstr(wsss_error_msg(), "'x' given twice"),
          "repeated id: '%s'", wsss_error_msg());
    CHECK(wsss_dataset_from_list("listed", 1, names, 2, ids, paths, labels, &ds) == WSSS_ERR &&
              strstr(wsss_error_msg(), "1 classes"),
          "one class: '%s'", wsss_error_msg());
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmp_dir("image_folder"));
    test_good_folder();
    test_bad_folders();
    test_folder_names();
    test_match_classes();
    test_loader_adapter();
    test_from_list_errors();
    return test_summary("test_image_folder");
}
