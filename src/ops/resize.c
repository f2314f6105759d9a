/* F.interpolate on N,C,H,W: bilinear (both align_corners, with backward), nearest (with
 * backward) and bicubic (forward only). F64 and WSSS_BACKEND_REF use the plain per-pixel
 * kernels; F32 otherwise uses the table-driven ones (the same arithmetic, built once per call). */
#include "backend/ref/resize.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

typedef enum { RESIZE_BILINEAR, RESIZE_NEAREST, RESIZE_BICUBIC } resize_mode;

typedef struct resize_attrs {
    int align_corners;
} resize_attrs;

static void check_input(const wsss_tensor *x, int64_t oh, int64_t ow) {
    WSSS_ASSERT(x->ndim == 4, "resize: the input must be 4-D (N,C,H,W)");
    WSSS_ASSERT(x->dtype == WSSS_F32 || x->dtype == WSSS_F64, "resize: the input must be F32/F64");
    WSSS_ASSERT(oh >= 1 && ow >= 1, "resize: the output size must be at least 1x1");
    WSSS_ASSERT(x->shape[2] >= 1 && x->shape[3] >= 1, "resize: the input H and W must be >= 1");
}

static int use_tables(const wsss_tensor *x) {
    return x->dtype == WSSS_F32 && wsss_get_backend() != WSSS_BACKEND_REF;
}

static void resize_forward(resize_mode m, const wsss_tensor *x, wsss_tensor *y, int ac) {
    const int64_t planes = x->shape[0] * x->shape[1], ih = x->shape[2], iw = x->shape[3];
    const int64_t oh = y->shape[2], ow = y->shape[3];
    if (planes == 0) return;
    if (x->dtype == WSSS_F64) {
        if (m == RESIZE_BILINEAR)
            wsss_ref_resize_bilinear_fwd_f64(planes, ih, iw, x->data, oh, ow, y->data, ac);
        else if (m == RESIZE_NEAREST)
            wsss_ref_resize_nearest_fwd_f64(planes, ih, iw, x->data, oh, ow, y->data);
        else
            wsss_ref_resize_bicubic_fwd_f64(planes, ih, iw, x->data, oh, ow, y->data, ac);
    } else if (use_tables(x)) {
        if (m == RESIZE_BILINEAR)
            wsss_tab_resize_bilinear_fwd_f32(planes, ih, iw, x->data, oh, ow, y->data, ac);
        else if (m == RESIZE_NEAREST)
            wsss_tab_resize_nearest_fwd_f32(planes, ih, iw, x->data, oh, ow, y->data);
        else
            wsss_tab_resize_bicubic_fwd_f32(planes, ih, iw, x->data, oh, ow, y->data, ac);
    } else {
        if (m == RESIZE_BILINEAR)
            wsss_ref_resize_bilinear_fwd_f32(planes, ih, iw, x->data, oh, ow, y->data, ac);
        else if (m == RESIZE_NEAREST)
            wsss_ref_resize_nearest_fwd_f32(planes, ih, iw, x->data, oh, ow, y->data);
        else
            wsss_ref_resize_bicubic_fwd_f32(planes, ih, iw, x->data, oh, ow, y->data, ac);
    }
}

static void bilinear_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    const int ac = ((const resize_attrs *)n->attrs)->align_corners;
    const int64_t planes = x->shape[0] * x->shape[1], ih = x->shape[2], iw = x->shape[3];
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
    if (planes > 0) {
        if (x->dtype == WSSS_F64)
            wsss_ref_resize_bilinear_bwd_f64(planes, ih, iw, gx->data, g->shape[2], g->shape[3],
                                             g->data, ac);
        else if (use_tables(x))
            wsss_tab_resize_bilinear_bwd_f32(planes, ih, iw, gx->data, g->shape[2], g->shape[3],
                                             g->data, ac);
        else
            wsss_ref_resize_bilinear_bwd_f32(planes, ih, iw, gx->data, g->shape[2], g->shape[3],
                                             g->data, ac);
    }
    wsss_grad_accumulate(ctx, x, gx);
}

static void nearest_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    wsss_tensor *x = n->inputs[0];
    const int64_t planes = x->shape[0] * x->shape[1], ih = x->shape[2], iw = x->shape[3];
    wsss_tensor *gx = wsss_ctx_tensor_like(ctx, x);
    if (planes > 0) {
        if (x->dtype == WSSS_F64)
            wsss_ref_resize_nearest_bwd_f64(planes, ih, iw, gx->data, g->shape[2], g->shape[3],
                                            g->data);
        else if (use_tables(x))
            wsss_tab_resize_nearest_bwd_f32(planes, ih, iw, gx->data, g->shape[2], g->shape[3],
                                            g->data);
        else
            wsss_ref_resize_nearest_bwd_f32(planes, ih, iw, gx->data, g->shape[2], g->shape[3],
                                            g->data);
    }
    wsss_grad_accumulate(ctx, x, gx);
}

static void bicubic_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *g) {
    WSSS_ASSERT(0, "resize_bicubic has no backward (forward only): resize a detached input or "
                   "run it with grad mode off, or use bilinear if a gradient is needed");
}

static wsss_tensor *resize(wsss_ctx *ctx, wsss_tensor *x, int64_t oh, int64_t ow, int ac,
                           resize_mode m, const char *op, wsss_backward_fn bwd) {
    check_input(x, oh, ow);
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    int64_t shape[4] = {x->shape[0], x->shape[1], oh, ow};
    wsss_tensor *y = wsss_ctx_tensor(ctx, x->dtype, 4, shape);
    resize_forward(m, xc, y, ac != 0);
    wsss_node *n = wsss_record(ctx, op, bwd, y, 1, &x, sizeof(resize_attrs));
    if (n) ((resize_attrs *)n->attrs)->align_corners = ac != 0;
    return y;
}

wsss_tensor *wsss_resize_bilinear(wsss_ctx *ctx, wsss_tensor *x, int64_t oh, int64_t ow,
                                  int align_corners) {
    return resize(ctx, x, oh, ow, align_corners, RESIZE_BILINEAR,
                  "resize_bilinear",
                  bilinear_backward);
}

wsss_tensor *wsss_resize_nearest(wsss_ctx *ctx, wsss_tensor *x, int64_t oh, int64_t ow) {
    return resize(ctx, x, oh, ow, 0, RESIZE_NEAREST,
                  "resize_nearest",
                  nearest_backward);
}

wsss_tensor *wsss_resize_bicubic(wsss_ctx *ctx, wsss_tensor *x, int64_t oh, int64_t ow,
                                 int align_corners) {
    return resize(ctx, x, oh, ow, align_corners, RESIZE_BICUBIC,
                  "resize_bicubic",
                  bicubic_backward);
}
