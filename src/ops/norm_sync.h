/* Batch norm in training mode across data-parallel ranks (wsss_ctx_set_sync_bn): the ops' internal
 * interface, used by norm.c. */
#ifndef WSSS_OPS_NORM_SYNC_H
#define WSSS_OPS_NORM_SYNC_H

#include "wsss/autograd.h"
#include "wsss/tensor.h"

/* 1 when a training-mode batch norm in ctx must synchronise (the context asks and there are
 * several ranks). */
int wsss_bn_sync_wanted(const wsss_ctx *ctx);
/* wsss_batchnorm2d in WSSS_BN_TRAIN mode over the global batch: F32 x (any layout), plain result. */
wsss_tensor *wsss_batchnorm2d_sync(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *weight, wsss_tensor *bias,
                                   wsss_tensor *running_mean, wsss_tensor *running_var, double momentum, double eps);

#endif
