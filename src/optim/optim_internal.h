/* Per-parameter update kernels shared by optim.c (dispatch) and sgd.c / adamw.c (the math). */
#ifndef WSSS_OPTIM_INTERNAL_H
#define WSSS_OPTIM_INTERNAL_H

#include "wsss/optim.h"

/* Update one parameter (its grad is non-NULL). lr and weight_decay are the group's values;
 * s->step has already been incremented. Allocates the state buffers on first use. */
void wsss_optim_sgd_update(const wsss_optim_config *cfg, wsss_optim_slot *s, double lr, double weight_decay);
void wsss_optim_adamw_update(const wsss_optim_config *cfg, wsss_optim_slot *s, double lr, double weight_decay);

/* Elements above which an update runs on OpenMP threads (elementwise, so results do not depend on
 * the thread count). */
#define WSSS_OPTIM_PAR_MIN 32768

#endif
