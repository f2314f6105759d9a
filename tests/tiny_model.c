/* The trainer tests' tiny network (tiny_model.h). */
#include "tiny_model.h"

#include "wsss/ops.h"

void tiny_model_init(tiny_model *m, int channels, int classes, uint64_t seed) {
    const int64_t ch = channels, k = classes;
    wsss_params_init(&m->ps);
    m->channels = channels;
    m->cw = wsss_params_add_param(&m->ps, "conv.weight", WSSS_F32, 4, (int64_t[]){ch, 3, 3, 3}, 0);
    m->cb = wsss_params_add_param(&m->ps, "conv.bias", WSSS_F32, 1, (int64_t[]){ch}, 1);
    m->bw = wsss_params_add_param(&m->ps, "bn.weight", WSSS_F32, 1, (int64_t[]){ch}, 0);
    m->bb = wsss_params_add_param(&m->ps, "bn.bias", WSSS_F32, 1, (int64_t[]){ch}, 1);
    m->rm = wsss_params_add_buffer(&m->ps, "bn.running_mean", WSSS_F32, 1, (int64_t[]){ch});
    m->rv = wsss_params_add_buffer(&m->ps, "bn.running_var", WSSS_F32, 1, (int64_t[]){ch});
    m->fw = wsss_params_add_param(&m->ps, "fc.weight", WSSS_F32, 2, (int64_t[]){k, ch}, 2);
    m->fb = wsss_params_add_param(&m->ps, "fc.bias", WSSS_F32, 1, (int64_t[]){k}, 3);
    wsss_rng r;
    wsss_rng_seed(&r, seed);
    wsss_tensor *rand_params[] = {m->cw, m->cb, m->fw, m->fb};
    for (int i = 0; i < 4; i++)
        for (int64_t e = 0; e < wsss_tensor_numel(rand_params[i]); e++)
            wsss_f32(rand_params[i])[e] = (float)(0.3 * wsss_rng_normal(&r));
    wsss_tensor_fill(m->bw, 1.0);
    wsss_tensor_fill(m->rv, 1.0);
}

wsss_optim *tiny_model_optim(tiny_model *m, int nesterov) {
    const wsss_optim_group g[4] = {{1, 5e-4}, {2, 0}, {10, 5e-4}, {20, 0}};
    wsss_optim_config c = wsss_optim_sgd_config(0.9, 0, nesterov);
    wsss_optim *o = wsss_optim_new(&c, 4, g);
    wsss_optim_add_params(o, &m->ps);
    return o;
}

wsss_tensor *tiny_model_forward(wsss_ctx *ctx, tiny_model *m, wsss_tensor *x, wsss_rng *dropout_rng) {
    wsss_tensor *h = wsss_conv2d(ctx, x, m->cw, m->cb, (wsss_conv2d_params){.padding = {1, 1}});
    h = wsss_batchnorm2d(ctx, h, m->bw, m->bb, m->rm, m->rv, WSSS_BN_TRAIN, 0.1, 1e-5);
    h = wsss_relu(ctx, h);
    h = wsss_dropout(ctx, h, 0.3, 1, dropout_rng);
    h = wsss_global_avgpool(ctx, h);
    h = wsss_reshape(ctx, h, 2, (int64_t[]){x->shape[0], m->channels});
    return wsss_linear(ctx, h, m->fw, m->fb);
}
