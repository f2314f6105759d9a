/* Backbones and heads with PyTorch state_dict names, and a by-name model constructor.
 *
 * Backbones
 *  - ResNet-18/34/50/101/152 in torchvision's layout (v1.5: a bottleneck's stride sits in its 3x3
 *    conv; downsample = 1x1 conv + BN), keys "conv1.weight", "bn1.*", "layer1.0.conv1.weight", ...,
 *    "fc.weight". Output stride 16 or 8 replaces the stride of layer4 (and layer3) by dilation
 *    exactly as torchvision's replace_stride_with_dilation (bottleneck ResNets only, like
 *    torchvision). BN modes: train (batch statistics), eval, or frozen (running statistics and no
 *    affine gradient, the DeepLab fine-tuning setting).
 *  - VGG16 in DeepLab form (mcis.md §2): torchvision vgg16 conv keys "features.{0,2,5,...,28}.*",
 *    pool4 3x3/s1/p1, conv5 dilation 2, no pool5: output stride 8, 512 channels.
 * Heads (refinement.md §c, mcis.md §2)
 *  - CAM head: n x (3x3 conv + ReLU) then a 1x1 conv to C classes; scores = spatial mean of the CAM.
 *  - GAP + linear (a ResNet's fc); its bias-free CAM is wsss_linear_cam.
 *  - DeepLab-LargeFOV: 3x3 conv dilation 12 -> ReLU -> 1x1 -> ReLU -> 1x1 to C (fc6, fc7, fc8).
 *  - DeepLab-v2 ASPP: 3x3 convs with dilations 6/12/18/24 to C, summed (c0..c3).
 *
 * Every init function registers tensors under `prefix` ("" or e.g. "backbone.") in a caller's
 * registry, with optimizer groups: backbone weights/biases cfg.group/+1 (default 0/1), new layers
 * (fc, heads) 2/3. Parameters start as PyTorch's constructors leave them only after
 * *_reset_parameters (registration zero-fills them). Models store no activations: forward
 * functions take a graph context. */
#ifndef WSSS_MODELS_H
#define WSSS_MODELS_H

#include "wsss/nn.h"

/* ------------------------------------------------------------------ ResNet */
typedef struct wsss_resnet_config {
    int depth;         /* 18, 34 (basic blocks), 50, 101, 152 (bottlenecks) */
    int output_stride; /* 32 (default), 16 or 8 */
    int num_classes;   /* fc outputs (torchvision: 1000); 0 = no fc */
    int frozen_bn;     /* BN always uses running statistics and gets no affine gradient */
    wsss_dtype dtype;  /* F32; F64 runs the reference kernels (for checks) */
    int group;         /* optimizer group of backbone weights (biases: group + 1) */
    int fc_group;      /* optimizer group of fc.weight (fc.bias: fc_group + 1) */
} wsss_resnet_config;

/* depth, output stride 32, no fc, BN not frozen, F32, groups 0 and 2. */
wsss_resnet_config wsss_resnet_config_default(int depth);

typedef struct wsss_resnet_block {
    int bottleneck;
    wsss_conv conv1, conv2, conv3; /* conv3/bn3: bottleneck only */
    wsss_bn bn1, bn2, bn3;
    int has_downsample;
    wsss_conv down_conv; /* "downsample.0" */
    wsss_bn down_bn;     /* "downsample.1" */
} wsss_resnet_block;

typedef struct wsss_resnet {
    wsss_resnet_config cfg;
    wsss_conv conv1;
    wsss_bn bn1;
    int n_blocks[4];
    wsss_resnet_block *layers[4];
    int has_fc;
    wsss_linear_layer fc;
    int64_t stage_channels[4]; /* channels of layer1..layer4 outputs */
    int stage_stride[4];       /* their output strides (e.g. 4, 8, 8, 8 for output stride 8) */
    int64_t out_channels;      /* = stage_channels[3]: 512 or 2048 */
} wsss_resnet;

/* Bad depth/output stride combinations are user errors (WSSS_ERR with a message). */
int wsss_resnet_init(wsss_resnet *m, wsss_params *ps, const char *prefix, const wsss_resnet_config *cfg);
void wsss_resnet_free(wsss_resnet *m); /* frees the block arrays; the registry owns the tensors */
/* torchvision's init: convs kaiming_normal(fan_out, relu), BN weight 1 / bias 0, fc PyTorch default. */
void wsss_resnet_reset_parameters(wsss_resnet *m, wsss_rng *rng);
/* torchvision's replace_stride_with_dilation for a basic-block ResNet already built at output
 * stride 32 (torchvision refuses dilation for basic blocks; the WSSS methods want resnet18/34 at
 * 16 or 8): each dilated stage keeps stride 1 and doubles the dilation, its first block's first
 * conv keeps the previous dilation, the downsample conv loses its stride. os: 8 or 16. Parameter
 * shapes and names are unchanged, so the same weights load. */
void wsss_resnet_dilate_basic(wsss_resnet *m, int os);
/* Frozen BN: forward uses running statistics, BN weight/bias get requires_grad = 0. */
void wsss_resnet_set_frozen_bn(wsss_resnet *m, int on);
/* BN mode the forward uses: FROZEN if frozen, else TRAIN when training, EVAL otherwise. */
wsss_bn_mode wsss_resnet_bn_mode(const wsss_resnet *m, int training);
/* Stem and layer1..layer4 on x (N,3,H,W). stages (may be NULL) receives the four layer outputs.
 * Returns layer4's output (N, out_channels, ceil(H/os'), ...). */
wsss_tensor *wsss_resnet_features(wsss_ctx *ctx, const wsss_resnet *m, wsss_tensor *x, int training,
                                  wsss_tensor *stages[4]);
/* avgpool + flatten + fc on a feature map: N, num_classes (the torchvision logits). */
wsss_tensor *wsss_resnet_classify(wsss_ctx *ctx, const wsss_resnet *m, wsss_tensor *features);

/* ------------------------------------------------------------------ VGG16 (DeepLab form) */
typedef struct wsss_vgg_config {
    wsss_dtype dtype;
    int group; /* conv weights (biases: group + 1) */
} wsss_vgg_config;

typedef struct wsss_vgg {
    wsss_vgg_config cfg;
    wsss_conv convs[13]; /* features.0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28 */
    int64_t out_channels; /* 512 */
} wsss_vgg;

void wsss_vgg16_deeplab_init(wsss_vgg *m, wsss_params *ps, const char *prefix, const wsss_vgg_config *cfg);
/* torchvision's vgg init: kaiming_normal(fan_out, relu), biases 0. */
void wsss_vgg_reset_parameters(wsss_vgg *m, wsss_rng *rng);
/* conv1_1 .. conv5_3 (ReLU'd). stages (may be NULL) receives the ReLU'd output of each block's
 * last conv (before its pool). Returns conv5_3's output, N,512,H8,W8 with
 * H8 = floor(floor(floor(H/2)/2)/2). */
wsss_tensor *wsss_vgg16_deeplab_features(wsss_ctx *ctx, const wsss_vgg *m, wsss_tensor *x,
                                         wsss_tensor *stages[5]);

/* ------------------------------------------------------------------ heads */
#define WSSS_CAM_HEAD_MAX_EXTRA 4

typedef struct wsss_cam_head_config {
    int64_t in_channels;
    int64_t mid_channels; /* channels of the extra convs */
    int n_extra;          /* 3x3 convs (pad 1, bias, ReLU) before the classifier; 0..4 */
    int num_classes;
    int cls_bias;         /* bias on the 1x1 classifier */
    wsss_dtype dtype;
    int group;            /* default WSSS_GROUP_NEW */
} wsss_cam_head_config;

typedef struct wsss_cam_head {
    wsss_cam_head_config cfg;
    wsss_conv extra[WSSS_CAM_HEAD_MAX_EXTRA];
    wsss_conv cls;
} wsss_cam_head;

/* Extra convs are "<extra_name>.0", ".2", ".4", ... (an nn.Sequential with ReLUs in between),
 * the classifier "<cls_name>"; MCIS: "extra_convs", "extra_last_conv". Names include the prefix. */
void wsss_cam_head_init(wsss_cam_head *h, wsss_params *ps, const char *extra_name, const char *cls_name,
                        const wsss_cam_head_config *cfg);
/* MCIS init: every conv N(0, sqrt(2 / (k*k*Cout))), biases 0. */
void wsss_cam_head_reset_parameters(wsss_cam_head *h, wsss_rng *rng);
/* The extra convs (ReLU'd); x itself if there are none. */
wsss_tensor *wsss_cam_head_features(wsss_ctx *ctx, const wsss_cam_head *h, wsss_tensor *x);
/* 1x1 classifier on the head features: N,C,h,w. */
wsss_tensor *wsss_cam_head_cam(wsss_ctx *ctx, const wsss_cam_head *h, wsss_tensor *features);
/* Global average pool + flatten + linear (torchvision's ResNet classifier): N,K,h,w -> N,out. */
wsss_tensor *wsss_gap_linear(wsss_ctx *ctx, const wsss_linear_layer *fc, wsss_tensor *features);
/* Spatial mean: N,C,h,w -> N,C (GAP scores). */
wsss_tensor *wsss_spatial_mean(wsss_ctx *ctx, wsss_tensor *x);
/* Bias-free CAM of a GAP + linear head: W (C,K) applied at every position of features (N,K,h,w)
 * -> N,C,h,w. Pass a detached weight to stop its gradient (Grad-CAM, eader.md §2.2). */
wsss_tensor *wsss_linear_cam(wsss_ctx *ctx, wsss_tensor *weight, wsss_tensor *features);

typedef struct wsss_largefov_config {
    int64_t in_channels;
    int64_t hidden;    /* 1024 */
    int num_classes;   /* K + 1 */
    int dilation;      /* 12 */
    int hidden_bias;   /* bias on fc6/fc7 (MCIS: none) */
    double dropout;    /* after fc6 and fc7 when training (0 = none, the default) */
    wsss_dtype dtype;
    int group;         /* default WSSS_GROUP_NEW */
} wsss_largefov_config;

typedef struct wsss_largefov_head {
    wsss_largefov_config cfg;
    wsss_conv fc6, fc7, fc8;
} wsss_largefov_head;

/* hidden 1024, dilation 12, no hidden bias, no dropout, F32, group 2. */
wsss_largefov_config wsss_largefov_config_default(int64_t in_channels, int num_classes);
/* Tensors "<prefix>fc6.weight", ..., "<prefix>fc8.bias". */
void wsss_largefov_init(wsss_largefov_head *h, wsss_params *ps, const char *prefix,
                        const wsss_largefov_config *cfg);
/* Caffe xavier for fc6/fc7, Caffe msra for fc8, biases 0 (refinement.md §c). */
void wsss_largefov_reset_parameters(wsss_largefov_head *h, wsss_rng *rng);
/* rng is used by dropout only (NULL = global). */
wsss_tensor *wsss_largefov_forward(wsss_ctx *ctx, const wsss_largefov_head *h, wsss_tensor *x, int training,
                                   wsss_rng *rng);

#define WSSS_ASPP_MAX_RATES 4

typedef struct wsss_aspp_config {
    int64_t in_channels;
    int num_classes;
    int n_rates;                      /* 4 */
    int rates[WSSS_ASPP_MAX_RATES];   /* 6, 12, 18, 24 */
    wsss_dtype dtype;
    int group;                        /* default WSSS_GROUP_NEW */
} wsss_aspp_config;

typedef struct wsss_aspp_head {
    wsss_aspp_config cfg;
    wsss_conv branch[WSSS_ASPP_MAX_RATES];
} wsss_aspp_head;

wsss_aspp_config wsss_aspp_config_default(int64_t in_channels, int num_classes);
/* Tensors "<prefix>c0.weight", "<prefix>c0.bias", ... (deeplab-pytorch's names). */
void wsss_aspp_init(wsss_aspp_head *h, wsss_params *ps, const char *prefix, const wsss_aspp_config *cfg);
/* N(0, 0.01) weights, zero biases. */
void wsss_aspp_reset_parameters(wsss_aspp_head *h, wsss_rng *rng);
wsss_tensor *wsss_aspp_forward(wsss_ctx *ctx, const wsss_aspp_head *h, wsss_tensor *x);

/* DeepLab v3+ (issue 15, refinement.md §c): an ASPP on the last feature map in torchvision's
 * deeplabv3 layout (a 1x1 branch, three dilated 3x3 branches, image pooling; each conv without bias
 * + BN + ReLU; a 1x1 projection + BN + ReLU + dropout), then a decoder on a stride-4 map: the low
 * level features projected to 48 channels (1x1 + BN + ReLU), concatenated after the bilinearly
 * upsampled ASPP output, two 3x3 convs (+ BN + ReLU) and a 1x1 classifier with bias. Logits come
 * out at the low-level map's resolution (stride 4 on a ResNet's layer1).
 * Names under the prefix: "0.convs.{0..4}..." and "0.project.{0,1}" (torchvision's DeepLabHead
 * keeps its ASPP at "classifier.0", so those tensors of a torchvision deeplabv3 checkpoint carry
 * the same names), "low.{0,1}", "fuse.{0,1,3,4,6}" (Sequential indices, ReLUs between). */
typedef struct wsss_deeplabv3plus_config {
    int64_t in_channels;  /* last feature map (ResNet layer4) */
    int64_t low_channels; /* the stride-4 map (ResNet layer1) */
    int num_classes;
    int64_t channels;     /* ASPP and decoder width: 256 */
    int64_t low_project;  /* 48 */
    int rates[3];         /* 6, 12, 18 at output stride 16; doubled at 8 */
    double dropout;       /* after the ASPP projection when training: 0.1 */
    wsss_dtype dtype;
    int group;            /* default WSSS_GROUP_NEW */
} wsss_deeplabv3plus_config;

typedef struct wsss_deeplabv3plus_head {
    wsss_deeplabv3plus_config cfg;
    wsss_conv aspp[5]; /* 1x1, three dilated 3x3, the pooling branch's 1x1 */
    wsss_bn aspp_bn[5];
    wsss_conv project;
    wsss_bn project_bn;
    wsss_conv low;
    wsss_bn low_bn;
    wsss_conv fuse[2];
    wsss_bn fuse_bn[2];
    wsss_conv cls;
} wsss_deeplabv3plus_head;

/* Widths 256 / 48, rates 6/12/18 x 16 / output_stride, dropout 0.1, F32, group 2. */
wsss_deeplabv3plus_config wsss_deeplabv3plus_config_default(int64_t in_channels, int64_t low_channels,
                                                            int num_classes, int output_stride);
void wsss_deeplabv3plus_init(wsss_deeplabv3plus_head *h, wsss_params *ps, const char *prefix,
                             const wsss_deeplabv3plus_config *cfg);
/* kaiming_normal(fan_in) convs, the classifier's bias 0, BN PyTorch's initial state. */
void wsss_deeplabv3plus_reset_parameters(wsss_deeplabv3plus_head *h, wsss_rng *rng);
/* x: the last feature map, low: the stride-4 map. BN: batch statistics when training, running
 * statistics otherwise (the head is new, so never frozen). rng: dropout (NULL = global).
 * *features (may be NULL) receives the map the classifier reads. Returns N,C,h_low,w_low. */
wsss_tensor *wsss_deeplabv3plus_forward(wsss_ctx *ctx, const wsss_deeplabv3plus_head *h, wsss_tensor *x,
                                        wsss_tensor *low, int training, wsss_rng *rng, wsss_tensor **features);

/* ------------------------------------------------------------------ heads as modules
 * A head is a small module on the backbone's feature map: the model holds one (or none) behind
 * this interface, so a new head is a new wsss_head_ops, not a new field of wsss_model. */
typedef enum {
    WSSS_HEAD_NONE = 0,
    WSSS_HEAD_FC,
    WSSS_HEAD_CAM,
    WSSS_HEAD_LARGEFOV,
    WSSS_HEAD_ASPP,
    WSSS_HEAD_DEEPLABV3PLUS
} wsss_head_kind;

typedef struct wsss_head_ops {
    wsss_head_kind kind;
    const char *output_doc;          /* what the model's output is with this head (one line) */
    const char *const *tensor_names; /* prefixes of its state_dict keys, NULL-terminated */
    void (*reset)(void *impl, wsss_rng *rng);
    /* features: the backbone map; stages: the backbone's stage outputs (ResNet layer1..layer4) when
     * needs_stages, else NULL; rng: the model's (dropout in training). Returns the model output; *features (never NULL) receives the map
     * the final classifier layer reads, *cam (may be NULL) the class activation map or NULL. */
    wsss_tensor *(*forward)(wsss_ctx *ctx, void *impl, wsss_tensor *features, wsss_tensor *const *stages,
                            int training, wsss_rng *rng, wsss_tensor **head_features, wsss_tensor **cam);
    wsss_tensor *(*class_bias)(void *impl); /* the bias added to class scores, or NULL */
    int needs_stages;                       /* reads a lower stage too (a decoder) */
} wsss_head_ops;

typedef struct wsss_head {
    const wsss_head_ops *ops; /* NULL: no head */
    void *impl;               /* the head's own struct (heap; its tensors belong to the registry) */
} wsss_head;

/* Heads over in_channels features (dtype dt, optimizer group WSSS_GROUP_NEW), registered under
 * their tensor_names: "fc." (torchvision's ResNet fc, already registered by wsss_resnet_init: the
 * module only runs it), "extra_convs." + "extra_last_conv." (the MCIS CAM head, 3 x 3x3 convs),
 * "classifier." (LargeFOV, ASPP). */
void wsss_head_fc(wsss_head *h, const wsss_linear_layer *fc);
void wsss_head_cam(wsss_head *h, wsss_params *ps, int64_t in_channels, int num_classes, wsss_dtype dt);
void wsss_head_largefov(wsss_head *h, wsss_params *ps, const wsss_largefov_config *cfg);
void wsss_head_aspp(wsss_head *h, wsss_params *ps, const wsss_aspp_config *cfg);
/* DeepLab v3+ on a ResNet: reads layer4 and layer1. */
void wsss_head_deeplabv3plus(wsss_head *h, wsss_params *ps, const wsss_deeplabv3plus_config *cfg);
void wsss_head_free(wsss_head *h);
/* Every head the zoo builds, NULL-terminated (their tensor_names: what a backbone file may carry
 * besides the backbone). */
extern const wsss_head_ops *const wsss_head_kinds[];
/* The head's own struct, or NULL if h is not of that kind (tests and tools reading its layers). */
static inline void *wsss_head_impl(const wsss_head *h, wsss_head_kind kind) {
    return h->ops && h->ops->kind == kind ? h->impl : NULL;
}

/* ------------------------------------------------------------------ the model zoo (model_zoo.c)
 * One grammar for every network of the pipeline, parsed once into a wsss_arch:
 * arch = BACKBONE[-osN][-HEAD]
 *   BACKBONE  resnet18 | resnet34 | resnet50 | resnet101 | resnet152 | vgg16-deeplab
 *   -os32/-os16/-os8  output stride of a ResNet (default 32): dilation instead of stride, as
 *               torchvision's replace_stride_with_dilation (bottlenecks) or
 *               wsss_resnet_dilate_basic (resnet18/34); vgg16-deeplab is fixed at 8 (-os8 allowed)
 *   -largefov / -aspp / -deeplabv3plus  a segmentation model: backbone keys under "backbone.", head
 *               under "classifier.", backbone BN frozen by default; num_classes default 21.
 *               -deeplabv3plus: ResNets at output stride 16 (the default for it) or 8.
 * What forward returns as `output`:
 *   resnetX[-osN]        num_classes > 0 (default 1000): fc logits N,C (torchvision's output);
 *                        0: the layer4 feature map N,C',h,w.
 *   vgg16-deeplab        num_classes 0 (default): conv5_3 feature map N,512,H/8,W/8;
 *                        > 0: the MCIS basic CAM head (extra_convs.{0,2,4}: 3 x conv3x3 512 + ReLU,
 *                        extra_last_conv: 1x1 to C with bias), output = GAP scores N,C.
 *   *-largefov, *-aspp   logits N,C,h,w at the feature resolution (not upsampled).
 *   *-deeplabv3plus      logits N,C,h,w at layer1's resolution (stride 4, not upsampled).
 * `features` is the map the final classifier layer reads: layer4 (resnet, seg models), conv5_3
 * (vgg16-deeplab without head), extra_convs output (vgg16-deeplab with head); `cam` is the class
 * activation map N,C,h,w where defined (vgg16-deeplab with head: extra_last_conv output; resnet with
 * fc: the bias-free fc CAM), else NULL. */
typedef enum { WSSS_BACKBONE_RESNET = 0, WSSS_BACKBONE_VGG16_DEEPLAB } wsss_backbone_kind;

typedef struct wsss_arch {
    char name[64];           /* as parsed, for messages and model files */
    wsss_backbone_kind backbone;
    int depth;               /* ResNet: 18, 34, 50, 101, 152 */
    int output_stride;       /* 32, 16 or 8 (vgg16-deeplab: 8) */
    wsss_head_kind seg_head; /* WSSS_HEAD_NONE, _LARGEFOV, _ASPP or _DEEPLABV3PLUS */
} wsss_arch;

/* Parse an arch name. Unknown or bad combination: WSSS_ERR naming it and listing the forms. */
int wsss_arch_parse(const char *name, wsss_arch *a);

typedef struct wsss_model_opts {
    int num_classes;        /* < 0: the arch's default */
    wsss_dtype dtype;       /* F32 or F64 */
    int frozen_bn;          /* ResNet BN frozen; < 0: the arch's default (frozen with a segmentation head) */
    int64_t largefov_hidden;   /* fc6/fc7 channels; 0: 1024 */
    int largefov_dilation;     /* fc6 dilation; 0: 12 */
    int64_t v3plus_channels;   /* DeepLab v3+ ASPP and decoder width; 0: 256 */
    int v3plus_rate;           /* its smallest ASPP rate r (rates r, 2r, 3r); 0: 6 x 16 / output stride */
} wsss_model_opts;

/* num_classes -1, F32, BN and LargeFOV settings of the arch. */
wsss_model_opts wsss_model_opts_default(void);

typedef struct wsss_model {
    char arch[64];
    wsss_arch a;
    int num_classes;
    int64_t min_input; /* smallest H, W accepted */
    wsss_params params;
    const char *backbone_prefix; /* "" or "backbone." */
    int n_backbone;              /* params.items[0 .. n_backbone) are the backbone's tensors */
    wsss_resnet resnet;          /* the backbone: resnet or vgg by a.backbone */
    wsss_vgg vgg;
    wsss_head head;
    /* randomness of training-mode layers (the heads' dropout); NULL: the global generator. A
     * training stage points it at its trainer's checkpointed generator, so a resumed run draws
     * what the uninterrupted one would. */
    wsss_rng *rng;
} wsss_model;

/* Build a model of a parsed arch. Errors (WSSS_ERR, message naming the arch): a segmentation head
 * without classes, an implausible class count, a bad dtype. Parameters are zero until reset or
 * loaded. */
int wsss_model_build(wsss_model *m, const wsss_arch *a, const wsss_model_opts *o);
/* Parse arch and build it with the defaults but num_classes and dtype. */
int wsss_model_create(wsss_model *m, const char *arch, int num_classes, wsss_dtype dtype);
void wsss_model_free(wsss_model *m);
void wsss_model_reset_parameters(wsss_model *m, wsss_rng *rng);
/* One-line summary of the accepted arch names (for --help). */
const char *wsss_model_arch_help(void);
/* What `output` is for this model (one line). */
const char *wsss_model_output_doc(const wsss_model *m);
/* The head's kind (WSSS_HEAD_NONE without one). */
wsss_head_kind wsss_model_head_kind(const wsss_model *m);
/* The bias of a segmentation head's last layer, one value per class (so its length is the class
 * count of a file that does not say it); NULL for a kind that is not a segmentation head. */
const char *wsss_seg_head_output_bias(wsss_head_kind k);
/* Strict load from a safetensors state_dict: every model tensor present with its shape, no extra
 * tensors; a missing "*.num_batches_tracked" is tolerated (old torchvision files lack them) and
 * set to 0. On error nothing is loaded and the message names the file and lists every problem. */
int wsss_model_load(wsss_model *m, const char *path);
/* Strict load of the backbone only (e.g. ImageNet weights): every backbone tensor must be in the
 * file with its shape, under its torchvision name or under the model's backbone prefix; tensors of
 * any zoo head in the file (wsss_head_kinds' names) are ignored, anything else is an error;
 * missing num_batches_tracked are tolerated. Nothing is loaded on error. */
int wsss_model_load_backbone(wsss_model *m, const char *path);
/* x must be 4-D N,3,H,W (N >= 1, H, W >= min_input) of the model's dtype; errors name `what`. */
int wsss_model_check_input(const wsss_model *m, const wsss_tensor *x, const char *what);
/* Forward (training selects batch statistics / dropout where the model has them). features and
 * cam (each may be NULL) receive the maps described above (cam NULL where undefined). */
wsss_tensor *wsss_model_forward(wsss_ctx *ctx, wsss_model *m, wsss_tensor *x, int training,
                                wsss_tensor **features, wsss_tensor **cam);

#endif
