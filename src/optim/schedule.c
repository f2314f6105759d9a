/* Learning-rate schedules: base lr as a function of the iteration (or epoch). The optimizer
 * multiplies by each group's lr multiplier. */
#include <math.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/optim.h"

wsss_lr_schedule wsss_lr_constant(double base_lr) {
    wsss_lr_schedule s = {0};
    s.kind = WSSS_LR_CONSTANT;
    s.base_lr = base_lr;
    return s;
}

wsss_lr_schedule wsss_lr_step(double base_lr, double gamma, int n_milestones, const int64_t *milestones) {
    WSSS_ASSERT(n_milestones >= 0 && n_milestones <= WSSS_LR_MAX_MILESTONES, "too many lr milestones");
    wsss_lr_schedule s = {0};
    s.kind = WSSS_LR_STEP;
    s.base_lr = base_lr;
    s.gamma = gamma;
    s.n_milestones = n_milestones;
    for (int i = 0; i < n_milestones; i++) {
        WSSS_ASSERT(i == 0 || milestones[i] >= milestones[i - 1], "lr milestones must be non-decreasing");
        s.milestones[i] = milestones[i];
    }
    return s;
}

wsss_lr_schedule wsss_lr_poly(double base_lr, double power, int64_t max_iter) {
    WSSS_ASSERT(max_iter > 0, "poly schedule needs max_iter > 0");
    wsss_lr_schedule s = {0};
    s.kind = WSSS_LR_POLY;
    s.base_lr = base_lr;
    s.power = power;
    s.max_iter = max_iter;
    return s;
}

wsss_lr_schedule wsss_lr_cosine(double base_lr, int64_t max_iter) {
    WSSS_ASSERT(max_iter > 0, "cosine schedule needs max_iter > 0");
    wsss_lr_schedule s = {0};
    s.kind = WSSS_LR_COSINE;
    s.base_lr = base_lr;
    s.max_iter = max_iter;
    return s;
}

double wsss_lr_at(const wsss_lr_schedule *s, int64_t t) {
    switch (s->kind) {
    case WSSS_LR_CONSTANT:
        return s->base_lr;
    case WSSS_LR_STEP: {
        /* MultiStepLR multiplies the running lr by gamma once per milestone passed (a milestone
         * listed twice counts twice). */
        double lr = s->base_lr;
        for (int i = 0; i < s->n_milestones; i++)
            if (t >= s->milestones[i]) lr *= s->gamma;
        return lr;
    }
    case WSSS_LR_POLY:
        if (t >= s->max_iter) return 0.0;
        if (t <= 0) return s->base_lr;
        return s->base_lr * pow(1.0 - (double)t / (double)s->max_iter, s->power);
    case WSSS_LR_COSINE:
        /* past the end the closed form would rise again (a second period): stay at eta_min 0 */
        if (t >= s->max_iter) return 0.0;
        if (t <= 0) return s->base_lr;
        return s->base_lr * 0.5 * (1.0 + cos(M_PI * (double)t / (double)s->max_iter));
    }
    WSSS_ASSERT(0, "unknown lr schedule kind");
    return 0.0;
}

static const char *const kind_names[] = {"constant", "step", "poly", "cosine"};

const char *wsss_lr_kind_name(wsss_lr_kind k) {
    return (unsigned)k < sizeof kind_names / sizeof *kind_names ? kind_names[k] : "?";
}

int wsss_lr_kind_parse(const char *name, wsss_lr_kind *out) {
    for (unsigned i = 0; i < sizeof kind_names / sizeof *kind_names; i++)
        if (name && strcmp(name, kind_names[i]) == 0) {
            *out = (wsss_lr_kind)i;
            return WSSS_OK;
        }
    return WSSS_ERR;
}
