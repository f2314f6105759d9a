/* Reference matrix products: matmul_impl.h for float and double. */
#include "backend/ref/matmul.h"

#define REF_TEMPLATE "backend/ref/matmul_impl.h"
#include "backend/ref/for_each_real.h"
