/* VOC-format dataset: builds small folders (non-square images, 5 classes via classes.txt) and
 * checks ids, paths, labels from masks and from cls_labels.txt, the per-class index and loading.
 * Expected labels are the classes each test mask was painted with. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "voc_fixture.h"
#include "wsss/dataset.h"

static char g_tmp[1024];

typedef struct {
    const char *id;
    int w, h, n;
    int values[5];
} sample_spec;

static const sample_spec k_samples[] = {
    {"s0", 40, 24, 3, {0, 1, 3}},       {"s1", 24, 40, 3, {0, 2, 255}}, {"s2", 31, 17, 2, {4, 1}},
    {"s3", 17, 31, 1, {0}},             {"s4", 50, 20, 5, {2, 3, 4, 255, 0}},
};
enum { N_SAMPLES = 5 };

static void build_a(const char *root) {
    vf_root(root);
    char p[2048];
    snprintf(p, sizeof p, "%s/classes.txt", root);
    vf_write(p, "background\nshirt\nshoe\nbag\nhat\n\n");
    for (int i = 0; i < N_SAMPLES; i++) {
        const sample_spec *s = &k_samples[i];
        vf_image(root, s->id, s->w, s->h);
        vf_mask(root, "SegmentationClass", s->id, s->w, s->h, s->n, s->values);
    }
    snprintf(p, sizeof p, "%s/ImageSets/Segmentation/train.txt", root);
    vf_write(p, "s0\ns1\r\n\n  s2  \ns3\ns4"); /* CRLF, blank line, spaces, no final newline */
    snprintf(p, sizeof p, "%s/ImageSets/Segmentation/val.txt", root);
    vf_write(p, "s2\ns4\n");
}

static int labels_are(const wsss_dataset *ds, int64_t i, int n, const int *want) {
    int ids[WSSS_MAX_CLASSES];
    int m = wsss_dataset_label_ids(ds, i, ids);
    if (m != n) return 0;
    for (int k = 0; k < n; k++)
        if (ids[k] != want[k]) return 0;
    return 1;
}

static int index_is(const wsss_dataset *ds, int c, int n, const int64_t *want) {
    int64_t cnt;
    const int64_t *s = wsss_dataset_class_samples(ds, c, &cnt);
    if (cnt != n) return 0;
    for (int k = 0; k < n; k++)
        if (s[k] != want[k]) return 0;
    return 1;
}

static void test_labels_from_masks(const char *root) {
    wsss_dataset *ds = NULL;
    CHECK(wsss_dataset_open(root, NULL, &ds) == WSSS_OK, "open: %s", wsss_error_msg());
    if (!ds) return;
    CHECK(ds->n == 5 && ds->num_classes == 5, "n %lld classes %d", (long long)ds->n, ds->num_classes);
    CHECK(strcmp(ds->class_names[0], "background") == 0 && strcmp(ds->class_names[4], "hat") == 0, "names");
    CHECK(ds->label_source == WSSS_LABELS_FROM_MASKS && ds->has_labels == 1, "label source %d", ds->label_source);
    CHECK(strcmp(ds->ids[2], "s2") == 0 && strcmp(ds->ids[4], "s4") == 0, "ids");
    CHECK(strstr(ds->image_paths[1], "JPEGImages/s1.jpg") && strstr(ds->mask_paths[1], "SegmentationClass/s1.png"),
          "paths %s %s", ds->image_paths[1], ds->mask_paths[1]);
    CHECK(ds->saliency_paths == NULL && ds->n_skipped == 0, "saliency/skipped");
    CHECK(labels_are(ds, 0, 2, (int[]){1, 3}), "s0 labels");
    CHECK(labels_are(ds, 1, 1, (int[]){2}), "s1 labels (255 ignored)");
    CHECK(labels_are(ds, 2, 2, (int[]){1, 4}), "s2 labels");
    CHECK(labels_are(ds, 3, 0, NULL), "s3 has no foreground");
    CHECK(labels_are(ds, 4, 3, (int[]){2, 3, 4}), "s4 labels");
    CHECK(wsss_dataset_labels(ds, 4)[0] == 0, "background column set");
    float v[4];
    wsss_dataset_label_vector(ds, 4, v);
    CHECK(v[0] == 0 && v[1] == 1 && v[2] == 1 && v[3] == 1, "label vector %g %g %g %g", v[0], v[1], v[2], v[3]);
    /* per-class index */
    CHECK(index_is(ds, 0, 0, NULL), "background index not empty");
    CHECK(index_is(ds, 1, 2, (int64_t[]){0, 2}), "class 1 index");
    CHECK(index_is(ds, 2, 2, (int64_t[]){1, 4}), "class 2 index");
    CHECK(index_is(ds, 3, 2, (int64_t[]){0, 4}), "class 3 index");
    CHECK(index_is(ds, 4, 2, (int64_t[]){2, 4}), "class 4 index");
    CHECK(wsss_dataset_find(ds, "s3") == 3 && wsss_dataset_find(ds, "s0") == 0 && wsss_dataset_find(ds, "zz") == -1,
          "find");
    /* loading */
    for (int i = 0; i < N_SAMPLES; i++) {
        const sample_spec *s = &k_samples[i];
        wsss_sample smp;
        CHECK(wsss_dataset_load(ds, i, WSSS_LOAD_IMAGE | WSSS_LOAD_MASK | WSSS_LOAD_SALIENCY, &smp) == WSSS_OK, "load %d: %s",
              i, wsss_error_msg());
        CHECK(smp.image.width == s->w && smp.image.height == s->h && smp.image.channels == 3, "image %d size", i);
        CHECK(smp.mask.width == s->w && smp.mask.height == s->h && smp.mask.channels == 1, "mask %d size", i);
        int ok = smp.mask.data != NULL;
        for (int y = 0; ok && y < s->h; y++)
            for (int x = 0; ok && x < s->w; x++) ok = smp.mask.data[y * s->w + x] == s->values[x * s->n / s->w];
        CHECK(ok, "mask %d values", i);
        CHECK(smp.saliency.data == NULL, "saliency without a folder");
        wsss_sample_free(&smp);
    }
    wsss_sample smp;
    CHECK(wsss_dataset_load(ds, 1, WSSS_LOAD_MASK, &smp) == WSSS_OK && smp.image.data == NULL && smp.mask.data,
          "mask-only load: %s", wsss_error_msg());
    wsss_sample_free(&smp);
    /* concurrent loads give the same pixels as serial ones */
    int same = 1;
#pragma omp parallel for reduction(&& : same)
    for (int k = 0; k < 20; k++) {
        wsss_sample a, b;
        int i = k % N_SAMPLES;
        int ok = wsss_dataset_load(ds, i, WSSS_LOAD_IMAGE | WSSS_LOAD_MASK, &a) == WSSS_OK &&
                 wsss_dataset_load(ds, i, WSSS_LOAD_IMAGE | WSSS_LOAD_MASK, &b) == WSSS_OK &&
                 memcmp(a.image.data, b.image.data, (size_t)a.image.width * a.image.height * 3) == 0;
        same = same && ok;
        wsss_sample_free(&a);
        wsss_sample_free(&b);
    }
    CHECK(same, "parallel loads differ or fail");
    wsss_dataset_free(ds);

    /* val split keeps list order */
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.split = "val";
    CHECK(wsss_dataset_open(root, &o, &ds) == WSSS_OK, "open val: %s", wsss_error_msg());
    if (ds) {
        CHECK(ds->n == 2 && strcmp(ds->ids[0], "s2") == 0 && strcmp(ds->ids[1], "s4") == 0, "val ids");
        CHECK(index_is(ds, 4, 2, (int64_t[]){0, 1}) && index_is(ds, 2, 1, (int64_t[]){1}), "val class index");
        wsss_dataset_free(ds);
    }
}

static void test_labels_from_file(const char *root) {
    char p[2048];
    snprintf(p, sizeof p, "%s/cls_labels.txt", root);
    /* differ from the masks on purpose (s3 gets class 2) so we see the file is used; s4 is absent and
     * falls back to its mask; zz is not in the split, so its out-of-range class is not a problem */
    vf_write(p, "s0 1 3\ns1 2\ns2 4 1\ns3 2\nzz 9\n");
    wsss_dataset *ds = NULL;
    CHECK(wsss_dataset_open(root, NULL, &ds) == WSSS_OK, "open: %s", wsss_error_msg());
    if (ds) {
        CHECK(ds->label_source == WSSS_LABELS_FROM_FILE && ds->has_labels, "source %d", ds->label_source);
        CHECK(labels_are(ds, 0, 2, (int[]){1, 3}), "s0");
        CHECK(labels_are(ds, 2, 2, (int[]){1, 4}), "s2 (listed 4 1)");
        CHECK(labels_are(ds, 3, 1, (int[]){2}), "s3 from the file");
        CHECK(labels_are(ds, 4, 3, (int[]){2, 3, 4}), "s4 from its mask");
        CHECK(index_is(ds, 2, 3, (int64_t[]){1, 3, 4}), "class 2 index");
        wsss_dataset_free(ds);
    }
    /* without masks the same file is the only label source */
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.masks = WSSS_MASKS_NONE;
    vf_write(p, "s0 1 3\ns1 2\ns2 4 1\ns3 2\ns4 2 3 4\n");
    CHECK(wsss_dataset_open(root, &o, &ds) == WSSS_OK, "open without masks: %s", wsss_error_msg());
    if (ds) {
        CHECK(ds->mask_paths == NULL && labels_are(ds, 4, 3, (int[]){2, 3, 4}), "masks none");
        wsss_sample s;
        CHECK(wsss_dataset_load(ds, 0, WSSS_LOAD_IMAGE | WSSS_LOAD_MASK, &s) == WSSS_OK && s.mask.data == NULL,
              "mask loaded with masks none");
        wsss_sample_free(&s);
        wsss_dataset_free(ds);
    }
    remove(p);
}

/* SegmentationClassAug wins over SegmentationClass; DeepLab-style list lines; split as a path;
 * the 21 VOC classes when there is no classes.txt; saliency maps. */
static void test_voc_layout(const char *root) {
    vf_root(root);
    vf_mkdir("%s/SegmentationClassAug", root);
    vf_mkdir("%s/sal", root);
    vf_image(root, "2007_000032", 30, 20);
    vf_mask(root, "SegmentationClass", "2007_000032", 30, 20, 2, (int[]){0, 1});
    vf_mask(root, "SegmentationClassAug", "2007_000032", 30, 20, 3, (int[]){0, 15, 20});
    wsss_image sal;
    wsss_image_alloc(&sal, 30, 20, 1);
    for (int i = 0; i < 600; i++) sal.data[i] = (uint8_t)(i % 256);
    char p[2048];
    snprintf(p, sizeof p, "%s/sal/2007_000032.png", root);
    CHECK(wsss_image_write_png(p, &sal) == WSSS_OK, "%s", wsss_error_msg());
    snprintf(p, sizeof p, "%s/train_aug.txt", root);
    vf_write(p, "/JPEGImages/2007_000032.jpg /SegmentationClassAug/2007_000032.png\n");
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.split = p;
    o.saliency_dir = "sal";
    wsss_dataset *ds = NULL;
    CHECK(wsss_dataset_open(root, &o, &ds) == WSSS_OK, "open: %s", wsss_error_msg());
    if (ds) {
        CHECK(ds->num_classes == 21 && strcmp(ds->class_names[15], "person") == 0, "VOC classes");
        CHECK(ds->n == 1 && strcmp(ds->ids[0], "2007_000032") == 0, "id from a DeepLab-style line");
        CHECK(strstr(ds->mask_paths[0], "SegmentationClassAug/"), "mask dir %s", ds->mask_paths[0]);
        CHECK(labels_are(ds, 0, 2, (int[]){15, 20}), "labels from the Aug mask");
        wsss_sample s;
        CHECK(wsss_dataset_load(ds, 0, WSSS_LOAD_IMAGE | WSSS_LOAD_SALIENCY, &s) == WSSS_OK, "%s", wsss_error_msg());
        CHECK(s.saliency.data && memcmp(s.saliency.data, sal.data, 600) == 0 && s.mask.data == NULL, "saliency");
        wsss_sample_free(&s);
        wsss_dataset_free(ds);
    }
    /* explicit mask folder */
    o.mask_dir = "SegmentationClass";
    CHECK(wsss_dataset_open(root, &o, &ds) == WSSS_OK, "open: %s", wsss_error_msg());
    if (ds) {
        CHECK(labels_are(ds, 0, 1, (int[]){1}), "labels from SegmentationClass");
        wsss_dataset_free(ds);
    }
    wsss_image_free(&sal);
}

/* Optional masks: ids without one have no mask, so labels are unknown. */
static void test_optional_masks(const char *root) {
    vf_root(root);
    vf_image(root, "a", 10, 12);
    vf_image(root, "b", 12, 10);
    vf_mask(root, "SegmentationClass", "a", 10, 12, 2, (int[]){0, 7});
    char p[2048];
    snprintf(p, sizeof p, "%s/ImageSets/Segmentation/test.txt", root);
    vf_write(p, "a\nb\n");
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.split = "test";
    o.masks = WSSS_MASKS_OPTIONAL;
    wsss_dataset *ds = NULL;
    CHECK(wsss_dataset_open(root, &o, &ds) == WSSS_OK, "open: %s", wsss_error_msg());
    if (ds) {
        CHECK(ds->n == 2 && ds->mask_paths[0] && ds->mask_paths[1] == NULL && ds->has_labels == 0, "optional masks");
        CHECK(labels_are(ds, 0, 1, (int[]){7}), "label of a");
        wsss_dataset_free(ds);
    }
    /* the default (auto) mode insists on every mask */
    o.masks = WSSS_MASKS_AUTO;
    CHECK(wsss_dataset_open(root, &o, &ds) == WSSS_ERR && ds == NULL && strstr(wsss_error_msg(), "SegmentationClass/b.png"),
          "missing mask accepted: %s", wsss_error_msg());
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "%s", test_tmp_dir("test_dataset"));
    char root[1100];
    snprintf(root, sizeof root, "%s/a", g_tmp);
    build_a(root);
    test_labels_from_masks(root);
    test_labels_from_file(root);
    snprintf(root, sizeof root, "%s/voc", g_tmp);
    test_voc_layout(root);
    snprintf(root, sizeof root, "%s/opt", g_tmp);
    test_optional_masks(root);
    return test_summary("test_dataset");
}
