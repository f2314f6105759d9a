/* Reference matrix products for linear and (batched) matmul, float and double.
 * Each batch entry computes C (m x n) = op(A) op(B) (+ bias per column), with A stored m x k
 * (or k x m when trans_a) and B stored k x n (or n x k when trans_b), all row-major and dense;
 * batch entries follow each other in memory. */
#ifndef WSSS_BACKEND_REF_MATMUL_H
#define WSSS_BACKEND_REF_MATMUL_H

#include <stdint.h>

typedef struct wsss_matmul_geom {
    int64_t batch; /* 1 for plain 2-D products */
    int64_t m, n, k;
    int trans_a, trans_b;
} wsss_matmul_geom;

/* c is overwritten; bias (length n, may be NULL) is added to every row. */
void wsss_ref_matmul_f32(const wsss_matmul_geom *g, const float *a, const float *b,
                         const float *bias, float *c);
void wsss_ref_matmul_f64(const wsss_matmul_geom *g, const double *a, const double *b,
                         const double *bias, double *c);
/* out[j] = sum over i of x[i * cols + j] (the bias gradient of a linear layer); overwritten. */
void wsss_ref_sum_rows_f32(int64_t rows, int64_t cols, const float *x, float *out);
void wsss_ref_sum_rows_f64(int64_t rows, int64_t cols, const double *x, double *out);

#endif
