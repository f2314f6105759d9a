/* The tiny conv-BN-ReLU-dropout-GAP-fc network of the trainer and resume tests: small enough to
 * train in milliseconds, with every kind of state a checkpoint must restore (parameters in the
 * four optimizer groups, BN running statistics, momentum buffers, the dropout stream). */
#ifndef WSSS_TEST_TINY_MODEL_H
#define WSSS_TEST_TINY_MODEL_H

#include <stdint.h>

#include "wsss/autograd.h"
#include "wsss/optim.h"
#include "wsss/params.h"
#include "wsss/rng.h"

typedef struct tiny_model {
    wsss_params ps;
    int channels;
    wsss_tensor *cw, *cb, *bw, *bb, *rm, *rv, *fw, *fb;
} tiny_model;

/* 3 -> channels 3x3 conv (groups 0/1), BN, fc to classes (groups 2/3); conv and fc ~ 0.3 N(0,1)
 * from seed, BN weight and running variance 1. */
void tiny_model_init(tiny_model *m, int channels, int classes, uint64_t seed);
/* SGD momentum 0.9 over the groups x1 / x2 / x10 / x20 with weight decay 5e-4 on weights. */
wsss_optim *tiny_model_optim(tiny_model *m, int nesterov);
/* Logits N,classes of x (N,3,H,W) in training mode (batch BN statistics, dropout 0.3 from rng). */
wsss_tensor *tiny_model_forward(wsss_ctx *ctx, tiny_model *m, wsss_tensor *x, wsss_rng *dropout_rng);

#endif
