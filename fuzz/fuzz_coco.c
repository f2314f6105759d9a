/* libFuzzer harness: COCO annotation files (coco.h), read from a scratch file by wsss_coco_read
 * (with skip_bad, so problems of single annotations are kept, not fatal), then every usable image
 * small enough rasterised: its mask may hold only background, the classes and 255. The input is
 * also decoded as a compressed RLE string. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsss/coco.h"
#include "wsss/error.h"

static char g_path[256];

static void rm_path(void) { unlink(g_path); }

static void ignore(void *user, const char *msg) {
    (void)user;
    (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_path, sizeof g_path, "%s/wsss-fuzz-coco-%d.json", base, (int)getpid());
    atexit(rm_path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_path[0]) LLVMFuzzerInitialize(NULL, NULL);
    int fd = open(g_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) != 0) {
        perror(g_path);
        abort();
    }
    wsss_coco *c;
    if (wsss_coco_read(g_path, 1, ignore, NULL, &c) == WSSS_OK) {
        for (int64_t i = 0; i < c->n_images; i++) {
            const wsss_coco_image *im = &c->images[i];
            const int64_t n = (int64_t)im->width * im->height;
            if (im->problem || n > 65536) continue;
            uint8_t *m = malloc((size_t)n);
            if (wsss_coco_rasterise(c, i, m) != WSSS_OK) abort(); /* checked when read: must rasterise */
            for (int64_t p = 0; p < n; p++)
                if (m[p] > c->num_categories && m[p] != 255) abort();
            free(m);
        }
        wsss_coco_free(c);
    }
    int64_t *counts, nc;
    if (wsss_coco_rle_decode((const char *)data, size, &counts, &nc) == WSSS_OK) free(counts);
    wsss_error_clear();
    return 0;
}
