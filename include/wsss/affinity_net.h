/* AffinityNet (refinement.md §b.3) on a zoo ResNet: the backbone at output stride 8 (the spec's
 * substitute for ResNet-38), its layer2, layer3 and layer4 maps (all at stride 8) into the affinity
 * head (affinity_head.h), and the affinities of PSA's radius-5 pairs on the feature grid
 * (random_walk.h order). One registry holds the backbone (torchvision names, the first n_backbone
 * tensors, so ImageNet or pretrained weights load as for the other stages) and the head (f8_3, f8_4,
 * f8_5, f9). BN is frozen, as PSA's.
 *
 * Model file (wsss_affnet_save): the registry as a safetensors state_dict (the backbone's
 * torchvision names, then f8_3, f8_4, f8_5, f9) with metadata "wsss_model": "affinity", "arch":
 * the backbone name (e.g. "resnet50") and "labels": what the net was trained on (train_aff.h). */
#ifndef WSSS_AFFINITY_NET_H
#define WSSS_AFFINITY_NET_H

#include "wsss/affinity_head.h"
#include "wsss/models.h"

typedef struct wsss_affnet {
    wsss_model net; /* the backbone "<resnet>-os8" without fc; the head's tensors appended to net.params */
    wsss_affnet_head head;
    char backbone[16]; /* as given to build: "resnet50" */
} wsss_affnet;

/* backbone: resnet18 .. resnet152 (no suffix). Errors name it. Parameters are zero until reset or
 * loaded. */
int wsss_affnet_build(wsss_affnet *a, const char *backbone, wsss_dtype dt);
void wsss_affnet_free(wsss_affnet *a);
/* The backbone as torchvision's default init would leave it, the head as PSA's. */
void wsss_affnet_reset_parameters(wsss_affnet *a, wsss_rng *rng);
/* Affinities [N, 34, P] of x (N, 3, H, W; H and W multiples of 8) on its h x w = H/8 x W/8 grid
 * (P = wsss_rw_num_pairs(h, w) / 34; 0 when the grid is smaller than 5 x 9). */
wsss_tensor *wsss_affnet_forward(wsss_ctx *ctx, wsss_affnet *a, wsss_tensor *x, int training);

/* PSA's training freezes conv1a and b2 of ResNet-38 (refinement.md §b.4); on the substitute the
 * stem (conv1; bn1 is frozen with every BN) and layer1 get requires_grad = 0, so they receive no
 * gradient and the optimizer skips them. */
void wsss_affnet_freeze_early_layers(wsss_affnet *a);

/* Model file (see above); atomic. labels: the "labels" metadata (NULL: none). */
int wsss_affnet_save(const wsss_affnet *a, const char *labels, const char *path);
/* Build from a model file written by save; strict (every tensor present with its shape, no other
 * tensor). Errors name the file: not an affinity model (metadata), unknown backbone, tensors
 * missing or misshapen. */
int wsss_affnet_open(wsss_affnet *a, const char *path);

#endif
