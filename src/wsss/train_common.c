/* Optimizer and loader set-up shared by the training stages (train_common.h). */
#include "wsss/train_common.h"

#include <string.h>

#include "wsss/error.h"

const wsss_choice wsss_train_optim_choices[] = {{"sgd", WSSS_OPTIM_SGD}, {"adamw", WSSS_OPTIM_ADAMW}, {NULL, 0}};

int wsss_train_setting_error(const char *option, double value, const char *expected) {
    return wsss_error_set("--%s %g: out of range (expected %s)", option, value, expected);
}

wsss_optim *wsss_train_optim_new(wsss_optim_kind kind, double momentum, double weight_decay, double head_mult,
                                 const wsss_params *model) {
    WSSS_ASSERT(kind == WSSS_OPTIM_SGD || kind == WSSS_OPTIM_ADAMW, "optimizer kind");
    const int adamw = kind == WSSS_OPTIM_ADAMW;
    const wsss_optim_group groups[4] = {
        {1.0, weight_decay}, {2.0, 0.0}, {head_mult, weight_decay}, {2.0 * head_mult, 0.0}};
    const wsss_optim_config oc = adamw ? wsss_optim_adamw_config() : wsss_optim_sgd_config(momentum, 0, 0);
    wsss_optim *opt = wsss_optim_new(&oc, 4, groups);
    wsss_optim_add_params(opt, model);
    return opt;
}

void wsss_train_loader_opts(wsss_loader_opts *lo, int64_t n_images, int batch, int seed, int workers, int skip_bad) {
    wsss_loader_opts_default(lo);
    lo->batch_size = batch;
    lo->drop_last = n_images >= batch; /* tiny datasets keep their one batch */
    lo->shuffle = 1;
    lo->seed = (uint64_t)seed;
    lo->workers = workers;
    lo->skip_bad = skip_bad;
}
