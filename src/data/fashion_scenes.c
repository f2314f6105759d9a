/* Fashion-Scenes generator (specs/fashion-scenes.md): scene composition and the VOC-layout writer.
 * The drawing pieces are fashion_render.c's, shared with Fashion-Objects. */
#include "wsss/fashion_scenes.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fashion_internal.h"
#include "wsss/clock.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/rng.h"

void wsss_fashion_opts_default(wsss_fashion_opts *o) {
    memset(o, 0, sizeof *o);
    o->mnist_dir = WSSS_FASHION_DEFAULT_DIR;
    o->n_train = 5000;
    o->n_val = 1000;
    o->size = 128;
    o->seed = 0;
    o->item_probs[0] = 0.30;
    o->item_probs[1] = 0.35;
    o->item_probs[2] = 0.25;
    o->item_probs[3] = 0.10;
    o->scale_min = 1.4;
    o->scale_max = 3.2;
    o->mirror_p = 0.5;
    o->silhouette_thr = 1.0 / 3.0;
    o->min_visible = 0.01;
    o->max_distractors = 3;
    o->jpeg_quality = 95;
    o->progress = 1;
}

/* ---------------------------------------------------------------- one scene */

/* One item at a random scale, mirroring, position and tint; drawn with id item + 1. */
static void draw_item(wsss_fashion_canvas *c, wsss_fashion_item *it, wsss_rng *r, const wsss_fashion_source *src,
                      const wsss_fashion_opts *o, int item, wsss_fashion_scene_info *info) {
    int S = c->S;
    int64_t idx = wsss_rng_below(r, src->n);
    double f = wsss_rng_range(r, o->scale_min, o->scale_max);
    int h = (int)lround(src->rows * f), w = (int)lround(src->cols * f);
    if (h < 1) h = 1;
    if (w < 1) w = 1;
    int mirror = wsss_rng_uniform(r) < o->mirror_p;
    int x0 = (int)floor(wsss_rng_range(r, -w / 2.0, S - w / 2.0));
    int y0 = (int)floor(wsss_rng_range(r, -h / 2.0, S - h / 2.0));
    float tint[3];
    wsss_fashion_item_tint(r, tint);
    info->cls[item] = src->labels[idx] + 1;
    info->src_index[item] = src->file_index ? src->file_index[idx] : idx;
    wsss_fashion_item_make(it, src->images + (size_t)idx * src->rows * src->cols, src->cols, src->rows, src->cols, h,
                           w, mirror, (float)o->silhouette_thr);
    wsss_fashion_paint_item(c, it, x0, y0, tint, (uint8_t)(item + 1));
}

static int sample_item_count(wsss_rng *r, const double p[4]) {
    double tot = p[0] + p[1] + p[2] + p[3], u = wsss_rng_uniform(r) * tot, acc = 0;
    for (int k = 0; k < 4; k++) {
        acc += p[k];
        if (u < acc) return k + 1;
    }
    return 4;
}

/* the settings a scene depends on */
static int check_opts(const wsss_fashion_opts *o) {
    if (wsss_fashion_check_common(o->size, o->max_distractors, o->jpeg_quality, o->n_classes,
                                  o->classes) != WSSS_OK)
        return WSSS_ERR;
    if (!(o->scale_min > 0 && o->scale_max >= o->scale_min))
        return wsss_error_set("--scale-min %g, --scale-max %g: expected 0 < min <= max", o->scale_min, o->scale_max);
    double tot = 0;
    for (int k = 0; k < 4; k++) {
        if (!(o->item_probs[k] >= 0)) return wsss_error_set("item-count probability %d is negative", k + 1);
        tot += o->item_probs[k];
    }
    if (!(tot > 0)) return wsss_error_set("item-count probabilities sum to 0");
    if (o->n_train < 0 || o->n_val < 0 || o->n_train > 10000000 || o->n_val > 10000000)
        return wsss_error_set("--train %lld, --val %lld: expected 0..10000000 each", (long long)o->n_train,
                              (long long)o->n_val);
    return WSSS_OK;
}

int wsss_fashion_opts_check(const wsss_fashion_opts *o) {
    if (!o->out_dir || !*o->out_dir) return wsss_error_set("no output directory given (--out DIR)");
    if (check_opts(o) != WSSS_OK) return WSSS_ERR;
    if (o->n_train + o->n_val == 0) return wsss_error_set("nothing to generate (--train 0 and --val 0)");
    return WSSS_OK;
}

int wsss_fashion_render_scene(const wsss_fashion_source *src, const wsss_fashion_opts *o, wsss_fashion_split split,
                              int64_t index, wsss_image *img, wsss_image *mask, wsss_fashion_scene_info *info) {
    if (check_opts(o) != WSSS_OK) return WSSS_ERR;
    WSSS_ASSERT(src->n > 0 && src->images && src->labels, "empty Fashion-MNIST source");
    int S = o->size;
    wsss_fashion_canvas c;
    wsss_fashion_canvas_init(&c, S);
    wsss_fashion_item it = {0};
    wsss_rng r;
    wsss_rng_seed3(&r, o->seed, (uint64_t)split, (uint64_t)index);
    wsss_fashion_scene_info inf;
    double min_area = o->min_visible * (double)S * S;
    int rc = WSSS_OK;
    for (int attempt = 1;; attempt++) {
        memset(&inf, 0, sizeof inf);
        inf.attempts = attempt;
        memset(c.idmap, 0, (size_t)S * S);
        wsss_fashion_draw_background(&c, &r);
        inf.n_distractors = (int)wsss_rng_below(&r, o->max_distractors + 1);
        for (int i = 0; i < inf.n_distractors; i++) wsss_fashion_draw_distractor(&c, &r);
        inf.n_items = sample_item_count(&r, o->item_probs);
        for (int i = 0; i < inf.n_items; i++) draw_item(&c, &it, &r, src, o, i, &inf);
        for (size_t p = 0; p < (size_t)S * S; p++)
            if (c.idmap[p]) inf.visible[c.idmap[p] - 1]++;
        int any = 0;
        for (int i = 0; i < inf.n_items; i++) {
            inf.labelled[i] = inf.visible[i] > 0 && (double)inf.visible[i] >= min_area;
            if (inf.labelled[i]) {
                any = 1;
                inf.present[inf.cls[i]] = 1;
            }
        }
        if (any) break;
        if (attempt >= 1000) {
            rc = wsss_error_set("scene %lld: no item reached the minimum visible area %g of the "
                                "canvas in 1000 attempts (is --min-visible too large?)", (long long)index, o->min_visible);
            break;
        }
    }
    if (rc == WSSS_OK) {
        wsss_fashion_canvas_to_image(&c, img);
        wsss_image_alloc(mask, S, S, 1);
        for (size_t p = 0; p < (size_t)S * S; p++) {
            int id = c.idmap[p];
            mask->data[p] = id == 0 ? 0 : inf.labelled[id - 1] ? (uint8_t)inf.cls[id - 1] : 255;
        }
        if (info) *info = inf;
    }
    wsss_fashion_canvas_free(&c);
    wsss_fashion_item_free(&it);
    return rc;
}

void wsss_fashion_scene_id(wsss_fashion_split split, int64_t index, char *buf, int n) {
    snprintf(buf, (size_t)n, "%s_%06lld", split == WSSS_FASHION_TRAIN ? "train" : "val", (long long)index);
}

/* ---------------------------------------------------------------- dataset writer */

typedef struct text_buf {
    char *s;
    size_t n, cap;
} text_buf;

static void tb_printf(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(text_buf *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (t->s && (size_t)k < t->cap - t->n) {
            t->n += (size_t)k;
            return;
        }
        t->cap = (t->cap + (size_t)k + 1) * 2;
        t->s = wsss_xrealloc(t->s, t->cap);
    }
}

/* Render and write all scenes of one split in parallel; labels[i*K + c] receives the labels. */
static int generate_split(const wsss_fashion_opts *o, wsss_fashion_split split, int64_t n, uint8_t *labels,
                          double t0) {
    wsss_fashion_source src;
    if (wsss_fashion_source_load_pool(o->mnist_dir, WSSS_FASHION_SCENES, split, o->classes, o->n_classes, &src) !=
        WSSS_OK)
        return WSSS_ERR;
    const char *name = split == WSSS_FASHION_TRAIN ? "train" : "val";
    wsss_fashion_loop lp;
    wsss_fashion_loop_init(&lp, "fashion-scenes", name, "scenes", n, o->progress, t0);
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 0; i < n; i++) {
        if (wsss_fashion_loop_stopped(&lp)) continue;
        wsss_image img = {0}, mask = {0};
        wsss_fashion_scene_info info;
        char id[64], path[4096];
        wsss_fashion_scene_id(split, i, id, sizeof id);
        int rc = wsss_fashion_render_scene(&src, o, split, i, &img, &mask, &info);
        if (rc == WSSS_OK) {
            snprintf(path, sizeof path, "%s/JPEGImages/%s.jpg", o->out_dir, id);
            rc = wsss_image_write_jpeg(path, &img, o->jpeg_quality);
        }
        if (rc == WSSS_OK) {
            snprintf(path, sizeof path, "%s/SegmentationClass/%s.png", o->out_dir, id);
            rc = wsss_image_write_mask_png(path, &mask);
        }
        wsss_image_free(&img);
        wsss_image_free(&mask);
        if (rc == WSSS_OK) memcpy(labels + (size_t)i * WSSS_FASHION_NUM_CLASSES, info.present, WSSS_FASHION_NUM_CLASSES);
        wsss_fashion_loop_done(&lp, rc);
    }
    wsss_fashion_source_free(&src);
    if (lp.failed) return wsss_error_set("%s", lp.err);
    return WSSS_OK;
}

int wsss_fashion_generate(const wsss_fashion_opts *o, int64_t labels_hist[2][WSSS_FASHION_NUM_CLASSES]) {
    if (wsss_fashion_opts_check(o) != WSSS_OK) return WSSS_ERR;
    char path[4096];
    static const char *const dirs[] = {"", "/JPEGImages", "/SegmentationClass", "/ImageSets", "/ImageSets/Segmentation"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s%s", o->out_dir, dirs[i]);
        if (wsss_fashion_make_dir(path) != WSSS_OK) return WSSS_ERR;
    }
    if (labels_hist) memset(labels_hist, 0, sizeof(int64_t) * 2 * WSSS_FASHION_NUM_CLASSES);
    double t0 = wsss_now_seconds();
    const int64_t counts[2] = {o->n_train, o->n_val};
    uint8_t *labels[2] = {NULL, NULL};
    int rc = WSSS_OK;
    for (int s = 0; s < 2 && rc == WSSS_OK; s++) {
        labels[s] = wsss_xcalloc((size_t)counts[s] + 1, WSSS_FASHION_NUM_CLASSES);
        if (counts[s] > 0) rc = generate_split(o, (wsss_fashion_split)s, counts[s], labels[s], t0);
    }
    text_buf cls = {0}, list[2] = {{0}, {0}}, names = {0};
    for (int s = 0; s < 2 && rc == WSSS_OK; s++)
        for (int64_t i = 0; i < counts[s]; i++) {
            char id[64];
            wsss_fashion_scene_id((wsss_fashion_split)s, i, id, sizeof id);
            tb_printf(&list[s], "%s\n", id);
            tb_printf(&cls, "%s", id);
            int k = 0;
            for (int c = 1; c < WSSS_FASHION_NUM_CLASSES; c++)
                if (labels[s][(size_t)i * WSSS_FASHION_NUM_CLASSES + c]) {
                    tb_printf(&cls, " %d", c);
                    k++;
                }
            tb_printf(&cls, "\n");
            if (labels_hist) labels_hist[s][k]++;
        }
    tb_printf(&names, "%s\n", wsss_fashion_class_names[0]);
    for (int c = 1; c < WSSS_FASHION_NUM_CLASSES; c++)
        if (o->n_classes == 0 || c <= o->n_classes)
            tb_printf(&names, "%s\n", wsss_fashion_class_names[o->n_classes ? o->classes[c - 1] : c]);
    static const char *const list_names[2] = {"train.txt", "val.txt"};
    for (int s = 0; s < 2 && rc == WSSS_OK; s++) {
        snprintf(path, sizeof path, "%s/ImageSets/Segmentation/%s", o->out_dir, list_names[s]);
        rc = wsss_file_write_atomic(path, list[s].s ? list[s].s : "", list[s].n);
    }
    if (rc == WSSS_OK) {
        snprintf(path, sizeof path, "%s/cls_labels.txt", o->out_dir);
        rc = wsss_file_write_atomic(path, cls.s ? cls.s : "", cls.n);
    }
    if (rc == WSSS_OK) {
        snprintf(path, sizeof path, "%s/classes.txt", o->out_dir);
        rc = wsss_file_write_atomic(path, names.s, names.n);
    }
    free(cls.s);
    free(list[0].s);
    free(list[1].s);
    free(names.s);
    free(labels[0]);
    free(labels[1]);
    if (rc == WSSS_OK && o->progress)
        fprintf(stderr, "fashion-scenes: wrote %lld train + %lld val scenes to %s (%.1f s)\n", (long long)o->n_train,
                (long long)o->n_val, o->out_dir, wsss_now_seconds() - t0);
    return rc;
}
