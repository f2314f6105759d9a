/* Linear layer and (batched) matrix product with PyTorch semantics, and their backward passes,
 * which are themselves matrix products with the transposes chosen so no operand is copied. */
#include <stdio.h>

#include "backend/dnnl/matmul.h"
#include "backend/ref/matmul.h"
#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

/* c = op(a) op(b) (+ bias) on the backend for dt: oneDNN for F32 unless forced to reference. */
static void mm(wsss_dtype dt, const wsss_matmul_geom *g, const void *a, const void *b,
               const void *bias, void *c) {
    if (g->batch * g->m * g->n == 0) return;
    if (dt == WSSS_F32 && wsss_get_backend() == WSSS_BACKEND_DNNL && g->k > 0)
        wsss_dnnl_matmul(g, a, b, bias, c);
    else if (dt == WSSS_F64)
        wsss_ref_matmul_f64(g, a, b, bias, c);
    else
        wsss_ref_matmul_f32(g, a, b, bias, c);
}

static void shape_fail(const char *op, const char *what, const wsss_tensor *a, const wsss_tensor *b,
                       const wsss_tensor *c) {
    char sa[64], sb[64], sc[64] = "none";
    if (c) wsss_shape_str(c, sc, sizeof sc);
    fprintf(stderr, "%s: %s (%s, %s, %s)\n", op, what, wsss_shape_str(a, sa, sizeof sa),
            wsss_shape_str(b, sb, sizeof sb), sc);
    WSSS_ASSERT(0, what);
}

/* ---------------- matmul ---------------- */

typedef struct matmul_attrs {
    wsss_matmul_geom g; /* forward geometry */
} matmul_attrs;

/* inputs: a, b; saved: contiguous a, contiguous b. With C = op(A) op(B) and dC given:
 *   dA = dC op(B)^T (A stored m x k)  or  op(B) dC^T (A stored k x m),
 *   dB = op(A)^T dC (B stored k x n)  or  dC^T op(A) (B stored n x k). */
static void matmul_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    const wsss_matmul_geom *f = &((const matmul_attrs *)node->attrs)->g;
    wsss_tensor *a = node->inputs[0], *b = node->inputs[1];
    const wsss_tensor *ac = node->saved[0], *bc = node->saved[1];
    const wsss_dtype dt = a->dtype;
    if (wsss_node_input_needs_grad(node, 0)) {
        wsss_tensor *da = wsss_ctx_tensor(ctx, dt, a->ndim, a->shape);
        wsss_matmul_geom g = {f->batch, f->m, f->k, f->n, 0, !f->trans_b};
        if (!f->trans_a) {
            mm(dt, &g, gy->data, bc->data, NULL, da->data);
        } else {
            wsss_matmul_geom h = {f->batch, f->k, f->m, f->n, f->trans_b, 1};
            mm(dt, &h, bc->data, gy->data, NULL, da->data);
        }
        wsss_grad_accumulate_release(ctx, a, da);
    }
    if (wsss_node_input_needs_grad(node, 1)) {
        wsss_tensor *db = wsss_ctx_tensor(ctx, dt, b->ndim, b->shape);
        if (!f->trans_b) {
            wsss_matmul_geom g = {f->batch, f->k, f->n, f->m, !f->trans_a, 0};
            mm(dt, &g, ac->data, gy->data, NULL, db->data);
        } else {
            wsss_matmul_geom g = {f->batch, f->n, f->k, f->m, 1, f->trans_a};
            mm(dt, &g, gy->data, ac->data, NULL, db->data);
        }
        wsss_grad_accumulate_release(ctx, b, db);
    }
}

wsss_tensor *wsss_matmul(wsss_ctx *ctx, wsss_tensor *a, wsss_tensor *b, int trans_a, int trans_b) {
    WSSS_ASSERT(ctx != NULL, "matmul needs a context");
    if (a->dtype != b->dtype || (a->dtype != WSSS_F32 && a->dtype != WSSS_F64))
        shape_fail("matmul", "operands must both be F32 or both F64", a, b, NULL);
    if (a->ndim != b->ndim || (a->ndim != 2 && a->ndim != 3))
        shape_fail("matmul", "operands must both be 2-D or both 3-D", a, b, NULL);
    const int o = a->ndim - 2;
    wsss_matmul_geom g;
    g.batch = a->ndim == 3 ? a->shape[0] : 1;
    if (a->ndim == 3 && b->shape[0] != g.batch) shape_fail("matmul", "batch sizes differ", a, b, NULL);
    g.trans_a = trans_a != 0;
    g.trans_b = trans_b != 0;
    g.m = a->shape[o + g.trans_a];
    g.k = a->shape[o + !g.trans_a];
    g.n = b->shape[o + !g.trans_b];
    if (b->shape[o + g.trans_b] != g.k)
        shape_fail("matmul", "inner dimensions differ (after the requested transposes)", a, b, NULL);
    const wsss_tensor *ac = wsss_ctx_contiguous(ctx, a), *bc = wsss_ctx_contiguous(ctx, b);
    int64_t cs[3] = {g.batch, g.m, g.n};
    wsss_tensor *c = wsss_ctx_tensor(ctx, a->dtype, a->ndim, cs + (a->ndim == 2));
    mm(a->dtype, &g, ac->data, bc->data, NULL, c->data);
    wsss_tensor *in[2] = {a, b};
    wsss_node *n = wsss_record(ctx, "matmul", matmul_backward, c, 2, in, sizeof(matmul_attrs));
    if (n) {
        ((matmul_attrs *)n->attrs)->g = g;
        wsss_node_save(n, (wsss_tensor *)ac);
        wsss_node_save(n, (wsss_tensor *)bc);
    }
    return c;
}

/* ---------------- linear ---------------- */

typedef struct linear_attrs {
    int64_t rows, in, out;
} linear_attrs;

/* inputs: x, w, b; saved: contiguous x, contiguous w. y = x w^T + b over rows of x:
 *   dx = dy w,  dw = dy^T x,  db = column sums of dy. */
static void linear_backward(wsss_ctx *ctx, wsss_node *node, const wsss_tensor *gy) {
    const linear_attrs *l = node->attrs;
    wsss_tensor *x = node->inputs[0], *w = node->inputs[1], *b = node->inputs[2];
    const wsss_tensor *xc = node->saved[0], *wc = node->saved[1];
    const wsss_dtype dt = x->dtype;
    if (wsss_node_input_needs_grad(node, 0)) {
        wsss_tensor *dx = wsss_ctx_tensor(ctx, dt, x->ndim, x->shape);
        wsss_matmul_geom g = {1, l->rows, l->in, l->out, 0, 0};
        mm(dt, &g, gy->data, wc->data, NULL, dx->data);
        wsss_grad_accumulate_release(ctx, x, dx);
    }
    if (wsss_node_input_needs_grad(node, 1)) {
        wsss_tensor *dw = wsss_ctx_tensor(ctx, dt, 2, w->shape);
        wsss_matmul_geom g = {1, l->out, l->in, l->rows, 1, 0};
        mm(dt, &g, gy->data, xc->data, NULL, dw->data);
        wsss_grad_accumulate_release(ctx, w, dw);
    }
    if (wsss_node_input_needs_grad(node, 2)) {
        wsss_tensor *db = wsss_ctx_tensor(ctx, dt, 1, b->shape);
        if (dt == WSSS_F64) wsss_ref_sum_rows_f64(l->rows, l->out, wsss_f64(gy), wsss_f64(db));
        else wsss_ref_sum_rows_f32(l->rows, l->out, wsss_f32(gy), wsss_f32(db));
        wsss_grad_accumulate_release(ctx, b, db);
    }
}

/* Like torch.nn.functional.linear: x may have any leading dims (..., in). */
wsss_tensor *wsss_linear(wsss_ctx *ctx, wsss_tensor *x, wsss_tensor *w, wsss_tensor *b) {
    WSSS_ASSERT(ctx != NULL, "linear needs a context");
    if (x->dtype != w->dtype || (b && b->dtype != x->dtype) ||
        (x->dtype != WSSS_F32 && x->dtype != WSSS_F64))
        shape_fail("linear", "input, weight and bias must share one float dtype", x, w, b);
    if (x->ndim < 1 || w->ndim != 2 || x->shape[x->ndim - 1] != w->shape[1])
        shape_fail("linear", "need input (..., in) and weight (out, in)", x, w, b);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        shape_fail("linear", "bias must be 1-D with one value per output feature", x, w, b);
    linear_attrs l;
    l.in = w->shape[1];
    l.out = w->shape[0];
    l.rows = l.in ? wsss_tensor_numel(x) / l.in : 0;
    const wsss_tensor *xc = wsss_ctx_contiguous(ctx, x), *wc = wsss_ctx_contiguous(ctx, w);
    const wsss_tensor *bc = b ? wsss_ctx_contiguous(ctx, b) : NULL;
    int64_t ys[WSSS_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) ys[i] = x->shape[i];
    ys[x->ndim - 1] = l.out;
    wsss_tensor *y = wsss_ctx_tensor(ctx, x->dtype, x->ndim, ys);
    wsss_matmul_geom g = {1, l.rows, l.out, l.in, 0, 1};
    mm(x->dtype, &g, xc->data, wc->data, bc ? bc->data : NULL, y->data);
    wsss_tensor *in[3] = {x, w, b};
    wsss_node *n = wsss_record(ctx, "linear", linear_backward, y, 3, in, sizeof(linear_attrs));
    if (n) {
        *(linear_attrs *)n->attrs = l;
        wsss_node_save(n, (wsss_tensor *)xc);
        wsss_node_save(n, (wsss_tensor *)wc);
    }
    return y;
}
