/* Instantiates the kernel template REF_TEMPLATE (a *_impl.h written in terms of REAL, FN(name) and
 * MATH(name)) once for float (FN(x) is x_f32, MATH(exp) is expf) and once for double (x_f64, exp):
 * one kernel source serves the F32 path and the F64 gradient checks. No include guard: included
 * once per template. */
#ifndef REF_TEMPLATE
#error "define REF_TEMPLATE (the *_impl.h to instantiate) before including for_each_real.h"
#endif

#define REAL float
#define FN(name) name##_f32
#define MATH(name) name##f
#include REF_TEMPLATE
#undef REAL
#undef FN
#undef MATH

#define REAL double
#define FN(name) name##_f64
#define MATH(name) name
#include REF_TEMPLATE
#undef REAL
#undef FN
#undef MATH

#undef REF_TEMPLATE
