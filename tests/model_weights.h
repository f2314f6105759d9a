/* Deterministic model weights for tests, identical to scripts/gen_fixtures_models.py's formula: each
 * value of the state_dict tensor named K depends only on (K, element index), exactly in float32, so
 * C and PyTorch build the same model without committing weight files (models_keys.safetensors holds
 * first values and sums that prove the two generators agree). */
#ifndef WSSS_TEST_MODEL_WEIGHTS_H
#define WSSS_TEST_MODEL_WEIGHTS_H

#include <stdint.h>

#include "wsss/params.h"
#include "wsss/tensor.h"

/* u in [-1, 1) with 24 bits: element e of the stream for `name`. */
float model_weights_u(const char *name, int64_t e);
/* Fill t by the formula for the state_dict key `name` (F32/F64 parameters and buffers, I64 counters). */
void model_weights_fill_tensor(wsss_tensor *t, const char *name);
/* Fill every registry tensor, keyed by its name. */
void model_weights_fill(wsss_params *ps);
/* The 2,3,64,64 input batch ("input": 2u), persistent, in dtype dt. */
wsss_tensor *model_weights_input(wsss_dtype dt);

#endif
