/* Image I/O: VOC palette, PNG/JPEG round trips, palette masks keep their indices, every PNG colour
 * type the decoder accepts (test files written here directly with libpng), the pixel limit against
 * hostile headers, atomic writes. */
#include <dirent.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "test_util.h"
#include "wsss/image.h"

static char g_dir[1024];

static const char *tmp_path(const char *name) { return test_path(g_dir, name); }

/* A PNG written straight through libpng (not through the code under test). samples holds
 * h rows of w * channels samples, 8 or 16 bits (16-bit samples given as uint16 values). */
static void raw_png(const char *path, int w, int h, int color, int depth, const uint16_t *samples, int channels,
                    const png_color *pal, int npal, const png_byte *trns, int ntrns, int interlace) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "FATAL: cannot write %s\n", path);
        exit(1);
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "FATAL: libpng failed writing %s\n", path);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    png_bytep buf = calloc(rowbytes * (size_t)h, 1);
    png_bytepp rows = malloc(sizeof(png_bytep) * (size_t)h);
    for (int y = 0; y < h; y++) {
        rows[y] = buf + (size_t)y * rowbytes;
        for (int x = 0; x < w * channels; x++) {
            unsigned v = samples[(size_t)y * w * channels + x];
            if (depth == 16) {
                rows[y][2 * x] = (png_byte)(v >> 8);
                rows[y][2 * x + 1] = (png_byte)(v & 255);
            } else if (depth == 8) {
                rows[y][x] = (png_byte)v;
            } else { /* packed, most significant bits first */
                int per = 8 / depth;
                rows[y][x / per] |= (png_byte)(v << (8 - depth * (x % per + 1)));
            }
        }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(buf);
    free(rows);
}

static uint16_t *samples_pattern(int w, int h, int c, unsigned mod) {
    uint16_t *s = malloc(sizeof(uint16_t) * (size_t)w * h * c);
    for (int i = 0; i < w * h * c; i++) s[i] = (uint16_t)((i * 37u + (unsigned)(i / 7) * 11u) % mod);
    return s;
}

/* path read as a mask opens (one CHECK) and holds the samples s[0..n) (one CHECK, message `what`). */
static void check_mask_values(const char *path, const uint16_t *s, int n, const char *what) {
    wsss_image im;
    CHECK(wsss_image_read_mask(path, &im) == WSSS_OK, "%s", wsss_error_msg());
    int ok = im.data != NULL;
    for (int i = 0; ok && i < n; i++) ok = im.data[i] == s[i];
    CHECK(ok, "%s", what);
    wsss_image_free(&im);
}

static void test_voc_palette(void) {
    /* the VOC colour table's well-known entries */
    static const struct { int i; uint8_t r, g, b; } want[] = {
        {0, 0, 0, 0},      {1, 128, 0, 0},     {2, 0, 128, 0},   {3, 128, 128, 0}, {7, 128, 128, 128},
        {8, 64, 0, 0},     {15, 192, 128, 128}, {20, 0, 64, 128}, {255, 224, 224, 192}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        uint8_t c[3];
        wsss_voc_color(want[k].i, c);
        CHECK(c[0] == want[k].r && c[1] == want[k].g && c[2] == want[k].b, "voc colour %d = (%d,%d,%d)", want[k].i,
              c[0], c[1], c[2]);
    }
}

static void fill_rgb(wsss_image *im, int w, int h) {
    wsss_image_alloc(im, w, h, 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = im->data + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 255 / (w - 1));
            p[1] = (uint8_t)(y * 255 / (h - 1));
            p[2] = (uint8_t)((x * 3 + y * 5) & 255);
        }
}

static void test_png_roundtrip(void) {
    wsss_image a, b;
    fill_rgb(&a, 37, 23);
    CHECK(wsss_image_write_png(tmp_path("rgb.png"), &a) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_image_read_rgb(tmp_path("rgb.png"), &b) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(b.width == 37 && b.height == 23 && b.channels == 3, "size %dx%dx%d", b.width, b.height, b.channels);
    CHECK(b.data && memcmp(a.data, b.data, 37 * 23 * 3) == 0, "RGB PNG round trip not exact");
    int w, h;
    CHECK(wsss_image_read_size(tmp_path("rgb.png"), &w, &h) == WSSS_OK && w == 37 && h == 23, "png size %dx%d", w, h);
    wsss_image_free(&b);
    /* an RGB PNG is not a mask */
    CHECK(wsss_image_read_mask(tmp_path("rgb.png"), &b) == WSSS_ERR && b.data == NULL, "RGB PNG read as mask");
    CHECK(strstr(wsss_error_msg(), "rgb.png") && strstr(wsss_error_msg(), "RGB"), "msg: %s", wsss_error_msg());
    wsss_image_free(&a);

    /* grey: exact as a mask, replicated as RGB */
    wsss_image g;
    wsss_image_alloc(&g, 19, 41, 1);
    for (int i = 0; i < 19 * 41; i++) g.data[i] = (uint8_t)(i * 7);
    CHECK(wsss_image_write_png(tmp_path("grey.png"), &g) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_image_read_mask(tmp_path("grey.png"), &b) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(b.channels == 1 && b.width == 19 && b.height == 41 && memcmp(b.data, g.data, 19 * 41) == 0,
          "grey PNG round trip not exact");
    wsss_image_free(&b);
    CHECK(wsss_image_read_rgb(tmp_path("grey.png"), &b) == WSSS_OK, "%s", wsss_error_msg());
    int ok = b.channels == 3;
    for (int i = 0; ok && i < 19 * 41; i++)
        ok = b.data[3 * i] == g.data[i] && b.data[3 * i + 1] == g.data[i] && b.data[3 * i + 2] == g.data[i];
    CHECK(ok, "grey PNG as RGB is not the grey value replicated");
    wsss_image_free(&b);
    wsss_image_free(&g);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void test_mask_png(void) {
    wsss_image m, b;
    wsss_image_alloc(&m, 33, 17, 1);
    for (int i = 0; i < 33 * 17; i++) m.data[i] = (uint8_t)(i % 23 == 22 ? 255 : i % 22); /* 0..21 and 255 */
    const char *p = tmp_path("mask.png");
    CHECK(wsss_image_write_mask_png(p, &m) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_image_read_mask(p, &b) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(b.channels == 1 && b.width == 33 && b.height == 17 && memcmp(b.data, m.data, 33 * 17) == 0,
          "palette mask indices not exact");
    wsss_image_free(&b);
    /* the file: IHDR says 8-bit palette, PLTE holds the VOC colours */
    FILE *f = fopen(p, "rb");
    uint8_t buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK(n > 33 && buf[24] == 8 && buf[25] == 3, "IHDR bit depth %d colour type %d", buf[24], buf[25]);
    int found = 0;
    for (size_t off = 8; off + 12 <= n;) {
        uint32_t len = be32(buf + off);
        if (memcmp(buf + off + 4, "PLTE", 4) == 0 && off + 8 + len <= n) {
            found = 1;
            CHECK(len == 768, "PLTE has %u bytes", len);
            int ok = 1;
            for (int i = 0; i < 256 && ok; i++) {
                uint8_t c[3];
                wsss_voc_color(i, c);
                ok = memcmp(buf + off + 8 + 3 * i, c, 3) == 0;
            }
            CHECK(ok, "PLTE differs from the VOC palette");
        }
        off += 12 + (size_t)len;
    }
    CHECK(found, "no PLTE chunk in the mask PNG");
    /* read as RGB it shows the VOC colours */
    CHECK(wsss_image_read_rgb(p, &b) == WSSS_OK, "%s", wsss_error_msg());
    int ok = 1;
    for (int i = 0; i < 33 * 17 && ok; i++) {
        uint8_t c[3];
        wsss_voc_color(m.data[i], c);
        ok = memcmp(b.data + 3 * i, c, 3) == 0;
    }
    CHECK(ok, "mask PNG as RGB does not show VOC colours");
    wsss_image_free(&b);
    /* a 3-channel image is not a mask */
    wsss_image rgb;
    fill_rgb(&rgb, 5, 5);
    CHECK(wsss_image_write_mask_png(tmp_path("bad_mask.png"), &rgb) == WSSS_ERR, "RGB written as a mask");
    wsss_image_free(&rgb);
    wsss_image_free(&m);
}

/* Each PNG colour type and depth, written with libpng directly. */
static void test_png_colour_types(void) {
    const int w = 13, h = 9, n = w * h;
    wsss_image im;
    png_color pal[256];
    for (int i = 0; i < 256; i++) {
        pal[i].red = (png_byte)(i * 3);
        pal[i].green = (png_byte)(255 - i);
        pal[i].blue = (png_byte)(i ^ 0x55);
    }
    /* RGBA 8: alpha dropped */
    uint16_t *s = samples_pattern(w, h, 4, 256);
    raw_png(tmp_path("rgba.png"), w, h, PNG_COLOR_TYPE_RGB_ALPHA, 8, s, 4, NULL, 0, NULL, 0, 0);
    CHECK(wsss_image_read_rgb(tmp_path("rgba.png"), &im) == WSSS_OK, "%s", wsss_error_msg());
    int ok = im.channels == 3;
    for (int i = 0; ok && i < n; i++)
        for (int c = 0; c < 3; c++) ok &= im.data[3 * i + c] == s[4 * i + c];
    CHECK(ok, "RGBA PNG: RGB differs");
    wsss_image_free(&im);
    CHECK(wsss_image_read_mask(tmp_path("rgba.png"), &im) == WSSS_ERR, "RGBA read as a mask");
    free(s);

    /* RGB 16: high byte */
    s = samples_pattern(w, h, 3, 65536);
    raw_png(tmp_path("rgb16.png"), w, h, PNG_COLOR_TYPE_RGB, 16, s, 3, NULL, 0, NULL, 0, 0);
    CHECK(wsss_image_read_rgb(tmp_path("rgb16.png"), &im) == WSSS_OK, "%s", wsss_error_msg());
    ok = 1;
    for (int i = 0; ok && i < n * 3; i++) ok = im.data[i] == s[i] >> 8;
    CHECK(ok, "16-bit RGB PNG: not the high bytes");
    wsss_image_free(&im);
    free(s);

    /* grey + alpha 8 */
    s = samples_pattern(w, h, 2, 256);
    raw_png(tmp_path("ga.png"), w, h, PNG_COLOR_TYPE_GRAY_ALPHA, 8, s, 2, NULL, 0, NULL, 0, 0);
    CHECK(wsss_image_read_rgb(tmp_path("ga.png"), &im) == WSSS_OK, "%s", wsss_error_msg());
    ok = 1;
    for (int i = 0; ok && i < n; i++) ok = im.data[3 * i] == s[2 * i] && im.data[3 * i + 2] == s[2 * i];
    CHECK(ok, "grey+alpha PNG as RGB");
    wsss_image_free(&im);
    CHECK(wsss_image_read_mask(tmp_path("ga.png"), &im) == WSSS_OK, "%s", wsss_error_msg());
    ok = im.channels == 1;
    for (int i = 0; ok && i < n; i++) ok = im.data[i] == s[2 * i];
    CHECK(ok, "grey+alpha PNG as mask");
    wsss_image_free(&im);
    free(s);

    /* grey 16: a mask keeps values < 256, refuses larger; RGB takes the high byte */
    s = samples_pattern(w, h, 1, 256);
    raw_png(tmp_path("g16small.png"), w, h, PNG_COLOR_TYPE_GRAY, 16, s, 1, NULL, 0, NULL, 0, 0);
    check_mask_values(tmp_path("g16small.png"), s, n, "16-bit grey mask values");
    s[5] = 300;
    raw_png(tmp_path("g16big.png"), w, h, PNG_COLOR_TYPE_GRAY, 16, s, 1, NULL, 0, NULL, 0, 0);
    CHECK(wsss_image_read_mask(tmp_path("g16big.png"), &im) == WSSS_ERR && strstr(wsss_error_msg(), "300"),
          "16-bit mask value 300 accepted: %s", wsss_error_msg());
    CHECK(wsss_image_read_rgb(tmp_path("g16big.png"), &im) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(im.data[15] == (300 >> 8) && im.data[3] == s[1] >> 8, "16-bit grey as RGB");
    wsss_image_free(&im);
    free(s);

    /* palette 8 with tRNS: indices as mask, colours (no alpha) as RGB; interlaced as well */
    s = samples_pattern(w, h, 1, 256);
    png_byte trns[4] = {0, 50, 100, 150};
    for (int il = 0; il < 2; il++) {
        const char *p = tmp_path(il ? "pal_il.png" : "pal.png");
        raw_png(p, w, h, PNG_COLOR_TYPE_PALETTE, 8, s, 1, pal, 256, trns, 4, il);
        char what[64];
        snprintf(what, sizeof what, "palette PNG (interlace %d): indices", il);
        check_mask_values(p, s, n, what);
        CHECK(wsss_image_read_rgb(p, &im) == WSSS_OK, "%s", wsss_error_msg());
        ok = im.channels == 3;
        for (int i = 0; ok && i < n; i++)
            ok = im.data[3 * i] == pal[s[i]].red && im.data[3 * i + 1] == pal[s[i]].green &&
                 im.data[3 * i + 2] == pal[s[i]].blue;
        CHECK(ok, "palette PNG (interlace %d): colours", il);
        wsss_image_free(&im);
    }
    free(s);

    /* 4-bit palette and 2-bit grey: mask values unscaled; grey as RGB scaled to 0..255 */
    s = samples_pattern(w, h, 1, 16);
    raw_png(tmp_path("pal4.png"), w, h, PNG_COLOR_TYPE_PALETTE, 4, s, 1, pal, 16, NULL, 0, 0);
    check_mask_values(tmp_path("pal4.png"), s, n, "4-bit palette indices");
    free(s);
    s = samples_pattern(w, h, 1, 4);
    raw_png(tmp_path("g2.png"), w, h, PNG_COLOR_TYPE_GRAY, 2, s, 1, NULL, 0, NULL, 0, 0);
    check_mask_values(tmp_path("g2.png"), s, n, "2-bit grey mask values");
    CHECK(wsss_image_read_rgb(tmp_path("g2.png"), &im) == WSSS_OK, "%s", wsss_error_msg());
    ok = 1;
    for (int i = 0; ok && i < n; i++) ok = im.data[3 * i + 1] == s[i] * 85; /* 2 bits: 0, 85, 170, 255 */
    CHECK(ok, "2-bit grey as RGB");
    wsss_image_free(&im);
    free(s);
}

static void test_jpeg_roundtrip(void) {
    wsss_image a, b;
    fill_rgb(&a, 64, 48);
    /* a smooth image: blue channel made smooth too, so chroma subsampling loses little */
    for (int i = 0; i < 64 * 48; i++) a.data[3 * i + 2] = (uint8_t)((a.data[3 * i] + a.data[3 * i + 1]) / 2);
    const char *p = tmp_path("q100.jpg");
    CHECK(wsss_image_write_jpeg(p, &a, 100) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_image_read_rgb(p, &b) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(b.width == 64 && b.height == 48 && b.channels == 3, "jpeg size");
    int maxd = 0;
    double sum = 0;
    for (int i = 0; i < 64 * 48 * 3 && b.data; i++) {
        int d = abs((int)a.data[i] - (int)b.data[i]);
        maxd = d > maxd ? d : maxd;
        sum += d;
    }
    printf("jpeg q100 round trip: max |diff| %d, mean %.3f\n", maxd, sum / (64 * 48 * 3));
    CHECK(maxd <= 6 && sum / (64 * 48 * 3) < 1.0, "q100 too lossy: max %d mean %f", maxd, sum / (64 * 48 * 3));
    int w, h;
    CHECK(wsss_image_read_size(p, &w, &h) == WSSS_OK && w == 64 && h == 48, "jpeg size %dx%d", w, h);
    wsss_image_free(&b);
    /* lower quality: smaller file */
    CHECK(wsss_image_write_jpeg(tmp_path("q30.jpg"), &a, 30) == WSSS_OK, "%s", wsss_error_msg());
    FILE *f1 = fopen(p, "rb"), *f2 = fopen(tmp_path("q30.jpg"), "rb");
    long s1 = -1, s2 = -1;
    if (f1 && f2) {
        fseek(f1, 0, SEEK_END);
        fseek(f2, 0, SEEK_END);
        s1 = ftell(f1);
        s2 = ftell(f2);
    }
    if (f1) fclose(f1);
    if (f2) fclose(f2);
    CHECK(s2 > 0 && s2 < s1, "quality 30 file (%ld B) not smaller than quality 100 (%ld B)", s2, s1);
    CHECK(wsss_image_write_jpeg(tmp_path("q0.jpg"), &a, 0) == WSSS_ERR, "quality 0 accepted");
    /* grey JPEG: written from 1 channel, read back replicated */
    wsss_image g;
    wsss_image_alloc(&g, 31, 29, 1);
    for (int y = 0; y < 29; y++)
        for (int x = 0; x < 31; x++) g.data[y * 31 + x] = (uint8_t)(x * 4 + y * 3);
    CHECK(wsss_image_write_jpeg(tmp_path("grey.jpg"), &g, 100) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_image_read_rgb(tmp_path("grey.jpg"), &b) == WSSS_OK, "%s", wsss_error_msg());
    maxd = 0;
    int eq = 1;
    for (int i = 0; i < 31 * 29 && b.data; i++) {
        int d = abs((int)g.data[i] - (int)b.data[3 * i]);
        maxd = d > maxd ? d : maxd;
        eq &= b.data[3 * i] == b.data[3 * i + 1] && b.data[3 * i] == b.data[3 * i + 2];
    }
    printf("grey jpeg q100 round trip: max |diff| %d\n", maxd);
    CHECK(eq && maxd <= 2, "grey JPEG: replicated %d, max diff %d", eq, maxd);
    wsss_image_free(&b);
    /* JPEG is not a mask format */
    CHECK(wsss_image_read_mask(tmp_path("grey.jpg"), &b) == WSSS_ERR && strstr(wsss_error_msg(), "grey.jpg"),
          "JPEG read as mask: %s", wsss_error_msg());
    wsss_image_free(&g);
    wsss_image_free(&a);
}

static void test_atomic_writes(void) {
    wsss_image a;
    fill_rgb(&a, 8, 8);
    const char *p = tmp_path("over.png");
    CHECK(wsss_image_write_png(p, &a) == WSSS_OK, "%s", wsss_error_msg());
    a.data[0] ^= 0xFF;
    CHECK(wsss_image_write_png(p, &a) == WSSS_OK, "overwrite: %s", wsss_error_msg());
    wsss_image b;
    CHECK(wsss_image_read_rgb(p, &b) == WSSS_OK && b.data[0] == a.data[0], "overwritten file not the new image");
    wsss_image_free(&b);
    /* no temporary files left behind */
    DIR *d = opendir(g_dir);
    int leftovers = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) leftovers += strstr(e->d_name, ".tmp-") != NULL;
    if (d) closedir(d);
    CHECK(leftovers == 0, "%d temporary files left", leftovers);
    /* writing into a missing folder is an error naming the file */
    CHECK(wsss_image_write_png(tmp_path("no/such/dir/x.png"), &a) == WSSS_ERR &&
              strstr(wsss_error_msg(), "no/such/dir/x.png"),
          "msg: %s", wsss_error_msg());
    CHECK(wsss_image_write_jpeg(tmp_path("no/such/dir/x.jpg"), &a, 90) == WSSS_ERR, "jpeg into missing dir");
    wsss_image_free(&a);
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A header declaring more than WSSS_IMAGE_MAX_PIXELS (2^28) is refused before any pixel buffer is
 * allocated; its size can still be read. */
static void test_pixel_limit(void) {
    /* PNG: signature, IHDR 20000 x 20000 RGB 8-bit (4e8 pixels), an IDAT of 4 bytes */
    uint8_t png[8 + 25 + 16] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    put_be32(png + 16, 20000);
    put_be32(png + 20, 20000);
    png[24] = 8, png[25] = 2; /* depth 8, colour type RGB; compression, filter, interlace 0 */
    put_be32(png + 29, (uint32_t)crc32(0, png + 12, 17));
    put_be32(png + 33, 4);
    memcpy(png + 37, "IDAT\x78\x9c\x03\x00", 8);
    put_be32(png + 45, (uint32_t)crc32(0, png + 37, 8));
    const char *p = tmp_path("huge.png");
    test_write_file(p, png, sizeof png);
    wsss_image im;
    CHECK(wsss_image_read_rgb(p, &im) == WSSS_ERR && im.data == NULL && strstr(wsss_error_msg(), "pixel limit") &&
              strstr(wsss_error_msg(), "huge.png"),
          "huge PNG: %s", wsss_error_msg());
    CHECK(wsss_image_read_mask(p, &im) == WSSS_ERR && strstr(wsss_error_msg(), "pixel limit"), "huge PNG mask: %s",
          wsss_error_msg());
    int w = 0, h = 0;
    CHECK(wsss_image_read_size(p, &w, &h) == WSSS_OK && w == 20000 && h == 20000, "huge PNG size %dx%d", w, h);
    /* JPEG: a real 8x8 file whose frame header is patched to 20000 x 20000 */
    wsss_image small;
    fill_rgb(&small, 8, 8);
    const char *j = tmp_path("huge.jpg");
    CHECK(wsss_image_write_jpeg(j, &small, 90) == WSSS_OK, "%s", wsss_error_msg());
    wsss_image_free(&small);
    size_t n = 0;
    uint8_t *b = test_read_file(j, &n);
    size_t sof = 0;
    for (size_t i = 2; b && i + 9 < n && !sof; i++)
        if (b[i] == 0xFF && b[i + 1] == 0xC0) sof = i;
    CHECK(sof > 0, "SOF0 marker in the written JPEG");
    if (sof) {
        b[sof + 5] = b[sof + 7] = 0x4E, b[sof + 6] = b[sof + 8] = 0x20; /* height, width = 20000 */
        test_write_file(j, b, n);
        CHECK(wsss_image_read_rgb(j, &im) == WSSS_ERR && im.data == NULL && strstr(wsss_error_msg(), "pixel limit"),
              "huge JPEG: %s", wsss_error_msg());
        CHECK(wsss_image_read_size(j, &w, &h) == WSSS_OK && w == 20000 && h == 20000, "huge JPEG size %dx%d", w, h);
    }
    free(b);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmp_dir("test_image"));
    test_voc_palette();
    test_png_roundtrip();
    test_mask_png();
    test_png_colour_types();
    test_jpeg_roundtrip();
    test_pixel_limit();
    test_atomic_writes();
    return test_summary("test_image");
}
