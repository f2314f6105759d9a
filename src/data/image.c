/* Image buffers, format detection from the file's bytes, the VOC palette. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image_internal.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/image.h"

int wsss_image_alloc(wsss_image *img, int width, int height, int channels) {
    WSSS_ASSERT(width > 0 && height > 0 && (channels == 1 || channels == 3), "bad image shape");
    WSSS_ASSERT((int64_t)width * height <= WSSS_IMAGE_MAX_PIXELS, "image too large");
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->data = wsss_xcalloc((size_t)width * (size_t)height, (size_t)channels);
    return WSSS_OK;
}

void wsss_image_free(wsss_image *img) {
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

int wsss_is_jpeg(const uint8_t *buf, size_t n) { return n >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF; }

int wsss_is_png(const uint8_t *buf, size_t n) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    return n >= 8 && memcmp(buf, sig, 8) == 0;
}

static int read_decode(const char *path, wsss_decode_mode mode, wsss_image *out) {
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t n;
    if (wsss_file_read_all(path, &buf, &n) != WSSS_OK) return WSSS_ERR;
    int rc;
    if (n == 0) {
        rc = wsss_error_set("%s: empty file (expected a JPEG or PNG image)", path);
    } else if (wsss_is_png(buf, n)) {
        rc = wsss_png_decode(path, buf, n, mode, out);
    } else if (wsss_is_jpeg(buf, n)) {
        rc = mode == WSSS_DECODE_MASK
                 ? wsss_error_set("%s: a JPEG cannot hold a label mask (lossy); expected a grey or palette PNG", path)
                 : wsss_jpeg_decode(path, buf, n, out);
    } else {
        rc = wsss_error_set("%s: not a JPEG or PNG file (unrecognised first bytes)", path);
    }
    free(buf);
    if (rc != WSSS_OK) wsss_image_free(out);
    return rc;
}

int wsss_image_read_rgb(const char *path, wsss_image *out) { return read_decode(path, WSSS_DECODE_RGB, out); }

int wsss_image_read_mask(const char *path, wsss_image *out) { return read_decode(path, WSSS_DECODE_MASK, out); }

int wsss_image_read_size(const char *path, int *width, int *height) {
    *width = *height = 0;
    uint8_t *buf;
    size_t n;
    if (wsss_file_read_all(path, &buf, &n) != WSSS_OK) return WSSS_ERR;
    int rc;
    if (wsss_is_png(buf, n)) rc = wsss_png_read_size(path, buf, n, width, height);
    else if (wsss_is_jpeg(buf, n)) rc = wsss_jpeg_read_size(path, buf, n, width, height);
    else rc = wsss_error_set("%s: not a JPEG or PNG file (unrecognised first bytes)", path);
    free(buf);
    return rc;
}

static int check_writable(const char *path, const wsss_image *img, int want_channels) {
    if (!img || !img->data || img->width <= 0 || img->height <= 0)
        return wsss_error_set("%s: cannot write an empty image", path);
    if (want_channels ? img->channels != want_channels : (img->channels != 1 && img->channels != 3))
        return wsss_error_set("%s: cannot write a %d-channel image (expected %s)", path, img->channels,
                              want_channels == 1 ? "1 channel of class ids" : "1 or 3 channels");
    return WSSS_OK;
}

static int encode_and_write(const char *path, const wsss_image *img, int kind, int quality) {
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = kind == 0 ? wsss_jpeg_encode(path, img, quality, &buf, &n) : wsss_png_encode(path, img, kind == 2, &buf, &n);
    if (rc == WSSS_OK) rc = wsss_file_write_atomic(path, buf, n);
    free(buf);
    return rc;
}

int wsss_image_write_jpeg(const char *path, const wsss_image *img, int quality) {
    if (check_writable(path, img, 0) != WSSS_OK) return WSSS_ERR;
    if (quality < 1 || quality > 100)
        return wsss_error_set("%s: JPEG quality %d out of range (expected 1..100)", path, quality);
    return encode_and_write(path, img, 0, quality);
}

int wsss_image_write_png(const char *path, const wsss_image *img) {
    if (check_writable(path, img, 0) != WSSS_OK) return WSSS_ERR;
    return encode_and_write(path, img, 1, 0);
}

int wsss_image_write_mask_png(const char *path, const wsss_image *mask) {
    if (check_writable(path, mask, 1) != WSSS_OK) return WSSS_ERR;
    return encode_and_write(path, mask, 2, 0);
}

/* PASCAL VOC palette: the bits of the index are dealt out round-robin to R, G, B, starting from
 * each channel's most significant bit (index 1 = dark red, 255 = (224, 224, 192)). */
void wsss_voc_color(int index, uint8_t rgb[3]) {
    int c = index & 255, r = 0, g = 0, b = 0;
    for (int j = 0; j < 8; j++) {
        r |= ((c >> 0) & 1) << (7 - j);
        g |= ((c >> 1) & 1) << (7 - j);
        b |= ((c >> 2) & 1) << (7 - j);
        c >>= 3;
    }
    rgb[0] = (uint8_t)r;
    rgb[1] = (uint8_t)g;
    rgb[2] = (uint8_t)b;
}
