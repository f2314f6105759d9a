/* Elementwise ops, reductions, softmax and losses against PyTorch 1.13 (fixtures from
 * scripts/gen_fixtures_math.py). Each case's metadata entry names the op and its parameters; the
 * op runs in F64 (compared with torch's float64 results) and in F32 (inputs rounded to float32,
 * compared with torch's float32 results): output, arg indices, and the input gradients of
 * sum(out * gout). Prints the max relative error (max |got - want| / max |want|) per op. */
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "wsss/ops.h"
#include "wsss/safetensors.h"

#define MAX_OPS 40

typedef struct {
    char name[32];
    int cases;
    double out[2], grad[2]; /* [0] F32, [1] F64 */
} op_stats;

static op_stats g_stats[MAX_OPS];
static int g_nstats;

static op_stats *stats_for(const char *op) {
    for (int i = 0; i < g_nstats; i++)
        if (strcmp(g_stats[i].name, op) == 0) return &g_stats[i];
    WSSS_ASSERT(g_nstats < MAX_OPS, "too many ops");
    op_stats *s = &g_stats[g_nstats++];
    snprintf(s->name, sizeof s->name, "%s", op);
    return s;
}

static wsss_tensor *load(const wsss_safetensors *st, const char *cs, const char *what) {
    char name[160];
    snprintf(name, sizeof name, "%s.%s", cs, what);
    if (!wsss_st_find(st, name)) return NULL;
    return fixture_take(st, name);
}

typedef struct {
    char op[32];
    double p[3];
    const wsss_tensor *target;
    wsss_tensor *indices; /* out: arg indices of max/min */
} run_spec;

static wsss_tensor *run(wsss_ctx *ctx, run_spec *r, wsss_tensor **in) {
    const char *op = r->op;
    const double *p = r->p;
    r->indices = NULL;
    if (!strcmp(op, "add")) return wsss_add(ctx, in[0], in[1]);
    if (!strcmp(op, "sub")) return wsss_sub(ctx, in[0], in[1]);
    if (!strcmp(op, "mul")) return wsss_mul(ctx, in[0], in[1]);
    if (!strcmp(op, "div")) return wsss_div(ctx, in[0], in[1]);
    if (!strcmp(op, "add_scalar")) return wsss_add_scalar(ctx, in[0], p[0]);
    if (!strcmp(op, "mul_scalar")) return wsss_mul_scalar(ctx, in[0], p[0]);
    if (!strcmp(op, "rsub_scalar")) return wsss_rsub_scalar(ctx, in[0], p[0]);
    if (!strcmp(op, "neg")) return wsss_neg(ctx, in[0]);
    if (!strcmp(op, "exp")) return wsss_exp(ctx, in[0]);
    if (!strcmp(op, "log")) return wsss_log(ctx, in[0]);
    if (!strcmp(op, "pow_scalar")) return wsss_pow_scalar(ctx, in[0], p[0]);
    if (!strcmp(op, "abs")) return wsss_abs(ctx, in[0]);
    if (!strcmp(op, "clamp")) return wsss_clamp(ctx, in[0], p[0], p[1]);
    if (!strcmp(op, "sum")) return wsss_sum(ctx, in[0], (unsigned)p[0], (int)p[1]);
    if (!strcmp(op, "mean")) return wsss_mean(ctx, in[0], (unsigned)p[0], (int)p[1]);
    if (!strcmp(op, "sum_all")) return wsss_sum_all(ctx, in[0]);
    if (!strcmp(op, "mean_all")) return wsss_mean_all(ctx, in[0]);
    if (!strcmp(op, "max")) return wsss_max(ctx, in[0], (int)p[0], (int)p[1], &r->indices);
    if (!strcmp(op, "min")) return wsss_min(ctx, in[0], (int)p[0], (int)p[1], &r->indices);
    if (!strcmp(op, "max_all")) return wsss_max_all(ctx, in[0]);
    if (!strcmp(op, "min_all")) return wsss_min_all(ctx, in[0]);
    if (!strcmp(op, "softmax")) return wsss_softmax(ctx, in[0], (int)p[0]);
    if (!strcmp(op, "log_softmax")) return wsss_log_softmax(ctx, in[0], (int)p[0]);
    if (!strcmp(op, "bce_with_logits")) return wsss_bce_with_logits(ctx, in[0], in[1]);
    if (!strcmp(op, "multilabel_soft_margin")) return wsss_multilabel_soft_margin(ctx, in[0], in[1]);
    if (!strcmp(op, "bce")) return wsss_bce(ctx, in[0], in[1]);
    if (!strcmp(op, "cross_entropy2d")) return wsss_cross_entropy2d(ctx, in[0], r->target, (int)p[0]);
    if (!strcmp(op, "cross_entropy_smoothed")) return wsss_cross_entropy_smoothed(ctx, in[0], r->target, p[0]);
    fprintf(stderr, "FATAL: unknown op '%s' in the fixture\n", op);
    exit(1);
}

static double compare(const char *cs, const char *what, const wsss_tensor *got, const wsss_tensor *want,
                      double tol) {
    char name[200];
    snprintf(name, sizeof name, "%s %s", cs, what);
    if (!wsss_tensor_same_shape(got, want)) {
        check_close(name, got, want, 0, 0); /* reports the shape mismatch */
        return INFINITY;
    }
    double e = max_rel_error(got, want);
    CHECK(e <= tol, "%s: max rel error %.3g > %.3g", name, e, tol);
    return e;
}

static void run_case(const wsss_safetensors *st, const char *cs, const char *spec) {
    run_spec r;
    memset(&r, 0, sizeof r);
    int np = sscanf(spec, "%31s %lf %lf %lf", r.op, &r.p[0], &r.p[1], &r.p[2]);
    CHECK(np >= 1, "%s: bad spec '%s'", cs, spec);
    op_stats *s = stats_for(r.op);
    s->cases++;
    wsss_tensor *in64[3] = {0};
    int n_in = 0;
    while (n_in < 3) {
        char w[16];
        snprintf(w, sizeof w, "in%d", n_in);
        if (!(in64[n_in] = load(st, cs, w))) break;
        n_in++;
    }
    wsss_tensor *target = load(st, cs, "target");
    wsss_tensor *gout = load(st, cs, "gout");
    for (int dt = 0; dt < 2; dt++) {
        const char *sfx = dt ? "f64" : "f32";
        wsss_dtype dtype = dt ? WSSS_F64 : WSSS_F32;
        double tol = dt ? 1e-13 : 2e-6;
        char w[32];
        wsss_tensor *in[3], *want_grad[3];
        for (int i = 0; i < n_in; i++) {
            in[i] = wsss_tensor_to_dtype(in64[i], dtype);
            snprintf(w, sizeof w, "grad%d.%s", i, sfx);
            want_grad[i] = load(st, cs, w);
            in[i]->requires_grad = want_grad[i] != NULL;
        }
        snprintf(w, sizeof w, "out.%s", sfx);
        wsss_tensor *want_out = load(st, cs, w);
        snprintf(w, sizeof w, "idx.%s", sfx);
        wsss_tensor *want_idx = load(st, cs, w);
        r.target = target;
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *out = run(ctx, &r, in);
        char what[64];
        snprintf(what, sizeof what, "%s out", sfx);
        double e = compare(cs, what, out, want_out, tol);
        if (e > s->out[dt]) s->out[dt] = e;
        if (want_idx) {
            snprintf(what, sizeof what, "%s indices", sfx);
            CHECK(r.indices != NULL, "%s: no indices", cs);
            if (r.indices) check_close(what, r.indices, want_idx, 0, 0);
        }
        wsss_tensor *g = wsss_tensor_to_dtype(gout, dtype);
        CHECK(wsss_backward_with(ctx, out, g) == WSSS_OK, "%s: backward: %s", cs, wsss_error_msg());
        for (int i = 0; i < n_in; i++) {
            if (!want_grad[i]) {
                CHECK(in[i]->grad == NULL, "%s: input %d without requires_grad got a gradient", cs, i);
                continue;
            }
            snprintf(what, sizeof what, "%s grad%d", sfx, i);
            if (!in[i]->grad) {
                CHECK(0, "%s %s: missing", cs, what);
                continue;
            }
            e = compare(cs, what, in[i]->grad, want_grad[i], tol);
            if (e > s->grad[dt]) s->grad[dt] = e;
        }
        /* cross entropy: I32 and U8 labels give the same loss and gradient as I64 */
        if (target && in[0]->grad) {
            const wsss_dtype alt[2] = {WSSS_I32, WSSS_U8};
            for (int k = 0; k < 2; k++) {
                wsss_tensor *t2 = wsss_tensor_to_dtype(target, alt[k]);
                wsss_tensor *x2 = wsss_tensor_clone(in[0]);
                x2->requires_grad = 1;
                wsss_ctx *c2 = wsss_ctx_new();
                run_spec r2 = r;
                r2.target = t2;
                wsss_tensor *o2 = run(c2, &r2, &x2);
                wsss_backward_with(c2, o2, g);
                CHECK(wsss_tensor_get(o2, 0) == wsss_tensor_get(out, 0), "%s: %s labels", cs, wsss_dtype_name(alt[k]));
                check_close("cross entropy label dtype", x2->grad, in[0]->grad, 0, 0);
                wsss_ctx_free(c2);
                wsss_tensor_free(x2);
                wsss_tensor_free(t2);
            }
        }
        wsss_ctx_free(ctx);
        wsss_tensor_free(g);
        wsss_tensor_free(want_out);
        wsss_tensor_free(want_idx);
        for (int i = 0; i < n_in; i++) {
            wsss_tensor_free(in[i]);
            wsss_tensor_free(want_grad[i]);
        }
    }
    for (int i = 0; i < n_in; i++) wsss_tensor_free(in64[i]);
    wsss_tensor_free(target);
    wsss_tensor_free(gout);
}

static void run_file(const char *file) {
    wsss_safetensors *st = fixture_open(file);
    CHECK(st->n_meta > 0, "%s: no cases", file);
    for (int i = 0; i < st->n_meta; i++) run_case(st, st->meta_keys[i], st->meta_values[i]);
    wsss_st_close(st);
}

int main(void) {
    run_file("math_elementwise.safetensors");
    run_file("math_reduce.safetensors");
    run_file("math_softmax_loss.safetensors");
    run_file("math_label_smoothing.safetensors");
    printf("%-24s %5s  %-22s %-22s\n", "op", "cases", "max rel err F32 out/grad", "F64 out/grad");
    for (int i = 0; i < g_nstats; i++) {
        const op_stats *s = &g_stats[i];
        printf("%-24s %5d  %9.2e / %9.2e  %9.2e / %9.2e\n", s->name, s->cases, s->out[0], s->grad[0], s->out[1],
               s->grad[1]);
    }
    return test_summary("test_math_parity");
}
