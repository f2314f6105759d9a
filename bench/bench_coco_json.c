/* Reading COCO-size annotation files: parse time and peak memory of the reader the COCO datasets
 * use (wsss_coco_read: the pull scanner over the mapped file, into the index), on a generated
 * file shaped like COCO 2017's instances_train2017.json (118287 images, 80 categories with ids
 * 1..90, about 860000 annotations: polygons with two-decimal coordinates, 1% crowds as
 * uncompressed RLE; about 450 MB). For scale, the DOM parser (json.h) and the reader on a file a
 * tenth of that size: the DOM's memory per input byte is why the reader does not use it.
 * Then the mask cache of a 1000-image file: images rasterised and written per second (the first
 * stage on COCO's train split builds that cache once: 118287 images).
 * Each measurement runs in a child process of its own, so each peak RSS (getrusage ru_maxrss) is
 * that parse's alone; the baseline line is a child that parses nothing.
 * Output: `coco_json_parse_s <name> <seconds>` (wall), `coco_json_cpu_s <name> <seconds>` (user +
 * system of the child, file generation excluded) and `coco_json_peak_rss_mb <name> <MB>`.
 * Usage: bench_coco_json [DIR] (the files are generated into DIR once, deterministically; default
 * a temp dir removed at the end). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <omp.h>
#include <unistd.h>

#include "wsss/coco.h"
#include "wsss/fs.h"
#include "wsss/json.h"
#include "wsss/rng.h"

#define BENCH_NAME "bench_coco_json"
#include "bench_util.h"

/* A COCO-like file of n_images images and about 7.3 annotations per image. */
static void generate(const char *path, int64_t n_images, uint64_t seed) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.partial", path);
    FILE *f = fopen(tmp, "w");
    if (!f) die("cannot write the annotation file");
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    wsss_rng r;
    wsss_rng_seed(&r, seed);
    fprintf(f, "{\"info\": {\"description\": \"wsss bench: COCO-like\", \"version\": \"1.0\", \"year\": 2017},\n"
               "\"licenses\": [{\"url\": \"http://creativecommons.org/licenses/by-nc-sa/2.0/\", \"id\": 1, "
               "\"name\": \"Attribution-NonCommercial-ShareAlike License\"}],\n\"images\": [");
    for (int64_t i = 0; i < n_images; i++) {
        const int w = 480 + 32 * (int)wsss_rng_below(&r, 6), h = 360 + 32 * (int)wsss_rng_below(&r, 6);
        fprintf(f, "%s{\"license\": 1, \"file_name\": \"%012lld.jpg\", \"coco_url\": "
                   "\"http://images.cocodataset.org/train2017/%012lld.jpg\", \"height\": %d, \"width\": %d, "
                   "\"date_captured\": \"2013-11-14 11:18:45\", \"flickr_url\": "
                   "\"http://farm4.staticflickr.com/3153/2970773875_164f0c0b83_z.jpg\", \"id\": %lld}",
                i ? ",\n" : "", (long long)(9 + 3 * i), (long long)(9 + 3 * i), h, w, (long long)(9 + 3 * i));
    }
    fprintf(f, "],\n\"annotations\": [");
    int64_t id = 1;
    for (int64_t i = 0; i < n_images; i++) {
        const int64_t n_ann = wsss_rng_below(&r, 15); /* mean 7 */
        for (int64_t k = 0; k < n_ann + (i % 3 == 0); k++) {
            const int crowd = wsss_rng_below(&r, 100) == 0;
            fprintf(f, "%s{\"segmentation\": ", id > 1 ? ",\n" : "");
            const int w = 480, h = 360;
            if (crowd) {
                fprintf(f, "{\"counts\": [");
                int64_t left = (int64_t)w * h, j = 0;
                while (left > 0) {
                    int64_t run = 1 + wsss_rng_below(&r, 900);
                    if (run > left) run = left;
                    fprintf(f, "%s%lld", j++ ? "," : "", (long long)run);
                    left -= run;
                }
                fprintf(f, "], \"size\": [%d, %d]}", h, w);
            } else {
                const int n_poly = 1 + (wsss_rng_below(&r, 6) == 0);
                fputc('[', f);
                for (int p = 0; p < n_poly; p++) {
                    const int nv = 6 + (int)wsss_rng_below(&r, 30);
                    const double cx = wsss_rng_range(&r, 40, 440), cy = wsss_rng_range(&r, 40, 320);
                    fputs(p ? ", [" : "[", f);
                    for (int v = 0; v < nv; v++)
                        fprintf(f, "%s%.2f,%.2f", v ? "," : "", cx + wsss_rng_range(&r, -40, 40),
                                cy + wsss_rng_range(&r, -40, 40));
                    fputc(']', f);
                }
                fputc(']', f);
            }
            fprintf(f, ", \"area\": %.1f, \"iscrowd\": %d, \"image_id\": %lld, \"bbox\": [%.2f, %.2f, %.2f, %.2f], "
                       "\"category_id\": %d, \"id\": %lld}",
                    wsss_rng_range(&r, 10, 90000), crowd, (long long)(9 + 3 * i), wsss_rng_range(&r, 0, 400),
                    wsss_rng_range(&r, 0, 300), wsss_rng_range(&r, 1, 200), wsss_rng_range(&r, 1, 200),
                    1 + (int)wsss_rng_below(&r, 80) * 9 / 8, (long long)id);
            id++;
        }
    }
    fprintf(f, "],\n\"categories\": [");
    for (int c = 0; c < 80; c++)
        fprintf(f, "%s{\"supercategory\": \"thing\", \"id\": %d, \"name\": \"class%02d\"}", c ? ", " : "", 1 + c * 9 / 8, c);
    fprintf(f, "]}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) die("cannot write the annotation file");
}

static long long file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

enum { BASELINE, READER, DOM, MASKS };

/* The parse in a child; prints its lines. */
static void measure(const char *name, const char *path, int how) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        double t0 = wsss_now_seconds(), dt = 0;
        char detail[256] = "";
        if (how == READER) {
            wsss_coco *c;
            if (wsss_coco_read(path, 0, NULL, NULL, &c) != WSSS_OK) die("wsss_coco_read");
            dt = wsss_now_seconds() - t0;
            snprintf(detail, sizeof detail, "%lld images, %lld annotations, %d categories", (long long)c->n_images,
                     (long long)c->n_anns, c->num_categories);
            wsss_coco_free(c);
        } else if (how == MASKS) {
            wsss_coco *c;
            char dir[4200];
            int built;
            snprintf(dir, sizeof dir, "%s.masks-%d", path, (int)getpid());
            if (wsss_coco_read(path, 0, NULL, NULL, &c) != WSSS_OK) die("wsss_coco_read");
            t0 = wsss_now_seconds();
            if (wsss_coco_masks_ensure(c, dir, 1, &built) != WSSS_OK) die("wsss_coco_masks_ensure");
            dt = wsss_now_seconds() - t0;
            printf("coco_masks_images_per_s %s %.1f\n", name, c->n_images / dt);
            snprintf(detail, sizeof detail, "%lld masks rasterised and written as PNG in %.2f s (%d threads)",
                     (long long)c->n_images, dt, omp_get_max_threads());
            wsss_coco_free(c);
            char cmd[4300];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
            if (system(cmd) != 0) fprintf(stderr, BENCH_NAME ": could not remove %s\n", dir);
        } else if (how == DOM) {
            uint8_t *text;
            size_t n;
            if (wsss_file_read_all(path, &text, &n) != WSSS_OK) die("read");
            wsss_json *j = wsss_json_parse((const char *)text, n);
            if (!j) die("wsss_json_parse");
            dt = wsss_now_seconds() - t0;
            snprintf(detail, sizeof detail, "%d annotations", wsss_json_len(wsss_json_get(j, "annotations")));
            wsss_json_free(j);
            free(text);
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        if (how == READER || how == DOM) printf("coco_json_parse_s %s %.3f\n", name, dt);
        /* CPU time too: on a loaded machine it varies less than the wall clock */
        if (how == READER || how == DOM)
            printf("coco_json_cpu_s %s %.3f\n", name, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                                                         ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6);
        printf("coco_json_peak_rss_mb %s %.1f\n", name, ru.ru_maxrss / 1024.0);
        if (detail[0])
            printf("# %s: %s of %.1f MB: %s\n", name, how == DOM ? "DOM" : how == MASKS ? "mask cache" : "reader",
                   file_size(path) / 1e6, detail);
        fflush(stdout);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die(name);
}

int main(int argc, char **argv) {
    char dir[4096];
    const int own = argc < 2;
    if (!own) snprintf(dir, sizeof dir, "%s", argv[1]);
    else snprintf(dir, sizeof dir, "/tmp/wsss_bench_coco_%d", (int)getpid());
    if (wsss_mkdirs(dir) != WSSS_OK) die("mkdir");
    char big[4200], small[4200], tiny[4200];
    snprintf(big, sizeof big, "%s/instances_big.json", dir);
    snprintf(small, sizeof small, "%s/instances_small.json", dir);
    snprintf(tiny, sizeof tiny, "%s/instances_1k.json", dir);
    double t0 = wsss_now_seconds();
    if (!wsss_path_is_file(big)) generate(big, 118287, 2017);
    if (!wsss_path_is_file(small)) generate(small, 11829, 2014);
    if (!wsss_path_is_file(tiny)) generate(tiny, 1000, 2012);
    printf("# generated in %.1f s: %s (%.1f MB), %s (%.1f MB)\n", wsss_now_seconds() - t0, big, file_size(big) / 1e6,
           small, file_size(small) / 1e6);
    measure("baseline", NULL, BASELINE);
    measure("reader_450mb", big, READER);
    measure("reader_45mb", small, READER);
    measure("dom_45mb", small, DOM);
    measure("cache_1k", tiny, MASKS);
    if (own) {
        unlink(big);
        unlink(small);
        unlink(tiny);
        rmdir(dir);
    }
    return 0;
}
