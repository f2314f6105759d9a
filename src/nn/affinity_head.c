/* AffinityNet's head (affinity_head.h). */
#include "wsss/affinity_head.h"

#include <stdio.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/ops.h"

const int64_t wsss_affnet_psa_widths[3] = {64, 128, 256};

void wsss_affnet_head_init(wsss_affnet_head *h, wsss_params *ps, const char *prefix, wsss_dtype dt,
                           const int64_t in[3], const int64_t width[3], int group) {
    memset(h, 0, sizeof *h);
    char name[256];
    int64_t total = 0;
    for (int s = 0; s < 3; s++) {
        WSSS_ASSERT(in[s] > 0 && width[s] > 0, "affinity head: channel counts must be positive");
        snprintf(name, sizeof name, "%sf8_%d", prefix ? prefix : "", s + 3);
        wsss_conv_init(&h->reduce[s], ps, name, dt, in[s], width[s], 1, 1, 0, 1, 0, group);
        total += width[s];
    }
    snprintf(name, sizeof name, "%sf9", prefix ? prefix : "");
    wsss_conv_init(&h->merge, ps, name, dt, total, total, 1, 1, 0, 1, 0, group);
}

void wsss_affnet_head_reset_parameters(wsss_affnet_head *h, wsss_rng *rng) {
    for (int s = 0; s < 3; s++) wsss_init_kaiming_normal(h->reduce[s].weight, WSSS_FAN_IN, rng);
    wsss_init_xavier_uniform(h->merge.weight, 4.0, rng);
}

wsss_tensor *wsss_affnet_head_forward(wsss_ctx *ctx, const wsss_affnet_head *h, wsss_tensor *const stages[3]) {
    wsss_tensor *r[3];
    for (int s = 0; s < 3; s++) r[s] = wsss_elu(ctx, wsss_conv_forward(ctx, &h->reduce[s], stages[s]), 1.0);
    return wsss_elu(ctx, wsss_conv_forward(ctx, &h->merge, wsss_concat(ctx, 3, r, 1)), 1.0);
}
