/* Blocked layouts (wsss_ctx_set_blocked): chains of layout-aware ops (conv, conv + ReLU, batch
 * norm, fused batch norm + ReLU, ReLU, max/avg/global pooling, add_relu) give the same outputs, gradients and
 * running statistics as the reference backend and as oneDNN on plain tensors, in training
 * (forward + backward), eval/frozen and no-grad inference; blocked tensors have no plain data
 * pointer and convert back exactly; the per-context weight cache follows weight updates. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/optim.h"
#include "wsss/runtime.h"

enum { RUN_REF = 0, RUN_PLAIN, RUN_BLOCKED, RUN_WINO, N_RUNS };
static const char *const k_run[N_RUNS] = {"ref", "dnnl-plain", "dnnl-blocked", "dnnl-blocked-winograd"};

/* Parameters of a small ResNet/VGG-like network (persistent, F32). */
enum {
    P_W0 = 0, P_BN0W, P_BN0B, /* stem conv 3->16 k3 s2, bn+relu */
    P_WA1, P_BNA1W, P_BNA1B,  /* branch a: 1x1 16->16, bn, relu */
    P_WA2, P_BNA2W, P_BNA2B,  /* 3x3 16->32, bn */
    P_WB, P_BNBW, P_BNBB,     /* branch b: 1x1 16->32 stride 1, bn */
    P_WH, P_BH,               /* head: 3x3 32->20 dilation 2 + bias + relu, maxpool 3/1/1,
                                 avgpool 2, 1x1 */
    P_WC, P_BC,               /* cam 1x1 20->20 + bias, global average pool */
    N_PARAMS
};
enum { B_RM0 = 0, B_RV0, B_RMA1, B_RVA1, B_RMA2, B_RVA2, B_RMB, B_RVB, N_BUFS };

typedef struct net {
    wsss_tensor *p[N_PARAMS];
    wsss_tensor *buf[N_BUFS];
} net;

static void net_init(net *n, unsigned long long seed) {
    const int64_t shapes[N_PARAMS][4] = {
        {16, 3, 3, 3}, {16}, {16}, {16, 16, 1, 1}, {16}, {16}, {32, 16, 3, 3}, {32}, {32},
        {32, 16, 1, 1}, {32}, {32}, {20, 32, 3, 3}, {20}, {20, 20, 1, 1}, {20}};
    const int nd[N_PARAMS] = {4, 1, 1, 4, 1, 1, 4, 1, 1, 4, 1, 1, 4, 1, 4, 1};
    for (int i = 0; i < N_PARAMS; i++) {
        int bn_w = i == P_BN0W || i == P_BNA1W || i == P_BNA2W || i == P_BNBW;
        n->p[i] = rand_tensor(WSSS_F32, nd[i], shapes[i], bn_w ? 0.5 : -0.4, bn_w ? 1.5 : 0.4, seed + i);
        n->p[i]->requires_grad = 1;
    }
    const int64_t bc[N_BUFS] = {16, 16, 16, 16, 32, 32, 32, 32};
    for (int i = 0; i < N_BUFS; i++)
        n->buf[i] = rand_tensor(WSSS_F32, 1, &bc[i], i % 2 ? 0.5 : -0.2, i % 2 ? 2.0 : 0.2, seed + 100 + i);
}

static void net_free(net *n) {
    for (int i = 0; i < N_PARAMS; i++) wsss_tensor_free(n->p[i]);
    for (int i = 0; i < N_BUFS; i++) wsss_tensor_free(n->buf[i]);
}

static void net_copy(net *dst, const net *src) {
    for (int i = 0; i < N_PARAMS; i++) {
        dst->p[i] = wsss_tensor_clone(src->p[i]);
        dst->p[i]->requires_grad = 1;
    }
    for (int i = 0; i < N_BUFS; i++) dst->buf[i] = wsss_tensor_clone(src->buf[i]);
}

static wsss_conv2d_params conv_p(int stride, int pad, int dil) {
    wsss_conv2d_params p = {.stride = {stride, stride}, .padding = {pad, pad}, .dilation = {dil, dil}};
    return p;
}

/* The network: returns the class scores (N, 20); *feat receives the last feature map. */
static wsss_tensor *net_forward(wsss_ctx *ctx, net *n, wsss_tensor *x, wsss_bn_mode mode,
                                wsss_tensor **feat) {
    wsss_tensor **p = n->p, **b = n->buf;
    wsss_tensor *t = wsss_conv2d(ctx, x, p[P_W0], NULL, conv_p(2, 1, 1));
    t = wsss_batchnorm2d_relu(ctx, t, p[P_BN0W], p[P_BN0B], b[B_RM0], b[B_RV0], mode, 0.1, 1e-5);
    wsss_pool2d_params mp = {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1};
    wsss_tensor *s = wsss_maxpool2d(ctx, t, mp);
    wsss_tensor *a = wsss_conv2d(ctx, s, p[P_WA1], NULL, conv_p(1, 0, 1));
    a = wsss_relu(ctx, wsss_batchnorm2d(ctx, a, p[P_BNA1W], p[P_BNA1B], b[B_RMA1], b[B_RVA1], mode, 0.1, 1e-5));
    a = wsss_conv2d(ctx, a, p[P_WA2], NULL, conv_p(1, 1, 1)); /* Winograd-eligible */
    a = wsss_batchnorm2d(ctx, a, p[P_BNA2W], p[P_BNA2B], b[B_RMA2], b[B_RVA2], mode, 0.1, 1e-5);
    wsss_tensor *c = wsss_conv2d(ctx, s, p[P_WB], NULL, conv_p(1, 0, 1));
    c = wsss_batchnorm2d(ctx, c, p[P_BNBW], p[P_BNBB], b[B_RMB], b[B_RVB], mode, 0.1, 1e-5);
    t = wsss_add_relu(ctx, a, c);
    t = wsss_conv2d_relu(ctx, t, p[P_WH], p[P_BH], conv_p(1, 2, 2));
    wsss_pool2d_params p4 = {.kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1}};
    t = wsss_maxpool2d(ctx, t, p4);
    wsss_pool2d_params ap = {.kernel = {2, 2}, .stride = {2, 2}, .count_include_pad = 1};
    t = wsss_avgpool2d(ctx, t, ap);
    t = wsss_conv2d(ctx, t, p[P_WC], p[P_BC], conv_p(1, 0, 1));
    if (feat) *feat = t;
    wsss_tensor *g = wsss_global_avgpool(ctx, t);
    int64_t s2[2] = {x->shape[0], 20};
    return wsss_reshape(ctx, g, 2, s2);
}

typedef struct result {
    wsss_tensor *scores, *feat, *loss, *dx;
    wsss_tensor *grad[N_PARAMS];
    wsss_tensor *buf[N_BUFS];
    int feat_blocked, feat_data_null;
} result;

static void result_free(result *r) {
    FREE_TENSORS(r->scores, r->feat, r->loss, r->dx);
    for (int i = 0; i < N_PARAMS; i++) wsss_tensor_free(r->grad[i]);
    for (int i = 0; i < N_BUFS; i++) wsss_tensor_free(r->buf[i]);
}

static result run(int kind, const net *n0, const wsss_tensor *x0, const wsss_tensor *target,
                  wsss_bn_mode mode, int train) {
    result r;
    memset(&r, 0, sizeof r);
    wsss_set_backend(kind == RUN_REF ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
    net n;
    net_copy(&n, n0);
    wsss_tensor *x = wsss_tensor_clone(x0);
    x->requires_grad = train;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, kind == RUN_BLOCKED || kind == RUN_WINO);
    wsss_ctx_set_winograd(ctx, kind == RUN_WINO);
    wsss_ctx_set_grad_enabled(ctx, train);
    wsss_tensor *feat = NULL;
    wsss_tensor *scores = net_forward(ctx, &n, x, mode, &feat);
    r.feat_blocked = wsss_tensor_is_blocked(feat);
    r.feat_data_null = feat->data == NULL;
    r.feat = wsss_tensor_clone(feat); /* converts */
    r.scores = wsss_tensor_clone(scores);
    if (train) {
        wsss_tensor *loss = wsss_bce_with_logits(ctx, scores, (wsss_tensor *)target);
        CHECK(wsss_backward(ctx, loss) == WSSS_OK, "backward: %s", wsss_error_msg());
        r.loss = wsss_tensor_clone(loss);
        r.dx = wsss_tensor_clone(x->grad);
        for (int i = 0; i < N_PARAMS; i++) r.grad[i] = n.p[i]->grad ? wsss_tensor_clone(n.p[i]->grad) : NULL;
    }
    for (int i = 0; i < N_BUFS; i++) r.buf[i] = wsss_tensor_clone(n.buf[i]);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    net_free(&n);
    wsss_set_backend(WSSS_BACKEND_DNNL);
    return r;
}

static double rel_close(const char *what, const wsss_tensor *got, const wsss_tensor *want, double rtol) {
    /* tolerance relative to the tensor's largest magnitude: F32 kernels sum in other orders */
    double m = 0;
    for (int64_t i = 0; i < wsss_tensor_numel(want); i++) {
        double v = fabs(wsss_tensor_get(want, i));
        if (v > m) m = v;
    }
    check_close(what, got, want, rtol * (m > 0 ? m : 1), rtol);
    return max_rel_error(got, want);
}

static void compare(const char *tag, const result *got, const result *want, int train, double rtol,
                    double *worst) {
    char what[128];
    double e;
#define CMP(name, a, b)                                                       \
    do {                                                                      \
        snprintf(what, sizeof what, "%s %s", tag, name);                      \
        e = rel_close(what, a, b, rtol);                                      \
        if (e > *worst) *worst = e;                                           \
    } while (0)
    CMP("scores", got->scores, want->scores);
    CMP("features", got->feat, want->feat);
    for (int i = 0; i < N_BUFS; i++) CMP("running stats", got->buf[i], want->buf[i]);
    if (!train) return;
    CMP("loss", got->loss, want->loss);
    CMP("dx", got->dx, want->dx);
    for (int i = 0; i < N_PARAMS; i++) {
        CHECK((got->grad[i] == NULL) == (want->grad[i] == NULL), "%s: grad %d presence", tag, i);
        if (got->grad[i] && want->grad[i]) {
            char nm[32];
            snprintf(nm, sizeof nm, "grad[%d]", i);
            CMP(nm, got->grad[i], want->grad[i]);
        }
    }
#undef CMP
}

static void test_chain(void) {
    const int64_t xs[4] = {3, 3, 29, 27}, ts[2] = {3, 20};
    net n;
    net_init(&n, 11);
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, xs, -1, 1, 5);
    wsss_tensor *target = rand_tensor(WSSS_F32, 2, ts, 0, 1, 6);
    for (int64_t i = 0; i < 60; i++) wsss_tensor_set(target, i, wsss_tensor_get(target, i) < 0.3);
    const wsss_bn_mode modes[3] = {WSSS_BN_TRAIN, WSSS_BN_EVAL, WSSS_BN_FROZEN};
    for (int m = 0; m < 3; m++) {
        for (int train = 0; train < 2; train++) {
            result r[N_RUNS];
            for (int k = 0; k < N_RUNS; k++) r[k] = run(k, &n, x, target, modes[m], train);
            CHECK(r[RUN_BLOCKED].feat_blocked && r[RUN_BLOCKED].feat_data_null,
                  "blocked context: the feature map stays blocked with a NULL data pointer");
            CHECK(!r[RUN_PLAIN].feat_blocked && !r[RUN_REF].feat_blocked, "plain contexts stay plain");
            double worst_ref = 0, worst_plain = 0;
            char tag[96];
            snprintf(tag, sizeof tag, "mode %d %s blocked-vs-ref", m, train ? "train" : "no-grad");
            compare(tag, &r[RUN_BLOCKED], &r[RUN_REF], train, 2e-4, &worst_ref);
            snprintf(tag, sizeof tag, "mode %d %s blocked-vs-plain", m, train ? "train" : "no-grad");
            compare(tag, &r[RUN_BLOCKED], &r[RUN_PLAIN], train, 2e-4, &worst_plain);
            double worst_wino = 0;
            snprintf(tag, sizeof tag, "mode %d %s winograd-vs-ref", m, train ? "train" : "no-grad");
            compare(tag, &r[RUN_WINO], &r[RUN_REF], train, 1e-3, &worst_wino);
            printf("chain %-6s %-7s: max rel error blocked vs ref %.2e, vs oneDNN plain %.2e; "
                   "Winograd vs ref %.2e\n",
                   m == 0 ? "train" : m == 1 ? "eval" : "frozen", train ? "train" : "no-grad",
                   worst_ref, worst_plain, worst_wino);
            for (int k = 0; k < N_RUNS; k++) result_free(&r[k]);
        }
    }
    (void)k_run;
    wsss_tensor_free(x);
    wsss_tensor_free(target);
    net_free(&n);
}

/* Blocked tensors: NULL data, plain conversion in place, core readers convert, views convert. */
static void test_conversion(void) {
    const int64_t xs[4] = {2, 20, 7, 5}, ws[4] = {20, 20, 3, 3};
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, xs, -1, 1, 1), *w = rand_tensor(WSSS_F32, 4, ws, -0.3, 0.3, 2);
    wsss_ctx *ref = wsss_ctx_new(), *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, 1);
    wsss_tensor *yr = wsss_conv2d(ref, x, w, NULL, conv_p(1, 1, 1));
    wsss_tensor *y = wsss_conv2d(ctx, x, w, NULL, conv_p(1, 1, 1));
    CHECK(wsss_tensor_is_blocked(y) && y->data == NULL,
          "conv output in a blocked context is blocked (20 channels padded to 32)");
    CHECK(wsss_tensor_get(y, 7) == wsss_tensor_get(yr, 7), "core getter converts");
    CHECK(!wsss_tensor_is_blocked(y) && y->data != NULL, "after a read the tensor is plain");
    check_close("converted values", y, yr, 0, 0);
    /* a view of a blocked tensor */
    wsss_tensor *y2 = wsss_relu(ctx, wsss_conv2d(ctx, x, w, NULL, conv_p(1, 1, 1)));
    CHECK(wsss_tensor_is_blocked(y2), "relu of a blocked tensor stays blocked");
    int64_t flat[2] = {2, -1};
    wsss_tensor *yr2 = wsss_relu(ref, yr);
    wsss_tensor *v = wsss_reshape(ctx, wsss_detach(ctx, y2), 2, flat);
    wsss_tensor *vr = wsss_reshape(ref, yr2, 2, flat);
    check_close("view of a blocked tensor", v, vr, 0, 0);
    /* a plain consumer (sum) on a blocked tensor */
    wsss_tensor *y3 = wsss_relu(ctx, wsss_conv2d(ctx, x, w, NULL, conv_p(1, 1, 1)));
    wsss_tensor *s = wsss_softmax(ctx, y3, 1), *sr = wsss_softmax(ref, yr2, 1);
    check_close("softmax of a blocked tensor", s, sr, 1e-7, 1e-6);
    CHECK(wsss_ctx_bytes(ctx) > 0, "context accounting stays positive");
    wsss_ctx_free(ctx);
    wsss_ctx_free(ref);
    wsss_tensor_free(x);
    wsss_tensor_free(w);
}

/* Weight cache: within one context, a weight updated by the optimizer is reordered again. */
static void test_weight_cache(void) {
    const int64_t xs[4] = {2, 16, 9, 9}, ws[4] = {32, 16, 3, 3};
    wsss_tensor *x = rand_tensor(WSSS_F32, 4, xs, -1, 1, 3), *w = rand_tensor(WSSS_F32, 4, ws, -0.3, 0.3, 4);
    w->requires_grad = 1;
    wsss_ctx *ctx = wsss_ctx_new(), *ref = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, 1);
    wsss_tensor *y1 = wsss_conv2d(ctx, x, w, NULL, conv_p(1, 1, 1));
    /* the second use in the context keeps the reordered weight */
    wsss_tensor *y1b = wsss_conv2d(ctx, x, w, NULL, conv_p(1, 1, 1));
    wsss_tensor *y1c = wsss_conv2d(ctx, x, w, NULL, conv_p(1, 1, 1));
    check_close("second use (weight kept)", y1b, y1, 0, 0);
    check_close("third use (weight from the cache)", y1c, y1, 0, 0);
    wsss_tensor *l = wsss_sum_all(ctx, wsss_tensor_plain(y1));
    CHECK(wsss_backward(ctx, l) == WSSS_OK, "backward");
    wsss_optim_config cfg = wsss_optim_sgd_config(0.9, 0, 0);
    wsss_optim_group grp = {1.0, 0.0};
    wsss_optim *o = wsss_optim_new(&cfg, 1, &grp);
    wsss_optim_add_param(o, w, 0);
    wsss_optim_step(o, 0.5);
    wsss_tensor *y2 = wsss_conv2d(ctx, x, w, NULL, conv_p(1, 1, 1)); /* same context, new weights */
    wsss_tensor *yr = wsss_conv2d(ref, x, w, NULL, conv_p(1, 1, 1));
    check_close("conv after an optimizer step in the same context", y2, yr, 1e-5, 1e-5);
    /* a direct write announced with wsss_tensor_bump_version */
    wsss_f32(w)[0] += 1.0f;
    wsss_tensor_bump_version(w);
    wsss_tensor *y3 = wsss_conv2d(ctx, x, w, NULL, conv_p(1, 1, 1));
    wsss_tensor *yr3 = wsss_conv2d(ref, x, w, NULL, conv_p(1, 1, 1));
    check_close("conv after a bumped direct write", y3, yr3, 1e-5, 1e-5);
    wsss_optim_free(o);
    wsss_ctx_free(ctx);
    wsss_ctx_free(ref);
    wsss_tensor_free(x);
    wsss_tensor_free(w);
}

/* Context buffer pool: same-size requests after a reset reuse buffers, zero-filled and with a new
 * buffer id; a view outliving its context keeps its data. */
static void test_pool(void) {
    wsss_ctx *ctx = wsss_ctx_new();
    const int64_t s1[2] = {300, 400}, s2[1] = {7};
    wsss_tensor *a = wsss_ctx_tensor(ctx, WSSS_F32, 2, s1);
    void *pa = a->buf->data;
    uint64_t ida = a->buf->id;
    wsss_tensor_fill(a, 3.0);
    wsss_ctx_reset(ctx);
    wsss_tensor *b = wsss_ctx_tensor(ctx, WSSS_F32, 2, s1);
    CHECK(b->buf->data == pa, "a buffer of the same size is reused after a reset");
    CHECK(b->buf->id != ida, "a reused buffer gets a new id (caches keyed by the old one are void)");
    double mx = 0;
    for (int64_t i = 0; i < wsss_tensor_numel(b); i++) mx = fmax(mx, fabs(wsss_tensor_get(b, i)));
    CHECK(mx == 0, "a reused buffer is zero-filled");
    wsss_tensor *c = wsss_ctx_tensor(ctx, WSSS_F32, 1, s2);
    wsss_tensor_fill(c, 5.0);
    wsss_tensor *v = wsss_tensor_header_like(c); /* a view the context does not own */
    wsss_ctx_free(ctx);
    CHECK(wsss_tensor_get(v, 6) == 5.0, "a view keeps its pooled buffer after the context is freed");
    wsss_tensor_destroy(v);
}

/* Copy-on-write gradients: one buffer handed to several inputs, then accumulated into. */
static void test_cow_grads(void) {
    const int64_t s[1] = {5};
    for (int blocked = 0; blocked < 2; blocked++) {
        wsss_tensor *a = rand_tensor(WSSS_F32, 1, s, -1, 1, 9);
        a->requires_grad = 1;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_ctx_set_blocked(ctx, blocked);
        wsss_tensor *b = wsss_mul_scalar(ctx, a, 2.0);
        wsss_tensor *c = wsss_add(ctx, b, b);     /* same gradient buffer to both inputs */
        wsss_tensor *d = wsss_add_relu(ctx, c, b); /* and once more into b */
        wsss_tensor *l = wsss_sum_all(ctx, wsss_mul(ctx, d, d));
        CHECK(wsss_backward(ctx, l) == WSSS_OK, "backward");
        /* d = relu(4a + 2a) = relu(6a), l = sum d^2: dl/da = 72 a where a > 0 */
        for (int64_t i = 0; i < 5; i++) {
            double av = wsss_tensor_get(a, i), want = av > 0 ? 72 * av : 0;
            CHECK(fabs(wsss_tensor_get(a->grad, i) - want) <= 1e-5 * (1 + fabs(want)),
                  "cow gradient %lld: got %g want %g", (long long)i, wsss_tensor_get(a->grad, i), want);
        }
        wsss_ctx_free(ctx);
        wsss_tensor_free(a);
    }
}

int main(void) {
    wsss_runtime_init();
    test_conversion();
    test_pool();
    test_cow_grads();
    test_weight_cache();
    test_chain();
    return test_summary("test_blocked_layout");
}
