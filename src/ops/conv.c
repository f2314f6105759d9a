/* 2-D convolution op (torch.nn.functional.conv2d): shape rules, what backward needs, and the
 * choice of backend (oneDNN for F32 under WSSS_BACKEND_DNNL, the reference kernels otherwise). */
#include <stdio.h>

#include "backend/dnnl/conv.h"
#include "backend/dnnl/eltwise.h"
#include "backend/ref/conv.h"
#include "core/kernel.h"
#include "ops/conv_geom.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

static int use_dnnl(const wsss_tensor *x) {
    return x->dtype == WSSS_F32 && wsss_get_backend() == WSSS_BACKEND_DNNL;
}

/* Shape errors are programmer errors (the model builds the shapes), but say which shapes. */
static void conv_fail(const char *what, const wsss_tensor *x, const wsss_tensor *w,
                      const wsss_tensor *b) {
    char sx[64], sw[64], sb[64] = "none";
    if (b) wsss_shape_str(b, sb, sizeof sb);
    fprintf(stderr, "conv2d: %s (input %s, weight %s, bias %s)\n", what,
            wsss_shape_str(x, sx, sizeof sx), wsss_shape_str(w, sw, sizeof sw), sb);
    WSSS_ASSERT(0, what);
}

void wsss_conv_geom_init(wsss_conv_geom *g, const wsss_tensor *x, const wsss_tensor *w, const wsss_tensor *b,
                         wsss_conv2d_params p) {
    if (x->dtype != WSSS_F32 && x->dtype != WSSS_F64) conv_fail("input must be F32 or F64", x, w, b);
    if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
        conv_fail("input, weight and bias dtypes differ", x, w, b);
    if (x->ndim != 4 || w->ndim != 4) conv_fail("input and weight must be 4-D", x, w, b);
    g->groups = p.groups ? p.groups : 1;
    g->sh = p.stride[0] ? p.stride[0] : 1;
    g->sw = p.stride[1] ? p.stride[1] : 1;
    g->dh = p.dilation[0] ? p.dilation[0] : 1;
    g->dw = p.dilation[1] ? p.dilation[1] : 1;
    g->ph = p.padding[0];
    g->pw = p.padding[1];
    if (g->groups < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 || g->ph < 0 || g->pw < 0)
        conv_fail("stride, dilation and groups must be positive, padding >= 0", x, w, b);
    g->n = x->shape[0];
    g->cin = x->shape[1];
    g->h = x->shape[2];
    g->w = x->shape[3];
    g->cout = w->shape[0];
    g->kh = w->shape[2];
    g->kw = w->shape[3];
    if (g->cin % g->groups || g->cout % g->groups || w->shape[1] * g->groups != g->cin)
        conv_fail("channels do not match: need weight[1] * groups == input channels and "
                  "groups dividing output channels",
                  x, w, b);
    if (g->cout < 1 || g->kh < 1 || g->kw < 1 || g->cin < 1) conv_fail("empty weight", x, w, b);
    if (g->n < 1) conv_fail("empty batch", x, w, b);
    if (b && (b->ndim != 1 || b->shape[0] != g->cout))
        conv_fail("bias must be 1-D with one value per output channel", x, w, b);
    g->has_bias = b != NULL;
    g->oh = wsss_conv_out_size(g->h, g->kh, g->sh, g->ph, g->dh);
    g->ow = wsss_conv_out_size(g->w, g->kw, g->sw, g->pw, g->dw);
    if (g->oh < 1 || g->ow < 1) conv_fail("input is smaller than the (dilated) kernel", x, w, b);
}

typedef struct conv_attrs {
    wsss_conv_geom g;
    int blocked;   /* layout-aware oneDNN path */
    int post_relu; /* conv2d_relu: saved[2] is the output, gy is masked by it first */
    int wino;      /* Winograd requested (wsss_ctx_set_winograd) */
} conv_attrs;

/* Backward of the layout-aware path: gy in any layout, dx in the primitive's layout. */
static void conv_backward_blocked(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    const conv_attrs *at = node->attrs;
    const wsss_conv_geom *g = &at->g;
    wsss_tensor *gm = NULL;
    if (at->post_relu) { /* through the fused ReLU: gy * (y > 0), in y's layout */
        int inplace = wsss_grad_is_private(node, gy);
        gm = wsss_dnnl_act_backward_t(ctx, WSSS_ACT_RELU, 0, node->saved[2], (wsss_tensor *)gy, inplace);
        WSSS_ASSERT(gm != NULL, "oneDNN ReLU backward unavailable");
        if (gm == gy) gm = NULL; /* masked in place: nothing to release */
        else gy = gm;
    }
    wsss_tensor *x = node->inputs[0], *w = node->inputs[1], *b = node->inputs[2];
    wsss_tensor *xs = node->saved[0], *wc = node->saved[1];
    const int need_x = wsss_node_input_needs_grad(node, 0);
    const int need_w = wsss_node_input_needs_grad(node, 1);
    const int need_b = wsss_node_input_needs_grad(node, 2);
    /* oneDNN computes the bias gradient in the weights pass: a frozen weight with a trained bias
     * still needs a (discarded) weight gradient */
    wsss_tensor *dw = (need_w || need_b) ? wsss_ctx_tensor(ctx, WSSS_F32, 4, w->shape) : NULL;
    wsss_tensor *db = need_b ? wsss_ctx_tensor(ctx, WSSS_F32, 1, b->shape) : NULL;
    wsss_tensor *dx = wsss_dnnl_conv2d_bwd_t(ctx, g, xs, wc, (wsss_tensor *)gy, need_x, dw, db, at->wino);
    wsss_grad_accumulate_release(ctx, x, dx);
    if (dw) {
        if (need_w) wsss_grad_accumulate(ctx, w, dw);
        wsss_ctx_release(ctx, dw);
    }
    wsss_grad_accumulate_release(ctx, b, db);
    if (gm) wsss_ctx_release(ctx, gm);
}

/* inputs: x, w, b (b may be NULL); saved: contiguous x, contiguous w. */
static void conv_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    const wsss_conv_geom *g = &((const conv_attrs *)node->attrs)->g;
    wsss_tensor *x = node->inputs[0], *w = node->inputs[1], *b = node->inputs[2];
    const wsss_tensor *xc = node->saved[0], *wc = node->saved[1];
    const int need_x = wsss_node_input_needs_grad(node, 0);
    const int need_w = wsss_node_input_needs_grad(node, 1);
    const int need_b = wsss_node_input_needs_grad(node, 2);
    const int dnnl = use_dnnl(x);
    if (need_x) {
        wsss_tensor *dx = wsss_ctx_tensor(ctx, x->dtype, 4, x->shape);
        if (dnnl) wsss_dnnl_conv2d_bwd_data(g, wsss_f32(gy), wsss_f32(wc), wsss_f32(dx));
        else if (x->dtype == WSSS_F64)
            wsss_ref_conv2d_bwd_data_f64(g, wsss_f64(gy), wsss_f64(wc), wsss_f64(dx));
        else wsss_ref_conv2d_bwd_data_f32(g, wsss_f32(gy), wsss_f32(wc), wsss_f32(dx));
        wsss_grad_accumulate_release(ctx, x, dx);
    }
    wsss_tensor *dw = NULL, *db = NULL;
    if (need_w) dw = wsss_ctx_tensor(ctx, w->dtype, 4, w->shape);
    if (need_b) db = wsss_ctx_tensor(ctx, b->dtype, 1, b->shape);
    if (dnnl && need_w) {
        /* oneDNN computes the bias gradient in the same pass when the conv has a bias */
        wsss_conv_geom gw = *g;
        gw.has_bias = need_b;
        wsss_dnnl_conv2d_bwd_weights(&gw, wsss_f32(xc), wsss_f32(gy), wsss_f32(dw),
                                     need_b ? wsss_f32(db) : NULL);
    } else {
        if (need_w) {
            if (x->dtype == WSSS_F64)
                wsss_ref_conv2d_bwd_weights_f64(g, wsss_f64(xc), wsss_f64(gy), wsss_f64(dw));
            else wsss_ref_conv2d_bwd_weights_f32(g, wsss_f32(xc), wsss_f32(gy), wsss_f32(dw));
        }
        if (need_b) {
            if (x->dtype == WSSS_F64) wsss_ref_conv2d_bwd_bias_f64(g, wsss_f64(gy), wsss_f64(db));
            else wsss_ref_conv2d_bwd_bias_f32(g, wsss_f32(gy), wsss_f32(db));
        }
    }
    wsss_grad_accumulate_release(ctx, w, dw);
    wsss_grad_accumulate_release(ctx, b, db);
}

/* Layout-aware oneDNN path: x may be blocked (no plain copy), the output stays in the primitive's
 * layout; post_relu fuses a ReLU into the forward. */
static wsss_tensor *conv_layout(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *wc, wsss_tensor *bc,
                                wsss_tensor *in[3], const wsss_conv_geom *g, int post_relu) {
    wsss_tensor *xk = x->layout ? x : (wsss_tensor *)wsss_ctx_contiguous(ctx, x), *xs = NULL;
    int need = wsss_needs_grad(ctx, 3, in);
    const int wino = wsss_ctx_winograd(ctx);
    wsss_tensor *y = wsss_dnnl_conv2d_fwd_t(ctx, g, xk, wc, bc, post_relu, wino, need ? &xs : NULL);
    wsss_node *n = wsss_record(ctx, post_relu ? "conv2d_relu" : "conv2d", conv_backward_blocked, y, 3,
                               in, sizeof(conv_attrs));
    if (n) {
        n->flags |= WSSS_NODE_BLOCKED_GRAD;
        conv_attrs *a = n->attrs;
        a->g = *g;
        a->blocked = 1;
        a->post_relu = post_relu;
        a->wino = wino;
        wsss_node_save(n, xs);
        wsss_node_save(n, wc);
        if (post_relu) wsss_node_save(n, y);
    }
    return y;
}

wsss_tensor *wsss_conv2d_relu(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *w, wsss_tensor *b,
                              wsss_conv2d_params p) {
    WSSS_ASSERT(ctx != NULL, "conv2d_relu needs a context");
    if (!use_dnnl(x)) return wsss_relu(ctx, wsss_conv2d(ctx, x, w, b, p));
    wsss_conv_geom g;
    wsss_conv_geom_init(&g, x, w, b, p);
    const wsss_tensor *wc = wsss_ctx_contiguous(ctx, w);
    const wsss_tensor *bc = b ? wsss_ctx_contiguous(ctx, b) : NULL;
    wsss_tensor *in[3] = {x, w, b};
    wsss_tensor *y = conv_layout(ctx, x, (wsss_tensor *)wc, (wsss_tensor *)bc, in, &g, 1);
    /* a plain context hands out plain tensors */
    return wsss_ctx_blocked(ctx) ? y : wsss_tensor_plain(y);
}

wsss_tensor *wsss_conv2d(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *w, wsss_tensor *b,
                         wsss_conv2d_params p) {
    WSSS_ASSERT(ctx != NULL, "conv2d needs a context");
    wsss_conv_geom g;
    wsss_conv_geom_init(&g, x, w, b, p);
    const wsss_tensor *wc = wsss_ctx_contiguous(ctx, w);
    const wsss_tensor *bc = b ? wsss_ctx_contiguous(ctx, b) : NULL;
    wsss_tensor *in[3] = {x, w, b};
    if (use_dnnl(x) && wsss_ctx_blocked(ctx))
        return conv_layout(ctx, x, (wsss_tensor *)wc, (wsss_tensor *)bc, in, &g, 0);
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    int64_t ys[4] = {g.n, g.cout, g.oh, g.ow};
    wsss_tensor *y = wsss_ctx_tensor(ctx, x->dtype, 4, ys);
    if (use_dnnl(x))
        wsss_dnnl_conv2d_fwd(&g, wsss_f32(xc), wsss_f32(wc), bc ? wsss_f32(bc) : NULL, wsss_f32(y));
    else if (x->dtype == WSSS_F64)
        wsss_ref_conv2d_fwd_f64(&g, wsss_f64(xc), wsss_f64(wc), bc ? wsss_f64(bc) : NULL, wsss_f64(y));
    else
        wsss_ref_conv2d_fwd_f32(&g, wsss_f32(xc), wsss_f32(wc), bc ? wsss_f32(bc) : NULL, wsss_f32(y));
    wsss_node *n = wsss_record(ctx, "conv2d", conv_backward, y, 3, in, sizeof(conv_attrs));
    if (n) {
        ((conv_attrs *)n->attrs)->g = g;
        wsss_node_save(n, (wsss_tensor *)xc);
        wsss_node_save(n, (wsss_tensor *)wc);
    }
    return y;
}
