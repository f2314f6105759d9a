/* The zoo's heads as modules (models.h, wsss_head_ops): each wraps one head of heads.c (or the
 * torchvision ResNet's fc) behind reset / forward / class bias, so wsss_model holds any of them
 * the same way. */
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/models.h"

/* ---- fc: torchvision's ResNet classifier (reset with the ResNet, which owns its init order) */
static const char *const fc_names[] = {"fc.", NULL};

static void fc_reset(void *impl, wsss_rng *rng) {
    (void)impl;
    (void)rng;
}

static wsss_tensor *fc_forward(wsss_ctx *ctx, void *impl, wsss_tensor *f, wsss_tensor *const *stages, int training,
                               wsss_rng *rng, wsss_tensor **features, wsss_tensor **cam) {
    (void)stages;
    (void)rng;
    (void)training;
    const wsss_linear_layer *fc = impl;
    *features = f;
    wsss_tensor *out = wsss_gap_linear(ctx, fc, f);
    if (cam) *cam = wsss_linear_cam(ctx, fc->weight, f);
    return out;
}

static wsss_tensor *fc_bias(void *impl) { return ((wsss_linear_layer *)impl)->bias; }

static const wsss_head_ops fc_ops = {WSSS_HEAD_FC, "fc logits N,C (torchvision's output)", fc_names, fc_reset,
                                     fc_forward, fc_bias, 0};

void wsss_head_fc(wsss_head *h, const wsss_linear_layer *fc) {
    wsss_linear_layer *l = wsss_xmalloc(sizeof *l);
    *l = *fc; /* the tensors stay the registry's */
    h->ops = &fc_ops;
    h->impl = l;
}

/* ---- the MCIS basic CAM head */
static const char *const cam_names[] = {"extra_convs.", "extra_last_conv.", NULL};

static void cam_reset(void *impl, wsss_rng *rng) { wsss_cam_head_reset_parameters(impl, rng); }

static wsss_tensor *cam_forward(wsss_ctx *ctx, void *impl, wsss_tensor *f, wsss_tensor *const *stages, int training,
                                wsss_rng *rng, wsss_tensor **features, wsss_tensor **cam) {
    (void)stages;
    (void)rng;
    (void)training;
    const wsss_cam_head *h = impl;
    *features = wsss_cam_head_features(ctx, h, f);
    wsss_tensor *c = wsss_cam_head_cam(ctx, h, *features);
    if (cam) *cam = c;
    return wsss_spatial_mean(ctx, c);
}

static wsss_tensor *cam_bias(void *impl) { return ((wsss_cam_head *)impl)->cls.bias; }

static const wsss_head_ops cam_ops = {WSSS_HEAD_CAM, "class scores N,C = spatial mean of the CAM (MCIS basic head)",
                                      cam_names, cam_reset, cam_forward, cam_bias, 0};

void wsss_head_cam(wsss_head *h, wsss_params *ps, int64_t in_channels, int num_classes, wsss_dtype dt) {
    wsss_cam_head *c = wsss_xcalloc(1, sizeof *c);
    const wsss_cam_head_config hc = {.in_channels = in_channels, .mid_channels = 512, .n_extra = 3,
                                     .num_classes = num_classes, .cls_bias = 1, .dtype = dt, .group = WSSS_GROUP_NEW};
    wsss_cam_head_init(c, ps, "extra_convs", "extra_last_conv", &hc);
    h->ops = &cam_ops;
    h->impl = c;
}

/* ---- segmentation heads under "classifier." */
static const char *const seg_names[] = {"classifier.", NULL};

const char *wsss_seg_head_output_bias(wsss_head_kind k) {
    switch (k) {
    case WSSS_HEAD_LARGEFOV: return "classifier.fc8.bias";
    case WSSS_HEAD_ASPP: return "classifier.c0.bias"; /* each branch gives the class scores */
    case WSSS_HEAD_DEEPLABV3PLUS: return "classifier.fuse.6.bias";
    default: return NULL;
    }
}
static const char k_seg_doc[] = "segmentation logits N,C,h,w at the feature resolution";

static wsss_tensor *no_bias(void *impl) {
    (void)impl;
    return NULL;
}

static void largefov_reset(void *impl, wsss_rng *rng) { wsss_largefov_reset_parameters(impl, rng); }

static wsss_tensor *largefov_fwd(wsss_ctx *ctx, void *impl, wsss_tensor *f, wsss_tensor *const *stages, int training,
                                 wsss_rng *rng, wsss_tensor **features, wsss_tensor **cam) {
    (void)stages;
    *features = f;
    if (cam) *cam = NULL;
    return wsss_largefov_forward(ctx, impl, f, training, rng);
}

static const wsss_head_ops largefov_ops = {WSSS_HEAD_LARGEFOV, k_seg_doc, seg_names, largefov_reset, largefov_fwd,
                                           no_bias, 0};

void wsss_head_largefov(wsss_head *h, wsss_params *ps, const wsss_largefov_config *cfg) {
    wsss_largefov_head *l = wsss_xcalloc(1, sizeof *l);
    wsss_largefov_init(l, ps, seg_names[0], cfg);
    h->ops = &largefov_ops;
    h->impl = l;
}

static void aspp_reset(void *impl, wsss_rng *rng) { wsss_aspp_reset_parameters(impl, rng); }

static wsss_tensor *aspp_fwd(wsss_ctx *ctx, void *impl, wsss_tensor *f, wsss_tensor *const *stages, int training,
                             wsss_rng *rng, wsss_tensor **features, wsss_tensor **cam) {
    (void)stages;
    (void)rng;
    (void)training;
    *features = f;
    if (cam) *cam = NULL;
    return wsss_aspp_forward(ctx, impl, f);
}

static const wsss_head_ops aspp_ops = {WSSS_HEAD_ASPP, k_seg_doc, seg_names, aspp_reset, aspp_fwd, no_bias, 0};

void wsss_head_aspp(wsss_head *h, wsss_params *ps, const wsss_aspp_config *cfg) {
    wsss_aspp_head *a = wsss_xcalloc(1, sizeof *a);
    wsss_aspp_init(a, ps, seg_names[0], cfg);
    h->ops = &aspp_ops;
    h->impl = a;
}

static void v3plus_reset(void *impl, wsss_rng *rng) { wsss_deeplabv3plus_reset_parameters(impl, rng); }

static wsss_tensor *v3plus_fwd(wsss_ctx *ctx, void *impl, wsss_tensor *f, wsss_tensor *const *stages, int training,
                               wsss_rng *rng, wsss_tensor **features, wsss_tensor **cam) {
    WSSS_ASSERT(stages && stages[0], "deeplabv3plus: the backbone's layer1 output is needed");
    if (cam) *cam = NULL;
    return wsss_deeplabv3plus_forward(ctx, impl, f, stages[0], training, rng, features);
}

static const wsss_head_ops v3plus_ops = {WSSS_HEAD_DEEPLABV3PLUS,
                                         "segmentation logits N,C,h,w at the decoder's resolution (stride 4)",
                                         seg_names,
                                         v3plus_reset,
                                         v3plus_fwd,
                                         no_bias,
                                         1};

void wsss_head_deeplabv3plus(wsss_head *h, wsss_params *ps, const wsss_deeplabv3plus_config *cfg) {
    wsss_deeplabv3plus_head *d = wsss_xcalloc(1, sizeof *d);
    wsss_deeplabv3plus_init(d, ps, seg_names[0], cfg);
    h->ops = &v3plus_ops;
    h->impl = d;
}

const wsss_head_ops *const wsss_head_kinds[] = {&fc_ops, &cam_ops, &largefov_ops, &aspp_ops, &v3plus_ops, NULL};

void wsss_head_free(wsss_head *h) {
    free(h->impl);
    memset(h, 0, sizeof *h);
}
