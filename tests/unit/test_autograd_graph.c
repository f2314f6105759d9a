/* The autograd core does what the WSSS methods need, shown with the math ops: fan-out
 * accumulation, several losses summed, detach, no-grad mode (nothing recorded, nothing saved),
 * a loss through a frozen parameter, shapes changing between steps with one context reset, and
 * gradient zeroing / accumulation across steps. Expected values from hand math or finite
 * differences. */
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "wsss/ops.h"

/* x used by three ops: L = sum(exp(x)) + sum(x * x) + mean(x); dL/dx = exp(x) + 2x + 1/n. */
static void test_fan_out(void) {
    const int64_t s[2] = {3, 4};
    wsss_tensor *x = rand_leaf(2, s, -1, 1, 1);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *l = wsss_add(ctx, wsss_add(ctx, wsss_sum_all(ctx, wsss_exp(ctx, x)), wsss_sum_all(ctx, wsss_mul(ctx, x, x))),
                              wsss_mean_all(ctx, x));
    CHECK(wsss_backward(ctx, l) == WSSS_OK, "backward");
    wsss_tensor *want = wsss_tensor_new(WSSS_F64, 2, s);
    for (int i = 0; i < 12; i++) {
        double v = wsss_tensor_get(x, i);
        wsss_tensor_set(want, i, exp(v) + 2 * v + 1.0 / 12);
    }
    check_close("fan-out accumulation", x->grad, want, 1e-14, 1e-14);
    wsss_tensor_free(want);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* Several losses on heads sharing a parameter, summed with weights, against finite differences:
 * a classification loss, a segmentation loss and an auxiliary BCE, as a WSSS model combines. */
static wsss_tensor *g_feat, *g_cls_y, *g_seg_t, *g_prob_y;

static wsss_tensor *multi_loss(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    wsss_tensor *w = in[0], *b = in[1];                 /* w: 1,C,1,1  b: C,1,1 */
    wsss_tensor *logits = wsss_add(ctx, wsss_mul(ctx, g_feat, w), b); /* N,C,H,W */
    wsss_tensor *cls = wsss_mean(ctx, logits, 0xC, 0);                /* N,C */
    wsss_tensor *l1 = wsss_multilabel_soft_margin(ctx, cls, g_cls_y);
    wsss_tensor *l2 = wsss_cross_entropy2d(ctx, logits, g_seg_t, 255);
    wsss_tensor *prob = wsss_softmax(ctx, logits, 1);
    wsss_tensor *l3 = wsss_bce(ctx, prob, g_prob_y);
    return wsss_add(ctx, wsss_add(ctx, l1, wsss_mul_scalar(ctx, l2, 0.5)), wsss_mul_scalar(ctx, l3, 0.25));
}

static void test_summed_losses(void) {
    const int64_t fs[4] = {2, 3, 4, 5}, ws[4] = {1, 3, 1, 1}, bs[3] = {3, 1, 1}, cs[2] = {2, 3}, ts[3] = {2, 4, 5};
    g_feat = rand_tensor(WSSS_F64, 4, fs, -1, 1, 2);
    g_cls_y = rand_tensor(WSSS_F64, 2, cs, 0, 1, 3);
    for (int i = 0; i < 6; i++) wsss_tensor_set(g_cls_y, i, wsss_tensor_get(g_cls_y, i) > 0.5);
    g_seg_t = wsss_tensor_new(WSSS_U8, 3, ts);
    for (int i = 0; i < 40; i++) wsss_tensor_set(g_seg_t, i, i % 7 == 0 ? 255 : i % 3);
    g_prob_y = rand_tensor(WSSS_F64, 4, fs, 0, 1, 4);
    wsss_tensor *in[2] = {rand_leaf(4, ws, -1, 1, 5), rand_leaf(3, bs, -1, 1, 6)};
    gradcheck("summed losses", multi_loss, 2, in, NULL, 1e-9, 1e-6);
    wsss_tensor_free(in[0]);
    wsss_tensor_free(in[1]);
    wsss_tensor_free(g_feat);
    wsss_tensor_free(g_cls_y);
    wsss_tensor_free(g_seg_t);
    wsss_tensor_free(g_prob_y);
}

/* detach: L = sum(detach(exp(x)) * x) -> dL/dx = exp(x) (not exp(x) * (1 + x)). */
static void test_detach(void) {
    const int64_t s[1] = {5};
    wsss_tensor *x = rand_leaf(1, s, -1, 1, 7);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *e = wsss_exp(ctx, x);
    wsss_tensor *d = wsss_detach(ctx, e);
    CHECK(!d->requires_grad && d->grad_fn == NULL && d->data == e->data, "detach: view without history");
    wsss_tensor *l = wsss_sum_all(ctx, wsss_mul(ctx, d, x));
    wsss_backward(ctx, l);
    check_close("detach stops the gradient", x->grad, e, 1e-15, 1e-15);
    /* a loss of detached values only does not require grad: backward is an error */
    wsss_tensor *only = wsss_sum_all(ctx, d);
    CHECK(!only->requires_grad && wsss_backward(ctx, only) == WSSS_ERR, "detached-only loss");
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* Grad mode off: same values, no node, no saved tensor (ctx bytes = the outputs only). With grad
 * on, the same chain keeps a saved contiguous copy of the view input of log. */
static void test_no_grad(void) {
    const int64_t s[2] = {4, 6};
    wsss_tensor *x = rand_leaf(2, s, 0.5, 2, 8);
    wsss_tensor *v = noncontig_copy(x, 0); /* non-contiguous: log must copy it */
    v->requires_grad = 1;
    size_t out_bytes = 0;
    wsss_ctx *ctx = wsss_ctx_new();
    int old = wsss_ctx_set_grad_enabled(ctx, 0);
    CHECK(old == 1 && !wsss_ctx_grad_enabled(ctx), "grad mode switch");
    wsss_tensor *outs[6];
    outs[0] = wsss_log(ctx, v);
    outs[1] = wsss_softmax(ctx, outs[0], 1);
    outs[2] = wsss_mul(ctx, outs[1], x);
    outs[3] = wsss_max(ctx, outs[2], 0, 0, NULL);
    outs[4] = wsss_pow_scalar(ctx, outs[3], 2);
    outs[5] = wsss_mean_all(ctx, outs[4]);
    int none = 1;
    for (int i = 0; i < 6; i++) {
        none &= outs[i]->grad_fn == NULL && !outs[i]->requires_grad;
        out_bytes += wsss_tensor_nbytes(outs[i]);
    }
    CHECK(none, "no-grad: no op recorded");
    CHECK(wsss_ctx_bytes(ctx) == out_bytes, "no-grad: ctx holds %zu bytes, outputs are %zu", wsss_ctx_bytes(ctx), out_bytes);
    CHECK(wsss_backward(ctx, outs[5]) == WSSS_ERR, "no-grad: backward refuses");
    double nograd_val = wsss_tensor_get(outs[5], 0);
    wsss_ctx_reset(ctx);
    wsss_ctx_set_grad_enabled(ctx, 1);
    wsss_tensor *a = wsss_log(ctx, v);
    wsss_tensor *l = wsss_mean_all(ctx, wsss_pow_scalar(ctx, wsss_max(ctx, wsss_mul(ctx, wsss_softmax(ctx, a, 1), x), 0, 0, NULL), 2));
    CHECK(l->grad_fn != NULL, "grad mode records");
    CHECK(wsss_ctx_bytes(ctx) > out_bytes, "grad mode saves more (%zu vs %zu)", wsss_ctx_bytes(ctx), out_bytes);
    CHECK(wsss_tensor_get(l, 0) == nograd_val, "same value with and without grad");
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_tensor_free(v);
}

/* trained W1 -> frozen W2 -> loss: W1 gets the gradient through W2, W2 gets none.
 * h = x * W1 (per column), o = h * W2 + c, L = mean(o^2):
 * dL/dW1_j = sum_i 2 o_ij W2_j x_ij / n. */
static void test_frozen(void) {
    const int64_t xs[2] = {3, 4}, ws[1] = {4};
    wsss_tensor *x = rand_tensor(WSSS_F64, 2, xs, -1, 1, 9);
    wsss_tensor *w1 = rand_leaf(1, ws, -1, 1, 10);
    wsss_tensor *w2 = rand_tensor(WSSS_F64, 1, ws, -1, 1, 11); /* requires_grad = 0 */
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *h = wsss_mul(ctx, x, w1);
    wsss_tensor *o = wsss_add_scalar(ctx, wsss_mul(ctx, h, w2), 0.3);
    wsss_tensor *l = wsss_mean_all(ctx, wsss_pow_scalar(ctx, o, 2));
    CHECK(wsss_backward(ctx, l) == WSSS_OK, "backward through a frozen parameter");
    CHECK(w2->grad == NULL, "frozen parameter got a gradient");
    wsss_tensor *want = wsss_tensor_new(WSSS_F64, 1, ws);
    for (int j = 0; j < 4; j++) {
        double g = 0;
        for (int i = 0; i < 3; i++) {
            double xij = wsss_tensor_get(x, i * 4 + j);
            double oij = xij * wsss_tensor_get(w1, j) * wsss_tensor_get(w2, j) + 0.3;
            g += 2 * oij * wsss_tensor_get(w2, j) * xij / 12;
        }
        wsss_tensor_set(want, j, g);
    }
    check_close("gradient through the frozen parameter", w1->grad, want, 1e-15, 1e-13);
    CHECK(x->grad == NULL, "input without requires_grad got a gradient");
    wsss_tensor_free(want);
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_tensor_free(w1);
    wsss_tensor_free(w2);
}

/* A training-loop pattern: the batch shape changes every step, one context reset between steps,
 * gradients zeroed before each step; L = mean(W * x) + 0.1 * sum(W^2) with W: 1,C,1,1 gives
 * dL/dW_c = sum_{n,h,w} x[n,c,h,w] / numel(x) + 0.2 W_c. Also: without zeroing, gradients of
 * two steps add up. */
static void test_steps(void) {
    const int C = 3;
    const int64_t ws[4] = {1, C, 1, 1};
    wsss_tensor *w = rand_leaf(4, ws, -1, 1, 12);
    wsss_ctx *ctx = wsss_ctx_new();
    const int64_t shapes[4][4] = {{2, C, 4, 5}, {1, C, 7, 3}, {3, C, 2, 2}, {2, C, 9, 11}};
    double prev[C];
    for (int step = 0; step < 4; step++) {
        if (w->grad) wsss_tensor_fill(w->grad, 0); /* zero_grad */
        wsss_tensor *x = rand_tensor(WSSS_F32, 4, shapes[step], -1, 1, 100 + step);
        wsss_tensor *wf = wsss_tensor_to_dtype(w, WSSS_F32); /* also exercise F32 */
        wf->requires_grad = 1;
        wsss_tensor *l = wsss_add(ctx, wsss_mean_all(ctx, wsss_mul(ctx, wf, x)),
                                  wsss_mul_scalar(ctx, wsss_sum_all(ctx, wsss_pow_scalar(ctx, wf, 2)), 0.1));
        CHECK(wsss_backward(ctx, l) == WSSS_OK, "step %d backward", step);
        int64_t n = wsss_tensor_numel(x), hw = shapes[step][2] * shapes[step][3];
        int ok = 1;
        for (int c = 0; c < C; c++) {
            double sx = 0;
            for (int64_t b = 0; b < shapes[step][0]; b++)
                for (int64_t i = 0; i < hw; i++) sx += wsss_tensor_get(x, (b * C + c) * hw + i);
            double want = sx / (double)n + 0.2 * wsss_tensor_get(wf, c);
            ok &= fabs(wsss_tensor_get(wf->grad, c) - want) < 1e-6;
            if (step == 0) prev[c] = wsss_tensor_get(wf->grad, c);
        }
        CHECK(ok, "step %d gradient", step);
        wsss_ctx_reset(ctx);
        CHECK(wsss_ctx_bytes(ctx) == 0, "step %d: reset frees the step's graph", step);
        /* the F64 master copy: accumulate without zeroing in step 1 to see the sum */
        wsss_tensor_free(wf);
        wsss_tensor_free(x);
    }
    /* accumulation: two backward passes in two steps without zeroing add up */
    wsss_tensor *x = rand_tensor(WSSS_F64, 4, shapes[0], -1, 1, 100);
    for (int rep = 0; rep < 2; rep++) {
        wsss_tensor *l = wsss_add(ctx, wsss_mean_all(ctx, wsss_mul(ctx, w, x)),
                                  wsss_mul_scalar(ctx, wsss_sum_all(ctx, wsss_pow_scalar(ctx, w, 2)), 0.1));
        wsss_backward(ctx, l);
        wsss_ctx_reset(ctx);
    }
    int ok = 1;
    for (int c = 0; c < C; c++) ok &= fabs(wsss_tensor_get(w->grad, c) - 2 * prev[c]) < 1e-6;
    CHECK(ok, "gradients accumulate across steps until zeroed");
    CHECK(w->grad->ctx == NULL, "a persistent parameter's gradient outlives the reset");
    wsss_tensor_fill(w->grad, 0);
    wsss_tensor *l = wsss_mean_all(ctx, wsss_mul(ctx, w, x));
    wsss_backward(ctx, l);
    ok = 1;
    for (int c = 0; c < C; c++) ok &= fabs(wsss_tensor_get(w->grad, c) - (prev[c] - 0.2 * wsss_tensor_get(w, c))) < 1e-6;
    CHECK(ok, "after zeroing only the new gradient remains");
    wsss_tensor_free(x);
    wsss_ctx_free(ctx);
    wsss_tensor_free(w);
}

/* An intermediate used by three consumers on different branches that meet again (a diamond),
 * with a normalisation by its own maximum, as CAM normalisation does. */
static wsss_tensor *branchy(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    wsss_tensor *h = wsss_exp(ctx, wsss_mul_scalar(ctx, in[0], 0.5)); /* 2,3,4 */
    wsss_tensor *a = wsss_log_softmax(ctx, h, 2);
    wsss_tensor *b = wsss_sum(ctx, wsss_mul(ctx, h, in[1]), 0x2, 1);
    return wsss_add(ctx, wsss_mean(ctx, a, 0x1, 0), wsss_div(ctx, b, wsss_add_scalar(ctx, wsss_max_all(ctx, h), 1)));
}

static void test_branches(void) {
    const int64_t s[3] = {2, 3, 4}, s2[2] = {3, 1};
    wsss_tensor *in[2] = {rand_leaf(3, s, -1, 1, 13), rand_leaf(2, s2, -1, 1, 14)};
    gradcheck("branches", branchy, 2, in, NULL, 1e-9, 1e-6);
    wsss_tensor_free(in[0]);
    wsss_tensor_free(in[1]);
}

int main(void) {
    test_fan_out();
    test_summed_losses();
    test_detach();
    test_no_grad();
    test_frozen();
    test_steps();
    test_branches();
    gc_report("test_autograd_graph");
    return test_summary("test_autograd_graph");
}
