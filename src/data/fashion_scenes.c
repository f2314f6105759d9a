/* Fashion-Scenes generator (specs/fashion-scenes.md): scene rendering and the VOC-layout writer. */
#include "wsss/fashion_scenes.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "data/image_internal.h"
#include "wsss/error.h"
#include "wsss/rng.h"

const char *const wsss_fashion_class_names[WSSS_FASHION_NUM_CLASSES] = {
    "background", "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",     "Shirt",       "Sneaker", "Bag",      "Ankle boot"};

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

/* ---------------------------------------------------------------- source files */

int wsss_fashion_source_load(const char *dir, wsss_fashion_split split, wsss_fashion_source *out) {
    memset(out, 0, sizeof *out);
    const char *stem = split == WSSS_FASHION_TRAIN ? "train" : "t10k";
    char ipath[4096], lpath[4096];
    snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", dir, stem);
    snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", dir, stem);
    wsss_idx im, lb;
    if (wsss_idx_read(ipath, &im) != WSSS_OK)
        return wsss_error_prefix("Fashion-MNIST (package dataset-fashion-mnist, or --mnist-dir)");
    if (im.ndim != 3) {
        wsss_idx_free(&im);
        return wsss_error_set("%s: %d dimensions, expected 3 (count, rows, cols)", ipath, im.ndim);
    }
    if (wsss_idx_read(lpath, &lb) != WSSS_OK) {
        wsss_idx_free(&im);
        return WSSS_ERR;
    }
    int rc = WSSS_OK;
    if (lb.ndim != 1 || lb.dims[0] != im.dims[0])
        rc = wsss_error_set("%s: expected %lld labels in one dimension to match %s", lpath,
                            (long long)im.dims[0], ipath);
    for (int64_t i = 0; rc == WSSS_OK && i < lb.dims[0]; i++)
        if (lb.data[i] > 9) rc = wsss_error_set("%s: label %d at item %lld, expected 0..9", lpath, lb.data[i], (long long)i);
    if (rc == WSSS_OK && (im.dims[1] < 2 || im.dims[2] < 2 || im.dims[1] > 1024 || im.dims[2] > 1024))
        rc = wsss_error_set("%s: items are %lldx%lld, expected 2..1024 pixels a side", ipath,
                            (long long)im.dims[1], (long long)im.dims[2]);
    if (rc != WSSS_OK) {
        wsss_idx_free(&im);
        wsss_idx_free(&lb);
        return rc;
    }
    out->n = im.dims[0];
    out->rows = (int)im.dims[1];
    out->cols = (int)im.dims[2];
    out->images = im.data;
    out->labels = lb.data;
    return WSSS_OK;
}

void wsss_fashion_source_free(wsss_fashion_source *s) {
    free(s->images);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

void wsss_fashion_source_keep(wsss_fashion_source *s, const int *classes, int n) {
    int new_label[10];
    for (int l = 0; l < 10; l++) new_label[l] = -1;
    for (int k = 0; k < n; k++) new_label[classes[k] - 1] = k;
    const size_t item = (size_t)s->rows * (size_t)s->cols;
    int64_t kept = 0;
    for (int64_t i = 0; i < s->n; i++) {
        const int l = new_label[s->labels[i]];
        if (l < 0) continue;
        memmove(s->images + (size_t)kept * item, s->images + (size_t)i * item, item);
        s->labels[kept++] = (uint8_t)l;
    }
    s->n = kept;
}

/* ---------------------------------------------------------------- drawing helpers */

typedef struct scene_buf {
    int S;
    float *rgb;      /* S*S*3 in [0,1] */
    uint8_t *idmap;  /* S*S: 0 = background/distractor, k = item k-1 */
    /* item scratch, sized for the largest item */
    float *g;
    uint8_t *sil;
    int *stack;
    int cap; /* cells available in g/sil */
} scene_buf;

static void hsv_to_rgb(double h, double s, double v, float rgb[3]) {
    double hh = fmod(h, 1.0) * 6.0;
    int i = (int)hh;
    double f = hh - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double r, g, b;
    switch (i) {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
    }
    rgb[0] = (float)r;
    rgb[1] = (float)g;
    rgb[2] = (float)b;
}

static inline void blend_px(float *px, const float c[3], float a) {
    for (int k = 0; k < 3; k++) px[k] += a * (c[k] - px[k]);
}

/* Smooth texture: base colour + a linear gradient + 1-3 sinusoidal gratings + mild pixel noise. */
static void draw_background(scene_buf *b, wsss_rng *r) {
    int S = b->S;
    float base[3], grad[3];
    for (int k = 0; k < 3; k++) base[k] = (float)wsss_rng_range(r, 0.2, 0.8);
    double th = wsss_rng_range(r, 0, 2 * M_PI);
    for (int k = 0; k < 3; k++) grad[k] = (float)wsss_rng_range(r, -0.35, 0.35);
    int ns = 1 + (int)wsss_rng_below(r, 3);
    double freq[3], phi[3], psi[3];
    float amp[3][3];
    for (int i = 0; i < ns; i++) {
        freq[i] = wsss_rng_range(r, 0.5, 3.0); /* cycles per canvas: low frequency */
        phi[i] = wsss_rng_range(r, 0, 2 * M_PI);
        psi[i] = wsss_rng_range(r, 0, 2 * M_PI);
        for (int k = 0; k < 3; k++) {
            double a = wsss_rng_range(r, 0.04, 0.14);
            amp[i][k] = (float)(wsss_rng_uniform(r) < 0.5 ? -a : a);
        }
    }
    double ct = cos(th), st = sin(th), cp[3], sp[3];
    for (int i = 0; i < ns; i++) {
        cp[i] = cos(phi[i]);
        sp[i] = sin(phi[i]);
    }
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double u = (double)x / S, v = (double)y / S;
            double t = (u - 0.5) * ct + (v - 0.5) * st;
            float *px = b->rgb + ((size_t)y * S + x) * 3;
            for (int k = 0; k < 3; k++) px[k] = base[k] + (float)(grad[k] * t);
            for (int i = 0; i < ns; i++) {
                double w = sin(2 * M_PI * freq[i] * (u * cp[i] + v * sp[i]) + psi[i]);
                for (int k = 0; k < 3; k++) px[k] += (float)(amp[i][k] * w);
            }
            for (int k = 0; k < 3; k++) px[k] += (float)(0.03 * wsss_rng_normal(r));
        }
}

static void random_colour(wsss_rng *r, double smin, double vmin, float rgb[3]) {
    double h = wsss_rng_uniform(r), s = wsss_rng_range(r, smin, 1.0), v = wsss_rng_range(r, vmin, 1.0);
    hsv_to_rgb(h, s, v, rgb);
}

/* Distractors belong to no class: soft-edged ellipses and patches of stripes. */
static void draw_distractor(scene_buf *b, wsss_rng *r) {
    int S = b->S;
    float col[3];
    random_colour(r, 0.2, 0.3, col);
    double cx = wsss_rng_range(r, 0, S), cy = wsss_rng_range(r, 0, S);
    double ang = wsss_rng_range(r, 0, M_PI), ca = cos(ang), sa = sin(ang);
    double opacity = wsss_rng_range(r, 0.6, 1.0);
    int stripes = wsss_rng_uniform(r) < 0.5;
    double ha = wsss_rng_range(r, 0.04, 0.16) * S, hb = wsss_rng_range(r, 0.04, 0.16) * S;
    double period = wsss_rng_range(r, 4.0, 10.0);
    if (stripes) {
        ha *= 1.5;
        hb *= 1.5;
    }
    int x0 = (int)floor(cx - ha - hb - 2), x1 = (int)ceil(cx + ha + hb + 2);
    int y0 = (int)floor(cy - ha - hb - 2), y1 = (int)ceil(cy + ha + hb + 2);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > S - 1) x1 = S - 1;
    if (y1 > S - 1) y1 = S - 1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            double u = dx * ca + dy * sa, v = -dx * sa + dy * ca;
            double a;
            if (!stripes) {
                double q = sqrt((u / ha) * (u / ha) + (v / hb) * (v / hb));
                double d = (q - 1.0) * (ha < hb ? ha : hb); /* ~ signed distance in pixels */
                a = 0.5 - d;
            } else {
                double du = fabs(u) - ha, dv = fabs(v) - hb;
                double d = du > dv ? du : dv;
                double ph = fmod(u + 1000.0 * period, period);
                a = (ph < period / 2 ? 1.0 : 0.0) * (0.5 - d > 1.0 ? 1.0 : 0.5 - d);
            }
            if (a <= 0) continue;
            if (a > 1) a = 1;
            blend_px(b->rgb + ((size_t)y * S + x) * 3, col, (float)(a * opacity));
        }
}

/* Bilinear upscale (half-pixel centres) of a rows x cols grey item to h x w, optionally mirrored. */
static void upscale_item(const uint8_t *src, int rows, int cols, int h, int w, int mirror, float *g) {
    for (int i = 0; i < h; i++) {
        double sy = (i + 0.5) * rows / h - 0.5;
        if (sy < 0) sy = 0;
        if (sy > rows - 1) sy = rows - 1;
        int y0 = (int)sy, y1 = y0 + 1 < rows ? y0 + 1 : rows - 1;
        double wy = sy - y0;
        for (int j = 0; j < w; j++) {
            int jj = mirror ? w - 1 - j : j;
            double sx = (jj + 0.5) * cols / w - 0.5;
            if (sx < 0) sx = 0;
            if (sx > cols - 1) sx = cols - 1;
            int x0 = (int)sx, x1 = x0 + 1 < cols ? x0 + 1 : cols - 1;
            double wx = sx - x0;
            double top = src[y0 * cols + x0] * (1 - wx) + src[y0 * cols + x1] * wx;
            double bot = src[y1 * cols + x0] * (1 - wx) + src[y1 * cols + x1] * wx;
            g[(size_t)i * w + j] = (float)((top * (1 - wy) + bot * wy) / 255.0);
        }
    }
}

/* Silhouette = g >= thr, then every non-silhouette cell not 4-connected to the outside is a hole and
 * joins the silhouette. The flood runs on a grid with a one-cell frame so the outside is connected. */
static void silhouette(scene_buf *b, int h, int w, float thr) {
    int W = w + 2, H = h + 2;
    uint8_t *s = b->sil; /* H*W: 1 = silhouette, 2 = reached from outside, 0 = hole */
    memset(s, 0, (size_t)H * W);
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) s[(size_t)(i + 1) * W + j + 1] = b->g[(size_t)i * w + j] >= thr;
    int top = 0;
    b->stack[top++] = 0;
    s[0] = 2;
    while (top) {
        int c = b->stack[--top], y = c / W, x = c % W;
        int nb[4] = {y > 0 ? c - W : -1, y < H - 1 ? c + W : -1, x > 0 ? c - 1 : -1, x < W - 1 ? c + 1 : -1};
        for (int k = 0; k < 4; k++)
            if (nb[k] >= 0 && s[nb[k]] == 0) {
                s[nb[k]] = 2;
                b->stack[top++] = nb[k];
            }
    }
    for (size_t i = 0; i < (size_t)H * W; i++) s[i] = s[i] != 2; /* silhouette or hole */
}

static void draw_item(scene_buf *b, wsss_rng *r, const wsss_fashion_source *src, const wsss_fashion_opts *o,
                      int item, wsss_fashion_scene_info *info) {
    int S = b->S;
    int64_t idx = wsss_rng_below(r, src->n);
    double f = wsss_rng_range(r, o->scale_min, o->scale_max);
    int h = (int)lround(src->rows * f), w = (int)lround(src->cols * f);
    if (h < 1) h = 1;
    if (w < 1) w = 1;
    int mirror = wsss_rng_uniform(r) < o->mirror_p;
    int x0 = (int)floor(wsss_rng_range(r, -w / 2.0, S - w / 2.0));
    int y0 = (int)floor(wsss_rng_range(r, -h / 2.0, S - h / 2.0));
    float tint[3];
    random_colour(r, 0.55, 0.65, tint);
    info->cls[item] = src->labels[idx] + 1;
    info->src_index[item] = idx;

    upscale_item(src->images + (size_t)idx * src->rows * src->cols, src->rows, src->cols, h, w, mirror, b->g);
    silhouette(b, h, w, (float)o->silhouette_thr);
    int W = w + 2;
    /* one-pixel soft edge just outside the silhouette (drawn first, not part of the mask) */
    for (int i = -1; i <= h; i++)
        for (int j = -1; j <= w; j++) {
            int y = y0 + i, x = x0 + j;
            if (y < 0 || y >= S || x < 0 || x >= S || b->sil[(size_t)(i + 1) * W + j + 1]) continue;
            int near = 0;
            for (int di = -1; di <= 1 && !near; di++)
                for (int dj = -1; dj <= 1; dj++) {
                    int ii = i + 1 + di, jj = j + 1 + dj;
                    if (ii >= 0 && ii < h + 2 && jj >= 0 && jj < W && b->sil[(size_t)ii * W + jj]) {
                        near = 1;
                        break;
                    }
                }
            if (!near) continue;
            float gv = (i >= 0 && i < h && j >= 0 && j < w) ? b->g[(size_t)i * w + j] : 0.0f;
            float c[3];
            for (int k = 0; k < 3; k++) c[k] = tint[k] * (0.25f + 0.75f * gv);
            blend_px(b->rgb + ((size_t)y * S + x) * 3, c, 0.5f);
        }
    /* the opaque silhouette, shaded by g so the item's texture survives */
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            int y = y0 + i, x = x0 + j;
            if (y < 0 || y >= S || x < 0 || x >= S || !b->sil[(size_t)(i + 1) * W + j + 1]) continue;
            float gv = b->g[(size_t)i * w + j];
            float *px = b->rgb + ((size_t)y * S + x) * 3;
            for (int k = 0; k < 3; k++) px[k] = tint[k] * (0.25f + 0.75f * gv);
            b->idmap[(size_t)y * S + x] = (uint8_t)(item + 1);
        }
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
    if (o->size < 16 || o->size > 4096) return wsss_error_set("--size %d: expected 16..4096", o->size);
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
    if (o->max_distractors < 0 || o->max_distractors > 64)
        return wsss_error_set("--max-distractors %d: expected 0..64", o->max_distractors);
    if (o->jpeg_quality < 1 || o->jpeg_quality > 100)
        return wsss_error_set("--jpeg-quality %d: expected 1..100", o->jpeg_quality);
    if (o->n_classes < 0 || o->n_classes > 10)
        return wsss_error_set("--classes: %d classes in the subset, expected 1..10", o->n_classes);
    for (int k = 0; k < o->n_classes; k++) {
        if (o->classes[k] < 1 || o->classes[k] > 10)
            return wsss_error_set("--classes: class %d, expected a Fashion-MNIST class id 1..10", o->classes[k]);
        for (int j = 0; j < k; j++)
            if (o->classes[j] == o->classes[k])
                return wsss_error_set("--classes: class %d listed twice", o->classes[k]);
    }
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
    double big = ceil(o->scale_max * (src->rows > src->cols ? src->rows : src->cols)) + 4;
    scene_buf b = {0};
    b.S = S;
    b.rgb = wsss_xmalloc((size_t)S * S * 3 * sizeof(float));
    b.idmap = wsss_xmalloc((size_t)S * S);
    b.cap = (int)(big * big);
    b.g = wsss_xmalloc((size_t)b.cap * sizeof(float));
    b.sil = wsss_xmalloc((size_t)b.cap);
    b.stack = wsss_xmalloc((size_t)b.cap * sizeof(int));

    wsss_rng r;
    wsss_rng_seed3(&r, o->seed, (uint64_t)split, (uint64_t)index);
    wsss_fashion_scene_info inf;
    double min_area = o->min_visible * (double)S * S;
    for (int attempt = 1;; attempt++) {
        memset(&inf, 0, sizeof inf);
        inf.attempts = attempt;
        memset(b.idmap, 0, (size_t)S * S);
        draw_background(&b, &r);
        inf.n_distractors = (int)wsss_rng_below(&r, o->max_distractors + 1);
        for (int i = 0; i < inf.n_distractors; i++) draw_distractor(&b, &r);
        inf.n_items = sample_item_count(&r, o->item_probs);
        for (int i = 0; i < inf.n_items; i++) draw_item(&b, &r, src, o, i, &inf);
        for (size_t p = 0; p < (size_t)S * S; p++)
            if (b.idmap[p]) inf.visible[b.idmap[p] - 1]++;
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
            free(b.rgb);
            free(b.idmap);
            free(b.g);
            free(b.sil);
            free(b.stack);
            return wsss_error_set("scene %lld: no item reached the minimum visible area %g of the "
                                  "canvas in 1000 attempts (is --min-visible too large?)", (long long)index, o->min_visible);
        }
    }

    wsss_image_alloc(img, S, S, 3);
    wsss_image_alloc(mask, S, S, 1);
    for (size_t p = 0; p < (size_t)S * S; p++) {
        for (int k = 0; k < 3; k++) {
            float v = b.rgb[p * 3 + k] * 255.0f + 0.5f;
            img->data[p * 3 + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : (int)v);
        }
        int id = b.idmap[p];
        mask->data[p] = id == 0 ? 0 : inf.labelled[id - 1] ? (uint8_t)inf.cls[id - 1] : 255;
    }
    if (info) *info = inf;
    free(b.rgb);
    free(b.idmap);
    free(b.g);
    free(b.sil);
    free(b.stack);
    return WSSS_OK;
}

void wsss_fashion_scene_id(wsss_fashion_split split, int64_t index, char *buf, int n) {
    snprintf(buf, (size_t)n, "%s_%06lld", split == WSSS_FASHION_TRAIN ? "train" : "val", (long long)index);
}

/* ---------------------------------------------------------------- dataset writer */

static int make_dir(const char *path) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return WSSS_OK;
        return wsss_error_set("%s: exists and is not a directory", path);
    }
    return wsss_error_set("%s: cannot create directory: %s", path, strerror(errno));
}

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

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Render and write all scenes of one split in parallel; labels[i*K + c] receives the labels. */
static int generate_split(const wsss_fashion_opts *o, wsss_fashion_split split, int64_t n, uint8_t *labels,
                          double t0) {
    wsss_fashion_source src;
    if (wsss_fashion_source_load(o->mnist_dir, split, &src) != WSSS_OK) return WSSS_ERR;
    if (o->n_classes > 0) wsss_fashion_source_keep(&src, o->classes, o->n_classes);
    const char *name = split == WSSS_FASHION_TRAIN ? "train" : "val";
    char err[1024] = "";
    int failed = 0;
    int64_t done = 0, step = n / 20 > 100 ? n / 20 : 100;
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 0; i < n; i++) {
        int stop;
#pragma omp atomic read
        stop = failed;
        if (stop) continue;
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
        if (rc != WSSS_OK) {
#pragma omp critical(fashion_err)
            if (!failed) {
                snprintf(err, sizeof err, "%s", wsss_error_msg());
#pragma omp atomic write
                failed = 1;
            }
            continue;
        }
        memcpy(labels + (size_t)i * WSSS_FASHION_NUM_CLASSES, info.present, WSSS_FASHION_NUM_CLASSES);
        int64_t d;
#pragma omp atomic capture
        d = ++done;
        if (o->progress && (d % step == 0 || d == n)) {
#pragma omp critical(fashion_progress)
            fprintf(stderr, "fashion-scenes: %s %lld/%lld scenes (%.1f s)\n", name, (long long)d, (long long)n,
                    now_s() - t0);
        }
    }
    wsss_fashion_source_free(&src);
    if (failed) return wsss_error_set("%s", err);
    return WSSS_OK;
}

int wsss_fashion_generate(const wsss_fashion_opts *o, int64_t labels_hist[2][WSSS_FASHION_NUM_CLASSES]) {
    if (wsss_fashion_opts_check(o) != WSSS_OK) return WSSS_ERR;
    char path[4096];
    static const char *const dirs[] = {"", "/JPEGImages", "/SegmentationClass", "/ImageSets", "/ImageSets/Segmentation"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s%s", o->out_dir, dirs[i]);
        if (make_dir(path) != WSSS_OK) return WSSS_ERR;
    }
    if (labels_hist) memset(labels_hist, 0, sizeof(int64_t) * 2 * WSSS_FASHION_NUM_CLASSES);
    double t0 = now_s();
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
                (long long)o->n_val, o->out_dir, now_s() - t0);
    return rc;
}
