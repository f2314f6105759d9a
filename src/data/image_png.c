/* PNG decode/encode with libpng, from/to memory. libpng's errors longjmp back to us (never abort).
 * RGB mode: palette and grey expand to RGB, alpha and tRNS are dropped, 16-bit samples keep their
 * high byte. Mask mode: palette PNGs yield their indices, grey PNGs their values (16-bit values must
 * be < 256); RGB is refused, because colours are not class ids. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "data/image_internal.h"
#include "wsss/error.h"

typedef struct pngio {
    const char *path;
    const uint8_t *buf; /* decode source */
    size_t n, pos;
    uint8_t *out; /* encode destination */
    size_t out_len, out_cap;
    int truncated;
    char msg[256];
    png_bytep pixels;     /* decode scratch (whole image as libpng delivers it) */
    png_bytepp rows;
} pngio;

static void on_png_error(png_structp png, png_const_charp msg) {
    pngio *io = png_get_error_ptr(png);
    snprintf(io->msg, sizeof io->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
    /* Ancillary-chunk problems (bad sRGB profile, CRC of a text chunk): the pixels are fine. */
    (void)png;
    (void)msg;
}

static void on_png_read(png_structp png, png_bytep data, png_size_t len) {
    pngio *io = png_get_io_ptr(png);
    if (len > io->n - io->pos) {
        io->truncated = 1;
        png_error(png, "file ends early");
    }
    memcpy(data, io->buf + io->pos, len);
    io->pos += len;
}

static int decode_impl(pngio *io, wsss_decode_mode mode, wsss_image *out) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, io, on_png_error, on_png_warning);
    if (!png) return wsss_error_set("%s: cannot initialise libpng", io->path);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return wsss_error_set("%s: cannot initialise libpng", io->path);
    }
    /* png and info are not modified after setjmp, so they are valid in the error branch */
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(io->pixels);
        free(io->rows);
        io->pixels = NULL;
        io->rows = NULL;
        wsss_image_free(out);
        if (io->truncated) return wsss_error_set("%s: truncated PNG (file ends early)", io->path);
        return wsss_error_set("%s: corrupt PNG: %s", io->path, io->msg);
    }
    png_set_read_fn(png, io, on_png_read);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if ((int64_t)w * h > WSSS_IMAGE_MAX_PIXELS) {
        snprintf(io->msg, sizeof io->msg, "image is %ux%u pixels, more than the %lld-pixel limit", (unsigned)w,
                 (unsigned)h, (long long)WSSS_IMAGE_MAX_PIXELS);
        png_longjmp(png, 1);
    }
    if (mode == WSSS_DECODE_MASK) {
        if (color & PNG_COLOR_MASK_COLOR && color != PNG_COLOR_TYPE_PALETTE) {
            snprintf(io->msg, sizeof io->msg,
                     "mask is an RGB%s PNG; expected a grey or palette PNG whose values are class ids",
                     color & PNG_COLOR_MASK_ALPHA ? "A" : "");
            png_longjmp(png, 1);
        }
        if (depth < 8) png_set_packing(png); /* one byte per pixel, values unscaled */
    } else {
        png_set_expand(png); /* palette -> RGB, grey < 8 bits -> 8 bits scaled, tRNS -> alpha */
        if (depth == 16) png_set_strip_16(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    int bytes_per_sample = png_get_bit_depth(png, info) == 16 ? 2 : 1;
    if (ch < 1 || ch > 4 || rowbytes != (size_t)w * ch * bytes_per_sample) {
        snprintf(io->msg, sizeof io->msg, "unexpected pixel layout (%d channels, %zu bytes a row)", ch, rowbytes);
        png_longjmp(png, 1);
    }
    io->pixels = wsss_xmalloc(rowbytes * h);
    io->rows = wsss_xmalloc(sizeof(png_bytep) * h);
    for (png_uint_32 y = 0; y < h; y++) io->rows[y] = io->pixels + (size_t)y * rowbytes;
    png_read_image(png, io->rows);
    png_read_end(png, NULL); /* checks the rest of the file up to IEND */

    int out_ch = mode == WSSS_DECODE_MASK ? 1 : 3;
    wsss_image_alloc(out, (int)w, (int)h, out_ch);
    size_t npix = (size_t)w * h;
    const uint8_t *src = io->pixels;
    uint8_t *dst = out->data;
    if (bytes_per_sample == 2) { /* only masks keep 16 bits: grey (+alpha), big-endian */
        for (size_t i = 0; i < npix; i++) {
            unsigned v = (unsigned)src[i * 2 * ch] << 8 | src[i * 2 * ch + 1];
            if (v > 255) {
                snprintf(io->msg, sizeof io->msg,
                         "16-bit mask value %u at pixel (%zu, %zu) does not fit a class id (expected 0..255)", v,
                         i % w, i / w);
                png_longjmp(png, 1);
            }
            dst[i] = (uint8_t)v;
        }
    } else if (out_ch == 1) {
        for (size_t i = 0; i < npix; i++) dst[i] = src[i * ch]; /* grey or index; alpha dropped */
    } else if (ch <= 2) {
        for (size_t i = 0; i < npix; i++) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[i * ch];
    } else {
        for (size_t i = 0; i < npix; i++) memcpy(dst + 3 * i, src + i * ch, 3);
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(io->pixels);
    free(io->rows);
    io->pixels = NULL;
    io->rows = NULL;
    return WSSS_OK;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* The PNG format requires IHDR as the first chunk. libpng skips unknown ancillary chunks before it,
 * so without this check a file the size reader rejects could still decode (found by fuzz_png). */
static int first_chunk_is_ihdr(const uint8_t *buf, size_t n) {
    return n >= 16 && memcmp(buf + 12, "IHDR", 4) == 0 && be32(buf + 8) == 13;
}

int wsss_png_decode(const char *path, const uint8_t *buf, size_t n, wsss_decode_mode mode, wsss_image *out) {
    pngio io;
    memset(&io, 0, sizeof io);
    memset(out, 0, sizeof *out);
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 16 && memcmp(buf, signature, 8) == 0 && !first_chunk_is_ihdr(buf, n))
        return wsss_error_set("%s: corrupt PNG: first chunk is not IHDR", path);
    io.path = path;
    io.buf = buf;
    io.n = n;
    return decode_impl(&io, mode, out);
}

/* The size is in the IHDR chunk, which the PNG format requires to come first. */
int wsss_png_read_size(const char *path, const uint8_t *buf, size_t n, int *w, int *h) {
    if (n < 24) return wsss_error_set("%s: truncated PNG (file ends early)", path);
    if (!first_chunk_is_ihdr(buf, n)) return wsss_error_set("%s: corrupt PNG: first chunk is not IHDR", path);
    uint32_t ww = be32(buf + 16), hh = be32(buf + 20);
    if (ww == 0 || hh == 0 || ww > 0x7fffffffu || hh > 0x7fffffffu)
        return wsss_error_set("%s: corrupt PNG: invalid size %ux%u", path, (unsigned)ww, (unsigned)hh);
    *w = (int)ww;
    *h = (int)hh;
    return WSSS_OK;
}

static void on_png_write(png_structp png, png_bytep data, png_size_t len) {
    pngio *io = png_get_io_ptr(png);
    if (io->out_len + len > io->out_cap) {
        size_t cap = io->out_cap ? io->out_cap : 65536;
        while (cap < io->out_len + len) cap *= 2;
        io->out = wsss_xrealloc(io->out, cap);
        io->out_cap = cap;
    }
    memcpy(io->out + io->out_len, data, len);
    io->out_len += len;
}

static void on_png_flush(png_structp png) { (void)png; }

static int encode_impl(pngio *io, const wsss_image *img, int palette) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, io, on_png_error, on_png_warning);
    if (!png) return wsss_error_set("%s: cannot initialise libpng", io->path);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return wsss_error_set("%s: cannot initialise libpng", io->path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(io->out);
        free(io->rows);
        io->out = NULL;
        io->rows = NULL;
        return wsss_error_set("%s: PNG encoding failed: %s", io->path, io->msg);
    }
    png_set_write_fn(png, io, on_png_write, on_png_flush);
    int color = palette ? PNG_COLOR_TYPE_PALETTE : img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB;
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8, color, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) {
        png_color pal[256];
        for (int i = 0; i < 256; i++) {
            uint8_t rgb[3];
            wsss_voc_color(i, rgb);
            pal[i].red = rgb[0];
            pal[i].green = rgb[1];
            pal[i].blue = rgb[2];
        }
        png_set_PLTE(png, info, pal, 256);
    }
    png_write_info(png, info);
    size_t stride = (size_t)img->width * img->channels;
    io->rows = wsss_xmalloc(sizeof(png_bytep) * (size_t)img->height);
    for (int y = 0; y < img->height; y++) io->rows[y] = img->data + (size_t)y * stride;
    png_write_image(png, io->rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(io->rows);
    io->rows = NULL;
    return WSSS_OK;
}

int wsss_png_encode(const char *path, const wsss_image *img, int palette, uint8_t **out, size_t *n) {
    pngio io;
    memset(&io, 0, sizeof io);
    io.path = path;
    *out = NULL;
    *n = 0;
    if (encode_impl(&io, img, palette) != WSSS_OK) return WSSS_ERR;
    *out = io.out;
    *n = io.out_len;
    return WSSS_OK;
}
