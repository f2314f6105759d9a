/* wsss decodes JPEG (and PNG) to exactly the bytes PIL does (Debian python3-pil on the same
 * libjpeg-turbo). wsss writes some files with its own encoder, scripts/pil_image_ref.py writes more
 * with PIL (qualities 50..100, 4:4:4 / 4:2:2 / 4:2:0, progressive, grey, CMYK, odd sizes; PNG
 * modes RGB, RGBA, L, LA, P, 1) and decodes every file with PIL; this test decodes them with wsss and
 * compares byte for byte. Needs /usr/bin/python3 with PIL and numpy (make deps-test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "data/image_internal.h"
#include "test_util.h"
#include "wsss/fs.h"
#include "wsss/image.h"

static char g_dir[1024];

static const char *in_dir(const char *name) { return test_path(g_dir, name); }

/* CMYK JPEGs PIL cannot write: CMYK samples that libjpeg stores as YCCK with an Adobe marker, or as
 * CMYK without one. */
static void write_cmyk(const char *path, int ycck) {
    const int w = 35, h = 22;
    uint8_t *px = malloc((size_t)w * h * 4);
    for (int i = 0; i < w * h; i++) {
        px[4 * i] = (uint8_t)(i * 7);
        px[4 * i + 1] = (uint8_t)(255 - i * 3);
        px[4 * i + 2] = (uint8_t)((i / w) * 11);
        px[4 * i + 3] = (uint8_t)(200 - (i % w) * 5);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        CHECK(0, "cannot write %s", path);
        free(px);
        return;
    }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, ycck ? JCS_YCCK : JCS_CMYK);
    if (!ycck) c.write_Adobe_marker = FALSE;
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = px + (size_t)c.next_scanline * w * 4;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
    free(px);
}

static void write_wsss_files(void) {
    write_cmyk(in_dir("lib_ycck.jpg"), 1);
    write_cmyk(in_dir("lib_cmyk_noadobe.jpg"), 0);
    wsss_image a;
    wsss_image_alloc(&a, 75, 50, 3);
    uint32_t s = 7;
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 75; x++) {
            uint8_t *p = a.data + ((size_t)y * 75 + x) * 3;
            s = s * 1664525u + 1013904223u;
            int noise = (int)(s >> 27) - 16;
            int v[3] = {x * 3 + noise, y * 5 - noise, (x ^ y) * 2 + noise};
            for (int c = 0; c < 3; c++) p[c] = (uint8_t)(v[c] < 0 ? 0 : v[c] > 255 ? 255 : v[c]);
        }
    CHECK(wsss_image_write_jpeg(in_dir("wsss_q95.jpg"), &a, 95) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_image_write_jpeg(in_dir("wsss_q60.jpg"), &a, 60) == WSSS_OK, "%s", wsss_error_msg());
    wsss_image g;
    wsss_image_alloc(&g, 41, 27, 1);
    for (int i = 0; i < 41 * 27; i++) g.data[i] = a.data[3 * i];
    CHECK(wsss_image_write_jpeg(in_dir("wsss_grey.jpg"), &g, 85) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_image_write_png(in_dir("wsss_rgb.png"), &a) == WSSS_OK, "%s", wsss_error_msg());
    for (int i = 0; i < 41 * 27; i++) g.data[i] = (uint8_t)(i % 37 == 0 ? 255 : i % 21);
    CHECK(wsss_image_write_mask_png(in_dir("wsss_mask.png"), &g) == WSSS_OK, "%s", wsss_error_msg());
    wsss_image_free(&a);
    wsss_image_free(&g);
}

static void compare(const char *name, const char *kind, int w, int h) {
    char ref[1200];
    snprintf(ref, sizeof ref, "%s.pil.%s", name, kind);
    uint8_t *want;
    size_t n;
    if (wsss_file_read_all(in_dir(ref), &want, &n) != WSSS_OK) {
        CHECK(0, "%s", wsss_error_msg());
        return;
    }
    int idx = strcmp(kind, "idx") == 0;
    wsss_image im;
    int rc = idx ? wsss_image_read_mask(in_dir(name), &im) : wsss_image_read_rgb(in_dir(name), &im);
    CHECK(rc == WSSS_OK, "%s: %s", name, wsss_error_msg());
    if (rc == WSSS_OK) {
        size_t m = (size_t)w * h * (idx ? 1 : 3);
        CHECK(im.width == w && im.height == h && n == m, "%s: size %dx%d vs PIL %dx%d", name, im.width, im.height, w, h);
        if (n == m && im.width == w && im.height == h) {
            size_t ndiff = 0, first = 0;
            int maxd = 0;
            for (size_t i = 0; i < m; i++) {
                int d = abs((int)im.data[i] - (int)want[i]);
                if (d && !ndiff++) first = i;
                maxd = d > maxd ? d : maxd;
            }
            printf("  %-22s %-3s %3dx%-3d  differing bytes %zu, max |diff| %d\n", name, kind, w, h, ndiff, maxd);
            CHECK(ndiff == 0, "%s (%s): %zu bytes differ from PIL, max %d; first at byte %zu: wsss %d, PIL %d", name, kind,
                  ndiff, maxd, first, im.data[first], want[first]);
        }
        wsss_image_free(&im);
    }
    free(want);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmp_dir("test_pil_jpeg"));
    write_wsss_files();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/../../scripts/pil_image_ref.py' '%s'", WSSS_FIXTURE_DIR, g_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "FATAL: %s failed: this test needs /usr/bin/python3 with PIL and numpy (make deps-test)\n", cmd);
        return 1;
    }
    FILE *f = fopen(in_dir("manifest.txt"), "r");
    CHECK(f != NULL, "no manifest");
    char name[256], kind[8];
    int w, h, count = 0, jpegs = 0;
    while (f && fscanf(f, "%255s %7s %d %d", name, kind, &w, &h) == 4) {
        compare(name, kind, w, h);
        count++;
        jpegs += strstr(name, ".jpg") != NULL;
    }
    if (f) fclose(f);
    CHECK(count >= 32 && jpegs >= 22, "only %d reference files (%d JPEG)", count, jpegs);
    return test_summary("test_pil_jpeg");
}
