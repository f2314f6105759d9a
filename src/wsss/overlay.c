/* Heat-map and palette overlays (see overlay.h). */
#include <math.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/overlay.h"

static float clamp01(float x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

void wsss_heatmap_color(float v, uint8_t rgb[3]) {
    if (isnan(v)) v = 0;
    v = clamp01(v);
    rgb[0] = (uint8_t)lrintf(255.0f * clamp01(1.5f - fabsf(4.0f * v - 3.0f)));
    rgb[1] = (uint8_t)lrintf(255.0f * clamp01(1.5f - fabsf(4.0f * v - 2.0f)));
    rgb[2] = (uint8_t)lrintf(255.0f * clamp01(1.5f - fabsf(4.0f * v - 1.0f)));
}

static uint8_t blend(uint8_t a, uint8_t b, float alpha) {
    float v = (1.0f - alpha) * (float)a + alpha * (float)b;
    return (uint8_t)lrintf(v < 0 ? 0 : v > 255 ? 255 : v);
}

static int check_rgb(const wsss_image *image, const char *what) {
    if (!image->data || image->channels != 3)
        return wsss_error_set("%s: expected an RGB image (3 channels), got %d channel%s", what, image->channels,
                              image->channels == 1 ? "" : "s");
    return WSSS_OK;
}

int wsss_overlay_heatmap(const wsss_image *image, const float *map, int map_width, int map_height, float alpha,
                         wsss_image *out) {
    memset(out, 0, sizeof *out);
    if (check_rgb(image, "heat-map overlay") != WSSS_OK) return WSSS_ERR;
    if (map_width != image->width || map_height != image->height)
        return wsss_error_set("heat-map overlay: the map is %dx%d but the image is %dx%d (expected the same size)",
                              map_width, map_height, image->width, image->height);
    alpha = clamp01(alpha);
    if (wsss_image_alloc(out, image->width, image->height, 3) != WSSS_OK) return WSSS_ERR;
    int64_t n = (int64_t)image->width * image->height;
    for (int64_t i = 0; i < n; i++) {
        uint8_t c[3];
        wsss_heatmap_color(map[i], c);
        for (int k = 0; k < 3; k++) out->data[3 * i + k] = blend(image->data[3 * i + k], c[k], alpha);
    }
    return WSSS_OK;
}

int wsss_mask_to_rgb(const wsss_image *mask, wsss_image *out) {
    memset(out, 0, sizeof *out);
    if (!mask->data || mask->channels != 1)
        return wsss_error_set("mask colouring: expected a one-channel mask, got %d channels", mask->channels);
    if (wsss_image_alloc(out, mask->width, mask->height, 3) != WSSS_OK) return WSSS_ERR;
    uint8_t pal[256][3];
    for (int i = 0; i < 256; i++) wsss_voc_color(i, pal[i]);
    int64_t n = (int64_t)mask->width * mask->height;
    for (int64_t i = 0; i < n; i++) memcpy(out->data + 3 * i, pal[mask->data[i]], 3);
    return WSSS_OK;
}

int wsss_overlay_mask(const wsss_image *image, const wsss_image *mask, float alpha, int skip_background,
                      wsss_image *out) {
    memset(out, 0, sizeof *out);
    if (check_rgb(image, "mask overlay") != WSSS_OK) return WSSS_ERR;
    if (!mask->data || mask->channels != 1)
        return wsss_error_set("mask overlay: expected a one-channel mask, got %d channels", mask->channels);
    if (mask->width != image->width || mask->height != image->height)
        return wsss_error_set("mask overlay: the mask is %dx%d but the image is %dx%d (expected the same size)",
                              mask->width, mask->height, image->width, image->height);
    alpha = clamp01(alpha);
    if (wsss_image_alloc(out, image->width, image->height, 3) != WSSS_OK) return WSSS_ERR;
    uint8_t pal[256][3];
    for (int i = 0; i < 256; i++) wsss_voc_color(i, pal[i]);
    int64_t n = (int64_t)image->width * image->height;
    for (int64_t i = 0; i < n; i++) {
        uint8_t m = mask->data[i];
        for (int k = 0; k < 3; k++)
            out->data[3 * i + k] =
                (skip_background && m == 0) ? image->data[3 * i + k] : blend(image->data[3 * i + k], pal[m][k], alpha);
    }
    return WSSS_OK;
}
