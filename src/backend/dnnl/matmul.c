/* oneDNN matmul primitive (2.x op descriptor) over plain row-major buffers. */
#include "backend/dnnl/matmul.h"

#include "backend/dnnl/dnnl_common.h"

typedef struct mm_arg {
    const wsss_matmul_geom *g;
    int has_bias;
} mm_arg;

/* src, weights, bias and dst descriptors: 2-D when batch == 1, else 3-D. A transposed operand
 * is the same buffer read with swapped strides. */
static void mm_mds(const wsss_matmul_geom *g, dnnl_memory_desc_t *src, dnnl_memory_desc_t *wei,
                   dnnl_memory_desc_t *bias, dnnl_memory_desc_t *dst) {
    const int64_t M = g->m, N = g->n, K = g->k;
    const int nd = g->batch > 1 ? 3 : 2, o = nd - 2;
    int64_t sd[3], ss[3], wd[3], ws[3], bd[3], dd[3], ds[3];
    sd[0] = wd[0] = dd[0] = g->batch;
    bd[0] = 1;
    ss[0] = M * K;
    ws[0] = K * N;
    ds[0] = M * N;
    sd[o] = M;
    sd[o + 1] = K;
    ss[o] = g->trans_a ? 1 : K;
    ss[o + 1] = g->trans_a ? M : 1;
    wd[o] = K;
    wd[o + 1] = N;
    ws[o] = g->trans_b ? 1 : N;
    ws[o + 1] = g->trans_b ? K : 1;
    dd[o] = M;
    dd[o + 1] = N;
    ds[o] = N;
    ds[o + 1] = 1;
    bd[o] = 1;
    bd[o + 1] = N;
    wsss_dnnl_md_strides(src, nd, sd, ss);
    wsss_dnnl_md_strides(wei, nd, wd, ws);
    wsss_dnnl_md_strides(dst, nd, dd, ds);
    wsss_dnnl_md_tag(bias, nd, bd, nd == 3 ? dnnl_abc : dnnl_ab);
}

static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const mm_arg *m = arg;
    dnnl_memory_desc_t src, wei, bias, dst;
    mm_mds(m->g, &src, &wei, &bias, &dst);
    dnnl_matmul_desc_t d;
    dnnl_status_t st = dnnl_matmul_desc_init(&d, &src, &wei, m->has_bias ? &bias : NULL, &dst);
    return wsss_dnnl_pd_create(st, pd, &d, NULL);
}

void wsss_dnnl_matmul(const wsss_matmul_geom *g, const float *a, const float *b, const float *bias,
                      float *c) {
    mm_arg arg = {g, bias != NULL};
    wsss_dnnl_key k;
    wsss_dnnl_key_init(&k, "matmul");
    const int64_t v[] = {g->batch, g->m, g->n, g->k, g->trans_a, g->trans_b, arg.has_bias};
    wsss_dnnl_key_i64s(&k, (int)(sizeof v / sizeof v[0]), v);
    dnnl_status_t st;
    const wsss_dnnl_prim *p = wsss_dnnl_cache_get(&k, make_pd, &arg, &st);
    if (!p) wsss_dnnl_fail("matmul primitive descriptor", st, __FILE__, __LINE__);
    dnnl_memory_desc_t src, wei, bmd, dst;
    mm_mds(g, &src, &wei, &bmd, &dst);
    wsss_dnnl_bufs args = {0};
    wsss_dnnl_bufs_add(&args, DNNL_ARG_SRC, &src, a);
    wsss_dnnl_bufs_add(&args, DNNL_ARG_WEIGHTS, &wei, b);
    if (bias) wsss_dnnl_bufs_add(&args, DNNL_ARG_BIAS, &bmd, bias);
    wsss_dnnl_bufs_add(&args, DNNL_ARG_DST, &dst, c);
    wsss_dnnl_bufs_execute(p, &args);
}
