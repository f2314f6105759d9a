/* AdamW (decoupled weight decay): torch.optim.AdamW, foreach=False, capturable=False.
 *
 * PyTorch 1.13 per parameter (step counted per parameter):
 *   p.mul_(1 - lr*wd)
 *   m.mul_(beta1).add_(g, alpha=1-beta1);  v.mul_(beta2).addcmul_(g, g, value=1-beta2)
 *   bc1 = 1 - beta1**step;  bc2 = 1 - beta2**step            (double, Python floats)
 *   v_max = maximum(v_max, v) if amsgrad
 *   denom = (sqrt(v or v_max) / sqrt(bc2)).add_(eps)
 *   p.addcdiv_(m, denom, value=-lr/bc1)
 * add_ with alpha and addcmul_ are fused multiply-adds in PyTorch's vectorised kernels
 * (addcmul: fma(value*g, g, v)); addcdiv is p + (value*m)/denom; scalars are rounded to float. */
#include <math.h>

#include "optim/optim_internal.h"
#include "wsss/error.h"

/* torch.maximum: NaN if either input is NaN. */
static inline float max_nan(float a, float b) {
    if (isnan(a) || isnan(b)) return NAN;
    return a > b ? a : b;
}

void wsss_optim_adamw_update(const wsss_optim_config *cfg, wsss_optim_slot *s, double lr, double weight_decay) {
    wsss_tensor *p = s->param;
    const int n_bufs = cfg->amsgrad ? 3 : 2;
    for (int b = 0; b < n_bufs; b++)
        if (!s->buf[b]) s->buf[b] = wsss_tensor_new(WSSS_F32, p->ndim, p->shape);
    float *pd = wsss_f32(p), *m = wsss_f32(s->buf[0]), *v = wsss_f32(s->buf[1]);
    float *vmax = cfg->amsgrad ? wsss_f32(s->buf[2]) : NULL;
    const float *g = wsss_f32(p->grad);
    const int64_t n = wsss_tensor_numel(p);

    /* PyTorch keeps the step in a float32 tensor and reads it back with .item(). */
    const double step = (double)(float)s->step;
    const double bc1 = 1.0 - pow(cfg->beta1, step);
    const double bc2 = 1.0 - pow(cfg->beta2, step);
    const float decay = (float)(1.0 - lr * weight_decay);
    const float b1 = (float)cfg->beta1, omb1 = (float)(1.0 - cfg->beta1);
    const float b2 = (float)cfg->beta2, omb2 = (float)(1.0 - cfg->beta2);
    const float bc2_sqrt = (float)sqrt(bc2), eps = (float)cfg->eps;
    const float neg_step_size = (float)-(lr / bc1);

#pragma omp parallel for schedule(static) if (n > WSSS_OPTIM_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float pi = pd[i] * decay;
        float gi = g[i];
        float mi = fmaf(gi, omb1, m[i] * b1);
        float vi = fmaf(omb2 * gi, gi, v[i] * b2);
        m[i] = mi;
        v[i] = vi;
        float vd = vi;
        if (vmax) vd = vmax[i] = max_nan(vmax[i], vi);
        float denom = sqrtf(vd) / bc2_sqrt + eps;
        pd[i] = pi + (neg_step_size * mi) / denom;
    }
}
