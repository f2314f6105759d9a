/* Loader throughput: images per second delivered to a trainer that does no work (so this is the
 * data pipeline's ceiling), with the default worker count (cores - 1).
 *   Fashion-Scenes 128x128 (generated into a temp dir; needs dataset-fashion-mnist)
 *   VOC-size 500x375 JPEGs (random textured images written into a temp dir)
 * for the augmentation pipelines the methods use. Output: `loader_images_per_s <name> <value>`.
 * Usage: bench_loader [TMPDIR] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wsss/error.h"
#include "wsss/fashion_scenes.h"
#include "wsss/image.h"
#include "wsss/loader.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"

#define BENCH_NAME "bench_loader"
#include "bench_util.h"

/* VOC-like folder: n textured 500x375 JPEGs (quality 90) with 2-class masks. */
static void make_voc(const char *root, int n) {
    char p[2048];
    const char *dirs[] = {"", "/JPEGImages", "/SegmentationClass", "/ImageSets", "/ImageSets/Segmentation"};
    for (int d = 0; d < 5; d++) {
        snprintf(p, sizeof p, "%s%s", root, dirs[d]);
        mkdir(p, 0755);
    }
    const int W = 500, H = 375;
    snprintf(p, sizeof p, "%s/ImageSets/Segmentation/train.txt", root);
    FILE *list = fopen(p, "w");
    if (!list) die("list file");
    for (int i = 0; i < n; i++) {
        wsss_rng r;
        wsss_rng_seed3(&r, 1, 0, (uint64_t)i);
        wsss_image im, m;
        wsss_image_alloc(&im, W, H, 3);
        wsss_image_alloc(&m, W, H, 1);
        double f[3], ph[3];
        for (int k = 0; k < 3; k++) {
            f[k] = wsss_rng_range(&r, 0.01, 0.08);
            ph[k] = wsss_rng_range(&r, 0, 6.28);
        }
        int cls = 1 + (int)wsss_rng_below(&r, 20);
        double cx = wsss_rng_range(&r, 100, 400), cy = wsss_rng_range(&r, 80, 300), rad = wsss_rng_range(&r, 40, 150);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint8_t *px = im.data + ((size_t)y * W + x) * 3;
                for (int k = 0; k < 3; k++) {
                    double v = 128 + 90 * sin(f[k] * (x + 2 * y * (k + 1)) + ph[k]) + 20 * wsss_rng_normal(&r);
                    px[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
                m.data[(size_t)y * W + x] = (x - cx) * (x - cx) + (y - cy) * (y - cy) < rad * rad ? (uint8_t)cls : 0;
            }
        char id[32];
        snprintf(id, sizeof id, "img_%05d", i);
        snprintf(p, sizeof p, "%s/JPEGImages/%s.jpg", root, id);
        if (wsss_image_write_jpeg(p, &im, 90) != WSSS_OK) die("jpeg");
        snprintf(p, sizeof p, "%s/SegmentationClass/%s.png", root, id);
        if (wsss_image_write_mask_png(p, &m) != WSSS_OK) die("mask");
        fprintf(list, "%s\n", id);
        wsss_image_free(&im);
        wsss_image_free(&m);
    }
    fclose(list);
}

/* Pull batches for at least `min_images` images and `min_s` seconds; print images/s. */
static void run(const char *name, const wsss_dataset *ds, const wsss_loader_opts *o, int64_t min_images, double min_s) {
    wsss_loader *l;
    if (wsss_loader_new(ds, o, &l) != WSSS_OK) die(name);
    const wsss_batch *b;
    if (wsss_loader_next(l, &b) != WSSS_OK) die(name); /* warm-up: first batch, thread start */
    double t0 = wsss_now_seconds(), w0 = wsss_loader_wait_seconds(l);
    int64_t images = 0;
    while (images < min_images || wsss_now_seconds() - t0 < min_s) {
        if (wsss_loader_next(l, &b) != WSSS_OK) die(name);
        images += b->n * (b->images2 ? 2 : 1);
    }
    double dt = wsss_now_seconds() - t0, waited = wsss_loader_wait_seconds(l) - w0;
    printf("loader_images_per_s %s %.1f\n", name, images / dt);
    printf("# %s: %lld images in %.2f s, %d worker(s), trainer waited %.0f%% of the time\n", name,
           (long long)images, dt, wsss_loader_workers(l), 100.0 * waited / dt);
    fflush(stdout);
    wsss_loader_free(l);
}

/* One measured configuration: the loader's batch size, image pairs (MCIS) and masks, and its
 * augmentation preset at a size (none: NULL). */
typedef struct bench_case {
    const char *name;
    int batch, pairs, masks;
    void (*aug)(wsss_aug_config *c, int size);
    int size;
} bench_case;

static void run_cases(const wsss_dataset *ds, const bench_case *cases, int n, int64_t min_images, double min_s) {
    for (int k = 0; k < n; k++) {
        const bench_case *c = &cases[k];
        wsss_loader_opts o;
        wsss_loader_opts_default(&o);
        o.batch_size = c->batch;
        o.pair_mode = c->pairs;
        o.load_masks = c->masks;
        if (c->aug) c->aug(&o.aug, c->size);
        run(c->name, ds, &o, min_images, min_s);
    }
}

int main(int argc, char **argv) {
    wsss_runtime_init();
    char tmp[1024];
    if (argc > 1) snprintf(tmp, sizeof tmp, "%s", argv[1]);
    else snprintf(tmp, sizeof tmp, "/tmp/wsss_bench_loader_%d", (int)getpid());
    mkdir(tmp, 0755);
    printf("# loader benchmark: %d physical cores, loader workers %d\n", wsss_physical_cores(),
           wsss_loader_max_workers());

    wsss_dataset_opts dopts;
    wsss_dataset_opts_default(&dopts);

    /* Fashion-Scenes 128x128 */
    char fs[1200];
    snprintf(fs, sizeof fs, "%s/fashion", tmp);
    wsss_fashion_opts fo;
    wsss_fashion_opts_default(&fo);
    fo.out_dir = fs;
    fo.n_train = 512;
    fo.n_val = 0;
    fo.progress = 0;
    if (wsss_fashion_generate(&fo, NULL) != WSSS_OK) {
        printf("# Fashion-Scenes skipped: %s\n", wsss_error_msg());
    } else {
        wsss_dataset *ds;
        if (wsss_dataset_open(fs, &dopts, &ds) != WSSS_OK) die("open fashion");
        static const bench_case fashion[] = {
            {"fashion128_plain", 16, 0, 1, NULL, 0},
            {"fashion128_eader_rrc_flip", 16, 0, 1, wsss_aug_config_eader, 128},
            {"fashion128_mcis_pairs_jitter", 5, 1, 1, wsss_aug_config_mcis, 128},
        };
        run_cases(ds, fashion, (int)(sizeof fashion / sizeof fashion[0]), 2048, 2.0);
        wsss_dataset_free(ds);
    }

    /* VOC-size JPEGs */
    char voc[1200];
    snprintf(voc, sizeof voc, "%s/voc", tmp);
    make_voc(voc, 160);
    wsss_dataset *ds;
    if (wsss_dataset_open(voc, &dopts, &ds) != WSSS_OK) die("open voc");
    static const bench_case voc_cases[] = {
        {"voc500_eader_rrc448_flip", 16, 0, 0, wsss_aug_config_eader, 448},
        {"voc500_mcis_resize256_jitter_pairs", 5, 1, 0, wsss_aug_config_mcis, 256},
        {"voc500_deeplab_scale_crop321_masks", 10, 0, 1, wsss_aug_config_deeplab, 321},
    };
    run_cases(ds, voc_cases, (int)(sizeof voc_cases / sizeof voc_cases[0]), 320, 3.0);
    wsss_dataset_free(ds);

    if (argc <= 1) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) fprintf(stderr, "bench_loader: could not remove %s\n", tmp);
    }
    return 0;
}
