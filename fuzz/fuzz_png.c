/* libFuzzer harness: PNG decoding as images (RGB) and as label masks, and the header-only size
 * read. Crashes inside libpng itself are libpng's; ours are how its errors come back (longjmp),
 * what is freed on the way, and the pixel conversions. */
#include <stdint.h>
#include <stdlib.h>

#include "data/image_internal.h"
#include "wsss/error.h"

static void decode(const uint8_t *data, size_t size, wsss_decode_mode mode, int size_ok, int w, int h) {
    wsss_image img;
    if (wsss_png_decode("fuzz.png", data, size, mode, &img) == WSSS_OK) {
        int want_ch = mode == WSSS_DECODE_MASK ? 1 : 3;
        if (!img.data || img.channels != want_ch || img.width <= 0 || img.height <= 0) abort();
        if (!size_ok || img.width != w || img.height != h) abort(); /* the header said otherwise */
        wsss_image_free(&img);
    } else if (img.data) {
        abort(); /* a failed decode leaves nothing to free */
    }
}

/* Headers declaring more pixels than this are only size-read: decoding them costs ASan seconds
 * (it maps and poisons the pixel buffers, which a normal build allocates lazily), and what they
 * test, the pixel limit, has unit tests. */
#define FUZZ_MAX_PIXELS ((int64_t)1 << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int w = 0, h = 0;
    int size_ok = wsss_png_read_size("fuzz.png", data, size, &w, &h) == WSSS_OK;
    if (size_ok && (int64_t)w * h > FUZZ_MAX_PIXELS) return 0;
    decode(data, size, WSSS_DECODE_RGB, size_ok, w, h);
    decode(data, size, WSSS_DECODE_MASK, size_ok, w, h);
    wsss_error_clear();
    return 0;
}
