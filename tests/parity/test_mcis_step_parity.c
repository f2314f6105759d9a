/* One full MCIS training step (wsss_mcis_loss, mcis.h; specs/mcis.md §4) against PyTorch
 * (scripts/gen_fixtures_mcis.py, tests/fixtures/mcis_step.safetensors): on a tiny backbone with a
 * basic CAM head and the co-attention weights, the total loss, its five terms and the gradient of
 * every parameter, for a batch whose contrastive indicators are both on, one where u2 is empty (its
 * indicator 0), and one with the contrastive terms off. PyTorch runs the reference's four Siamese
 * passes (x1 through the backbone in each); wsss runs x1 once, so agreement also checks that the
 * summed gradients of the shared x1 are exact. Paths: F64 reference kernels (1e-10 relative to the
 * largest value of each tensor), F32 reference and oneDNN kernels (1e-5), and oneDNN in a
 * blocked-layout context (as the trainer runs). Parameters are loaded by the registry's names
 * from the torch state_dict, so the reference names are checked too. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/mcis.h"
#include "wsss/models.h"
#include "wsss/runtime.h"

#define FILE_NAME "mcis_step.safetensors"

enum { PATH_REF_F64 = 0, PATH_REF_F32, PATH_DNNL_F32, PATH_BLOCKED_F32, N_PATHS };
static const char *const k_paths[N_PATHS] = {"ref f64", "ref f32", "oneDNN f32", "oneDNN f32 blocked"};
static const char *const k_terms[5] = {"basic", "co", "self_basic", "self_co", "contrast"};
static double g_loss_err[N_PATHS], g_grad_err[N_PATHS];

typedef struct tiny_net {
    wsss_params ps;
    wsss_conv conv0, conv2, head;
    wsss_coattention co;
    int forwards; /* backbone passes of the step */
} tiny_net;

static wsss_tensor *tiny_forward(void *net, wsss_ctx *ctx, wsss_tensor *x, wsss_tensor **features) {
    tiny_net *n = net;
    n->forwards++;
    wsss_tensor *h = wsss_relu(ctx, wsss_conv_forward(ctx, &n->conv0, x));
    *features = wsss_relu(ctx, wsss_conv_forward(ctx, &n->conv2, h));
    return wsss_spatial_mean(ctx, wsss_conv_forward(ctx, &n->head, *features));
}

static void tiny_load(tiny_net *n, const wsss_safetensors *st, wsss_dtype dt, int64_t k) {
    memset(n, 0, sizeof *n);
    wsss_params_init(&n->ps);
    wsss_conv_init(&n->conv0, &n->ps, "features.0", dt, 3, 6, 3, 1, 1, 1, 1, WSSS_GROUP_BACKBONE);
    wsss_conv_init(&n->conv2, &n->ps, "features.2", dt, 6, 8, 3, 2, 1, 1, 1, WSSS_GROUP_BACKBONE);
    wsss_conv_init(&n->head, &n->ps, "head", dt, 8, k, 1, 1, 0, 1, 1, WSSS_GROUP_NEW);
    wsss_coattention_init(&n->co, &n->ps, NULL, dt, 8, k, WSSS_GROUP_NEW);
    for (int i = 0; i < wsss_params_count(&n->ps); i++) {
        wsss_tensor *p = wsss_params_at(&n->ps, i)->t;
        wsss_tensor *v = fixture_take(st, p->name);
        CHECK(wsss_tensor_same_shape(p, v), "%s has another shape in the torch state_dict", p->name);
        if (wsss_tensor_same_shape(p, v)) {
            wsss_tensor *c = wsss_tensor_to_dtype(v, dt);
            wsss_tensor_copy_into(p, c);
            wsss_tensor_free(c);
        }
        wsss_tensor_free(v);
    }
}

static wsss_tensor *take(const wsss_safetensors *st, const char *a, const char *b, const char *c) {
    char name[200];
    snprintf(name, sizeof name, "%s%s%s", a, b, c);
    return fixture_take(st, name);
}

static void run_path(const wsss_safetensors *st, const char *cs, int contrastive, int path) {
    const wsss_dtype dt = path == PATH_REF_F64 ? WSSS_F64 : WSSS_F32;
    const char *sfx = dt == WSSS_F64 ? ".f64" : ".f32";
    const double tol = dt == WSSS_F64 ? 1e-10 : 1e-5;
    wsss_set_backend(path <= PATH_REF_F32 ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
    wsss_tensor *l1 = take(st, cs, ".l1", ""), *l2 = take(st, cs, ".l2", "");
    const int64_t k = l1->shape[1];
    tiny_net net;
    tiny_load(&net, st, dt, k);
    static const char *const view_names[5] = {"x1", "x2", "flip", "small", "large"};
    wsss_tensor *views[5];
    for (int i = 0; i < 5; i++) {
        wsss_tensor *v = take(st, "view.", view_names[i], "");
        views[i] = wsss_tensor_to_dtype(v, dt);
        wsss_tensor_free(v);
    }
    const wsss_mcis_views mv = {views[0], views[1], {views[2], views[3], views[4]}};
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_blocked(ctx, path == PATH_BLOCKED_F32);
    wsss_mcis_terms terms;
    wsss_tensor *loss = wsss_mcis_loss(ctx, tiny_forward, &net, &net.co, &mv, l1, l2, contrastive, &terms);
    CHECK(net.forwards == 5, "%s %s: %d backbone passes, want 5 (x1 once, x2, three self views)", cs, k_paths[path],
          net.forwards);
    CHECK(loss->ndim == 0 && loss->dtype == dt, "%s %s: the loss is a scalar of the network's dtype", cs,
          k_paths[path]);
    CHECK(wsss_backward(ctx, loss) == WSSS_OK, "%s %s: backward: %s", cs, k_paths[path], wsss_error_msg());

    char what[240];
    wsss_tensor *want_loss = take(st, cs, ".loss", sfx), *want_terms = take(st, cs, ".terms", sfx);
    const double wl = wsss_tensor_get(want_loss, 0), got_terms[5] = {terms.basic, terms.co, terms.self_basic,
                                                                      terms.self_co, terms.contrast};
    double e = fabs(wsss_tensor_get(loss, 0) - wl) / fabs(wl);
    CHECK(e <= tol, "%s %s: loss %.12g, PyTorch %.12g", cs, k_paths[path], wsss_tensor_get(loss, 0), wl);
    for (int i = 0; i < 5; i++) {
        const double w = wsss_tensor_get(want_terms, i), d = fabs(got_terms[i] - w) / fmax(fabs(wl), 1e-30);
        CHECK(d <= tol, "%s %s: term %s %.12g, PyTorch %.12g", cs, k_paths[path], k_terms[i], got_terms[i], w);
        if (d > e) e = d;
    }
    if (e > g_loss_err[path]) g_loss_err[path] = e;
    /* the indicators: both exclusive sets non-empty, only u1 (u2 empty), or the terms off */
    const int want_on[2] = {contrastive, contrastive && strcmp(cs, "indicator0") != 0};
    CHECK(terms.contrast_on[0] == want_on[0] && terms.contrast_on[1] == want_on[1],
          "%s %s: contrastive indicators %d %d, want %d %d", cs, k_paths[path], terms.contrast_on[0],
          terms.contrast_on[1], want_on[0], want_on[1]);

    for (int i = 0; i < wsss_params_count(&net.ps); i++) {
        wsss_tensor *p = wsss_params_at(&net.ps, i)->t;
        char key[160];
        snprintf(key, sizeof key, "%s%s", p->name, sfx);
        wsss_tensor *want = take(st, cs, ".grad.", key);
        /* a parameter the loss does not reach (the gate without the contrastive terms) has no
         * gradient: PyTorch's None, stored as zeros */
        wsss_tensor *zero = p->grad ? NULL : wsss_tensor_new(dt, p->ndim, p->shape);
        snprintf(what, sizeof what, "%s %s d/d %s", cs, k_paths[path], p->name);
        double g = check_parity(what, p->grad ? p->grad : zero, want, tol);
        if (g > g_grad_err[path]) g_grad_err[path] = g;
        if (zero) wsss_tensor_free(zero);
        wsss_tensor_free(want);
    }
    wsss_ctx_free(ctx);
    for (int i = 0; i < 5; i++) wsss_tensor_free(views[i]);
    wsss_tensor_free(want_loss);
    wsss_tensor_free(want_terms);
    wsss_tensor_free(l1);
    wsss_tensor_free(l2);
    wsss_params_free(&net.ps);
    wsss_set_backend(WSSS_BACKEND_DNNL);
}

static void run_case(const wsss_safetensors *st, const char *cs, void *user) {
    (void)user;
    const char *flag = wsss_st_meta(st, cs);
    CHECK(flag && (!strcmp(flag, "0") || !strcmp(flag, "1")), "%s: metadata is not the contrastive flag", cs);
    for (int path = 0; path < N_PATHS; path++) run_path(st, cs, flag && flag[0] == '1', path);
}

int main(void) {
    wsss_runtime_init();
    const int n = fixture_each_case(FILE_NAME, run_case, NULL);
    CHECK(n == 3, "%s: expected 3 cases, found %d", FILE_NAME, n);
    printf("MCIS step parity over %d cases, max relative error vs PyTorch (loss and terms / gradients):\n", n);
    for (int path = 0; path < N_PATHS; path++)
        printf("  %-20s loss %.2e  gradients %.2e\n", k_paths[path], g_loss_err[path], g_grad_err[path]);
    return test_summary("test_mcis_step_parity");
}
