/* Reference convolution kernels: geometry helpers plus conv_impl.h for float and double. */
#include "backend/ref/conv.h"

int64_t wsss_conv_out_size(int64_t in, int64_t k, int s, int p, int d) {
    int64_t span = in + 2 * (int64_t)p - (int64_t)d * (k - 1) - 1;
    if (span < 0) return 0;
    return span / s + 1;
}

/* Output positions [*o0, *o1) whose input coordinate o*s - p + k*d for tap k lies in [0, in). */
static inline void tap_range(int64_t k, int64_t in, int64_t out, int s, int p, int d, int64_t *o0,
                             int64_t *o1) {
    int64_t off = k * d - p; /* input coordinate of output 0 */
    int64_t lo = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t hi = in - 1 - off < 0 ? 0 : (in - 1 - off) / s + 1;
    if (hi > out) hi = out;
    if (lo > hi) lo = hi;
    *o0 = lo;
    *o1 = hi;
}

#define REF_TEMPLATE "backend/ref/conv_impl.h"
#include "backend/ref/for_each_real.h"
