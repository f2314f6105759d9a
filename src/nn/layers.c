/* Conv, batch-norm and linear layers over the ops, registered under state_dict names; weight
 * initialisers (see include/wsss/nn.h). */
#include <math.h>
#include <stdio.h>

#include "wsss/error.h"
#include "wsss/nn.h"

/* "<name>.<leaf>" into buf (names are short module paths; truncation is a programmer error). */
static const char *leaf_name(char *buf, size_t n, const char *name, const char *leaf) {
    int k = snprintf(buf, n, "%s.%s", name, leaf);
    WSSS_ASSERT(k > 0 && (size_t)k < n, "parameter name too long");
    return buf;
}

void wsss_conv_init(wsss_conv *c, wsss_params *ps, const char *name, wsss_dtype dt, int64_t cin,
                    int64_t cout, int k, int stride, int padding, int dilation, int has_bias, int group) {
    WSSS_ASSERT(cin > 0 && cout > 0 && k > 0 && stride > 0 && padding >= 0 && dilation > 0,
                "bad conv layer hyper-parameters");
    char buf[256];
    const int64_t wshape[4] = {cout, cin, k, k};
    c->weight = wsss_params_add_param(ps, leaf_name(buf, sizeof buf, name, "weight"), dt, 4, wshape, group);
    c->bias = has_bias ? wsss_params_add_param(ps, leaf_name(buf, sizeof buf, name, "bias"), dt, 1, &cout, group + 1)
                       : NULL;
    c->p = (wsss_conv2d_params){.stride = {stride, stride},
                                .padding = {padding, padding},
                                .dilation = {dilation, dilation},
                                .groups = 1};
}

wsss_tensor *wsss_conv_forward(wsss_ctx *ctx, const wsss_conv *c, wsss_tensor *x) {
    return wsss_conv2d(ctx, x, c->weight, c->bias, c->p);
}

void wsss_bn_init(wsss_bn *b, wsss_params *ps, const char *name, wsss_dtype dt, int64_t c, int group) {
    char buf[256];
    b->weight = wsss_params_add_param(ps, leaf_name(buf, sizeof buf, name, "weight"), dt, 1, &c, group);
    b->bias = wsss_params_add_param(ps, leaf_name(buf, sizeof buf, name, "bias"), dt, 1, &c, group + 1);
    b->running_mean = wsss_params_add_buffer(ps, leaf_name(buf, sizeof buf, name, "running_mean"), dt, 1, &c);
    b->running_var = wsss_params_add_buffer(ps, leaf_name(buf, sizeof buf, name, "running_var"), dt, 1, &c);
    b->num_batches_tracked =
        wsss_params_add_buffer(ps, leaf_name(buf, sizeof buf, name, "num_batches_tracked"), WSSS_I64, 0, NULL);
    wsss_tensor_fill(b->weight, 1.0);
    wsss_tensor_fill(b->running_var, 1.0);
    b->momentum = 0.1;
    b->eps = 1e-5;
}

wsss_tensor *wsss_bn_forward(wsss_ctx *ctx, const wsss_bn *b, wsss_tensor *x, wsss_bn_mode mode) {
    wsss_tensor *y = wsss_batchnorm2d(ctx, x, b->weight, b->bias, b->running_mean, b->running_var, mode,
                                      b->momentum, b->eps);
    /* torch counts batches in train mode only (the op has already moved the running stats) */
    if (mode == WSSS_BN_TRAIN) ((int64_t *)b->num_batches_tracked->data)[0] += 1;
    return y;
}

wsss_tensor *wsss_bn_relu_forward(wsss_ctx *ctx, const wsss_bn *b, wsss_tensor *x, wsss_bn_mode mode) {
    wsss_tensor *y = wsss_batchnorm2d_relu(ctx, x, b->weight, b->bias, b->running_mean, b->running_var,
                                           mode, b->momentum, b->eps);
    if (mode == WSSS_BN_TRAIN) ((int64_t *)b->num_batches_tracked->data)[0] += 1;
    return y;
}

wsss_tensor *wsss_conv_bn_eval_forward(wsss_ctx *ctx, const wsss_conv *c, const wsss_bn *b, wsss_tensor *x,
                                       wsss_tensor *residual, int consume_residual, int relu) {
    const wsss_conv_bn_args a = {.weight = c->weight,
                                 .bias = c->bias,
                                 .conv = c->p,
                                 .bn_weight = b->weight,
                                 .bn_bias = b->bias,
                                 .running_mean = b->running_mean,
                                 .running_var = b->running_var,
                                 .eps = b->eps};
    return wsss_conv2d_bn_eval(ctx, x, &a, residual, consume_residual, relu);
}

int wsss_conv_bn_no_grad(const wsss_ctx *ctx, const wsss_conv *c, const wsss_bn *b, wsss_tensor *x) {
    wsss_tensor *in[5] = {x, c->weight, c->bias, b->weight, b->bias};
    return !wsss_needs_grad(ctx, 5, in);
}

wsss_tensor *wsss_conv_bn_forward(wsss_ctx *ctx, const wsss_conv *c, const wsss_bn *b, wsss_tensor *x,
                                  wsss_bn_mode mode, int relu) {
    if (mode != WSSS_BN_TRAIN && wsss_conv_bn_no_grad(ctx, c, b, x))
        return wsss_conv_bn_eval_forward(ctx, c, b, x, NULL, 0, relu);
    wsss_tensor *y = wsss_conv_forward(ctx, c, x);
    /* BN + ReLU as one op: one pass, and no pre-ReLU tensor kept for the backward */
    wsss_tensor *z = relu ? wsss_bn_relu_forward(ctx, b, y, mode) : wsss_bn_forward(ctx, b, y, mode);
    if (!z->grad_fn) wsss_ctx_release(ctx, y); /* inference: nothing refers to y any more */
    return z;
}

void wsss_bn_reset(wsss_bn *b) {
    wsss_tensor_fill(b->weight, 1.0);
    wsss_tensor_fill(b->bias, 0.0);
    wsss_tensor_fill(b->running_mean, 0.0);
    wsss_tensor_fill(b->running_var, 1.0);
    wsss_tensor_fill(b->num_batches_tracked, 0.0);
}

void wsss_bn_set_trainable(wsss_bn *b, int on) {
    b->weight->requires_grad = on ? 1 : 0;
    b->bias->requires_grad = on ? 1 : 0;
}

void wsss_linear_init(wsss_linear_layer *l, wsss_params *ps, const char *name, wsss_dtype dt,
                      int64_t in, int64_t out, int has_bias, int group) {
    WSSS_ASSERT(in > 0 && out > 0, "bad linear layer size");
    char buf[256];
    const int64_t wshape[2] = {out, in};
    l->weight = wsss_params_add_param(ps, leaf_name(buf, sizeof buf, name, "weight"), dt, 2, wshape, group);
    l->bias = has_bias ? wsss_params_add_param(ps, leaf_name(buf, sizeof buf, name, "bias"), dt, 1, &out, group + 1)
                       : NULL;
}

wsss_tensor *wsss_linear_forward(wsss_ctx *ctx, const wsss_linear_layer *l, wsss_tensor *x) {
    return wsss_linear(ctx, x, l->weight, l->bias);
}

/* ------------------------------------------------------------------ initialisers */

static wsss_rng *rng_or_global(wsss_rng *rng) { return rng ? rng : wsss_rng_global(); }

/* Registry tensors are contiguous F32/F64: write them directly (initialising resnet101 is 44M values). */
static void put(wsss_tensor *t, int64_t i, double v) {
    if (t->dtype == WSSS_F32)
        ((float *)t->data)[i] = (float)v;
    else
        ((double *)t->data)[i] = v;
}

/* Initialisers write the registry tensor directly, so they bump its version themselves. */
static void check_init_target(wsss_tensor *t) {
    WSSS_ASSERT(wsss_tensor_is_contiguous(t) && (t->dtype == WSSS_F32 || t->dtype == WSSS_F64),
                "initialisers need a contiguous F32/F64 tensor");
    wsss_tensor_bump_version(t);
}

int64_t wsss_init_fan(const wsss_tensor *t, wsss_fan_mode mode) {
    WSSS_ASSERT(t->ndim >= 2, "fan_in/fan_out need a tensor with at least 2 dims");
    int64_t field = 1;
    for (int d = 2; d < t->ndim; d++) field *= t->shape[d];
    return (mode == WSSS_FAN_IN ? t->shape[1] : t->shape[0]) * field;
}

void wsss_init_constant(wsss_tensor *t, double v) { wsss_tensor_fill(t, v); }

void wsss_init_uniform(wsss_tensor *t, double lo, double hi, wsss_rng *rng) {
    check_init_target(t);
    rng = rng_or_global(rng);
    int64_t n = wsss_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) put(t, i, wsss_rng_range(rng, lo, hi));
}

void wsss_init_normal(wsss_tensor *t, double mean, double std, wsss_rng *rng) {
    check_init_target(t);
    rng = rng_or_global(rng);
    int64_t n = wsss_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) put(t, i, mean + std * wsss_rng_normal(rng));
}

void wsss_init_kaiming_normal(wsss_tensor *t, wsss_fan_mode mode, wsss_rng *rng) {
    wsss_init_normal(t, 0.0, sqrt(2.0 / (double)wsss_init_fan(t, mode)), rng);
}

void wsss_init_xavier_uniform(wsss_tensor *t, double gain, wsss_rng *rng) {
    double a = gain * sqrt(6.0 / (double)(wsss_init_fan(t, WSSS_FAN_IN) + wsss_init_fan(t, WSSS_FAN_OUT)));
    wsss_init_uniform(t, -a, a, rng);
}

void wsss_init_caffe_xavier(wsss_tensor *t, wsss_rng *rng) {
    double a = sqrt(3.0 / (double)wsss_init_fan(t, WSSS_FAN_IN));
    wsss_init_uniform(t, -a, a, rng);
}

void wsss_init_caffe_msra(wsss_tensor *t, wsss_rng *rng) {
    wsss_init_normal(t, 0.0, sqrt(2.0 / (double)wsss_init_fan(t, WSSS_FAN_IN)), rng);
}

void wsss_init_torch_default(wsss_tensor *weight, wsss_tensor *bias, wsss_rng *rng) {
    double a = 1.0 / sqrt((double)wsss_init_fan(weight, WSSS_FAN_IN));
    wsss_init_uniform(weight, -a, a, rng);
    if (bias) wsss_init_uniform(bias, -a, a, rng);
}
