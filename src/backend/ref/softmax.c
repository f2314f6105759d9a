/* Reference softmax kernels: float/double bodies from softmax_impl.h. */
#include "backend/ref/softmax.h"

#include <math.h>
#include <stddef.h>

#define SM_BLOCK 64        /* inner positions handled together (stack arrays of this size) */
#define SM_PAR_MIN 32768   /* smaller tensors stay on one thread */

#define REF_TEMPLATE "backend/ref/softmax_impl.h"
#include "backend/ref/for_each_real.h"
