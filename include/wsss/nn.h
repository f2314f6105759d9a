/* Layers built from ops: a layer is its persistent tensors (registered in a wsss_params registry
 * under PyTorch state_dict names) plus its fixed hyper-parameters. Forward functions take the graph
 * context and return ctx-owned tensors, so a training step is: forward, loss, wsss_backward, step.
 *
 *   wsss_params ps; wsss_params_init(&ps);
 *   wsss_conv c; wsss_conv_init(&c, &ps, "backbone.conv1", WSSS_F32, 3, 64, 7, 2, 3, 1, 0, 0);
 *   y = wsss_conv_forward(ctx, &c, x);
 *
 * Names: the `name` argument is the module path ("layer1.0.conv1"); the layer appends ".weight",
 * ".bias", ".running_mean", ... Optimizer groups: a layer's weights go to `group`, its biases to
 * `group + 1` (backbone 0/1, new layers 2/3 by the WSSS convention). Layers do not own tensors:
 * the registry frees them. */
#ifndef WSSS_NN_H
#define WSSS_NN_H

#include "wsss/ops.h"
#include "wsss/params.h"
#include "wsss/rng.h"

/* Optimizer group indices used by the models (see optim.h). */
enum { WSSS_GROUP_BACKBONE = 0, WSSS_GROUP_NEW = 2 };

/* ---- conv2d ---- */
typedef struct wsss_conv {
    wsss_tensor *weight; /* Cout, Cin, K, K */
    wsss_tensor *bias;   /* Cout, or NULL */
    wsss_conv2d_params p;
} wsss_conv;

/* Square kernel k, stride, padding and dilation on both axes; has_bias adds "<name>.bias". */
void wsss_conv_init(wsss_conv *c, wsss_params *ps, const char *name, wsss_dtype dt, int64_t cin,
                    int64_t cout, int k, int stride, int padding, int dilation, int has_bias, int group);
wsss_tensor *wsss_conv_forward(wsss_ctx *ctx, const wsss_conv *c, wsss_tensor *x);

/* ---- batch norm (torch.nn.BatchNorm2d: momentum 0.1, eps 1e-5, affine, running stats) ---- */
typedef struct wsss_bn {
    wsss_tensor *weight, *bias;              /* parameters, C */
    wsss_tensor *running_mean, *running_var; /* buffers, C, same dtype as the parameters */
    wsss_tensor *num_batches_tracked;        /* buffer, I64 0-d */
    double momentum, eps;
} wsss_bn;

/* weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0 (PyTorch's init). */
void wsss_bn_init(wsss_bn *b, wsss_params *ps, const char *name, wsss_dtype dt, int64_t c, int group);
/* Back to PyTorch's initial state (registration zero-fills): weight 1, bias 0, running_mean 0,
 * running_var 1, num_batches_tracked 0. */
void wsss_bn_reset(wsss_bn *b);
/* TRAIN: batch statistics, running stats and num_batches_tracked updated (as module.train());
 * EVAL: running statistics, affine parameters trainable; FROZEN: running statistics, affine
 * parameters constant (no gradient). */
wsss_tensor *wsss_bn_forward(wsss_ctx *ctx, const wsss_bn *b, wsss_tensor *x, wsss_bn_mode mode);
/* relu(bn(x)) with the same statistics behaviour, as one fused op (wsss_batchnorm2d_relu). */
wsss_tensor *wsss_bn_relu_forward(wsss_ctx *ctx, const wsss_bn *b, wsss_tensor *x, wsss_bn_mode mode);
/* relu?(bn(conv(x)) + residual?) with the batch norm's running statistics, as
 * wsss_conv2d_bn_eval: one convolution with the batch norm folded in when nothing needs a
 * gradient (inference), the separate ops otherwise. */
wsss_tensor *wsss_conv_bn_eval_forward(wsss_ctx *ctx, const wsss_conv *c, const wsss_bn *b, wsss_tensor *x,
                                       wsss_tensor *residual, int consume_residual, int relu);
/* 1 if nothing in relu?(bn(conv(x))) needs a gradient: inference, where the fused form applies. */
int wsss_conv_bn_no_grad(const wsss_ctx *ctx, const wsss_conv *c, const wsss_bn *b, wsss_tensor *x);
/* relu?(bn(conv(x))) in BN mode `mode`: the folded inference form where nothing needs a gradient,
 * else conv then BN (+ ReLU) as one fused op. */
wsss_tensor *wsss_conv_bn_forward(wsss_ctx *ctx, const wsss_conv *c, const wsss_bn *b, wsss_tensor *x,
                                  wsss_bn_mode mode, int relu);
/* requires_grad of weight and bias (frozen BN also wants them out of the optimizer's steps). */
void wsss_bn_set_trainable(wsss_bn *b, int on);

/* ---- linear (torch.nn.Linear) ---- */
typedef struct wsss_linear_layer {
    wsss_tensor *weight; /* out, in */
    wsss_tensor *bias;   /* out, or NULL */
} wsss_linear_layer;

void wsss_linear_init(wsss_linear_layer *l, wsss_params *ps, const char *name, wsss_dtype dt,
                      int64_t in, int64_t out, int has_bias, int group);
/* x: N,in -> N,out */
wsss_tensor *wsss_linear_forward(wsss_ctx *ctx, const wsss_linear_layer *l, wsss_tensor *x);

/* ---- initialisers (values drawn from rng; rng NULL = wsss_rng_global()) ----
 * fan_in = shape[1] * prod(shape[2:]), fan_out = shape[0] * prod(shape[2:]), as torch.nn.init. */
typedef enum { WSSS_FAN_IN = 0, WSSS_FAN_OUT } wsss_fan_mode;

void wsss_init_constant(wsss_tensor *t, double v);
void wsss_init_uniform(wsss_tensor *t, double lo, double hi, wsss_rng *rng);
void wsss_init_normal(wsss_tensor *t, double mean, double std, wsss_rng *rng);
/* nn.init.kaiming_normal_(t, mode, nonlinearity='relu'): N(0, sqrt(2 / fan)). */
void wsss_init_kaiming_normal(wsss_tensor *t, wsss_fan_mode mode, wsss_rng *rng);
/* nn.init.xavier_uniform_(t, gain): U(+-gain * sqrt(6 / (fan_in + fan_out))). */
void wsss_init_xavier_uniform(wsss_tensor *t, double gain, wsss_rng *rng);
/* Caffe's fillers (default variance_norm FAN_IN), as the Caffe DeepLab models use:
 * "xavier" U(+-sqrt(3 / fan_in)), "msra" N(0, sqrt(2 / fan_in)). */
void wsss_init_caffe_xavier(wsss_tensor *t, wsss_rng *rng);
void wsss_init_caffe_msra(wsss_tensor *t, wsss_rng *rng);
/* PyTorch's default for nn.Conv2d / nn.Linear: weight kaiming_uniform(a = sqrt(5)) =
 * U(+-1/sqrt(fan_in)), bias (may be NULL) U(+-1/sqrt(fan_in)). */
void wsss_init_torch_default(wsss_tensor *weight, wsss_tensor *bias, wsss_rng *rng);
int64_t wsss_init_fan(const wsss_tensor *t, wsss_fan_mode mode);

#endif
