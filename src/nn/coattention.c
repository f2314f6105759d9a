/* MCIS co-attention module (include/wsss/coattention.h): the affinity, both softmaxes, the
 * co-attentive features, the shared classifier and the gated contrastive branch, written as the
 * plain composition of ops (the spec's formulas one to one; speed is not the point here). */
#include <stdio.h>
#include <string.h>

#include "wsss/coattention.h"
#include "wsss/error.h"
#include "wsss/models.h"

static const char *module_name(char *buf, size_t n, const char *prefix, const char *name) {
    int k = snprintf(buf, n, "%s%s", prefix ? prefix : "", name);
    WSSS_ASSERT(k > 0 && (size_t)k < n, "parameter name too long");
    return buf;
}

void wsss_coattention_init(wsss_coattention *m, wsss_params *ps, const char *prefix, wsss_dtype dt,
                           int64_t channels, int64_t num_classes, int group) {
    WSSS_ASSERT(channels > 0 && num_classes > 0, "coattention: channels and classes must be positive");
    memset(m, 0, sizeof *m);
    m->channels = channels;
    m->num_classes = num_classes;
    char name[256];
    wsss_linear_init(&m->affinity, ps, module_name(name, sizeof name, prefix, "extra_linear_e"), dt, channels,
                     channels, 0, group);
    wsss_conv_init(&m->classifier, ps, module_name(name, sizeof name, prefix, "extra_gate"), dt, channels,
                   num_classes, 1, 1, 0, 1, 0, group);
    wsss_conv_init(&m->gate, ps, module_name(name, sizeof name, prefix, "extra_gate_merge"), dt, channels, 1, 1,
                   1, 0, 1, 0, group);
}

void wsss_coattention_reset_parameters(wsss_coattention *m, wsss_rng *rng) {
    wsss_init_torch_default(m->affinity.weight, NULL, rng);
    wsss_init_torch_default(m->classifier.weight, NULL, rng);
    wsss_init_torch_default(m->gate.weight, NULL, rng);
}

/* B,C,h,w -> B,C,h*w (positions row-major, as torch's view) */
static wsss_tensor *flatten_positions(wsss_ctx *ctx, wsss_tensor *x) {
    const int64_t shape[3] = {x->shape[0], x->shape[1], x->shape[2] * x->shape[3]};
    return wsss_reshape(ctx, x, 3, shape);
}

/* The classifier and gate on one image's co-attentive features z (B,C,h,w); f is its own features. */
static void branch(wsss_ctx *ctx, const wsss_coattention *m, wsss_tensor *f, wsss_tensor *z,
                   wsss_coattention_out *out, int k) {
    out->co_map[k] = wsss_conv_forward(ctx, &m->classifier, z);
    out->co[k] = wsss_spatial_mean(ctx, out->co_map[k]);
    out->gate[k] = wsss_sigmoid(ctx, wsss_conv_forward(ctx, &m->gate, z));
    wsss_tensor *contrast = wsss_mul(ctx, f, wsss_rsub_scalar(ctx, out->gate[k], 1.0));
    out->cco_map[k] = wsss_conv_forward(ctx, &m->classifier, contrast);
    out->cco[k] = wsss_spatial_mean(ctx, out->cco_map[k]);
}

void wsss_coattention_forward(wsss_ctx *ctx, const wsss_coattention *m, wsss_tensor *f1, wsss_tensor *f2,
                              wsss_coattention_out *out) {
    WSSS_ASSERT(f1->ndim == 4 && f2->ndim == 4, "coattention: features must be B,C,h,w");
    WSSS_ASSERT(f1->shape[0] == f2->shape[0], "coattention: the two images need the same batch size");
    WSSS_ASSERT(f1->shape[1] == m->channels && f2->shape[1] == m->channels,
                "coattention: feature channels differ from the module's");
    WSSS_ASSERT(f1->dtype == m->affinity.weight->dtype && f2->dtype == f1->dtype,
                "coattention: features must have the module's dtype");
    memset(out, 0, sizeof *out);
    wsss_tensor *x1 = flatten_positions(ctx, f1), *x2 = flatten_positions(ctx, f2); /* B,C,N_k */
    const int to_positions_first[3] = {0, 2, 1};
    /* the reference's association: (F1ᵀ Wᵀ) F2, the linear layer applied to F1's positions */
    wsss_tensor *corr = wsss_linear(ctx, wsss_permute(ctx, x1, to_positions_first), m->affinity.weight, NULL);
    wsss_tensor *s = wsss_matmul(ctx, corr, x2, 0, 0); /* B,N1,N2 */
    wsss_tensor *a = wsss_softmax(ctx, s, 1);          /* A[i,j]: over image-1 positions i */
    wsss_tensor *bt = wsss_softmax(ctx, s, 2);         /* B[j,i] stored at [i,j]: over j */
    wsss_tensor *z1 = wsss_matmul(ctx, x2, bt, 0, 1);  /* F2·B: B,C,N1 */
    wsss_tensor *z2 = wsss_matmul(ctx, x1, a, 0, 0);   /* F1·A: B,C,N2 */
    const int64_t grid1[4] = {f1->shape[0], m->channels, f1->shape[2], f1->shape[3]};
    const int64_t grid2[4] = {f2->shape[0], m->channels, f2->shape[2], f2->shape[3]};
    branch(ctx, m, f1, wsss_reshape(ctx, z1, 4, grid1), out, 0);
    branch(ctx, m, f2, wsss_reshape(ctx, z2, 4, grid2), out, 1);
}
