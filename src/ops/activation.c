/* Activations: relu, leaky_relu, elu, sigmoid, tanh. Each saves one tensor for backward: the
 * output where the derivative is expressed in it, else the input (wsss_act_bwd_uses_dst). F32
 * runs on oneDNN eltwise under WSSS_BACKEND_DNNL, everything else on the reference kernels. */
#include "backend/dnnl/eltwise.h"
#include "backend/ref/activation.h"
#include "core/kernel.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

typedef struct act_attrs {
    wsss_act_kind kind;
    double alpha;
} act_attrs;

static int use_dnnl(const wsss_tensor *x) {
    return x->dtype == WSSS_F32 && wsss_get_backend() == WSSS_BACKEND_DNNL;
}

static void act_fwd(wsss_act_kind k, double alpha, const wsss_tensor *x, wsss_tensor *y) {
    int64_t n = wsss_tensor_numel(x);
    if (x->dtype == WSSS_F64) {
        wsss_ref_act_forward_f64(k, alpha, wsss_f64(x), wsss_f64(y), n);
        return;
    }
    if (use_dnnl(x) && wsss_dnnl_act_forward(k, alpha, wsss_f32(x), wsss_f32(y), n) == 0) return;
    wsss_ref_act_forward_f32(k, alpha, wsss_f32(x), wsss_f32(y), n);
}

static void act_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    if (!wsss_node_input_needs_grad(node, 0)) return;
    const act_attrs *a = node->attrs;
    const wsss_tensor *s = node->saved[0];
    wsss_tensor *dx = wsss_ctx_tensor_like(ctx, s);
    int64_t n = wsss_tensor_numel(s);
    if (s->dtype == WSSS_F64) {
        wsss_ref_act_backward_f64(a->kind, a->alpha, wsss_f64(s), wsss_f64(gy), wsss_f64(dx), n);
    } else if (!use_dnnl(s) || wsss_dnnl_act_backward(a->kind, a->alpha, wsss_f32(s), wsss_f32(gy),
                                                      wsss_f32(dx), n) != 0) {
        wsss_ref_act_backward_f32(a->kind, a->alpha, wsss_f32(s), wsss_f32(gy), wsss_f32(dx), n);
    }
    wsss_grad_accumulate_release(ctx, node->inputs[0], dx);
}

/* Layout-aware backward: gy in any layout, dx in the saved tensor's layout. */
static void act_backward_layout(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    if (!wsss_node_input_needs_grad(node, 0)) return;
    const act_attrs *a = node->attrs;
    int inplace = wsss_grad_is_private(node, gy);
    wsss_tensor *dx = wsss_dnnl_act_backward_t(ctx, a->kind, a->alpha, node->saved[0], (wsss_tensor *)gy,
                                               inplace);
    WSSS_ASSERT(dx != NULL, "oneDNN activation backward unavailable after its forward ran");
    wsss_grad_accumulate(ctx, node->inputs[0], dx);
    if (dx != gy) wsss_ctx_release(ctx, dx);
}

static wsss_tensor *act_op(wsss_ctx *ctx, wsss_tensor *x, wsss_act_kind k, double alpha,
                           const char *name) {
    WSSS_ASSERT(ctx != NULL, "activations need a context");
    WSSS_ASSERT(x->dtype == WSSS_F32 || x->dtype == WSSS_F64, "activation input must be F32 or F64");
    if (x->layout && use_dnnl(x) && wsss_ctx_blocked(ctx)) {
        /* blocked input: stay blocked */
        wsss_tensor *y = wsss_dnnl_act_forward_t(ctx, k, alpha, x);
        if (y) {
            wsss_node *n = wsss_record(ctx, name, act_backward_layout, y, 1, &x, sizeof(act_attrs));
            if (n) {
                n->flags |= WSSS_NODE_BLOCKED_GRAD;
                act_attrs *a = n->attrs;
                a->kind = k;
                a->alpha = alpha;
                wsss_node_save(n, wsss_act_bwd_uses_dst(k, alpha) ? y : x);
            }
            return y;
        }
    }
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x);
    wsss_tensor *y = wsss_ctx_tensor_like(ctx, x);
    act_fwd(k, alpha, xc, y);
    wsss_node *n = wsss_record(ctx, name, act_backward, y, 1, &x, sizeof(act_attrs));
    if (n) {
        act_attrs *a = n->attrs;
        a->kind = k;
        a->alpha = alpha;
        wsss_node_save(n, wsss_act_bwd_uses_dst(k, alpha) ? y : (wsss_tensor *)xc);
    }
    return y;
}

wsss_tensor *wsss_relu(wsss_ctx *ctx, wsss_tensor *x) { return act_op(ctx, x, WSSS_ACT_RELU, 0, "relu"); }

wsss_tensor *wsss_leaky_relu(wsss_ctx *ctx, wsss_tensor *x, double negative_slope) {
    return act_op(ctx, x, WSSS_ACT_LEAKY_RELU, negative_slope, "leaky_relu");
}

wsss_tensor *wsss_elu(wsss_ctx *ctx, wsss_tensor *x, double alpha) {
    return act_op(ctx, x, WSSS_ACT_ELU, alpha, "elu");
}

wsss_tensor *wsss_sigmoid(wsss_ctx *ctx, wsss_tensor *x) {
    return act_op(ctx, x, WSSS_ACT_SIGMOID, 0, "sigmoid");
}

wsss_tensor *wsss_tanh(wsss_ctx *ctx, wsss_tensor *x) { return act_op(ctx, x, WSSS_ACT_TANH, 0, "tanh"); }
