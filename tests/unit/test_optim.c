/* Optimizer update rules against hand-computed values (chosen to be exact in float where
 * possible), parameter groups, skipping, lr schedules, and state save/load. */
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "wsss/optim.h"
#include "wsss/safetensors.h"

static wsss_tensor *vec(int n, const float *v) {
    wsss_tensor *t = wsss_tensor_from_data(WSSS_F32, 1, (int64_t[]){n}, v);
    t->requires_grad = 1;
    return t;
}

static void set_grad(wsss_tensor *p, const float *g) {
    if (!g) {
        wsss_tensor_free(p->grad);
        p->grad = NULL;
        return;
    }
    if (!p->grad) p->grad = wsss_tensor_new(WSSS_F32, p->ndim, p->shape);
    memcpy(p->grad->data, g, sizeof(float) * (size_t)wsss_tensor_numel(p));
}

static float f0(const wsss_tensor *t) { return wsss_f32(t)[0]; }

/* An optimizer of config c over one parameter *p = {p0} in one group (lr x1, weight decay wd),
 * its gradient g. */
static wsss_optim *one_param(wsss_optim_config c, double wd, float p0, float g, wsss_tensor **p) {
    wsss_optim_group grp = {1, wd};
    wsss_optim *o = wsss_optim_new(&c, 1, &grp);
    *p = vec(1, (float[]){p0});
    wsss_optim_add_param(o, *p, 0);
    set_grad(*p, (float[]){g});
    return o;
}

static void test_sgd_plain_and_wd(void) {
    wsss_optim_group grp = {1, 0};
    wsss_optim_config c = wsss_optim_sgd_config(0, 0, 0);
    wsss_optim *o = wsss_optim_new(&c, 1, &grp);
    wsss_tensor *p = vec(2, (float[]){1, 2});
    wsss_optim_add_param(o, p, 0);
    set_grad(p, (float[]){0.5f, -1});
    wsss_optim_step(o, 0.5);
    CHECK(wsss_f32(p)[0] == 0.75f && wsss_f32(p)[1] == 2.5f, "plain sgd: got %g %g, want 0.75 2.5",
          wsss_f32(p)[0], wsss_f32(p)[1]);
    CHECK(wsss_optim_n_bufs(o) == 0 && o->slots[0].buf[0] == NULL, "plain SGD keeps no buffer");
    wsss_optim_free(o);
    wsss_tensor_free(p);

    /* wd 0.25: d = g + 0.25 p = 0.5 + 0.25 = 0.75; p = 1 - 0.5 * 0.75 = 0.625 */
    o = one_param(c, 0.25, 1, 0.5f, &p);
    wsss_optim_step(o, 0.5);
    CHECK(f0(p) == 0.625f, "sgd wd: got %.9g, want 0.625", f0(p));
    wsss_optim_free(o);
    wsss_tensor_free(p);
}

static void test_sgd_momentum_dampening(void) {
    /* momentum 0.5, dampening 0.25, lr 0.5, g = 1, 1:
     * step 1: buf = 1 (no dampening on the first step, as PyTorch), p = -0.5
     * step 2: buf = 0.5*1 + 0.75*1 = 1.25, p = -0.5 - 0.625 = -1.125 */
    wsss_tensor *p;
    wsss_optim *o = one_param(wsss_optim_sgd_config(0.5, 0.25, 0), 0, 0, 1, &p);
    wsss_optim_step(o, 0.5);
    CHECK(f0(p) == -0.5f && f0(o->slots[0].buf[0]) == 1.0f, "momentum step 1: p %g buf %g", f0(p),
          f0(o->slots[0].buf[0]));
    wsss_optim_step(o, 0.5);
    CHECK(f0(p) == -1.125f && f0(o->slots[0].buf[0]) == 1.25f, "momentum step 2: p %g buf %g", f0(p),
          f0(o->slots[0].buf[0]));
    CHECK(o->slots[0].step == 2, "step count %lld", (long long)o->slots[0].step);
    wsss_optim_free(o);
    wsss_tensor_free(p);
}

static void test_sgd_nesterov_wd(void) {
    /* momentum 0.5, Nesterov, wd 0.25, lr 0.5, p = 2, g = 1, 1:
     * step 1: d = 1 + 0.25*2 = 1.5; buf = 1.5; d = 1.5 + 0.5*1.5 = 2.25; p = 2 - 1.125 = 0.875
     * step 2: d = 1 + 0.25*0.875 = 1.21875; buf = 0.75 + 1.21875 = 1.96875;
     *         d = 1.21875 + 0.984375 = 2.203125; p = 0.875 - 1.1015625 = -0.2265625 */
    wsss_tensor *p;
    wsss_optim *o = one_param(wsss_optim_sgd_config(0.5, 0, 1), 0.25, 2, 1, &p);
    wsss_optim_step(o, 0.5);
    CHECK(f0(p) == 0.875f && f0(o->slots[0].buf[0]) == 1.5f, "nesterov step 1: p %.9g buf %.9g", f0(p),
          f0(o->slots[0].buf[0]));
    wsss_optim_step(o, 0.5);
    CHECK(f0(p) == -0.2265625f && f0(o->slots[0].buf[0]) == 1.96875f, "nesterov step 2: p %.9g buf %.9g",
          f0(p), f0(o->slots[0].buf[0]));
    wsss_optim_free(o);
    wsss_tensor_free(p);
}

/* AdamW in double, written out from the paper's formulas with decoupled decay. */
static void adamw_ref(double *p, double *m, double *v, double *vmax, double g, int step, double lr,
                      double wd, double b1, double b2, double eps, int amsgrad) {
    *p *= 1 - lr * wd;
    *m = b1 * *m + (1 - b1) * g;
    *v = b2 * *v + (1 - b2) * g * g;
    if (*v > *vmax) *vmax = *v;
    double mhat = *m / (1 - pow(b1, step));
    double vv = amsgrad ? *vmax : *v;
    *p -= lr * mhat / (sqrt(vv) / sqrt(1 - pow(b2, step)) + eps);
}

static void test_adamw(int amsgrad) {
    wsss_optim_group grp = {1, 0.1};
    wsss_optim_config c = wsss_optim_adamw_config();
    c.amsgrad = amsgrad;
    wsss_optim *o = wsss_optim_new(&c, 1, &grp);
    wsss_tensor *p = vec(1, (float[]){1});
    wsss_optim_add_param(o, p, 0);
    const double gs[4] = {0.5, -0.5, 2.0, 0.0}; /* the last makes v fall below v_max */
    double rp = 1, rm = 0, rv = 0, rvmax = 0;
    for (int t = 0; t < 4; t++) {
        set_grad(p, (float[]){(float)gs[t]});
        wsss_optim_step(o, 0.1);
        adamw_ref(&rp, &rm, &rv, &rvmax, gs[t], t + 1, 0.1, 0.1, 0.9, 0.999, 1e-8, amsgrad);
        CHECK(fabs(f0(p) - rp) <= 1e-6 * fabs(rp), "adamw%s step %d: p %.9g, want %.9g", amsgrad ? "-amsgrad" : "",
              t + 1, f0(p), rp);
        CHECK(fabs(f0(o->slots[0].buf[0]) - rm) <= 1e-6 * fabs(rm) + 1e-12, "adamw m %.9g want %.9g",
              f0(o->slots[0].buf[0]), rm);
        CHECK(fabs(f0(o->slots[0].buf[1]) - rv) <= 1e-6 * fabs(rv), "adamw v %.9g want %.9g",
              f0(o->slots[0].buf[1]), rv);
    }
    /* step 1 of Adam moves by lr * sign(g) (up to eps): 1 * (1 - 0.01) - 0.1 */
    if (amsgrad) {
        CHECK(o->slots[0].buf[2] != NULL && fabs(f0(o->slots[0].buf[2]) - rvmax) <= 1e-6 * rvmax,
              "amsgrad v_max %.9g want %.9g", o->slots[0].buf[2] ? f0(o->slots[0].buf[2]) : -1.0, rvmax);
        CHECK(f0(o->slots[0].buf[2]) > f0(o->slots[0].buf[1]), "v_max must exceed v after a zero gradient");
    } else {
        CHECK(o->slots[0].buf[2] == NULL, "no v_max without amsgrad");
    }
    wsss_optim_free(o);
    wsss_tensor_free(p);
}

static void test_adamw_first_step(void) {
    /* Exact first step: p*(1-lr*wd) - lr * m/(1-b1) / (sqrt(v/(1-b2)) + eps) = 0.99 - 0.1*0.5/(0.5+1e-8) */
    wsss_tensor *p;
    wsss_optim *o = one_param(wsss_optim_adamw_config(), 0.1, 1, 0.5f, &p);
    wsss_optim_step(o, 0.1);
    double want = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8);
    CHECK(fabs(f0(p) - want) < 1e-7, "adamw first step %.9g want %.9g", f0(p), want);
    wsss_optim_free(o);
    wsss_tensor_free(p);
}

static void test_groups_and_skipping(void) {
    /* Same parameter values and gradients in 3 groups; plain SGD, base lr 0.5. */
    const wsss_optim_group grp[3] = {{1, 0}, {10, 0.5}, {2, 0}};
    wsss_optim_config c = wsss_optim_sgd_config(0.5, 0, 0);
    wsss_optim *o = wsss_optim_new(&c, 3, grp);
    wsss_tensor *a = vec(1, (float[]){1}), *b = vec(1, (float[]){1}), *nog = vec(1, (float[]){1});
    wsss_tensor *frozen = vec(1, (float[]){1});
    wsss_optim_add_param(o, a, 0);
    wsss_optim_add_param(o, b, 1);
    wsss_optim_add_param(o, nog, 0);
    wsss_optim_add_param(o, frozen, 2);
    set_grad(a, (float[]){0.25f});
    set_grad(b, (float[]){0.25f});
    set_grad(frozen, (float[]){0.25f});
    frozen->requires_grad = 0;
    wsss_optim_step(o, 0.5);
    /* a: 1 - 0.5*0.25 = 0.875; b: lr 5, d = 0.25 + 0.5*1 = 0.75, p = 1 - 3.75 = -2.75 */
    CHECK(f0(a) == 0.875f, "group 1x: %.9g", f0(a));
    CHECK(f0(b) == -2.75f, "group 10x with wd: %.9g", f0(b));
    CHECK(f0(nog) == 1.0f && o->slots[2].step == 0 && o->slots[2].buf[0] == NULL,
          "a parameter without grad is untouched (p %g, step %lld)", f0(nog), (long long)o->slots[2].step);
    CHECK(f0(frozen) == 1.0f && o->slots[3].step == 0, "a frozen parameter is untouched");
    /* the skipped parameter's first real step initialises its buffer then */
    set_grad(nog, (float[]){1});
    wsss_optim_step(o, 0.5);
    CHECK(f0(nog) == 0.5f && o->slots[2].step == 1 && f0(o->slots[2].buf[0]) == 1.0f,
          "first step after a skip: p %g buf %g", f0(nog), o->slots[2].buf[0] ? f0(o->slots[2].buf[0]) : -1.0);
    wsss_optim_zero_grad(o);
    CHECK(f0(a->grad) == 0 && f0(nog->grad) == 0, "zero_grad zeroes gradients");
    wsss_optim_free(o);
    wsss_tensor_free(a);
    wsss_tensor_free(b);
    wsss_tensor_free(nog);
    wsss_tensor_free(frozen);
}

/* A large (threaded) update equals the same update done element by element on 1-element tensors. */
static void test_large_equals_elementwise(void) {
    const int64_t n = 100003;
    wsss_tensor *p = rand_tensor(WSSS_F32, 1, &n, -1, 1, 11);
    wsss_tensor *g = rand_tensor(WSSS_F32, 1, &n, -1, 1, 12);
    wsss_tensor *p0 = wsss_tensor_clone(p);
    p->requires_grad = 1;
    p->grad = wsss_tensor_clone(g);
    const wsss_optim_group grp = {1, 5e-4};
    for (int kind = 0; kind < 2; kind++) {
        wsss_optim_config c = kind ? wsss_optim_adamw_config() : wsss_optim_sgd_config(0.9, 0, 1);
        wsss_tensor_copy_into(p, p0);
        wsss_optim *o = wsss_optim_new(&c, 1, &grp);
        wsss_optim_add_param(o, p, 0);
        wsss_optim_step(o, 0.01);
        wsss_optim_step(o, 0.01);
        int bad = 0;
        for (int64_t i = 0; i < n; i += 997) {
            wsss_tensor *q = vec(1, &wsss_f32(p0)[i]);
            set_grad(q, &wsss_f32(g)[i]);
            wsss_optim *oq = wsss_optim_new(&c, 1, &grp);
            wsss_optim_add_param(oq, q, 0);
            wsss_optim_step(oq, 0.01);
            wsss_optim_step(oq, 0.01);
            bad += f0(q) != wsss_f32(p)[i];
            wsss_optim_free(oq);
            wsss_tensor_free(q);
        }
        CHECK(bad == 0, "%s: %d sampled elements differ between a large and a 1-element update",
              kind ? "adamw" : "sgd", bad);
        wsss_optim_free(o);
    }
    wsss_tensor_free(p);
    wsss_tensor_free(p0);
    wsss_tensor_free(g);
}

static void test_schedules(void) {
    wsss_lr_schedule c = wsss_lr_constant(0.01);
    CHECK(wsss_lr_at(&c, 0) == 0.01 && wsss_lr_at(&c, 100000) == 0.01, "constant");
    wsss_lr_schedule s = wsss_lr_step(1.0, 0.1, 2, (int64_t[]){5, 10});
    CHECK(wsss_lr_at(&s, 0) == 1.0 && wsss_lr_at(&s, 4) == 1.0, "step: before the first milestone");
    CHECK(wsss_lr_at(&s, 5) == 0.1 && wsss_lr_at(&s, 9) == 0.1, "step: after 5: %g", wsss_lr_at(&s, 5));
    CHECK(fabs(wsss_lr_at(&s, 10) - 0.01) < 1e-17 && fabs(wsss_lr_at(&s, 50) - 0.01) < 1e-17, "step: after 10: %g",
          wsss_lr_at(&s, 10));
    wsss_lr_schedule p = wsss_lr_poly(2.0, 0.9, 10);
    CHECK(wsss_lr_at(&p, 0) == 2.0, "poly at 0");
    /* 0.5^0.9 = 0.5358867312681466 */
    CHECK(fabs(wsss_lr_at(&p, 5) - 2 * 0.5358867312681466) < 1e-15, "poly at half: %.17g", wsss_lr_at(&p, 5));
    CHECK(wsss_lr_at(&p, 10) == 0.0 && wsss_lr_at(&p, 11) == 0.0, "poly at/after max_iter is 0");
    wsss_lr_schedule lin = wsss_lr_poly(1.0, 1.0, 4);
    CHECK(wsss_lr_at(&lin, 1) == 0.75 && wsss_lr_at(&lin, 3) == 0.25, "poly power 1 is linear");
    wsss_lr_kind k;
    CHECK(wsss_lr_kind_parse("poly", &k) == WSSS_OK && k == WSSS_LR_POLY, "parse poly");
    CHECK(wsss_lr_kind_parse("linear", &k) == WSSS_ERR, "unknown kind");
    /* cosine against torch's closed form base * (1 + cos(pi t / T)) / 2, values worked out by hand:
     * t = T/4: (1 + sqrt(2)/2) / 2, t = T/2: 1/2, t = 3T/4: (1 - sqrt(2)/2) / 2 */
    wsss_lr_schedule cs = wsss_lr_cosine(2.0, 8);
    CHECK(wsss_lr_at(&cs, 0) == 2.0, "cosine at 0");
    CHECK(fabs(wsss_lr_at(&cs, 2) - (1 + 0.70710678118654752)) < 1e-15, "cosine at T/4: %.17g", wsss_lr_at(&cs, 2));
    CHECK(fabs(wsss_lr_at(&cs, 4) - 1.0) < 1e-15, "cosine at T/2: %.17g", wsss_lr_at(&cs, 4));
    CHECK(fabs(wsss_lr_at(&cs, 6) - (1 - 0.70710678118654752)) < 1e-15, "cosine at 3T/4: %.17g", wsss_lr_at(&cs, 6));
    CHECK(wsss_lr_at(&cs, 8) == 0.0 && wsss_lr_at(&cs, 9) == 0.0, "cosine at/after max_iter is 0 (no second period)");
    for (int64_t t = 1; t < 8; t++)
        CHECK(wsss_lr_at(&cs, t) < wsss_lr_at(&cs, t - 1), "cosine decreases at %lld", (long long)t);
    CHECK(wsss_lr_kind_parse("cosine", &k) == WSSS_OK && k == WSSS_LR_COSINE, "parse cosine");
    CHECK(strcmp(wsss_lr_kind_name(WSSS_LR_COSINE), "cosine") == 0, "cosine name");
    CHECK(strcmp(wsss_lr_kind_name(WSSS_LR_STEP), "step") == 0, "kind name");
}

/* Build an optimizer over two named params, run `steps` steps with fixed gradients. */
static wsss_optim *make_trained(wsss_optim_config c, wsss_tensor **a, wsss_tensor **b, int steps) {
    const wsss_optim_group grp[2] = {{1, 1e-2}, {10, 0}};
    wsss_optim *o = wsss_optim_new(&c, 2, grp);
    const int64_t sa[2] = {3, 4}, sb[1] = {5};
    *a = rand_tensor(WSSS_F32, 2, sa, -1, 1, 1);
    *b = rand_tensor(WSSS_F32, 1, sb, -1, 1, 2);
    wsss_tensor_set_name(*a, "layer.weight");
    wsss_tensor_set_name(*b, "layer.bias");
    (*a)->requires_grad = (*b)->requires_grad = 1;
    wsss_optim_add_param(o, *a, 0);
    wsss_optim_add_param(o, *b, 1);
    for (int t = 0; t < steps; t++) {
        wsss_tensor_free((*a)->grad);
        wsss_tensor_free((*b)->grad);
        (*a)->grad = rand_tensor(WSSS_F32, 2, sa, -1, 1, 100 + t);
        (*b)->grad = t == 1 ? NULL : rand_tensor(WSSS_F32, 1, sb, -1, 1, 200 + t); /* b skips step 1 */
        wsss_optim_step(o, 0.05);
    }
    return o;
}

static int same_bits(const wsss_tensor *x, const wsss_tensor *y) {
    if (!x || !y) return x == y;
    return wsss_tensor_same_shape(x, y) && memcmp(x->data, y->data, wsss_tensor_nbytes(x)) == 0;
}

static void free_trained(wsss_optim *o, wsss_tensor *a, wsss_tensor *b) {
    wsss_optim_free(o);
    wsss_tensor_free(a);
    wsss_tensor_free(b);
}

static void test_state_roundtrip(void) {
    const char *dir = test_tmp_dir("test_optim");
    char path[1024];
    snprintf(path, sizeof path, "%s/state.safetensors", dir);
    wsss_optim_config cfgs[3] = {wsss_optim_sgd_config(0.9, 0, 1), wsss_optim_adamw_config(),
                                 wsss_optim_adamw_config()};
    cfgs[2].amsgrad = 1;
    for (int ci = 0; ci < 3; ci++) {
        wsss_tensor *a, *b, *a2, *b2;
        wsss_optim *o = make_trained(cfgs[ci], &a, &b, 3);
        CHECK(wsss_optim_state_save(o, path) == WSSS_OK, "save: %s", wsss_error_msg());
        wsss_optim *o2 = make_trained(cfgs[ci], &a2, &b2, 0);
        wsss_safetensors *st = NULL;
        CHECK(wsss_st_open(path, &st) == WSSS_OK, "open: %s", wsss_error_msg());
        CHECK(wsss_optim_state_load(o2, st) == WSSS_OK, "load: %s", wsss_error_msg());
        wsss_st_close(st);
        int ok = 1;
        for (int i = 0; i < 2; i++) {
            ok &= o->slots[i].step == o2->slots[i].step;
            for (int k = 0; k < 3; k++) ok &= same_bits(o->slots[i].buf[k], o2->slots[i].buf[k]);
        }
        CHECK(ok, "config %d: loaded state differs from saved state", ci);
        CHECK(o2->slots[0].step == 3 && o2->slots[1].step == 2, "per-parameter steps %lld %lld",
              (long long)o2->slots[0].step, (long long)o2->slots[1].step);
        free_trained(o2, a2, b2);
        free_trained(o, a, b);
    }

    /* Errors. */
    wsss_tensor *a, *b;
    wsss_optim *sgd = make_trained(cfgs[0], &a, &b, 2);
    CHECK(wsss_optim_state_save(sgd, path) == WSSS_OK, "save: %s", wsss_error_msg());
    wsss_safetensors *st = NULL;
    CHECK(wsss_st_open(path, &st) == WSSS_OK, "open: %s", wsss_error_msg());
    {
        wsss_tensor *a2, *b2;
        wsss_optim *adam = make_trained(cfgs[1], &a2, &b2, 1);
        wsss_tensor *m_before = wsss_tensor_clone(adam->slots[0].buf[0]);
        CHECK(wsss_optim_state_load(adam, st) == WSSS_ERR && strstr(wsss_error_msg(), "'optimizer'") &&
                  strstr(wsss_error_msg(), "state.safetensors"),
              "kind mismatch message: %s", wsss_error_msg());
        CHECK(same_bits(adam->slots[0].buf[0], m_before), "a failed load leaves the state unchanged");
        wsss_tensor_free(m_before);
        free_trained(adam, a2, b2);

        wsss_optim_config plain = wsss_optim_sgd_config(0, 0, 0);
        wsss_optim *p = make_trained(plain, &a2, &b2, 0);
        CHECK(wsss_optim_state_load(p, st) == WSSS_ERR && strstr(wsss_error_msg(), "n_buffers"),
              "momentum mismatch message: %s", wsss_error_msg());
        free_trained(p, a2, b2);
    }
    wsss_st_close(st);

    /* Wrong shape / missing / unknown entries, written by hand. */
    const int64_t s34[2] = {3, 4}, s5[1] = {5}, s1[1] = {1}, s6[1] = {6};
    wsss_tensor *buf34 = wsss_tensor_new(WSSS_F32, 2, s34), *buf6 = wsss_tensor_new(WSSS_F32, 1, s6);
    wsss_tensor *buf5 = wsss_tensor_new(WSSS_F32, 1, s5), *one = wsss_tensor_new(WSSS_I64, 1, s1);
    ((int64_t *)one->data)[0] = 1;
    struct {
        const char *what, *expect;
        int variant;
    } bad[] = {{"shape mismatch", "layer.bias.momentum_buffer", 0},
               {"missing buffer", "layer.bias.momentum_buffer' missing", 1},
               {"missing step", "layer.bias.step' missing", 2},
               {"unknown entry", "other.weight.step", 3}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        wsss_st_writer *w = wsss_st_writer_new();
        wsss_st_writer_meta(w, "format", "wsss-optim-1");
        wsss_st_writer_meta(w, "optimizer", "sgd");
        wsss_st_writer_meta(w, "n_buffers", "1");
        wsss_st_writer_add(w, "layer.weight.step", one);
        wsss_st_writer_add(w, "layer.weight.momentum_buffer", buf34);
        if (bad[k].variant != 2) wsss_st_writer_add(w, "layer.bias.step", one);
        if (bad[k].variant == 0) wsss_st_writer_add(w, "layer.bias.momentum_buffer", buf6);
        if (bad[k].variant >= 2) wsss_st_writer_add(w, "layer.bias.momentum_buffer", buf5);
        if (bad[k].variant == 3) wsss_st_writer_add(w, "other.weight.step", one);
        CHECK(wsss_st_writer_save(w, path) == WSSS_OK, "save: %s", wsss_error_msg());
        wsss_st_writer_free(w);
        CHECK(wsss_st_open(path, &st) == WSSS_OK, "open: %s", wsss_error_msg());
        int rc = wsss_optim_state_load(sgd, st);
        CHECK(rc == WSSS_ERR && strstr(wsss_error_msg(), bad[k].expect) && strstr(wsss_error_msg(), path),
              "%s: message '%s' should name '%s' and the file", bad[k].what, wsss_error_msg(), bad[k].expect);
        printf("  %s -> %s\n", bad[k].what, wsss_error_msg());
        wsss_st_close(st);
    }
    wsss_tensor_free(buf34);
    wsss_tensor_free(buf6);
    wsss_tensor_free(buf5);
    wsss_tensor_free(one);
    free_trained(sgd, a, b);
    unlink(path);
}

int main(void) {
    test_sgd_plain_and_wd();
    test_sgd_momentum_dampening();
    test_sgd_nesterov_wd();
    test_adamw(0);
    test_adamw(1);
    test_adamw_first_step();
    test_groups_and_skipping();
    test_large_equals_elementwise();
    test_schedules();
    test_state_roundtrip();
    return test_summary("test_optim");
}
