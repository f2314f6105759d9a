/* What the training stages (train-cls, train-seg and the WSSS methods built on them) set up the
 * same way around the trainer loop (trainer.h): the optimizer over the four parameter groups and
 * the shuffled training loader. */
#ifndef WSSS_TRAIN_COMMON_H
#define WSSS_TRAIN_COMMON_H

#include <stdint.h>

#include "wsss/config_table.h"
#include "wsss/loader.h"
#include "wsss/optim.h"
#include "wsss/params.h"

/* The words of --optim: sgd (momentum) -> WSSS_OPTIM_SGD, adamw (PyTorch defaults for betas/eps)
 * -> WSSS_OPTIM_ADAMW. */
extern const wsss_choice wsss_train_optim_choices[];
/* The settings error of a stage's config check: "--OPTION VALUE: out of range (expected EXPECTED)";
 * returns WSSS_ERR. Messages name options by their command-line names and carry no stage prefix
 * (the caller adds its own). */
int wsss_train_setting_error(const char *option, double value, const char *expected);
/* The optimizer over a model's registry with the groups its layers are registered in: backbone
 * weights x1 with weight decay, backbone biases x2 without, new head weights x head_mult with
 * decay, head biases x 2*head_mult without. */
wsss_optim *wsss_train_optim_new(wsss_optim_kind kind, double momentum, double weight_decay, double head_mult,
                                 const wsss_params *model);
/* Loader defaults plus shuffled batches of `batch` (the last partial batch dropped when the split
 * has a full one: constant batch statistics), seed, workers, skip_bad. */
void wsss_train_loader_opts(wsss_loader_opts *lo, int64_t n_images, int batch, int seed, int workers, int skip_bad);

#endif
