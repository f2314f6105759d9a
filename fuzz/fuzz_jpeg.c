/* libFuzzer harness: JPEG decoding (RGB, grey, CMYK/YCCK) and the header-only size read. Crashes
 * inside libjpeg itself are libjpeg's; ours are how its errors come back (longjmp), what is freed
 * on the way, and the colour conversions. */
#include <stdint.h>
#include <stdlib.h>

#include "data/image_internal.h"
#include "wsss/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int w = 0, h = 0;
    int size_ok = wsss_jpeg_read_size("fuzz.jpg", data, size, &w, &h) == WSSS_OK;
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
