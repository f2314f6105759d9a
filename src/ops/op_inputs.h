/* Argument checks and input preparation shared by the files of src/ops (internal to ops). */
#ifndef WSSS_OPS_OP_INPUTS_H
#define WSSS_OPS_OP_INPUTS_H

#include <stdio.h>

#include "wsss/autograd.h"
#include "wsss/error.h"

/* Programmer error unless t is F32 or F64 (op names the op in the message). */
static inline void check_float(const wsss_tensor *t, const char *op) {
    if (t->dtype != WSSS_F32 && t->dtype != WSSS_F64) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s: expected an F32 or F64 tensor, got %s", op, wsss_dtype_name(t->dtype));
        WSSS_ASSERT(0, msg);
    }
}

/* Kernels here read inputs through their strides, so views need no copy. A tensor in a blocked
 * oneDNN layout (it always has contiguous strides) is converted to plain in place by
 * wsss_ctx_contiguous, which returns the tensor itself for contiguous ones. */
static inline void ensure_plain(wsss_ctx *ctx, wsss_tensor *t) {
    if (wsss_tensor_is_contiguous(t)) (void)wsss_ctx_contiguous(ctx, t);
}

/* Temporaries made inside an op (a contiguous copy tmp of orig): owned by ctx, or persistent when
 * the op runs without one; nothing to drop when tmp is orig itself. */
static inline void drop_tmp(wsss_ctx *ctx, const wsss_tensor *orig, const wsss_tensor *tmp) {
    if (tmp == orig) return;
    if (ctx) wsss_ctx_release(ctx, (wsss_tensor *)tmp);
    else wsss_tensor_free((wsss_tensor *)tmp);
}

#endif
