/* PSA's random-walk pseudo labels of one image (pseudo_rw.h). */
#include "wsss/pseudo_rw.h"

#include <math.h>
#include <string.h>

#include "wsss/augment.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/random_walk.h"

void wsss_pseudo_rw_opts_default(wsss_pseudo_rw_opts *o) {
    memset(o, 0, sizeof *o);
    o->beta = 8.0;
    o->steps = 256;
    o->bg_power = 16.0;
}

int wsss_pseudo_rw_check(const wsss_pseudo_rw_opts *o) {
    if (!(o->beta > 0 && isfinite(o->beta))) return wsss_error_set("random walk: beta %g (expected > 0)", o->beta);
    if (o->steps < 0) return wsss_error_set("random walk: %d steps (expected >= 0)", o->steps);
    if (!(o->bg_power > 0 && isfinite(o->bg_power)))
        return wsss_error_set("random walk: background power %g (expected > 0)", o->bg_power);
    return WSSS_OK;
}

wsss_tensor *wsss_pseudo_rw_affinities(wsss_ctx *ctx, wsss_affnet *net, const wsss_image *rgb) {
    WSSS_ASSERT(rgb->channels == 3 && rgb->data, "RGB image");
    const int H = rgb->height, W = rgb->width;
    wsss_aug_config norm;
    wsss_aug_config_default(&norm);
    wsss_tensor *x = wsss_ctx_tensor(ctx, WSSS_F32, 4, (int64_t[]){1, 3, H, W});
    wsss_aug_write_image(&norm, rgb, NULL, x, 0);
    const int64_t pads[4] = {0, (8 - W % 8) % 8, 0, (8 - H % 8) % 8};
    x = wsss_pad2d(ctx, x, pads, 0.0);
    const int old_grad = wsss_ctx_set_grad_enabled(ctx, 0);
    const int old_blocked = wsss_ctx_set_blocked(ctx, 1); /* oneDNN layouts between the network's ops */
    wsss_tensor *aff = wsss_affnet_forward(ctx, net, x, 0);
    aff = (wsss_tensor *)wsss_ctx_contiguous(ctx, aff);
    wsss_ctx_set_blocked(ctx, old_blocked);
    wsss_ctx_set_grad_enabled(ctx, old_grad);
    return aff;
}

int wsss_pseudo_rw_label(wsss_affnet *net, wsss_ctx *ctx, const wsss_pseudo_rw_opts *o, const wsss_image *rgb,
                         const float *maps, int n, const int *classes, wsss_image *out) {
    memset(out, 0, sizeof *out);
    WSSS_ASSERT(rgb->channels == 3 && rgb->data, "RGB image");
    if (wsss_pseudo_rw_check(o) != WSSS_OK) return WSSS_ERR;
    if (n < 0 || n > 254) return wsss_error_set("random walk labels: %d classes in one image (expected 0..254)", n);
    const int H = rgb->height, W = rgb->width;
    wsss_image_alloc(out, W, H, 1);
    if (n == 0) return WSSS_OK; /* all background */
    wsss_ctx_reset(ctx);
    /* a grid without pairs has no affinities to compute: wsss_rw_walk's T is the identity */
    const float *aff = NULL;
    if (wsss_rw_num_pairs((H + 7) / 8, (W + 7) / 8) > 0) aff = wsss_f32(wsss_pseudo_rw_affinities(ctx, net, rgb));
    const int rc = wsss_rw_labels(H, W, maps, n, classes, aff, o->beta, o->steps, o->bg_power, out->data);
    wsss_ctx_reset(ctx);
    if (rc != WSSS_OK) wsss_image_free(out);
    return rc;
}
