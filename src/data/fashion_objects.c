/* Fashion-Objects generator (fashion_objects.h): one centred item per image, drawn with the scenes'
 * pieces (fashion_render.c), written as a torchvision ImageFolder one whole split at a time. */
#include "wsss/fashion_objects.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/fashion_internal.h"
#include "wsss/clock.h"
#include "wsss/error.h"
#include "wsss/image_folder.h"
#include "wsss/rng.h"

/* Objects and scenes with one seed must not share random streams. */
#define OBJECTS_SALT 0x4f424a4543545355ULL
/* The label noise draws, apart from the rendering's. */
#define NOISE_SALT 0x4e4f495359ULL

void wsss_fashion_objects_opts_default(wsss_fashion_objects_opts *o) {
    memset(o, 0, sizeof *o);
    o->mnist_dir = WSSS_FASHION_DEFAULT_DIR;
    o->n_train = WSSS_FASHION_OBJECTS_ALL;
    o->n_val = WSSS_FASHION_OBJECTS_ALL;
    o->size = 64;
    o->fill_min = 0.4;
    o->fill_max = 0.9;
    o->jitter = 0.1;
    o->mirror_p = 0.5;
    o->silhouette_thr = 1.0 / 3.0;
    o->max_distractors = 3;
    o->jpeg_quality = 95;
    o->progress = 1;
}

/* The bounding-box sides (pixels) the fill range allows at this canvas size. */
static void fill_range(const wsss_fashion_objects_opts *o, int *lo, int *hi) {
    *lo = (int)ceil(o->fill_min * o->size - 1e-9);
    *hi = (int)floor(o->fill_max * o->size + 1e-9);
}

int wsss_fashion_objects_check_opts(const wsss_fashion_objects_opts *o) {
    if (wsss_fashion_check_common(o->size, o->max_distractors, o->jpeg_quality, o->n_classes,
                                  o->classes) != WSSS_OK)
        return WSSS_ERR;
    int lo, hi;
    fill_range(o, &lo, &hi);
    if (!(o->fill_min > 0 && o->fill_max <= 1 && o->fill_min <= o->fill_max) || lo < 1 || lo > hi)
        return wsss_error_set("--fill-min %g, --fill-max %g on a %d-pixel side, expected 0 < min <= max <= 1 "
                              "holding a whole number of pixels",
                              o->fill_min, o->fill_max, o->size);
    if (!(o->jitter >= 0 && o->jitter <= 0.5))
        return wsss_error_set("--jitter %g: expected 0..0.5 of the canvas side", o->jitter);
    if (!(o->label_noise >= 0 && o->label_noise <= 1))
        return wsss_error_set("--label-noise %g: expected a probability 0..1", o->label_noise);
    if (!(o->silhouette_thr > 0 && o->silhouette_thr <= 1))
        return wsss_error_set("silhouette threshold %g, expected (0, 1]", o->silhouette_thr);
    if (o->n_train < WSSS_FASHION_OBJECTS_ALL || o->n_val < WSSS_FASHION_OBJECTS_ALL)
        return wsss_error_set("--train %lld, --val %lld: expected >= 0 (or -1: one per pool item)",
                              (long long)o->n_train, (long long)o->n_val);
    return WSSS_OK;
}

/* Box of the item's native pixels at or above the threshold; 0 if there are none. */
static int native_box(const uint8_t *px, int rows, int cols, double thr, int box[4]) {
    box[0] = cols;
    box[1] = rows;
    box[2] = box[3] = -1;
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++)
            if ((float)(px[y * cols + x] / 255.0) >= (float)thr) { /* as the upscaled silhouette compares */
                if (x < box[0]) box[0] = x;
                if (x > box[2]) box[2] = x;
                if (y < box[1]) box[1] = y;
                if (y > box[3]) box[3] = y;
            }
    return box[2] >= 0;
}

/* Upscale the item so its silhouette box's longer side is `target` pixels (or, failing that, the
 * closest side in [lo, hi]). Only the native box plus a one-pixel margin is upscaled: the silhouette
 * (and its soft edge) cannot reach further, and a small item needs no huge buffer. The side is a
 * step function of the factor, mostly proportional to it, but faint parts near the threshold can
 * appear at once as the factor grows (a sole of grey values around 1/3): proportional steps find the
 * factor in one or two tries, and bisection inside the bracket found so far takes over when they
 * would leave it. */
static int scale_item(wsss_fashion_item *it, const wsss_fashion_source *src, int64_t idx, int mirror,
                      const wsss_fashion_objects_opts *o, int target, int lo, int hi) {
    const uint8_t *px = src->images + (size_t)idx * src->rows * src->cols;
    const int64_t file_idx = src->file_index ? src->file_index[idx] : idx;
    int nb[4];
    if (!native_box(px, src->rows, src->cols, o->silhouette_thr, nb))
        return wsss_error_set("item %lld of the Fashion-MNIST file has no pixel at or above the "
                              "silhouette threshold %g", (long long)file_idx, o->silhouette_thr);
    int cx0 = nb[0] > 0 ? nb[0] - 1 : 0, cy0 = nb[1] > 0 ? nb[1] - 1 : 0;
    int cx1 = nb[2] < src->cols - 1 ? nb[2] + 1 : nb[2], cy1 = nb[3] < src->rows - 1 ? nb[3] + 1 : nb[3];
    int crows = cy1 - cy0 + 1, ccols = cx1 - cx0 + 1;
    int L = nb[2] - nb[0] > nb[3] - nb[1] ? nb[2] - nb[0] + 1 : nb[3] - nb[1] + 1;
    const int max_side = 8 * o->size; /* bounds the buffers for a silhouette of a pixel or two */
    double f = (double)target / L, best_f = -1, f_below = 0, f_above = 0; /* 0: no bracket end yet */
    int best_err = 1 << 30, made_best = 0;
    for (int attempt = 0; attempt < 40; attempt++) {
        int h = (int)lround(crows * f), w = (int)lround(ccols * f), side = 0;
        if (h < 1) h = 1;
        if (w < 1) w = 1;
        made_best = 0;
        if (h > max_side || w > max_side) {
            side = hi + 1; /* too large to try: counts as overshooting */
        } else {
            wsss_fashion_item_make(it, px + cy0 * src->cols + cx0, src->cols, crows, ccols, h, w, mirror,
                                   (float)o->silhouette_thr);
            int b[4];
            if (wsss_fashion_item_bbox(it, &b[0], &b[1], &b[2], &b[3]))
                side = b[2] - b[0] > b[3] - b[1] ? b[2] - b[0] + 1 : b[3] - b[1] + 1;
            if (side >= lo && side <= hi && abs(side - target) < best_err) {
                best_err = abs(side - target);
                best_f = f;
                made_best = 1;
            }
        }
        if (side == target) break;
        if (side < target) f_below = f;
        else f_above = f;
        if (f_below > 0 && f_above > 0 && (f_above - f_below) * (crows > ccols ? crows : ccols) < 0.5)
            break; /* sizes a pixel apart: the side jumps over the target */
        double next = side > 0 ? f * target / side : 2 * f;
        if (f_above > 0 && (next <= f_below || next >= f_above))
            next = f_below > 0 ? sqrt(f_below * f_above) : f_above / 2;
        f = next;
    }
    if (best_f < 0)
        return wsss_error_set("item %lld of the Fashion-MNIST file: its silhouette cannot be scaled "
                              "to fill %g..%g of a %d-pixel canvas", (long long)file_idx, o->fill_min, o->fill_max,
                              o->size);
    if (!made_best) {
        int h = (int)lround(crows * best_f), w = (int)lround(ccols * best_f);
        wsss_fashion_item_make(it, px + cy0 * src->cols + cx0, src->cols, crows, ccols, h < 1 ? 1 : h, w < 1 ? 1 : w,
                               mirror, (float)o->silhouette_thr);
    }
    return WSSS_OK;
}

/* Top-left canvas position of the item: box centre at the canvas centre plus u * the jitter, the
 * jitter limited so the box stays on the canvas. */
static int place(int S, double jitter, double u, int b0, int b1) {
    int side = b1 - b0 + 1;
    double room = (S - side) / 2.0, j = jitter * S < room ? jitter * S : room;
    int x0 = (int)lround(S / 2.0 + u * j - b0 - side / 2.0);
    if (x0 < -b0) x0 = -b0;
    if (x0 > S - 1 - b1) x0 = S - 1 - b1;
    return x0;
}

int wsss_fashion_render_object(const wsss_fashion_source *src, const wsss_fashion_objects_opts *o,
                               wsss_fashion_split split, int64_t index, wsss_image *img, wsss_image *mask,
                               wsss_fashion_object_info *info) {
    if (wsss_fashion_objects_check_opts(o) != WSSS_OK) return WSSS_ERR;
    WSSS_ASSERT(src->images && src->labels && index >= 0 && index < src->n, "object index outside the source");
    const int S = o->size;
    int lo, hi;
    fill_range(o, &lo, &hi);
    wsss_rng r;
    wsss_rng_seed3(&r, o->seed ^ OBJECTS_SALT, (uint64_t)split, (uint64_t)index);
    wsss_fashion_canvas c;
    wsss_fashion_canvas_init(&c, S);
    wsss_fashion_object_info inf;
    memset(&inf, 0, sizeof inf);
    wsss_fashion_draw_background(&c, &r);
    inf.n_distractors = (int)wsss_rng_below(&r, o->max_distractors + 1);
    for (int i = 0; i < inf.n_distractors; i++) wsss_fashion_draw_distractor(&c, &r);
    int target = (int)lround(wsss_rng_range(&r, o->fill_min, o->fill_max) * S);
    target = target < lo ? lo : target > hi ? hi : target;
    inf.mirrored = wsss_rng_uniform(&r) < o->mirror_p;
    double ux = wsss_rng_range(&r, -1, 1), uy = wsss_rng_range(&r, -1, 1);
    float tint[3];
    wsss_fashion_item_tint(&r, tint);
    inf.cls = src->labels[index] + 1;
    inf.src_index = src->file_index ? src->file_index[index] : index;

    wsss_fashion_item it = {0};
    int rc = scale_item(&it, src, index, inf.mirrored, o, target, lo, hi);
    if (rc == WSSS_OK) {
        int b[4];
        wsss_fashion_item_bbox(&it, &b[0], &b[1], &b[2], &b[3]);
        int x0 = place(S, o->jitter, ux, b[0], b[2]), y0 = place(S, o->jitter, uy, b[1], b[3]);
        wsss_fashion_paint_item(&c, &it, x0, y0, tint, 1);
        inf.bbox[0] = x0 + b[0];
        inf.bbox[1] = y0 + b[1];
        inf.bbox[2] = x0 + b[2];
        inf.bbox[3] = y0 + b[3];
        wsss_fashion_canvas_to_image(&c, img);
        if (mask) {
            wsss_image_alloc(mask, S, S, 1);
            for (size_t p = 0; p < (size_t)S * S; p++) mask->data[p] = c.idmap[p] ? (uint8_t)inf.cls : 0;
        }
        if (info) *info = inf;
    }
    wsss_fashion_item_free(&it);
    wsss_fashion_canvas_free(&c);
    return rc;
}

char *wsss_fashion_objects_class_folder(const wsss_fashion_objects_opts *o, int c) {
    WSSS_ASSERT(c >= 1 && c <= (o->n_classes ? o->n_classes : 10), "class outside the set");
    return wsss_class_folder_name(wsss_fashion_class_names[o->n_classes ? o->classes[c - 1] : c]);
}

/* ---------------------------------------------------------------- ImageFolder writer */

/* Remove a leftover OUT/<split>.partial: class folders of files, nothing deeper. Symbolic links are
 * never followed (lstat), so nothing outside the leftover folder can be removed. */
static int remove_partial(const char *dir) {
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return wsss_error_set("%s: a leftover that is not a folder (remove it by hand)", dir);
    DIR *d = opendir(dir);
    if (!d) return wsss_error_set("%s: cannot read the leftover folder: %s", dir, strerror(errno));
    int rc = WSSS_OK;
    struct dirent *e;
    char path[4096], file[4096 + 300];
    while (rc == WSSS_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        DIR *cd = lstat(path, &st) == 0 && S_ISDIR(st.st_mode) ? opendir(path) : NULL;
        if (!cd) {
            rc = wsss_error_set("%s: unexpected entry in a leftover %s (remove it by hand)", path, dir);
            break;
        }
        struct dirent *f;
        while (rc == WSSS_OK && (f = readdir(cd)) != NULL) {
            if (strcmp(f->d_name, ".") == 0 || strcmp(f->d_name, "..") == 0) continue;
            snprintf(file, sizeof file, "%s/%s", path, f->d_name);
            if (unlink(file) != 0) rc = wsss_error_set("%s: cannot remove (%s); remove %s by hand", file, strerror(errno), dir);
        }
        closedir(cd);
        if (rc == WSSS_OK && rmdir(path) != 0)
            rc = wsss_error_set("%s: cannot remove (%s); remove %s by hand", path, strerror(errno), dir);
    }
    closedir(d);
    if (rc == WSSS_OK && rmdir(dir) != 0) rc = wsss_error_set("%s: cannot remove: %s", dir, strerror(errno));
    return rc;
}

typedef struct split_job {
    wsss_fashion_split split;
    const char *name; /* "train" / "val" */
    wsss_fashion_source src;
    int64_t n;
    char final_dir[4096], partial_dir[4096];
} split_job;

/* Load the split's pool and settle its size and folders; nothing is written yet. */
static int prepare_split(const wsss_fashion_objects_opts *o, split_job *j) {
    if (wsss_fashion_source_load_pool(o->mnist_dir, WSSS_FASHION_OBJECTS, j->split, o->classes, o->n_classes,
                                      &j->src) != WSSS_OK)
        return WSSS_ERR;
    const int64_t want = j->split == WSSS_FASHION_TRAIN ? o->n_train : o->n_val;
    const wsss_fashion_pool pool = wsss_fashion_item_pool(WSSS_FASHION_OBJECTS, j->split);
    j->n = want == WSSS_FASHION_OBJECTS_ALL ? j->src.n : want;
    if (j->n > j->src.n)
        return wsss_error_set("%lld %s images asked for, but the %s pool (%s file items %lld..%lld) "
                              "has %lld items%s, one image each",
                              (long long)want, j->name, j->name, j->split == WSSS_FASHION_TRAIN ? "training" : "t10k",
                              (long long)pool.first, (long long)(pool.first + pool.count - 1), (long long)j->src.n,
                              o->n_classes ? " of the chosen classes" : "");
    snprintf(j->final_dir, sizeof j->final_dir, "%s/%s", o->out_dir, j->name);
    snprintf(j->partial_dir, sizeof j->partial_dir, "%s/%s.partial", o->out_dir, j->name);
    struct stat st;
    if (j->n > 0 && lstat(j->final_dir, &st) == 0)
        return wsss_error_set("%s already exists: remove it or choose another --out (Fashion-Objects writes whole "
                              "splits and never overwrites one)", j->final_dir);
    return WSSS_OK;
}

/* The folder class of image i: its item's, or with label noise (train split) another drawn. */
static int folder_class(const wsss_fashion_objects_opts *o, const split_job *j, int64_t i, int K) {
    const int c = j->src.labels[i] + 1;
    if (o->label_noise <= 0 || j->split != WSSS_FASHION_TRAIN || K < 2) return c;
    wsss_rng r;
    wsss_rng_seed3(&r, o->seed ^ NOISE_SALT, (uint64_t)j->split, (uint64_t)i);
    if (wsss_rng_uniform(&r) >= o->label_noise) return c;
    const int other = 1 + (int)wsss_rng_below(&r, K - 1); /* 1..K-1, skipping c */
    return other >= c ? other + 1 : other;
}

static int write_split(const wsss_fashion_objects_opts *o, split_job *j, int64_t *counts, double t0) {
    struct stat st;
    if (lstat(j->partial_dir, &st) == 0 && remove_partial(j->partial_dir) != WSSS_OK) return WSSS_ERR;
    if (wsss_fashion_make_dir(j->partial_dir) != WSSS_OK) return WSSS_ERR;
    const int K = o->n_classes ? o->n_classes : 10;
    char *folders[11] = {0};
    for (int64_t i = 0; i < j->n; i++) counts[folder_class(o, j, i, K)]++;
    int rc = WSSS_OK;
    for (int c = 1; c <= K; c++) {
        folders[c] = wsss_fashion_objects_class_folder(o, c);
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", j->partial_dir, folders[c]);
        if (counts[c] > 0 && rc == WSSS_OK) rc = wsss_fashion_make_dir(path);
        if (counts[c] == 0 && o->progress)
            fprintf(stderr, "fashion-objects: warning: no %s image of class %s (too few images for every class)\n",
                    j->name, wsss_fashion_class_names[o->n_classes ? o->classes[c - 1] : c]);
    }
    wsss_fashion_loop lp;
    wsss_fashion_loop_init(&lp, "fashion-objects", j->name, "images", j->n, o->progress, t0);
    lp.failed = rc != WSSS_OK;
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = 0; i < j->n; i++) {
        if (wsss_fashion_loop_stopped(&lp)) continue;
        wsss_image img = {0};
        wsss_fashion_object_info info;
        char id[64], path[4600];
        wsss_fashion_scene_id(j->split, i, id, sizeof id);
        int r = wsss_fashion_render_object(&j->src, o, j->split, i, &img, NULL, &info);
        if (r == WSSS_OK) {
            snprintf(path, sizeof path, "%s/%s/%s.jpg", j->partial_dir, folders[folder_class(o, j, i, K)], id);
            r = wsss_image_write_jpeg(path, &img, o->jpeg_quality);
        }
        wsss_image_free(&img);
        wsss_fashion_loop_done(&lp, r);
    }
    for (int c = 1; c <= K; c++) free(folders[c]);
    if (lp.failed) {
        if (lp.err[0]) wsss_error_set("%s", lp.err);
        return WSSS_ERR;
    }
    if (rename(j->partial_dir, j->final_dir) != 0)
        return wsss_error_set("%s: cannot rename to %s: %s", j->partial_dir, j->final_dir, strerror(errno));
    return WSSS_OK;
}

int wsss_fashion_objects_generate(const wsss_fashion_objects_opts *o, int64_t counts[2][WSSS_FASHION_NUM_CLASSES]) {
    if (!o->out_dir || !*o->out_dir) return wsss_error_set("no output directory given (--out DIR)");
    if (wsss_fashion_objects_check_opts(o) != WSSS_OK) return WSSS_ERR;
    if (o->n_train == 0 && o->n_val == 0)
        return wsss_error_set("nothing to generate (0 train and 0 val images)");
    int64_t local[2][WSSS_FASHION_NUM_CLASSES];
    if (!counts) counts = local;
    memset(counts, 0, sizeof(int64_t) * 2 * WSSS_FASHION_NUM_CLASSES);
    split_job jobs[2] = {{.split = WSSS_FASHION_TRAIN, .name = "train"}, {.split = WSSS_FASHION_VAL, .name = "val"}};
    const double t0 = wsss_now_seconds();
    int rc = WSSS_OK;
    /* every check (pool sizes, existing splits) before the first image is written */
    for (int s = 0; s < 2 && rc == WSSS_OK; s++)
        if ((s == 0 ? o->n_train : o->n_val) != 0) rc = prepare_split(o, &jobs[s]);
    if (rc == WSSS_OK) rc = wsss_fashion_make_dir(o->out_dir);
    for (int s = 0; s < 2 && rc == WSSS_OK; s++)
        if (jobs[s].n > 0) rc = write_split(o, &jobs[s], counts[s], t0);
    for (int s = 0; s < 2; s++) wsss_fashion_source_free(&jobs[s].src);
    if (rc == WSSS_OK && o->progress)
        fprintf(stderr, "fashion-objects: wrote %lld train + %lld val images to %s (%.1f s)\n", (long long)jobs[0].n,
                (long long)jobs[1].n, o->out_dir, wsss_now_seconds() - t0);
    return rc;
}
