/* Shape ops and F.interpolate against PyTorch 1.13 (fixtures from scripts/gen_fixtures_shape.py):
 * outputs and the gradients of sum(y * gy), case by case; prints the max relative error per op
 * (max |got - want| / max |want| over all cases). Resizing runs with the table-driven F32
 * kernels (default backend), the plain F32 kernels (WSSS_BACKEND_REF) and in F64. */
#include <string.h>

#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"
#include "wsss/safetensors.h"

static int has(const wsss_safetensors *st, const char *op, int i, const char *what) {
    char name[128];
    snprintf(name, sizeof name, "%s_%d/%s", op, i, what);
    return wsss_st_find(st, name) != NULL;
}

static wsss_tensor *load(const wsss_safetensors *st, const char *op, int i, const char *what) {
    char name[128];
    snprintf(name, sizeof name, "%s_%d/%s", op, i, what);
    return fixture_take(st, name);
}

static double cfgv(const wsss_tensor *cfg, int k) { return wsss_tensor_get(cfg, k); }

typedef struct op_stats {
    const char *name;
    int cases;
    double fwd, bwd; /* max relative errors */
} op_stats;

static void compare(op_stats *s, int is_grad, const char *what, const wsss_tensor *got,
                    const wsss_tensor *want, double tol) {
    char name[160];
    snprintf(name, sizeof name, "%s %s", s->name, what);
    check_close(name, got, want, tol, tol);
    if (!wsss_tensor_same_shape(got, want)) return;
    double e = max_rel_error(got, want);
    double *m = is_grad ? &s->bwd : &s->fwd;
    if (e > *m) *m = e;
}

static void report(const op_stats *s) {
    printf("%-22s %2d cases  max rel err: forward %.3g", s->name, s->cases, s->fwd);
    if (s->bwd >= 0) printf("  backward %.3g", s->bwd);
    printf("\n");
}

/* ---------------- data-movement ops ---------------- */

typedef wsss_tensor *(*op_fn)(wsss_ctx *ctx, wsss_tensor **xs, int n, const wsss_tensor *cfg,
                              const wsss_tensor *index);

static wsss_tensor *op_concat(wsss_ctx *ctx, wsss_tensor **xs, int n, const wsss_tensor *cfg,
                              const wsss_tensor *index) {
    return wsss_concat(ctx, n, xs, (int)cfgv(cfg, 0));
}

static wsss_tensor *op_pad(wsss_ctx *ctx, wsss_tensor **xs, int n, const wsss_tensor *cfg,
                           const wsss_tensor *index) {
    int64_t p[4];
    for (int k = 0; k < 4; k++) p[k] = (int64_t)cfgv(cfg, k);
    return wsss_pad2d(ctx, xs[0], p, cfgv(cfg, 4));
}

static wsss_tensor *op_index_select(wsss_ctx *ctx, wsss_tensor **xs, int n, const wsss_tensor *cfg,
                                    const wsss_tensor *index) {
    return wsss_index_select(ctx, xs[0], (int)cfgv(cfg, 0), index);
}

static wsss_tensor *op_gather(wsss_ctx *ctx, wsss_tensor **xs, int n, const wsss_tensor *cfg,
                              const wsss_tensor *index) {
    return wsss_gather(ctx, xs[0], (int)cfgv(cfg, 0), index);
}

static wsss_tensor *op_slice(wsss_ctx *ctx, wsss_tensor **xs, int n, const wsss_tensor *cfg,
                             const wsss_tensor *index) {
    return wsss_slice(ctx, xs[0], (int)cfgv(cfg, 0), (int64_t)cfgv(cfg, 1), (int64_t)cfgv(cfg, 2),
                      (int64_t)cfgv(cfg, 3));
}

static wsss_tensor *op_flip(wsss_ctx *ctx, wsss_tensor **xs, int n, const wsss_tensor *cfg,
                            const wsss_tensor *index) {
    return wsss_flip(ctx, xs[0], (int)cfgv(cfg, 0));
}

static wsss_tensor *op_permute(wsss_ctx *ctx, wsss_tensor **xs, int n, const wsss_tensor *cfg,
                               const wsss_tensor *index) {
    int perm[WSSS_MAX_DIMS];
    for (int k = 0; k < xs[0]->ndim; k++) perm[k] = (int)cfgv(cfg, k);
    return wsss_permute(ctx, xs[0], perm);
}

static wsss_tensor *op_chain(wsss_ctx *ctx, wsss_tensor **xs, int n, const wsss_tensor *cfg,
                             const wsss_tensor *index) {
    wsss_tensor *p = wsss_permute(ctx, xs[0], (const int[]){0, 2, 3, 1});
    wsss_tensor *s = wsss_slice(ctx, p, 2, 1, 5, 2);
    wsss_tensor *f = wsss_flip(ctx, s, 1);
    return wsss_reshape(ctx, f, 2, (const int64_t[]){-1, 6});
}

static void run_data_op(const wsss_safetensors *st, const char *op, op_fn fn, double gtol) {
    op_stats s = {op, 0, 0, 0};
    for (int i = 0; has(st, op, i, "y"); i++) {
        wsss_tensor *cfg = load(st, op, i, "cfg");
        wsss_tensor *xs[WSSS_NODE_MAX_INPUTS], *gx[WSSS_NODE_MAX_INPUTS];
        int n = 0;
        if (has(st, op, i, "x")) {
            xs[n] = load(st, op, i, "x");
            gx[n++] = load(st, op, i, "gx");
        } else {
            char w[16];
            for (;; n++) {
                snprintf(w, sizeof w, "x%d", n);
                if (!has(st, op, i, w)) break;
                xs[n] = load(st, op, i, w);
                snprintf(w, sizeof w, "gx%d", n);
                gx[n] = load(st, op, i, w);
            }
        }
        wsss_tensor *index = has(st, op, i, "index") ? load(st, op, i, "index") : NULL;
        wsss_tensor *y_want = load(st, op, i, "y"), *gy = load(st, op, i, "gy");
        for (int k = 0; k < n; k++) xs[k]->requires_grad = 1;

        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = fn(ctx, xs, n, cfg, index);
        char what[64];
        snprintf(what, sizeof what, "case %d forward", i);
        compare(&s, 0, what, y, y_want, 0);
        CHECK(wsss_backward_with(ctx, y, gy) == WSSS_OK, "%s case %d backward", op, i);
        for (int k = 0; k < n; k++) {
            snprintf(what, sizeof what, "case %d d/dx%d", i, k);
            if (xs[k]->grad) compare(&s, 1, what, xs[k]->grad, gx[k], gtol);
            else CHECK(0, "%s case %d: no gradient for input %d", op, i, k);
        }
        wsss_ctx_free(ctx);
        s.cases++;
        for (int k = 0; k < n; k++) {
            wsss_tensor_free(xs[k]);
            wsss_tensor_free(gx[k]);
        }
        wsss_tensor_free(index);
        wsss_tensor_free(cfg);
        wsss_tensor_free(y_want);
        wsss_tensor_free(gy);
    }
    CHECK(s.cases > 0, "no %s cases in the fixture", op);
    report(&s);
}

/* ---------------- resizing ---------------- */

typedef enum { RUN_TABLES, RUN_PLAIN, RUN_F64 } run_kind;
static const char *const k_run_name[] = {"F32 tables", "F32 plain", "F64"};

static wsss_tensor *do_resize(wsss_ctx *ctx, const char *op, wsss_tensor *x, const wsss_tensor *cfg) {
    const int64_t oh = (int64_t)cfgv(cfg, 0), ow = (int64_t)cfgv(cfg, 1);
    if (!strcmp(op, "bilinear")) return wsss_resize_bilinear(ctx, x, oh, ow, (int)cfgv(cfg, 2));
    if (!strcmp(op, "nearest")) return wsss_resize_nearest(ctx, x, oh, ow);
    return wsss_resize_bicubic(ctx, x, oh, ow, (int)cfgv(cfg, 2));
}

static void run_resize(const wsss_safetensors *st, const char *op, run_kind kind, double tol) {
    char sname[64];
    snprintf(sname, sizeof sname, "%s (%s)", op, k_run_name[kind]);
    const int backward = strcmp(op, "bicubic") != 0;
    op_stats s = {sname, 0, 0, backward ? 0 : -1};
    wsss_set_backend(kind == RUN_PLAIN ? WSSS_BACKEND_REF : WSSS_BACKEND_DNNL);
    for (int i = 0; has(st, op, i, "y"); i++) {
        wsss_tensor *cfg = load(st, op, i, "cfg"), *x32 = load(st, op, i, "x");
        wsss_tensor *y_want = load(st, op, i, "y");
        wsss_tensor *x = kind == RUN_F64 ? wsss_tensor_to_dtype(x32, WSSS_F64) : wsss_tensor_clone(x32);
        x->requires_grad = backward;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = do_resize(ctx, op, x, cfg);
        char what[64];
        snprintf(what, sizeof what, "case %d forward", i);
        compare(&s, 0, what, y, y_want, tol);
        if (backward) {
            wsss_tensor *gy32 = load(st, op, i, "gy"), *gx = load(st, op, i, "gx");
            wsss_tensor *gy = wsss_tensor_to_dtype(gy32, x->dtype);
            CHECK(wsss_backward_with(ctx, y, gy) == WSSS_OK, "%s case %d backward", op, i);
            snprintf(what, sizeof what, "case %d backward", i);
            compare(&s, 1, what, x->grad, gx, tol);
            wsss_tensor_free(gy32);
            wsss_tensor_free(gy);
            wsss_tensor_free(gx);
        }
        wsss_ctx_free(ctx);
        s.cases++;
        wsss_tensor_free(x);
        wsss_tensor_free(x32);
        wsss_tensor_free(cfg);
        wsss_tensor_free(y_want);
    }
    wsss_set_backend(WSSS_BACKEND_DNNL);
    CHECK(s.cases > 0, "no %s cases in the fixture", op);
    report(&s);
}

int main(void) {
    wsss_safetensors *ops = fixture_open("shape_ops.safetensors");
    run_data_op(ops, "concat", op_concat, 0);
    run_data_op(ops, "pad", op_pad, 0);
    run_data_op(ops, "index_select", op_index_select, 1e-6);
    run_data_op(ops, "gather", op_gather, 1e-6);
    run_data_op(ops, "slice", op_slice, 0);
    run_data_op(ops, "flip", op_flip, 0);
    run_data_op(ops, "permute", op_permute, 0);
    run_data_op(ops, "chain", op_chain, 0);
    wsss_st_close(ops);

    wsss_safetensors *rs = fixture_open("shape_resize.safetensors");
    const char *modes[3] = {"bilinear", "nearest", "bicubic"};
    for (int m = 0; m < 3; m++)
        for (int k = 0; k < 3; k++) run_resize(rs, modes[m], (run_kind)k, 1e-5);
    wsss_st_close(rs);
    return test_summary("test_shape_parity");
}
