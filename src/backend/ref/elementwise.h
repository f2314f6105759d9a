/* Reference elementwise kernels (float and double), shared by src/ops/elementwise.c.
 *
 * Binary ops run over a broadcast geometry of up to 5 dims: the output shape and, per operand,
 * element strides that are 0 on dims the operand is broadcast along. Unary ops run over flat
 * contiguous arrays. Large loops are split over OpenMP threads; results do not depend on the
 * thread count (each output element is computed by exactly one thread, in a fixed order). */
#ifndef WSSS_BACKEND_REF_ELEMENTWISE_H
#define WSSS_BACKEND_REF_ELEMENTWISE_H

#include <stdint.h>

#define WSSS_BCAST_DIMS 5

typedef enum { WSSS_BIN_ADD = 0, WSSS_BIN_SUB, WSSS_BIN_MUL, WSSS_BIN_DIV } wsss_binop;

typedef enum {
    WSSS_UN_NEG = 0,
    WSSS_UN_ADDS,  /* x + p0 */
    WSSS_UN_MULS,  /* x * p0 */
    WSSS_UN_RSUBS, /* p0 - x */
    WSSS_UN_EXP,
    WSSS_UN_LOG,
    WSSS_UN_POW,   /* x ** p0 */
    WSSS_UN_ABS,
    WSSS_UN_CLAMP  /* clamp to [p0, p1] */
} wsss_unop;

/* Iteration space of a broadcast binary op: `shape` is the output shape padded on the left with
 * 1s to WSSS_BCAST_DIMS; st[0], st[1] are the element strides of a and b (0 on broadcast dims;
 * any other value, negative too, so views need no copy), st[2] those of the output (for
 * gradients: of the destination, 0 on the dims summed over), st[3] those of the output gradient
 * (gradients only). */
typedef struct wsss_bcast {
    int64_t shape[WSSS_BCAST_DIMS];
    int64_t st[4][WSSS_BCAST_DIMS];
} wsss_bcast;

/* Merge adjacent dims that are laid out contiguously for all three operands (longer inner loops)
 * and move a dim the destination is not reduced over to the front, so the outer loop can run in
 * parallel without two threads writing the same destination element. */
void wsss_bcast_simplify(wsss_bcast *g);

/* out[o] = a[ia] (op) b[ib] over the geometry. */
void wsss_ref_binary_f32(wsss_binop op, const wsss_bcast *g, const float *a, const float *b, float *out);
void wsss_ref_binary_f64(wsss_binop op, const wsss_bcast *g, const double *a, const double *b,
                         double *out);

/* Gradient of a binary op with respect to operand `which` (0 = a, 1 = b), accumulated into dst
 * (dst must be zeroed; st[2] are dst's strides, 0 on the dims the operand was broadcast along, so
 * the sum over broadcast dims happens here; st[3] index gout). a or b may be NULL when the
 * formula does not use them (add, sub). */
void wsss_ref_binary_grad_f32(wsss_binop op, int which, const wsss_bcast *g, const float *gout,
                              const float *a, const float *b, float *dst);
void wsss_ref_binary_grad_f64(wsss_binop op, int which, const wsss_bcast *g, const double *gout,
                              const double *a, const double *b, double *dst);

/* y = op(x) over n contiguous elements. */
void wsss_ref_unary_f32(wsss_unop op, int64_t n, const float *x, float *y, double p0, double p1);
void wsss_ref_unary_f64(wsss_unop op, int64_t n, const double *x, double *y, double p0, double p1);

/* gx = gy * d op(x) / dx over n contiguous elements; x is the op input and y its output (only
 * the one the formula needs is read; the other may be NULL). */
void wsss_ref_unary_grad_f32(wsss_unop op, int64_t n, const float *gy, const float *x,
                             const float *y, float *gx, double p0, double p1);
void wsss_ref_unary_grad_f64(wsss_unop op, int64_t n, const double *gy, const double *x,
                             const double *y, double *gx, double p0, double p1);

#endif
