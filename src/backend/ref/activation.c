/* Reference activation kernels: activation_impl.h instantiated for float and double. */
#include "backend/ref/activation.h"

#include <math.h>

#define REF_TEMPLATE "backend/ref/activation_impl.h"
#include "backend/ref/for_each_real.h"
