/* See model_weights.h; the formula is documented in scripts/gen_fixtures_models.py. */
#include "model_weights.h"

#include <math.h>
#include <string.h>

#include "wsss/error.h"

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

/* Output e+1 of splitmix64 seeded with `seed`. */
static uint64_t splitmix_at(uint64_t seed, int64_t e) {
    uint64_t z = seed + (uint64_t)(e + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static float u_of(uint64_t seed, int64_t e) {
    int32_t k = (int32_t)(splitmix_at(seed, e) >> 40) - (1 << 23);
    return (float)k / 8388608.0f; /* exact */
}

float model_weights_u(const char *name, int64_t e) { return u_of(fnv1a64(name), e); }

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

void model_weights_fill_tensor(wsss_tensor *t, const char *name) {
    const int64_t n = wsss_tensor_numel(t);
    WSSS_ASSERT(wsss_tensor_is_contiguous(t), "model_weights: contiguous tensors only");
    if (ends_with(name, "num_batches_tracked")) {
        wsss_tensor_fill(t, 0.0);
        return;
    }
    WSSS_ASSERT(t->dtype == WSSS_F32 || t->dtype == WSSS_F64, "model_weights: float tensors");
    const uint64_t seed = fnv1a64(name);
    enum { RVAR, RMEAN, BNW, BIAS, W } kind;
    if (ends_with(name, "running_var")) kind = RVAR;
    else if (ends_with(name, "running_mean")) kind = RMEAN;
    else if (ends_with(name, ".weight") && t->ndim == 1) kind = BNW;
    else if (ends_with(name, ".bias")) kind = BIAS;
    else kind = W;
    float scale = 0;
    if (kind == W) {
        WSSS_ASSERT(t->ndim >= 2, "model_weights: weights need >= 2 dims");
        int64_t fan_in = 1;
        for (int d = 1; d < t->ndim; d++) fan_in *= t->shape[d];
        scale = (float)sqrt(3.0 / (double)fan_in); /* sqrt is correctly rounded, as numpy's */
    }
    for (int64_t i = 0; i < n; i++) {
        const float u = u_of(seed, i);
        float v;
        switch (kind) {
        case RVAR: v = 1.0f + (u + 1.0f) / 4.0f; break;
        case RMEAN: v = u / 8.0f; break;
        case BNW: v = 1.0f + u / 8.0f; break;
        case BIAS: v = u / 8.0f; break;
        default: v = u * scale; break;
        }
        if (t->dtype == WSSS_F32)
            ((float *)t->data)[i] = v;
        else
            ((double *)t->data)[i] = v;
    }
}

void model_weights_fill(wsss_params *ps) {
    for (int i = 0; i < wsss_params_count(ps); i++) {
        wsss_tensor *t = wsss_params_at(ps, i)->t;
        model_weights_fill_tensor(t, t->name);
    }
}

wsss_tensor *model_weights_input(wsss_dtype dt) {
    wsss_tensor *x = wsss_tensor_new4(dt, 2, 3, 64, 64);
    const uint64_t seed = fnv1a64("input");
    for (int64_t i = 0; i < wsss_tensor_numel(x); i++) {
        const float v = 2.0f * u_of(seed, i);
        if (dt == WSSS_F32)
            ((float *)x->data)[i] = v;
        else
            ((double *)x->data)[i] = v;
    }
    return x;
}
