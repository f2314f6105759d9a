/* Differentiable ops with PyTorch semantics. Each takes the graph context first, returns a new
 * ctx-owned tensor (or a view), and records a backward node when an input requires grad.
 *
 * Dtypes: float ops accept F32 and F64 (F64 always runs the plain C reference kernels, which
 * makes double-precision finite-difference checks possible). Index/label inputs are I64, I32 or U8
 * as noted. Shapes are in PyTorch order; 4-D image tensors are N,C,H,W.
 *
 * Backend: with WSSS_BACKEND_DNNL (default), conv/batchnorm/pooling/eltwise/matmul run on oneDNN
 * for F32; everything else, and everything under WSSS_BACKEND_REF, runs the reference kernels. */
#ifndef WSSS_OPS_H
#define WSSS_OPS_H

#include "wsss/autograd.h"
#include "wsss/rng.h"

/* ---------------- convolution, normalisation, pooling (src/ops/conv.c, norm.c, pool.c) ------ */
typedef struct wsss_conv2d_params {
    int stride[2];   /* (h, w); 0 means 1 */
    int padding[2];
    int dilation[2]; /* 0 means 1 */
    int groups;      /* 0 means 1 */
} wsss_conv2d_params;

/* x: N,Cin,H,W; w: Cout,Cin/groups,KH,KW; b: Cout or NULL. */
wsss_tensor *wsss_conv2d(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *w, wsss_tensor *b,
                         wsss_conv2d_params p);
/* relu(conv2d(...)) as one op: oneDNN convolution with a fused ReLU post-op for F32 (no separate
 * pre-activation tensor; the backward masks the gradient with the saved output), the two ops
 * composed otherwise. */
wsss_tensor *wsss_conv2d_relu(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *w, wsss_tensor *b,
                              wsss_conv2d_params p);

typedef enum {
    WSSS_BN_TRAIN = 0, /* batch statistics (biased var); running_mean/var updated with momentum,
                          unbiased var into running_var, as torch.nn.BatchNorm2d.train() */
    WSSS_BN_EVAL,      /* running statistics; gradients to x, weight, bias */
    WSSS_BN_FROZEN     /* running statistics; weight and bias are constants (no gradient) */
} wsss_bn_mode;

/* x: N,C,H,W; weight, bias, running_mean, running_var: C (weight/bias may be NULL = affine off). */
wsss_tensor *wsss_batchnorm2d(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *weight, wsss_tensor *bias,
                              wsss_tensor *running_mean, wsss_tensor *running_var, wsss_bn_mode mode,
                              double momentum, double eps);
/* relu(batchnorm2d(...)) as one op: oneDNN's fused batch norm + ReLU for F32 (one pass over the
 * data, and the backward needs no saved output: a ReLU mask workspace instead); the two ops
 * composed otherwise. Same arguments and running-statistics behaviour as wsss_batchnorm2d. */
wsss_tensor *wsss_batchnorm2d_relu(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *weight,
                                   wsss_tensor *bias, wsss_tensor *running_mean,
                                   wsss_tensor *running_var, wsss_bn_mode mode, double momentum,
                                   double eps);

/* Convolution + batch norm with running statistics (a ResNet conv/bn pair). */
typedef struct wsss_conv_bn_args {
    wsss_tensor *weight, *bias; /* convolution; bias may be NULL */
    wsss_conv2d_params conv;
    wsss_tensor *bn_weight, *bn_bias; /* may be NULL (affine off) */
    wsss_tensor *running_mean, *running_var;
    double eps;
} wsss_conv_bn_args;
/* relu?(batchnorm2d(conv2d(x), running statistics) + residual?): the eval-mode ResNet pieces.
 * Without a gradient to compute, under oneDNN for F32, it is one convolution: the batch norm
 * folded into the weights (w * s with s = gamma / sqrt(var + eps), kept by the context per weight
 * and statistics version) and the bias (beta + (b - mean) * s), the residual sum and the ReLU as
 * post-ops; only the rounding differs from the separate ops, which it is composed of otherwise.
 * residual: NULL or a tensor of the output's shape. consume_residual: the caller gives residual
 * up, so the result may be written over it (the return value is then residual itself). */
wsss_tensor *wsss_conv2d_bn_eval(wsss_ctx *ctx, wsss_tensor *x, const wsss_conv_bn_args *a, wsss_tensor *residual,
                                 int consume_residual, int relu);

typedef struct wsss_pool2d_params {
    int kernel[2];
    int stride[2];  /* 0 means = kernel (PyTorch default) */
    int padding[2];
    int ceil_mode;
    int count_include_pad; /* avg pool only; PyTorch default is 1 */
} wsss_pool2d_params;

wsss_tensor *wsss_maxpool2d(wsss_ctx *ctx, wsss_tensor *x, wsss_pool2d_params p);
wsss_tensor *wsss_avgpool2d(wsss_ctx *ctx, wsss_tensor *x, wsss_pool2d_params p);
/* N,C,H,W -> N,C,1,1 spatial mean */
wsss_tensor *wsss_global_avgpool(wsss_ctx *ctx, wsss_tensor *x);

/* ---------------- activations (src/ops/activation.c) ---------------- */
wsss_tensor *wsss_relu(wsss_ctx *ctx, wsss_tensor *x);
wsss_tensor *wsss_leaky_relu(wsss_ctx *ctx, wsss_tensor *x, double negative_slope);
wsss_tensor *wsss_elu(wsss_ctx *ctx, wsss_tensor *x, double alpha);
wsss_tensor *wsss_sigmoid(wsss_ctx *ctx, wsss_tensor *x);
wsss_tensor *wsss_tanh(wsss_ctx *ctx, wsss_tensor *x);
/* relu(a + b) for two tensors of the same shape (the ResNet residual join) as one op: one pass and
 * only the output kept for backward under oneDNN (src/ops/fused.c); composed otherwise. */
wsss_tensor *wsss_add_relu(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b);

/* ---------------- linear algebra (src/ops/matmul.c) ---------------- */
/* x: N,in; w: out,in; b: out or NULL -> N,out (torch.nn.functional.linear) */
wsss_tensor *wsss_linear(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *w, wsss_tensor *b);
/* 2-D (M,K)x(K,N) or batched 3-D (B,M,K)x(B,K,N); trans_a/trans_b transpose the last two dims
 * of the operand first (so a may be stored K,M). */
wsss_tensor *wsss_matmul(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b, int trans_a, int trans_b);

/* ---------------- elementwise math (src/ops/elementwise.c) ---------------- */
/* Binary ops broadcast with NumPy/PyTorch rules (trailing dims aligned, size-1 dims stretched). */
wsss_tensor *wsss_add(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b);
wsss_tensor *wsss_sub(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b);
wsss_tensor *wsss_mul(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b);
wsss_tensor *wsss_div(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b);
wsss_tensor *wsss_add_scalar(wsss_ctx *ctx, wsss_tensor *x, double s);  /* x + s */
wsss_tensor *wsss_mul_scalar(wsss_ctx *ctx, wsss_tensor *x, double s);  /* x * s */
wsss_tensor *wsss_rsub_scalar(wsss_ctx *ctx, wsss_tensor *x, double s); /* s - x */
wsss_tensor *wsss_neg(wsss_ctx *ctx, wsss_tensor *x);
wsss_tensor *wsss_exp(wsss_ctx *ctx, wsss_tensor *x);
wsss_tensor *wsss_log(wsss_ctx *ctx, wsss_tensor *x);
wsss_tensor *wsss_pow_scalar(wsss_ctx *ctx, wsss_tensor *x, double p); /* x ** p */
wsss_tensor *wsss_abs(wsss_ctx *ctx, wsss_tensor *x);
/* clamp to [lo, hi]; pass -INFINITY / INFINITY for one-sided. Gradient 1 inside, 0 outside
 * (boundary values pass gradient, as torch.clamp). */
wsss_tensor *wsss_clamp(wsss_ctx *ctx, wsss_tensor *x, double lo, double hi);

/* ---------------- reductions (src/ops/reduce.c) ---------------- */
/* dims: bitmask of dims to reduce (bit i = dim i); keepdim as in PyTorch. dims == 0 reduces
 * nothing (a copy), unlike torch.sum(x, dim=[]); use sum_all/mean_all for everything. */
wsss_tensor *wsss_sum(wsss_ctx *ctx, wsss_tensor *x, unsigned dims, int keepdim);
wsss_tensor *wsss_mean(wsss_ctx *ctx, wsss_tensor *x, unsigned dims, int keepdim);
wsss_tensor *wsss_sum_all(wsss_ctx *ctx, wsss_tensor *x);  /* 0-dim scalar */
wsss_tensor *wsss_mean_all(wsss_ctx *ctx, wsss_tensor *x); /* 0-dim scalar */
/* Max/min over one dim; gradient goes to the arg index (the first occurrence, as PyTorch's
 * CPU kernel). If indices != NULL it receives a ctx-owned I64 tensor of arg indices. */
wsss_tensor *wsss_max(wsss_ctx *ctx, wsss_tensor *x, int dim, int keepdim, wsss_tensor **indices);
wsss_tensor *wsss_min(wsss_ctx *ctx, wsss_tensor *x, int dim, int keepdim, wsss_tensor **indices);
/* Max/min over all elements (0-dim). Ties share the gradient equally, as torch.max(x) (its
 * evenly_distribute_backward); use wsss_max on a reshaped view for first-index semantics. */
wsss_tensor *wsss_max_all(wsss_ctx *ctx, wsss_tensor *x);
wsss_tensor *wsss_min_all(wsss_ctx *ctx, wsss_tensor *x);

/* ---------------- softmax (src/ops/softmax.c) ---------------- */
wsss_tensor *wsss_softmax(wsss_ctx *ctx, wsss_tensor *x, int dim);
wsss_tensor *wsss_log_softmax(wsss_ctx *ctx, wsss_tensor *x, int dim);

/* ---------------- shape ops (src/ops/shape.c); views where cheap ---------------- */
/* reshape: view when x is contiguous, copy otherwise; one entry may be -1 (inferred). */
wsss_tensor *wsss_reshape(wsss_ctx *ctx, wsss_tensor *x, int ndim, const int64_t *shape);
wsss_tensor *wsss_permute(wsss_ctx *ctx, wsss_tensor *x, const int *perm);      /* view */
wsss_tensor *wsss_slice(wsss_ctx *ctx, wsss_tensor *x, int dim, int64_t start, int64_t end,
                        int64_t step);                                           /* view */
wsss_tensor *wsss_flip(wsss_ctx *ctx, wsss_tensor *x, int dim);                  /* view */
/* Contiguous copy (differentiable identity), e.g. after permute before a kernel. */
wsss_tensor *wsss_contiguous(wsss_ctx *ctx, wsss_tensor *x);
wsss_tensor *wsss_concat(wsss_ctx *ctx, int n, wsss_tensor *const *xs, int dim);
/* Constant pad of the last two dims of a 4-D tensor: pads = {left, right, top, bottom}
 * (F.pad order); negative pads crop. */
wsss_tensor *wsss_pad2d(wsss_ctx *ctx, wsss_tensor *x, const int64_t pads[4], double value);
/* torch.index_select(x, dim, index), index I64 1-D. */
wsss_tensor *wsss_index_select(wsss_ctx *ctx, wsss_tensor *x, int dim, const wsss_tensor *index);
/* torch.gather(x, dim, index), index I64 with x's ndim. */
wsss_tensor *wsss_gather(wsss_ctx *ctx, wsss_tensor *x, int dim, const wsss_tensor *index);

/* ---------------- resizing (src/ops/resize.c) ---------------- */
/* F.interpolate(x, size=(oh, ow), mode='bilinear', align_corners=...) on N,C,H,W. */
wsss_tensor *wsss_resize_bilinear(wsss_ctx *ctx, wsss_tensor *x, int64_t oh, int64_t ow,
                                  int align_corners);
/* F.interpolate(mode='nearest'): src index = floor(dst * in / out). */
wsss_tensor *wsss_resize_nearest(wsss_ctx *ctx, wsss_tensor *x, int64_t oh, int64_t ow);
/* F.interpolate(mode='bicubic', align_corners=...), a = -0.75, border-clamped; forward only. */
wsss_tensor *wsss_resize_bicubic(wsss_ctx *ctx, wsss_tensor *x, int64_t oh, int64_t ow,
                                 int align_corners);

/* ---------------- pair affinities (src/ops/pair_affinity.c) ---------------- */
#define WSSS_PAIR_MAX_OFFSETS 64
/* AffinityNet's affinities (refinement.md §b.3) of cell pairs: for every from cell p of the window
 * rows [y0, y1) x columns [x0, x1) of x [N, C, H, W] (row-major in the window) and every offset
 * (dy[o], dx[o]), out[n, o, p] = exp(-mean_c |x[n, c, p] - x[n, c, p + offset]|); shape
 * [N, n_off, (y1 - y0) * (x1 - x0)]. Every partner cell must lie inside x. Backward through |.| with
 * sign(0) = 0, as PyTorch. */
wsss_tensor *wsss_pair_affinity(wsss_ctx *ctx, wsss_tensor *x, int n_off, const int *dy, const int *dx, int y0,
                                int y1, int x0, int x1);

/* ---------------- dropout (src/ops/dropout.c) ---------------- */
/* Inverted dropout (scale 1/(1-p) when training); identity when !training. */
wsss_tensor *wsss_dropout(wsss_ctx *ctx, wsss_tensor *x, double p, int training, wsss_rng *rng);

/* ---------------- losses (src/ops/loss.c); all return 0-dim scalars ---------------- */
/* F.binary_cross_entropy_with_logits(x, y), mean over all elements. */
wsss_tensor *wsss_bce_with_logits(wsss_ctx *ctx, wsss_tensor *logits, wsss_tensor *targets);
/* F.multilabel_soft_margin_loss(x, y): mean over classes, then over rows. */
wsss_tensor *wsss_multilabel_soft_margin(wsss_ctx *ctx, wsss_tensor *logits, wsss_tensor *targets);
/* F.binary_cross_entropy(p, y): log terms clamped at -100, mean over all elements. */
wsss_tensor *wsss_bce(wsss_ctx *ctx, wsss_tensor *probs, wsss_tensor *targets);
/* F.cross_entropy(logits N,C,H,W, target N,H,W (I64/I32/U8), ignore_index): mean over pixels
 * whose target != ignore_index (0 if there are none). A target outside [0,C) that is not
 * ignore_index is a programmer error (assert); validate labels when loading. */
wsss_tensor *wsss_cross_entropy2d(wsss_ctx *ctx, wsss_tensor *logits, const wsss_tensor *target,
                                  int ignore_index);
/* F.cross_entropy(logits N,C, target N (I64/I32/U8), label_smoothing=eps), mean over rows; eps 0
 * is plain cross entropy (src/ops/loss_smoothing.c). */
wsss_tensor *wsss_cross_entropy_smoothed(wsss_ctx *ctx, wsss_tensor *logits, const wsss_tensor *target,
                                         double eps);

#endif
