/* Reference softmax kernels: float/double bodies from softmax_impl.h. */
#include "backend/ref/softmax.h"

#include <math.h>

#define SM_BLOCK 64        /* inner positions handled together (stack arrays of this size) */
#define SM_PAR_MIN 32768   /* smaller tensors stay on one thread */

#define REAL float
#define SFX(name) name##_f32
#define SM_EXP expf
#include "backend/ref/softmax_impl.h"
#undef REAL
#undef SFX
#undef SM_EXP

#define REAL double
#define SFX(name) name##_f64
#define SM_EXP exp
#include "backend/ref/softmax_impl.h"
#undef REAL
#undef SFX
#undef SM_EXP
