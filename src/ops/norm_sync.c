/* Synchronised batch norm (norm_sync.h): the statistics of the global batch, as torch.nn.SyncBatchNorm.
 *
 * Forward: per channel, the ranks' sums of x and their counts are allreduced into the global mean,
 * then the sums of (x - mean)^2 into the biased global variance (two passes, in double); every rank
 * normalises its own slice with them; the running statistics move with the unbiased variance of the
 * global count. Backward (xhat = (x - mean) * invstd, M the global count):
 *   dx = weight * invstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)
 * with both sums over all ranks (one allreduce of 2C values); dweight = sum(dy * xhat) and
 * dbias = sum(dy) stay this rank's own, as the trainer averages parameter gradients itself. */
#include <math.h>

#include "backend/dnnl/tensor_md.h"
#include "ops/norm_sync.h"
#include "wsss/dist.h"
#include "wsss/error.h"

typedef struct sync_attrs {
    double eps;
    int64_t count; /* values per channel over all ranks */
    int has_weight, has_bias;
} sync_attrs;

enum { S_X = 0, S_MEAN, S_VAR, S_WEIGHT };

int wsss_bn_sync_wanted(const wsss_ctx *ctx) { return wsss_ctx_sync_bn(ctx) && wsss_dist_size() > 1; }

static void bn_sync_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    const sync_attrs *a = node->attrs;
    const wsss_tensor *xs = node->saved[S_X], *mt = node->saved[S_MEAN], *vt = node->saved[S_VAR],
                      *wt = node->saved[S_WEIGHT];
    const int64_t n = xs->shape[0], c = xs->shape[1], hw = xs->shape[2] * xs->shape[3];
    const int want_x = wsss_node_input_needs_grad(node, 0);
    const int want_w = a->has_weight && wsss_node_input_needs_grad(node, 1);
    const int want_b = a->has_bias && wsss_node_input_needs_grad(node, 2);
    if (!want_x && !want_w && !want_b) return; /* the same on every rank: same graph */
    /* gy comes in the output's layout (x's): a plain copy, gy untouched */
    wsss_tensor *gp = (wsss_tensor *)gy;
    if (gy->layout) {
        dnnl_memory_desc_t plain;
        wsss_dnnl_tensor_md(&plain, xs);
        gp = wsss_dnnl_as_md(ctx, (wsss_tensor *)gy, &plain);
    }
    const float *x = wsss_f32(xs), *dy = wsss_f32(wsss_ctx_contiguous(ctx, gp)), *mean = wsss_f32(mt), *var = wsss_f32(vt);
    double *sums = wsss_xcalloc((size_t)(2 * c), sizeof(double)); /* [sum dy | sum dy * xhat] */
    double *invstd = wsss_xmalloc((size_t)c * sizeof(double));
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < c; ch++) {
        invstd[ch] = 1.0 / sqrt((double)var[ch] + a->eps);
        double s = 0, sx = 0;
        for (int64_t i = 0; i < n; i++) {
            const float *xp = x + (i * c + ch) * hw, *gp = dy + (i * c + ch) * hw;
            for (int64_t k = 0; k < hw; k++) {
                s += gp[k];
                sx += gp[k] * ((double)xp[k] - mean[ch]);
            }
        }
        sums[ch] = s;
        sums[c + ch] = sx * invstd[ch];
    }
    wsss_tensor *dw = want_w ? wsss_ctx_tensor(ctx, WSSS_F32, 1, &c) : NULL;
    wsss_tensor *db = want_b ? wsss_ctx_tensor(ctx, WSSS_F32, 1, &c) : NULL;
    for (int64_t ch = 0; ch < c; ch++) { /* this rank's own */
        if (dw) wsss_f32(dw)[ch] = (float)sums[c + ch];
        if (db) wsss_f32(db)[ch] = (float)sums[ch];
    }
    wsss_dist_allreduce_sum_f64(sums, 2 * c);
    wsss_tensor *dx = NULL;
    if (want_x) {
        dx = wsss_ctx_tensor(ctx, WSSS_F32, 4, xs->shape);
        float *o = wsss_f32(dx);
        const double m = (double)a->count;
#pragma omp parallel for schedule(static)
        for (int64_t ch = 0; ch < c; ch++) {
            const double g = (wt ? wsss_f32(wt)[ch] : 1.0) * invstd[ch];
            const double mdy = sums[ch] / m, mdyx = sums[c + ch] / m;
            for (int64_t i = 0; i < n; i++) {
                const float *xp = x + (i * c + ch) * hw, *gp = dy + (i * c + ch) * hw;
                float *op = o + (i * c + ch) * hw;
                for (int64_t k = 0; k < hw; k++) {
                    const double xhat = ((double)xp[k] - mean[ch]) * invstd[ch];
                    op[k] = (float)(g * (gp[k] - mdy - xhat * mdyx));
                }
            }
        }
    }
    free(sums);
    free(invstd);
    if (gp != gy) wsss_ctx_release(ctx, gp);
    wsss_grad_accumulate_release(ctx, node->inputs[0], dx);
    wsss_grad_accumulate_release(ctx, node->inputs[1], dw);
    wsss_grad_accumulate_release(ctx, node->inputs[2], db);
}

/* per-channel sums of x (shift 0) or of (x - shift)^2, in double */
static void channel_sums(const float *x, int64_t n, int64_t c, int64_t hw, const double *shift, double *out) {
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < c; ch++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) {
            const float *xp = x + (i * c + ch) * hw;
            if (shift)
                for (int64_t k = 0; k < hw; k++) {
                    const double d = xp[k] - shift[ch];
                    s += d * d;
                }
            else
                for (int64_t k = 0; k < hw; k++) s += xp[k];
        }
        out[ch] = s;
    }
}

wsss_tensor *wsss_batchnorm2d_sync(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *weight, wsss_tensor *bias,
                                   wsss_tensor *running_mean, wsss_tensor *running_var, double momentum, double eps) {
    WSSS_ASSERT(x->dtype == WSSS_F32, "synchronised batch norm: F32 only");
    const int64_t n = x->shape[0], c = x->shape[1], hw = x->shape[2] * x->shape[3];
    wsss_tensor *y = wsss_ctx_tensor(ctx, WSSS_F32, 4, x->shape);
    /* a plain copy of a blocked x, x itself untouched (converting a blocked activation in place
     * here changed the gradients of a ResNet's later blocks: see the commit message) */
    const wsss_tensor *xc = x;
    if (x->layout) {
        dnnl_memory_desc_t plain;
        wsss_dnnl_tensor_md(&plain, y);
        xc = wsss_dnnl_as_md(ctx, x, &plain);
    } else {
        xc = wsss_ctx_contiguous(ctx, x);
    }
    double *sums = wsss_xmalloc((size_t)(c + 1) * sizeof(double)), *mean_d = wsss_xmalloc((size_t)c * sizeof(double));
    channel_sums(wsss_f32(xc), n, c, hw, NULL, sums);
    sums[c] = (double)(n * hw);
    wsss_dist_allreduce_sum_f64(sums, c + 1);
    const int64_t count = (int64_t)sums[c];
    WSSS_ASSERT(count > 1, "batchnorm2d: training needs more than one value per channel");
    for (int64_t ch = 0; ch < c; ch++) mean_d[ch] = sums[ch] / (double)count;
    channel_sums(wsss_f32(xc), n, c, hw, mean_d, sums);
    wsss_dist_allreduce_sum_f64(sums, c);
    wsss_tensor *mean = wsss_ctx_tensor(ctx, WSSS_F32, 1, &c), *var = wsss_ctx_tensor(ctx, WSSS_F32, 1, &c);
    for (int64_t ch = 0; ch < c; ch++) {
        wsss_f32(mean)[ch] = (float)mean_d[ch];
        wsss_f32(var)[ch] = (float)(sums[ch] / (double)count);
    }
    free(sums);
    free(mean_d);
    wsss_tensor *wc = NULL, *bc = NULL;
    if (weight) {
        wc = wsss_ctx_tensor(ctx, WSSS_F32, 1, &c);
        wsss_tensor_copy_into(wc, weight);
    }
    if (bias) {
        bc = wsss_ctx_tensor(ctx, WSSS_F32, 1, &c);
        wsss_tensor_copy_into(bc, bias);
    }
    {
        const float *xp = wsss_f32(xc), *mp = wsss_f32(mean), *vp = wsss_f32(var);
        float *yp = wsss_f32(y);
#pragma omp parallel for schedule(static)
        for (int64_t ch = 0; ch < c; ch++) {
            const double is = 1.0 / sqrt((double)vp[ch] + eps);
            const double g = wc ? wsss_f32(wc)[ch] : 1.0, b = bc ? wsss_f32(bc)[ch] : 0.0;
            for (int64_t i = 0; i < n; i++)
                for (int64_t k = 0; k < hw; k++) {
                    const int64_t at = (i * c + ch) * hw + k;
                    yp[at] = (float)(((double)xp[at] - mp[ch]) * is * g + b);
                }
        }
    }
    if (running_mean) {
        const double unbias = (double)count / (double)(count - 1);
        for (int64_t ch = 0; ch < c; ch++) {
            const double rm = wsss_tensor_get(running_mean, ch), rv = wsss_tensor_get(running_var, ch);
            wsss_tensor_set(running_mean, ch, (1 - momentum) * rm + momentum * wsss_f32(mean)[ch]);
            wsss_tensor_set(running_var, ch, (1 - momentum) * rv + momentum * wsss_f32(var)[ch] * unbias);
        }
    }
    /* the result in x's layout, as the ordinary op gives it */
    if (x->layout) {
        dnnl_memory_desc_t md;
        wsss_dnnl_tensor_md(&md, x);
        wsss_tensor *yb = wsss_dnnl_as_md(ctx, y, &md);
        wsss_ctx_release(ctx, y);
        y = yb;
    }
    wsss_tensor *ins[3] = {x, weight, bias};
    wsss_node *node = wsss_record(ctx, "batchnorm2d_sync", bn_sync_backward, y, 3, ins, sizeof(sync_attrs));
    if (node) {
        node->flags |= WSSS_NODE_BLOCKED_GRAD;
        sync_attrs *a = node->attrs;
        a->eps = eps;
        a->count = count;
        a->has_weight = weight != NULL;
        a->has_bias = bias != NULL;
        wsss_node_save(node, (wsss_tensor *)xc);
        wsss_node_save(node, mean);
        wsss_node_save(node, var);
        wsss_node_save(node, wc);
    }
    return y;
}
