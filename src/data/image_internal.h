/* Shared by the image codec files (image.c, image_jpeg.c, image_png.c); not a public header.
 * Codecs work on whole files in memory: a truncated file is then a clean "ran out of bytes" error
 * inside the decoder, and writers can hand a finished buffer to one atomic write (wsss/fs.h). */
#ifndef WSSS_DATA_IMAGE_INTERNAL_H
#define WSSS_DATA_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wsss/image.h"

/* Largest decoded image accepted (pixels); a corrupt header must not trigger a huge allocation. */
#define WSSS_IMAGE_MAX_PIXELS ((int64_t)1 << 28)

typedef enum { WSSS_DECODE_RGB, WSSS_DECODE_MASK } wsss_decode_mode;

/* Decoders: out receives a freshly allocated image; path only names the file in messages. */
int wsss_jpeg_decode(const char *path, const uint8_t *buf, size_t n, wsss_image *out);
int wsss_jpeg_read_size(const char *path, const uint8_t *buf, size_t n, int *w, int *h);
int wsss_png_decode(const char *path, const uint8_t *buf, size_t n, wsss_decode_mode mode,
                    wsss_image *out);
int wsss_png_read_size(const char *path, const uint8_t *buf, size_t n, int *w, int *h);

/* Encoders to a malloc'd buffer. palette = 1: 8-bit palette PNG with the VOC colours. */
int wsss_jpeg_encode(const char *path, const wsss_image *img, int quality, uint8_t **out, size_t *n);
int wsss_png_encode(const char *path, const wsss_image *img, int palette, uint8_t **out, size_t *n);

#endif
