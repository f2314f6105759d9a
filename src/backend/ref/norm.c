/* Reference batch-norm kernels: norm_impl.h instantiated for float and double. */
#include "backend/ref/norm.h"

#include <math.h>

#define REF_TEMPLATE "backend/ref/norm_impl.h"
#include "backend/ref/for_each_real.h"
