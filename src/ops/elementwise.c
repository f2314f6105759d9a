/* Elementwise ops: broadcasting shape rules, autograd bookkeeping, dispatch to the reference
 * kernels (F32 and F64 alike; these ops are memory-bound, oneDNN would not help). */
#include <math.h>
#include <stdio.h>

#include "backend/ref/elementwise.h"
#include "ops/op_inputs.h"
#include "wsss/error.h"
#include "wsss/ops.h"

/* Strides of t seen through the broadcast output shape (left-padded to WSSS_BCAST_DIMS):
 * 0 where t has size 1 (or no dim at all). */
static void bcast_strides(const wsss_tensor *t, const int64_t *oshape, int64_t *st) {
    int off = WSSS_BCAST_DIMS - t->ndim;
    for (int d = 0; d < WSSS_BCAST_DIMS; d++) {
        int s = d - off;
        st[d] = (s >= 0 && t->shape[s] == oshape[d] && oshape[d] != 1) ? t->stride[s] : 0;
    }
}

static void contiguous_bcast_strides(int ndim, const int64_t *shape, const int64_t *oshape,
                                     int64_t *st) {
    int64_t cs[WSSS_MAX_DIMS];
    wsss_contiguous_strides(ndim, shape, cs);
    int off = WSSS_BCAST_DIMS - ndim;
    for (int d = 0; d < WSSS_BCAST_DIMS; d++) {
        int s = d - off;
        st[d] = (s >= 0 && shape[s] == oshape[d] && oshape[d] != 1) ? cs[s] : 0;
    }
}

/* Broadcast shape of a and b (PyTorch rules); asserts when the shapes are incompatible. */
static int broadcast_shape(const wsss_tensor *a, const wsss_tensor *b, const char *op,
                           int64_t *shape) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int d = 0; d < nd; d++) {
        int da = d - (nd - a->ndim), db = d - (nd - b->ndim);
        int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            char msg[256], s1[64], s2[64];
            snprintf(msg, sizeof msg, "%s: shapes %s and %s cannot be broadcast", op,
                     wsss_shape_str(a, s1, sizeof s1), wsss_shape_str(b, s2, sizeof s2));
            WSSS_ASSERT(0, msg);
        }
        shape[d] = sa == 1 ? sb : sa;
    }
    return nd;
}

static void pad_shape(int ndim, const int64_t *shape, int64_t *out) {
    int off = WSSS_BCAST_DIMS - ndim;
    for (int d = 0; d < WSSS_BCAST_DIMS; d++) out[d] = d >= off ? shape[d - off] : 1;
}

/* ---------------- binary ---------------- */

typedef struct { wsss_binop op; } bin_attrs;

static const char *const k_bin_names[] = {"add", "sub", "mul", "div"};

static void bin_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *gout) {
    wsss_binop op = ((bin_attrs *)n->attrs)->op;
    wsss_tensor *a = n->inputs[0], *b = n->inputs[1];
    const wsss_tensor *out = n->output;
    int64_t oshape[WSSS_BCAST_DIMS];
    pad_shape(out->ndim, out->shape, oshape);
    for (int which = 0; which < 2; which++) {
        if (!wsss_node_input_needs_grad(n, which)) continue;
        wsss_tensor *in = n->inputs[which];
        /* same shape, gradient is the output gradient itself: no temporary */
        if (wsss_tensor_same_shape(in, out) && (op == WSSS_BIN_ADD || (op == WSSS_BIN_SUB && which == 0))) {
            wsss_grad_accumulate(ctx, in, gout);
            continue;
        }
        wsss_tensor *dst = wsss_ctx_tensor(ctx, in->dtype, in->ndim, in->shape);
        wsss_bcast g;
        for (int d = 0; d < WSSS_BCAST_DIMS; d++) g.shape[d] = oshape[d];
        bcast_strides(a, oshape, g.st[0]);
        bcast_strides(b, oshape, g.st[1]);
        contiguous_bcast_strides(in->ndim, in->shape, oshape, g.st[2]);
        contiguous_bcast_strides(out->ndim, out->shape, oshape, g.st[3]);
        wsss_bcast_simplify(&g);
        int uses = op == WSSS_BIN_MUL || op == WSSS_BIN_DIV;
        if (in->dtype == WSSS_F32)
            wsss_ref_binary_grad_f32(op, which, &g, gout->data, uses ? a->data : NULL,
                                     uses ? b->data : NULL, dst->data);
        else
            wsss_ref_binary_grad_f64(op, which, &g, gout->data, uses ? a->data : NULL,
                                     uses ? b->data : NULL, dst->data);
        wsss_grad_accumulate_release(ctx, in, dst);
    }
}

static wsss_tensor *binary(wsss_ctx *ctx, wsss_binop op, wsss_tensor *a, wsss_tensor *b) {
    const char *name = k_bin_names[op];
    check_float(a, name);
    check_float(b, name);
    ensure_plain(ctx, a);
    ensure_plain(ctx, b);
    WSSS_ASSERT(a->dtype == b->dtype, "binary op: operands must have the same dtype");
    int64_t shape[WSSS_MAX_DIMS], oshape[WSSS_BCAST_DIMS];
    int nd = broadcast_shape(a, b, name, shape);
    wsss_tensor *out = wsss_ctx_tensor(ctx, a->dtype, nd, shape);
    pad_shape(nd, shape, oshape);
    wsss_bcast g;
    for (int d = 0; d < WSSS_BCAST_DIMS; d++) {
        g.shape[d] = oshape[d];
        g.st[3][d] = 0;
    }
    bcast_strides(a, oshape, g.st[0]);
    bcast_strides(b, oshape, g.st[1]);
    contiguous_bcast_strides(nd, shape, oshape, g.st[2]);
    wsss_bcast_simplify(&g);
    if (a->dtype == WSSS_F32) wsss_ref_binary_f32(op, &g, a->data, b->data, out->data);
    else wsss_ref_binary_f64(op, &g, a->data, b->data, out->data);
    wsss_tensor *in[2] = {a, b};
    wsss_node *n = wsss_record(ctx, name, bin_backward, out, 2, in, sizeof(bin_attrs));
    if (n) ((bin_attrs *)n->attrs)->op = op; /* backward reads the inputs themselves */
    return out;
}

wsss_tensor *wsss_add(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b) { return binary(ctx, WSSS_BIN_ADD, a, b); }
wsss_tensor *wsss_sub(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b) { return binary(ctx, WSSS_BIN_SUB, a, b); }
wsss_tensor *wsss_mul(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b) { return binary(ctx, WSSS_BIN_MUL, a, b); }
wsss_tensor *wsss_div(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b) { return binary(ctx, WSSS_BIN_DIV, a, b); }

/* ---------------- unary ---------------- */

typedef struct {
    wsss_unop op;
    double p0, p1;
} un_attrs;

static void un_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *gout) {
    const un_attrs *at = n->attrs;
    wsss_tensor *x = n->inputs[0];
    /* saved[0]: the contiguous input or the output, whichever the formula reads */
    const wsss_tensor *s = n->n_saved ? n->saved[0] : NULL;
    const void *xs = (s && at->op != WSSS_UN_EXP) ? s->data : NULL;
    const void *ys = (s && at->op == WSSS_UN_EXP) ? s->data : NULL;
    wsss_tensor *gx = wsss_ctx_tensor(ctx, x->dtype, x->ndim, x->shape);
    int64_t cnt = wsss_tensor_numel(x);
    if (x->dtype == WSSS_F32)
        wsss_ref_unary_grad_f32(at->op, cnt, gout->data, xs, ys, gx->data, at->p0, at->p1);
    else
        wsss_ref_unary_grad_f64(at->op, cnt, gout->data, xs, ys, gx->data, at->p0, at->p1);
    wsss_grad_accumulate_release(ctx, x, gx);
}

static wsss_tensor *unary(wsss_ctx *ctx, const char *name, wsss_unop op, wsss_tensor *x, double p0,
                          double p1) {
    check_float(x, name);
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    wsss_tensor *out = wsss_ctx_tensor(ctx, x->dtype, x->ndim, x->shape);
    int64_t cnt = wsss_tensor_numel(x);
    if (x->dtype == WSSS_F32) wsss_ref_unary_f32(op, cnt, xc->data, out->data, p0, p1);
    else wsss_ref_unary_f64(op, cnt, xc->data, out->data, p0, p1);
    wsss_node *n = wsss_record(ctx, name, un_backward, out, 1, &x, sizeof(un_attrs));
    int keeps_x = 0;
    if (n) {
        un_attrs *at = n->attrs;
        at->op = op;
        at->p0 = p0;
        at->p1 = p1;
        if (op == WSSS_UN_EXP) {
            wsss_node_save(n, out);
        } else if (op == WSSS_UN_LOG || op == WSSS_UN_POW || op == WSSS_UN_ABS || op == WSSS_UN_CLAMP) {
            wsss_node_save(n, (wsss_tensor *)xc);
            keeps_x = 1;
        }
    }
    if (!keeps_x) drop_tmp(ctx, x, xc);
    return out;
}

wsss_tensor *wsss_add_scalar(wsss_ctx *ctx, wsss_tensor *x, double s) { return unary(ctx, "add_scalar", WSSS_UN_ADDS, x, s, 0); }
wsss_tensor *wsss_mul_scalar(wsss_ctx *ctx, wsss_tensor *x, double s) { return unary(ctx, "mul_scalar", WSSS_UN_MULS, x, s, 0); }
wsss_tensor *wsss_rsub_scalar(wsss_ctx *ctx, wsss_tensor *x, double s) { return unary(ctx, "rsub_scalar", WSSS_UN_RSUBS, x, s, 0); }
wsss_tensor *wsss_neg(wsss_ctx *ctx, wsss_tensor *x) { return unary(ctx, "neg", WSSS_UN_NEG, x, 0, 0); }
wsss_tensor *wsss_exp(wsss_ctx *ctx, wsss_tensor *x) { return unary(ctx, "exp", WSSS_UN_EXP, x, 0, 0); }
wsss_tensor *wsss_log(wsss_ctx *ctx, wsss_tensor *x) { return unary(ctx, "log", WSSS_UN_LOG, x, 0, 0); }
wsss_tensor *wsss_pow_scalar(wsss_ctx *ctx, wsss_tensor *x, double p) { return unary(ctx, "pow_scalar", WSSS_UN_POW, x, p, 0); }
wsss_tensor *wsss_abs(wsss_ctx *ctx, wsss_tensor *x) { return unary(ctx, "abs", WSSS_UN_ABS, x, 0, 0); }
wsss_tensor *wsss_clamp(wsss_ctx *ctx, wsss_tensor *x, double lo, double hi) {
    WSSS_ASSERT(!(lo > hi), "clamp: lo must not exceed hi");
    return unary(ctx, "clamp", WSSS_UN_CLAMP, x, lo, hi);
}
