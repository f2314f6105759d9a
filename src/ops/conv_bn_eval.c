/* Eval-mode convolution + batch norm (+ residual, + ReLU) as one oneDNN convolution with the
 * batch norm folded into its weights (see wsss_conv2d_bn_eval in wsss/ops.h). Inference runs
 * each ResNet block as three or four such convolutions and nothing else: no batch-norm, add or
 * ReLU pass over the activations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/dnnl/conv.h"
#include "ops/conv_geom.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

/* The separate ops (any dtype and backend, records a graph when gradients are needed). */
static wsss_tensor *composed(wsss_ctx *ctx, wsss_tensor *x, const wsss_conv_bn_args *a, wsss_tensor *residual,
                             int relu) {
    wsss_tensor *y = wsss_conv2d(ctx, x, a->weight, a->bias, a->conv);
    y = wsss_batchnorm2d(ctx, y, a->bn_weight, a->bn_bias, a->running_mean, a->running_var, WSSS_BN_EVAL, 0.0,
                         a->eps);
    if (residual) return relu ? wsss_add_relu(ctx, y, residual) : wsss_add(ctx, y, residual);
    return relu ? wsss_relu(ctx, y) : y;
}

/* The values of a plain contiguous F32 vector (parameters and buffers are), or NULL. */
static const float *vec(const wsss_tensor *t) {
    if (!t) return NULL;
    WSSS_ASSERT(t->dtype == WSSS_F32 && !t->layout && wsss_tensor_is_contiguous(t),
                "conv2d_bn_eval: batch-norm and bias vectors must be plain contiguous F32");
    return wsss_f32(t);
}

/* Buffer identity and version of a statistics tensor, for the folded-weight cache key. */
static void key_tensor(uint64_t *k, const wsss_tensor *t) {
    k[0] = t ? t->buf->id : 0;
    k[1] = t ? t->buf->version : 0;
}

wsss_tensor *wsss_conv2d_bn_eval(wsss_ctx *ctx, wsss_tensor *x, const wsss_conv_bn_args *a, wsss_tensor *residual,
                                 int consume_residual, int relu) {
    WSSS_ASSERT(ctx != NULL, "conv2d_bn_eval needs a context");
    WSSS_ASSERT(a->running_mean && a->running_var, "conv2d_bn_eval needs running statistics");
    wsss_tensor *in[6] = {x, a->weight, a->bias, a->bn_weight, a->bn_bias, residual};
    if (x->dtype != WSSS_F32 || wsss_get_backend() != WSSS_BACKEND_DNNL || wsss_needs_grad(ctx, 6, in) ||
        a->conv.groups > 1)
        return composed(ctx, x, a, residual, relu);

    wsss_conv_geom g;
    wsss_conv_geom_init(&g, x, a->weight, a->bias, a->conv);
    const int64_t c = g.cout;
    const wsss_tensor *vecs[4] = {a->bn_weight, a->bn_bias, a->running_mean, a->running_var};
    for (int i = 0; i < 4; i++)
        WSSS_ASSERT(!vecs[i] || (vecs[i]->ndim == 1 && vecs[i]->shape[0] == c),
                    "conv2d_bn_eval: batch-norm vectors need one value per output channel");
    WSSS_ASSERT(!residual || (residual->ndim == 4 && residual->shape[0] == g.n && residual->shape[1] == c &&
                              residual->shape[2] == g.oh && residual->shape[3] == g.ow),
                "conv2d_bn_eval: the residual must have the output's shape");
    /* s = gamma / sqrt(var + eps); folded bias = beta + (b - mean) * s, in double */
    double *scale = wsss_xmalloc((size_t)c * sizeof *scale);
    const int64_t bs[1] = {c};
    wsss_tensor *bias = wsss_ctx_tensor(ctx, WSSS_F32, 1, bs);
    const float *gamma = vec(a->bn_weight), *beta = vec(a->bn_bias), *cb = vec(a->bias);
    const float *mean = vec(a->running_mean), *var = vec(a->running_var);
    for (int64_t o = 0; o < c; o++) {
        scale[o] = (gamma ? gamma[o] : 1.0) / sqrt((double)var[o] + a->eps);
        wsss_f32(bias)[o] = (float)((beta ? beta[o] : 0.0) + ((cb ? cb[o] : 0.0) - mean[o]) * scale[o]);
    }
    g.has_bias = 1;
    /* the folded weights depend on w (the cache's source), gamma, var and eps */
    uint64_t key[5];
    key_tensor(key, a->bn_weight);
    key_tensor(key + 2, a->running_var);
    double eps = a->eps;
    memcpy(&key[4], &eps, sizeof eps);
    wsss_tensor *y = wsss_dnnl_conv2d_infer_t(ctx, &g, wsss_ctx_winograd(ctx), x, a->weight, scale, key, sizeof key,
                                              bias, residual, consume_residual, relu);
    free(scale);
    wsss_ctx_release(ctx, bias);
    /* a plain context hands out plain tensors */
    return wsss_ctx_blocked(ctx) ? y : wsss_tensor_plain(y);
}
