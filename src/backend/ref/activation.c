/* Reference activation kernels: activation_impl.h instantiated for float and double. */
#include "backend/ref/activation.h"

#include <math.h>

#define REAL float
#define FN(name) name##_f32
#define EXP expf
#define EXPM1 expm1f
#define TANH tanhf
#include "backend/ref/activation_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef EXPM1
#undef TANH

#define REAL double
#define FN(name) name##_f64
#define EXP exp
#define EXPM1 expm1
#define TANH tanh
#include "backend/ref/activation_impl.h"
