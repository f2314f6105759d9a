/* Body of the reference matrix products; included by matmul.c once per REAL type.
 * Expects REAL and FN(name). Rows of C are independent, so they are the parallel loop. */

void FN(wsss_ref_matmul)(const wsss_matmul_geom *g, const REAL *a, const REAL *b, const REAL *bias,
                         REAL *c) {
    const int64_t M = g->m, N = g->n, K = g->k, rows = g->batch * M;
#pragma omp parallel for if (rows > 1 && rows * N * K > 65536)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t bi = r / M, i = r % M;
        const REAL *ab = a + bi * M * K, *bb = b + bi * K * N;
        REAL *cr = c + r * N;
        for (int64_t j = 0; j < N; j++) cr[j] = bias ? bias[j] : 0;
        if (!g->trans_b) {
            /* c[i,:] += A(i,p) * B[p,:] : contiguous rows of B */
            for (int64_t p = 0; p < K; p++) {
                const REAL av = g->trans_a ? ab[p * M + i] : ab[i * K + p];
                const REAL *br = bb + p * N;
                for (int64_t j = 0; j < N; j++) cr[j] += av * br[j];
            }
        } else {
            /* c[i,j] += dot(A(i,:), B stored row j) */
            for (int64_t j = 0; j < N; j++) {
                const REAL *br = bb + j * K;
                REAL s = 0;
                for (int64_t p = 0; p < K; p++) s += (g->trans_a ? ab[p * M + i] : ab[i * K + p]) * br[p];
                cr[j] += s;
            }
        }
    }
}

void FN(wsss_ref_sum_rows)(int64_t rows, int64_t cols, const REAL *x, REAL *out) {
    for (int64_t j = 0; j < cols; j++) out[j] = 0;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) out[j] += x[i * cols + j];
}
