/* By-name model construction (arch strings of include/wsss/models.h), strict weight loading that
 * tolerates the num_batches_tracked buffers old torchvision files lack, input validation and a
 * uniform forward used by `wsss forward` and the tests. */
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/models.h"

static const char k_arch_help[] =
    "resnet18|resnet34|resnet50|resnet101|resnet152[-os16|-os8][-largefov|-aspp], "
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

int wsss_model_create(wsss_model *m, const char *arch, int num_classes, wsss_dtype dtype) {
    memset(m, 0, sizeof *m);
    wsss_params_init(&m->params);
    if (!arch || strlen(arch) >= sizeof m->arch) return bad_arch(arch ? arch : "", "name too long");
    if (dtype != WSSS_F32 && dtype != WSSS_F64) return wsss_error_set("model dtype must be F32 or F64");
    snprintf(m->arch, sizeof m->arch, "%s", arch);

    /* parse BACKBONE[-osN][-HEAD] from the end */
    size_t len = strlen(arch);
    wsss_head_kind seg = WSSS_HEAD_NONE;
    if (ends_with(arch, len, "-largefov")) {
        seg = WSSS_HEAD_LARGEFOV;
        len -= strlen("-largefov");
    } else if (ends_with(arch, len, "-aspp")) {
        seg = WSSS_HEAD_ASPP;
        len -= strlen("-aspp");
    }
    int os = 0;
    if (ends_with(arch, len, "-os16")) {
        os = 16;
        len -= 5;
    } else if (ends_with(arch, len, "-os8")) {
        os = 8;
        len -= 4;
    } else if (ends_with(arch, len, "-os32")) {
        os = 32;
        len -= 5;
    }
    char base[64];
    memcpy(base, arch, len);
    base[len] = 0;

    const char *prefix = seg ? "backbone." : "";
    if (num_classes < 0) num_classes = seg ? 21 : (strcmp(base, "vgg16-deeplab") == 0 ? 0 : 1000);
    if (seg && num_classes == 0) return wsss_error_set("%s: a segmentation head needs --num-classes > 0", arch);
    if (num_classes > 1000000) return wsss_error_set("%s: implausible number of classes %d", arch, num_classes);
    m->num_classes = num_classes;

    int64_t feat_channels;
    if (strcmp(base, "vgg16-deeplab") == 0) {
        if (os && os != 8) return bad_arch(arch, "vgg16-deeplab has a fixed output stride of 8");
        m->backbone = WSSS_BACKBONE_VGG16_DEEPLAB;
        m->min_input = 8;
        wsss_vgg_config vc = {.dtype = dtype, .group = WSSS_GROUP_BACKBONE};
        wsss_vgg16_deeplab_init(&m->vgg, &m->params, prefix, &vc);
        feat_channels = m->vgg.out_channels;
        if (!seg && num_classes > 0) {
            /* the MCIS basic classifier head */
            m->head = WSSS_HEAD_CAM;
            wsss_cam_head_config hc = {.in_channels = 512, .mid_channels = 512, .n_extra = 3,
                                       .num_classes = num_classes, .cls_bias = 1, .dtype = dtype,
                                       .group = WSSS_GROUP_NEW};
            wsss_cam_head_init(&m->cam, &m->params, "extra_convs", "extra_last_conv", &hc);
        }
    } else if (strncmp(base, "resnet", 6) == 0 && base[6] >= '1' && base[6] <= '9') {
        char *end;
        long depth = strtol(base + 6, &end, 10);
        if (*end || (depth != 18 && depth != 34 && depth != 50 && depth != 101 && depth != 152))
            return bad_arch(arch, "ResNet depths are 18, 34, 50, 101 and 152");
        m->backbone = WSSS_BACKBONE_RESNET;
        m->min_input = 1;
        wsss_resnet_config rc = wsss_resnet_config_default((int)depth);
        rc.output_stride = os ? os : 32;
        rc.num_classes = seg ? 0 : num_classes;
        rc.frozen_bn = seg != WSSS_HEAD_NONE; /* DeepLab fine-tuning (refinement.md §c) */
        rc.dtype = dtype;
        if (wsss_resnet_init(&m->resnet, &m->params, prefix, &rc)) {
            wsss_error_prefix("%s", arch);
            wsss_model_free(m);
            return WSSS_ERR;
        }
        feat_channels = m->resnet.out_channels;
        if (!seg && num_classes > 0) m->head = WSSS_HEAD_FC;
    } else {
        return bad_arch(arch, NULL);
    }

    if (seg == WSSS_HEAD_LARGEFOV) {
        m->head = seg;
        wsss_largefov_config c = wsss_largefov_config_default(feat_channels, num_classes);
        c.dtype = dtype;
        wsss_largefov_init(&m->largefov, &m->params, "classifier.", &c);
    } else if (seg == WSSS_HEAD_ASPP) {
        m->head = seg;
        wsss_aspp_config c = wsss_aspp_config_default(feat_channels, num_classes);
        c.dtype = dtype;
        wsss_aspp_init(&m->aspp, &m->params, "classifier.", &c);
    }
    return WSSS_OK;
}

void wsss_model_free(wsss_model *m) {
    if (m->backbone == WSSS_BACKBONE_RESNET) wsss_resnet_free(&m->resnet);
    wsss_params_free(&m->params);
    memset(m, 0, sizeof *m);
}

void wsss_model_reset_parameters(wsss_model *m, wsss_rng *rng) {
    if (m->backbone == WSSS_BACKBONE_RESNET)
        wsss_resnet_reset_parameters(&m->resnet, rng);
    else
        wsss_vgg_reset_parameters(&m->vgg, rng);
    switch (m->head) {
    case WSSS_HEAD_CAM: wsss_cam_head_reset_parameters(&m->cam, rng); break;
    case WSSS_HEAD_LARGEFOV: wsss_largefov_reset_parameters(&m->largefov, rng); break;
    case WSSS_HEAD_ASPP: wsss_aspp_reset_parameters(&m->aspp, rng); break;
    default: break; /* the fc is reset with the resnet */
    }
}

const char *wsss_model_output_doc(const wsss_model *m) {
    switch (m->head) {
    case WSSS_HEAD_FC: return "fc logits N,C (torchvision's output)";
    case WSSS_HEAD_CAM: return "class scores N,C = spatial mean of the CAM (MCIS basic head)";
    case WSSS_HEAD_LARGEFOV:
    case WSSS_HEAD_ASPP: return "segmentation logits N,C,h,w at the feature resolution";
    default:
        return m->backbone == WSSS_BACKBONE_RESNET ? "layer4 feature map N,C,h,w" : "conv5_3 feature map N,512,h,w";
    }
}

static int ends_with_str(const char *s, const char *suffix) { return ends_with(s, strlen(s), suffix); }

int wsss_model_load(wsss_model *m, const char *path) {
    wsss_safetensors *st;
    if (wsss_st_open(path, &st)) return WSSS_ERR;
    /* a registry view without the num_batches_tracked buffers the file lacks (PyTorch's BatchNorm
     * accepts such files too); the tensors stay owned by m->params */
    wsss_params view = m->params;
    view.items = wsss_xmalloc(sizeof(wsss_param) * (size_t)(m->params.n + 1));
    view.n = 0;
    wsss_tensor **absent = wsss_xmalloc(sizeof(wsss_tensor *) * (size_t)(m->params.n + 1));
    int n_absent = 0;
    for (int i = 0; i < m->params.n; i++) {
        const wsss_param *p = &m->params.items[i];
        if (p->kind == WSSS_KIND_BUFFER && ends_with_str(p->t->name, ".num_batches_tracked") &&
            !wsss_st_find(st, p->t->name)) {
            absent[n_absent++] = p->t;
            continue;
        }
        view.items[view.n++] = *p;
    }
    wsss_params_load_opts o = {0};
    o.strict = 1;
    int rc = wsss_params_load_st(&view, st, &o, NULL);
    if (rc == WSSS_OK)
        for (int i = 0; i < n_absent; i++) wsss_tensor_fill(absent[i], 0.0);
    free(view.items);
    free(absent);
    wsss_st_close(st);
    if (rc) wsss_error_prefix("model %s", m->arch);
    return rc;
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
    wsss_tensor *f = m->backbone == WSSS_BACKBONE_RESNET ? wsss_resnet_features(ctx, &m->resnet, x, training, NULL)
                                                          : wsss_vgg16_deeplab_features(ctx, &m->vgg, x, NULL);
    wsss_tensor *out = f, *c = NULL;
    switch (m->head) {
    case WSSS_HEAD_FC:
        out = wsss_resnet_classify(ctx, &m->resnet, f);
        if (cam) c = wsss_linear_cam(ctx, m->resnet.fc.weight, f);
        break;
    case WSSS_HEAD_CAM:
        f = wsss_cam_head_features(ctx, &m->cam, f);
        c = wsss_cam_head_cam(ctx, &m->cam, f);
        out = wsss_spatial_mean(ctx, c);
        break;
    case WSSS_HEAD_LARGEFOV: out = wsss_largefov_forward(ctx, &m->largefov, f, training, NULL); break;
    case WSSS_HEAD_ASPP: out = wsss_aspp_forward(ctx, &m->aspp, f); break;
    default: break;
    }
    if (features) *features = f;
    if (cam) *cam = c;
    return out;
}
