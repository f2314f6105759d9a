/* Shape ops: views share memory, values against index arithmetic written out in the test,
 * gradients against double-precision finite differences. */
#include <stdint.h>
#include <string.h>

#include "gradcheck.h"
#include "wsss/ops.h"

/* ---------------- helpers ---------------- */

static double get_md(const wsss_tensor *t, const int64_t *idx) {
    return wsss_tensor_get(t, gc_flat(t->ndim, t->shape, idx));
}

static int shape_is(const wsss_tensor *t, int ndim, const int64_t *shape) {
    if (t->ndim != ndim) return 0;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return 0;
    return 1;
}

/* ---------------- reshape ---------------- */

typedef struct reshape_arg {
    int ndim;
    int64_t shape[WSSS_MAX_DIMS];
    int permute_first; /* make the input non-contiguous */
} reshape_arg;

static wsss_tensor *f_reshape(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    const reshape_arg *a = arg;
    wsss_tensor *x = xs[0];
    if (a->permute_first) x = wsss_permute(ctx, x, (const int[]){1, 0, 2});
    return wsss_reshape(ctx, x, a->ndim, a->shape);
}

static void test_reshape(void) {
    wsss_ctx *ctx = wsss_ctx_new();
    int64_t s[3] = {2, 3, 4};
    wsss_tensor *x = rand_leaf(3, s, -2, 2, 1);
    wsss_tensor *v = wsss_reshape(ctx, x, 2, (const int64_t[]){-1, 6});
    CHECK(shape_is(v, 2, (const int64_t[]){4, 6}), "reshape -1 inference");
    CHECK(v->buf == x->buf && v->data == x->data, "reshape of contiguous data must be a view");
    wsss_tensor_set(v, 7, 42.0);
    CHECK(wsss_tensor_get(x, 7) == 42.0, "write through a reshape view not visible in the base");
    CHECK(v->grad_fn != NULL && v->requires_grad, "reshape must record a node");
    wsss_tensor *sc = wsss_reshape(ctx, x, 4, (const int64_t[]){1, 24, 1, 1});
    CHECK(wsss_tensor_get(sc, 7) == 42.0 && sc->shape[1] == 24, "reshape to 4-D");

    /* non-contiguous input: a copy holding the row-major order of the permuted view */
    wsss_tensor *p = wsss_permute(ctx, x, (const int[]){2, 0, 1}); /* (4,2,3) */
    wsss_tensor *r = wsss_reshape(ctx, p, 1, (const int64_t[]){24});
    CHECK(r->buf != x->buf, "reshape of a non-contiguous view must copy");
    int ok = 1;
    for (int64_t k = 0; k < 24; k++) {
        int64_t c = k / 6, a = (k / 3) % 2, b = k % 3; /* p[c][a][b] = x[a][b][c] */
        ok &= wsss_tensor_get(r, k) == get_md(x, (const int64_t[]){a, b, c});
    }
    CHECK(ok, "reshape of permuted view has wrong values");
    wsss_ctx_free(ctx);

    reshape_arg a1 = {2, {6, -1}, 0}, a2 = {3, {4, 3, 2}, 1}, a3 = {1, {-1}, 1};
    gradcheck_seeded("reshape view", f_reshape, &a1, 1, &x, 11);
    gradcheck_seeded("reshape copy", f_reshape, &a2, 1, &x, 12);
    gradcheck_seeded("reshape flatten", f_reshape, &a3, 1, &x, 13);
    wsss_tensor_free(x);
}

/* ---------------- permute ---------------- */

static wsss_tensor *f_permute(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    return wsss_permute(ctx, xs[0], arg);
}

static void test_permute(void) {
    wsss_ctx *ctx = wsss_ctx_new();
    int64_t s[4] = {2, 3, 4, 5};
    wsss_tensor *x = rand_leaf(4, s, -2, 2, 2);
    const int perm[4] = {3, 1, 0, 2};
    wsss_tensor *p = wsss_permute(ctx, x, perm);
    CHECK(shape_is(p, 4, (const int64_t[]){5, 3, 2, 4}), "permute shape");
    CHECK(p->buf == x->buf, "permute must be a view");
    int ok = 1;
    for (int64_t k = 0; k < 120; k++) {
        int64_t i[4];
        gc_unflat(4, p->shape, k, i);
        /* p[i0][i1][i2][i3] = x[i2][i1][i3][i0] */
        ok &= wsss_tensor_get(p, k) == get_md(x, (const int64_t[]){i[2], i[1], i[3], i[0]});
    }
    CHECK(ok, "permute values");
    wsss_tensor_set(p, 17, -5.0);
    int64_t i[4];
    gc_unflat(4, p->shape, 17, i);
    CHECK(get_md(x, (const int64_t[]){i[2], i[1], i[3], i[0]}) == -5.0, "write through permute view");
    /* negative perm entries count from the end, as in torch */
    wsss_tensor *q = wsss_permute(ctx, x, (const int[]){-1, 0, 1, 2});
    CHECK(shape_is(q, 4, (const int64_t[]){5, 2, 3, 4}), "permute with negative dims");
    wsss_ctx_free(ctx);
    gradcheck_seeded("permute", f_permute, perm, 1, &x, 21);
    const int perm2[4] = {0, 2, 3, 1};
    gradcheck_seeded("permute nhwc", f_permute, perm2, 1, &x, 22);
    wsss_tensor_free(x);
}

/* ---------------- slice ---------------- */

typedef struct slice_arg {
    int dim;
    int64_t start, end, step;
} slice_arg;

static wsss_tensor *f_slice(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    const slice_arg *a = arg;
    return wsss_slice(ctx, xs[0], a->dim, a->start, a->end, a->step);
}

static void test_slice(void) {
    int64_t s[3] = {3, 7, 2};
    wsss_tensor *x = rand_leaf(3, s, -2, 2, 3);
    /* expected Python/PyTorch results on a dim of size 7, written out by hand */
    struct {
        slice_arg a;
        int n;
        int64_t want[7];
    } cases[] = {
        {{1, 1, 5, 1}, 4, {1, 2, 3, 4}},
        {{1, -3, INT64_MAX, 1}, 3, {4, 5, 6}},
        {{1, -100, 3, 2}, 2, {0, 2}},
        {{1, 2, -1, 2}, 2, {2, 4}},
        {{1, 5, 2, 1}, 0, {0}},
        {{1, 0, 100, 3}, 3, {0, 3, 6}},
        {{-2, 6, 7, 1}, 1, {6}},
        {{1, 7, 9, 1}, 0, {0}},
        {{1, -1, 7, 5}, 1, {6}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *v = f_slice(ctx, &x, &cases[c].a);
        CHECK(shape_is(v, 3, (const int64_t[]){3, cases[c].n, 2}), "slice case %zu: length %lld, want %d",
              c, (long long)v->shape[1], cases[c].n);
        int ok = 1;
        for (int64_t i = 0; i < 3; i++)
            for (int64_t k = 0; k < v->shape[1] && k < cases[c].n; k++)
                for (int64_t j = 0; j < 2; j++)
                    ok &= get_md(v, (const int64_t[]){i, k, j}) ==
                          get_md(x, (const int64_t[]){i, cases[c].want[k], j});
        CHECK(ok, "slice case %zu values", c);
        if (cases[c].n > 0) {
            CHECK(v->buf == x->buf, "slice must be a view");
            double old = get_md(x, (const int64_t[]){1, cases[c].want[0], 1});
            wsss_tensor_set(v, gc_flat(3, v->shape, (const int64_t[]){1, 0, 1}), 99.0);
            CHECK(get_md(x, (const int64_t[]){1, cases[c].want[0], 1}) == 99.0, "write through slice %zu", c);
            wsss_tensor_set(x, gc_flat(3, x->shape, (const int64_t[]){1, cases[c].want[0], 1}), old);
        }
        wsss_ctx_free(ctx);
        gradcheck_case(f_slice, &cases[c].a, 1, &x, 30 + c, "slice case %zu", c);
    }
    slice_arg d0 = {0, 1, 3, 1}, d2 = {2, 1, 2, 1};
    gradcheck_seeded("slice dim0", f_slice, &d0, 1, &x, 40);
    gradcheck_seeded("slice dim2", f_slice, &d2, 1, &x, 41);
    wsss_tensor_free(x);
}

/* ---------------- flip ---------------- */

static wsss_tensor *f_flip(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    return wsss_flip(ctx, xs[0], *(const int *)arg);
}

static void test_flip(void) {
    int64_t s[4] = {2, 3, 2, 5};
    wsss_tensor *x = rand_leaf(4, s, -2, 2, 4);
    for (int d = -1; d < 4; d++) {
        wsss_ctx *ctx = wsss_ctx_new();
        const int dd = d < 0 ? 3 : d;
        wsss_tensor *f = wsss_flip(ctx, x, d);
        CHECK(f->buf == x->buf && f->stride[dd] < 0, "flip must be a negative-stride view");
        int ok = 1;
        for (int64_t k = 0; k < 60; k++) {
            int64_t i[4];
            gc_unflat(4, s, k, i);
            double got = get_md(f, i);
            i[dd] = s[dd] - 1 - i[dd];
            ok &= got == get_md(x, i);
        }
        CHECK(ok, "flip dim %d values", d);
        wsss_ctx_free(ctx);
        gradcheck_case(f_flip, &d, 1, &x, 50 + d, "flip dim %d", d);
    }
    /* flipping twice is the identity view */
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *ff = wsss_flip(ctx, wsss_flip(ctx, x, 2), 2);
    CHECK(ff->data == x->data && wsss_tensor_is_contiguous(ff), "double flip");
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* ---------------- chains of views ---------------- */

static wsss_tensor *f_chain(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    wsss_tensor *p = wsss_permute(ctx, xs[0], (const int[]){0, 2, 3, 1}); /* (2,4,5,3) */
    wsss_tensor *s = wsss_slice(ctx, p, 2, 1, 5, 2);                      /* (2,4,2,3) */
    wsss_tensor *f = wsss_flip(ctx, s, 1);
    return wsss_reshape(ctx, f, 2, (const int64_t[]){-1, 6}); /* (8,6) */
}

static void test_chain(void) {
    int64_t s[4] = {2, 3, 4, 5};
    wsss_tensor *x = rand_leaf(4, s, -2, 2, 5);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *r = f_chain(ctx, &x, NULL);
    CHECK(shape_is(r, 2, (const int64_t[]){8, 6}), "chain shape");
    /* r flat k = (a,b,c,d) over (2,4,2,3) -> x[a][d][3-b][1+2c] */
    int ok = 1;
    const int64_t cs[4] = {2, 4, 2, 3};
    for (int64_t k = 0; k < 48; k++) {
        int64_t i[4];
        gc_unflat(4, cs, k, i);
        ok &= wsss_tensor_get(r, k) == get_md(x, (const int64_t[]){i[0], i[3], 3 - i[1], 1 + 2 * i[2]});
    }
    CHECK(ok, "chain values");
    /* gradient by hand: dL/dx at the mapped position is w[k], zero elsewhere */
    wsss_tensor *w = rand_tensor(WSSS_F64, 2, r->shape, -1, 1, 77);
    CHECK(wsss_backward_with(ctx, r, w) == WSSS_OK, "chain backward");
    wsss_tensor *want = wsss_tensor_new(WSSS_F64, 4, s);
    for (int64_t k = 0; k < 48; k++) {
        int64_t i[4];
        gc_unflat(4, cs, k, i);
        int64_t xi[4] = {i[0], i[3], 3 - i[1], 1 + 2 * i[2]};
        wsss_tensor_set(want, gc_flat(4, s, xi), wsss_tensor_get(w, k));
    }
    check_close("chain gradient (hand-derived)", x->grad, want, 0, 0);
    wsss_tensor_fill(x->grad, 0);
    wsss_tensor_free(want);
    wsss_tensor_free(w);

    /* a view chain without a copy writes through to the base */
    wsss_tensor *p = wsss_permute(ctx, x, (const int[]){3, 2, 1, 0});
    wsss_tensor *sl = wsss_slice(ctx, p, 0, -2, INT64_MAX, 1);
    wsss_tensor *fl = wsss_flip(ctx, sl, 2);
    CHECK(fl->buf == x->buf, "view chain shares the buffer");
    /* fl[i][j][k][l] = p[3+i][j][2-k][l] = x[l][2-k][j][3+i] */
    wsss_tensor_set(fl, gc_flat(4, fl->shape, (const int64_t[]){1, 2, 0, 1}), 123.0);
    CHECK(get_md(x, (const int64_t[]){1, 2, 2, 4}) == 123.0, "write through a view chain");
    wsss_ctx_free(ctx);
    gradcheck_seeded("permute-slice-flip-reshape", f_chain, NULL, 1, &x, 60);
    wsss_tensor_free(x);
}

/* ---------------- contiguous ---------------- */

static wsss_tensor *f_contig(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    return wsss_contiguous(ctx, wsss_flip(ctx, wsss_permute(ctx, xs[0], (const int[]){1, 0}), 1));
}

static void test_contiguous(void) {
    int64_t s[2] = {3, 4};
    wsss_tensor *x = rand_leaf(2, s, -2, 2, 6);
    wsss_ctx *ctx = wsss_ctx_new();
    CHECK(wsss_contiguous(ctx, x) == x, "contiguous of a contiguous tensor is the tensor itself");
    wsss_tensor *c = f_contig(ctx, &x, NULL);
    CHECK(wsss_tensor_is_contiguous(c) && c->buf != x->buf, "contiguous copy");
    int ok = 1;
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 3; j++)
            ok &= get_md(c, (const int64_t[]){i, j}) == get_md(x, (const int64_t[]){2 - j, i});
    CHECK(ok, "contiguous values");
    wsss_ctx_free(ctx);
    gradcheck_seeded("contiguous", f_contig, NULL, 1, &x, 70);
    wsss_tensor_free(x);
}

/* ---------------- concat ---------------- */

typedef struct concat_arg {
    int n, dim, permute_last; /* permute_last: pass the last input as a non-contiguous view */
} concat_arg;

static wsss_tensor *f_concat(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    const concat_arg *a = arg;
    wsss_tensor *in[16];
    for (int i = 0; i < a->n; i++) in[i] = xs[i];
    if (a->permute_last) in[a->n - 1] = wsss_permute(ctx, xs[a->n - 1], (const int[]){1, 0, 2});
    return wsss_concat(ctx, a->n, in, a->dim);
}

static void test_concat(void) {
    for (int dim = 0; dim < 3; dim++) {
        wsss_tensor *xs[3];
        for (int i = 0; i < 3; i++) {
            int64_t s[3] = {2, 3, 2};
            s[dim] = i + 1;
            xs[i] = rand_leaf(3, s, -2, 2, 80 + i);
        }
        xs[1]->requires_grad = 0; /* only some inputs need a gradient */
        concat_arg a = {3, dim, 0};
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = f_concat(ctx, xs, &a);
        int64_t ws[3] = {2, 3, 2};
        ws[dim] = 6;
        CHECK(shape_is(y, 3, ws), "concat dim %d shape", dim);
        int ok = 1;
        for (int64_t k = 0; k < 36; k++) {
            int64_t i[3];
            gc_unflat(3, ws, k, i);
            int src = i[dim] < 1 ? 0 : i[dim] < 3 ? 1 : 2; /* segment starts 0, 1, 3 */
            i[dim] -= src == 0 ? 0 : src == 1 ? 1 : 3;
            ok &= wsss_tensor_get(y, k) == get_md(xs[src], i);
        }
        CHECK(ok, "concat dim %d values", dim);
        wsss_ctx_free(ctx);
        gradcheck_case(f_concat, &a, 3, xs, 90 + dim, "concat dim %d", dim);
        for (int i = 0; i < 3; i++) wsss_tensor_free(xs[i]);
    }
    /* more inputs than a node holds, a negative dim and a non-contiguous input */
    wsss_tensor *xs[9];
    for (int i = 0; i < 8; i++) xs[i] = rand_leaf(3, (const int64_t[]){2, 1 + i % 2, 3}, -2, 2, 100 + i);
    xs[8] = rand_leaf(3, (const int64_t[]){2, 2, 3}, -2, 2, 108); /* passed permuted (1,0,2) */
    xs[3]->requires_grad = 0;
    concat_arg a = {9, -2, 1};
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *y = f_concat(ctx, xs, &a);
    CHECK(shape_is(y, 3, (const int64_t[]){2, 14, 3}), "concat of 9 inputs shape");
    int ok = 1;
    for (int64_t b = 0; b < 2; b++)
        for (int64_t c = 0; c < 3; c++) {
            int64_t row = 0;
            for (int i = 0; i < 9; i++) {
                int64_t len = i == 8 ? 2 : 1 + i % 2;
                for (int64_t r = 0; r < len; r++, row++) {
                    double want = i == 8 ? get_md(xs[8], (const int64_t[]){r, b, c})
                                         : get_md(xs[i], (const int64_t[]){b, r, c});
                    ok &= get_md(y, (const int64_t[]){b, row, c}) == want;
                }
            }
        }
    CHECK(ok, "concat of 9 inputs values");
    wsss_ctx_free(ctx);
    gradcheck_seeded("concat 9 inputs", f_concat, &a, 9, xs, 110);
    for (int i = 0; i < 9; i++) wsss_tensor_free(xs[i]);

    /* integer data is moved as-is */
    int64_t la[2] = {1, 255}, lb[3] = {7, -3, 1LL << 40};
    wsss_tensor *ia = wsss_tensor_from_data(WSSS_I64, 1, (const int64_t[]){2}, la);
    wsss_tensor *ib = wsss_tensor_from_data(WSSS_I64, 1, (const int64_t[]){3}, lb);
    ctx = wsss_ctx_new();
    wsss_tensor *ic = wsss_concat(ctx, 2, (wsss_tensor *const[]){ia, ib}, 0);
    const int64_t *v = ic->data;
    CHECK(ic->dtype == WSSS_I64 && v[0] == 1 && v[1] == 255 && v[2] == 7 && v[3] == -3 &&
              v[4] == (1LL << 40), "concat of I64");
    CHECK(ic->grad_fn == NULL, "no node without inputs that need a gradient");
    wsss_ctx_free(ctx);
    wsss_tensor_free(ia);
    wsss_tensor_free(ib);
}

/* ---------------- pad2d ---------------- */

typedef struct pad_arg {
    int64_t pads[4];
    double value;
} pad_arg;

static wsss_tensor *f_pad(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    const pad_arg *a = arg;
    return wsss_pad2d(ctx, xs[0], a->pads, a->value);
}

static void test_pad(void) {
    int64_t s[4] = {2, 2, 4, 5};
    wsss_tensor *x = rand_leaf(4, s, -2, 2, 7);
    const pad_arg cases[] = {
        {{1, 2, 3, 0}, 0.0},   {{0, 0, 0, 0}, 0.0},   {{-1, -2, -1, 0}, 0.0},
        {{2, -3, -2, 1}, 1.5}, {{-5, 1, 0, 0}, -2.0}, {{0, 0, -4, 2}, 0.0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const pad_arg *a = &cases[c];
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = f_pad(ctx, &x, a);
        const int64_t oh = 4 + a->pads[2] + a->pads[3], ow = 5 + a->pads[0] + a->pads[1];
        CHECK(shape_is(y, 4, (const int64_t[]){2, 2, oh, ow}), "pad case %zu shape", c);
        int ok = 1;
        for (int64_t k = 0; k < wsss_tensor_numel(y); k++) {
            int64_t i[4];
            gc_unflat(4, y->shape, k, i);
            int64_t sy = i[2] - a->pads[2], sx = i[3] - a->pads[0];
            double want = (sy >= 0 && sy < 4 && sx >= 0 && sx < 5)
                              ? get_md(x, (const int64_t[]){i[0], i[1], sy, sx})
                              : a->value;
            ok &= wsss_tensor_get(y, k) == want;
        }
        CHECK(ok, "pad case %zu values", c);
        wsss_ctx_free(ctx);
        gradcheck_case(f_pad, a, 1, &x, 120 + c, "pad2d case %zu", c);
    }
    wsss_tensor_free(x);
}

/* ---------------- index_select, gather ---------------- */

typedef struct index_arg {
    int dim;
    const wsss_tensor *index;
} index_arg;

static wsss_tensor *f_index_select(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    const index_arg *a = arg;
    return wsss_index_select(ctx, xs[0], a->dim, a->index);
}

static wsss_tensor *f_gather(wsss_ctx *ctx, wsss_tensor **xs, const void *arg) {
    const index_arg *a = arg;
    return wsss_gather(ctx, xs[0], a->dim, a->index);
}

static void test_index_select(void) {
    int64_t s[3] = {3, 4, 5};
    wsss_tensor *x = rand_leaf(3, s, -2, 2, 8);
    const int64_t iv[6] = {2, 0, 2, 2, 1, 0}; /* repeats accumulate in backward */
    wsss_tensor *idx = wsss_tensor_from_data(WSSS_I64, 1, (const int64_t[]){6}, iv);
    for (int dim = 0; dim < 3; dim++) {
        index_arg a = {dim, idx};
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = f_index_select(ctx, &x, &a);
        int64_t ws[3] = {3, 4, 5};
        ws[dim] = 6;
        CHECK(shape_is(y, 3, ws), "index_select dim %d shape", dim);
        int ok = 1;
        for (int64_t k = 0; k < wsss_tensor_numel(y); k++) {
            int64_t i[3];
            gc_unflat(3, ws, k, i);
            i[dim] = iv[i[dim]];
            ok &= wsss_tensor_get(y, k) == get_md(x, i);
        }
        CHECK(ok, "index_select dim %d values", dim);
        wsss_ctx_free(ctx);
        gradcheck_case(f_index_select, &a, 1, &x, 130 + dim, "index_select dim %d", dim);
    }
    /* hand-derived: selecting row 2 three times gives it three times the upstream gradient */
    wsss_ctx *ctx = wsss_ctx_new();
    index_arg a = {0, idx};
    wsss_tensor *y = f_index_select(ctx, &x, &a);
    wsss_tensor *ones = wsss_tensor_new(WSSS_F64, 3, y->shape);
    wsss_tensor_fill(ones, 1.0);
    wsss_backward_with(ctx, y, ones);
    CHECK(wsss_tensor_get(x->grad, 2 * 20 + 7) == 3.0 && wsss_tensor_get(x->grad, 0) == 2.0 &&
              wsss_tensor_get(x->grad, 20) == 1.0, "index_select repeated-index gradient counts");
    wsss_tensor_free(ones);
    wsss_ctx_free(ctx);
    wsss_tensor_free(idx);
    wsss_tensor_free(x);
}

static void test_gather(void) {
    int64_t s[3] = {3, 4, 5};
    wsss_tensor *x = rand_leaf(3, s, -2, 2, 9);
    for (int dim = 0; dim < 3; dim++) {
        /* index smaller than x in the other dims, values with repeats */
        int64_t is[3] = {2, 3, 4};
        is[dim] = 6;
        wsss_tensor *idx = wsss_tensor_new(WSSS_I64, 3, is);
        int64_t *iv = idx->data;
        for (int64_t k = 0; k < wsss_tensor_numel(idx); k++) iv[k] = (k * 7 + 3) % s[dim];
        index_arg a = {dim, idx};
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *y = f_gather(ctx, &x, &a);
        CHECK(shape_is(y, 3, is), "gather dim %d shape", dim);
        int ok = 1;
        for (int64_t k = 0; k < wsss_tensor_numel(y); k++) {
            int64_t i[3];
            gc_unflat(3, is, k, i);
            i[dim] = iv[k];
            ok &= wsss_tensor_get(y, k) == get_md(x, i);
        }
        CHECK(ok, "gather dim %d values", dim);
        wsss_ctx_free(ctx);
        gradcheck_case(f_gather, &a, 1, &x, 140 + dim, "gather dim %d", dim);
        wsss_tensor_free(idx);
    }
    /* an index built in the context and a non-contiguous input */
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *xt = wsss_permute(ctx, x, (const int[]){2, 1, 0}); /* (5,4,3) */
    wsss_tensor *idx = wsss_ctx_tensor(ctx, WSSS_I64, 3, (const int64_t[]){5, 4, 1});
    for (int64_t k = 0; k < 20; k++) ((int64_t *)idx->data)[k] = k % 3;
    wsss_tensor *y = wsss_gather(ctx, xt, -1, idx);
    int ok = 1;
    for (int64_t k = 0; k < 20; k++)
        ok &= wsss_tensor_get(y, k) == get_md(x, (const int64_t[]){k % 3, k % 4, k / 4});
    CHECK(ok, "gather of a permuted view along dim -1");
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
}

/* ---------------- grad mode, F32, persistent views ---------------- */

static void test_misc(void) {
    int64_t s[2] = {4, 6};
    wsss_tensor *x = rand_leaf(2, s, -2, 2, 10);
    wsss_ctx *ctx = test_ctx_no_grad();
    wsss_tensor *v = wsss_slice(ctx, wsss_permute(ctx, x, (const int[]){1, 0}), 0, 1, 4, 1);
    CHECK(v->grad_fn == NULL && !v->requires_grad, "no node with grad mode off");
    wsss_tensor *c = wsss_concat(ctx, 2, (wsss_tensor *const[]){x, x}, 1);
    CHECK(c->grad_fn == NULL, "no concat node with grad mode off");
    wsss_ctx_free(ctx);

    /* F32: same data movement, F32 gradients */
    wsss_tensor *xf = wsss_tensor_to_dtype(x, WSSS_F32);
    xf->requires_grad = 1;
    ctx = wsss_ctx_new();
    wsss_tensor *pf = wsss_pad2d(ctx, wsss_reshape(ctx, xf, 4, (const int64_t[]){1, 1, 4, 6}),
                                 (const int64_t[]){1, 1, -1, 2}, 0.25);
    wsss_tensor *w = rand_tensor(WSSS_F32, 4, pf->shape, -1, 1, 5);
    wsss_backward_with(ctx, pf, w);
    wsss_tensor *want = wsss_tensor_new(WSSS_F32, 2, s); /* grad[y][x] = w[y-1+... ] by hand */
    for (int64_t y = 1; y < 4; y++)
        for (int64_t xx = 0; xx < 6; xx++)
            wsss_tensor_set(want, y * 6 + xx, wsss_tensor_get(w, (y - 1) * 8 + xx + 1));
    check_close("F32 reshape+pad gradient", xf->grad, want, 0, 0);
    wsss_tensor_free(want);
    wsss_tensor_free(w);
    wsss_ctx_free(ctx);
    wsss_tensor_free(xf);

    /* a view made without a context is a persistent tensor sharing the buffer */
    wsss_tensor *pv = wsss_flip(NULL, x, 0);
    CHECK(pv->ctx == NULL && pv->buf == x->buf && pv->buf->refcount == 2, "persistent view");
    wsss_tensor_free(pv);
    CHECK(x->buf->refcount == 1, "freeing a persistent view releases its buffer reference");
    wsss_tensor_free(x);
}

int main(void) {
    test_reshape();
    test_permute();
    test_slice();
    test_flip();
    test_chain();
    test_contiguous();
    test_concat();
    test_pad();
    test_index_select();
    test_gather();
    test_misc();
    return test_summary("test_shape");
}
