/* The model zoo (models.h): one arch grammar parsed into a wsss_arch, one builder for every
 * network of the pipeline (backbone + head module), strict loading of whole models and of
 * backbones (which tensors are the backbone's is recorded at build time), input validation and a
 * uniform forward used by the classifier, the segmenter, `wsss forward` and the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/models.h"

static const char k_arch_help[] =
    "resnet18|resnet34|resnet50|resnet101|resnet152[-os16|-os8][-largefov|-aspp|-deeplabv3plus], "
    "vgg16-deeplab[-largefov|-aspp]";

const char *wsss_model_arch_help(void) { return k_arch_help; }

static int ends_with(const char *s, size_t len, const char *suffix) {
    size_t k = strlen(suffix);
    return len >= k && memcmp(s + len - k, suffix, k) == 0;
}

static int bad_arch(const char *arch, const char *why) {
    return wsss_error_set("unknown model architecture \"%s\"%s%s (expected %s)", arch, why ? ": " : "", why ? why : "",
                          k_arch_help);
}

/* ---- the grammar: BACKBONE[-osN][-HEAD], parsed from the end */

int wsss_arch_parse(const char *arch, wsss_arch *a) {
    memset(a, 0, sizeof *a);
    if (!arch || strlen(arch) >= sizeof a->name) return bad_arch(arch ? arch : "", "name too long");
    snprintf(a->name, sizeof a->name, "%s", arch);
    size_t len = strlen(arch);
    static const struct {
        const char *suffix;
        wsss_head_kind head;
    } heads[] = {{"-largefov", WSSS_HEAD_LARGEFOV}, {"-aspp", WSSS_HEAD_ASPP}, {"-deeplabv3plus", WSSS_HEAD_DEEPLABV3PLUS}};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        if (ends_with(arch, len, heads[i].suffix)) {
            a->seg_head = heads[i].head;
            len -= strlen(heads[i].suffix);
            break;
        }
    static const struct {
        const char *suffix;
        int os;
    } strides[] = {{"-os32", 32}, {"-os16", 16}, {"-os8", 8}};
    int os = 0;
    for (size_t i = 0; i < sizeof strides / sizeof strides[0]; i++)
        if (ends_with(arch, len, strides[i].suffix)) {
            os = strides[i].os;
            len -= strlen(strides[i].suffix);
            break;
        }
    char base[64];
    memcpy(base, arch, len);
    base[len] = 0;
    const int v3plus = a->seg_head == WSSS_HEAD_DEEPLABV3PLUS;
    if (v3plus && os == 32) return bad_arch(arch, "DeepLab v3+ runs at output stride 16 or 8");
    if (strcmp(base, "vgg16-deeplab") == 0) {
        if (v3plus) return bad_arch(arch, "DeepLab v3+ needs a ResNet backbone (its decoder reads layer1)");
        if (os && os != 8) return bad_arch(arch, "vgg16-deeplab has a fixed output stride of 8");
        a->backbone = WSSS_BACKBONE_VGG16_DEEPLAB;
        a->depth = 16;
        a->output_stride = 8;
        return WSSS_OK;
    }
    if (strncmp(base, "resnet", 6) == 0 && base[6] >= '1' && base[6] <= '9') {
        char *end;
        long depth = strtol(base + 6, &end, 10);
        if (*end || (depth != 18 && depth != 34 && depth != 50 && depth != 101 && depth != 152))
            return bad_arch(arch, "ResNet depths are 18, 34, 50, 101 and 152");
        a->backbone = WSSS_BACKBONE_RESNET;
        a->depth = (int)depth;
        a->output_stride = os ? os : v3plus ? 16 : 32;
        return WSSS_OK;
    }
    return bad_arch(arch, NULL);
}

/* ---- building */

wsss_model_opts wsss_model_opts_default(void) {
    wsss_model_opts o;
    memset(&o, 0, sizeof o);
    o.num_classes = -1;
    o.dtype = WSSS_F32;
    o.frozen_bn = -1;
    return o;
}

static int build_impl(wsss_model *m, const wsss_arch *parsed, const wsss_model_opts *o) {
    m->a = *parsed;
    const char *arch = m->a.name;
    if (o->dtype != WSSS_F32 && o->dtype != WSSS_F64) return wsss_error_set("model dtype must be F32 or F64");
    const wsss_arch *a = &m->a;
    const int seg = a->seg_head != WSSS_HEAD_NONE;
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    int num_classes = o->num_classes;
    if (num_classes < 0) num_classes = seg ? 21 : a->backbone == WSSS_BACKBONE_VGG16_DEEPLAB ? 0 : 1000;
    if (seg && num_classes == 0) return wsss_error_set("%s: a segmentation head needs --num-classes > 0", arch);
    if (num_classes > 1000000) return wsss_error_set("%s: implausible number of classes %d", arch, num_classes);
    m->num_classes = num_classes;
    m->backbone_prefix = seg ? "backbone." : "";

    int64_t feat_channels;
    if (a->backbone == WSSS_BACKBONE_VGG16_DEEPLAB) {
        m->min_input = 8;
        wsss_vgg_config vc = {.dtype = o->dtype, .group = WSSS_GROUP_BACKBONE};
        wsss_vgg16_deeplab_init(&m->vgg, &m->params, m->backbone_prefix, &vc);
        feat_channels = m->vgg.out_channels;
        m->n_backbone = m->params.n;
        if (!seg && num_classes > 0) wsss_head_cam(&m->head, &m->params, feat_channels, num_classes, o->dtype);
    } else {
        m->min_input = 1;
        const int basic = a->depth == 18 || a->depth == 34; /* torchvision dilates bottlenecks only */
        wsss_resnet_config rc = wsss_resnet_config_default(a->depth);
        rc.output_stride = basic ? 32 : a->output_stride;
        rc.num_classes = seg ? 0 : num_classes;
        rc.frozen_bn = o->frozen_bn < 0 ? seg : o->frozen_bn != 0; /* DeepLab fine-tuning (refinement.md §c) */
        rc.dtype = o->dtype;
        if (wsss_resnet_init(&m->resnet, &m->params, m->backbone_prefix, &rc)) return wsss_error_prefix("%s", arch);
        if (basic && a->output_stride != 32) wsss_resnet_dilate_basic(&m->resnet, a->output_stride);
        feat_channels = m->resnet.out_channels;
        /* the fc is torchvision's, registered last by the ResNet: the head, not the backbone */
        m->n_backbone = m->params.n - (m->resnet.has_fc ? 2 : 0);
        if (m->resnet.has_fc) {
            WSSS_ASSERT(m->params.items[m->n_backbone].t == m->resnet.fc.weight, "the fc registered last");
            wsss_head_fc(&m->head, &m->resnet.fc);
        }
    }

    if (a->seg_head == WSSS_HEAD_LARGEFOV) {
        wsss_largefov_config c = wsss_largefov_config_default(feat_channels, num_classes);
        if (o->largefov_hidden) c.hidden = o->largefov_hidden;
        if (o->largefov_dilation) c.dilation = o->largefov_dilation;
        c.dtype = o->dtype;
        wsss_head_largefov(&m->head, &m->params, &c);
    } else if (a->seg_head == WSSS_HEAD_ASPP) {
        wsss_aspp_config c = wsss_aspp_config_default(feat_channels, num_classes);
        c.dtype = o->dtype;
        wsss_head_aspp(&m->head, &m->params, &c);
    } else if (a->seg_head == WSSS_HEAD_DEEPLABV3PLUS) {
        wsss_deeplabv3plus_config c = wsss_deeplabv3plus_config_default(feat_channels, m->resnet.stage_channels[0],
                                                                        num_classes, a->output_stride);
        if (o->v3plus_channels) c.channels = o->v3plus_channels;
        if (o->v3plus_rate)
            for (int i = 0; i < 3; i++) c.rates[i] = o->v3plus_rate * (i + 1);
        c.dtype = o->dtype;
        wsss_head_deeplabv3plus(&m->head, &m->params, &c);
    }
    return WSSS_OK;
}

int wsss_model_build(wsss_model *m, const wsss_arch *a, const wsss_model_opts *o) {
    memset(m, 0, sizeof *m);
    wsss_params_init(&m->params);
    int rc = build_impl(m, a, o);
    if (rc != WSSS_OK) wsss_model_free(m); /* keeps the message */
    return rc;
}

int wsss_model_create(wsss_model *m, const char *arch, int num_classes, wsss_dtype dtype) {
    memset(m, 0, sizeof *m);
    wsss_arch a;
    if (wsss_arch_parse(arch, &a) != WSSS_OK) return WSSS_ERR;
    wsss_model_opts o = wsss_model_opts_default();
    o.num_classes = num_classes;
    o.dtype = dtype;
    return wsss_model_build(m, &a, &o);
}

void wsss_model_free(wsss_model *m) {
    if (m->a.backbone == WSSS_BACKBONE_RESNET) wsss_resnet_free(&m->resnet);
    wsss_head_free(&m->head);
    wsss_params_free(&m->params);
    memset(m, 0, sizeof *m);
}

void wsss_model_reset_parameters(wsss_model *m, wsss_rng *rng) {
    if (m->a.backbone == WSSS_BACKBONE_RESNET)
        wsss_resnet_reset_parameters(&m->resnet, rng);
    else
        wsss_vgg_reset_parameters(&m->vgg, rng);
    if (m->head.ops) m->head.ops->reset(m->head.impl, rng);
}

wsss_head_kind wsss_model_head_kind(const wsss_model *m) { return m->head.ops ? m->head.ops->kind : WSSS_HEAD_NONE; }

const char *wsss_model_output_doc(const wsss_model *m) {
    if (m->head.ops) return m->head.ops->output_doc;
    return m->a.backbone == WSSS_BACKBONE_RESNET ? "layer4 feature map N,C,h,w" : "conv5_3 feature map N,512,h,w";
}

int wsss_model_check_input(const wsss_model *m, const wsss_tensor *x, const char *what) {
    char s[96];
    const wsss_dtype want = m->params.n ? m->params.items[0].t->dtype : WSSS_F32;
    if (x->ndim != 4 || x->shape[1] != 3)
        return wsss_error_set("%s: shape %s, expected N,3,H,W (a batch of RGB images)", what,
                              wsss_shape_str(x, s, sizeof s));
    if (x->shape[0] < 1 || x->shape[2] < m->min_input || x->shape[3] < m->min_input)
        return wsss_error_set("%s: shape %s, expected N >= 1 and H, W >= %lld for %s", what,
                              wsss_shape_str(x, s, sizeof s), (long long)m->min_input, m->arch);
    if (x->dtype != want)
        return wsss_error_set("%s: dtype %s, expected %s", what, wsss_dtype_name(x->dtype), wsss_dtype_name(want));
    return WSSS_OK;
}

wsss_tensor *wsss_model_forward(wsss_ctx *ctx, wsss_model *m, wsss_tensor *x, int training,
                                wsss_tensor **features, wsss_tensor **cam) {
    const int want_stages = m->head.ops && m->head.ops->needs_stages;
    wsss_tensor *stages[4] = {0};
    wsss_tensor *f = m->a.backbone == WSSS_BACKBONE_RESNET
                         ? wsss_resnet_features(ctx, &m->resnet, x, training, want_stages ? stages : NULL)
                         : wsss_vgg16_deeplab_features(ctx, &m->vgg, x, NULL);
    wsss_tensor *out = f, *hf = f;
    if (cam) *cam = NULL;
    if (m->head.ops)
        out = m->head.ops->forward(ctx, m->head.impl, f, want_stages ? stages : NULL, training, m->rng, &hf, cam);
    if (features) *features = hf;
    return out;
}
