/* Classifier and segmentation heads (see include/wsss/models.h): CAM head (MCIS extra convs + 1x1
 * classifier), bias-free CAM of a GAP + linear head, DeepLab-LargeFOV and DeepLab-v2 ASPP. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/models.h"

static const char *join(char *buf, size_t n, const char *a, const char *b) {
    int k = snprintf(buf, n, "%s%s", a ? a : "", b);
    WSSS_ASSERT(k > 0 && (size_t)k < n, "parameter name too long");
    return buf;
}

/* ------------------------------------------------------------------ CAM head */

void wsss_cam_head_init(wsss_cam_head *h, wsss_params *ps, const char *extra_name, const char *cls_name,
                        const wsss_cam_head_config *cfg) {
    WSSS_ASSERT(cfg->n_extra >= 0 && cfg->n_extra <= WSSS_CAM_HEAD_MAX_EXTRA, "cam head: 0..4 extra convs");
    WSSS_ASSERT(cfg->num_classes > 0 && cfg->in_channels > 0, "cam head: bad sizes");
    memset(h, 0, sizeof *h);
    h->cfg = *cfg;
    int64_t c = cfg->in_channels;
    for (int i = 0; i < cfg->n_extra; i++) {
        char name[256];
        int k = snprintf(name, sizeof name, "%s.%d", extra_name, 2 * i); /* Sequential(conv, ReLU, ...) */
        WSSS_ASSERT(k > 0 && (size_t)k < sizeof name, "parameter name too long");
        wsss_conv_init(&h->extra[i], ps, name, cfg->dtype, c, cfg->mid_channels, 3, 1, 1, 1, 1, cfg->group);
        c = cfg->mid_channels;
    }
    wsss_conv_init(&h->cls, ps, cls_name, cfg->dtype, c, cfg->num_classes, 1, 1, 0, 1, cfg->cls_bias, cfg->group);
}

/* N(0, sqrt(2 / (k*k*Cout))) as the MCIS/OAA classifier initialises its new convs. */
static void init_fan_out_normal(wsss_conv *c, wsss_rng *rng) {
    const wsss_tensor *w = c->weight;
    double n = (double)(w->shape[0] * w->shape[2] * w->shape[3]);
    wsss_init_normal(c->weight, 0.0, sqrt(2.0 / n), rng);
    if (c->bias) wsss_tensor_fill(c->bias, 0.0);
}

void wsss_cam_head_reset_parameters(wsss_cam_head *h, wsss_rng *rng) {
    for (int i = 0; i < h->cfg.n_extra; i++) init_fan_out_normal(&h->extra[i], rng);
    init_fan_out_normal(&h->cls, rng);
}

wsss_tensor *wsss_cam_head_features(wsss_ctx *ctx, const wsss_cam_head *h, wsss_tensor *x) {
    for (int i = 0; i < h->cfg.n_extra; i++) /* conv + ReLU fused */
        x = wsss_conv2d_relu(ctx, x, h->extra[i].weight, h->extra[i].bias, h->extra[i].p);
    return x;
}

wsss_tensor *wsss_cam_head_cam(wsss_ctx *ctx, const wsss_cam_head *h, wsss_tensor *features) {
    return wsss_conv_forward(ctx, &h->cls, features);
}

wsss_tensor *wsss_gap_linear(wsss_ctx *ctx, const wsss_linear_layer *fc, wsss_tensor *features) {
    wsss_tensor *pooled = wsss_global_avgpool(ctx, features);
    const int64_t shape[2] = {pooled->shape[0], pooled->shape[1]};
    wsss_tensor *flat = wsss_reshape(ctx, pooled, 2, shape);
    return wsss_linear_forward(ctx, fc, flat);
}

wsss_tensor *wsss_spatial_mean(wsss_ctx *ctx, wsss_tensor *x) {
    WSSS_ASSERT(x->ndim == 4, "spatial mean of a N,C,H,W tensor");
    return wsss_mean(ctx, x, (1u << 2) | (1u << 3), 0);
}

wsss_tensor *wsss_linear_cam(wsss_ctx *ctx, wsss_tensor *weight, wsss_tensor *features) {
    WSSS_ASSERT(weight->ndim == 2 && features->ndim == 4 && weight->shape[1] == features->shape[1],
                "linear cam: weight C,K and features N,K,h,w");
    const int64_t shape[4] = {weight->shape[0], weight->shape[1], 1, 1};
    wsss_tensor *w4 = wsss_reshape(ctx, weight, 4, shape);
    return wsss_conv2d(ctx, features, w4, NULL, (wsss_conv2d_params){0});
}

/* ------------------------------------------------------------------ DeepLab-LargeFOV */

wsss_largefov_config wsss_largefov_config_default(int64_t in_channels, int num_classes) {
    wsss_largefov_config c;
    memset(&c, 0, sizeof c);
    c.in_channels = in_channels;
    c.hidden = 1024;
    c.num_classes = num_classes;
    c.dilation = 12;
    c.dtype = WSSS_F32;
    c.group = WSSS_GROUP_NEW;
    return c;
}

void wsss_largefov_init(wsss_largefov_head *h, wsss_params *ps, const char *prefix,
                        const wsss_largefov_config *cfg) {
    WSSS_ASSERT(cfg->in_channels > 0 && cfg->hidden > 0 && cfg->num_classes > 0 && cfg->dilation > 0,
                "largefov: bad sizes");
    WSSS_ASSERT(cfg->dropout >= 0 && cfg->dropout < 1, "largefov: dropout in [0, 1)");
    memset(h, 0, sizeof *h);
    h->cfg = *cfg;
    char name[256];
    wsss_conv_init(&h->fc6, ps, join(name, sizeof name, prefix, "fc6"), cfg->dtype, cfg->in_channels, cfg->hidden,
                   3, 1, cfg->dilation, cfg->dilation, cfg->hidden_bias, cfg->group);
    wsss_conv_init(&h->fc7, ps, join(name, sizeof name, prefix, "fc7"), cfg->dtype, cfg->hidden, cfg->hidden, 1, 1,
                   0, 1, cfg->hidden_bias, cfg->group);
    wsss_conv_init(&h->fc8, ps, join(name, sizeof name, prefix, "fc8"), cfg->dtype, cfg->hidden, cfg->num_classes,
                   1, 1, 0, 1, 1, cfg->group);
}

void wsss_largefov_reset_parameters(wsss_largefov_head *h, wsss_rng *rng) {
    wsss_init_caffe_xavier(h->fc6.weight, rng);
    wsss_init_caffe_xavier(h->fc7.weight, rng);
    wsss_init_caffe_msra(h->fc8.weight, rng);
    const wsss_conv *all[3] = {&h->fc6, &h->fc7, &h->fc8};
    for (int i = 0; i < 3; i++)
        if (all[i]->bias) wsss_tensor_fill(all[i]->bias, 0.0);
}

wsss_tensor *wsss_largefov_forward(wsss_ctx *ctx, const wsss_largefov_head *h, wsss_tensor *x, int training,
                                   wsss_rng *rng) {
    const double p = h->cfg.dropout;
    x = wsss_conv2d_relu(ctx, x, h->fc6.weight, h->fc6.bias, h->fc6.p);
    if (p > 0) x = wsss_dropout(ctx, x, p, training, rng ? rng : wsss_rng_global());
    x = wsss_conv2d_relu(ctx, x, h->fc7.weight, h->fc7.bias, h->fc7.p);
    if (p > 0) x = wsss_dropout(ctx, x, p, training, rng ? rng : wsss_rng_global());
    return wsss_conv_forward(ctx, &h->fc8, x);
}

/* ------------------------------------------------------------------ DeepLab-v2 ASPP */

wsss_aspp_config wsss_aspp_config_default(int64_t in_channels, int num_classes) {
    wsss_aspp_config c;
    memset(&c, 0, sizeof c);
    c.in_channels = in_channels;
    c.num_classes = num_classes;
    c.n_rates = 4;
    c.rates[0] = 6;
    c.rates[1] = 12;
    c.rates[2] = 18;
    c.rates[3] = 24;
    c.dtype = WSSS_F32;
    c.group = WSSS_GROUP_NEW;
    return c;
}

void wsss_aspp_init(wsss_aspp_head *h, wsss_params *ps, const char *prefix, const wsss_aspp_config *cfg) {
    WSSS_ASSERT(cfg->n_rates >= 1 && cfg->n_rates <= WSSS_ASPP_MAX_RATES, "aspp: 1..4 rates");
    WSSS_ASSERT(cfg->in_channels > 0 && cfg->num_classes > 0, "aspp: bad sizes");
    memset(h, 0, sizeof *h);
    h->cfg = *cfg;
    for (int i = 0; i < cfg->n_rates; i++) {
        WSSS_ASSERT(cfg->rates[i] > 0, "aspp: rates must be positive");
        char leaf[16], name[256];
        snprintf(leaf, sizeof leaf, "c%d", i);
        wsss_conv_init(&h->branch[i], ps, join(name, sizeof name, prefix, leaf), cfg->dtype, cfg->in_channels,
                       cfg->num_classes, 3, 1, cfg->rates[i], cfg->rates[i], 1, cfg->group);
    }
}

void wsss_aspp_reset_parameters(wsss_aspp_head *h, wsss_rng *rng) {
    for (int i = 0; i < h->cfg.n_rates; i++) {
        wsss_init_normal(h->branch[i].weight, 0.0, 0.01, rng);
        wsss_tensor_fill(h->branch[i].bias, 0.0);
    }
}

wsss_tensor *wsss_aspp_forward(wsss_ctx *ctx, const wsss_aspp_head *h, wsss_tensor *x) {
    wsss_tensor *sum = wsss_conv_forward(ctx, &h->branch[0], x);
    for (int i = 1; i < h->cfg.n_rates; i++) sum = wsss_add(ctx, sum, wsss_conv_forward(ctx, &h->branch[i], x));
    return sum;
}
