/* The image-level classifier of the WSSS pipeline: a model-zoo backbone with a CAM-capable head
 * (ResNet: GAP + linear, whose bias-free weights give the CAM; vgg16-deeplab: the MCIS CAM head),
 * over the K foreground classes of a dataset.
 *
 * Arch names are the model zoo's without a segmentation head (models.h), e.g. "resnet18",
 * "resnet18-os16", "resnet50-os8", "vgg16-deeplab"; the zoo builds and dilates the model.
 *
 * Model file (wsss_classifier_save): safetensors with the state_dict (parameters and buffers) and
 * metadata "wsss_model": "classifier", "arch", "num_classes" (K, foreground classes), and "method"
 * when a method other than cam built it (method.h; the file then holds its networks too). */
#ifndef WSSS_CLASSIFIER_H
#define WSSS_CLASSIFIER_H

#include "wsss/config_table.h"
#include "wsss/models.h"

typedef struct wsss_classifier {
    wsss_model m;
    char arch[64];    /* as given */
    int num_classes;  /* K foreground classes = model outputs */
    int output_stride;
    int method;       /* the wsss_method_kind (method.h) whose networks it carries: cam (none), mcis */
    void *method_net; /* those networks (the method's struct; tensors in m.params) or NULL */
} wsss_classifier;

/* Parameters are zero until wsss_classifier_reset / load. Errors name the arch. */
int wsss_classifier_create(wsss_classifier *c, const char *arch, int num_classes);
/* The same with a method's networks added (method.h, wsss_method_kind); an arch that cannot take
 * them is an error naming both. */
int wsss_classifier_create_method(wsss_classifier *c, const char *arch, int num_classes, int method);
void wsss_classifier_free(wsss_classifier *c);
/* The zoo's initialisation (torchvision's for ResNets, MCIS's for the VGG head). */
void wsss_classifier_reset(wsss_classifier *c, wsss_rng *rng);
/* Dense CAMs at inference ("a trous"): make a basic-block ResNet classifier run at a smaller output
 * stride (16 -> 8, 32 -> 16 or 8) by replacing more strides with dilation. In eval mode the new
 * maps sampled every (old/new) pixels equal the old maps exactly, and the positions in between are
 * the same classifier on shifted windows. Only basic-block ResNets; a larger stride is an error. */
int wsss_classifier_set_output_stride(wsss_classifier *c, int os);
/* Load ImageNet backbone weights (torchvision state_dict names, e.g. converted by
 * scripts/pth_to_safetensors.py; wsss_model_load_backbone): every backbone tensor must be present
 * with its shape; the heads of the zoo in the file (an ImageNet fc, ...) are ignored; missing
 * num_batches_tracked are tolerated. On error nothing is loaded and the message names the file and
 * lists the problems. */
int wsss_classifier_load_backbone(wsss_classifier *c, const char *path);
/* Final model file (see above); atomic. */
int wsss_classifier_save(const wsss_classifier *c, const char *path);
/* Create from a model file written by save (arch and K from its metadata); strict. */
int wsss_classifier_open(wsss_classifier *c, const char *path);
/* Create from a train-cls checkpoint directory (its stored config names the arch; num_classes is
 * the dataset's foreground count), e.g. to make CAMs while training continues. Strict load. */
int wsss_classifier_open_checkpoint(wsss_classifier *c, const char *dir, int num_classes);
/* A model file, or a checkpoint directory (a directory argument). */
int wsss_classifier_open_any(wsss_classifier *c, const char *path, int num_classes);
/* Forward on normalised images x (N,3,H,W): class scores N,K (logits); cam (may be NULL) receives
 * the raw class activation maps N,K,h,w (bias-free, not ReLU'd) at the feature resolution. */
wsss_tensor *wsss_classifier_forward(wsss_ctx *ctx, wsss_classifier *c, wsss_tensor *x, int training,
                                     wsss_tensor **cam);

/* The localisation maps of normalised images x (N,3,H,W) by the classifier's method (method.h):
 * raw N,K,h,w at the feature resolution, inference. */
wsss_tensor *wsss_classifier_maps(wsss_ctx *ctx, wsss_classifier *c, wsss_tensor *x);

/* Class scores pooled from a bias-free CAM (N,K,h,w) plus bias (K, may be NULL): N,K.
 * GAP: spatial mean; GMP: spatial max; LSE: (1/r) log(mean exp(r x)) (between the two: r -> 0 gives
 * the mean, r -> inf the max). Differentiable. */
typedef enum { WSSS_POOL_GAP = 0, WSSS_POOL_GMP, WSSS_POOL_LSE } wsss_pool_kind;
extern const wsss_choice wsss_pool_choices[]; /* gap, gmp, lse */
wsss_tensor *wsss_classifier_pool_scores(wsss_ctx *ctx, wsss_tensor *cam, wsss_tensor *bias, wsss_pool_kind pool,
                                         double r);
/* The head's bias (fc.bias or the CAM head's classifier bias; NULL if none). */
wsss_tensor *wsss_classifier_bias(wsss_classifier *c);

#endif
