/* Tensor storage, strided access, contexts and gradient accumulation. */
#include <string.h>

#include "test_util.h"
#include "wsss/rng.h"

static void test_strided_copy(void) {
    int64_t shape[2] = {2, 3};
    float vals[6] = {0, 1, 2, 3, 4, 5};
    wsss_tensor *a = wsss_tensor_from_data(WSSS_F32, 2, shape, vals);
    /* a transposed view: shape (3,2), strides (1,3) */
    wsss_tensor *v = wsss_tensor_header_like(a);
    v->shape[0] = 3; v->shape[1] = 2; v->stride[0] = 1; v->stride[1] = 3;
    CHECK(!wsss_tensor_is_contiguous(v), "transposed view reported contiguous");
    wsss_tensor *c = wsss_tensor_clone(v);
    float want[6] = {0, 3, 1, 4, 2, 5};
    CHECK(memcmp(c->data, want, sizeof want) == 0, "transposed copy wrong");
    /* flip view along dim 1 via a negative stride */
    wsss_tensor *f = wsss_tensor_header_like(a);
    f->stride[1] = -1;
    f->data = (float *)a->data + 2;
    CHECK(wsss_tensor_get(f, 0) == 2 && wsss_tensor_get(f, 5) == 3, "flip view wrong: %g %g",
          wsss_tensor_get(f, 0), wsss_tensor_get(f, 5));
    wsss_tensor_free(c);
    wsss_tensor_destroy(v);
    wsss_tensor_destroy(f);
    wsss_tensor_free(a);
}

static void test_ctx_and_grad(void) {
    wsss_ctx *ctx = wsss_ctx_new();
    int64_t s[1] = {4};
    wsss_tensor *p = wsss_tensor_new(WSSS_F32, 1, s); /* persistent leaf */
    p->requires_grad = 1;
    wsss_tensor *g = wsss_ctx_tensor(ctx, WSSS_F32, 1, s);
    wsss_tensor_fill(g, 1.5);
    wsss_grad_accumulate(ctx, p, g);
    wsss_grad_accumulate(ctx, p, g);
    CHECK(p->grad && p->grad->ctx == NULL, "persistent leaf grad must be persistent");
    CHECK(wsss_tensor_get(p->grad, 3) == 3.0, "accumulated grad %g", wsss_tensor_get(p->grad, 3));
    size_t before = wsss_ctx_bytes(ctx);
    wsss_tensor *big = wsss_ctx_tensor(ctx, WSSS_F32, 1, (int64_t[]){1000});
    CHECK(wsss_ctx_bytes(ctx) == before + 4000, "ctx byte accounting %zu", wsss_ctx_bytes(ctx));
    wsss_ctx_release(ctx, big);
    CHECK(wsss_ctx_bytes(ctx) == before, "release accounting");
    CHECK(wsss_ctx_peak_bytes(ctx) >= before + 4000, "peak accounting");
    wsss_tensor *frozen = wsss_tensor_new(WSSS_F32, 1, s);
    wsss_grad_accumulate(ctx, frozen, g);
    CHECK(frozen->grad == NULL, "a tensor without requires_grad must not get a gradient");
    wsss_ctx_free(ctx);
    CHECK(wsss_tensor_get(p->grad, 0) == 3.0, "persistent grad survives ctx free");
    wsss_tensor_free(p);
    wsss_tensor_free(frozen);
}

static void test_rng(void) {
    wsss_rng a, b;
    wsss_rng_seed3(&a, 7, 1, 2);
    wsss_rng_seed3(&b, 7, 1, 2);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= wsss_rng_u64(&a) == wsss_rng_u64(&b);
    CHECK(same, "same seed must give the same stream");
    wsss_rng_seed3(&b, 7, 2, 1);
    CHECK(wsss_rng_u64(&a) != wsss_rng_u64(&b), "different streams should differ");
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        double z = wsss_rng_normal(&a);
        sum += z;
        sq += z * z;
    }
    CHECK(fabs(sum / 20000) < 0.05 && fabs(sq / 20000 - 1) < 0.05, "normal moments %g %g", sum / 20000, sq / 20000);
    int64_t counts[3] = {0};
    for (int i = 0; i < 30000; i++) counts[wsss_rng_below(&a, 3)]++;
    CHECK(counts[0] > 9500 && counts[1] > 9500 && counts[2] > 9500, "below() uniformity");
}

/* A minimal recorded op (y = 2x) to exercise backward without the op library. */
static void twice_backward(wsss_ctx *ctx, wsss_node *n, const wsss_tensor *gout) {
    wsss_tensor *g = wsss_ctx_tensor_like(ctx, gout);
    for (int64_t i = 0; i < wsss_tensor_numel(g); i++) wsss_tensor_set(g, i, 2 * wsss_tensor_get(gout, i));
    wsss_grad_accumulate(ctx, n->inputs[0], g);
}

static wsss_tensor *twice(wsss_ctx *ctx, wsss_tensor *x) {
    wsss_tensor *y = wsss_ctx_tensor_like(ctx, x);
    for (int64_t i = 0; i < wsss_tensor_numel(x); i++) wsss_tensor_set(y, i, 2 * wsss_tensor_get(x, i));
    wsss_record(ctx, "twice", twice_backward, y, 1, &x, 0);
    return y;
}

static void test_backward_twice_in_one_context(void) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *x = wsss_tensor_new(WSSS_F32, 0, NULL);
    x->requires_grad = 1;
    CHECK(wsss_backward(ctx, twice(ctx, x)) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_tensor_get(x->grad, 0) == 2.0, "first backward: grad %g", wsss_tensor_get(x->grad, 0));
    /* a second graph in the same context must not re-run the first one */
    CHECK(wsss_backward(ctx, twice(ctx, twice(ctx, x))) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_tensor_get(x->grad, 0) == 6.0, "second backward accumulates 4 onto 2: grad %g",
          wsss_tensor_get(x->grad, 0));
    wsss_tensor *no = wsss_tensor_new(WSSS_F32, 0, NULL);
    CHECK(wsss_backward(ctx, twice(ctx, no)) == WSSS_ERR, "backward of a graph without grad must fail");
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_tensor_free(no);
}

int main(void) {
    test_backward_twice_in_one_context();
    test_strided_copy();
    test_ctx_and_grad();
    test_rng();
    return test_summary("test_tensor_core");
}
