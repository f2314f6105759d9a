/* libFuzzer harness: the dataset's text files (classes.txt, the split list, cls_labels.txt), read
 * by wsss_dataset_open from a scratch dataset folder. The input is the three files' contents
 * separated by NUL bytes (a NUL cannot occur inside them: such files are refused):
 * classes.txt \0 list \0 cls_labels.txt; an empty first part means no classes.txt (the VOC classes),
 * a missing third part means no cls_labels.txt. Images exist for a few ids; masks are not used. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsss/dataset.h"
#include "wsss/error.h"

static char g_root[256];

static void write_file(const char *rel, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_root, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (n && write(fd, data, n) != (ssize_t)n) || close(fd) != 0) {
        perror(path);
        abort();
    }
}

static void remove_file(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_root, rel);
    unlink(path);
}

static void rm_root(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_lists: could not remove %s\n", g_root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* the open's parallel loop (mask labels) has no work here; idle OpenMP threads spinning after
     * it would take half the CPU */
    setenv("OMP_NUM_THREADS", "1", 0);
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_root, sizeof g_root, "%s/wsss-fuzz-lists-XXXXXX", base);
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        abort();
    }
    atexit(rm_root);
    char p[512];
    snprintf(p, sizeof p, "%s/JPEGImages", g_root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ImageSets", g_root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ImageSets/Segmentation", g_root);
    mkdir(p, 0755);
    /* opening only checks that images exist */
    static const char *const images[] = {"JPEGImages/a.jpg", "JPEGImages/b.png", "JPEGImages/c.jpeg",
                                         "JPEGImages/2007_000032.jpg", "JPEGImages/img00.JPG"};
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) write_file(images[i], "", 0);
    return 0;
}

static void quiet(void *user, const char *msg) {
    (void)msg;
    ++*(int *)user;
}

static void exercise(const wsss_dataset *ds) {
    int *ids = malloc(sizeof(int) * (size_t)ds->num_classes);
    float *vec = malloc(sizeof(float) * (size_t)ds->num_classes);
    for (int64_t i = 0; i < ds->n; i++) {
        int m = ds->has_labels ? wsss_dataset_label_ids(ds, i, ids) : 0;
        for (int k = 0; k < m; k++)
            if (ids[k] < 1 || ids[k] >= ds->num_classes) abort();
        wsss_dataset_label_vector(ds, i, vec);
        int64_t at = wsss_dataset_find(ds, ds->ids[i]);
        if (at < 0 || strcmp(ds->ids[at], ds->ids[i]) != 0) abort();
    }
    for (int c = 0; c < ds->num_classes; c++) {
        int64_t count;
        const int64_t *s = wsss_dataset_class_samples(ds, c, &count);
        for (int64_t k = 0; k < count; k++)
            if (s[k] < 0 || s[k] >= ds->n || !wsss_dataset_labels(ds, s[k])[c]) abort();
    }
    free(ids);
    free(vec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *end = data + size;
    const uint8_t *sep1 = memchr(data, 0, size);
    const uint8_t *list = sep1 ? sep1 + 1 : end;
    const uint8_t *sep2 = sep1 ? memchr(list, 0, (size_t)(end - list)) : NULL;
    size_t classes_len = (size_t)((sep1 ? sep1 : end) - data);
    size_t list_len = (size_t)((sep2 ? sep2 : end) - list);
    if (classes_len) write_file("classes.txt", data, classes_len);
    else remove_file("classes.txt");
    write_file("ImageSets/Segmentation/train.txt", list, list_len);
    if (sep2) write_file("cls_labels.txt", sep2 + 1, (size_t)(end - sep2 - 1));
    else remove_file("cls_labels.txt");

    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    o.masks = WSSS_MASKS_NONE;
    o.skip_bad = 1;
    int warnings = 0;
    o.warn = quiet;
    o.warn_user = &warnings;
    wsss_dataset *ds = NULL;
    if (wsss_dataset_open(g_root, &o, &ds) == WSSS_OK) {
        if (ds->n <= 0 || ds->num_classes < 2 || ds->num_classes > WSSS_MAX_CLASSES) abort();
        exercise(ds);
        wsss_dataset_free(ds);
    } else if (ds) {
        abort();
    }
    wsss_error_clear();
    return 0;
}
