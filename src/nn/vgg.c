/* VGG16 in the DeepLab form (mcis.md §2) with torchvision vgg16's feature keys: conv1-conv3 blocks
 * with 2x2/s2 max pools, pool4 3x3/s1/p1, conv5 dilated by 2, no pool5 (output stride 8). */
#include <stdio.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/models.h"

/* Index of each conv in torchvision's vgg16().features Sequential, its channels and block. */
static const struct {
    int index, cin, cout, block;
} k_convs[13] = {
    {0, 3, 64, 0},      {2, 64, 64, 0},     {5, 64, 128, 1},    {7, 128, 128, 1},   {10, 128, 256, 2},
    {12, 256, 256, 2},  {14, 256, 256, 2},  {17, 256, 512, 3},  {19, 512, 512, 3},  {21, 512, 512, 3},
    {24, 512, 512, 4},  {26, 512, 512, 4},  {28, 512, 512, 4},
};

void wsss_vgg16_deeplab_init(wsss_vgg *m, wsss_params *ps, const char *prefix, const wsss_vgg_config *cfg) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    prefix = prefix ? prefix : "";
    for (int i = 0; i < 13; i++) {
        char name[256];
        int k = snprintf(name, sizeof name, "%sfeatures.%d", prefix, k_convs[i].index);
        WSSS_ASSERT(k > 0 && (size_t)k < sizeof name, "parameter name too long");
        const int dil = k_convs[i].block == 4 ? 2 : 1;
        wsss_conv_init(&m->convs[i], ps, name, cfg->dtype, k_convs[i].cin, k_convs[i].cout, 3, 1, dil, dil, 1,
                       cfg->group);
    }
    m->out_channels = 512;
}

void wsss_vgg_reset_parameters(wsss_vgg *m, wsss_rng *rng) {
    for (int i = 0; i < 13; i++) {
        wsss_init_kaiming_normal(m->convs[i].weight, WSSS_FAN_OUT, rng);
        wsss_tensor_fill(m->convs[i].bias, 0.0);
    }
}

/* See resnet.c: without a graph, a consumed temporary can be released at once. */
static void drop(wsss_ctx *ctx, wsss_tensor *t, const wsss_tensor *next) {
    if (!next->grad_fn) wsss_ctx_release(ctx, t);
}

wsss_tensor *wsss_vgg16_deeplab_features(wsss_ctx *ctx, const wsss_vgg *m, wsss_tensor *x,
                                         wsss_tensor *stages[5]) {
    const wsss_pool2d_params pool2 = {.kernel = {2, 2}, .stride = {2, 2}};
    const wsss_pool2d_params pool4 = {.kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1}};
    wsss_tensor *h = x;
    for (int i = 0; i < 13; i++) {
        /* conv + ReLU as one op: no pre-ReLU tensor kept for the backward */
        wsss_tensor *c = wsss_conv2d_relu(ctx, h, m->convs[i].weight, m->convs[i].bias, m->convs[i].p);
        if (h != x) drop(ctx, h, c);
        h = c;
        const int block = k_convs[i].block;
        const int last_of_block = i == 12 || k_convs[i + 1].block != block;
        if (!last_of_block) continue;
        if (stages) stages[block] = h;
        if (block == 4) break;
        wsss_tensor *p = wsss_maxpool2d(ctx, h, block == 3 ? pool4 : pool2);
        if (!stages) drop(ctx, h, p);
        h = p;
    }
    return h;
}
