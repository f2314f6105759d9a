/* DeepLab v3+ head (see include/wsss/models.h): torchvision's ASPP layout on the last feature map,
 * a decoder on the stride-4 map. */
#include <stdio.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/models.h"

wsss_deeplabv3plus_config wsss_deeplabv3plus_config_default(int64_t in_channels, int64_t low_channels,
                                                            int num_classes, int output_stride) {
    wsss_deeplabv3plus_config c;
    memset(&c, 0, sizeof c);
    c.in_channels = in_channels;
    c.low_channels = low_channels;
    c.num_classes = num_classes;
    c.channels = 256;
    c.low_project = 48;
    const int scale = output_stride > 0 && output_stride < 16 ? 16 / output_stride : 1;
    for (int i = 0; i < 3; i++) c.rates[i] = 6 * (i + 1) * scale;
    c.dropout = 0.1;
    c.dtype = WSSS_F32;
    c.group = WSSS_GROUP_NEW;
    return c;
}

/* A bias-free conv "<prefix><conv_leaf>" followed by a BN "<prefix><bn_leaf>". */
static void conv_bn_init(wsss_conv *c, wsss_bn *b, wsss_params *ps, const char *prefix, const char *conv_leaf,
                         const char *bn_leaf, const wsss_deeplabv3plus_config *cfg, int64_t cin, int64_t cout, int k,
                         int dilation) {
    char name[256];
    int n = snprintf(name, sizeof name, "%s%s", prefix, conv_leaf);
    WSSS_ASSERT(n > 0 && (size_t)n < sizeof name, "parameter name too long");
    wsss_conv_init(c, ps, name, cfg->dtype, cin, cout, k, 1, k == 3 ? dilation : 0, dilation, 0, cfg->group);
    n = snprintf(name, sizeof name, "%s%s", prefix, bn_leaf);
    WSSS_ASSERT(n > 0 && (size_t)n < sizeof name, "parameter name too long");
    wsss_bn_init(b, ps, name, cfg->dtype, cout, cfg->group);
}

void wsss_deeplabv3plus_init(wsss_deeplabv3plus_head *h, wsss_params *ps, const char *prefix,
                             const wsss_deeplabv3plus_config *cfg) {
    WSSS_ASSERT(cfg->in_channels > 0 && cfg->low_channels > 0 && cfg->num_classes > 0 && cfg->channels > 0 &&
                    cfg->low_project > 0,
                "deeplabv3plus: bad sizes");
    WSSS_ASSERT(cfg->dropout >= 0 && cfg->dropout < 1, "deeplabv3plus: dropout in [0, 1)");
    memset(h, 0, sizeof *h);
    h->cfg = *cfg;
    prefix = prefix ? prefix : "";
    const int64_t w = cfg->channels;
    conv_bn_init(&h->aspp[0], &h->aspp_bn[0], ps, prefix, "0.convs.0.0", "0.convs.0.1", cfg, cfg->in_channels, w, 1, 1);
    static const char *const conv_leaf[3] = {"0.convs.1.0", "0.convs.2.0", "0.convs.3.0"};
    static const char *const bn_leaf[3] = {"0.convs.1.1", "0.convs.2.1", "0.convs.3.1"};
    for (int i = 0; i < 3; i++) {
        WSSS_ASSERT(cfg->rates[i] > 0, "deeplabv3plus: rates must be positive");
        conv_bn_init(&h->aspp[i + 1], &h->aspp_bn[i + 1], ps, prefix, conv_leaf[i], bn_leaf[i], cfg, cfg->in_channels,
                     w, 3, cfg->rates[i]);
    }
    /* torchvision's ASPPPooling = Sequential(AdaptiveAvgPool2d, conv, BN, ReLU) */
    conv_bn_init(&h->aspp[4], &h->aspp_bn[4], ps, prefix, "0.convs.4.1", "0.convs.4.2", cfg, cfg->in_channels, w, 1, 1);
    conv_bn_init(&h->project, &h->project_bn, ps, prefix, "0.project.0", "0.project.1", cfg, 5 * w, w, 1, 1);
    conv_bn_init(&h->low, &h->low_bn, ps, prefix, "low.0", "low.1", cfg, cfg->low_channels, cfg->low_project, 1, 1);
    conv_bn_init(&h->fuse[0], &h->fuse_bn[0], ps, prefix, "fuse.0", "fuse.1", cfg, cfg->low_project + w, w, 3, 1);
    conv_bn_init(&h->fuse[1], &h->fuse_bn[1], ps, prefix, "fuse.3", "fuse.4", cfg, w, w, 3, 1);
    char name[256];
    int n = snprintf(name, sizeof name, "%sfuse.6", prefix);
    WSSS_ASSERT(n > 0 && (size_t)n < sizeof name, "parameter name too long");
    wsss_conv_init(&h->cls, ps, name, cfg->dtype, w, cfg->num_classes, 1, 1, 0, 1, 1, cfg->group);
}

void wsss_deeplabv3plus_reset_parameters(wsss_deeplabv3plus_head *h, wsss_rng *rng) {
    wsss_conv *convs[10] = {&h->aspp[0], &h->aspp[1], &h->aspp[2], &h->aspp[3], &h->aspp[4],
                            &h->project, &h->low,     &h->fuse[0], &h->fuse[1], &h->cls};
    for (int i = 0; i < 10; i++) wsss_init_kaiming_normal(convs[i]->weight, WSSS_FAN_IN, rng);
    wsss_tensor_fill(h->cls.bias, 0.0);
    wsss_bn *bns[9] = {&h->aspp_bn[0], &h->aspp_bn[1], &h->aspp_bn[2], &h->aspp_bn[3], &h->aspp_bn[4],
                       &h->project_bn, &h->low_bn,     &h->fuse_bn[0], &h->fuse_bn[1]};
    for (int i = 0; i < 9; i++) wsss_bn_reset(bns[i]);
}

wsss_tensor *wsss_deeplabv3plus_forward(wsss_ctx *ctx, const wsss_deeplabv3plus_head *h, wsss_tensor *x,
                                        wsss_tensor *low, int training, wsss_rng *rng, wsss_tensor **features) {
    WSSS_ASSERT(x->ndim == 4 && low->ndim == 4 && x->shape[0] == low->shape[0], "deeplabv3plus: x and low N,C,h,w");
    const wsss_bn_mode mode = training ? WSSS_BN_TRAIN : WSSS_BN_EVAL;
    const int64_t hh = x->shape[2], ww = x->shape[3];
    wsss_tensor *branch[5];
    for (int i = 0; i < 4; i++) branch[i] = wsss_conv_bn_forward(ctx, &h->aspp[i], &h->aspp_bn[i], x, mode, 1);
    wsss_tensor *pooled = wsss_conv_bn_forward(ctx, &h->aspp[4], &h->aspp_bn[4], wsss_global_avgpool(ctx, x), mode, 1);
    branch[4] = wsss_resize_bilinear(ctx, pooled, hh, ww, 0); /* from 1x1: a broadcast */
    wsss_tensor *a = wsss_conv_bn_forward(ctx, &h->project, &h->project_bn, wsss_concat(ctx, 5, branch, 1), mode, 1);
    if (h->cfg.dropout > 0) a = wsss_dropout(ctx, a, h->cfg.dropout, training, rng ? rng : wsss_rng_global());
    wsss_tensor *l = wsss_conv_bn_forward(ctx, &h->low, &h->low_bn, low, mode, 1);
    wsss_tensor *up = wsss_resize_bilinear(ctx, a, low->shape[2], low->shape[3], 0);
    wsss_tensor *cat[2] = {l, up};
    wsss_tensor *f = wsss_conv_bn_forward(ctx, &h->fuse[0], &h->fuse_bn[0], wsss_concat(ctx, 2, cat, 1), mode, 1);
    f = wsss_conv_bn_forward(ctx, &h->fuse[1], &h->fuse_bn[1], f, mode, 1);
    if (features) *features = f;
    return wsss_conv_forward(ctx, &h->cls, f);
}
