/* oneDNN matrix product (F32) with the same geometry and contract as wsss_ref_matmul_f32:
 * transposes are expressed as strided memory descriptors over the caller's buffers, so no
 * copies are made; primitives are cached per (batch, m, n, k, transposes, bias). */
#ifndef WSSS_BACKEND_DNNL_MATMUL_H
#define WSSS_BACKEND_DNNL_MATMUL_H

#include "backend/ref/matmul.h"

void wsss_dnnl_matmul(const wsss_matmul_geom *g, const float *a, const float *b, const float *bias,
                      float *c);

#endif
