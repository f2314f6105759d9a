/* Body of the scatter-add kernels of shape.c (backward of index_select and gather); included
 * once per REAL type. Expects REAL and FN(name). Serial: repeated indices write the same slot. */

void FN(wsss_ref_index_select_bwd)(int64_t outer, int64_t n_src, int64_t inner, const REAL *dy,
                                   int64_t n_idx, const int64_t *idx, REAL *dx) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < n_idx; k++) {
            const REAL *s = dy + (o * n_idx + k) * inner;
            REAL *d = dx + (o * n_src + idx[k]) * inner;
            for (int64_t i = 0; i < inner; i++) d[i] += s[i];
        }
}

void FN(wsss_ref_gather_bwd)(int ndim, int dim, const int64_t *xshape, REAL *dx,
                             const int64_t *ishape, const int64_t *index, const REAL *dy) {
    gather_iter it;
    gather_iter_init(&it, ndim, dim, xshape, ishape);
    for (int64_t i = 0; i < it.numel; i++) {
        dx[it.base + index[i] * it.xstride[dim]] += dy[i];
        gather_iter_next(&it);
    }
}
