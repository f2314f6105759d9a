/* libFuzzer harness: JPEG decoding (RGB, grey, CMYK/YCCK) and the header-only size read. Crashes
 * inside libjpeg itself are libjpeg's; ours are how its errors come back (longjmp), what is freed
 * on the way, and the colour conversions. */
#include <stdint.h>
#include <stdlib.h>

#include "data/image_internal.h"
#include "wsss/error.h"

/* Headers declaring more pixels than this are only size-read: decoding them costs ASan seconds
 * (it maps and poisons the pixel and coefficient buffers, which a normal build allocates lazily),
 * and what they test, the pixel limit, has unit tests. */
#define FUZZ_MAX_PIXELS ((int64_t)1 << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int w = 0, h = 0;
    int size_ok = wsss_jpeg_read_size("fuzz.jpg", data, size, &w, &h) == WSSS_OK;
    if (size_ok && (int64_t)w * h > FUZZ_MAX_PIXELS) return 0;
    wsss_image img;
    if (wsss_jpeg_decode("fuzz.jpg", data, size, &img) == WSSS_OK) {
        if (!img.data || img.channels != 3 || img.width <= 0 || img.height <= 0) abort();
        if (!size_ok || img.width != w || img.height != h) abort(); /* the header said otherwise */
        wsss_image_free(&img);
    } else if (img.data) {
        abort(); /* a failed decode leaves nothing to free */
    }
    wsss_error_clear();
    return 0;
}
