/* Convolution geometry from an op's operands, shared by the convolution ops (src/ops/conv.c,
 * src/ops/conv_bn_eval.c). */
#ifndef WSSS_OPS_CONV_GEOM_H
#define WSSS_OPS_CONV_GEOM_H

#include "backend/ref/conv.h"
#include "wsss/ops.h"

/* Checks x, w, b against each other (operand errors are programmer errors: abort naming the
 * shapes) and fills g from them and p. */
void wsss_conv_geom_init(wsss_conv_geom *g, const wsss_tensor *x, const wsss_tensor *w, const wsss_tensor *b,
                         wsss_conv2d_params p);

#endif
