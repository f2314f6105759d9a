/* oneDNN convolution: forward, backward data, backward weights (+bias), oneDNN 2.x op
 * descriptors. Correctness first: every call reorders plain tensors to the primitive's chosen
 * layouts and back (a later step keeps activations blocked and caches reordered weights). */
#include "backend/dnnl/conv.h"

#include "backend/dnnl/dnnl_common.h"
#include "backend/dnnl/space_to_batch.h"
#include "backend/dnnl/tensor_md.h"
#include "core/kernel.h"
#include "wsss/error.h"

#include <pthread.h>
#include <string.h>

typedef struct conv_shapes {
    int64_t src[4], wei[5], bias[1], dst[4];
    int wei_ndims;
    dnnl_dims_t strides, dilates, pad_l, pad_r;
} conv_shapes;

static void conv_shapes_init(conv_shapes *s, const wsss_conv_geom *g) {
    const int64_t G = g->groups;
    int64_t src[4] = {g->n, g->cin, g->h, g->w}, dst[4] = {g->n, g->cout, g->oh, g->ow};
    for (int i = 0; i < 4; i++) {
        s->src[i] = src[i];
        s->dst[i] = dst[i];
    }
    if (G > 1) {
        int64_t wei[5] = {G, g->cout / G, g->cin / G, g->kh, g->kw};
        for (int i = 0; i < 5; i++) s->wei[i] = wei[i];
        s->wei_ndims = 5;
    } else {
        int64_t wei[4] = {g->cout, g->cin, g->kh, g->kw};
        for (int i = 0; i < 4; i++) s->wei[i] = wei[i];
        s->wei_ndims = 4;
    }
    s->bias[0] = g->cout;
    for (int i = 0; i < DNNL_MAX_NDIMS; i++)
        s->strides[i] = s->dilates[i] = s->pad_l[i] = s->pad_r[i] = 0;
    s->strides[0] = g->sh;
    s->strides[1] = g->sw;
    /* oneDNN counts dilation as the gap between taps: PyTorch's dilation - 1 */
    s->dilates[0] = g->dh - 1;
    s->dilates[1] = g->dw - 1;
    /* oneDNN checks (in - ext + pl + pr) / s + 1 == out with integer division, exactly
     * PyTorch's floor formula when pr == pl */
    s->pad_l[0] = s->pad_r[0] = g->ph;
    s->pad_l[1] = s->pad_r[1] = g->pw;
}

/* The plain (PyTorch) layouts of the four tensors. */
static void plain_mds(const conv_shapes *s, dnnl_memory_desc_t *src, dnnl_memory_desc_t *wei,
                      dnnl_memory_desc_t *bias, dnnl_memory_desc_t *dst) {
    if (src) wsss_dnnl_md_tag(src, 4, s->src, dnnl_nchw);
    if (wei) wsss_dnnl_md_tag(wei, s->wei_ndims, s->wei, s->wei_ndims == 5 ? dnnl_goihw : dnnl_oihw);
    if (bias) wsss_dnnl_md_tag(bias, 1, s->bias, dnnl_a);
    if (dst) wsss_dnnl_md_tag(dst, 4, s->dst, dnnl_nchw);
}

/* The same descriptors with format_tag any: the primitive chooses its layouts. */
static void any_mds(const conv_shapes *s, dnnl_memory_desc_t *src, dnnl_memory_desc_t *wei, dnnl_memory_desc_t *bias,
                    dnnl_memory_desc_t *dst) {
    wsss_dnnl_md_any(src, 4, s->src);
    wsss_dnnl_md_any(wei, s->wei_ndims, s->wei);
    wsss_dnnl_md_any(bias, 1, s->bias);
    wsss_dnnl_md_any(dst, 4, s->dst);
}

/* What selects a convolution primitive besides its geometry. */
typedef struct conv_pd_arg {
    wsss_conv_geom g;
    int post;      /* forward only: WSSS_DNNL_POST_* post-ops */
    int wino;      /* Winograd F(4x4, 3x3) instead of direct */
    int inference; /* forward_inference primitive (no backward will follow) */
} conv_pd_arg;

static conv_pd_arg pd_arg(const wsss_conv_geom *g, int post, int wino) {
    conv_pd_arg a;
    memset(&a, 0, sizeof a);
    a.g = *g;
    a.post = post;
    a.wino = wino;
    return a;
}

static void conv_key(wsss_dnnl_key *k, const char *op, const conv_pd_arg *a) {
    const wsss_conv_geom *g = &a->g;
    wsss_dnnl_key_init(k, op);
    const int64_t v[] = {g->n, g->cin, g->h, g->w, g->cout, g->kh, g->kw, g->oh, g->ow, g->sh, g->sw,
                         g->ph, g->pw, g->dh, g->dw, g->groups, g->has_bias, a->post, a->wino, a->inference};
    wsss_dnnl_key_i64s(k, (int)(sizeof v / sizeof v[0]), v);
}

static dnnl_alg_kind_t conv_alg(const conv_pd_arg *a) {
    /* direct by default: the arithmetic of PyTorch's CPU convolution and of the reference */
    return a->wino ? dnnl_convolution_winograd : dnnl_convolution_direct;
}

/* Attributes of the forwards with post-ops, indexed by the WSSS_DNNL_POST_* mask: the shared
 * scratchpad plus a sum (the residual already in the output, scale 1) and/or a ReLU, in that
 * order. */
static pthread_once_t g_post_once = PTHREAD_ONCE_INIT;
static dnnl_primitive_attr_t g_post_attr[4];

static void post_attr_init(void) {
    for (int mask = 1; mask < 4; mask++) {
        DNNL_CHECK(dnnl_primitive_attr_create(&g_post_attr[mask]));
        DNNL_CHECK(dnnl_primitive_attr_set_scratchpad_mode(g_post_attr[mask], dnnl_scratchpad_mode_user));
        dnnl_post_ops_t po;
        DNNL_CHECK(dnnl_post_ops_create(&po));
        if (mask & WSSS_DNNL_POST_SUM) DNNL_CHECK(dnnl_post_ops_append_sum(po, 1.f));
        if (mask & WSSS_DNNL_POST_RELU) DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f));
        DNNL_CHECK(dnnl_primitive_attr_set_post_ops(g_post_attr[mask], po));
        DNNL_CHECK(dnnl_post_ops_destroy(po));
    }
}

static int have_avx512(void) {
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
}

static dnnl_status_t make_fwd_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const conv_pd_arg *a = arg;
    const wsss_conv_geom *g = &a->g;
    conv_shapes s;
    conv_shapes_init(&s, g);
    dnnl_memory_desc_t src, wei, bias, dst;
    any_mds(&s, &src, &wei, &bias, &dst);
    /* Left to choose, inference primitives take channels-last brgemm kernels, which ran
     * ResNet-50-OS8 inference 6% slower on AVX-512 than the nChw16c direct kernels training uses.
     * Without AVX-512 oneDNN has no fast kernel for nChw16c (it falls back to ref:any, ~100x
     * slower), so there the choice stays oneDNN's. */
    const int force16 = a->inference && have_avx512();
    if (force16 && g->cin % 16 == 0) wsss_dnnl_md_tag(&src, 4, s.src, dnnl_aBcd16b);
    if (force16 && g->cout % 16 == 0) wsss_dnnl_md_tag(&dst, 4, s.dst, dnnl_aBcd16b);
    dnnl_convolution_desc_t d;
    dnnl_status_t st = dnnl_dilated_convolution_forward_desc_init(
        &d, a->inference ? dnnl_forward_inference : dnnl_forward_training, conv_alg(a), &src, &wei, g->has_bias ? &bias : NULL, &dst,
        s.strides, s.dilates, s.pad_l, s.pad_r);
    if (st != dnnl_success) return st;
    const_dnnl_primitive_attr_t attr = wsss_dnnl_attr();
    if (a->post) {
        pthread_once(&g_post_once, post_attr_init);
        attr = g_post_attr[a->post];
    }
    return dnnl_primitive_desc_create(pd, &d, attr, wsss_dnnl_engine(), NULL);
}

/* The cached primitive, or NULL (status in *st) when oneDNN cannot make it. */
static const wsss_dnnl_prim *try_cached(const char *op, const conv_pd_arg *a, wsss_dnnl_make_pd_fn make,
                                        dnnl_status_t *st) {
    wsss_dnnl_key k;
    conv_key(&k, op, a);
    return wsss_dnnl_cache_get(&k, make, a, st);
}

static const wsss_dnnl_prim *cached(const char *op, const conv_pd_arg *a, wsss_dnnl_make_pd_fn make) {
    dnnl_status_t st;
    const wsss_dnnl_prim *p = try_cached(op, a, make, &st);
    if (!p) wsss_dnnl_fail(op, st, __FILE__, __LINE__);
    return p;
}

static const wsss_dnnl_prim *fwd_prim_arg(const conv_pd_arg *a) {
    return cached("conv2d_fwd", a, make_fwd_pd);
}

static const wsss_dnnl_prim *fwd_prim(const wsss_conv_geom *g) {
    conv_pd_arg a = pd_arg(g, 0, 0);
    return fwd_prim_arg(&a);
}

/* The hint backward descriptors need: the forward primitive descriptor of the same geometry and
 * algorithm, without post-op. It stays alive in the cache (it was just used, so it is the most
 * recent entry) until the backward primitive has been created. */
static const wsss_dnnl_prim *fwd_hint(const conv_pd_arg *a, dnnl_status_t *st) {
    conv_pd_arg fa = pd_arg(&a->g, 0, a->wino);
    return try_cached("conv2d_fwd", &fa, make_fwd_pd, st);
}

/* Both backward directions: the forward hint, then the op descriptor over layouts left to oneDNN. */
static dnnl_status_t make_bwd_pd(dnnl_primitive_desc_t *pd, const conv_pd_arg *a, int weights) {
    dnnl_status_t st;
    const wsss_dnnl_prim *hint = fwd_hint(a, &st);
    if (!hint) return st;
    conv_shapes s;
    conv_shapes_init(&s, &a->g);
    dnnl_memory_desc_t src, wei, bias, dst;
    any_mds(&s, &src, &wei, &bias, &dst);
    dnnl_convolution_desc_t d;
    if (weights)
        st = dnnl_dilated_convolution_backward_weights_desc_init(&d, conv_alg(a), &src, &wei,
                                                                 a->g.has_bias ? &bias : NULL, &dst, s.strides,
                                                                 s.dilates, s.pad_l, s.pad_r);
    else
        st = dnnl_dilated_convolution_backward_data_desc_init(&d, conv_alg(a), &src, &wei, &dst, s.strides,
                                                              s.dilates, s.pad_l, s.pad_r);
    return wsss_dnnl_pd_create(st, pd, &d, hint);
}

static dnnl_status_t make_bwd_data_pd(dnnl_primitive_desc_t *pd, const void *arg) { return make_bwd_pd(pd, arg, 0); }
static dnnl_status_t make_bwd_weights_pd(dnnl_primitive_desc_t *pd, const void *arg) { return make_bwd_pd(pd, arg, 1); }

/* ---- Winograd eligibility: 3x3, stride 1, no dilation, no groups, channels in multiples of 16;
 * geometries oneDNN turned down
 * are remembered so their primitive descriptors are not attempted again ---- */
#define WINO_NO_CAP 512
typedef struct wino_no {
    wsss_conv_geom g;
    const char *op; /* a string literal */
} wino_no;
static pthread_mutex_t g_wino_mu = PTHREAD_MUTEX_INITIALIZER;
static wino_no g_wino_no[WINO_NO_CAP];
static int g_n_wino_no;

static int wino_possible(const char *op, const wsss_conv_geom *g) {
    if (g->kh != 3 || g->kw != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1 || g->groups != 1)
        return 0;
    /* oneDNN 2.6's Winograd backward-weights kernel crashes on channel counts it has to pad */
    if (g->cin % 16 || g->cout % 16) return 0;
    /* its 4x4 output tiles pay from 4x4 maps on (0.44-0.59x the direct time at 4x4 to 16x16,
     * batch 16); at 2x2 it took 1.9x, and whole inference runs on 64-px images 3x */
    if (g->oh < 4 || g->ow < 4) return 0;
    int ok = 1;
    pthread_mutex_lock(&g_wino_mu);
    for (int i = 0; i < g_n_wino_no && ok; i++)
        if (strcmp(g_wino_no[i].op, op) == 0 && memcmp(&g_wino_no[i].g, g, sizeof *g) == 0) ok = 0;
    pthread_mutex_unlock(&g_wino_mu);
    return ok;
}

static void wino_refused(const char *op, const wsss_conv_geom *g) {
    pthread_mutex_lock(&g_wino_mu);
    if (g_n_wino_no < WINO_NO_CAP) {
        g_wino_no[g_n_wino_no].g = *g;
        g_wino_no[g_n_wino_no].op = op;
        g_n_wino_no++;
    }
    pthread_mutex_unlock(&g_wino_mu);
}

/* Winograd transforms whole layers into its scratchpad; where that would exceed this (deep
 * layers with many channels, e.g. 512x512 at 32x32: 170 MB), direct convolution is used, so the
 * shared scratchpad, and the process's memory, stay small. Inference, which keeps no activations
 * for a backward pass, may spend more: ResNet-50-OS8's 512-channel dilated layers at 448 px need
 * 73-82 MB on their space-to-batch maps. */
#define WINO_MAX_SCRATCH ((size_t)32 << 20)
#define WINO_MAX_SCRATCH_INFERENCE ((size_t)96 << 20)

/* The Winograd primitive for op, or NULL where oneDNN has none for g (remembered) or it would need
 * more scratchpad than WINO_MAX_SCRATCH(_INFERENCE). */
static const wsss_dnnl_prim *wino_prim(const char *op, const wsss_conv_geom *g, int post, int inference,
                                       wsss_dnnl_make_pd_fn make) {
    if (!wino_possible(op, g)) return NULL;
    conv_pd_arg a = pd_arg(g, post, 1);
    a.inference = inference;
    dnnl_status_t st;
    const wsss_dnnl_prim *p = try_cached(op, &a, make, &st);
    if (p && p->scratchpad_bytes <= (inference ? WINO_MAX_SCRATCH_INFERENCE : WINO_MAX_SCRATCH)) return p;
    wino_refused(op, g);
    return NULL;
}

/* Primitive for op with Winograd when asked and available (else direct). */
static const wsss_dnnl_prim *algo_prim(const char *op, const wsss_conv_geom *g, int post, int wino,
                                       wsss_dnnl_make_pd_fn make) {
    const wsss_dnnl_prim *p = wino ? wino_prim(op, g, post, 0, make) : NULL;
    if (p) return p;
    conv_pd_arg a = pd_arg(g, post, 0);
    return cached(op, &a, make);
}

void wsss_dnnl_conv2d_fwd(const wsss_conv_geom *g, const float *x, const float *w, const float *b,
                          float *y) {
    WSSS_ASSERT(!g->has_bias || b != NULL, "conv2d: has_bias without a bias buffer");
    const wsss_dnnl_prim *p = fwd_prim(g);
    conv_shapes s;
    conv_shapes_init(&s, g);
    dnnl_memory_desc_t src, wei, bias, dst;
    plain_mds(&s, &src, &wei, &bias, &dst);
    wsss_dnnl_io io_x, io_w, io_b = {0}, io_y;
    wsss_dnnl_io_input(&io_x, wsss_dnnl_arg_md(p, DNNL_ARG_SRC), &src, x);
    wsss_dnnl_io_input(&io_w, wsss_dnnl_arg_md(p, DNNL_ARG_WEIGHTS), &wei, w);
    if (g->has_bias) wsss_dnnl_io_input(&io_b, wsss_dnnl_arg_md(p, DNNL_ARG_BIAS), &bias, b);
    wsss_dnnl_io_output(&io_y, wsss_dnnl_arg_md(p, DNNL_ARG_DST), &dst, y);
    wsss_dnnl_args a = {0};
    wsss_dnnl_args_add(&a, DNNL_ARG_SRC, io_x.mem);
    wsss_dnnl_args_add(&a, DNNL_ARG_WEIGHTS, io_w.mem);
    if (g->has_bias) wsss_dnnl_args_add(&a, DNNL_ARG_BIAS, io_b.mem);
    wsss_dnnl_args_add(&a, DNNL_ARG_DST, io_y.mem);
    wsss_dnnl_execute(p, &a);
    wsss_dnnl_io_finish(&io_y);
    wsss_dnnl_io_finish(&io_x);
    wsss_dnnl_io_finish(&io_w);
    if (g->has_bias) wsss_dnnl_io_finish(&io_b);
}

void wsss_dnnl_conv2d_bwd_data(const wsss_conv_geom *g, const float *dy, const float *w, float *dx) {
    conv_pd_arg pa = pd_arg(g, 0, 0);
    const wsss_dnnl_prim *p = cached("conv2d_bwd_data", &pa, make_bwd_data_pd);
    conv_shapes s;
    conv_shapes_init(&s, g);
    dnnl_memory_desc_t src, wei, dst;
    plain_mds(&s, &src, &wei, NULL, &dst);
    wsss_dnnl_io io_dy, io_w, io_dx;
    wsss_dnnl_io_input(&io_dy, wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_DST), &dst, dy);
    wsss_dnnl_io_input(&io_w, wsss_dnnl_arg_md(p, DNNL_ARG_WEIGHTS), &wei, w);
    wsss_dnnl_io_output(&io_dx, wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_SRC), &src, dx);
    wsss_dnnl_args a = {0};
    wsss_dnnl_args_add(&a, DNNL_ARG_DIFF_DST, io_dy.mem);
    wsss_dnnl_args_add(&a, DNNL_ARG_WEIGHTS, io_w.mem);
    wsss_dnnl_args_add(&a, DNNL_ARG_DIFF_SRC, io_dx.mem);
    wsss_dnnl_execute(p, &a);
    wsss_dnnl_io_finish(&io_dx);
    wsss_dnnl_io_finish(&io_dy);
    wsss_dnnl_io_finish(&io_w);
}

void wsss_dnnl_conv2d_bwd_weights(const wsss_conv_geom *g, const float *x, const float *dy,
                                  float *dw, float *db) {
    WSSS_ASSERT(!g->has_bias || db != NULL, "conv2d: has_bias without a bias gradient buffer");
    conv_pd_arg pa = pd_arg(g, 0, 0);
    const wsss_dnnl_prim *p = cached("conv2d_bwd_weights", &pa, make_bwd_weights_pd);
    conv_shapes s;
    conv_shapes_init(&s, g);
    dnnl_memory_desc_t src, wei, bias, dst;
    plain_mds(&s, &src, &wei, &bias, &dst);
    wsss_dnnl_io io_x, io_dy, io_dw, io_db = {0};
    wsss_dnnl_io_input(&io_x, wsss_dnnl_arg_md(p, DNNL_ARG_SRC), &src, x);
    wsss_dnnl_io_input(&io_dy, wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_DST), &dst, dy);
    wsss_dnnl_io_output(&io_dw, wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_WEIGHTS), &wei, dw);
    if (g->has_bias)
        wsss_dnnl_io_output(&io_db, wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_BIAS), &bias, db);
    wsss_dnnl_args a = {0};
    wsss_dnnl_args_add(&a, DNNL_ARG_SRC, io_x.mem);
    wsss_dnnl_args_add(&a, DNNL_ARG_DIFF_DST, io_dy.mem);
    wsss_dnnl_args_add(&a, DNNL_ARG_DIFF_WEIGHTS, io_dw.mem);
    if (g->has_bias) wsss_dnnl_args_add(&a, DNNL_ARG_DIFF_BIAS, io_db.mem);
    wsss_dnnl_execute(p, &a);
    wsss_dnnl_io_finish(&io_dw);
    if (g->has_bias) wsss_dnnl_io_finish(&io_db);
    wsss_dnnl_io_finish(&io_x);
    wsss_dnnl_io_finish(&io_dy);
}

/* ---------------- layout-aware variants ---------------- */

/* Write the values of (md, ptr) into a plain contiguous tensor whose layout is user_md. */
static void store_plain(const dnnl_memory_desc_t *md, const void *ptr, const dnnl_memory_desc_t *user_md,
                        void *dst) {
    dnnl_memory_t s = wsss_dnnl_mem_wrap(md, ptr), d = wsss_dnnl_mem_wrap(user_md, dst);
    wsss_dnnl_reorder(s, d);
    wsss_dnnl_mem_free(s);
    wsss_dnnl_mem_free(d);
}

/* Run forward primitive p: y = conv(xin, wk) + b (+ post-ops); xin and wk in p's layouts. */
static void exec_fwd(const wsss_dnnl_prim *p, const wsss_conv_geom *g, const wsss_tensor *xin,
                     const wsss_tensor *wk, const wsss_tensor *b, wsss_tensor *y) {
    wsss_dnnl_bufs a = {0};
    wsss_dnnl_bufs_add_arg(&a, p, DNNL_ARG_SRC, wsss_dnnl_tensor_ptr(xin));
    wsss_dnnl_bufs_add_arg(&a, p, DNNL_ARG_WEIGHTS, wsss_dnnl_tensor_ptr(wk));
    if (g->has_bias) wsss_dnnl_bufs_add_arg(&a, p, DNNL_ARG_BIAS, b->data);
    wsss_dnnl_bufs_add_arg(&a, p, DNNL_ARG_DST, wsss_dnnl_tensor_ptr(y));
    wsss_dnnl_bufs_execute(p, &a);
}

wsss_tensor *wsss_dnnl_conv2d_fwd_t(wsss_ctx *ctx, const wsss_conv_geom *g, wsss_tensor *x,
                                    wsss_tensor *w, wsss_tensor *b, int post_relu, int wino,
                                    wsss_tensor **x_used) {
    WSSS_ASSERT(!g->has_bias || b != NULL, "conv2d: has_bias without a bias tensor");
    /* Winograd kernels use aligned vector accesses: a view starting inside its buffer goes direct */
    wino = wino && wsss_dnnl_is_aligned(wsss_dnnl_tensor_ptr(x));
    const wsss_dnnl_prim *p = algo_prim("conv2d_fwd", g, post_relu ? WSSS_DNNL_POST_RELU : 0, wino, make_fwd_pd);
    conv_shapes s;
    conv_shapes_init(&s, g);
    dnnl_memory_desc_t wei_user;
    plain_mds(&s, NULL, &wei_user, NULL, NULL);
    wsss_tensor *xin = wsss_dnnl_as_md(ctx, x, wsss_dnnl_arg_md(p, DNNL_ARG_SRC));
    int wtemp;
    wsss_tensor *wk = wsss_dnnl_cached_weight(ctx, w, &wei_user, wsss_dnnl_arg_md(p, DNNL_ARG_WEIGHTS), &wtemp);
    int64_t ys[4] = {g->n, g->cout, g->oh, g->ow};
    wsss_tensor *y = wsss_dnnl_new_tensor(ctx, 4, ys, wsss_dnnl_arg_md(p, DNNL_ARG_DST));
    exec_fwd(p, g, xin, wk, b, y);
    if (wtemp) wsss_ctx_release(ctx, wk);
    if (x_used) *x_used = xin;
    else if (xin != x) wsss_ctx_release(ctx, xin);
    return y;
}

/* How an inference convolution runs: oneDNN's direct kernel on g; or, when Winograd is asked for,
 * its Winograd kernel, on g itself (3x3 undilated) or, for a 3x3 convolution with dilation d and
 * padding d (the dilated ResNet stages), on the d*d space-to-batch sub-maps, where it is
 * undilated (space_to_batch.h). */
typedef struct infer_plan {
    const wsss_dnnl_prim *p;
    wsss_conv_geom g; /* the geometry p runs */
    int s2b;          /* space-to-batch factor (1: none) */
} infer_plan;

static int s2b_factor(const wsss_conv_geom *g, int post) {
    const int d = g->dh;
    if (d < 2 || g->dw != d || g->kh != 3 || g->kw != 3 || g->sh != 1 || g->sw != 1 || g->ph != d ||
        g->pw != d || g->h % d || g->w % d || g->groups != 1 || g->cin % 16 || g->cout % 16)
        return 1;
    return post & WSSS_DNNL_POST_SUM ? 1 : d; /* a residual would need the rearrangement too */
}

static void infer_plan_make(infer_plan *pl, const wsss_conv_geom *g, int post, int wino) {
    pl->g = *g;
    pl->s2b = 1;
    pl->p = NULL;
    if (wino) {
        const int d = s2b_factor(g, post);
        if (d > 1) {
            wsss_conv_geom sg = *g;
            sg.n *= (int64_t)d * d;
            sg.h /= d, sg.w /= d, sg.oh /= d, sg.ow /= d;
            sg.dh = sg.dw = 1;
            sg.ph = sg.pw = 1;
            pl->p = wino_prim("conv2d_infer", &sg, post, 1, make_fwd_pd);
            if (pl->p) {
                pl->g = sg;
                pl->s2b = d;
                return;
            }
        } else {
            pl->p = wino_prim("conv2d_infer", g, post, 1, make_fwd_pd);
            if (pl->p) return;
        }
    }
    conv_pd_arg a = pd_arg(g, post, 0);
    a.inference = 1;
    pl->p = cached("conv2d_infer", &a, make_fwd_pd);
}

/* The weights of plan pl: w scaled per output channel (oc_scale may be NULL) in pl's layout,
 * kept by the context from the first use (inference repeats) as a derived tensor of w keyed by
 * the caller's key bytes and the layout (which tells Winograd and direct weights apart). */
static wsss_tensor *infer_weight(wsss_ctx *ctx, const infer_plan *pl, wsss_tensor *w, const double *oc_scale,
                                 const void *key, size_t keylen) {
    WSSS_ASSERT(!w->layout && wsss_tensor_is_contiguous(w) && w->dtype == WSSS_F32,
                "conv2d inference weights: plain contiguous F32");
    const dnnl_memory_desc_t *want = wsss_dnnl_arg_md(pl->p, DNNL_ARG_WEIGHTS);
    wsss_dnnl_key k;
    wsss_dnnl_key_init(&k, "conv2d_infer_weight");
    wsss_dnnl_key_md(&k, want);
    wsss_dnnl_key_add(&k, key, keylen);
    wsss_tensor *d = wsss_ctx_derived_get(ctx, w, k.bytes, k.len, NULL);
    if (d) return d;
    wsss_tensor *scaled = wsss_ctx_tensor_uninit(ctx, WSSS_F32, 4, w->shape);
    const int64_t cout = w->shape[0], per_oc = wsss_tensor_numel(w) / cout;
    const float *src = wsss_f32(w);
    float *dst = wsss_f32(scaled);
    for (int64_t o = 0; o < cout; o++)
        for (int64_t i = 0; i < per_oc; i++)
            dst[o * per_oc + i] = oc_scale ? (float)(src[o * per_oc + i] * oc_scale[o]) : src[o * per_oc + i];
    d = wsss_dnnl_as_md(ctx, scaled, want);
    if (d != scaled) wsss_ctx_release(ctx, scaled);
    wsss_ctx_derived_put(ctx, w, k.bytes, k.len, d);
    return d;
}

wsss_tensor *wsss_dnnl_conv2d_infer_t(wsss_ctx *ctx, const wsss_conv_geom *g, int wino, wsss_tensor *x,
                                      wsss_tensor *w, const double *oc_scale, const void *key, size_t keylen,
                                      wsss_tensor *b, wsss_tensor *sum, int consume_sum, int relu) {
    WSSS_ASSERT(g->groups == 1, "conv2d inference: no groups");
    WSSS_ASSERT(!g->has_bias || b != NULL, "conv2d: has_bias without a bias tensor");
    const int post = (sum ? WSSS_DNNL_POST_SUM : 0) | (relu ? WSSS_DNNL_POST_RELU : 0);
    infer_plan pl;
    infer_plan_make(&pl, g, post, wino);
    const wsss_dnnl_prim *p = pl.p;
    wsss_tensor *wk = infer_weight(ctx, &pl, w, oc_scale, key, keylen);
    const dnnl_memory_desc_t *ymd = wsss_dnnl_arg_md(p, DNNL_ARG_DST);
    wsss_tensor *y = NULL;
    if (sum) {
        dnnl_memory_desc_t smd;
        wsss_dnnl_tensor_md(&smd, sum);
        /* the sum post-op adds what the output holds: the residual itself when it may be
         * overwritten, else a copy of it in the output's layout */
        if (consume_sum && wsss_dnnl_md_equal(&smd, ymd) && sum->buf->refcount == 1) y = sum;
        else y = wsss_dnnl_convert(ctx, &smd, wsss_dnnl_tensor_ptr(sum), ymd, 4, sum->shape);
        wsss_tensor_bump_version(y);
    } else {
        int64_t ys[4] = {pl.g.n, pl.g.cout, pl.g.oh, pl.g.ow};
        y = wsss_dnnl_new_tensor(ctx, 4, ys, ymd);
    }
    wsss_tensor *xin = pl.s2b > 1 ? wsss_dnnl_space_to_batch(ctx, x, pl.s2b) : x;
    wsss_tensor *xk = wsss_dnnl_as_md(ctx, xin, wsss_dnnl_arg_md(p, DNNL_ARG_SRC));
    if (xin != x && xk != xin) wsss_ctx_release(ctx, xin);
    exec_fwd(p, &pl.g, xk, wk, b, y);
    if (xk != x) wsss_ctx_release(ctx, xk);
    if (pl.s2b > 1) {
        wsss_tensor *yb = wsss_dnnl_batch_to_space(ctx, y, pl.s2b);
        wsss_ctx_release(ctx, y);
        y = yb;
    }
    return y;
}

wsss_tensor *wsss_dnnl_conv2d_bwd_t(wsss_ctx *ctx, const wsss_conv_geom *g, wsss_tensor *x,
                                    wsss_tensor *w, wsss_tensor *gy, int want_dx, wsss_tensor *dw,
                                    wsss_tensor *db, int wino) {
    conv_shapes s;
    conv_shapes_init(&s, g);
    dnnl_memory_desc_t wei_user, bias_user;
    plain_mds(&s, NULL, &wei_user, &bias_user, NULL);
    wsss_tensor *dx = NULL, *gyd = gy;
    wino = wino && wsss_dnnl_is_aligned(wsss_dnnl_tensor_ptr(x)) && wsss_dnnl_is_aligned(wsss_dnnl_tensor_ptr(gy));
    if (want_dx) {
        const wsss_dnnl_prim *p = algo_prim("conv2d_bwd_data", g, 0, wino, make_bwd_data_pd);
        gyd = wsss_dnnl_as_md(ctx, gy, wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_DST));
        int wtemp;
        wsss_tensor *wk = wsss_dnnl_cached_weight(ctx, w, &wei_user, wsss_dnnl_arg_md(p, DNNL_ARG_WEIGHTS), &wtemp);
        const dnnl_memory_desc_t *dxmd = wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_SRC);
        int64_t xs[4] = {g->n, g->cin, g->h, g->w};
        dx = wsss_dnnl_new_tensor(ctx, 4, xs, dxmd);
        wsss_dnnl_bufs a = {0};
        wsss_dnnl_bufs_add_arg(&a, p, DNNL_ARG_DIFF_DST, wsss_dnnl_tensor_ptr(gyd));
        wsss_dnnl_bufs_add_arg(&a, p, DNNL_ARG_WEIGHTS, wsss_dnnl_tensor_ptr(wk));
        wsss_dnnl_bufs_add(&a, DNNL_ARG_DIFF_SRC, dxmd, wsss_dnnl_tensor_ptr(dx));
        wsss_dnnl_bufs_execute(p, &a);
        if (wtemp) wsss_ctx_release(ctx, wk);
    }
    if (dw) {
        wsss_conv_geom gw = *g;
        gw.has_bias = db != NULL;
        const wsss_dnnl_prim *p = algo_prim("conv2d_bwd_weights", &gw, 0, wino, make_bwd_weights_pd);
        wsss_tensor *xin = wsss_dnnl_as_md(ctx, x, wsss_dnnl_arg_md(p, DNNL_ARG_SRC));
        /* gy was possibly converted for the data pass already; reuse that copy when it fits */
        wsss_tensor *gyw = wsss_dnnl_as_md(ctx, gyd, wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_DST));
        const dnnl_memory_desc_t *dwmd = wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_WEIGHTS);
        const dnnl_memory_desc_t *dbmd = db ? wsss_dnnl_arg_md(p, DNNL_ARG_DIFF_BIAS) : NULL;
        int dw_direct = wsss_dnnl_md_equal(dwmd, &wei_user);
        int db_direct = !db || wsss_dnnl_md_equal(dbmd, &bias_user);
        void *dw_buf = dw_direct ? dw->data : wsss_dnnl_buf(wsss_dnnl_md_bytes(dwmd), 0);
        void *db_buf = db_direct ? (db ? db->data : NULL) : wsss_dnnl_buf(wsss_dnnl_md_bytes(dbmd), 0);
        wsss_dnnl_bufs a = {0};
        wsss_dnnl_bufs_add_arg(&a, p, DNNL_ARG_SRC, wsss_dnnl_tensor_ptr(xin));
        wsss_dnnl_bufs_add_arg(&a, p, DNNL_ARG_DIFF_DST, wsss_dnnl_tensor_ptr(gyw));
        wsss_dnnl_bufs_add(&a, DNNL_ARG_DIFF_WEIGHTS, dwmd, dw_buf);
        if (db) wsss_dnnl_bufs_add(&a, DNNL_ARG_DIFF_BIAS, dbmd, db_buf);
        wsss_dnnl_bufs_execute(p, &a);
        if (!dw_direct) {
            store_plain(dwmd, dw_buf, &wei_user, dw->data);
            free(dw_buf);
        }
        if (!db_direct) {
            store_plain(dbmd, db_buf, &bias_user, db->data);
            free(db_buf);
        }
        if (xin != x) wsss_ctx_release(ctx, xin);
        if (gyw != gyd) wsss_ctx_release(ctx, gyw);
    } else {
        WSSS_ASSERT(db == NULL, "conv2d backward: bias gradient without weight gradient");
    }
    if (gyd != gy) wsss_ctx_release(ctx, gyd);
    return dx;
}
