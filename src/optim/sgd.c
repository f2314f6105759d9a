/* SGD with momentum, dampening, Nesterov and (L2) weight decay: torch.optim.SGD, foreach=False.
 *
 * PyTorch 1.13 per parameter:
 *   d_p = g;  if wd != 0: d_p = d_p.add(p, alpha=wd)
 *   if momentum != 0:
 *       buf = clone(d_p) on the first step, else buf.mul_(momentum).add_(d_p, alpha=1-dampening)
 *       d_p = d_p.add(buf, alpha=momentum) if nesterov else buf
 *   p.add_(d_p, alpha=-lr)
 * Each `x.add(y, alpha=a)` is fma(y, (float)a, x) in PyTorch's vectorised CPU kernel, and each scalar
 * is rounded to float before use, so the same is done here to agree bit for bit. */
#include <math.h>

#include "optim/optim_internal.h"
#include "wsss/error.h"

void wsss_optim_sgd_update(const wsss_optim_config *cfg, wsss_optim_slot *s, double lr, double weight_decay) {
    wsss_tensor *p = s->param;
    float *pd = wsss_f32(p);
    const float *g = wsss_f32(p->grad);
    const int64_t n = wsss_tensor_numel(p);
    const int use_wd = weight_decay != 0.0;
    const float wd = (float)weight_decay, neg_lr = (float)-lr;

    if (cfg->momentum == 0.0) {
#pragma omp parallel for schedule(static) if (n > WSSS_OPTIM_PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            float d = use_wd ? fmaf(pd[i], wd, g[i]) : g[i];
            pd[i] = fmaf(d, neg_lr, pd[i]);
        }
        return;
    }

    const int first = s->buf[0] == NULL;
    if (first) s->buf[0] = wsss_tensor_new(WSSS_F32, p->ndim, p->shape);
    float *buf = wsss_f32(s->buf[0]);
    const float mom = (float)cfg->momentum, damp = (float)(1.0 - cfg->dampening);
    const int nesterov = cfg->nesterov;
#pragma omp parallel for schedule(static) if (n > WSSS_OPTIM_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float d = use_wd ? fmaf(pd[i], wd, g[i]) : g[i];
        float b = first ? d : fmaf(d, damp, buf[i] * mom);
        buf[i] = b;
        d = nesterov ? fmaf(b, mom, d) : b;
        pd[i] = fmaf(d, neg_lr, pd[i]);
    }
}
