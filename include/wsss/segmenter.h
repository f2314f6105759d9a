/* The segmentation network of the pipeline (refinement.md §c): a model-zoo backbone with a
 * DeepLab-LargeFOV or ASPP head over K+1 classes (background included), its model file, and
 * multi-scale + flip inference with an optional dense CRF.
 *
 * Arch names: BACKBONE[-osN]-HEAD, e.g. "resnet18-os8-largefov", "resnet101-os8-aspp",
 * "vgg16-deeplab-largefov": the model zoo's grammar (models.h), which builds and dilates every
 * backbone (resnet18/34 too, see wsss_resnet_dilate_basic). State_dict names are the zoo's
 * ("backbone.conv1.weight", ..., "classifier.fc6.weight", ...), so torchvision backbone weights
 * load into "backbone.*" unchanged.
 *
 * LargeFOV width and dilation are options (refinement.md: 1024 and 12 for 321x321 crops at output
 * stride 8; small images want a smaller dilation so that the 3x3 taps stay inside the map).
 *
 * BN: frozen (running statistics, no affine update; the DeepLab setting for a pretrained backbone)
 * or trained with batch statistics (needed when the backbone starts from scratch).
 *
 * Input normalisation: ImageNet mean/std on RGB / 255 (the classifier's and torchvision's).
 *
 * Model file (wsss_segmenter_save): safetensors state_dict + metadata "wsss_model": "segmenter",
 * "arch", "num_classes" (K+1), "hidden", "head_dilation". */
#ifndef WSSS_SEGMENTER_H
#define WSSS_SEGMENTER_H

#include <stdint.h>

#include "wsss/crf.h"
#include "wsss/image.h"
#include "wsss/models.h"

typedef struct wsss_segmenter_config {
    const char *arch;  /* e.g. "resnet18-os8-largefov" */
    int num_classes;   /* K+1, background included */
    int64_t hidden;    /* LargeFOV fc6/fc7 channels (0 = 1024) */
    int head_dilation; /* LargeFOV fc6 dilation (0 = 12) */
    int frozen_bn;     /* ResNet backbones: BN frozen */
} wsss_segmenter_config;

typedef struct wsss_segmenter {
    wsss_model m;
    char arch[64];
    int num_classes;
    int output_stride;
    int64_t hidden;
    int head_dilation;
} wsss_segmenter;

/* Parameters are zero until wsss_segmenter_reset / load. Errors name the arch. */
int wsss_segmenter_create(wsss_segmenter *s, const wsss_segmenter_config *cfg);
void wsss_segmenter_free(wsss_segmenter *s);
/* The zoo's initialisation (torchvision's for the backbone; Caffe xavier/msra for LargeFOV,
 * N(0, 0.01) for ASPP). */
void wsss_segmenter_reset(wsss_segmenter *s, wsss_rng *rng);
/* Frozen (on) or trained (off) BN; ResNet backbones only (no-op otherwise). */
void wsss_segmenter_set_frozen_bn(wsss_segmenter *s, int on);
/* Load backbone weights from a state_dict file (wsss_model_load_backbone): torchvision names
 * ("conv1.weight", "layer1.0..."; an ImageNet model converted by scripts/pth_to_safetensors.py, or
 * a wsss classifier file), or the same names under "backbone.". Every backbone tensor must be
 * present with its shape; the heads of the zoo in the file ("fc.*", "classifier.*",
 * "extra_convs.*", "extra_last_conv.*") are ignored; missing num_batches_tracked are tolerated. On
 * error nothing is loaded; the message names the file and lists the problems. */
int wsss_segmenter_load_backbone(wsss_segmenter *s, const char *path);
/* Model file (see above); atomic. */
int wsss_segmenter_save(const wsss_segmenter *s, const char *path);
/* Create from a model file written by save; strict. */
int wsss_segmenter_open(wsss_segmenter *s, const char *path);
/* The inference entry point: a model file (wsss_segmenter_open), or a train-seg checkpoint
 * directory (arch and LargeFOV settings from its stored config, the class count from the head's
 * last layer), e.g. to evaluate a run mid-training. Strict load. */
int wsss_segmenter_open_any(wsss_segmenter *s, const char *path);
/* Logits N,C,h,w at the feature resolution (x: normalised images N,3,H,W). */
wsss_tensor *wsss_segmenter_forward(wsss_ctx *ctx, wsss_segmenter *s, wsss_tensor *x, int training);

/* ---- inference ---- */
#define WSSS_SEG_MAX_SCALES 16

typedef struct wsss_seg_infer_opts {
    int n_scales;
    double scales[WSSS_SEG_MAX_SCALES]; /* input scale factors (refinement.md: 0.5 .. 1.5) */
    int flip;                           /* also run the mirrored image, average */
    int direct_conv;                    /* direct convolutions only, as PyTorch computes them (default:
                                           Winograd where oneDNN has it: ResNet-50-OS8 inference ~20% faster) */
    int crf;                            /* dense CRF on the averaged probabilities (MCIS unary) */
    wsss_crf_params crf_params;         /* default: wsss_crf_params_mcis() */
} wsss_seg_infer_opts;

/* Scales {1}, flip on, no CRF. */
void wsss_seg_infer_opts_default(wsss_seg_infer_opts *o);
/* Parse "0.5,0.75,1" into o->scales (each in (0, 4]). WSSS_ERR naming the text otherwise. */
int wsss_seg_parse_scales(const char *text, wsss_seg_infer_opts *o);

/* Class probabilities of one RGB image at its own size: for every scale (and its mirror), resize
 * the normalised image (bilinear, half-pixel centres) to round(s*H) x round(s*W) (at least 1),
 * softmax the logits, resize the probabilities to H x W (bilinear), un-mirror and average; then
 * the CRF if asked (its output replaces the average). probs: C x H x W floats (C = num_classes);
 * labels (may be NULL): H x W argmax (first maximum). probs may be NULL. ctx is reset inside
 * (inference mode). */
int wsss_segmenter_predict(wsss_segmenter *s, wsss_ctx *ctx, const wsss_image *rgb, const wsss_seg_infer_opts *o,
                           float *probs, uint8_t *labels);
/* The same for n_img images of one size, in one forward pass per scale (batch n_img, doubled with
 * flip); probs[k] / labels[k] as above (the arrays, and each entry, may be NULL). The results equal
 * per-image predictions up to float rounding (BN uses running statistics). */
int wsss_segmenter_predict_batch(wsss_segmenter *s, wsss_ctx *ctx, int n_img, const wsss_image *rgb,
                                 const wsss_seg_infer_opts *o, float *const *probs, uint8_t *const *labels);

#endif
