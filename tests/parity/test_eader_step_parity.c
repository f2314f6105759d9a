/* One EADER localizer step and one adversary step (wsss_eader_loss, eader.h; specs/eader.md §2-§4)
 * against PyTorch (scripts/gen_fixtures_eader.py, tests/fixtures/eader_step.safetensors): on a
 * tiny localizer and adversary, both with batch norm in training mode, the attention maps A, the
 * loss and its terms, the gradient of every localizer parameter after the localizer step and of
 * every adversary parameter after the adversary step, and both networks' running statistics.
 * Cases: several classes per image, the min-max ties of a network (constant maps divided by 1, a
 * maximum and a minimum each attained at several pixels), the sum regulariser with large weights
 * and an image without labels, a batch without any label; and the tie rule itself on hand-made
 * maps (the network's tied pixels send the same parameter gradients whichever takes them): the
 * first maximum and minimum in row-major order take the gradient. As the
 * trainer runs them, the network not being trained has requires_grad 0 (the gradient still flows
 * through the adversary into the localizer), and this test checks it received none. Paths: F64
 * reference kernels (1e-10 relative), F32 reference and oneDNN kernels (1e-5), oneDNN in a
 * blocked-layout context (as the trainer runs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/eader.h"
#include "wsss/models.h"
#include "wsss/runtime.h"

#define FILE_NAME "eader_step.safetensors"

enum { PATH_REF_F64 = 0, PATH_REF_F32, PATH_DNNL_F32, PATH_BLOCKED_F32, N_PATHS };
static const char *const k_paths[N_PATHS] = {"ref f64", "ref f32", "oneDNN f32", "oneDNN f32 blocked"};
static const char *const k_terms[4] = {"loc", "reg", "am", "adv"};
static double g_loss_err[N_PATHS], g_grad_err[N_PATHS], g_map_err[N_PATHS];

typedef struct tiny_net {
    wsss_params ps;
    wsss_conv conv1, conv2; /* conv2: the localizer's only */
    wsss_bn bn1;
    wsss_linear_layer fc;
    int localizer;
} tiny_net;

static wsss_tensor *net_features(wsss_ctx *ctx, tiny_net *n, wsss_tensor *x) {
    wsss_tensor *h = wsss_conv_bn_forward(ctx, &n->conv1, &n->bn1, x, WSSS_BN_TRAIN, 1);
    return n->localizer ? wsss_relu(ctx, wsss_conv_forward(ctx, &n->conv2, h)) : h;
}

static wsss_tensor *localize(void *net, wsss_ctx *ctx, wsss_tensor *x, wsss_tensor **features, wsss_tensor **weight) {
    tiny_net *n = net;
    *features = net_features(ctx, n, x);
    *weight = n->fc.weight;
    return wsss_gap_linear(ctx, &n->fc, *features);
}

static wsss_tensor *classify(void *net, wsss_ctx *ctx, wsss_tensor *x) {
    tiny_net *n = net;
    return wsss_gap_linear(ctx, &n->fc, net_features(ctx, n, x));
}

static void net_load(tiny_net *n, const wsss_safetensors *st, const char *cs, int localizer, wsss_dtype dt, int64_t k) {
    memset(n, 0, sizeof *n);
    wsss_params_init(&n->ps);
    n->localizer = localizer;
    const int64_t c1 = localizer ? 6 : 5;
    wsss_conv_init(&n->conv1, &n->ps, "conv1", dt, 3, c1, 3, localizer ? 1 : 2, 1, 1, 0, WSSS_GROUP_BACKBONE);
    wsss_bn_init(&n->bn1, &n->ps, "bn1", dt, c1, WSSS_GROUP_BACKBONE);
    if (localizer) wsss_conv_init(&n->conv2, &n->ps, "conv2", dt, 6, 8, 3, 2, 1, 1, 1, WSSS_GROUP_BACKBONE);
    wsss_linear_init(&n->fc, &n->ps, "fc", dt, localizer ? 8 : 5, k, 1, WSSS_GROUP_NEW);
    for (int i = 0; i < wsss_params_count(&n->ps); i++) {
        wsss_tensor *p = wsss_params_at(&n->ps, i)->t;
        char name[200];
        snprintf(name, sizeof name, "%s.%s.%s", cs, localizer ? "loc" : "adv", p->name);
        wsss_tensor *v = fixture_take(st, name);
        CHECK(wsss_tensor_same_shape(p, v), "%s has another shape in the torch state_dict", name);
        if (wsss_tensor_same_shape(p, v)) {
            wsss_tensor *c = wsss_tensor_to_dtype(v, p->dtype);
            wsss_tensor_copy_into(p, c);
            wsss_tensor_free(c);
        }
        wsss_tensor_free(v);
    }
}

static wsss_tensor *take(const wsss_safetensors *st, const char *cs, const char *what, const char *sfx) {
    char name[240];
    snprintf(name, sizeof name, "%s.%s%s", cs, what, sfx);
    return fixture_take(st, name);
}

static wsss_tensor *as_dtype(wsss_tensor *t, wsss_dtype dt) {
    wsss_tensor *c = wsss_tensor_to_dtype(t, dt);
    wsss_tensor_free(t);
    return c;
}

static int any_grad(const wsss_params *ps) {
    for (int i = 0; i < wsss_params_count(ps); i++) {
        const wsss_tensor *g = wsss_params_at(ps, i)->t->grad;
        for (int64_t e = 0; g && e < wsss_tensor_numel(g); e++)
            if (wsss_tensor_get(g, e) != 0.0) return 1;
    }
    return 0;
}

/* A of the case's pairs by wsss_eader_attention alone, against the reference's */
static void check_maps(const wsss_safetensors *st, const char *cs, tiny_net *loc, wsss_tensor *x, wsss_tensor *y,
                       int path, double tol) {
    const char *sfx = x->dtype == WSSS_F64 ? ".f64" : ".f32";
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, path == PATH_BLOCKED_F32);
    wsss_ctx_set_grad_enabled(ctx, 0);
    wsss_tensor *f, *w, *image, *pair;
    localize(loc, ctx, x, &f, &w);
    wsss_eader_pairs(ctx, y, &image, &pair);
    wsss_tensor *a = wsss_eader_attention(ctx, f, w, pair, x->shape[2], x->shape[3]);
    wsss_tensor *want = take(st, cs, "A", sfx);
    char what[160];
    snprintf(what, sizeof what, "%s %s: attention maps", cs, k_paths[path]);
    double e = check_parity(what, a, want, tol);
    if (e > g_map_err[path]) g_map_err[path] = e;
    wsss_tensor_free(want);
    wsss_ctx_free(ctx);
}

static void run_step(const wsss_safetensors *st, const char *cs, const wsss_eader_opts *o, int path, int adversary_step) {
    const wsss_dtype dt = path == PATH_REF_F64 ? WSSS_F64 : WSSS_F32;
    const char *sfx = dt == WSSS_F64 ? ".f64" : ".f32";
    const double tol = dt == WSSS_F64 ? 1e-10 : 1e-5;
    const char *step = adversary_step ? "adversary" : "localizer";
    wsss_set_backend(path <= PATH_REF_F32 ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
    wsss_tensor *x = as_dtype(take(st, cs, "x", ""), dt), *y = as_dtype(take(st, cs, "labels", ""), dt);
    const int64_t k = y->shape[1];
    tiny_net loc, adv;
    net_load(&loc, st, cs, 1, dt, k);
    net_load(&adv, st, cs, 0, dt, k);
    /* as the trainer's phases: the network not trained this step has no trainable parameter */
    wsss_params_set_trainable(adversary_step ? &loc.ps : &adv.ps, "", 0);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, path == PATH_BLOCKED_F32);
    const wsss_eader_nets nets = {localize, &loc, classify, &adv};
    wsss_eader_terms tm;
    wsss_tensor *loss = wsss_eader_loss(ctx, &nets, o, x, y, adversary_step, &tm);
    CHECK(loss->ndim == 0 && loss->dtype == dt, "%s %s %s: the loss is a scalar of the network's dtype", cs,
          k_paths[path], step);
    if (loss->requires_grad) CHECK(wsss_backward(ctx, loss) == WSSS_OK, "%s backward: %s", cs, wsss_error_msg());
    else CHECK(adversary_step && tm.pairs == 0, "%s %s %s: a loss without a graph", cs, k_paths[path], step);

    wsss_tensor *want_loss = take(st, cs, adversary_step ? "adv.loss" : "loc.loss", sfx);
    const double wl = wsss_tensor_get(want_loss, 0), gl = wsss_tensor_get(loss, 0), scale = fmax(fabs(wl), 1e-30);
    double e = fabs(gl - wl) / scale;
    CHECK(wl == 0.0 ? gl == 0.0 : e <= tol, "%s %s %s: loss %.12g, PyTorch %.12g", cs, k_paths[path], step, gl, wl);
    if (!adversary_step) {
        wsss_tensor *want_terms = take(st, cs, "terms", sfx);
        const double got[4] = {tm.loc, tm.reg, tm.am, tm.adv};
        for (int i = 0; i < 4; i++) {
            const double w = wsss_tensor_get(want_terms, i), d = fabs(got[i] - w) / fmax(fabs(w), 1e-30);
            CHECK(d <= tol, "%s %s: term %s %.12g, PyTorch %.12g", cs, k_paths[path], k_terms[i], got[i], w);
            if (d > e) e = d;
        }
        wsss_tensor_free(want_terms);
        /* the forward's running statistics (both networks in training mode) */
        const wsss_bn *bns[2] = {&loc.bn1, &adv.bn1};
        for (int i = 0; i < 2; i++) {
            char what[200], key[80];
            snprintf(key, sizeof key, "loc.running_mean.%s", i ? "adv" : "loc");
            wsss_tensor *rm = take(st, cs, key, sfx);
            snprintf(key, sizeof key, "loc.running_var.%s", i ? "adv" : "loc");
            wsss_tensor *rv = take(st, cs, key, sfx);
            snprintf(what, sizeof what, "%s %s: %s running statistics", cs, k_paths[path], i ? "adversary" : "localizer");
            check_parity(what, bns[i]->running_mean, rm, tol);
            check_parity(what, bns[i]->running_var, rv, tol);
            wsss_tensor_free(rm);
            wsss_tensor_free(rv);
        }
    }
    if (e > g_loss_err[path]) g_loss_err[path] = e;

    /* the trained network's gradients; none for the other */
    const wsss_params *trained = adversary_step ? &adv.ps : &loc.ps;
    CHECK(!any_grad(adversary_step ? &loc.ps : &adv.ps), "%s %s %s: the network not trained got a gradient", cs,
          k_paths[path], step);
    for (int i = 0; i < wsss_params_count(trained); i++) {
        const wsss_param *p = wsss_params_at(trained, i);
        if (p->kind != WSSS_KIND_PARAM) continue;
        char key[160], what[240];
        snprintf(key, sizeof key, "%s.grad.%s", adversary_step ? "adv" : "loc", p->t->name);
        wsss_tensor *want = take(st, cs, key, sfx);
        wsss_tensor *zero = p->t->grad ? NULL : wsss_tensor_new(dt, p->t->ndim, p->t->shape);
        snprintf(what, sizeof what, "%s %s %s step: d/d %s", cs, k_paths[path], step, p->t->name);
        double g = check_parity(what, p->t->grad ? p->t->grad : zero, want, tol);
        if (g > g_grad_err[path]) g_grad_err[path] = g;
        if (zero) wsss_tensor_free(zero);
        wsss_tensor_free(want);
    }
    wsss_ctx_free(ctx);
    if (!adversary_step && tm.pairs > 0) {
        tiny_net fresh; /* the maps again, alone, from the loaded weights */
        net_load(&fresh, st, cs, 1, dt, k);
        check_maps(st, cs, &fresh, x, y, path, tol);
        wsss_params_free(&fresh.ps);
    }
    wsss_tensor_free(want_loss);
    wsss_tensor_free(x);
    wsss_tensor_free(y);
    wsss_params_free(&loc.ps);
    wsss_params_free(&adv.ps);
    wsss_set_backend(WSSS_BACKEND_DNNL);
}

static void run_case(const wsss_safetensors *st, const char *cs, void *user) {
    int *n_pairs_cases = user;
    const char *m = wsss_st_meta(st, cs);
    wsss_eader_opts o = wsss_eader_opts_default();
    CHECK(m && sscanf(m, "%lf %lf %d", &o.alpha, &o.beta, &o.reg_sum) == 3, "%s: metadata 'alpha beta reg_sum'", cs);
    wsss_tensor *y = take(st, cs, "labels", "");
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *image, *pair;
    const int64_t n = wsss_eader_pairs(ctx, y, &image, &pair);
    /* round-major order of the pairs, as the reference's: multi's are (0,0) (1,1) (2,0) (0,2) (1,2) (1,3) */
    if (!strcmp(cs, "multi")) {
        static const int64_t want[6] = {0 * 4 + 0, 1 * 4 + 1, 2 * 4 + 0, 0 * 4 + 2, 1 * 4 + 2, 1 * 4 + 3};
        int same = n == 6;
        for (int i = 0; same && i < 6; i++) same = ((int64_t *)pair->data)[i] == want[i];
        CHECK(same, "multi: the pairs are not in round-major order");
    }
    wsss_ctx_free(ctx);
    wsss_tensor_free(y);
    *n_pairs_cases += n > 0;
    for (int path = 0; path < N_PATHS; path++)
        for (int adversary_step = 0; adversary_step < 2; adversary_step++) run_step(st, cs, &o, path, adversary_step);
}

/* The tie rule on hand-made maps: the first maximum and minimum (row-major) take the gradient */
static void check_minmax(void) {
    wsss_safetensors *st = fixture_open(FILE_NAME);
    wsss_tensor *u = fixture_take(st, "minmax.u"), *g = fixture_take(st, "minmax.g");
    wsss_tensor *want_a = fixture_take(st, "minmax.a"), *want_du = fixture_take(st, "minmax.du");
    for (int f32 = 0; f32 < 2; f32++) {
        const wsss_dtype dt = f32 ? WSSS_F32 : WSSS_F64;
        const double tol = f32 ? 1e-6 : 1e-12;
        wsss_tensor *leaf = grad_leaf(u, dt, 1), *gd = wsss_tensor_to_dtype(g, dt);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *a = wsss_eader_minmax(ctx, leaf);
        CHECK(wsss_backward_with(ctx, a, gd) == WSSS_OK, "minmax backward: %s", wsss_error_msg());
        check_parity(f32 ? "minmax f32: A" : "minmax f64: A", a, want_a, tol);
        wsss_ctx_free(ctx);
        wsss_tensor *du = take_grad(leaf);
        check_parity(f32 ? "minmax f32: dL/dU with ties" : "minmax f64: dL/dU with ties", du, want_du, tol);
        wsss_tensor_free(du);
        wsss_tensor_free(gd);
    }
    wsss_tensor_free(u);
    wsss_tensor_free(g);
    wsss_tensor_free(want_a);
    wsss_tensor_free(want_du);
    wsss_st_close(st);
}

int main(void) {
    wsss_runtime_init();
    check_minmax();
    int with_pairs = 0;
    const int n = fixture_each_case(FILE_NAME, run_case, &with_pairs);
    CHECK(n == 4 && with_pairs == 3, "%s: expected 4 cases (3 with pairs), found %d (%d)", FILE_NAME, n, with_pairs);
    printf("EADER step parity over %d cases, max relative error vs PyTorch (loss and terms / gradients / maps):\n", n);
    for (int path = 0; path < N_PATHS; path++)
        printf("  %-20s loss %.2e  gradients %.2e  maps %.2e\n", k_paths[path], g_loss_err[path], g_grad_err[path],
               g_map_err[path]);
    return test_summary("test_eader_step_parity");
}
