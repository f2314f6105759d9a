/* Drawing pieces shared by the Fashion-Scenes and Fashion-Objects generators (fashion_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/fashion_internal.h"
#include "wsss/error.h"

void wsss_fashion_canvas_init(wsss_fashion_canvas *c, int S) {
    WSSS_ASSERT(S > 0, "empty canvas");
    c->S = S;
    c->rgb = wsss_xmalloc((size_t)S * S * 3 * sizeof(float));
    c->idmap = wsss_xcalloc((size_t)S * S, 1);
}

void wsss_fashion_canvas_free(wsss_fashion_canvas *c) {
    free(c->rgb);
    free(c->idmap);
    memset(c, 0, sizeof *c);
}

void wsss_fashion_canvas_to_image(const wsss_fashion_canvas *c, wsss_image *img) {
    const int S = c->S;
    wsss_image_alloc(img, S, S, 3);
    for (size_t p = 0; p < (size_t)S * S * 3; p++) {
        float v = c->rgb[p] * 255.0f + 0.5f;
        img->data[p] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : (int)v);
    }
}

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

void wsss_fashion_draw_background(wsss_fashion_canvas *c, wsss_rng *r) {
    int S = c->S;
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
            float *px = c->rgb + ((size_t)y * S + x) * 3;
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

void wsss_fashion_item_tint(wsss_rng *r, float rgb[3]) { random_colour(r, 0.55, 0.65, rgb); }

void wsss_fashion_draw_distractor(wsss_fashion_canvas *c, wsss_rng *r) {
    int S = c->S;
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
            blend_px(c->rgb + ((size_t)y * S + x) * 3, col, (float)(a * opacity));
        }
}

/* Bilinear upscale (half-pixel centres) of a rows x cols grey window to h x w, optionally mirrored. */
static void upscale_item(const uint8_t *src, int stride, int rows, int cols, int h, int w, int mirror, float *g) {
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
            double top = src[y0 * stride + x0] * (1 - wx) + src[y0 * stride + x1] * wx;
            double bot = src[y1 * stride + x0] * (1 - wx) + src[y1 * stride + x1] * wx;
            g[(size_t)i * w + j] = (float)((top * (1 - wy) + bot * wy) / 255.0);
        }
    }
}

/* Silhouette = g >= thr, then every non-silhouette cell not 4-connected to the outside is a hole and
 * joins the silhouette. The flood runs on a grid with a one-cell frame so the outside is connected. */
static void silhouette(wsss_fashion_item *it, float thr) {
    int h = it->h, w = it->w, W = w + 2, H = h + 2;
    uint8_t *s = it->sil; /* H*W: 1 = silhouette, 2 = reached from outside, 0 = hole */
    memset(s, 0, (size_t)H * W);
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) s[(size_t)(i + 1) * W + j + 1] = it->g[(size_t)i * w + j] >= thr;
    int top = 0;
    it->stack[top++] = 0;
    s[0] = 2;
    while (top) {
        int c = it->stack[--top], y = c / W, x = c % W;
        int nb[4] = {y > 0 ? c - W : -1, y < H - 1 ? c + W : -1, x > 0 ? c - 1 : -1, x < W - 1 ? c + 1 : -1};
        for (int k = 0; k < 4; k++)
            if (nb[k] >= 0 && s[nb[k]] == 0) {
                s[nb[k]] = 2;
                it->stack[top++] = nb[k];
            }
    }
    for (size_t i = 0; i < (size_t)H * W; i++) s[i] = s[i] != 2; /* silhouette or hole */
}

void wsss_fashion_item_make(wsss_fashion_item *it, const uint8_t *src, int stride, int rows, int cols, int h, int w,
                            int mirror, float thr) {
    WSSS_ASSERT(rows > 0 && cols > 0 && h > 0 && w > 0 && stride >= cols, "bad item shape");
    WSSS_ASSERT((int64_t)(h + 2) * (w + 2) < INT32_MAX, "item too large");
    size_t cells = (size_t)(h + 2) * (size_t)(w + 2);
    if (cells > it->cap) {
        free(it->g);
        free(it->sil);
        free(it->stack);
        it->g = wsss_xmalloc(cells * sizeof(float));
        it->sil = wsss_xmalloc(cells);
        it->stack = wsss_xmalloc(cells * sizeof(int));
        it->cap = cells;
    }
    it->h = h;
    it->w = w;
    upscale_item(src, stride, rows, cols, h, w, mirror, it->g);
    silhouette(it, thr);
}

void wsss_fashion_item_free(wsss_fashion_item *it) {
    free(it->g);
    free(it->sil);
    free(it->stack);
    memset(it, 0, sizeof *it);
}

int wsss_fashion_item_bbox(const wsss_fashion_item *it, int *x0, int *y0, int *x1, int *y1) {
    const int W = it->w + 2;
    *x0 = it->w;
    *y0 = it->h;
    *x1 = *y1 = -1;
    for (int i = 0; i < it->h; i++)
        for (int j = 0; j < it->w; j++)
            if (it->sil[(size_t)(i + 1) * W + j + 1]) {
                if (j < *x0) *x0 = j;
                if (j > *x1) *x1 = j;
                if (i < *y0) *y0 = i;
                if (i > *y1) *y1 = i;
            }
    return *x1 >= 0;
}

void wsss_fashion_paint_item(wsss_fashion_canvas *c, const wsss_fashion_item *it, int x0, int y0,
                             const float tint[3], uint8_t id) {
    const int S = c->S, h = it->h, w = it->w, W = w + 2;
    /* one-pixel soft edge just outside the silhouette (drawn first, not part of the mask) */
    for (int i = -1; i <= h; i++)
        for (int j = -1; j <= w; j++) {
            int y = y0 + i, x = x0 + j;
            if (y < 0 || y >= S || x < 0 || x >= S || it->sil[(size_t)(i + 1) * W + j + 1]) continue;
            int near = 0;
            for (int di = -1; di <= 1 && !near; di++)
                for (int dj = -1; dj <= 1; dj++) {
                    int ii = i + 1 + di, jj = j + 1 + dj;
                    if (ii >= 0 && ii < h + 2 && jj >= 0 && jj < W && it->sil[(size_t)ii * W + jj]) {
                        near = 1;
                        break;
                    }
                }
            if (!near) continue;
            float gv = (i >= 0 && i < h && j >= 0 && j < w) ? it->g[(size_t)i * w + j] : 0.0f;
            float col[3];
            for (int k = 0; k < 3; k++) col[k] = tint[k] * (0.25f + 0.75f * gv);
            blend_px(c->rgb + ((size_t)y * S + x) * 3, col, 0.5f);
        }
    /* the opaque silhouette, shaded by g so the item's texture survives */
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            int y = y0 + i, x = x0 + j;
            if (y < 0 || y >= S || x < 0 || x >= S || !it->sil[(size_t)(i + 1) * W + j + 1]) continue;
            float gv = it->g[(size_t)i * w + j];
            float *px = c->rgb + ((size_t)y * S + x) * 3;
            for (int k = 0; k < 3; k++) px[k] = tint[k] * (0.25f + 0.75f * gv);
            c->idmap[(size_t)y * S + x] = id;
        }
}
