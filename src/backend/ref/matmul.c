/* Reference matrix products: matmul_impl.h for float and double. */
#include "backend/ref/matmul.h"

#define REAL float
#define FN(name) name##_f32
#include "backend/ref/matmul_impl.h"
#undef REAL
#undef FN

#define REAL double
#define FN(name) name##_f64
#include "backend/ref/matmul_impl.h"
#undef REAL
#undef FN
