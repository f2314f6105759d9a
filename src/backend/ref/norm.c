/* Reference batch-norm kernels: norm_impl.h instantiated for float and double. */
#include "backend/ref/norm.h"

#include <math.h>

#define REAL float
#define FN(name) name##_f32
#include "backend/ref/norm_impl.h"
#undef REAL
#undef FN

#define REAL double
#define FN(name) name##_f64
#include "backend/ref/norm_impl.h"
