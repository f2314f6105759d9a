/* Cross entropy with label smoothing (F.cross_entropy(..., label_smoothing=eps)) for single-label
 * classification, composed of ops that already have backward passes: the smoothed target puts
 * 1 - eps + eps/C on the true class and eps/C elsewhere, so the loss splits into
 * (1 - eps) * NLL + eps * mean over classes of -log_softmax, both averaged over rows. */
#include <stdio.h>

#include "wsss/error.h"
#include "wsss/ops.h"

wsss_tensor *wsss_cross_entropy_smoothed(wsss_ctx *ctx, wsss_tensor *logits, const wsss_tensor *target, double eps) {
    char msg[160], s1[64], s2[64];
    if (logits->ndim != 2 || target->ndim != 1 || target->shape[0] != logits->shape[0] || !(eps >= 0 && eps <= 1)) {
        snprintf(msg, sizeof msg, "cross_entropy_smoothed: logits %s, target %s, eps %g (expected N,C; N; 0..1)",
                 wsss_shape_str(logits, s1, sizeof s1), wsss_shape_str(target, s2, sizeof s2), eps);
        WSSS_ASSERT(0, msg);
    }
    /* no target is ignored here: an index outside 0..C-1 stays the programmer error it is in
     * cross_entropy2d (-1 can never be a class) */
    wsss_tensor *nll = wsss_cross_entropy2d(ctx, logits, target, -1);
    if (eps == 0) return nll;
    wsss_tensor *uniform = wsss_neg(ctx, wsss_mean_all(ctx, wsss_log_softmax(ctx, logits, 1)));
    return wsss_add(ctx, wsss_mul_scalar(ctx, nll, 1.0 - eps), wsss_mul_scalar(ctx, uniform, eps));
}
