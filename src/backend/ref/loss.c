/* Reference loss kernels: float/double bodies from loss_impl.h. */
#include "backend/ref/loss.h"

#include <math.h>
#include <stdlib.h>

#include "wsss/error.h"

#define LS_BLOCK 8192      /* elements per partial sum */
#define LS_PAR_MIN 32768   /* smaller inputs stay on one thread */
#define CE_BLOCK 64        /* pixels handled together by the cross-entropy kernels */

static inline int64_t ce_target(const void *t, wsss_dtype dt, int64_t i) {
    switch (dt) {
    case WSSS_I64: return ((const int64_t *)t)[i];
    case WSSS_I32: return ((const int32_t *)t)[i];
    case WSSS_U8: return ((const uint8_t *)t)[i];
    default: WSSS_ASSERT(0, "cross_entropy: target dtype must be I64, I32 or U8"); return 0;
    }
}

static inline void ce_check(int64_t tg, int64_t c) {
    WSSS_ASSERT(tg >= 0 && tg < c, "cross_entropy: target class outside [0, C) and not ignore_index");
}

#define REF_TEMPLATE "backend/ref/loss_impl.h"
#include "backend/ref/for_each_real.h"
