/* MCIS co-attention module (include/wsss/coattention.h) without PyTorch: the registry entries
 * (reference names, shapes, optimizer group), the default init range, finite-difference gradients
 * in F64 of every input and weight on a tiny pair of different sizes, and the pair symmetry of the
 * formulas (swapping the images and transposing W swaps every output), with and without grad. */
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "wsss/coattention.h"

enum { N_OUT = 10 };

static wsss_tensor *output_of(const wsss_coattention_out *o, int i) {
    wsss_tensor *const all[N_OUT] = {o->co_map[0], o->co_map[1], o->co[0],      o->co[1],      o->gate[0],
                                     o->gate[1],   o->cco_map[0], o->cco_map[1], o->cco[0], o->cco[1]};
    return all[i];
}

/* ---------------------------------------------------------------- registry and init */

static void check_entry(const wsss_params *ps, const char *name, int ndim, const int64_t *shape) {
    const wsss_param *e = wsss_params_find_entry(ps, name);
    CHECK(e != NULL, "no parameter %s", name);
    if (!e) return;
    CHECK(e->kind == WSSS_KIND_PARAM && e->group == WSSS_GROUP_NEW && e->t->requires_grad,
          "%s: a trainable parameter of the new-layer group", name);
    CHECK(e->t->ndim == ndim && !memcmp(e->t->shape, shape, sizeof(int64_t) * (size_t)ndim), "%s: shape", name);
}

static void test_registry_and_init(void) {
    wsss_params ps;
    wsss_params_init(&ps);
    wsss_coattention m;
    wsss_coattention_init(&m, &ps, "net.", WSSS_F32, 32, 7, WSSS_GROUP_NEW);
    CHECK(wsss_params_count(&ps) == 3, "3 parameters, got %d", wsss_params_count(&ps));
    const int64_t w[2] = {32, 32}, wco[4] = {7, 32, 1, 1}, wg[4] = {1, 32, 1, 1};
    check_entry(&ps, "net.extra_linear_e.weight", 2, w);
    check_entry(&ps, "net.extra_gate.weight", 4, wco);
    check_entry(&ps, "net.extra_gate_merge.weight", 4, wg);
    CHECK(m.affinity.bias == NULL && m.classifier.bias == NULL && m.gate.bias == NULL, "no biases");

    wsss_rng rng;
    wsss_rng_seed(&rng, 11);
    wsss_coattention_reset_parameters(&m, &rng);
    const double bound = 1.0 / sqrt(32.0);
    for (int i = 0; i < 3; i++) {
        const wsss_tensor *t = wsss_params_at(&ps, i)->t;
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t j = 0; j < wsss_tensor_numel(t); j++) {
            double v = wsss_tensor_get(t, j);
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
        /* U(-b, b): inside the bound, and spread over most of it (32+ draws per tensor) */
        CHECK(lo >= -bound && hi <= bound && lo < -0.5 * bound && hi > 0.5 * bound,
              "%s: values in [%g, %g], want U(+-%g)", t->name, lo, hi, bound);
    }
    wsss_params_free(&ps);

    wsss_params_init(&ps);
    wsss_coattention_init(&m, &ps, NULL, WSSS_F64, 4, 2, WSSS_GROUP_NEW);
    CHECK(wsss_params_find(&ps, "extra_linear_e.weight") && wsss_params_find(&ps, "extra_gate.weight") &&
              wsss_params_find(&ps, "extra_gate_merge.weight"),
          "top-level reference names without a prefix");
    wsss_params_free(&ps);
}

/* ---------------------------------------------------------------- finite differences */

typedef struct fd_case {
    wsss_coattention m;
    wsss_tensor *f1, *f2;
    wsss_tensor *gout[N_OUT];
} fd_case;

/* L = sum over outputs of sum(out * gout); ctx records when grad is enabled. */
static wsss_tensor *weighted_loss(wsss_ctx *ctx, const fd_case *c) {
    wsss_coattention_out out;
    wsss_coattention_forward(ctx, &c->m, c->f1, c->f2, &out);
    wsss_tensor *loss = NULL;
    for (int i = 0; i < N_OUT; i++) {
        wsss_tensor *term = wsss_sum_all(ctx, wsss_mul(ctx, output_of(&out, i), c->gout[i]));
        loss = loss ? wsss_add(ctx, loss, term) : term;
    }
    return loss;
}

static double loss_value(const void *arg) {
    wsss_ctx *ctx = test_ctx_no_grad();
    double v = wsss_tensor_get(weighted_loss(ctx, arg), 0);
    wsss_ctx_free(ctx);
    return v;
}

static void test_gradients(void) {
    fd_case c;
    wsss_params ps;
    wsss_params_init(&ps);
    wsss_coattention_init(&c.m, &ps, NULL, WSSS_F64, 3, 2, WSSS_GROUP_NEW);
    /* weights larger than the default init so the softmaxes are far from uniform */
    for (int i = 0; i < 3; i++) {
        wsss_tensor *t = wsss_params_at(&ps, i)->t;
        wsss_tensor *r = rand_tensor(WSSS_F64, t->ndim, t->shape, -1.5, 1.5, 40 + (unsigned)i);
        wsss_tensor_copy_into(t, r);
        wsss_tensor_free(r);
    }
    const int64_t s1[4] = {2, 3, 2, 2}, s2[4] = {2, 3, 1, 3};
    c.f1 = rand_leaf(4, s1, 0, 2, 1);
    c.f2 = rand_leaf(4, s2, 0, 2, 2);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_coattention_out out;
    wsss_coattention_forward(ctx, &c.m, c.f1, c.f2, &out);
    for (int i = 0; i < N_OUT; i++) {
        const wsss_tensor *o = output_of(&out, i);
        c.gout[i] = rand_tensor(WSSS_F64, o->ndim, o->shape, -1, 1, 100 + (unsigned)i);
    }
    wsss_ctx_reset(ctx);
    wsss_tensor *loss = weighted_loss(ctx, &c);
    CHECK(wsss_backward(ctx, loss) == WSSS_OK, "backward: %s", wsss_error_msg());
    wsss_tensor *leaves[5] = {c.f1, c.f2, c.m.affinity.weight, c.m.classifier.weight, c.m.gate.weight};
    const char *names[5] = {"F1", "F2", "W", "W_co", "w_g"};
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        CHECK(leaves[i]->grad != NULL, "%s got no gradient", names[i]);
        if (!leaves[i]->grad) continue;
        wsss_tensor *analytic = wsss_tensor_clone(leaves[i]->grad);
        double e = fd_check_sampled(names[i], loss_value, &c, leaves[i], analytic, 1000);
        worst = fmax(worst, e);
        wsss_tensor_free(analytic);
    }
    printf("co-attention finite differences (F64): max error %.2e relative to max |gradient|\n", worst);
    wsss_ctx_free(ctx);
    for (int i = 0; i < N_OUT; i++) wsss_tensor_free(c.gout[i]);
    wsss_tensor_free(c.f1);
    wsss_tensor_free(c.f2);
    wsss_params_free(&ps);
}

/* ---------------------------------------------------------------- pair symmetry */

/* S' = F2ᵀ W F1 = Sᵀ when W is transposed, so A and B trade places and image 1's outputs become
 * image 2's: exactly the spec's pairing of each softmax axis with its image. */
static void test_swap_symmetry(int grad) {
    wsss_params ps, pt;
    wsss_params_init(&ps);
    wsss_params_init(&pt);
    wsss_coattention m, mt;
    wsss_coattention_init(&m, &ps, NULL, WSSS_F64, 5, 3, WSSS_GROUP_NEW);
    wsss_coattention_init(&mt, &pt, NULL, WSSS_F64, 5, 3, WSSS_GROUP_NEW);
    wsss_rng rng;
    wsss_rng_seed(&rng, 5);
    wsss_coattention_reset_parameters(&m, &rng);
    for (int i = 0; i < 3; i++) wsss_tensor_copy_into(wsss_params_at(&pt, i)->t, wsss_params_at(&ps, i)->t);
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            wsss_tensor_set(mt.affinity.weight, a * 5 + b, wsss_tensor_get(m.affinity.weight, b * 5 + a));
    const int64_t s1[4] = {2, 5, 3, 2}, s2[4] = {2, 5, 2, 4};
    wsss_tensor *f1 = rand_tensor(WSSS_F64, 4, s1, 0, 3, 7), *f2 = rand_tensor(WSSS_F64, 4, s2, 0, 3, 8);
    f1->requires_grad = f2->requires_grad = grad;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(ctx, grad);
    wsss_coattention_out o, ot;
    wsss_coattention_forward(ctx, &m, f1, f2, &o);
    wsss_coattention_forward(ctx, &mt, f2, f1, &ot);
    for (int i = 0; i < N_OUT; i++) {
        char what[64];
        snprintf(what, sizeof what, "swapped pair, output %d (grad %d)", i, grad);
        check_close(what, output_of(&ot, i ^ 1), output_of(&o, i), 1e-12, 1e-12);
    }
    CHECK(o.co_map[0]->grad_fn != NULL || !grad, "outputs are recorded when grad is on");
    CHECK(o.co_map[0]->grad_fn == NULL || grad, "nothing is recorded when grad is off");
    wsss_ctx_free(ctx);
    wsss_tensor_free(f1);
    wsss_tensor_free(f2);
    wsss_params_free(&ps);
    wsss_params_free(&pt);
}

int main(void) {
    test_registry_and_init();
    test_gradients();
    test_swap_symmetry(1);
    test_swap_symmetry(0);
    return test_summary("test_coattention");
}
