/* The registry of WSSS methods (method.h). */
#include "wsss/method.h"

#include <stddef.h>

#include "wsss/error.h"

const wsss_choice wsss_method_choices[] = {{"cam", WSSS_METHOD_CAM}, {"mcis", WSSS_METHOD_MCIS}, {NULL, 0}};

const wsss_method_ops *wsss_method_get(wsss_method_kind kind) {
    WSSS_ASSERT(wsss_choice_has(wsss_method_choices, (int)kind), "method kind");
    return kind == WSSS_METHOD_MCIS ? &wsss_method_mcis : &wsss_method_cam;
}
