/* wsss_conv2d_bn_eval: the folded inference convolution equals the separate ops (conv2d,
 * batchnorm2d with running statistics, add, relu) computed by the reference kernels, for 1x1,
 * strided, dilated and biased convolutions, with and without residual and ReLU, in plain and
 * blocked contexts; a consumed residual is overwritten and returned, a kept one is untouched;
 * the folded weights follow updates of the weight and of the statistics, and survive context
 * resets; with gradients needed it is the composed ops (same values, gradients flow). */
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

typedef struct bn_case {
    const char *name;
    int cin, cout, k, stride, pad, dil, conv_bias, affine, residual, relu;
} bn_case;

static const bn_case k_cases[] = {
    {"1x1 + bn", 16, 32, 1, 1, 0, 1, 0, 1, 0, 0},
    {"1x1 + bn + relu", 32, 16, 1, 1, 0, 1, 0, 1, 0, 1},
    {"3x3 + bn + relu", 16, 16, 3, 1, 1, 1, 0, 1, 0, 1},
    {"3x3 stride 2 + bias + bn", 8, 24, 3, 2, 1, 1, 1, 1, 0, 0},
    {"3x3 dilation 2 + bn + residual + relu", 32, 32, 3, 1, 2, 2, 0, 1, 1, 1},
    {"1x1 + bn + residual (no relu)", 16, 32, 1, 1, 0, 1, 0, 1, 1, 0},
    {"7x7 stride 2 from 3 channels + bn + relu", 3, 16, 7, 2, 3, 1, 0, 1, 0, 1},
    {"3x3 + bn without affine + relu", 16, 16, 3, 1, 1, 1, 0, 0, 0, 1},
};

typedef struct operands {
    wsss_tensor *x, *w, *b, *gamma, *beta, *mean, *var, *res;
    wsss_conv_bn_args a;
} operands;

static void operands_init_hw(operands *o, const bn_case *c, unsigned long long seed, int64_t h, int64_t w) {
    memset(o, 0, sizeof *o);
    const int64_t xs[4] = {2, c->cin, h, w}, ws[4] = {c->cout, c->cin, c->k, c->k}, cs[1] = {c->cout};
    o->x = rand_tensor(WSSS_F32, 4, xs, -1, 1, seed);
    o->w = rand_tensor(WSSS_F32, 4, ws, -0.3, 0.3, seed + 1);
    if (c->conv_bias) o->b = rand_tensor(WSSS_F32, 1, cs, -0.5, 0.5, seed + 2);
    if (c->affine) {
        o->gamma = rand_tensor(WSSS_F32, 1, cs, 0.5, 1.5, seed + 3);
        o->beta = rand_tensor(WSSS_F32, 1, cs, -0.5, 0.5, seed + 4);
    }
    o->mean = rand_tensor(WSSS_F32, 1, cs, -0.3, 0.3, seed + 5);
    o->var = rand_tensor(WSSS_F32, 1, cs, 0.2, 2.0, seed + 6);
    o->a = (wsss_conv_bn_args){.weight = o->w,
                               .bias = o->b,
                               .conv = {.stride = {c->stride, c->stride},
                                        .padding = {c->pad, c->pad},
                                        .dilation = {c->dil, c->dil}},
                               .bn_weight = o->gamma,
                               .bn_bias = o->beta,
                               .running_mean = o->mean,
                               .running_var = o->var,
                               .eps = 1e-5};
}

static void operands_init(operands *o, const bn_case *c, unsigned long long seed) {
    operands_init_hw(o, c, seed, 11, 13);
}

static void operands_free(operands *o) {
    wsss_tensor *ts[8] = {o->x, o->w, o->b, o->gamma, o->beta, o->mean, o->var, o->res};
    for (int i = 0; i < 8; i++) wsss_tensor_free(ts[i]);
}

/* The separate ops on the reference kernels (persistent result). */
static wsss_tensor *reference(const operands *o, const wsss_tensor *res, int relu) {
    wsss_backend old = wsss_get_backend();
    wsss_set_backend(WSSS_BACKEND_REF);
    wsss_ctx *ctx = test_ctx_no_grad();
    wsss_tensor *y = wsss_conv2d(ctx, o->x, o->w, o->b, o->a.conv);
    y = wsss_batchnorm2d(ctx, y, o->gamma, o->beta, o->mean, o->var, WSSS_BN_EVAL, 0.1, o->a.eps);
    if (res) y = wsss_add(ctx, y, (wsss_tensor *)res);
    if (relu) y = wsss_relu(ctx, y);
    wsss_tensor *out = wsss_tensor_clone(y);
    wsss_ctx_free(ctx);
    wsss_set_backend(old);
    return out;
}

/* A no-grad context as the inference commands use it. */
static wsss_ctx *inference_ctx(int blocked, int winograd) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, blocked);
    wsss_ctx_set_winograd(ctx, winograd);
    wsss_ctx_set_grad_enabled(ctx, 0);
    return ctx;
}

static void test_cases(void) {
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const bn_case *c = &k_cases[i];
        for (int blocked = 0; blocked < 2; blocked++) {
            for (int consume = 0; consume < 1 + c->residual; consume++) {
                operands o;
                operands_init(&o, c, 100 + 10 * i);
                wsss_ctx *ctx = inference_ctx(blocked, 0);
                char what[160];
                snprintf(what, sizeof what, "%s (%s%s)", c->name, blocked ? "blocked" : "plain",
                         consume ? ", residual consumed" : "");
                /* the residual: a context tensor in the layout an inference convolution hands
                 * out (a ResNet block's downsample branch) */
                wsss_tensor *res = NULL, *res_copy = NULL;
                wsss_tensor *want = NULL;
                if (c->residual) {
                    /* (reading a blocked tensor converts it to plain: copy a twin) */
                    res_copy = wsss_tensor_clone(wsss_conv2d_bn_eval(ctx, o.x, &o.a, NULL, 0, 0));
                    res = wsss_conv2d_bn_eval(ctx, o.x, &o.a, NULL, 0, 0);
                }
                want = reference(&o, res_copy, c->relu);
                wsss_tensor *y = wsss_conv2d_bn_eval(ctx, o.x, &o.a, res, consume, c->relu);
                check_close_scaled(what, y, want, 2e-6);
                CHECK(y->layout == NULL || blocked, "%s: a plain context hands out plain tensors", what);
                if (res && !consume) check_close("residual kept unchanged", res, res_copy, 0, 0);
                if (res && consume && blocked)
                    CHECK(y == res, "%s: the consumed residual holds the result", what);
                wsss_tensor_free(want);
                wsss_tensor_free(res_copy);
                wsss_ctx_free(ctx);
                operands_free(&o);
            }
        }
    }
}

/* Winograd contexts: undilated 3x3 convolutions, and dilated ones (dilation 2 and 4 on maps of
 * multiples of the dilation) on space-to-batch sub-maps, agree with the reference up to
 * Winograd's rounding; maps of other sizes and 1x1 convolutions stay direct. */
static void test_winograd(void) {
    static const struct { bn_case c; int64_t h, w; } cases[] = {
        {{"winograd 3x3", 32, 32, 3, 1, 1, 1, 0, 1, 0, 1}, 12, 16},
        {{"winograd 3x3 dilation 2 (space-to-batch)", 32, 48, 3, 1, 2, 2, 0, 1, 0, 1}, 12, 16},
        {{"winograd 3x3 dilation 4 (space-to-batch)", 16, 32, 3, 1, 4, 4, 1, 1, 0, 0}, 16, 8},
        {{"winograd 3x3 dilation 2, odd map (direct)", 32, 32, 3, 1, 2, 2, 0, 1, 0, 1}, 11, 13},
        {{"winograd context, 1x1 + residual (direct)", 32, 32, 1, 1, 0, 1, 0, 1, 1, 1}, 12, 16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bn_case *c = &cases[i].c;
        operands o;
        operands_init_hw(&o, c, 300 + 10 * i, cases[i].h, cases[i].w);
        wsss_ctx *ctx = inference_ctx(1, 1);
        wsss_tensor *res = NULL, *res_copy = NULL;
        if (c->residual) {
            const int64_t rs[4] = {2, c->cout, cases[i].h, cases[i].w};
            res_copy = rand_tensor(WSSS_F32, 4, rs, -1, 1, 77);
            res = wsss_tensor_clone(res_copy);
        }
        wsss_tensor *want = reference(&o, res_copy, c->relu);
        for (int rep = 0; rep < 2; rep++) { /* the second call runs on the cached weights */
            wsss_tensor *y = wsss_conv2d_bn_eval(ctx, o.x, &o.a, res, 0, c->relu);
            check_close_scaled(c->name, y, want, 1e-5);
            CHECK(wsss_tensor_same_shape(y, want), "%s: output shape", c->name);
            wsss_ctx_reset(ctx);
        }
        wsss_tensor_free(want);
        wsss_tensor_free(res);
        wsss_tensor_free(res_copy);
        wsss_ctx_free(ctx);
        operands_free(&o);
    }
}

/* The folded weights are cached per weight and statistics version, and across resets. */
static void test_cache_follows_updates(void) {
    const bn_case c = {"3x3", 16, 32, 3, 1, 1, 1, 0, 1, 0, 1};
    operands o;
    operands_init(&o, &c, 7);
    wsss_ctx *ctx = inference_ctx(1, 0);
    wsss_tensor *want = reference(&o, NULL, 1);
    check_close_scaled("first call", wsss_conv2d_bn_eval(ctx, o.x, &o.a, NULL, 0, 1), want, 2e-6);
    wsss_ctx_reset(ctx);
    CHECK(wsss_ctx_bytes(ctx) > 0, "the folded weight used in the step survives the reset");
    check_close_scaled("after a reset (cached weight)", wsss_conv2d_bn_eval(ctx, o.x, &o.a, NULL, 0, 1), want,
                       2e-6);
    wsss_tensor_free(want);
    /* each input of the folding, updated in place (which bumps its version) */
    wsss_tensor *const updated[4] = {o.w, o.gamma, o.var, o.mean};
    const char *const names[4] = {"weight", "bn weight", "running_var", "running_mean"};
    for (int i = 0; i < 4; i++) {
        wsss_tensor_set(updated[i], 0, wsss_tensor_get(updated[i], 0) * 1.5 + 0.25);
        want = reference(&o, NULL, 1);
        char what[96];
        snprintf(what, sizeof what, "after a %s update", names[i]);
        check_close_scaled(what, wsss_conv2d_bn_eval(ctx, o.x, &o.a, NULL, 0, 1), want, 2e-6);
        wsss_tensor_free(want);
        wsss_ctx_reset(ctx);
    }
    const size_t kept = wsss_ctx_bytes(ctx);
    wsss_ctx_reset(ctx); /* an empty step (two resets in a row) keeps the cache */
    CHECK(wsss_ctx_bytes(ctx) == kept && kept > 0, "a reset after a reset keeps the cache (%zu -> %zu bytes)",
          kept, wsss_ctx_bytes(ctx));
    /* a step with another, smaller convolution only: the first one's folded weight goes */
    const bn_case c2 = {"1x1", 16, 16, 1, 1, 0, 1, 0, 1, 0, 0};
    operands o2;
    operands_init(&o2, &c2, 11);
    wsss_conv2d_bn_eval(ctx, o2.x, &o2.a, NULL, 0, 0);
    wsss_ctx_reset(ctx);
    CHECK(wsss_ctx_bytes(ctx) > 0 && wsss_ctx_bytes(ctx) < kept,
          "derived tensors unused in a step are freed at its reset (%zu -> %zu bytes)", kept, wsss_ctx_bytes(ctx));
    wsss_ctx_free(ctx);
    operands_free(&o2);
    operands_free(&o);
}

/* With gradients needed it composes the ops: same values, and gradients reach every input. */
static void test_with_gradients(void) {
    const bn_case c = {"3x3", 8, 16, 3, 1, 1, 1, 1, 1, 1, 1};
    operands o;
    operands_init(&o, &c, 21);
    const int64_t rs[4] = {2, 16, 11, 13};
    o.res = rand_tensor(WSSS_F32, 4, rs, -1, 1, 29);
    wsss_tensor *want = reference(&o, o.res, 1);
    wsss_tensor *leaves[6] = {o.x, o.w, o.b, o.gamma, o.beta, o.res};
    for (int i = 0; i < 6; i++) leaves[i]->requires_grad = 1;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = wsss_conv2d_bn_eval(ctx, o.x, &o.a, o.res, 1, 1);
    check_close_scaled("with gradients: composed ops", y, want, 2e-6);
    CHECK(y != o.res, "with gradients the residual is not overwritten");
    CHECK(wsss_backward(ctx, wsss_sum_all(ctx, y)) == WSSS_OK, "backward");
    for (int i = 0; i < 6; i++) CHECK(leaves[i]->grad != NULL, "gradient for input %d", i);
    wsss_ctx_free(ctx);
    wsss_tensor_free(want);
    operands_free(&o);
}

int main(void) {
    wsss_runtime_init();
    test_cases();
    test_winograd();
    test_cache_follows_updates();
    test_with_gradients();
    return test_summary("test_conv_bn_eval");
}
