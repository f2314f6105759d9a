/* ResNet-18/34/50/101/152 in torchvision's layout and key names (see include/wsss/models.h).
 * Construction follows torchvision's _make_layer: with replace_stride_with_dilation a stage keeps
 * stride 1 and multiplies the running dilation by 2; its first block uses the previous dilation and
 * the downsample branch is kept whenever the channel count changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/models.h"

wsss_resnet_config wsss_resnet_config_default(int depth) {
    wsss_resnet_config c;
    memset(&c, 0, sizeof c);
    c.depth = depth;
    c.output_stride = 32;
    c.num_classes = 0;
    c.dtype = WSSS_F32;
    c.group = WSSS_GROUP_BACKBONE;
    c.fc_group = WSSS_GROUP_NEW;
    return c;
}

static int blocks_for_depth(int depth, int n[4], int *bottleneck) {
    static const struct { int depth, bottleneck, n[4]; } table[] = {
        {18, 0, {2, 2, 2, 2}}, {34, 0, {3, 4, 6, 3}}, {50, 1, {3, 4, 6, 3}},
        {101, 1, {3, 4, 23, 3}}, {152, 1, {3, 8, 36, 3}},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].depth != depth) continue;
        memcpy(n, table[i].n, sizeof table[i].n);
        *bottleneck = table[i].bottleneck;
        return 1;
    }
    return 0;
}

static const char *mk(char *buf, size_t n, const char *prefix, const char *fmt, int a, int b, const char *leaf) {
    char mid[128];
    snprintf(mid, sizeof mid, fmt, a, b);
    int k = snprintf(buf, n, "%s%s%s", prefix, mid, leaf);
    WSSS_ASSERT(k > 0 && (size_t)k < n, "parameter name too long");
    return buf;
}

int wsss_resnet_init(wsss_resnet *m, wsss_params *ps, const char *prefix, const wsss_resnet_config *cfg) {
    memset(m, 0, sizeof *m);
    int bottleneck = 0;
    if (!blocks_for_depth(cfg->depth, m->n_blocks, &bottleneck))
        return wsss_error_set("resnet: unsupported depth %d (expected 18, 34, 50, 101 or 152)", cfg->depth);
    int os = cfg->output_stride ? cfg->output_stride : 32;
    if (os != 32 && os != 16 && os != 8)
        return wsss_error_set("resnet%d: unsupported output stride %d (expected 32, 16 or 8)", cfg->depth, os);
    if (os != 32 && !bottleneck)
        return wsss_error_set("resnet%d: output stride %d needs dilation, which basic-block ResNets do not support "
                              "(as in torchvision); use resnet50 or deeper",
                              cfg->depth, os);
    if (cfg->num_classes < 0) return wsss_error_set("resnet%d: negative number of classes", cfg->depth);
    m->cfg = *cfg;
    m->cfg.output_stride = os;
    prefix = prefix ? prefix : "";
    const wsss_dtype dt = cfg->dtype;
    const int g = cfg->group;
    char buf[256];

    wsss_conv_init(&m->conv1, ps, mk(buf, sizeof buf, prefix, "conv1", 0, 0, ""), dt, 3, 64, 7, 2, 3, 1, 0, g);
    wsss_bn_init(&m->bn1, ps, mk(buf, sizeof buf, prefix, "bn1", 0, 0, ""), dt, 64, g);

    const int expansion = bottleneck ? 4 : 1;
    /* torchvision replace_stride_with_dilation: layer3 for output stride 8, layer4 for 16 and 8 */
    const int dilate[4] = {0, 0, os == 8, os <= 16};
    int64_t inplanes = 64;
    int dilation = 1, stride_so_far = 4;
    for (int s = 0; s < 4; s++) {
        const int64_t planes = 64 << s;
        int stride = s == 0 ? 1 : 2;
        const int prev_dilation = dilation;
        if (dilate[s]) {
            dilation *= stride;
            stride = 1;
        }
        stride_so_far *= stride;
        m->stage_stride[s] = stride_so_far;
        m->layers[s] = wsss_xcalloc((size_t)m->n_blocks[s], sizeof(wsss_resnet_block));
        for (int b = 0; b < m->n_blocks[s]; b++) {
            wsss_resnet_block *blk = &m->layers[s][b];
            const int st = b == 0 ? stride : 1;
            const int dil = b == 0 ? prev_dilation : dilation;
            const char *lfmt = "layer%d.%d.";
            char base[96];
            mk(base, sizeof base, prefix, lfmt, s + 1, b, "");
            blk->bottleneck = bottleneck;
            if (bottleneck) {
                wsss_conv_init(&blk->conv1, ps, mk(buf, sizeof buf, base, "conv1", 0, 0, ""), dt, inplanes, planes, 1, 1, 0, 1, 0, g);
                wsss_bn_init(&blk->bn1, ps, mk(buf, sizeof buf, base, "bn1", 0, 0, ""), dt, planes, g);
                wsss_conv_init(&blk->conv2, ps, mk(buf, sizeof buf, base, "conv2", 0, 0, ""), dt, planes, planes, 3, st, dil, dil, 0, g);
                wsss_bn_init(&blk->bn2, ps, mk(buf, sizeof buf, base, "bn2", 0, 0, ""), dt, planes, g);
                wsss_conv_init(&blk->conv3, ps, mk(buf, sizeof buf, base, "conv3", 0, 0, ""), dt, planes, planes * 4, 1, 1, 0, 1, 0, g);
                wsss_bn_init(&blk->bn3, ps, mk(buf, sizeof buf, base, "bn3", 0, 0, ""), dt, planes * 4, g);
            } else {
                wsss_conv_init(&blk->conv1, ps, mk(buf, sizeof buf, base, "conv1", 0, 0, ""), dt, inplanes, planes, 3, st, 1, 1, 0, g);
                wsss_bn_init(&blk->bn1, ps, mk(buf, sizeof buf, base, "bn1", 0, 0, ""), dt, planes, g);
                wsss_conv_init(&blk->conv2, ps, mk(buf, sizeof buf, base, "conv2", 0, 0, ""), dt, planes, planes, 3, 1, 1, 1, 0, g);
                wsss_bn_init(&blk->bn2, ps, mk(buf, sizeof buf, base, "bn2", 0, 0, ""), dt, planes, g);
            }
            if (b == 0 && (stride != 1 || inplanes != planes * expansion)) {
                blk->has_downsample = 1;
                wsss_conv_init(&blk->down_conv, ps, mk(buf, sizeof buf, base, "downsample.0", 0, 0, ""), dt, inplanes,
                               planes * expansion, 1, stride, 0, 1, 0, g);
                wsss_bn_init(&blk->down_bn, ps, mk(buf, sizeof buf, base, "downsample.1", 0, 0, ""), dt,
                             planes * expansion, g);
            }
            inplanes = planes * expansion;
        }
        m->stage_channels[s] = inplanes;
    }
    m->out_channels = inplanes;
    if (cfg->num_classes > 0) {
        m->has_fc = 1;
        wsss_linear_init(&m->fc, ps, mk(buf, sizeof buf, prefix, "fc", 0, 0, ""), dt, inplanes, cfg->num_classes, 1,
                         cfg->fc_group);
    }
    if (cfg->frozen_bn) wsss_resnet_set_frozen_bn(m, 1);
    return WSSS_OK;
}

void wsss_resnet_free(wsss_resnet *m) {
    for (int s = 0; s < 4; s++) free(m->layers[s]);
    memset(m, 0, sizeof *m);
}

void wsss_resnet_reset_parameters(wsss_resnet *m, wsss_rng *rng) {
    wsss_init_kaiming_normal(m->conv1.weight, WSSS_FAN_OUT, rng);
    wsss_bn_reset(&m->bn1);
    for (int s = 0; s < 4; s++) {
        for (int b = 0; b < m->n_blocks[s]; b++) {
            wsss_resnet_block *blk = &m->layers[s][b];
            wsss_init_kaiming_normal(blk->conv1.weight, WSSS_FAN_OUT, rng);
            wsss_bn_reset(&blk->bn1);
            wsss_init_kaiming_normal(blk->conv2.weight, WSSS_FAN_OUT, rng);
            wsss_bn_reset(&blk->bn2);
            if (blk->bottleneck) {
                wsss_init_kaiming_normal(blk->conv3.weight, WSSS_FAN_OUT, rng);
                wsss_bn_reset(&blk->bn3);
            }
            if (blk->has_downsample) {
                wsss_init_kaiming_normal(blk->down_conv.weight, WSSS_FAN_OUT, rng);
                wsss_bn_reset(&blk->down_bn);
            }
        }
    }
    if (m->has_fc) wsss_init_torch_default(m->fc.weight, m->fc.bias, rng);
}

void wsss_resnet_dilate_basic(wsss_resnet *m, int os) {
    const int dilate[4] = {0, 0, os == 8, os <= 16};
    int dilation = 1, stride = 4;
    for (int s = 0; s < 4; s++) {
        if (s > 0 && !dilate[s]) stride *= 2;
        m->stage_stride[s] = stride;
        if (!dilate[s]) continue;
        const int prev = dilation;
        dilation *= 2;
        for (int b = 0; b < m->n_blocks[s]; b++) {
            wsss_resnet_block *blk = &m->layers[s][b];
            const int d1 = b == 0 ? prev : dilation;
            blk->conv1.p.stride[0] = blk->conv1.p.stride[1] = 1;
            blk->conv1.p.dilation[0] = blk->conv1.p.dilation[1] = d1;
            blk->conv1.p.padding[0] = blk->conv1.p.padding[1] = d1;
            blk->conv2.p.dilation[0] = blk->conv2.p.dilation[1] = dilation;
            blk->conv2.p.padding[0] = blk->conv2.p.padding[1] = dilation;
            if (blk->has_downsample) blk->down_conv.p.stride[0] = blk->down_conv.p.stride[1] = 1;
        }
    }
    m->cfg.output_stride = os;
}

void wsss_resnet_set_frozen_bn(wsss_resnet *m, int on) {
    m->cfg.frozen_bn = on ? 1 : 0;
    const int tr = !on;
    wsss_bn_set_trainable(&m->bn1, tr);
    for (int s = 0; s < 4; s++) {
        for (int b = 0; b < m->n_blocks[s]; b++) {
            wsss_resnet_block *blk = &m->layers[s][b];
            wsss_bn_set_trainable(&blk->bn1, tr);
            wsss_bn_set_trainable(&blk->bn2, tr);
            if (blk->bottleneck) wsss_bn_set_trainable(&blk->bn3, tr);
            if (blk->has_downsample) wsss_bn_set_trainable(&blk->down_bn, tr);
        }
    }
}

wsss_bn_mode wsss_resnet_bn_mode(const wsss_resnet *m, int training) {
    if (m->cfg.frozen_bn) return WSSS_BN_FROZEN;
    return training ? WSSS_BN_TRAIN : WSSS_BN_EVAL;
}

/* Inference keeps no graph: a block's temporaries can go as soon as the next op has consumed them
 * (when `next` recorded no node, nothing refers to `t` any more). */
static void drop(wsss_ctx *ctx, wsss_tensor *t, const wsss_tensor *next) {
    if (!next->grad_fn) wsss_ctx_release(ctx, t);
}

/* The block's conv/bn pairs in order: conv1/bn1, conv2/bn2 (, conv3/bn3), the last one adding the
 * identity. */
static int block_pairs(const wsss_resnet_block *blk, const wsss_conv *c[3], const wsss_bn *b[3]) {
    c[0] = &blk->conv1, b[0] = &blk->bn1;
    c[1] = &blk->conv2, b[1] = &blk->bn2;
    c[2] = &blk->conv3, b[2] = &blk->bn3;
    return blk->bottleneck ? 3 : 2;
}

/* Inference: every conv/bn pair is one convolution with the batch norm folded in, and the last
 * one adds the identity and applies the ReLU as post-ops, over the identity's storage when the
 * caller gives x up (consume_x) or the identity is the downsample branch's own output. */
static wsss_tensor *block_forward_eval(wsss_ctx *ctx, const wsss_resnet_block *blk, wsss_tensor *x, int consume_x) {
    const wsss_conv *c[3];
    const wsss_bn *b[3];
    const int n = block_pairs(blk, c, b);
    wsss_tensor *h = x;
    for (int i = 0; i < n - 1; i++) {
        wsss_tensor *t = wsss_conv_bn_eval_forward(ctx, c[i], b[i], h, NULL, 0, 1);
        if (h != x) wsss_ctx_release(ctx, h);
        h = t;
    }
    wsss_tensor *identity = x;
    int own = consume_x;
    if (blk->has_downsample) {
        identity = wsss_conv_bn_eval_forward(ctx, &blk->down_conv, &blk->down_bn, x, NULL, 0, 0);
        own = 1;
    }
    wsss_tensor *y = wsss_conv_bn_eval_forward(ctx, c[n - 1], b[n - 1], h, identity, own, 1);
    wsss_ctx_release(ctx, h);
    if (identity != x && identity != y) wsss_ctx_release(ctx, identity);
    return y;
}

static int block_no_grad(wsss_ctx *ctx, const wsss_resnet_block *blk, wsss_tensor *x) {
    const wsss_conv *c[3];
    const wsss_bn *b[3];
    const int n = block_pairs(blk, c, b);
    for (int i = 0; i < n; i++)
        if (!wsss_conv_bn_no_grad(ctx, c[i], b[i], x)) return 0;
    return !blk->has_downsample || wsss_conv_bn_no_grad(ctx, &blk->down_conv, &blk->down_bn, x);
}

/* Returns the block's output; with consume_x it may be x itself, overwritten (inference). */
static wsss_tensor *block_forward(wsss_ctx *ctx, const wsss_resnet_block *blk, wsss_tensor *x, wsss_bn_mode mode,
                                  int consume_x) {
    if (mode != WSSS_BN_TRAIN && block_no_grad(ctx, blk, x)) return block_forward_eval(ctx, blk, x, consume_x);
    wsss_tensor *out = wsss_conv_bn_forward(ctx, &blk->conv1, &blk->bn1, x, mode, 1);
    wsss_tensor *t = wsss_conv_bn_forward(ctx, &blk->conv2, &blk->bn2, out, mode, blk->bottleneck);
    drop(ctx, out, t);
    out = t;
    if (blk->bottleneck) {
        t = wsss_conv_bn_forward(ctx, &blk->conv3, &blk->bn3, out, mode, 0);
        drop(ctx, out, t);
        out = t;
    }
    wsss_tensor *identity = blk->has_downsample ? wsss_conv_bn_forward(ctx, &blk->down_conv, &blk->down_bn, x, mode, 0) : x;
    wsss_tensor *y = wsss_add_relu(ctx, out, identity); /* relu(out + identity), one op */
    drop(ctx, out, y);
    if (identity != x) drop(ctx, identity, y);
    return y;
}

wsss_tensor *wsss_resnet_features(wsss_ctx *ctx, const wsss_resnet *m, wsss_tensor *x, int training,
                                  wsss_tensor *stages[4]) {
    const wsss_bn_mode mode = wsss_resnet_bn_mode(m, training);
    wsss_tensor *h = wsss_conv_bn_forward(ctx, &m->conv1, &m->bn1, x, mode, 1);
    wsss_pool2d_params pp = {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}};
    wsss_tensor *p = wsss_maxpool2d(ctx, h, pp);
    drop(ctx, h, p);
    h = p;
    for (int s = 0; s < 4; s++) {
        for (int b = 0; b < m->n_blocks[s]; b++) {
            /* stage outputs handed to the caller stay alive */
            int keep = stages && s > 0 && b == 0;
            wsss_tensor *y = block_forward(ctx, &m->layers[s][b], h, mode, !keep);
            if (!keep && y != h) drop(ctx, h, y);
            h = y;
        }
        if (stages) stages[s] = h;
    }
    return h;
}

wsss_tensor *wsss_resnet_classify(wsss_ctx *ctx, const wsss_resnet *m, wsss_tensor *features) {
    WSSS_ASSERT(m->has_fc, "resnet built without fc (num_classes = 0)");
    return wsss_gap_linear(ctx, &m->fc, features);
}
