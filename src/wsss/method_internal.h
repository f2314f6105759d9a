/* What the method files share beyond method.h: MCIS + EADER (method_mcis_eader.c) is composed of
 * MCIS's classifier and step (method_mcis.c) and EADER's adversary and erasing (method_eader.c).
 * Private to src/wsss. */
#ifndef WSSS_METHOD_INTERNAL_H
#define WSSS_METHOD_INTERNAL_H

#include "wsss/eader.h"
#include "wsss/method.h"
#include "wsss/optim.h"

struct wsss_train_cls_config;

/* MCIS: x1's un-jittered self-pair views of batch b (hflip @size, @0.75 size, @2 size), in ctx. */
int wsss_mcis_self_views(wsss_ctx *ctx, const wsss_method_run *r, const wsss_batch *b, wsss_tensor *views[3]);

/* EADER's networks beside the classifier (wsss_method_parts.state). */
typedef struct wsss_eader_state {
    wsss_classifier adversary;
    wsss_optim *opt;
    int64_t block; /* steps of each network's turn */
    wsss_eader_opts opts;
} wsss_eader_state;

/* The settings of the adversary and the erasing (--adversary-arch, --alpha ...): WSSS_ERR naming
 * the option. */
int wsss_eader_check_erasing(const struct wsss_train_cls_config *c);
/* The class weights the classifier's CAM applies (a ResNet's fc, the CAM head's 1x1 conv). */
wsss_tensor *wsss_eader_class_weight(const wsss_classifier *c);
/* The adversary's logits in training mode (net: a wsss_classifier). */
wsss_tensor *wsss_eader_adversary_logits(void *net, wsss_ctx *ctx, wsss_tensor *x);

#endif
