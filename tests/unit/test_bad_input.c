/* Bad input: each broken dataset or file is built in a temp dir and must give an error that names
 * the file and the problem, from the library and from `wsss data check` (exit 1; with --skip-bad a
 * warning and exit 0). Also truncations and byte flips of a JPEG and a PNG at many offsets: the
 * decoder must return (either way) without crashing; this test runs under ASan in CI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "data/image_internal.h"
#include "test_util.h"
#include "wsss/fs.h"
#include "voc_fixture.h"
#include "wsss/dataset.h"

static char g_tmp[1024];

static const char *root_path(const char *name) {
    static char p[2][1100];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", g_tmp, name);
    return p[k];
}

/* The good dataset every case starts from: 3 samples, 5 classes. */
static const char *base(const char *name) {
    const char *root = root_path(name);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "warning: cannot clean %s\n", root);
    vf_root(root);
    vf_write(test_path(root, "classes.txt"), "background\nshirt\nshoe\nbag\nhat\n");
    vf_image(root, "s0", 20, 16);
    vf_image(root, "s1", 16, 20);
    vf_image(root, "s2", 18, 18);
    vf_mask(root, "SegmentationClass", "s0", 20, 16, 3, (int[]){0, 1, 3});
    vf_mask(root, "SegmentationClass", "s1", 16, 20, 2, (int[]){0, 2});
    vf_mask(root, "SegmentationClass", "s2", 18, 18, 2, (int[]){4, 255});
    vf_write(test_path(root, "ImageSets/Segmentation/train.txt"), "s0\ns1\ns2\n");
    return root;
}

static uint8_t *slurp(const char *path, size_t *n) {
    uint8_t *b;
    if (wsss_file_read_all(path, &b, n) != WSSS_OK) {
        fprintf(stderr, "FATAL: %s\n", wsss_error_msg());
        exit(1);
    }
    return b;
}

static int msg_has(const char *a, const char *b) {
    const char *m = wsss_error_msg();
    return strstr(m, a) != NULL && (!b || strstr(m, b) != NULL);
}

/* Open must fail (skip_bad 0) with a message naming `file` and saying `what`; with skip_bad 1 it
 * must succeed with `dropped` samples dropped and one warning each. */
static int g_warnings;
static void count_warning(void *user, const char *msg) {
    (void)user;
    (void)msg;
    g_warnings++;
}

static void expect_open_error(const char *root, const char *file, const char *what, int dropped) {
    wsss_dataset *ds = (wsss_dataset *)1;
    int rc = wsss_dataset_open(root, NULL, &ds);
    CHECK(rc == WSSS_ERR && ds == NULL, "%s: open succeeded", root);
    CHECK(msg_has(file, what), "message '%s' should name '%s' and say '%s'", wsss_error_msg(), file, what);
    if (dropped < 0) return;
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.skip_bad = 1;
    o.warn = count_warning;
    g_warnings = 0;
    rc = wsss_dataset_open(root, &o, &ds);
    CHECK(rc == WSSS_OK, "skip_bad open failed: %s", wsss_error_msg());
    if (rc == WSSS_OK) {
        CHECK(ds->n_skipped == dropped && ds->n == 3 - dropped && g_warnings == dropped,
              "skipped %lld, n %lld, warnings %d (want %d dropped)", (long long)ds->n_skipped, (long long)ds->n,
              g_warnings, dropped);
        wsss_dataset_free(ds);
    }
}

/* Open succeeds but loading sample i fails naming file and problem. */
static void expect_load_error(const char *root, int64_t i, const char *file, const char *what) {
    wsss_dataset *ds = NULL;
    CHECK(wsss_dataset_open(root, NULL, &ds) == WSSS_OK, "open: %s", wsss_error_msg());
    if (!ds) return;
    wsss_sample s;
    memset(&s, 0x5A, sizeof s);
    int rc = wsss_dataset_load(ds, i, WSSS_LOAD_IMAGE | WSSS_LOAD_MASK, &s);
    CHECK(rc == WSSS_ERR && s.image.data == NULL && s.mask.data == NULL, "load %lld succeeded", (long long)i);
    CHECK(msg_has(file, what), "message '%s' should name '%s' and say '%s'", wsss_error_msg(), file, what);
    wsss_dataset_free(ds);
}

/* Runs `wsss data check ROOT [extra]`; returns the exit code and the combined output. */
static int run_cli(const char *root, const char *extra, char *out, size_t cap) {
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "'%s' data check '%s' %s 2>&1", WSSS_CLI_PATH, root, extra);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The CLI fails naming the file; with --skip-bad (when skippable) it warns and exits 0. */
static void expect_cli(const char *root, const char *file, const char *what, int skippable) {
    if (access(WSSS_CLI_PATH, X_OK) != 0) {
        CHECK(0, "CLI %s not built", WSSS_CLI_PATH);
        return;
    }
    static char out[65536];
    int rc = run_cli(root, "", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "error") && strstr(out, file) && strstr(out, what),
          "wsss data check %s: exit %d, output:\n%s", root, rc, out);
    rc = run_cli(root, "--skip-bad", out, sizeof out);
    if (skippable)
        CHECK(rc == 0 && strstr(out, "warning") && strstr(out, file) && strstr(out, "1 problem"),
              "--skip-bad on %s: exit %d, output:\n%s", root, rc, out);
    else
        CHECK(rc == 1 && strstr(out, file), "--skip-bad on %s: exit %d, output:\n%s", root, rc, out);
}

static size_t find_bytes(const uint8_t *b, size_t n, const void *pat, size_t m) {
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(b + i, pat, m) == 0) return i;
    return (size_t)-1;
}

static void test_dataset_cases(void) {
    const char *r;
    /* missing root */
    r = root_path("no_such_root");
    expect_open_error(r, "no_such_root", "not found", -1);
    expect_cli(r, "no_such_root", "not found", 0);

    /* empty list file */
    r = base("empty_list");
    vf_write(test_path(r, "ImageSets/Segmentation/train.txt"), "\n  \n");
    expect_open_error(r, "train.txt", "no ids", -1);
    expect_cli(r, "train.txt", "no ids", 0);

    /* missing list file */
    r = base("no_list");
    remove(test_path(r, "ImageSets/Segmentation/train.txt"));
    expect_open_error(r, "train.txt", "not found", -1);

    /* missing image folder */
    r = base("no_images");
    {
        char cmd[2300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_path(r, "JPEGImages"));
        CHECK(system(cmd) == 0, "rm");
    }
    expect_open_error(r, "JPEGImages", "not found", -1);

    /* a listed id without its image */
    r = base("missing_image");
    remove(test_path(r, "JPEGImages/s1.jpg"));
    expect_open_error(r, "JPEGImages/s1.jpg", "not found", 1);
    expect_cli(r, "s1.jpg", "not found", 1);

    /* a listed id without its mask */
    r = base("missing_mask");
    remove(test_path(r, "SegmentationClass/s2.png"));
    expect_open_error(r, "SegmentationClass/s2.png", "not found", 1);
    expect_cli(r, "s2.png", "not found", 1);

    /* mask size differs from the image */
    r = base("mask_size");
    vf_mask(r, "SegmentationClass", "s0", 16, 20, 3, (int[]){0, 1, 3});
    expect_load_error(r, 0, "SegmentationClass/s0.png", "differs from its image");
    expect_cli(r, "s0.png", "16x20 differs", 1);

    /* class id out of range in a mask (5 classes: 0..4) */
    r = base("mask_class");
    vf_mask(r, "SegmentationClass", "s1", 16, 20, 2, (int[]){0, 7});
    expect_open_error(r, "SegmentationClass/s1.png", "mask value 7", 1);
    expect_cli(r, "s1.png", "mask value 7", 1);
    /* ... also caught at load time when labels come from cls_labels.txt */
    vf_write(test_path(r, "cls_labels.txt"), "s0 1 3\ns1 2\ns2 4\n");
    expect_load_error(r, 1, "SegmentationClass/s1.png", "mask value 7");

    /* class id out of range, or not a number, in cls_labels.txt */
    r = base("cls_range");
    vf_write(test_path(r, "cls_labels.txt"), "s0 1 3\ns1 2 9\ns2 4\n");
    expect_open_error(r, "cls_labels.txt:2", "class id 9 out of range", 1);
    expect_cli(r, "cls_labels.txt:2", "class id 9", 1);
    vf_write(test_path(r, "cls_labels.txt"), "s0 1 x3\ns1 2\ns2 4\n");
    expect_open_error(r, "cls_labels.txt:1", "'x3' is not a class id", 1);
    vf_write(test_path(r, "cls_labels.txt"), "s0 0 1\ns1 2\ns2 4\n");
    expect_open_error(r, "cls_labels.txt:1", "class id 0 out of range", 1);
    vf_write(test_path(r, "cls_labels.txt"), "s0 1 3\ns1 2\ns2 4\ns1 3\n");
    expect_open_error(r, "cls_labels.txt:4", "listed again", 1);
    /* an id with no line and no mask */
    vf_write(test_path(r, "cls_labels.txt"), "s0 1 3\ns2 4\n");
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.masks = WSSS_MASKS_NONE;
    wsss_dataset *ds = NULL;
    CHECK(wsss_dataset_open(r, &o, &ds) == WSSS_ERR && msg_has("cls_labels.txt", "no line for id 's1'"), "msg: %s",
          wsss_error_msg());

    /* labels that disagree with the masks: the check command reports them */
    r = base("cls_disagree");
    vf_write(test_path(r, "cls_labels.txt"), "s0 1 2\ns1 2\ns2 4\n");
    expect_cli(r, "labels of id 's0' (1 2) differ", "(1 3)", 1);

    /* corrupt JPEG: data precision 7 in the frame header */
    r = base("jpeg_corrupt");
    size_t n;
    uint8_t *b = slurp(test_path(r, "JPEGImages/s2.jpg"), &n);
    size_t sof = find_bytes(b, n, "\xFF\xC0", 2);
    CHECK(sof != (size_t)-1, "no SOF0 marker");
    if (sof != (size_t)-1) b[sof + 4] = 7;
    test_write_file(test_path(r, "JPEGImages/s2.jpg"), b, n);
    free(b);
    expect_load_error(r, 2, "JPEGImages/s2.jpg", "corrupt or unsupported JPEG");
    expect_cli(r, "s2.jpg", "precision 7", 1);

    /* truncated JPEG */
    r = base("jpeg_truncated");
    b = slurp(test_path(r, "JPEGImages/s0.jpg"), &n);
    test_write_file(test_path(r, "JPEGImages/s0.jpg"), b, n * 2 / 3);
    free(b);
    expect_load_error(r, 0, "JPEGImages/s0.jpg", "truncated JPEG");
    expect_cli(r, "s0.jpg", "truncated", 1);

    /* an image that is text, and an empty one */
    r = base("not_image");
    vf_write(test_path(r, "JPEGImages/s1.jpg"), "hello, I am not a JPEG\n");
    expect_load_error(r, 1, "JPEGImages/s1.jpg", "not a JPEG or PNG");
    vf_write(test_path(r, "JPEGImages/s1.jpg"), "");
    expect_load_error(r, 1, "JPEGImages/s1.jpg", "empty file");
    expect_cli(r, "s1.jpg", "empty file", 1);

    /* truncated mask PNG (read at open: labels come from masks) */
    r = base("png_truncated");
    b = slurp(test_path(r, "SegmentationClass/s1.png"), &n);
    test_write_file(test_path(r, "SegmentationClass/s1.png"), b, n - 20);
    free(b);
    expect_open_error(r, "SegmentationClass/s1.png", "truncated PNG", 1);
    expect_cli(r, "s1.png", "truncated PNG", 1);

    /* corrupt mask PNG: a flipped byte inside IDAT fails its CRC */
    r = base("png_corrupt");
    b = slurp(test_path(r, "SegmentationClass/s0.png"), &n);
    size_t idat = find_bytes(b, n, "IDAT", 4);
    CHECK(idat != (size_t)-1, "no IDAT");
    if (idat != (size_t)-1) b[idat + 6] ^= 0x40;
    test_write_file(test_path(r, "SegmentationClass/s0.png"), b, n);
    free(b);
    expect_open_error(r, "SegmentationClass/s0.png", "corrupt PNG", 1);
    expect_cli(r, "s0.png", "corrupt PNG", 1);

    /* an ancillary chunk before IHDR: libpng would skip it and decode, but the format requires IHDR
     * first and the size reader refuses it, so the decoder must too (found by fuzz_png) */
    r = base("png_chunk_before_ihdr");
    b = slurp(test_path(r, "SegmentationClass/s0.png"), &n);
    {
        static const uint8_t chunk[12] = {0, 0, 0, 0, 't', 'E', 'X', 'q', 0, 0, 0, 0};
        uint8_t *moved = malloc(n + sizeof chunk);
        memcpy(moved, b, 8);
        memcpy(moved + 8, chunk, sizeof chunk);
        memcpy(moved + 8 + sizeof chunk, b + 8, n - 8);
        test_write_file(test_path(r, "SegmentationClass/s0.png"), moved, n + sizeof chunk);
        free(moved);
    }
    free(b);
    expect_open_error(r, "SegmentationClass/s0.png", "first chunk is not IHDR", 1);
    expect_cli(r, "s0.png", "first chunk is not IHDR", 1);

    /* classes.txt problems */
    r = base("classes_bad");
    vf_write(test_path(r, "classes.txt"), "background\n");
    expect_open_error(r, "classes.txt", "expected background plus at least one class", -1);
    vf_write(test_path(r, "classes.txt"), "background\n\nshoe\n");
    expect_open_error(r, "classes.txt:2", "empty class name", -1);
    {
        char big[300 * 4 + 1] = "";
        for (int k = 0; k < 300; k++) strcat(big, "c\n");
        vf_write(test_path(r, "classes.txt"), big);
        expect_open_error(r, "classes.txt", "300 classes", -1);
    }
    expect_cli(r, "classes.txt", "300 classes", 0);
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A PNG header claiming 100000 x 100000 pixels (valid CRC): refused before any allocation. */
static void test_huge_png(void) {
    uint8_t f[8 + 25 + 12];
    memcpy(f, "\x89PNG\r\n\x1a\n", 8);
    put32(f + 8, 13);
    memcpy(f + 12, "IHDR", 4);
    put32(f + 16, 100000);
    put32(f + 20, 100000);
    f[24] = 8;
    f[25] = 0;
    f[26] = f[27] = f[28] = 0;
    put32(f + 29, (uint32_t)crc32(0, f + 12, 17));
    put32(f + 33, 0); /* an empty IDAT: libpng stops reading the header there */
    memcpy(f + 37, "IDAT", 4);
    put32(f + 41, (uint32_t)crc32(0, f + 37, 4));
    const char *p = test_path(g_tmp, "huge.png");
    test_write_file(p, f, sizeof f);
    wsss_image im;
    CHECK(wsss_image_read_rgb(p, &im) == WSSS_ERR && msg_has("huge.png", "pixel limit"), "huge PNG: %s",
          wsss_error_msg());
    int w, h;
    CHECK(wsss_image_read_size(p, &w, &h) == WSSS_OK && w == 100000, "size of huge PNG");
}

/* Every truncation length and many single-byte flips: decode returns, never crashes. */
static void fuzz_file(const char *src, const char *name, int mask) {
    size_t n;
    uint8_t *b = slurp(src, &n);
    uint8_t *c = malloc(n);
    const char *p = test_path(g_tmp, name);
    int ok = 0, err = 0, bad_msg = 0;
    for (size_t len = 0; len < n; len += 1 + len / 16) {
        test_write_file(p, b, len);
        wsss_image im;
        int rc = mask ? wsss_image_read_mask(p, &im) : wsss_image_read_rgb(p, &im);
        if (rc == WSSS_OK) ok++, wsss_image_free(&im);
        else err++, bad_msg += strstr(wsss_error_msg(), name) == NULL;
    }
    CHECK(ok == 0, "%s: %d truncated files decoded without error", name, ok);
    uint32_t s = 12345;
    for (int k = 0; k < 300; k++) {
        memcpy(c, b, n);
        s = s * 1103515245u + 12345u;
        size_t at = (s >> 8) % n;
        c[at] ^= (uint8_t)(1u << (s % 8));
        test_write_file(p, c, n);
        wsss_image im;
        int rc = mask ? wsss_image_read_mask(p, &im) : wsss_image_read_rgb(p, &im);
        if (rc == WSSS_OK) ok++, wsss_image_free(&im);
        else err++, bad_msg += strstr(wsss_error_msg(), name) == NULL;
    }
    printf("fuzz %s: %d decoded, %d errors\n", name, ok, err);
    CHECK(bad_msg == 0, "%s: %d error messages without the file name", name, bad_msg);
    free(b);
    free(c);
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "%s", test_tmp_dir("test_bad_input"));
    test_dataset_cases();
    test_huge_png();
    const char *r = base("fuzz_src");
    fuzz_file(test_path(r, "JPEGImages/s0.jpg"), "fuzz.jpg", 0);
    fuzz_file(test_path(r, "SegmentationClass/s0.png"), "fuzz.png", 1);
    return test_summary("test_bad_input");
}
