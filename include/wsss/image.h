/* 8-bit images in memory and JPEG/PNG files (libjpeg-turbo, libpng). Pixels are interleaved HWC,
 * row-major. Errors name the file and the problem. */
#ifndef WSSS_IMAGE_H
#define WSSS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct wsss_image {
    int width, height, channels; /* channels: 1 (grey / label indices) or 3 (RGB) */
    uint8_t *data;               /* height * width * channels bytes */
} wsss_image;

int wsss_image_alloc(wsss_image *img, int width, int height, int channels); /* zeroed */
void wsss_image_free(wsss_image *img);

/* Decode a JPEG or PNG (detected from the file's bytes) to RGB (channels = 3), with the same bytes
 * PIL's Image.open(path).convert("RGB") gives (libjpeg defaults: ISLOW DCT, fancy upsampling).
 * Grey is replicated; palette PNGs show their colours; alpha and tRNS are dropped; 16-bit PNG
 * samples keep their high byte; CMYK and YCCK JPEGs are converted as PIL does (Adobe inverted
 * values, RGB = (255-C)(255-K)/255). Corrupt or truncated files are errors naming the file. */
int wsss_image_read_rgb(const char *path, wsss_image *out);
/* Decode a label mask PNG to one channel of class ids: a palette PNG yields its palette *indices*
 * (VOC masks), a grey PNG its values (1/2/4-bit unscaled; 16-bit values must be < 256; alpha is
 * dropped). An RGB(A) PNG or a JPEG mask is an error. */
int wsss_image_read_mask(const char *path, wsss_image *out);
/* Read only the size of a JPEG/PNG (header only; the pixel data is not checked). */
int wsss_image_read_size(const char *path, int *width, int *height);
/* 1 if the bytes start with a JPEG / PNG signature (the format is told by the bytes, not the name). */
int wsss_is_jpeg(const uint8_t *buf, size_t n);
int wsss_is_png(const uint8_t *buf, size_t n);

/* Encoders; all write atomically (temporary file + rename). */
int wsss_image_write_jpeg(const char *path, const wsss_image *img, int quality);
int wsss_image_write_png(const char *path, const wsss_image *img); /* grey or RGB PNG */
/* 8-bit palette PNG with the PASCAL VOC colour palette (index 255 = the VOC "void" colour). */
int wsss_image_write_mask_png(const char *path, const wsss_image *mask);
/* The VOC colour of class index i (0..255). */
void wsss_voc_color(int index, uint8_t rgb[3]);

#endif
